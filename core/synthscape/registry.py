"""String ids to factories, with "did you mean" suggestions and refusal of duplicates."""
from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from synthscape.errors import DuplicateNameError, UnknownNameError

T = TypeVar("T")


class Registry(Generic[T]):
    """A named collection of factories (classes or callables) of one kind of thing.

    >>> r = Registry("generator")
    >>> r.register("mst", dict)
    >>> r.get("mts")
    Traceback (most recent call last):
    ...
    synthscape.errors.UnknownNameError: unknown generator 'mts'; did you mean 'mst'? ...
    """

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str, factory: T, *, replace: bool = False) -> T:
        if not name or not isinstance(name, str):
            raise ValueError(f"{self.kind} name must be a non-empty string, got {name!r}")
        if name in self._items and not replace and self._items[name] is not factory:
            raise DuplicateNameError(
                f"{self.kind} '{name}' is already registered; choose another name "
                f"or pass replace=True"
            )
        self._items[name] = factory
        return factory

    def get(self, name: str) -> T:
        _load_plugins_once()
        try:
            return self._items[name]
        except KeyError:
            close = difflib.get_close_matches(str(name), self._items, n=3, cutoff=0.5)
            hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
            raise UnknownNameError(
                f"unknown {self.kind} '{name}'; {hint}registered: {', '.join(sorted(self._items))}"
            ) from None

    def names(self) -> list[str]:
        _load_plugins_once()
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        _load_plugins_once()
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())


_plugins_loaded = False


def _load_plugins_once() -> None:
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    from synthscape.plugins import load_plugins

    load_plugins()


def decorator(registry: Registry[Callable], name: str) -> Callable[[T], T]:
    """``@decorator(GENERATORS, "mst")`` registers the decorated class."""

    def wrap(obj: T) -> T:
        registry.register(name, obj)  # type: ignore[arg-type]
        return obj

    return wrap

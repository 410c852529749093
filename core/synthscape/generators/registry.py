"""The generator registry: ``make("mst", epsilon=1.0)`` and ``register``."""
from __future__ import annotations

from typing import Any

from synthscape.registry import Registry

GENERATORS: Registry = Registry("generator")


def register(name: str, cls: type | None = None, *, replace: bool = False):
    """Register a generator class under ``name``; usable as a decorator."""
    def wrap(c: type) -> type:
        GENERATORS.register(name, c, replace=replace)
        return c

    return wrap(cls) if cls is not None else wrap


def make(name: str, **params: Any):
    """Build a registered generator; the constructor only stores ``params``."""
    return GENERATORS.get(name)(**params)


def list_generators() -> list[str]:
    return GENERATORS.names()

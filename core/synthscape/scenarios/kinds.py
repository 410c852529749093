"""The registry of scenario kinds: ``kind: tabular`` -> (spec model, run function).

A pack adds its kind in its ``register()``:

    register_kind("driving", DrivingSpec, run_driving, reads_real_data=False)

``DrivingSpec`` subclasses :class:`SpecBase` with ``kind: Literal["driving"]``;
``run_driving(spec, ctx)`` writes through the :class:`RunContext` it is given.

``reads_real_data`` (default True, the safe side) says whether the kind reads data that the
privacy guarantee must protect. Such a kind must set a ledger (``ctx.set_ledger``) or the run
fails and leaves nothing behind. A kind that reads none (a simulator) says so, and its release
states that no real data was read instead of carrying a ledger. A spec of such a kind that does
read a real file says so through a ``reads_real_data()`` method (see :meth:`Kind.reads`).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from synthscape.errors import DuplicateNameError
from synthscape.registry import Registry


@dataclass(frozen=True)
class Kind:
    name: str
    model: type  # a SpecBase subclass
    run: Callable[[Any, Any], None]  # run(spec, ctx)
    description: str = ""
    reads_real_data: bool = True
    metrics: Callable[[Any], Mapping[str, str | None] | None] | None = None

    def declared_metrics(self, spec: Any) -> Mapping[str, str | None] | None:
        """The metric names a run of ``spec`` can gate on (None: not declared)."""
        if self.metrics is not None:
            return self.metrics(spec)
        hook = getattr(spec, "declared_metrics", None)
        return hook() if callable(hook) else None

    def reads(self, spec: Any) -> bool:
        """Whether a run of ``spec`` reads real data: the kind's flag, or True when the spec's
        ``reads_real_data()`` hook says so (a simulator kind whose spec names a real file). The
        hook can only turn the flag on, so a spec cannot waive the ledger of a kind that reads
        real data."""
        hook = getattr(spec, "reads_real_data", None)
        return self.reads_real_data or (bool(hook()) if callable(hook) else False)


KINDS: Registry = Registry("scenario kind")


def register_kind(name: str, model: type, run: Callable[[Any, Any], None],
                  description: str = "", *, reads_real_data: bool = True,
                  metrics: Callable[[Any], Mapping[str, str | None] | None] | None = None,
                  replace: bool = False) -> Kind:
    """Register a kind. Registering the same (name, model, run) again returns the kind already
    registered; a different model or run under a taken name needs ``replace=True``."""
    if not isinstance(reads_real_data, bool):
        raise TypeError(f"reads_real_data must be True or False, got {reads_real_data!r}")
    old = KINDS._items.get(name)
    if old is not None and not replace and old.model is model and old.run is run:
        if old.reads_real_data != reads_real_data:
            raise DuplicateNameError(
                f"scenario kind '{name}' is registered with reads_real_data="
                f"{old.reads_real_data}; registering it again with {reads_real_data} needs "
                f"replace=True")
        return old
    kind = Kind(name, model, run, description or (model.__doc__ or "").strip().split("\n")[0],
                reads_real_data, metrics)
    KINDS.register(name, kind, replace=replace)
    return kind

"""The registry of scenario kinds: ``kind: tabular`` -> (spec model, run function).

A pack adds its kind in its ``register()``:

    register_kind("driving", DrivingSpec, run_driving)

``DrivingSpec`` subclasses :class:`SpecBase` with ``kind: Literal["driving"]``;
``run_driving(spec, ctx)`` writes through the :class:`RunContext` it is given.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from synthscape.registry import Registry


@dataclass(frozen=True)
class Kind:
    name: str
    model: type  # a SpecBase subclass
    run: Callable[[Any, Any], None]  # run(spec, ctx)
    description: str = ""


KINDS: Registry = Registry("scenario kind")


def register_kind(name: str, model: type, run: Callable[[Any, Any], None],
                  description: str = "", *, replace: bool = False) -> Kind:
    kind = Kind(name, model, run, description or (model.__doc__ or "").strip().split("\n")[0])
    KINDS.register(name, kind, replace=replace)
    return kind

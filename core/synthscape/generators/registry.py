"""The generator registry: ``make("mst", epsilon=1.0)`` and ``register``."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from synthscape.registry import Registry

GENERATORS: Registry = Registry("generator")
# Generators of entities and their event sequences (fit(events, entities, ...), sample(n) ->
# (entities, events)): apart from GENERATORS, whose members all follow the single-table contract.
SEQUENCE_GENERATORS: Registry = Registry("sequence generator")


def register(name: str, cls: type | None = None, *, replace: bool = False):
    """Register a generator class under ``name``; usable as a decorator."""
    def wrap(c: type) -> type:
        GENERATORS.register(name, c, replace=replace)
        return c

    return wrap(cls) if cls is not None else wrap


def register_sequence(name: str, cls: type) -> type:
    """Register a sequence generator (``make`` and ``load`` find it too)."""
    SEQUENCE_GENERATORS.register(name, cls)
    return cls


def make(name: str, **params: Any):
    """Build a registered generator (single-table or sequence); the constructor only stores
    ``params``."""
    if name not in GENERATORS and name in SEQUENCE_GENERATORS:
        return SEQUENCE_GENERATORS.get(name)(**params)
    return GENERATORS.get(name)(**params)


def load(folder: str | Path) -> Any:
    """Load any saved generator: a sequence generator's ``model.json`` names its kind, anything
    else goes to the single-table loader (``base.load``)."""
    import json

    from synthscape.generators.base import load as load_table

    try:
        kind = json.loads((Path(folder) / "model.json").read_text()).get("generator")
    except (OSError, ValueError, AttributeError):
        kind = None
    if isinstance(kind, str) and kind in SEQUENCE_GENERATORS:
        return SEQUENCE_GENERATORS.get(kind).load(folder)
    return load_table(folder)


def list_generators() -> list[str]:
    return GENERATORS.names()

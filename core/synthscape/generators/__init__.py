"""Generators: the contract, the registry and the built-in generators.

>>> from synthscape.generators import make
>>> gen = make("mst", epsilon=1.0, delta=1e-6, seed=0)
"""
from synthscape.generators._training import DPSGD
from synthscape.generators.base import Generator, SupportsGenerate
from synthscape.generators.multitable import RecordSet, SupportsMultiTable
from synthscape.generators.registry import (
    GENERATORS,
    SEQUENCE_GENERATORS,
    list_generators,
    load,
    make,
    register,
)

# isort: split
# Built-in generators register themselves on import, once the names above exist.
from synthscape.generators import _builtin  # noqa: F401

__all__ = ["DPSGD", "GENERATORS", "SEQUENCE_GENERATORS", "Generator", "RecordSet",
           "SupportsGenerate",
           "SupportsMultiTable", "list_generators", "load", "make", "register"]

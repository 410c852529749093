"""The contract of generators that are not single-table: record sets of several linked tables.

A single-table generator fits one DataFrame and a :class:`~synthscape.schema.TableSchema`
(:class:`~synthscape.generators.Generator`). A multi-table generator fits a *record set*: several
tables keyed by one unit of privacy (a patient's demographics, diagnoses, labs and encounters; a
customer's accounts and transactions). It keeps the same contract through two protocols, so a
pack's generator conforms without inheriting from anything in the core:

- :class:`RecordSet`, the data: ``tables()`` gives every table by name and ``n_units`` the number
  of units (patients, customers). Neighbouring record sets differ by one unit and every row it
  owns.
- :class:`SupportsMultiTable`, the generator: the constructor only stores parameters;
  ``fit(data)`` learns, spends every data-dependent step in one ledger (``ledger_``) and returns
  ``self``; ``sample(n, *, seed=None)`` draws ``n`` units (the public ``seed`` drives only
  sampling; a generator adds its own keyword-only conditions with defaults, e.g. the EHR
  generator's ``condition=`` and ``prevalence=``); ``save(folder)`` writes JSON, arrays or
  safetensors and ``checksums.json`` (:mod:`synthscape.model_files`); the ``load(folder)``
  classmethod checks the checksums and raises :class:`~synthscape.errors.ModelFormatError` on
  any defect.

:func:`synthscape.testing.check_multitable_generator` checks all of it.

>>> from synthscape.generators import SupportsMultiTable
>>> def release(gen: SupportsMultiTable, data, folder):
...     gen.fit(data).save(folder)
...     return gen.ledger_.epsilon
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar, runtime_checkable

if TYPE_CHECKING:
    import pandas as pd

    from synthscape.privacy import PrivacyLedger

__all__ = ["RecordSet", "SupportsMultiTable"]


@runtime_checkable
class RecordSet(Protocol):
    """Linked tables keyed by one unit of privacy (e.g. ``EHRData``: patients)."""

    @property
    def n_units(self) -> int:
        """The number of units (patients, customers): the size neighbours differ in by one."""
        ...

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table by name; each row belongs to exactly one unit."""
        ...


D = TypeVar("D", bound=RecordSet)


class SupportsMultiTable(Protocol[D]):
    """A generator of record sets ``D``; the fitted state ends in ``_``.

    ``ledger_`` exists once ``fit`` has run: the one :class:`~synthscape.privacy.PrivacyLedger`
    of the release, which pays for every data-dependent step (unit count, training) or says
    NOT PRIVATE. Mechanism noise comes from the ledger's secret
    :class:`~synthscape.privacy.NoiseSource`, never from the public seed.
    """

    ledger_: PrivacyLedger

    def fit(self, data: D) -> SupportsMultiTable[D]:
        """Learn from ``data`` and return ``self``."""
        ...

    def sample(self, n: int, *, seed: int | None = None) -> D:
        """``n`` synthetic units; the same ``seed`` gives the same record set. A generator may
        take more keyword-only conditions (with defaults), such as ``condition=``."""
        ...

    def save(self, folder: str | Path) -> Path:
        """Write the fitted model and ``checksums.json`` into ``folder``; return it."""
        ...

    @classmethod
    def load(cls, folder: str | Path) -> SupportsMultiTable[D]:
        """Read a folder written by ``save``; any defect raises ModelFormatError."""
        ...

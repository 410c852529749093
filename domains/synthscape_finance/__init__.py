"""synthscape_finance: a seeded transaction simulator with fraud and laundering typologies,
labelled tables, realism and leakage checks, and a learned DP path with the customer as the
unit of privacy.

``register()`` adds ``kind: transactions`` to the scenario registry; it imports no heavy module.
"""
from __future__ import annotations

__all__ = ["register", "simulate"]


def register() -> None:
    """Entry point of the ``synthscape.domains`` group."""
    from synthscape_finance.kind import register as _register

    _register()


def simulate(spec):
    """Run a :class:`~synthscape_finance.spec.TransactionsSpec` in memory; returns the tables."""
    from synthscape_finance.simulator import simulate as _simulate

    return _simulate(spec)

"""synthscape_finance: a seeded transaction simulator with fraud and laundering typologies,
labelled tables, realism and leakage checks, and a learned DP path (``learn``) that fits the
core's event-sequence generator to a transaction log with the customer as the unit of privacy.

``register()`` adds ``kind: transactions`` to the scenario registry; it imports no heavy module.
"""
from __future__ import annotations

__all__ = ["learn", "register", "simulate"]


def register() -> None:
    """Entry point of the ``synthscape.domains`` group."""
    from synthscape_finance.kind import register as _register

    _register()


def simulate(spec):
    """Run a :class:`~synthscape_finance.spec.TransactionsSpec` in memory; returns the tables."""
    from synthscape_finance.simulator import simulate as _simulate

    return _simulate(spec)


def learn(transactions, customers, **kwargs):
    """Fit ``dp_sequence`` to a transaction log and sample a synthetic one in the simulator's
    layout: :func:`synthscape_finance.learned.learn` (its docstring lists the arguments)."""
    from synthscape_finance.learned import learn as _learn

    return _learn(transactions, customers, **kwargs)

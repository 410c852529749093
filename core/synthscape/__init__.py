"""synthscape: privacy-preserving synthetic data.

The names most users need; everything else lives in the subpackages.
"""
from __future__ import annotations

__version__ = "0.1.0"

from synthscape.errors import BudgetExceededError, SynthscapeError  # one exception root
from synthscape.privacy import Budget, PrivacyLedger  # budgets and what was spent
from synthscape.schema import Column, TableSchema  # declared table shapes

__all__ = [
    "Budget",
    "BudgetExceededError",
    "Column",
    "PrivacyLedger",
    "SynthscapeError",
    "TableSchema",
    "__version__",
    "evaluate",
    "load",
    "make",
]


def __getattr__(name: str):
    # Generators and evaluation pull in scikit-learn / torch lazily: `import synthscape` stays fast.
    if name in ("make", "load"):
        from synthscape import generators

        return getattr(generators, name)
    if name == "compute":  # synthscape.compute(scheduler=...): where the heavy work runs
        import synthscape.compute as compute

        return compute
    if name == "evaluate":
        from synthscape.evaluation import evaluate

        return evaluate
    raise AttributeError(f"module 'synthscape' has no attribute {name!r}")

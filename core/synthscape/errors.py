"""One exception root for synthscape; each subclass also derives from the builtin it refines.

Errors teach: they say what was wrong, where (file, field, column, row) and how to fix it.
"""
from __future__ import annotations


class SynthscapeError(Exception):
    """Root of every error raised on purpose by synthscape."""


class ParameterError(SynthscapeError, ValueError):
    """A hyper-parameter or argument is invalid."""


class SchemaError(SynthscapeError, ValueError):
    """A schema is malformed, or a table does not match its schema.

    ``problems`` lists every problem found, so one run of ``validate`` shows them all.
    """

    def __init__(self, message: str, problems: list[str] | None = None):
        self.problems = list(problems or [])
        if self.problems:
            message = message + "\n" + "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(message)


class BudgetExceededError(SynthscapeError, RuntimeError):
    """Spending this privacy event would take the ledger past its budget. Nothing was spent."""


class NotFittedError(SynthscapeError, AttributeError):
    """A generator was asked to sample or save before ``fit``."""


class UnknownNameError(SynthscapeError, KeyError):
    """A registry lookup failed; the message suggests the closest registered names."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class DuplicateNameError(SynthscapeError, ValueError):
    """A name was registered twice."""


class SpecError(SynthscapeError, ValueError):
    """A scenario file is invalid; the message names file, line and field."""


class OutputExistsError(SynthscapeError, FileExistsError):
    """The output folder exists; pass ``overwrite=True`` (``--overwrite``) to replace it."""


class OptionalDependencyError(SynthscapeError, ImportError):
    """A feature needs an optional extra that is not installed."""


class ModelFormatError(SynthscapeError, ValueError):
    """A saved model folder is missing, corrupt or from an incompatible version."""


def require(module: str, extra: str, feature: str):
    """Import ``module`` or raise an error that names the extra to install."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - exercised with a fake module name in tests
        raise OptionalDependencyError(
            f"{feature} needs the optional package '{module}'. "
            f"Install it with: pip install 'synthscape[{extra}]'"
        ) from exc

"""Evaluation: fidelity, utility, privacy attacks, audit, fairness and the report."""
from synthscape.evaluation.report import Gate, Report, Section

__all__ = ["Gate", "Report", "Section"]

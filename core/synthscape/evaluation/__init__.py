"""Evaluation: fidelity, utility, privacy attacks, audit, fairness and the report.

>>> from synthscape.evaluation import evaluate
>>> report = evaluate(train, test, synthetic, schema, target="y",
...                   ledger=gen.ledger_)  # doctest: +SKIP
>>> report.write("out/run")  # doctest: +SKIP
"""
from synthscape.evaluation.api import evaluate
from synthscape.evaluation.audit import AuditResult, audit
from synthscape.evaluation.report import Gate, Report, Section

__all__ = ["AuditResult", "Gate", "Report", "Section", "audit", "evaluate"]

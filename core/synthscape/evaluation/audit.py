"""Empirical differential-privacy audit (Jagielski et al. 2020, "Auditing Differentially
Private Machine Learning: How Private is Private SGD?", Sec. 3 and Eq. 1).

A canary row, far from the data but inside the schema, is added to the training table in half
of the trials. Each trial fits the generator afresh, samples, and counts synthetic rows past the
data's range or on categories the data lacks, where only the canary could have put them
(``canary_score``). Any threshold test on the score bounds epsilon from below:
(eps, delta)-DP implies TPR <= e^eps FPR + delta and 1 - FPR <= e^eps (1 - TPR) + delta, so
eps >= max(ln((TPR - delta) / FPR), ln((1 - FPR - delta) / (1 - TPR))). TPR and FPR are replaced
by Clopper-Pearson bounds whose confidence is split over every threshold tried (Bonferroni), so
the reported bound holds at the stated confidence however the threshold was picked.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synthscape.errors import ParameterError
from synthscape.evaluation._encode import codes, numeric
from synthscape.evaluation._threads import single_threaded
from synthscape.schema import TableSchema


@dataclass
class AuditResult:
    """What the audit found; ``flagged`` is True for a non-private generator, and for a DP
    generator whose empirical lower bound exceeds the epsilon its ledger claims."""

    generator: str
    trials: int
    private: bool
    claimed_epsilon: float | None
    delta: float
    epsilon_lower_bound: float
    confidence: float
    threshold: float
    tpr: float
    fpr: float
    attack_auc: float
    flagged: bool
    verdict: str
    canary: dict[str, Any]
    scores_with: list[float] = field(default_factory=list)
    scores_without: list[float] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)

    def add_to(self, report, figures_dir=None) -> None:
        """Add an ``audit`` section to a :class:`Report`."""
        scores = {k: getattr(self, k) for k in (
            "trials", "epsilon_lower_bound", "claimed_epsilon", "delta", "confidence",
            "attack_auc", "tpr", "fpr", "threshold")}
        scores["flagged"] = float(self.flagged)
        figures = []
        if figures_dir is not None:
            from pathlib import Path

            from synthscape.evaluation.figures import audit_scores

            figures.append(audit_scores(self.scores_with, self.scores_without, Path(figures_dir)))
        report.add_section("audit", title=f"Empirical DP audit of {self.generator}",
                           scores=scores, figures=figures, notes=[self.verdict],
                           tables={"canary": [{"column": k, "value": v}
                                              for k, v in self.canary.items()]})


def clopper_pearson(k: int, n: int, alpha: float) -> tuple[float, float]:
    """Two-sided Clopper-Pearson interval of a binomial proportion at level 1 - alpha."""
    from scipy.stats import beta

    lo = 0.0 if k == 0 else float(beta.ppf(alpha / 2, k, n - k + 1))
    hi = 1.0 if k == n else float(beta.ppf(1 - alpha / 2, k + 1, n - k))
    return lo, hi


def epsilon_lower_bound(with_scores: np.ndarray, without_scores: np.ndarray, delta: float,
                        confidence: float = 0.95) -> tuple[float, float, float, float]:
    """(epsilon lower bound, threshold, TPR, FPR) of the best test "score >= threshold"."""
    # moving a threshold up to the next "with" score keeps TP and can only lower FP, so the
    # best tests sit at those scores: the confidence is split over them alone
    thresholds = np.unique(with_scores)
    alpha = (1 - confidence) / max(len(thresholds), 1)
    n1, n0 = len(with_scores), len(without_scores)
    best: tuple[float, float, float, float] | None = None
    for t in thresholds:
        tp, fp = int(np.sum(with_scores >= t)), int(np.sum(without_scores >= t))
        eps = bound_from_counts(tp, n1, fp, n0, delta, alpha)
        if best is None or eps > best[0]:
            best = (eps, float(t), tp / n1, fp / n0)
    assert best is not None
    return best


def bound_from_counts(tp: int, n1: int, fp: int, n0: int, delta: float, alpha: float) -> float:
    """Epsilon lower bound of one test that said "member" ``tp`` times in ``n1`` trials with the
    canary and ``fp`` times in ``n0`` without: TPR from below and FPR from above by
    Clopper-Pearson at level ``alpha`` (Eq. 1 of the module docstring); 0 when nothing shows."""
    tpr_lo, _ = clopper_pearson(tp, n1, alpha)
    _, fpr_hi = clopper_pearson(fp, n0, alpha)
    cands = [0.0]
    if fpr_hi > 0 and tpr_lo - delta > 0:
        cands.append(math.log((tpr_lo - delta) / fpr_hi))
    if tpr_lo < 1 and 1 - fpr_hi - delta > 0:
        cands.append(math.log((1 - fpr_hi - delta) / (1 - tpr_lo)))
    return max(cands)


def canary_tests(data: pd.DataFrame, canary: pd.DataFrame, schema: TableSchema,
                 rare: float = 0.01) -> list[tuple[str, str, float]]:
    """Per-column tests where the canary stands out from ``data`` (the table without it):
    ("beyond", column, edge) for a number past the data's range, ("equal", column, code) for a
    category held by fewer than ``rare`` of the rows."""
    from synthscape.evaluation._encode import columns_of

    tests = []
    for c in columns_of(schema):
        if c.kind in ("numerical", "datetime"):
            x, v = numeric(data[c.name], c), numeric(canary[c.name], c)[0]
            lo, hi = np.nanmin(x), np.nanmax(x)
            if v > hi:
                tests.append(("above", c.name, float(hi)))
            elif v < lo:
                tests.append(("below", c.name, float(lo)))
        else:
            k = codes(canary[c.name], c)[0]
            if np.mean(codes(data[c.name], c) == k) < rare:
                tests.append(("equal", c.name, float(k)))
    return tests


def canary_score(syn: pd.DataFrame, tests: list[tuple[str, str, float]],
                 schema: TableSchema) -> float:
    """Sum over the canary's tests of log(1 + synthetic rows that pass it): a generator that
    learns from the data puts mass past the data's range, or on a category the data lacks,
    only when the canary was in it."""
    total = 0.0
    for kind, name, edge in tests:
        c = schema[name]
        if kind == "equal":
            hits = int(np.sum(codes(syn[name], c) == int(edge)))
        else:
            x = numeric(syn[name], c)
            hits = int(np.sum(x > edge)) if kind == "above" else int(np.sum(x < edge))
        total += math.log1p(hits)
    return total


def make_canary(data: pd.DataFrame, schema: TableSchema) -> dict[str, Any]:
    """A row inside the schema but far from the data: the bound farthest from each number's
    median, the rarest declared category, the rarer boolean value."""
    row: dict[str, Any] = {}
    for c in schema.columns:
        s = data[c.name]
        if c.kind == "id":
            row[c.name] = "canary"
        elif c.kind in ("numerical", "datetime"):
            lo, hi = c.bounds
            med = float(np.nanmedian(numeric(s, c)))
            v = hi if hi - med >= med - lo else lo
            row[c.name] = pd.Timestamp(v, unit="s") if c.kind == "datetime" else \
                (round(v) if c.integer else v)
        else:
            counts = np.bincount(codes(s, c), minlength=len(c.values) + 1)[:len(c.values)]
            row[c.name] = c.values[int(np.argmin(counts))]
    return row


def _resolve(generator: str | Callable[[int], Any], params: Mapping[str, Any] | None):
    if callable(generator):
        return getattr(generator, "__name__", "generator"), generator
    from synthscape.generators import GENERATORS

    cls = GENERATORS.get(generator)  # did-you-mean error on unknown names
    kw = dict(params or {})
    return generator, lambda seed: cls(seed=seed, **kw)


@single_threaded
def audit(generator: str | Callable[[int], Any], data: pd.DataFrame, schema: TableSchema,
          trials: int = 20, *, params: Mapping[str, Any] | None = None,
          canary: Mapping[str, Any] | None = None, n_synthetic: int | None = None,
          confidence: float = 0.95, seed: int = 0) -> AuditResult:
    """Audit ``generator`` (a registered name with ``params``, or ``seed -> unfitted generator``)
    over ``trials`` fits with and ``trials`` without the canary on ``data``."""
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 2:
        raise ParameterError(f"trials must be an int >= 2 (fits with and without the canary "
                             f"each), got {trials!r}")
    if not 0.5 <= confidence < 1:
        raise ParameterError(f"confidence must be in [0.5, 1), got {confidence!r}")
    name, factory = _resolve(generator, params)
    data = schema.validate(data, source="audit data").reset_index(drop=True)
    row = dict(canary) if canary is not None else make_canary(data, schema)
    canary_df = schema.validate(pd.DataFrame([row]), source="canary")
    tests = canary_tests(data, canary_df, schema)
    if not tests:
        raise ParameterError("the canary does not stand out from the data in any column (no "
                             "number beyond the data's range, no category rarer than 1%); "
                             "pass a canary with extreme values")
    with_canary = pd.concat([data, canary_df], ignore_index=True)
    n = int(n_synthetic or max(len(data), 2000))
    seeds = np.random.SeedSequence(seed).generate_state(2 * trials)
    scores: dict[bool, list[float]] = {True: [], False: []}
    ledgers = []
    for t in range(trials):
        for inside, table in ((True, with_canary), (False, data)):
            s = int(seeds[2 * t + inside])
            gen = factory(s).fit(table, schema)
            syn = gen.sample(n, seed=s)
            ledgers.append(gen.ledger_)
            scores[inside].append(canary_score(syn, tests, schema))
    w, wo = np.array(scores[True]), np.array(scores[False])
    private = all(led.is_private for led in ledgers)
    claimed = max(led.epsilon for led in ledgers) if private else None
    delta = max(led.delta for led in ledgers) if private else 0.0
    eps, thr, tpr, fpr = epsilon_lower_bound(w, wo, delta, confidence)
    from sklearn.metrics import roc_auc_score

    auc = float(roc_auc_score(np.r_[np.ones(trials), np.zeros(trials)], np.r_[w, wo]))
    if not private:
        flagged = True
        verdict = (f"FLAGGED: {name} is NOT PRIVATE (its ledger claims no epsilon); the canary "
                   f"attack reaches AUC {auc:.3f} and an empirical epsilon >= {eps:.3g} at "
                   f"{confidence:.0%} confidence over {trials} trials per side.")
    elif claimed is not None and eps > claimed:
        flagged = True
        verdict = (f"VIOLATION: empirical epsilon >= {eps:.3g} exceeds the ledger's "
                   f"epsilon = {claimed:.4g} (delta {delta:g}): the privacy claim is wrong.")
    else:
        flagged = False
        verdict = (f"consistent: empirical epsilon >= {eps:.3g} stays below the ledger's "
                   f"epsilon = {claimed:.4g} (delta {delta:g}) over {trials} trials per side. "
                   f"A lower bound from few trials is weak evidence; it cannot prove privacy.")
    return AuditResult(name, trials, private, claimed, delta, eps, confidence, thr, tpr, fpr,
                       auc, flagged, verdict, {k: _plain(v) for k, v in row.items()},
                       w.tolist(), wo.tolist())


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    return str(v) if isinstance(v, pd.Timestamp) else v

"""Audit of releases as published: a replay attack that holds every public value (docs/audit.md).

A recipient holds a saved model folder (model.json with the public ``seed``, arrays, weights)
and its synthetic table, or a run's ``release/`` folder, knows the code, and knows the training
table up to one row: D, or D' = D plus a canary. If a DP draw comes from anything published,
replaying the fit on D and on D' reproduces the release on the true side.

The game (Jagielski et al. 2020, Sec. 3): each trial flips a fair coin, fits on D or D', saves
and samples with the published seed. The attacker replays that release's published values on
D and on D' and guesses the side whose replay reproduces every array, weight and table; else
the side its stable JSON leaves point to (a row count, say); else the nearer side (L2 over the
arrays plus one-way total variation of the tables). One fixed test, so Clopper-Pearson at full
confidence (``audit.bound_from_counts``). ``DEFAULT_TRIALS`` = 40: seconds for mst on a few
hundred rows; a perfect attack then shows about 1.6 at 95% (``max_lower_bound``). Replays are
cached per published values: given them, each guess is a fixed function of its release.
"""
from __future__ import annotations

import math
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthscape.errors import ParameterError
from synthscape.evaluation._replay import (  # noqa: F401  (public names of this module)
    Release,
    _fit_model,
    _json,
    _leaves,
    _run_spec,
    distance,
    read_model_release,
    read_run_release,
    release_folder,
    same,
)
from synthscape.evaluation._threads import single_threaded
from synthscape.evaluation.audit import bound_from_counts, make_canary
from synthscape.random import derive_rng
from synthscape.schema import TableSchema

DEFAULT_TRIALS = 40
_KEY_VARS = ("SYNTHSCAPE_NOISE_KEY", "SYNTHSCAPE_NOISE_KEY_FILE")


class ReplayAttacker:
    """Guesses D' (canary in) or D from a release by replaying it on both, ``replays`` times
    each (cached by the published values). The JSON tier weighs only leaves that every replay of
    a side reproduces and the two sides disagree on: it needs ``replays`` >= 2 to tell such a
    value from a noisy or timed one. The distance tier averages over the replays."""

    def __init__(self, data: pd.DataFrame, data_prime: pd.DataFrame,
                 replay: Callable[[Mapping[str, Any], pd.DataFrame, Path], Release],
                 workdir: Path, replays: int = 2):
        self.tables, self.replay, self.workdir = (data, data_prime), replay, Path(workdir)
        self.replays = replays
        self._cache: dict[str, tuple[list[Release], list[Release], dict]] = {}

    def _replays(self, rel: Release) -> tuple[list[Release], list[Release], dict]:
        key = _json(rel.public)
        if key not in self._cache:
            d, p = ([self._one(rel, table, f"{side}-{r}") for r in range(self.replays)]
                    for side, table in enumerate(self.tables))
            ld, lp = ([_leaves(r.meta) for r in reps] for reps in (d, p))
            stable = {}  # leaf -> (value on D, value on D'): each side agrees with itself
            for k, v in ld[0].items() if self.replays > 1 else ():
                w = lp[0].get(k)
                if v != w and all(x.get(k) == v for x in ld) and all(x.get(k) == w for x in lp):
                    stable[k] = (v, w)
            self._cache[key] = (d, p, stable)
        return self._cache[key]

    def _one(self, rel: Release, table: pd.DataFrame, tag: str) -> Release:
        where = self.workdir / f"replay-{len(self._cache)}-{tag}"
        try:
            return self.replay(rel.public, table, where)
        finally:
            shutil.rmtree(where, ignore_errors=True)

    def score(self, rel: Release) -> tuple[float, str | None]:
        """(score, how): +inf/-inf when a replay of D'/D alone reproduces the release
        (``how`` = "exact"), or when more of its stable JSON leaves (a row count, say) point to
        that side ("json"); else the distance to D's replays minus that to D''s (> 0: D')."""
        reps_d, reps_p, stable = self._replays(rel)
        on_d, on_p = any(same(rel, r) for r in reps_d), any(same(rel, r) for r in reps_p)
        if on_d != on_p:
            return (math.inf if on_p else -math.inf), "exact"
        mine = _leaves(rel.meta)
        votes = sum(int(mine.get(k) == p) - int(mine.get(k) == d) for k, (d, p) in stable.items())
        if votes:
            return (math.inf if votes > 0 else -math.inf), "json"
        return (float(np.mean([distance(rel, r) for r in reps_d]))
                - float(np.mean([distance(rel, r) for r in reps_p]))), None


@dataclass
class ReleaseAuditResult:
    """What the replay attack achieved over the trials; ``flagged``: the empirical lower
    bound exceeds the epsilon the release's ledger claims, or the ledger claims none."""

    mode: str
    generator: str
    trials: int
    private: bool
    claimed_epsilon: float | None
    delta: float
    epsilon_lower_bound: float
    max_lower_bound: float
    confidence: float
    accuracy: float
    tpr: float
    fpr: float
    exact_replays: int
    json_matches: int
    flagged: bool
    verdict: str
    release_match: str | None = None
    coins: list[bool] = field(default_factory=list)
    scores: list[float | str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        claim = "none (NOT PRIVATE)" if self.claimed_epsilon is None else \
            f"{self.claimed_epsilon:.4g}"
        weak = self.claimed_epsilon is not None and self.max_lower_bound <= self.claimed_epsilon
        word = "FLAGGED" if self.flagged else "INCONCLUSIVE" if weak else "ok"
        return (f"{word}: {self.mode} release of {self.generator}: empirical epsilon >= "
                f"{self.epsilon_lower_bound:.3g} (at most {self.max_lower_bound:.3g} showable), "
                f"ledger epsilon {claim}; {self.exact_replays}/{self.trials} releases replayed "
                f"exactly, attack accuracy {self.accuracy:.2f}")

    def add_to(self, report) -> None:
        """Add a ``release_audit`` section to a :class:`Report`."""
        scores = {k: getattr(self, k) for k in (
            "trials", "epsilon_lower_bound", "max_lower_bound", "claimed_epsilon", "delta",
            "confidence", "accuracy", "tpr", "fpr", "exact_replays", "json_matches")}
        scores["flagged"] = float(self.flagged)
        notes = [self.verdict] + ([f"the audited release itself is reproduced exactly by the "
                                   f"replay on {self.release_match}"]
                                  if self.release_match else [])
        report.add_section("release_audit", title=f"Replay audit of the published "
                           f"{self.mode} release ({self.generator})", scores=scores, notes=notes)


def _candidates(data: pd.DataFrame, schema: TableSchema, data_prime: pd.DataFrame | None,
                canary: Mapping[str, Any] | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    data = schema.validate(data, source="audit data D").reset_index(drop=True)
    if data_prime is not None:
        return data, schema.validate(data_prime, source="audit data D'").reset_index(drop=True)
    row = {**make_canary(data, schema), **dict(canary or {})}
    extra = schema.validate(pd.DataFrame([row]), source="canary")
    return data, pd.concat([data, extra], ignore_index=True)


def _check(trials: int, confidence: float, replays: int) -> None:
    for what, v, least in (("trials", trials, 2), ("replays", replays, 1)):
        if isinstance(v, bool) or not isinstance(v, int) or v < least:
            raise ParameterError(f"{what} must be an int >= {least}, got {v!r}")
    if not 0.5 <= confidence < 1:
        raise ParameterError(f"confidence must be in [0.5, 1), got {confidence!r}")


def _game(mode: str, name: str, public: Mapping[str, Any],
          replay: Callable[[Mapping[str, Any], pd.DataFrame, Path], Release],
          tables: tuple[pd.DataFrame, pd.DataFrame], trials: int, confidence: float, seed: int,
          replays: int, observed: Release | None = None) -> ReleaseAuditResult:
    rng = derive_rng(int(seed), "audit_release", "game")  # the coins and the tie-breaks
    coins = rng.integers(0, 2, trials).astype(bool)
    scores, hows, ledgers, match = [], [], [], None
    from threadpoolctl import threadpool_limits

    with tempfile.TemporaryDirectory(prefix="synthscape-audit-") as tmp:
        attacker = ReplayAttacker(*tables, replay, Path(tmp), replays)
        for t, inside in enumerate(coins):
            with threadpool_limits(limits=1):  # per trial: torch loads its OpenMP lazily
                rel = replay(public, tables[int(inside)], Path(tmp) / f"trial-{t}")
                shutil.rmtree(Path(tmp) / f"trial-{t}", ignore_errors=True)
                s, how = attacker.score(rel)
            scores.append(s)
            hows.append(how)
            ledgers.append(rel.ledger)
        if observed is not None:
            with threadpool_limits(limits=1):
                s, how = attacker.score(observed)
            match = {math.inf: "D_prime", -math.inf: "D"}.get(s) if how == "exact" else None
    s_arr = np.array(scores)
    guess = np.where(s_arr == 0, rng.integers(0, 2, trials).astype(bool), s_arr > 0)
    n1, n0 = int(coins.sum()), int((~coins).sum())
    tp, fp = int((guess & coins).sum()), int((guess & ~coins).sum())
    private = all(led.get("private") for led in ledgers)
    claimed = max(float(led["epsilon"]) for led in ledgers) if private else None
    delta = max(float(led.get("delta") or 0.0) for led in ledgers) if private else 0.0
    eps = bound_from_counts(tp, n1, fp, n0, delta, 1 - confidence)
    best = bound_from_counts(n1, n1, 0, n0, delta, 1 - confidence)
    exact, js = hows.count("exact"), hows.count("json")
    flagged = claimed is None or eps > claimed
    verdict = _verdict(f"the {mode} release of {name}", trials, claimed, delta, eps, best,
                       exact, js)
    return ReleaseAuditResult(
        mode, name, trials, private, claimed, delta, eps, best, confidence,
        float(np.mean(guess == coins)), tp / max(n1, 1), fp / max(n0, 1), exact, js, flagged,
        verdict, match, coins.tolist(), [s if math.isfinite(s) else str(s) for s in scores])


def _verdict(what: str, trials: int, claimed: float | None, delta: float, eps: float,
             best: float, exact: int, js: int) -> str:
    if claimed is None:
        text = (f"FLAGGED: {what} is NOT PRIVATE (its ledger claims no epsilon); the replay "
                f"attack shows epsilon >= {eps:.3g}.")
    elif eps > claimed:
        why = (f"{exact} of {trials} releases were reproduced exactly from their public values: "
               f"mechanism randomness comes from something published" if exact else
               f"in {js} of {trials} releases the published JSON points to the true table" if js
               else "the releases sit measurably nearer the replay on the true table")
        text = (f"VIOLATION: empirical epsilon >= {eps:.3g} exceeds the ledger's epsilon = "
                f"{claimed:.4g} (delta {delta:g}) for {what}: {why}.")
    elif best <= claimed:
        text = (f"INCONCLUSIVE: with {trials} trials even a perfect attack on {what} shows at "
                f"most {best:.3g} <= the ledger's epsilon = {claimed:.4g}; raise trials.")
    else:
        text = (f"consistent: empirical epsilon >= {eps:.3g} stays below the ledger's epsilon = "
                f"{claimed:.4g} (delta {delta:g}) for {what}; {exact} exact replays in {trials} "
                f"trials. A lower bound cannot prove privacy.")
    if any(os.environ.get(v) for v in _KEY_VARS):
        text += (" NOTE: a secret noise key is set in this process and the replays used it: "
                 "this audits an attacker who holds the owner's key.")
    return text


@single_threaded
def audit_release(generator: str, data: pd.DataFrame, schema: TableSchema,
                  trials: int = DEFAULT_TRIALS, *, params: Mapping[str, Any] | None = None,
                  data_prime: pd.DataFrame | None = None, canary: Mapping[str, Any] | None = None,
                  n_synthetic: int | None = None, replays: int = 2, confidence: float = 0.95,
                  seed: int = 0, observed: Release | None = None) -> ReleaseAuditResult:
    """Replay audit of the registered ``generator`` with ``params`` (the published ``seed``
    among them; 0 when absent). D is ``data``; D' is ``data_prime``, or D plus a canary row
    (``make_canary``, with any columns given in ``canary`` overriding it). Each release is the
    saved model folder plus ``n_synthetic`` rows (default ``len(data)``) sampled with the
    published seed. ``seed`` drives the coins only. ``observed``: a release to test too
    (``release_match`` says which replay reproduces it exactly, if one does)."""
    _check(trials, confidence, replays)
    from synthscape.generators import GENERATORS

    GENERATORS.get(generator)  # did-you-mean error on unknown names
    d, dp = _candidates(data, schema, data_prime, canary)
    public = {"generator": generator, "params": {"seed": 0, **dict(params or {})},
              "schema": schema.to_dict(), "rows": int(n_synthetic or len(d))}
    return _game("model", generator, public, _fit_model, (d, dp), trials, confidence, seed,
                 replays, observed)


def audit_model_folder(folder: str | Path, data: pd.DataFrame,
                       data_prime: pd.DataFrame | None = None, trials: int = DEFAULT_TRIALS, *,
                       synthetic: pd.DataFrame | None = None, **kw: Any) -> ReleaseAuditResult:
    """``audit_release`` with the generator, parameters and schema published in a saved model
    folder; the folder (with ``synthetic``, the table released beside it) is tested too."""
    observed = read_model_release(folder, synthetic)
    n = kw.pop("n_synthetic", None) or observed.public["rows"]
    return audit_release(observed.public["generator"], data, observed.schema, trials,
                         params=observed.public["params"], data_prime=data_prime,
                         n_synthetic=n, observed=observed, **kw)


@single_threaded
def audit_run_folder(run_folder: str | Path, data: pd.DataFrame,
                     data_prime: pd.DataFrame | None = None, trials: int = DEFAULT_TRIALS, *,
                     canary: Mapping[str, Any] | None = None, replays: int = 2,
                     confidence: float = 0.95, seed: int = 0) -> ReleaseAuditResult:
    """Replay audit of a tabular run's release (``<run>/release`` or an older ``<run>``): each
    trial runs its published spec, with its published seed, on D or D' and the attacker
    replays that release's spec on both; the run's own release is tested too."""
    _check(trials, confidence, replays)
    observed = read_run_release(run_folder)
    d, dp = _candidates(data, observed.schema, data_prime, canary)
    name = str(observed.public["spec"].get("generator", {}).get("type", "?"))
    return _game("run", name, observed.public, _run_spec, (d, dp), trials, confidence, seed,
                 replays, observed)

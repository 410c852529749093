"""Edge-case search: naive Monte Carlo against cross-entropy importance sampling.

The cross-entropy method (Rubinstein & Kroese 2004, ch. 3; for driving, Zhao et al. 2018,
IEEE T-ITS 19(10)) adapts a proposal over the standard-normal parameter space towards failures
through a sequence of score levels; a fresh sample from the final proposal then gives an
unbiased failure-rate estimate, mean(w * 1[failure]) with w = p/q, whose variance gives the CI.
Monte Carlo uses the Wilson score interval (Wilson 1927), valid with zero failures.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.stats import norm

from synthscape_autonomy.distributions import Proposal
from synthscape_autonomy.rollout import simulate
from synthscape_autonomy.scenario import Scene

MC_BASE, CE_BASE, IS_BASE = 0, 10_000_000, 20_000_000  # disjoint episode-id ranges
PROB_FLOOR = 0.02  # keep every choice in the proposal's support (unbiasedness needs q > 0)
SMOOTHING = 0.7  # CE parameter smoothing (Rubinstein & Kroese 2004, sec. 3.4)


def wilson(k: int, n: int, conf: float) -> tuple[float, float]:
    z = norm.ppf(0.5 + conf / 2)
    p = k / n
    den = 1 + z * z / n
    c = (p + z * z / (2 * n)) / den
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return (0.0 if k == 0 else max(0.0, c - h)), (1.0 if k == n else min(1.0, c + h))


def monte_carlo(scene: Scene, n: int, conf: float = 0.95) -> dict[str, Any]:
    r = simulate(scene, scene.draws(range(MC_BASE, MC_BASE + n)))
    fail = r.episodes["failure"]
    k = int(fail.sum())
    lo, hi = wilson(k, n, conf)
    return {"method": "monte_carlo", "episodes": n, "failures": k, "estimate": k / n,
            "ci_low": lo, "ci_high": hi, "sim_seconds": r.sim_seconds,
            "failures_per_sim_second": k / r.sim_seconds, "rollout": r}


def _level(scene: Scene) -> float:
    lab = scene.spec.labels
    return lab.near_miss_ttc if lab.failure == "near_miss" else 0.0


def cross_entropy(scene: Scene) -> tuple[Proposal, list[dict[str, Any]]]:
    """Adapt the proposal; returns it and one record per iteration (with its rollout)."""
    cfg = scene.spec.search
    assert cfg is not None  # the caller runs the search only when the spec asks for one
    space = scene.space
    q = space.nominal()
    level = _level(scene)
    stages = []
    for it in range(cfg.ce_iterations):
        base = CE_BASE + it * 1_000_000
        draws = scene.draws(range(base, base + cfg.ce_episodes), q)
        r = simulate(scene, draws)
        score = r.episodes["score"]
        gamma = max(level, float(np.quantile(score, cfg.elite_fraction)))
        elite = score <= gamma if gamma > level else score < level
        lw = np.array([d.log_weight for d in draws])
        w = np.exp(lw - lw[elite].max()) * elite if elite.any() else np.zeros_like(lw)
        stages.append({"iteration": it, "level": gamma, "episodes": len(draws), "rollout": r,
                       "failures": int(r.episodes["failure"].sum())})
        if w.sum() <= 0:
            continue
        w = w / w.sum()
        if space.dim:
            z = np.stack([d.z for d in draws])  # type: ignore[misc]  # set when space.dim
            mu = (w[:, None] * z).sum(0)
            sd = np.sqrt((w[:, None] * (z - mu) ** 2).sum(0)).clip(0.05, None)
            q = Proposal(SMOOTHING * mu + (1 - SMOOTHING) * q.mean,
                         SMOOTHING * sd + (1 - SMOOTHING) * q.std, q.probs)
        probs = {}
        for k, d in space.categorical.items():
            counts = np.bincount([dr.idx[k] for dr in draws], weights=w, minlength=len(d.choice))
            pk = SMOOTHING * counts + (1 - SMOOTHING) * q.probs[k]
            pk = np.maximum(pk, PROB_FLOOR)
            probs[k] = pk / pk.sum()
        q = Proposal(q.mean, q.std, probs or q.probs)
    return q, stages


def importance_sampling(scene: Scene, q: Proposal, n: int, conf: float = 0.95) -> dict[str, Any]:
    draws = scene.draws(range(IS_BASE, IS_BASE + n), q)
    r = simulate(scene, draws)
    fail = r.episodes["failure"].astype(float)
    w = np.exp([d.log_weight for d in draws])
    terms = w * fail
    est = float(terms.mean())
    se = float(terms.std(ddof=1) / math.sqrt(n))
    z = norm.ppf(0.5 + conf / 2)
    return {"method": "importance_sampling", "episodes": n, "failures": int(fail.sum()),
            "estimate": est, "std_error": se, "ci_low": max(0.0, est - z * se),
            "ci_high": est + z * se, "sim_seconds": r.sim_seconds,
            "sample_variance": float(terms.var(ddof=1)), "rollout": r,
            "share_failing_under_q": float(fail.mean())}


def compare(scene: Scene) -> dict[str, Any]:
    """Monte Carlo vs CE importance sampling on the same scenario and failure definition."""
    cfg = scene.spec.search
    assert cfg is not None  # the caller runs the search only when the spec asks for one
    mc = monte_carlo(scene, cfg.mc_episodes, cfg.confidence)
    q, stages = cross_entropy(scene)
    imp = importance_sampling(scene, q, cfg.is_episodes, cfg.confidence)
    ce_seconds = sum(s["rollout"].sim_seconds for s in stages)
    ce_failures = sum(s["failures"] for s in stages)
    imp["search_sim_seconds"] = ce_seconds + imp["sim_seconds"]
    imp["failures_found"] = ce_failures + imp["failures"]
    imp["failures_per_sim_second"] = imp["failures_found"] / imp["search_sim_seconds"]
    p = imp["estimate"] if imp["estimate"] > 0 else mc["estimate"]
    out: dict[str, Any] = {"monte_carlo": mc, "importance_sampling": imp, "proposal": q,
                           "stages": stages}
    if mc["failures_per_sim_second"] > 0:
        out["failure_discovery_factor"] = imp["failures_per_sim_second"] / \
            mc["failures_per_sim_second"]
    else:  # MC found none: compare with its expected discovery rate at the IS estimate
        exp_rate = p / scene.spec.duration
        out["failure_discovery_factor"] = imp["failures_per_sim_second"] / exp_rate \
            if exp_rate > 0 else math.nan
    if p > 0 and imp["sample_variance"] > 0:
        # episodes for the same relative error: MC needs (1-p)/(p re^2), IS var/(p^2 re^2)
        out["acceleration_asymptotic"] = p * (1 - p) / imp["sample_variance"]
        re = imp["std_error"] / p
        mc_needed = (1 - p) / (p * re * re)
        spent = imp["search_sim_seconds"] / scene.spec.duration
        out["acceleration_with_search_cost"] = mc_needed / spent
        out["relative_error_is"] = re
    else:
        out["acceleration_asymptotic"] = out["acceleration_with_search_cost"] = math.nan
    overlap = mc["ci_low"] <= imp["ci_high"] and imp["ci_low"] <= mc["ci_high"]
    out["estimates_agree"] = bool(overlap)
    # the proposal reached the failure region only if the last elite level got there: a
    # proposal that stopped short misses part of it, and its interval understates the rate
    out["ce_reached_failure"] = bool(stages) and stages[-1]["level"] <= _level(scene)
    return out


def summary(result: dict[str, Any]) -> dict[str, Any]:
    """The scalar figures of ``compare`` (no rollouts), for reports and benchmarks."""
    mc, imp = result["monte_carlo"], result["importance_sampling"]
    keep = ("episodes", "failures", "estimate", "ci_low", "ci_high", "sim_seconds",
            "failures_per_sim_second")
    out = {f"mc_{k}": mc[k] for k in keep}
    out.update({f"is_{k}": imp[k] for k in keep + ("std_error", "search_sim_seconds",
                                                   "failures_found", "share_failing_under_q")})
    for k in ("failure_discovery_factor", "acceleration_asymptotic",
              "acceleration_with_search_cost", "estimates_agree", "ce_reached_failure"):
        out[k] = result.get(k)
    return out

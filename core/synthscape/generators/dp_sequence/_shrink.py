"""Empirical-Bayes shrinkage of the model's shares toward a noisy release: the targets of the
``dp_sequence`` calibrations (``_margins.py``, ``_tod.py``, ``_gaps.py``), and the pilot fit
of a logit shift that the last two share. numpy and scipy, post-processing."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from synthscape.generators._marginal import project_simplex

TAU_ROUNDS = 5  # fixed-point rounds of the model error variance's weighted estimate


def shrink(noisy: np.ndarray, got: np.ndarray, s2: np.ndarray) -> np.ndarray:
    """``got`` (the model's shares) moved toward ``noisy`` (released, noise variance ``s2``
    per cell) by the empirical-Bayes weight ``tau^2 v / (tau^2 v + s2)``: the model's own error
    variance is taken to scale with ``v = got (1 - got)`` (as a share's sampling variance does)
    and ``tau^2`` is estimated from the cells by weighted moments, ``E[d^2] = tau^2 v + s2``
    with weights ``v / (tau^2 v + s2)^2`` (a few fixed-point rounds), so cells of very
    different noise (a small group's, a large group's) are each weighted by what they can
    tell. A column the model already fits keeps the model's shares, one it misses takes the
    release's, and a rare value (small ``v``) moves only as far as the release can tell it
    apart from noise: a release whose noise exceeds a rare value's share would otherwise set
    it near 0, and the sampler would stop drawing it (conditions on it then fail)."""
    d = noisy - got
    v = np.clip(got * (1 - got), 1e-6, None)
    s2 = np.broadcast_to(np.asarray(s2, float), d.shape)
    tau2 = max(0.0, float(np.sum(d ** 2 - s2)) / float(np.sum(v)))
    for _ in range(TAU_ROUNDS):
        w = v / (tau2 * v + s2 + 1e-12) ** 2
        tau2 = max(0.0, float(np.sum(w * (d ** 2 - s2))) / float(np.sum(w * v)))
    return got + tau2 * v / (tau2 * v + s2 + 1e-300) * d


def move(noisy: np.ndarray, got: np.ndarray, total, total_std, p_total, std: float
          ) -> np.ndarray:
    """Released cells ``noisy`` (rows: groups) over their noisy ``total`` (noise std
    ``total_std``), shrunk toward the pilot's shares ``got / p_total`` (:func:`shrink`); the
    totals broadcast over the cells (scalars, or one per row)."""
    total = np.maximum(total, 1.0)
    r, h = noisy / total, got / np.maximum(p_total, 1.0)
    s2 = (std / total) ** 2 + (total_std / total) ** 2 * r ** 2 + \
        h * (1 - h) / np.maximum(p_total, 1.0)
    return shrink(r, h, s2)


def distribution(noisy: np.ndarray, got: np.ndarray, total, total_std, p_total, std: float
                  ) -> np.ndarray:
    """:func:`move` for rows that are distributions: each row projected onto the simplex
    first (least squares: noise on empty cells goes to 0), then moved, then renormalised."""
    noisy, got = np.atleast_2d(noisy), np.atleast_2d(got)
    total = np.broadcast_to(np.asarray(total, float).reshape(-1, 1), (len(noisy), 1))
    proj = np.stack([project_simplex(row, max(float(t[0]), 1.0)) for row, t in zip(noisy, total)])
    t = np.clip(move(proj, got, total, total_std, p_total, std), 0.0, None)
    own = got / np.maximum(got.sum(axis=1, keepdims=True), 1.0)
    sums = t.sum(axis=1, keepdims=True)
    return np.where(sums > 0, t / np.where(sums > 0, sums, 1.0), own)


def own_shares(got: np.ndarray) -> np.ndarray:
    return got / np.maximum(got.sum(axis=1, keepdims=True), 1.0)


def trend(noisy: np.ndarray, total: np.ndarray, std: float, got: np.ndarray,
          p_total: np.ndarray, ordered: int) -> np.ndarray:
    """A prior for :func:`distribution` of rows that are ordered groups (runs of bins of a
    numerical column, e.g. birth years): in place of the model's shares ``got / p_total``, per
    class a logistic curve in the group's rank fitted by weighted least squares to the released
    shares of the first ``ordered`` rows (weights: one over each share's noise variance), rows
    renormalised, returned as counts on the pilot's scale (``p_total``). The rows after
    ``ordered`` (a null group) keep the model's. With fewer than 3 ordered rows, or without
    noise (``std`` 0: a non-private fit, whose release is exact), ``got``.

    Why: the cells of a small group are mostly noise, and shrunk toward the model's shares they
    stay where the model is; a short DP-SGD run hardly learns what the grouping column implies.
    On NAFLD (4,000 patients, 8 runs of birth years, cell noise about 51 patients) the sampled
    death share was 12-16% in the two youngest groups (real 1% and 0%) and 19% in the second
    oldest (real 60%); a two-parameter curve pools what all the groups tell (200 draws of
    noise of std 51 added to the real cells: its mean error in those three groups is 0.01,
    0.01 and 0.19, the released shares' 0.04, 0.34 and 0.28)."""
    from scipy.optimize import least_squares
    from scipy.special import expit, logit

    noisy, got = np.atleast_2d(noisy), np.atleast_2d(got)
    if ordered < 3 or not std > 0:
        return got
    tot = np.maximum(np.asarray(total, float).reshape(-1), 1.0)[:ordered]
    x = np.linspace(0.0, 1.0, ordered)

    def curve(th: np.ndarray) -> np.ndarray:
        return expit(th[0] + th[1] * x)

    shares = np.empty((ordered, noisy.shape[1]))
    for c in range(noisy.shape[1]):
        r = noisy[:ordered, c] / tot
        sd = np.sqrt((std / tot) ** 2 * (1.0 + r ** 2))
        m = float(np.clip(np.sum(r / sd ** 2) / np.sum(1.0 / sd ** 2), 1e-3, 1 - 1e-3))
        th = least_squares(lambda th, r=r, sd=sd: (curve(th) - r) / sd, [logit(m), 0.0],
                           bounds=([-30.0, -60.0], [30.0, 60.0])).x
        shares[:, c] = curve(th)
    shares = np.clip(shares, 1e-6, None)
    shares /= shares.sum(axis=1, keepdims=True)
    out = got.astype(float).copy()
    out[:ordered] = shares * np.maximum(np.asarray(p_total, float).reshape(-1, 1)[:ordered],
                                        1.0)
    return out


def pilot_fit(pilot: Callable[[np.ndarray], tuple[np.ndarray, float]], released: np.ndarray,
              s_rel: float, *, rounds: int, damping: float, max_shift: float,
              fixed: np.ndarray | None = None) -> tuple[np.ndarray, float, float]:
    """A logit shift that brings pilot samples' shares onto a release, by iterative proportional
    fitting: ``shift += damping * log(target / produced)``, clipped to ``max_shift`` nats.

    ``pilot(shift)`` samples with ``shift`` and returns the produced shares (summing to 1) and
    the pilot's size (the units its shares average over); ``released``: the release's shares,
    noise std ``s_rel`` per share. The target is ``released`` moved from the first pilot's
    shares by :func:`shrink`; classes in ``fixed`` keep shift and target 0. Returns the shift of
    the best of ``rounds + 1`` pilots (the first has none) and the pilots' TVD to the target
    without and with it."""
    shift = np.zeros(len(released))
    goal: np.ndarray | None = None
    tried: list[tuple[float, np.ndarray]] = []
    for _ in range(rounds + 1):
        got, size = pilot(shift)
        if goal is None:
            goal = np.clip(shrink(released, got, s_rel ** 2 + got * (1 - got) / size), 0, None)
            if fixed is not None:
                goal[fixed] = 0.0
            goal = goal / max(float(goal.sum()), 1e-12)
        tried.append((float(0.5 * np.abs(got - goal).sum()), shift))
        step = damping * np.log((goal + 1e-4) / (got + 1e-4))
        if fixed is not None:
            step[fixed] = 0.0
        shift = np.clip(shift + step, -max_shift, max_shift)
    tvd, best = min(tried, key=lambda t: t[0])
    return best, tried[0][0], tvd

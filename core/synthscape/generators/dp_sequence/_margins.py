"""The entity columns' one-way marginals and the presence of event values: a DP release at fit,
and logit shifts that pull the sampler onto it (post-processing).

Why: a short DP-SGD run learns the entity heads and the event columns' frequencies poorly:
the frequency of one value is a small signal against the clipping noise of a step. On the
NAFLD cohort at epsilon 1 (4,000 training patients) the sampled birth years spread almost
evenly over the declared 1900-1995 (real: mostly 1930-1975), so many sampled events fell
before birth and were dropped, and the death flag came out at 12-13% against 8.6%; a code held
by 20% of the patients was drawn for 3%.

- **fit** (:func:`release`): each training entity contributes the vector ``(1, one-hot of every
  entity field, presence of every class of every categorical or boolean event column)``, where
  presence is 1 when at least one of its (kept, at most L) events has that value; a numerical
  entity field is one-hot over ``GROUPS`` runs of adjacent bins (fewer, fuller cells). Its
  squared L2 norm is at most ``1 + F + sum_c min(classes_c, L)``: the sum over entities is
  released with the Gaussian mechanism at that sensitivity from ``share`` of the budget left
  (one ledger entry). The entity count is the first cell pooled with every entity field's
  total (each also sums to the count); each other cell divided by it is a noisy share.
- **calibration** (:func:`calibrate`, still at fit, post-processing of the released model and
  the released sums): the sampler adds a shift to each entity head's logits and to each
  calibrated event column's head (``net.entity_shift``, ``net.column_shift``). A first pilot
  sample without shifts gives the model's own shares; each column's targets move from the
  model's shares toward the released ones by the empirical-Bayes weight ``tau^2 / (tau^2 +
  s^2)`` (``s``: the release's noise std with the pilot's sampling std, in share units;
  ``tau^2``: the model's error variance over the column's cells, estimated as the mean of
  ``d^2 - s^2``), so a column the model already fits keeps its shares and noise does not set
  the margins of rare values or of small data, while a column the model misses (birth years
  spread evenly over the bounds, a death flag at three times its rate) takes the release's.
  A few pilots then fit the shifts by iterative proportional fitting (entity fields:
  ``log(target / produced)``; presence: the log ratio of ``-log(1 - p)``, the rate behind a
  presence share, so that common values move as much as rare ones); the shifts of the best
  pilot are kept.

A shift changes the sampler's distribution, so conditions (rejection over sampled entities) and
every later draw follow the calibrated model. Numerical event columns are not calibrated here
(their classes are bins; presence of a bin means little).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from synthscape.generators.dp_sequence._encoding import SequenceEncoding
from synthscape.generators.dp_sequence._lengths import LengthModel
from synthscape.privacy import PrivacyLedger
from synthscape.privacy.mechanisms import gaussian_mechanism

LABEL = "entity margins"
PILOT = 2000  # entities per pilot sample
ROUNDS = 6
DAMPING = 0.8
MAX_SHIFT = 4.0  # nats
MIN_COUNT_STDS = 10.0  # a noisy entity count under this many stds: nothing is calibrated
GROUPS = 8  # a numerical entity field's bins are released in this many runs of bins


def groups(f) -> np.ndarray:
    """Class -> released cell of entity field ``f``: itself for categorical and boolean
    fields; for numerical and datetime ones, ``GROUPS`` runs of adjacent bins (fewer noisy
    cells: each holds several bins' mass), the null class alone."""
    if f.kind in ("categorical", "boolean") or f.size <= GROUPS:
        return np.arange(f.size)
    k = f.size - int(f.nullable)
    g = (np.arange(k) * GROUPS) // k
    return np.r_[g, GROUPS] if f.nullable else g


def _cells(f) -> int:
    return int(groups(f).max()) + 1


def calibrated_columns(enc: SequenceEncoding) -> list[int]:
    """Indices of the event column fields whose presence is released: categorical, boolean."""
    return [j for j, f in enumerate(enc.column_fields) if f.kind in ("categorical", "boolean")]


def sensitivity(enc: SequenceEncoding) -> float:
    L = enc.schema.max_events
    cells = 1 + len(enc.entity_fields) + sum(
        min(enc.column_fields[j].size, L) for j in calibrated_columns(enc))
    return math.sqrt(cells)


def statistic(entity_codes: np.ndarray, lengths: np.ndarray, columns: np.ndarray,
              enc: SequenceEncoding) -> np.ndarray:
    """The sum over entities of the released vector (see the module docstring): the entity
    count, then per entity field its class counts, then per calibrated event column the
    number of entities with each class. ``columns``: (n, L, k) event column codes."""
    n = len(lengths)
    parts = [np.array([float(n)])]
    for j, f in enumerate(enc.entity_fields):
        g = groups(f)[np.clip(entity_codes[:, j].astype(np.int64), 0, f.size - 1)]
        parts.append(np.bincount(g, minlength=_cells(f)).astype(float))
    live = np.arange(columns.shape[1])[None, :] < np.asarray(lengths)[:, None] \
        if columns.ndim == 3 else np.zeros((n, 0), bool)
    rows = np.nonzero(live)[0]
    for j in calibrated_columns(enc):
        size = enc.column_fields[j].size
        present = np.zeros((n, size), bool)
        if rows.size:
            present[rows, columns[live][:, j].astype(np.int64)] = True
        parts.append(present.sum(axis=0).astype(float))
    return np.concatenate(parts)


def split(vector: np.ndarray, enc: SequenceEncoding) -> tuple[float, list[np.ndarray],
                                                              list[np.ndarray]]:
    """(count, per entity field counts, per calibrated column presence counts)."""
    sizes_e = [_cells(f) for f in enc.entity_fields]
    sizes_c = [enc.column_fields[j].size for j in calibrated_columns(enc)]
    cuts = np.cumsum([1, *sizes_e, *sizes_c])[:-1]
    parts = np.split(np.asarray(vector, float), cuts)
    return float(parts[0][0]), parts[1:1 + len(sizes_e)], parts[1 + len(sizes_e):]


@dataclass
class MarginRelease:
    """The released sums (``vector``, noisy) and their noise std (``None``: exact)."""

    vector: np.ndarray
    sigma: float | None

    def to_array(self) -> np.ndarray:
        return np.r_[np.nan if self.sigma is None else self.sigma, self.vector]

    @classmethod
    def from_array(cls, a: np.ndarray) -> MarginRelease:
        a = np.asarray(a, float)
        return cls(a[1:], None if np.isnan(a[0]) else float(a[0]))


def release(entity_codes: np.ndarray, lengths: np.ndarray, events: np.ndarray,
            enc: SequenceEncoding, *, ledger: PrivacyLedger, share: float) -> MarginRelease:
    """The (DP when the ledger has a budget) sums of the training entities' vectors.
    ``events``: the training records' event codes (gap, time of day, the k columns, then
    inputs that are not predicted)."""
    k = len(enc.column_fields)
    exact = statistic(entity_codes, lengths, events[:, :, 2:2 + k], enc)
    if ledger.budget is None:
        return MarginRelease(exact, None)
    delta2 = sensitivity(enc)
    sigma = 1.0 / math.sqrt(2.0 * ledger.remaining_rho(share))
    L = enc.schema.max_events
    noisy = gaussian_mechanism(
        exact, noise_multiplier=sigma, sensitivity=delta2, ledger=ledger,
        label=f"{LABEL}: entity count, one-way counts of {len(enc.entity_fields)} entity "
              f"columns, entities with each value of {len(calibrated_columns(enc))} event "
              f"columns (first {L} events), Gaussian, L2 sensitivity {delta2:.3g}")
    return MarginRelease(np.asarray(noisy, float).reshape(exact.shape), sigma * delta2)


def _count(rel: MarginRelease, enc: SequenceEncoding) -> tuple[float, float]:
    """The entity count and its noise std: the count cell pooled, by inverse variance, with
    each entity field's cell total (each also sums to the count; a total over c cells has
    c times a cell's noise variance)."""
    count, ent, _ = split(rel.vector, enc)
    std = 0.0 if rel.sigma is None else rel.sigma
    if std == 0.0:
        return count, 0.0
    est, prec = [count], [1.0]
    for cells in ent:
        est.append(float(cells.sum()))
        prec.append(1.0 / len(cells))
    n = float(np.dot(est, prec) / np.sum(prec))
    return n, std / math.sqrt(float(np.sum(prec)))


def _shrunk(noisy: np.ndarray, got: np.ndarray, s2: np.ndarray) -> np.ndarray:
    """``got`` (the model's shares) moved toward ``noisy`` (released, noise variance ``s2``
    per cell) by the empirical-Bayes weight ``tau^2 / (tau^2 + s2)``, ``tau^2`` the model's
    own error variance estimated from the cells, ``max(0, mean(d^2 - s2))``: a column the model
    already fits keeps the model's shares, one it misses takes the release's."""
    d = noisy - got
    tau2 = max(0.0, float(np.mean(d ** 2 - s2)))
    return got + tau2 / (tau2 + s2 + 1e-300) * d


def _targets(rel: MarginRelease, have: np.ndarray, pilot: int,
             enc: SequenceEncoding) -> tuple[list[np.ndarray], list[np.ndarray]] | None:
    """Shares to aim at: the model's (``have``, a pilot's statistic) moved toward the release
    (:func:`_shrunk`); ``None`` when the release is too noisy to read."""
    _, ent, pres = split(rel.vector, enc)
    p_count, p_ent, p_pres = split(have, enc)
    count, count_std = _count(rel, enc)
    std = 0.0 if rel.sigma is None else rel.sigma
    if count <= MIN_COUNT_STDS * max(count_std, 1.0) or p_count <= 0:
        return None

    def move(noisy: np.ndarray, got: np.ndarray) -> np.ndarray:
        r, h = noisy / count, got / p_count
        s2 = (std / count) ** 2 + (count_std / count) ** 2 * r ** 2 + h * (1 - h) / pilot
        return _shrunk(r, h, s2)

    ent_t = []
    for noisy, got in zip(ent, p_ent):
        t = np.clip(move(noisy, got), 0.0, None)
        ent_t.append(t / t.sum() if t.sum() > 0 else got / p_count)
    pres_t = [np.clip(move(noisy, got), 0.0, 1.0) for noisy, got in zip(pres, p_pres)]
    return ent_t, pres_t


def _rate(p: np.ndarray) -> np.ndarray:
    return -np.log1p(-np.clip(p, 0.0, 0.995)) + 1e-4


def _set(net, ent_shift: list[np.ndarray], col_shift: dict[int, np.ndarray]) -> None:
    net.entity_shift = [torch.as_tensor(s, dtype=torch.float32) for s in ent_shift]
    net.column_shift = {j: torch.as_tensor(s, dtype=torch.float32) for j, s in col_shift.items()}


def _error(ent_t, pres_t, have: np.ndarray, enc: SequenceEncoding) -> float:
    n, ent, pres = split(have, enc)
    errs = [0.5 * float(np.abs(e / max(n, 1.0) - t).sum()) for e, t in zip(ent, ent_t)]
    errs += [float(np.abs(p / max(n, 1.0) - t).max()) for p, t in zip(pres, pres_t) if len(t)]
    return max(errs, default=0.0)


def calibrate(net, enc: SequenceEncoding, rel: MarginRelease, lengths: LengthModel | None,
              rng: np.random.Generator) -> dict[str, float]:
    """Fit ``net.entity_shift`` and ``net.column_shift`` to the release (module docstring).
    Returns the pilots' worst cell error (TVD for entity columns, absolute share difference
    for presence) to the targets before and after (public: from released values)."""
    from synthscape.generators.dp_sequence._sampling import draw_entities, draw_events

    cols = calibrated_columns(enc)
    ent_shift = [np.zeros(f.size) for f in enc.entity_fields]
    col_shift = {j: np.zeros(enc.column_fields[j].size) for j in cols}

    def pilot() -> np.ndarray:
        _set(net, ent_shift, col_shift)
        ents = draw_entities(net, PILOT, rng)
        sizes, columns, _ = draw_events(net, enc, ents, rng, lengths)
        return statistic(ents, sizes, columns, enc)

    have = pilot()
    goal = _targets(rel, have, PILOT, enc)
    if goal is None:
        del net.entity_shift, net.column_shift
        return {"pilot_error_before": float("nan"), "pilot_error_after": float("nan")}
    ent_t, pres_t = goal
    tried = [(_error(ent_t, pres_t, have, enc), [s.copy() for s in ent_shift],
              {j: s.copy() for j, s in col_shift.items()})]
    for _ in range(ROUNDS):
        n, ent, pres = split(have, enc)
        for f, s, got, t in zip(enc.entity_fields, ent_shift, ent, ent_t):
            s += DAMPING * np.log((t + 1e-4) / (got / n + 1e-4))[groups(f)]
            np.clip(s - s.mean(), -MAX_SHIFT, MAX_SHIFT, out=s)
        for j, got, t in zip(cols, pres, pres_t):
            col_shift[j] += DAMPING * np.log(_rate(t) / _rate(got / n))
            np.clip(col_shift[j] - col_shift[j].mean(), -MAX_SHIFT, MAX_SHIFT, out=col_shift[j])
        have = pilot()
        tried.append((_error(ent_t, pres_t, have, enc), [s.copy() for s in ent_shift],
                      {j: s.copy() for j, s in col_shift.items()}))
    err, best_e, best_c = min(tried, key=lambda t: t[0])
    _set(net, best_e, best_c)
    return {"pilot_error_before": tried[0][0], "pilot_error_after": err}


# ---- the shifts on a saved model ------------------------------------------------------------
def shift_arrays(net) -> dict[str, np.ndarray]:
    out = {}
    for j, s in enumerate(getattr(net, "entity_shift", None) or []):
        out[f"entity_shift_{j}"] = s.numpy()
    for j, s in (getattr(net, "column_shift", None) or {}).items():
        out[f"column_shift_{j}"] = s.numpy()
    return out


def load_shifts(net, arrays: dict[str, np.ndarray], enc: SequenceEncoding) -> None:
    """Set the shifts saved by :func:`shift_arrays`; raises ValueError on a bad shape."""
    ent = [arrays.get(f"entity_shift_{j}") for j in range(len(enc.entity_fields))]
    col = {j: arrays[f"column_shift_{j}"] for j in calibrated_columns(enc)
           if f"column_shift_{j}" in arrays}
    if all(s is None for s in ent) and not col:
        return
    for j, s in enumerate(ent):
        if s is None or s.shape != (enc.entity_fields[j].size,) or not np.isfinite(s).all():
            raise ValueError(f"entity_shift_{j} must hold one finite value per class of "
                             f"entity field {enc.entity_fields[j].name!r}")
    for j, s in col.items():
        if s.shape != (enc.column_fields[j].size,) or not np.isfinite(s).all():
            raise ValueError(f"column_shift_{j} must hold one finite value per class of event "
                             f"column {enc.column_fields[j].name!r}")
    _set(net, [np.asarray(s) for s in ent], col)

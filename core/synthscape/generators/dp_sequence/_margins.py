"""The entity columns' one-way marginals and the presence of event values: a DP release at fit,
and logit shifts that pull the sampler onto it (post-processing).

Why: a short DP-SGD run learns the entity heads and the event columns' frequencies poorly:
the frequency of one value is a small signal against the clipping noise of a step. On the
NAFLD cohort at epsilon 1 (4,000 training patients) the sampled birth years spread almost
evenly over the declared 1900-1995 (real: mostly 1930-1975); 94% of the first events fell in
the range's first 22 years (1955-1977; real: 0.2%), where the gap head's data-independent prior
and offset put them (even with birth years calibrated, 42% of patients then had their first
event before birth, and 17% of sampled events were dropped as before birth); the death flag
came out at 12-13% against 8.6%; a code held by 20% of the patients was drawn for 3%.

- **fit** (:func:`release`): each training entity contributes an entity part ``(1, one-hot
  of every entity field, one-hot of the day-offset class of its first event)`` (a numerical
  entity field is one-hot over ``GROUPS`` runs of adjacent bins: fewer, fuller cells; an
  entity without events has no day offset) and a presence part (1 for every class of every
  categorical or boolean event column that at least one of its kept, at most L, events
  holds). The parts hold at most ``e = 2 + F`` and ``p = sum_c min(classes_c, L)`` ones; scaled
  by ``sqrt(0.5 / e)`` and ``sqrt(0.5 / p)`` the vector has L2 norm at most 1, and the sum over
  entities is released with the Gaussian mechanism at sensitivity 1 from ``share`` of the
  budget left (one ledger entry; the same as two releases splitting the share, so the few
  cells of the entity part are not drowned by the many of the presence part). The entity
  count is the first cell pooled with every entity field's total (each also sums to it);
  each other cell divided by it is a noisy share.
- **calibration** (:func:`calibrate`, still at fit, post-processing of the released model and
  the released sums): the sampler adds a shift to each entity head's logits, to the gap
  head's logits at the first event and to each calibrated event column's head
  (``net.entity_shift``, ``net.start_shift``, ``net.column_shift``). A first pilot
  sample without shifts gives the model's own shares; each column's targets move from the
  model's shares toward the released ones by the empirical-Bayes weight ``tau^2 / (tau^2 +
  s^2)`` (``s``: the release's noise std with the pilot's sampling std, in share units;
  ``tau^2``: the model's error variance over the column's cells, estimated as the mean of
  ``d^2 - s^2``), so a column the model already fits keeps its shares and noise does not set
  the margins of rare values or of small data, while a column the model misses (birth years
  spread evenly over the bounds, first events at the range's start) takes the release's.
  Distributions (entity fields, the first day offset) are projected onto the simplex first
  (least squares: noise on empty cells goes to 0).
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

from synthscape.generators._marginal import project_simplex
from synthscape.generators.dp_sequence._encoding import SequenceEncoding
from synthscape.generators.dp_sequence._lengths import LengthModel
from synthscape.generators.dp_sequence._shifts import Shifts
from synthscape.privacy import PrivacyLedger
from synthscape.privacy.mechanisms import gaussian_mechanism

LABEL = "entity margins"
PILOT = 2000  # entities per pilot sample
ROUNDS = 6
DAMPING = 0.8
MAX_SHIFT = 4.0  # nats
# the first event's day offset: the gap head's data-independent prior (-log(1 + days)) and its
# offset around the mean gap both pull a first event toward the range's start, by up to about
# 15 nats for a cohort whose histories begin decades after it
MAX_START_SHIFT = 30.0
MIN_COUNT_STDS = 10.0  # a noisy entity count under this many stds: nothing is calibrated
GROUPS = 8  # a numerical entity field's bins are released in this many runs of bins
ENTITY_PART = 0.5  # of the squared norm: the count, entity fields and first day offset


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


def part_sizes(enc: SequenceEncoding, mode: str = "shares") -> tuple[int, int]:
    """The most ones one entity puts in the entity part of the vector (its count cell, one
    cell per entity field, one for its first event's day offset) and in the presence part
    (one per value present, at most ``min(classes, L)`` per event column)."""
    if mode == "presence":
        L = enc.schema.max_events
        return 2 + len(enc.entity_fields), sum(min(enc.column_fields[j].size, L)
                                               for j in calibrated_columns(enc))
    return 2 + len(enc.entity_fields), len(calibrated_columns(enc))


def weights(enc: SequenceEncoding, mode: str = "shares") -> tuple[float, float]:
    """Scales of the entity part and of the presence part such that one entity's scaled
    vector has L2 norm at most 1, each part holding ``ENTITY_PART`` and the rest of the
    squared norm (the same as two releases splitting the share: the entity part's few cells
    are not drowned by the presence part's many)."""
    e, p = part_sizes(enc, mode)
    if p == 0:
        return 1.0 / math.sqrt(e), 0.0
    return math.sqrt(ENTITY_PART / e), math.sqrt((1 - ENTITY_PART) / p)


def sensitivity(enc: SequenceEncoding, mode: str = "shares") -> float:
    """L2 sensitivity of the unscaled sums (the bound of one entity's vector)."""
    e, p = part_sizes(enc, mode)
    return math.sqrt(e + p)


def _first_day(enc: SequenceEncoding) -> int:
    return 1 + enc.n_short  # the gap class of day offset 0: a first event is a day offset


def _days(enc: SequenceEncoding) -> int:
    return enc.gap_size - _first_day(enc)


def first_gaps(lengths: np.ndarray, times: np.ndarray, enc: SequenceEncoding) -> np.ndarray:
    """(n,): the gap class of each entity's first event (its day offset from the range's
    start), -1 for an entity without events; ``times``: (n, L) sampled event times."""
    out = np.full(len(lengths), -1, np.int64)
    has = np.asarray(lengths) > 0
    if has.any():
        out[has] = enc.encode_times(times[has, 0], np.ones(int(has.sum()), bool))[0]
    return out


def statistic(entity_codes: np.ndarray, lengths: np.ndarray, columns: np.ndarray,
              starts: np.ndarray, enc: SequenceEncoding, mode: str = "shares") -> np.ndarray:
    """The sum over entities of the released vector (see the module docstring): the entity
    count, then per entity field its class counts, then the gap classes of the first events
    (``starts``: one per entity, -1 without events), then per calibrated event column the
    number of entities with each class. ``columns``: (n, L, k) event column codes."""
    n = len(lengths)
    parts = [np.array([float(n)])]
    for j, f in enumerate(enc.entity_fields):
        g = groups(f)[np.clip(entity_codes[:, j].astype(np.int64), 0, f.size - 1)]
        parts.append(np.bincount(g, minlength=_cells(f)).astype(float))
    day = np.asarray(starts, np.int64) - _first_day(enc)  # day-offset classes only
    parts.append(np.bincount(day[day >= 0], minlength=_days(enc)).astype(float)[:_days(enc)])
    live = np.arange(columns.shape[1])[None, :] < np.asarray(lengths)[:, None] \
        if columns.ndim == 3 else np.zeros((n, 0), bool)
    rows = np.nonzero(live)[0]
    for j in calibrated_columns(enc):
        size = enc.column_fields[j].size
        cell = np.zeros((n, size))
        if rows.size and mode == "presence":  # 1 where at least one event holds the value
            cell[rows, columns[live][:, j].astype(np.int64)] = 1.0
        elif rows.size:  # each entity's own shares of its events (L1 norm 1)
            np.add.at(cell, (rows, columns[live][:, j].astype(np.int64)),
                      1.0 / np.asarray(lengths, float)[rows])
        parts.append(cell.sum(axis=0))
    return np.concatenate(parts)


def split(vector: np.ndarray, enc: SequenceEncoding
          ) -> tuple[float, list[np.ndarray], np.ndarray, list[np.ndarray]]:
    """(count, per entity field counts, first-event gap class counts, per calibrated column
    presence counts)."""
    sizes_e = [_cells(f) for f in enc.entity_fields]
    sizes_c = [enc.column_fields[j].size for j in calibrated_columns(enc)]
    cuts = np.cumsum([1, *sizes_e, _days(enc), *sizes_c])[:-1]
    parts = np.split(np.asarray(vector, float), cuts)
    m = len(sizes_e)
    return float(parts[0][0]), parts[1:1 + m], parts[1 + m], parts[2 + m:]


@dataclass
class MarginRelease:
    """The released sums (``vector``, noisy) and the noise std of a cell of the entity part
    and of the presence part (``None``: exact)."""

    vector: np.ndarray
    std: tuple[float, float] | None
    mode: str = "shares"  # the event part: each entity's event shares, or value presence

    def entity_std(self) -> float:
        return 0.0 if self.std is None else self.std[0]

    def presence_std(self) -> float:
        return 0.0 if self.std is None else self.std[1]


def release(entity_codes: np.ndarray, lengths: np.ndarray, events: np.ndarray,
            enc: SequenceEncoding, *, ledger: PrivacyLedger, share: float,
            mode: str = "shares") -> MarginRelease:
    """The (DP when the ledger has a budget) sums of the training entities' vectors.
    ``events``: the training records' event codes (gap, time of day, the k columns, then
    inputs that are not predicted)."""
    k = len(enc.column_fields)
    starts = np.where(np.asarray(lengths) > 0, events[:, 0, 0], -1) if events.shape[1] else \
        np.full(len(lengths), -1)
    exact = statistic(entity_codes, lengths, events[:, :, 2:2 + k], starts, enc, mode)
    if ledger.budget is None:
        return MarginRelease(exact, None, mode)
    a, b = weights(enc, mode)
    n_ent = len(exact) - sum(len(p) for p in split(exact, enc)[3])
    scale = np.r_[np.full(n_ent, a), np.full(len(exact) - n_ent, b)]
    sigma = 1.0 / math.sqrt(2.0 * ledger.remaining_rho(share))
    L = enc.schema.max_events
    what = "entities with each value" if mode == "presence" else "each entity's event shares"
    noisy = gaussian_mechanism(
        exact * scale, noise_multiplier=sigma, sensitivity=1.0, ledger=ledger,
        label=f"{LABEL}: entity count, one-way counts of {len(enc.entity_fields)} entity "
              f"columns, day offset of the first event (scaled by {a:.3g}), {what} of "
              f"{len(calibrated_columns(enc))} event columns (first {L} events; scaled by "
              f"{b:.3g}), Gaussian, L2 sensitivity 1 after scaling")
    vec = np.asarray(noisy, float).reshape(exact.shape) / scale
    return MarginRelease(vec, (sigma / a, sigma / b if b > 0 else 0.0), mode)


def _count(rel: MarginRelease, enc: SequenceEncoding) -> tuple[float, float]:
    """The entity count and its noise std: the count cell pooled, by inverse variance, with
    each entity field's cell total (each also sums to the count; a total over c cells has
    c times a cell's noise variance)."""
    count, ent, _, _ = split(rel.vector, enc)
    std = rel.entity_std()
    if std == 0.0:
        return count, 0.0
    est, prec = [count], [1.0]
    for cells in ent:
        est.append(float(cells.sum()))
        prec.append(1.0 / len(cells))
    n = float(np.dot(est, prec) / np.sum(prec))
    return n, std / math.sqrt(float(np.sum(prec)))


def shrink(noisy: np.ndarray, got: np.ndarray, s2: np.ndarray) -> np.ndarray:
    """``got`` (the model's shares) moved toward ``noisy`` (released, noise variance ``s2``
    per cell) by the empirical-Bayes weight ``tau^2 v / (tau^2 v + s2)``: the model's own error
    variance is taken to scale with ``v = got (1 - got)`` (as a share's sampling variance does)
    and ``tau^2`` is estimated from the cells, ``max(0, sum(d^2 - s2) / sum(v))``. A column the
    model already fits keeps the model's shares, one it misses takes the release's, and a rare
    value (small ``v``) moves only as far as the release can tell it apart from noise: a
    release whose noise exceeds a rare value's share would otherwise set it near 0, and the
    sampler would stop drawing it (conditions on it then fail)."""
    d = noisy - got
    v = np.clip(got * (1 - got), 1e-6, None)
    tau2 = max(0.0, float(np.sum(d ** 2 - s2)) / float(np.sum(v)))
    return got + tau2 * v / (tau2 * v + s2 + 1e-300) * d


def _targets(rel: MarginRelease, have: np.ndarray, enc: SequenceEncoding
             ) -> tuple[list[np.ndarray], np.ndarray | None, list[np.ndarray]] | None:
    """Shares to aim at: the model's (``have``, a pilot's statistic) moved toward the release
    (:func:`shrink`); ``None`` when the release is too noisy to read."""
    _, ent, start, pres = split(rel.vector, enc)
    p_count, p_ent, p_start, p_pres = split(have, enc)
    count, count_std = _count(rel, enc)
    if count <= MIN_COUNT_STDS * max(count_std, 1.0) or p_count <= 0:
        return None

    def move(noisy: np.ndarray, got: np.ndarray, total: float, total_std: float,
             p_total: float, std: float) -> np.ndarray:
        r, h = noisy / total, got / max(p_total, 1.0)
        s2 = (std / total) ** 2 + (total_std / total) ** 2 * r ** 2 + \
            h * (1 - h) / max(p_total, 1.0)
        return shrink(r, h, s2)

    def distribution(noisy, got, total, total_std, p_total, std) -> np.ndarray:
        # projected onto the simplex first (least squares: noise on empty cells goes to 0)
        t = np.clip(move(project_simplex(noisy, max(total, 1.0)), got, total, total_std,
                         p_total, std), 0.0, None)
        return t / t.sum() if t.sum() > 0 else got / max(got.sum(), 1.0)

    std = rel.entity_std()
    ent_t = [distribution(noisy, got, count, count_std, p_count, std)
             for noisy, got in zip(ent, p_ent)]
    # the entities with events: the start cells' total (each has one day offset)
    started, started_std, p_started = float(start.sum()), std * math.sqrt(len(start)), \
        float(p_start.sum())
    if rel.mode == "presence":  # shares of all entities, each cell on its own
        event_t = [np.clip(move(noisy, got, count, count_std, p_count, rel.presence_std()),
                           0.0, 1.0) for noisy, got in zip(pres, p_pres)]
    if started <= MIN_COUNT_STDS * max(std, rel.presence_std(), 1.0) or p_started <= 0:
        return ent_t, None, event_t if rel.mode == "presence" else \
            [got / max(got.sum(), 1.0) for got in p_pres]
    start_t = distribution(start, p_start, started, started_std, p_started, std)
    if rel.mode != "presence":  # event shares: a distribution over the entities with events
        event_t = [distribution(noisy, got, started, started_std, p_started,
                                rel.presence_std()) for noisy, got in zip(pres, p_pres)]
    return ent_t, start_t, event_t


def _rate(p: np.ndarray) -> np.ndarray:
    """The per-event rate behind a presence share (``-log(1 - p)``): common values move as
    much as rare ones."""
    return -np.log1p(-np.clip(p, 0.0, 0.995)) + 1e-4


def _error(goal, have: np.ndarray, enc: SequenceEncoding, mode: str) -> float:
    ent_t, start_t, pres_t = goal
    n, ent, start, pres = split(have, enc)
    errs = [0.5 * float(np.abs(e / max(n, 1.0) - t).sum()) for e, t in zip(ent, ent_t)]
    if start_t is not None:
        errs.append(0.5 * float(np.abs(start / max(start.sum(), 1.0) - start_t).sum()))
    if mode == "presence":
        errs += [float(np.abs(p / max(n, 1.0) - t).max(initial=0.0))
                 for p, t in zip(pres, pres_t)]
    else:
        errs += [0.5 * float(np.abs(p / max(p.sum(), 1.0) - t).sum())
                 for p, t in zip(pres, pres_t)]
    return max(errs, default=0.0)


def _step(s: np.ndarray, ratio: np.ndarray, bound: float = MAX_SHIFT) -> None:
    s += DAMPING * np.log(ratio)
    np.clip(s - s.mean(), -bound, bound, out=s)


def calibrate(net, enc: SequenceEncoding, rel: MarginRelease, lengths: LengthModel | None,
              rng: np.random.Generator) -> dict[str, float]:
    """Fit ``net.entity_shift``, ``net.start_shift`` and ``net.column_shift`` to the release
    (module docstring). Returns the pilots' worst error to the targets (TVD for entity columns
    and the first event's day offset, absolute share difference for presence) before and after
    (public: from released values)."""
    from synthscape.generators.dp_sequence._sampling import draw_entities, draw_events

    cols = calibrated_columns(enc)
    shifts = Shifts([np.zeros(f.size) for f in enc.entity_fields], np.zeros(enc.gap_size),
                    {j: np.zeros(enc.column_fields[j].size) for j in cols})

    def pilot() -> np.ndarray:
        shifts.apply(net)
        ents = draw_entities(net, PILOT, rng)
        sizes, columns, times = draw_events(net, enc, ents, rng, lengths)
        return statistic(ents, sizes, columns, first_gaps(sizes, times, enc), enc, rel.mode)

    have = pilot()
    goal = _targets(rel, have, enc)
    if goal is None:
        del net.entity_shift, net.start_shift, net.column_shift
        return {"pilot_error_before": float("nan"), "pilot_error_after": float("nan")}
    ent_t, start_t, pres_t = goal
    tried = [(_error(goal, have, enc, rel.mode), shifts.copy())]
    for _ in range(ROUNDS):
        n, ent, start, pres = split(have, enc)
        for f, s, got, t in zip(enc.entity_fields, shifts.entity, ent, ent_t):
            _step(s, ((t + 1e-4) / (got / n + 1e-4))[groups(f)])
        if start_t is not None:
            day = shifts.start[_first_day(enc):]  # a view: the other classes stay 0
            _step(day, (start_t + 1e-4) / (start / max(start.sum(), 1.0) + 1e-4),
                  MAX_START_SHIFT)
        for j, got, t in zip(cols, pres, pres_t):
            _step(shifts.column[j], _rate(t) / _rate(got / n) if rel.mode == "presence" else
                  (t + 1e-4) / (got / max(got.sum(), 1.0) + 1e-4))
        have = pilot()
        tried.append((_error(goal, have, enc, rel.mode), shifts.copy()))
    err, best = min(tried, key=lambda t: t[0])
    best.apply(net)
    return {"pilot_error_before": tried[0][0], "pilot_error_after": err}

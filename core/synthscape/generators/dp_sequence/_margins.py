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
  ``tau^2``: the model's error variance over the column's cells, a weighted moment estimate,
  ``_shrink.py``), so a column the model already fits keeps its shares and noise does not set
  the margins of rare values or of small data, while a column the model misses (birth years
  spread evenly over the bounds, first events at the range's start) takes the release's.
  Distributions (entity fields, the first day offset) are projected onto the simplex first
  (least squares: noise on empty cells goes to 0).
  A few pilots then fit the shifts by iterative proportional fitting (entity fields:
  ``log(target / produced)``; presence: the log ratio of ``-log(1 - p)``, the rate behind a
  presence share, so that common values move as much as rare ones); the shifts of the best
  pilot are kept.

**Groups** (``by``, the generator's ``margin_by``): every entity field drawn after field
``by``, and with ``group_events`` the event part, are released per group of ``by`` (its
values, or its runs of bins for a numerical field, e.g. birth years), and their shifts get a
row per group. Each entity adds to its own group's cells only, so a grouped block adds no
more to an entity's norm than the pooled one; summed over G groups, though, a pooled share
carries sqrt(G) times a cell's noise, so each crossed entity field is also released pooled
(one more cell per field in the entity part: ``part_sizes``) and its group targets are raked
to the pooled target (:func:`rake`). The shrinkage weighs each cell by what it can tell. Why: a
short DP-SGD run also hardly learns what the entity columns imply for the events; on NAFLD at
epsilon 1, 20- and 80-year-olds had the same death share (9%) and the same number of events.

A shift changes the sampler's distribution, so conditions (rejection over sampled entities) and
every later draw follow the calibrated model. Numerical event columns are not calibrated here
(their classes are bins; presence of a bin means little).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from synthscape.generators.dp_sequence._encoding import GROUPS as GROUPS
from synthscape.generators.dp_sequence._encoding import SequenceEncoding
from synthscape.generators.dp_sequence._encoding import field_cells as _cells
from synthscape.generators.dp_sequence._encoding import field_groups as groups
from synthscape.generators.dp_sequence._lengths import LengthModel
from synthscape.generators.dp_sequence._shifts import Shifts
from synthscape.generators.dp_sequence._shrink import distribution, move, own_shares, trend
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
ENTITY_PART = 0.5  # of the squared norm: the count, entity fields and first day offset


def n_groups(enc: SequenceEncoding, by: int | None) -> int:
    """Groups of the event part: the cells of entity field ``by`` (one group without it)."""
    return 1 if by is None else _cells(enc.entity_fields[by])


def crossed(j: int, by: int | None) -> bool:
    """Whether entity field ``j`` is released per group of field ``by``: the fields drawn
    after it (the sampler knows an entity's group when it draws them)."""
    return by is not None and j > by


def entity_groups(enc: SequenceEncoding, by: int | None, entity_codes: np.ndarray
                  ) -> np.ndarray:
    """(n,): the group of each entity (its cell of entity field ``by``; 0 without it)."""
    if by is None:
        return np.zeros(len(entity_codes), np.int64)
    f = enc.entity_fields[by]
    return groups(f)[np.clip(np.asarray(entity_codes)[:, by].astype(np.int64), 0, f.size - 1)]


def calibrated_columns(enc: SequenceEncoding) -> list[int]:
    """Indices of the event column fields whose presence is released: categorical, boolean."""
    return [j for j, f in enumerate(enc.column_fields) if f.kind in ("categorical", "boolean")]


def n_crossed(enc: SequenceEncoding, by: int | None) -> int:
    """The entity fields released per group of field ``by`` (each also released pooled)."""
    return sum(crossed(j, by) for j in range(len(enc.entity_fields)))


def part_sizes(enc: SequenceEncoding, mode: str = "shares", by: int | None = None
               ) -> tuple[int, int]:
    """The most ones one entity puts in the entity part of the vector (its count cell, one
    cell per entity field, one more per field crossed with ``by``, one for its first event's
    day offset) and in the presence part (one per value present, at most ``min(classes, L)``
    per event column)."""
    e = 2 + len(enc.entity_fields) + n_crossed(enc, by)
    if mode == "presence":
        L = enc.schema.max_events
        return e, sum(min(enc.column_fields[j].size, L) for j in calibrated_columns(enc))
    return e, len(calibrated_columns(enc))


def weights(enc: SequenceEncoding, mode: str = "shares", by: int | None = None
            ) -> tuple[float, float]:
    """Scales of the entity part and of the presence part such that one entity's scaled
    vector has L2 norm at most 1, each part holding ``ENTITY_PART`` and the rest of the
    squared norm (the same as two releases splitting the share: the entity part's few cells
    are not drowned by the presence part's many)."""
    e, p = part_sizes(enc, mode, by)
    if p == 0:
        return 1.0 / math.sqrt(e), 0.0
    return math.sqrt(ENTITY_PART / e), math.sqrt((1 - ENTITY_PART) / p)


def sensitivity(enc: SequenceEncoding, mode: str = "shares", by: int | None = None) -> float:
    """L2 sensitivity of the unscaled sums (the bound of one entity's vector)."""
    e, p = part_sizes(enc, mode, by)
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
              starts: np.ndarray, enc: SequenceEncoding, mode: str = "shares",
              by: int | None = None, group_events: bool = False) -> np.ndarray:
    """The sum over entities of the released vector (see the module docstring): the entity
    count, then per entity field its class counts, then the gap classes of the first events
    (``starts``: one per entity, -1 without events), then per calibrated event column and
    group of entity field ``by`` (with ``group_events``; one group otherwise) the entities'
    presence or shares of each class. ``columns``: (n, L, k) event column codes."""
    n = len(lengths)
    parts = [np.array([float(n)])]
    grp, n_g = entity_groups(enc, by, entity_codes), n_groups(enc, by)
    for j, f in enumerate(enc.entity_fields):
        g = groups(f)[np.clip(entity_codes[:, j].astype(np.int64), 0, f.size - 1)]
        if crossed(j, by):  # drawn after field ``by``: one block per group
            block = np.zeros((n_g, _cells(f)))
            np.add.at(block, (grp, g), 1.0)
            parts.append(block.ravel())
        else:
            parts.append(np.bincount(g, minlength=_cells(f)).astype(float))
    for j, f in enumerate(enc.entity_fields):  # the crossed fields pooled too
        if crossed(j, by):
            g = groups(f)[np.clip(entity_codes[:, j].astype(np.int64), 0, f.size - 1)]
            parts.append(np.bincount(g, minlength=_cells(f)).astype(float))
    day = np.asarray(starts, np.int64) - _first_day(enc)  # day-offset classes only
    parts.append(np.bincount(day[day >= 0], minlength=_days(enc)).astype(float)[:_days(enc)])
    live = np.arange(columns.shape[1])[None, :] < np.asarray(lengths)[:, None] \
        if columns.ndim == 3 else np.zeros((n, 0), bool)
    rows = np.nonzero(live)[0]
    if not group_events:
        grp, n_g = np.zeros(n, np.int64), 1
    for j in calibrated_columns(enc):
        size = enc.column_fields[j].size
        cell = np.zeros((n, size))
        if rows.size and mode == "presence":  # 1 where at least one event holds the value
            cell[rows, columns[live][:, j].astype(np.int64)] = 1.0
        elif rows.size:  # each entity's own shares of its events (L1 norm 1)
            np.add.at(cell, (rows, columns[live][:, j].astype(np.int64)),
                      1.0 / np.asarray(lengths, float)[rows])
        if n_g == 1:
            parts.append(cell.sum(axis=0))
        else:
            block = np.zeros((n_g, size))
            np.add.at(block, grp, cell)
            parts.append(block.ravel())
    return np.concatenate(parts)


def split(vector: np.ndarray, enc: SequenceEncoding, by: int | None = None,
          group_events: bool = False
          ) -> tuple[float, list[np.ndarray], np.ndarray, list[np.ndarray]]:
    """(count, per entity field its cell counts ((groups, cells) for a field crossed with
    ``by``; then the crossed fields' pooled counts), first-event gap class counts, per
    calibrated column its (groups, classes) presence counts or share sums)."""
    n_g = n_groups(enc, by)
    fields = list(enc.entity_fields)
    sizes_e = [_cells(f) for f in fields] + \
        [_cells(f) for j, f in enumerate(fields) if crossed(j, by)]
    pooled_c = len(sizes_e) - len(fields)
    rows_e = [n_g if crossed(j, by) else 1 for j in range(len(fields))] + [1] * pooled_c
    sizes_c = [enc.column_fields[j].size for j in calibrated_columns(enc)]
    rows_c = n_g if group_events else 1
    cuts = np.cumsum([1, *[r * c for r, c in zip(rows_e, sizes_e)], _days(enc),
                      *[rows_c * c for c in sizes_c]])[:-1]
    parts = np.split(np.asarray(vector, float), cuts)
    m = len(sizes_e)
    ent = [p.reshape(n_g, c) if j < len(fields) and crossed(j, by) else p
           for j, (p, c) in enumerate(zip(parts[1:1 + m], sizes_e))]
    return (float(parts[0][0]), ent, parts[1 + m],
            [p.reshape(-1, c) for p, c in zip(parts[2 + m:], sizes_c)])


@dataclass
class MarginRelease:
    """The released sums (``vector``, noisy) and the noise std of a cell of the entity part
    and of the event part (``None``: exact); ``by``: the entity field whose groups split the
    entity fields drawn after it, and the event part with ``group_events`` (``None``: no
    groups)."""

    vector: np.ndarray
    std: tuple[float, float] | None
    mode: str = "shares"  # the event part: each entity's event shares, or value presence
    by: int | None = None
    group_events: bool = False  # the event part per group of ``by`` too

    def parts(self, vector: np.ndarray, enc: SequenceEncoding):
        """:func:`split` of ``vector`` (the release's or a pilot's) in this release's layout."""
        return split(vector, enc, self.by, self.group_events)

    def event_by(self) -> int | None:
        """The entity field whose groups split the event part (``None``: pooled)."""
        return self.by if self.group_events else None

    def entity_std(self) -> float:
        return 0.0 if self.std is None else self.std[0]

    def presence_std(self) -> float:
        return 0.0 if self.std is None else self.std[1]


def release(entity_codes: np.ndarray, lengths: np.ndarray, events: np.ndarray,
            enc: SequenceEncoding, *, ledger: PrivacyLedger, share: float,
            mode: str = "shares", by: int | None = None,
            group_events: bool = False) -> MarginRelease:
    """The (DP when the ledger has a budget) sums of the training entities' vectors.
    ``events``: the training records' event codes (gap, time of day, the k columns, then
    inputs that are not predicted); ``by``: the entity field whose groups split the entity
    fields drawn after it and, with ``group_events``, the event part (each entity adds to its
    own group's cells only: the sensitivity does not grow; a pooled sum then carries the noise
    of all its groups' cells)."""
    k = len(enc.column_fields)
    starts = np.where(np.asarray(lengths) > 0, events[:, 0, 0], -1) if events.shape[1] else \
        np.full(len(lengths), -1)
    exact = statistic(entity_codes, lengths, events[:, :, 2:2 + k], starts, enc, mode, by,
                      group_events)
    if ledger.budget is None:
        return MarginRelease(exact, None, mode, by, group_events)
    a, b = weights(enc, mode, by)
    n_ent = len(exact) - sum(p.size for p in split(exact, enc, by, group_events)[3])
    scale = np.r_[np.full(n_ent, a), np.full(len(exact) - n_ent, b)]
    sigma = 1.0 / math.sqrt(2.0 * ledger.remaining_rho(share))
    L = enc.schema.max_events
    what = "entities with each value" if mode == "presence" else "each entity's event shares"
    name = "" if by is None else repr(enc.entity_fields[by].name)
    per = f" per group of {name}" if group_events else ""
    crossed_by = "" if by is None else f" (those drawn after {name} per group of it)"
    noisy = gaussian_mechanism(
        exact * scale, noise_multiplier=sigma, sensitivity=1.0, ledger=ledger,
        label=f"{LABEL}: entity count, one-way counts of {len(enc.entity_fields)} entity "
              f"columns{crossed_by}, day offset of the first event (scaled by {a:.3g}), {what} of "
              f"{len(calibrated_columns(enc))} event columns{per} (first {L} events; scaled "
              f"by {b:.3g}), Gaussian, L2 sensitivity 1 after scaling")
    vec = np.asarray(noisy, float).reshape(exact.shape) / scale
    return MarginRelease(vec, (sigma / a, sigma / b if b > 0 else 0.0), mode, by, group_events)


def _count(rel: MarginRelease, enc: SequenceEncoding) -> tuple[float, float]:
    """The entity count and its noise std: the count cell pooled, by inverse variance, with
    each entity field's cell total (each also sums to the count; a total over c cells has
    c times a cell's noise variance)."""
    count, ent, _, _ = rel.parts(rel.vector, enc)
    std = rel.entity_std()
    if std == 0.0:
        return count, 0.0
    est, prec = [count], [1.0]
    for cells in ent:
        est.append(float(cells.sum()))
        prec.append(1.0 / cells.size)
    n = float(np.dot(est, prec) / np.sum(prec))
    return n, std / math.sqrt(float(np.sum(prec)))


def _targets(rel: MarginRelease, have: np.ndarray, enc: SequenceEncoding
             ) -> tuple[list[np.ndarray], np.ndarray | None, list[np.ndarray]] | None:
    """Shares to aim at: the model's (``have``, a pilot's statistic) moved toward the release
    (:func:`shrink`); ``None`` when the release is too noisy to read. The event targets are
    (groups, classes): presence shares of each group's entities, or each group's shares."""
    by, ev_by = rel.by, rel.event_by()
    _, ent, start, pres = rel.parts(rel.vector, enc)
    p_count, p_ent, p_start, p_pres = rel.parts(have, enc)
    count, count_std = _count(rel, enc)
    if count <= MIN_COUNT_STDS * max(count_std, 1.0) or p_count <= 0:
        return None
    std = rel.entity_std()
    ordered = _ordered_groups(enc, by)
    ent_t = [distribution(noisy, got, count, count_std, p_count, std)[0] if by is None or
             not crossed(j, by) or j >= len(enc.entity_fields) else
             distribution(noisy, trend(noisy, ent[by], std, got, p_ent[by], ordered),
                          ent[by][:, None], std, p_ent[by][:, None], std)
             for j, (noisy, got) in enumerate(zip(ent, p_ent))]
    if by is not None:  # each crossed field's groups raked to its pooled target
        pooled = iter(ent_t[len(enc.entity_fields):])
        weight = ent_t[by]  # the target share of each group of field ``by``
        for j in range(len(enc.entity_fields)):
            if crossed(j, by):
                ent_t[j] = rake(ent_t[j], next(pooled), weight)
    # the entities with events: the start cells' total (each has one day offset)
    started, started_std, p_started = float(start.sum()), std * math.sqrt(len(start)), \
        float(p_start.sum())
    if ev_by is None:  # the group totals: the entity count, or the entities with events
        g_tot, g_std, pg_tot = np.array([[count]]), count_std, np.array([[p_count]])
        s_tot, s_std, ps_tot = np.array([[started]]), started_std, np.array([[p_started]])
    else:  # the release's cells of field ``by`` (the entity part's noise)
        g_tot, g_std, pg_tot = ent[ev_by][:, None], std, p_ent[ev_by][:, None]
    if rel.mode == "presence":  # shares of all entities, each cell on its own
        event_t = [np.clip(move(noisy, got, g_tot, g_std, pg_tot, rel.presence_std()),
                           0.0, 1.0) for noisy, got in zip(pres, p_pres)]
    if started <= MIN_COUNT_STDS * max(std, rel.presence_std(), 1.0) or p_started <= 0:
        return ent_t, None, event_t if rel.mode == "presence" else \
            [own_shares(got) for got in p_pres]
    start_t = distribution(start, p_start, started, started_std, p_started, std)[0]
    if rel.mode != "presence":  # event shares: a distribution over the entities with events
        event_t = []
        for noisy, got in zip(pres, p_pres):
            if ev_by is not None:  # each group's entities with events: its cells' total
                s_tot, ps_tot = noisy.sum(axis=1, keepdims=True), got.sum(axis=1, keepdims=True)
                s_std = rel.presence_std() * math.sqrt(noisy.shape[1])
            event_t.append(distribution(noisy, got, s_tot, s_std, ps_tot,
                                         rel.presence_std()))
    return ent_t, start_t, event_t


def _ordered_groups(enc: SequenceEncoding, by: int | None) -> int:
    """How many groups of entity field ``by`` are ordered (runs of bins of a numerical or
    datetime column; its null group comes last and is not): the crossed fields' targets then
    start from a trend over them (:func:`trend`); 0 for a categorical field or none."""
    if by is None or enc.entity_fields[by].kind not in ("numerical", "datetime"):
        return 0
    f = enc.entity_fields[by]
    return _cells(f) - int(f.nullable)


def rake(rows: np.ndarray, pooled: np.ndarray, weight: np.ndarray,
         rounds: int = 20) -> np.ndarray:
    """(groups, cells) shares whose rows each sum to 1 and whose mix over the groups (by
    ``weight``) is ``pooled``: iterative proportional fitting from ``rows`` (cells that are 0
    in ``rows`` stay 0). The pooled counts are released beside the crossed ones: summed over G
    groups the crossed cells carry sqrt(G) times one cell's noise, the pooled cell one."""
    t = np.asarray(rows, float).copy()
    w = np.asarray(weight, float)[:, None] / max(float(np.sum(weight)), 1e-12)
    for _ in range(rounds):
        mix = (w * t).sum(axis=0)
        t = t * np.where(mix > 0, pooled / np.where(mix > 0, mix, 1.0), 1.0)
        t = t / np.maximum(t.sum(axis=1, keepdims=True), 1e-12)
    return t


def _rate(p: np.ndarray) -> np.ndarray:
    """The per-event rate behind a presence share (``-log(1 - p)``): common values move as
    much as rare ones."""
    return -np.log1p(-np.clip(p, 0.0, 0.995)) + 1e-4


def _group_sizes(have: np.ndarray, enc: SequenceEncoding, rel: MarginRelease,
                 by: int | None) -> np.ndarray:
    """(groups, 1): a pilot's entities per group of field ``by`` (``None``: all of them)."""
    n, ent, _, _ = rel.parts(have, enc)
    return np.array([[n]]) if by is None else ent[by][:, None]


def _error(goal, have: np.ndarray, enc: SequenceEncoding, rel: MarginRelease) -> float:
    """The pilot's worst error to the targets: TVD for entity fields and the first day
    offset; for event columns the largest presence difference (or TVD of shares) per group,
    averaged over the groups by their pilot sizes."""
    ent_t, start_t, pres_t = goal
    mode = rel.mode
    n, ent, start, pres = rel.parts(have, enc)
    size = _group_sizes(have, enc, rel, rel.by)[:, 0]
    w = size / max(float(size.sum()), 1.0)
    errs = [float(np.dot(w, 0.5 * np.abs(own_shares(e) - t).sum(axis=1))) if e.ndim == 2
            else 0.5 * float(np.abs(e / max(n, 1.0) - t).sum()) for e, t in zip(ent, ent_t)]
    if start_t is not None:
        errs.append(0.5 * float(np.abs(start / max(start.sum(), 1.0) - start_t).sum()))
    size = _group_sizes(have, enc, rel, rel.event_by())[:, 0]
    w = size / max(float(size.sum()), 1.0)
    for p, t in zip(pres, pres_t):
        if mode == "presence":
            per = np.abs(p / np.maximum(size[:, None], 1.0) - t).max(axis=1, initial=0.0)
        else:
            per = 0.5 * np.abs(own_shares(p) - t).sum(axis=1)
        errs.append(float(np.dot(w, per)))
    return max(errs, default=0.0)


def _step(s: np.ndarray, ratio: np.ndarray, bound: float = MAX_SHIFT) -> None:
    s += DAMPING * np.log(ratio)
    np.clip(s - s.mean(axis=-1, keepdims=True), -bound, bound, out=s)


def calibrate(net, enc: SequenceEncoding, rel: MarginRelease, lengths: LengthModel | None,
              rng: np.random.Generator) -> dict[str, float]:
    """Fit ``net.entity_shift``, ``net.start_shift`` and ``net.column_shift`` to the release
    (module docstring; a shift is (groups, classes) where the release is grouped).
    Returns the pilots' worst error to the targets (TVD for entity columns and the first
    event's day offset, absolute share difference for presence) before and after (public:
    from released values)."""
    from synthscape.generators.dp_sequence._sampling import draw_entities, draw_events

    cols, by, ev_by = calibrated_columns(enc), rel.by, rel.event_by()
    rows = () if ev_by is None else (n_groups(enc, ev_by),)
    shifts = Shifts([np.zeros((n_groups(enc, by), f.size) if crossed(j, by) else f.size)
                     for j, f in enumerate(enc.entity_fields)], np.zeros(enc.gap_size),
                    {j: np.zeros((*rows, enc.column_fields[j].size)) for j in cols},
                    None if by is None else (by, groups(enc.entity_fields[by])),
                    ev_by is not None)
    size = PILOT if by is None else 2 * PILOT

    def pilot() -> np.ndarray:
        shifts.apply(net)
        ents = draw_entities(net, size, rng)
        sizes, columns, times = draw_events(net, enc, ents, rng, lengths)
        return statistic(ents, sizes, columns, first_gaps(sizes, times, enc), enc, rel.mode,
                         by, rel.group_events)

    have = pilot()
    goal = _targets(rel, have, enc)
    if goal is None:
        del net.entity_shift, net.start_shift, net.column_shift
        net.entity_group = net.column_group = None
        return {"pilot_error_before": float("nan"), "pilot_error_after": float("nan")}
    ent_t, start_t, pres_t = goal
    tried = [(_error(goal, have, enc, rel), shifts.copy())]
    for _ in range(ROUNDS):
        n, ent, start, pres = rel.parts(have, enc)
        size_g = _group_sizes(have, enc, rel, by)
        for f, s, got, t in zip(enc.entity_fields, shifts.entity, ent, ent_t):
            if got.ndim == 2:  # per group; a group the pilot missed stays
                ratio = np.where(size_g > 0, (t + 1e-4) / (own_shares(got) + 1e-4), 1.0)
                _step(s, ratio[:, groups(f)])
            else:
                _step(s, ((t + 1e-4) / (got / n + 1e-4))[groups(f)])
        if start_t is not None:
            day = shifts.start[_first_day(enc):]  # a view: the other classes stay 0
            _step(day, (start_t + 1e-4) / (start / max(start.sum(), 1.0) + 1e-4),
                  MAX_START_SHIFT)
        size_g = _group_sizes(have, enc, rel, ev_by)
        for j, got, t in zip(cols, pres, pres_t):
            if rel.mode == "presence":
                ratio = _rate(t) / _rate(got / np.maximum(size_g, 1.0))
            else:
                ratio = (t + 1e-4) / (own_shares(got) + 1e-4)
            ratio = np.where(size_g > 0, ratio, 1.0)  # a group the pilot missed stays
            _step(shifts.column[j], ratio.reshape(shifts.column[j].shape))
        have = pilot()
        tried.append((_error(goal, have, enc, rel), shifts.copy()))
    err, best = min(tried, key=lambda t: t[0])
    best.apply(net)
    return {"pilot_error_before": tried[0][0], "pilot_error_after": err}

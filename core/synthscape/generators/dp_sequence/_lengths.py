"""The number of events of each entity: a DP histogram released at fit, drawn at sampling.

A short DP-SGD run learns the end-of-sequence head poorly (its sequences came out about half as
long as the real ones), so the length is released on its own and the network only fills it in:

- **fit**: the histogram of the training entities' lengths ``0..L`` (after the cut to the bound
  L) over fixed classes (one per length up to 16, then ranges growing by a quarter, and L alone:
  fewer noisy cells for a large L), optionally one histogram per group of one entity column
  (``length_by``: each value of a categorical or boolean column; a numerical or datetime
  column's bins in ``GROUPS`` runs, e.g. birth years in 8 runs, for histories whose length
  follows age). Each entity sits in exactly one cell of the (groups x
  classes) table, so adding or removing one entity changes one count by one: L2 sensitivity 1,
  whatever the number of groups. Gaussian mechanism from ``share`` of the budget left, through
  the fit's ledger; each noisy histogram is projected onto the simplex (least squares,
  non-negative). With groups, each group's distribution is shrunk towards the pooled one in
  proportion to how much of it is noise (weight ``n_g / (n_g + classes x sigma)`` from the
  noisy group size ``n_g``): post-processing.
- **sample**: each entity draws its target length from its group's distribution (a class, then
  a length uniformly within it); generation forbids the end of sequence before the target and
  stops at it (post-processing).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from synthscape.errors import ParameterError
from synthscape.generators._marginal import project_simplex
from synthscape.generators.dp_sequence._encoding import (
    SequenceEncoding,
    field_cells,
    field_groups,
)
from synthscape.privacy import PrivacyLedger
from synthscape.privacy.mechanisms import gaussian_mechanism

LABEL = "sequence lengths"
MAX_GROUPS = 16
SINGLE = 16  # lengths up to this one get a class each


def length_edges(max_events: int) -> np.ndarray:
    """Class edges over ``0..max_events``: class k holds lengths ``[e_k, e_k+1)``; fixed by L.
    The bound L has a class of its own (every history cut to L lands there)."""
    edges = list(range(min(SINGLE, max_events) + 1))
    while edges[-1] < max_events:
        edges.append(min(max(edges[-1] + 1, math.ceil(edges[-1] * 1.25)), max_events))
    return np.asarray([*edges, max_events + 1], dtype=np.int64)


@dataclass
class LengthModel:
    """``probs`` (groups, classes of :func:`length_edges` for ``max_events``): the distribution
    of lengths per group; ``by``: the index of the entity field that picks the group (``None``:
    one group); ``cells``: that field's class -> group (:func:`field_groups`; ``None``: the
    class itself)."""

    probs: np.ndarray
    max_events: int
    by: int | None = None
    cells: np.ndarray | None = None
    anchors: Any = None  # with a declared anchor: where in the length it falls (``_anchor.py``)
    followup: Any = None  # and how long the record runs after it (``_followup.py``)

    def draw(self, entity_codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One target length per entity (``entity_codes``: (n, m) entity field codes)."""
        n = len(entity_codes)
        group = (np.zeros(n, np.int64) if self.by is None
                 else entity_codes[:, self.by].astype(np.int64))
        if self.cells is not None and self.by is not None:
            group = np.asarray(self.cells, np.int64)[group]
        edges = length_edges(self.max_events)
        cdf = np.cumsum(self.probs, axis=1)
        cdf /= cdf[:, -1:]
        k = np.minimum((cdf[group] < rng.random(n)[:, None]).sum(axis=1),
                       self.probs.shape[1] - 1)
        lo, hi = edges[k], edges[k + 1]
        return (lo + np.floor(rng.random(n) * (hi - lo))).astype(np.int32)

    def to_array(self) -> np.ndarray:
        return np.asarray(self.probs, dtype=float)

    @classmethod
    def from_array(cls, probs: np.ndarray, by: int | None, max_events: int,
                   cells: np.ndarray | None = None) -> LengthModel:
        p = np.asarray(probs, dtype=float)
        k = len(length_edges(max_events)) - 1
        if p.ndim != 2 or p.shape[1] != k or not np.isfinite(p).all() or (p < 0).any() or \
                (p.sum(axis=1) <= 0).any():
            raise ValueError(f"the length distribution must be (groups, {k}) non-negative "
                             f"weights, got shape {p.shape}")
        if cells is not None and (len(cells) == 0 or int(np.max(cells)) != p.shape[0] - 1):
            raise ValueError(f"the length distribution has {p.shape[0]} groups; the grouping "
                             f"entity column has {int(np.max(cells)) + 1 if len(cells) else 0}")
        return cls(p, max_events, by, cells)


def group_field(enc: SequenceEncoding, by: str | None, param: str = "length_by"
                ) -> int | None:
    """The entity field index of a grouping parameter (``length_by``, ``margin_by``),
    checked."""
    if by is None:
        return None
    names = [f.name for f in enc.entity_fields]
    if by not in names:
        raise ParameterError(f"{param}={by!r} is not an entity column; entity columns: "
                             f"{names}")
    j = names.index(by)
    f = enc.entity_fields[j]
    if field_cells(f) > MAX_GROUPS:
        raise ParameterError(f"{param}={by!r} must be a categorical or boolean entity column "
                             f"with at most {MAX_GROUPS} values, or a numerical or datetime one "
                             f"({f.kind}, {f.size} classes); pick another column or "
                             f"{param}=None")
    return j


def release(lengths: np.ndarray, entity_codes: np.ndarray, enc: SequenceEncoding,
            by: str | None, *, ledger: PrivacyLedger, share: float) -> LengthModel:
    """The (DP, when the ledger has a budget) length distributions of the training entities."""
    L = enc.schema.max_events
    j = group_field(enc, by)
    hist = length_hist(lengths, entity_codes, enc, j)
    if ledger.budget is None:  # not private: the exact shares (the ledger says NOT PRIVATE)
        totals = hist.sum(axis=1, keepdims=True)
        pooled = hist.sum(axis=0) / max(hist.sum(), 1.0)
        probs = np.where(totals > 0, hist / np.maximum(totals, 1.0), pooled)
        return LengthModel(_floor(probs), L, j, _cells_of(enc, j))
    noisy, sigma = noisy_length_hist(hist, enc, by, ledger=ledger, share=share)
    return length_model(noisy, sigma, enc, j)


def length_hist(lengths: np.ndarray, entity_codes: np.ndarray, enc: SequenceEncoding,
                j: int | None) -> np.ndarray:
    """(groups, classes): the entities per length class (and group of entity field ``j``)."""
    L = enc.schema.max_events
    groups = 1 if j is None else field_cells(enc.entity_fields[j])
    g = np.zeros(len(lengths), np.int64) if j is None else \
        field_groups(enc.entity_fields[j])[entity_codes[:, j].astype(np.int64)]
    edges = length_edges(L)
    cls = np.searchsorted(edges, np.clip(lengths, 0, L), side="right") - 1
    hist = np.zeros((groups, len(edges) - 1))
    np.add.at(hist, (g, cls), 1.0)
    return hist


def noisy_length_hist(hist: np.ndarray, enc: SequenceEncoding, by: str | None, *,
                      ledger: PrivacyLedger, share: float) -> tuple[np.ndarray, float]:
    """The Gaussian release of :func:`length_hist` from ``share`` of the budget left, and its
    noise standard deviation."""
    L = enc.schema.max_events
    sigma = 1.0 / math.sqrt(2.0 * ledger.remaining_rho(share))
    cut = f"0..{L} after the cut to the first {L} events, {hist.shape[1]} classes"
    label = (f"{LABEL}: histogram of events per entity ({cut}" +
             ("" if by is None else f", one per value (or run of bins) of {by!r}") +
             "), Gaussian, L2 sensitivity 1 (one entity, one count)")
    noisy = gaussian_mechanism(hist, noise_multiplier=sigma, sensitivity=1.0, ledger=ledger,
                               label=label).reshape(hist.shape)
    return noisy, sigma


def length_model(noisy: np.ndarray, sigma: float, enc: SequenceEncoding,
                 j: int | None) -> LengthModel:
    """Post-processing of a noisy length histogram with noise sd ``sigma`` (a sum of K sites'
    releases is one release with sd ``sqrt(sum sigma_k^2)``)."""
    return LengthModel(_floor(shrunk_rows(noisy, sigma)), enc.schema.max_events, j,
                       _cells_of(enc, j))


def released_rows(hist: np.ndarray, *, ledger: PrivacyLedger, share: float,
                  label: str) -> np.ndarray:
    """Per row of a (groups, classes) histogram in which each entity is one count (L2
    sensitivity 1): its Gaussian release from ``share`` of the budget left (exact when the
    ledger has no budget), as distributions shrunk toward the pooled one (:func:`shrunk_rows`),
    every class kept possible."""
    if ledger.budget is None:  # the exact shares (the ledger says NOT PRIVATE)
        sigma, noisy = 0.0, hist
    else:
        sigma = 1.0 / math.sqrt(2.0 * ledger.remaining_rho(share))
        noisy = gaussian_mechanism(hist, noise_multiplier=sigma, sensitivity=1.0,
                                   ledger=ledger, label=label).reshape(hist.shape)
    probs = np.maximum(shrunk_rows(noisy, sigma), 1e-9)
    return probs / probs.sum(axis=1, keepdims=True)


def shrunk_rows(noisy: np.ndarray, sigma: float) -> np.ndarray:
    """Per row (group) of a noisy (groups, classes) histogram with noise sd ``sigma``: its
    projection onto the simplex, shrunk toward the pooled row's by ``n_g / (n_g + classes x
    sigma)`` (``n_g``: the row's noisy total; one row keeps its own)."""
    groups = noisy.shape[0]
    pooled_total = max(float(noisy.sum()), 1.0)
    pooled = project_simplex(noisy.sum(axis=0), pooled_total) / pooled_total
    probs = np.empty_like(noisy, dtype=float)
    for k in range(groups):
        n_k = max(float(noisy[k].sum()), 0.0)
        own = project_simplex(noisy[k], max(n_k, 1.0)) / max(n_k, 1.0)
        w = 1.0 if groups == 1 else (n_k / (n_k + noisy.shape[1] * sigma) if n_k > 0 else 0.0)
        probs[k] = w * own + (1.0 - w) * pooled
    return probs


def _cells_of(enc: SequenceEncoding, j: int | None) -> np.ndarray | None:
    return None if j is None else field_groups(enc.entity_fields[j])


def _floor(probs: np.ndarray) -> np.ndarray:
    """Rows that sum to one (an empty row becomes uniform)."""
    p = np.maximum(np.asarray(probs, dtype=float), 0.0)
    s = p.sum(axis=1, keepdims=True)
    return np.where(s > 0, p / np.where(s > 0, s, 1.0), 1.0 / p.shape[1])


# ---- the time-of-day profile ------------------------------------------------------------------
TOD_LABEL = "time of day"


def tod_prior(records_events: np.ndarray, lengths: np.ndarray, classes: int, *,
              ledger: PrivacyLedger, share: float) -> np.ndarray:
    """The released hour-of-day profile (24,) of all events, as :func:`tod_profile` makes
    it: it sets the time-of-day head's start (:func:`tod_logp`; a
    short DP-SGD run moves a bias by about lr per step, too little to learn a day/night contrast
    of several nats) and the target of the calibration at sampling (``_tod.py``).

    Each entity contributes its own shares of its events over the hours of the day, a vector
    of L1 norm 1, so adding or removing one entity moves the sum by at most 1
    in L2: Gaussian mechanism with sensitivity 1 from ``share`` of the budget left."""
    return tod_profile(*tod_release(records_events, lengths, classes, ledger=ledger,
                                    share=share))


def tod_release(records_events: np.ndarray, lengths: np.ndarray, classes: int, *,
                ledger: PrivacyLedger, share: float) -> tuple[np.ndarray, float | None]:
    """The released sum of :func:`tod_hist` and its noise std (``None`` when not private):
    what :func:`tod_prior` and the calibration of sampling read."""
    hist = tod_hist(records_events, lengths, classes)
    if ledger.budget is None:
        return hist, None
    return noisy_tod(hist, ledger=ledger, share=share)


def tod_hist(records_events: np.ndarray, lengths: np.ndarray, classes: int) -> np.ndarray:
    """(24,): the sum over entities of each entity's shares of its events by hour.

    All events, not only those at a day offset (whose hour the time-of-day head draws): the
    hours of events within an hour of the previous one and of same-day events follow from the
    earlier ones, and a profile of the drawn hours alone, met exactly, left the hour-of-day
    TVD of all events at 0.10-0.11 on a 20,000-customer card log."""
    L = records_events.shape[1]
    per_hour = classes // 24
    live = np.arange(L)[None, :] < lengths[:, None]
    hour = records_events[:, :, 1] // per_hour
    per = np.zeros((len(lengths), 24))
    rows, cols = np.nonzero(live)
    np.add.at(per, (rows, hour[rows, cols]), 1.0)
    per /= np.maximum(per.sum(axis=1, keepdims=True), 1.0)
    return per.sum(axis=0)


def noisy_tod(hist: np.ndarray, *, ledger: PrivacyLedger,
              share: float) -> tuple[np.ndarray, float]:
    """The Gaussian release of :func:`tod_hist` and its noise standard deviation."""
    sigma = 1.0 / math.sqrt(2.0 * ledger.remaining_rho(share))
    noisy = gaussian_mechanism(hist, noise_multiplier=sigma, sensitivity=1.0, ledger=ledger,
                               label=f"{TOD_LABEL}: hour-of-day profile of events, each "
                                     f"entity's own shares (L1 1), Gaussian, L2 sensitivity 1")
    return noisy, sigma


def tod_profile(hist: np.ndarray, sigma: float | None) -> np.ndarray:
    """Post-processing of a (noisy, sd ``sigma``; ``None``: exact) hour histogram into a
    distribution over the 24 hours: projected onto the simplex and mixed with the uniform
    profile in proportion to its noise (weight ``n / (n + 24 sigma)`` on the released one, ``n``
    its noisy total: at a few thousand entities the noise would otherwise set contrasts of its
    own)."""
    if sigma is None:
        return hist / max(float(hist.sum()), 1.0)
    total = max(float(hist.sum()), 1.0)
    w = total / (total + 24 * sigma)
    return w * project_simplex(hist, total) / total + (1.0 - w) / 24


def tod_logp(profile: np.ndarray, classes: int) -> np.ndarray:
    """The head's log-prior over ``classes`` times of day from an hour profile: 10% uniform
    mixed in, each hour's mass split evenly between its half hours, centred."""
    per_hour = classes // 24
    p = 0.9 * profile / max(float(profile.sum()), 1e-12) + 0.1 / 24
    logp = np.log(np.repeat(p / per_hour, per_hour))
    return logp - logp.mean()

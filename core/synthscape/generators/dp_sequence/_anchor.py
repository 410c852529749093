"""Where in its history an entity reaches the declared anchor day: a DP release at fit, drawn at
sampling beside the length.

With an anchor (``SequenceSchema.anchor``, a cohort's index date) the gap head alone decides
when to take the anchor class, and a short DP-SGD run learns that poorly: on the whole NAFLD
cohort at epsilon 1 the model took it after 4 events on average against 15.9 real, so the
record after the index date held 19.8 events against 10.6 (and the time to a diagnosis after
the index date, the progression label, lost its tie to the history before it).

- **fit**: each entity's anchor position (the index of its event of the anchor class, or none)
  as one of ``BUCKETS`` equal runs of its length or "none", in a (length group x buckets + 1)
  table, length groups ``floor(log2 n)``. Each entity sits in one cell: L2 sensitivity 1,
  Gaussian from ``share`` of the budget left, through the fit's ledger. Post-processing: each
  group's row projected onto the simplex and shrunk towards the pooled row by
  ``n_g / (n_g + cells x sigma)``, as for the lengths (``_lengths.py``).
- **sample**: after its target length, each entity draws a bucket from its group's row and a
  position uniformly among the positions of that bucket; the sampler forces the anchor class
  there (when the day is still ahead and in range) and forbids it elsewhere. The network sees
  the events left before the anchor, as it sees the events left before the end, and its gap
  kernel spreads the events before the anchor over the time left to it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from synthscape.generators.dp_sequence._lengths import released_rows
from synthscape.privacy import PrivacyLedger

LABEL = "dp_sequence anchor position"
BUCKETS = 8
NONE = BUCKETS  # the bucket of an entity without an event of the anchor class


def n_groups(max_events: int) -> int:
    return int(math.floor(math.log2(max(max_events, 1)))) + 1


def length_group(lengths: np.ndarray) -> np.ndarray:
    return np.floor(np.log2(np.maximum(np.asarray(lengths), 1))).astype(np.int64)


def positions(gaps: np.ndarray, lengths: np.ndarray, anchor_class: int) -> np.ndarray:
    """(n,): the index of each entity's event of the anchor class, -1 without one (``gaps``:
    (n, L) gap codes)."""
    live = np.arange(gaps.shape[1])[None, :] < np.asarray(lengths)[:, None]
    hit = (gaps == anchor_class) & live
    return np.where(hit.any(axis=1), hit.argmax(axis=1), -1)


def buckets(pos: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    n = np.maximum(np.asarray(lengths), 1)
    return np.where(pos < 0, NONE, np.minimum(pos * BUCKETS // n, BUCKETS - 1))


def anchor_hist(pos: np.ndarray, lengths: np.ndarray, max_events: int) -> np.ndarray:
    """(length groups, BUCKETS + 1): entities with at least one event per (group, bucket)."""
    has = np.asarray(lengths) > 0
    hist = np.zeros((n_groups(max_events), BUCKETS + 1))
    np.add.at(hist, (length_group(lengths[has]), buckets(pos[has], lengths[has])), 1.0)
    return hist


@dataclass
class AnchorModel:
    """``probs`` (length groups, BUCKETS + 1): per length group, the distribution of the anchor
    bucket (the last column: no anchor event)."""

    probs: np.ndarray

    def draw(self, lengths: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """(n,): one anchor position per entity of target length ``lengths`` (-1: none)."""
        n = np.asarray(lengths).astype(np.int64)
        g = np.minimum(length_group(n), len(self.probs) - 1)
        cdf = np.cumsum(self.probs, axis=1)
        cdf /= cdf[:, -1:]
        b = np.minimum((cdf[g] < rng.random(len(n))[:, None]).sum(axis=1), BUCKETS)
        u = rng.random(len(n))
        lo = -(-b * n // BUCKETS)  # the positions whose bucket is b: [lo, hi]
        hi = -(-(b + 1) * n // BUCKETS) - 1
        pos = np.where(hi >= lo, lo + np.floor(u * (hi - lo + 1)),
                       np.floor((b + u) * n / BUCKETS))
        pos = np.clip(pos, 0, np.maximum(n - 1, 0)).astype(np.int64)
        return np.where((b == NONE) | (n == 0), -1, pos)

    @classmethod
    def from_array(cls, probs: np.ndarray, max_events: int) -> AnchorModel:
        p = np.asarray(probs, dtype=float)
        shape = (n_groups(max_events), BUCKETS + 1)
        if p.shape != shape or not np.isfinite(p).all() or (p < 0).any() or \
                (p.sum(axis=1) <= 0).any():
            raise ValueError(f"the anchor positions must be {shape} non-negative weights, got "
                             f"shape {p.shape}")
        return cls(p)


def release(pos: np.ndarray, lengths: np.ndarray, max_events: int, *,
            ledger: PrivacyLedger, share: float) -> AnchorModel:
    """The (DP, when the ledger has a budget) anchor positions ``pos`` (:func:`positions`) of
    the training entities."""
    hist = anchor_hist(pos, lengths, max_events)
    return AnchorModel(released_rows(
        hist, ledger=ledger, share=share,
        label=f"{LABEL}: histogram of entities by length group (log2, {hist.shape[0]}) and the "
              f"run of their history ({BUCKETS} equal runs, or none) holding their first "
              f"event on the anchor day, Gaussian, L2 sensitivity 1 (one entity, one count)"))

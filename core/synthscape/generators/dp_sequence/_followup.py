"""How long an entity's record runs after the anchor day: a DP release at fit, drawn at sampling
beside the anchor's position.

After the anchor the gap kernel spreads the events left over the time left to the end of
``time_bounds``; a cohort's follow-up ends long before that (NAFLD: a median 4.1 years after
the index date against 20 years to the end of the declared range), and the synthetic records
ran to the range's end (the last event at the 90th percentile 19.6 years after the index date
against 11.4 real).

- **fit**: for each entity with an event on the anchor day, the days from the anchor day to its
  last event, over the encoding's day-offset classes (0..7 one by one, then ranges growing by
  half), in a (group of the events after the anchor, ``floor(log2(k + 1))``, x classes) table.
  One count per entity: L2 sensitivity 1, Gaussian from ``share`` of the budget left, rows shrunk
  toward the pooled row (``_lengths.shrunk_rows``).
- **sample**: an entity with a drawn anchor position draws its follow-up from the row of its
  events after the anchor (a class, then a day uniformly within it); after the anchor the
  network's hours left (its features and the gap kernel) run to that end instead of the
  range's. Without an anchor event nothing changes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from synthscape.generators.dp_sequence._lengths import released_rows
from synthscape.privacy import PrivacyLedger

LABEL = "dp_sequence follow-up after the anchor"


def n_groups(max_events: int) -> int:
    return int(math.floor(math.log2(max(max_events, 1)))) + 1


def after_group(after: np.ndarray) -> np.ndarray:
    return np.floor(np.log2(np.maximum(np.asarray(after), 0) + 1)).astype(np.int64)


def followup_days(events: np.ndarray, lengths: np.ndarray, anchors: np.ndarray,
                  anchor_hours: float) -> np.ndarray:
    """(n,): days from the anchor day's start to each entity's last event (``events[..., -1]``:
    whole hours since the range's start), NaN without an anchor event."""
    n = np.asarray(lengths)
    last = np.where(n > 0, events[np.arange(len(n)), np.maximum(n - 1, 0), -1], 0)
    days = np.maximum(last - anchor_hours, 0.0) / 24.0
    return np.where(np.asarray(anchors) >= 0, days, np.nan)


def followup_hist(days: np.ndarray, after: np.ndarray, edges: np.ndarray,
                  max_events: int) -> np.ndarray:
    """(groups, classes): entities with an anchor event per (group of events after it, class of
    their follow-up days)."""
    has = ~np.isnan(days)
    k = len(edges) - 1
    cls = np.clip(np.searchsorted(edges, days[has], side="right") - 1, 0, k - 1)
    hist = np.zeros((n_groups(max_events), k))
    grp = np.minimum(after_group(after[has]), len(hist) - 1)
    np.add.at(hist, (grp, cls), 1.0)
    return hist


@dataclass
class FollowupModel:
    """``probs`` (groups, classes of ``edges``): per group of events after the anchor, the
    distribution of the follow-up's day class."""

    probs: np.ndarray
    edges: np.ndarray

    def draw(self, lengths: np.ndarray, anchors: np.ndarray,
             rng: np.random.Generator) -> np.ndarray:
        """(n,): follow-up days per entity (NaN without an anchor position)."""
        n, a = np.asarray(lengths).astype(np.int64), np.asarray(anchors).astype(np.int64)
        g = np.minimum(after_group(n - a - 1), len(self.probs) - 1)
        cdf = np.cumsum(self.probs, axis=1)
        cdf /= cdf[:, -1:]
        k = np.minimum((cdf[g] < rng.random(len(n))[:, None]).sum(axis=1),
                       self.probs.shape[1] - 1)
        lo, hi = self.edges[k], self.edges[k + 1]
        days = lo + rng.random(len(n)) * (hi - lo)
        return np.where(a >= 0, days, np.nan)

    @classmethod
    def from_array(cls, probs: np.ndarray, edges: np.ndarray, max_events: int) -> FollowupModel:
        p = np.asarray(probs, dtype=float)
        shape = (n_groups(max_events), len(edges) - 1)
        if p.shape != shape or not np.isfinite(p).all() or (p < 0).any() or \
                (p.sum(axis=1) <= 0).any():
            raise ValueError(f"the follow-up distribution must be {shape} non-negative weights, "
                             f"got shape {p.shape}")
        return cls(p, np.asarray(edges, float))


def release(events: np.ndarray, lengths: np.ndarray, anchors: np.ndarray, anchor_hours: float,
            edges: np.ndarray, max_events: int, *, ledger: PrivacyLedger,
            share: float) -> FollowupModel:
    """The (DP, when the ledger has a budget) follow-up after the anchor of the training
    entities (``anchors``: their anchor positions, -1 for none)."""
    days = followup_days(events, lengths, anchors, anchor_hours)
    hist = followup_hist(days, np.asarray(lengths) - np.asarray(anchors) - 1, edges, max_events)
    probs = released_rows(
        hist, ledger=ledger, share=share,
        label=f"{LABEL}: histogram of the entities with an event on the anchor day by the "
              f"events after it (log2, {hist.shape[0]} groups) and the days from it to their "
              f"last event ({hist.shape[1]} classes), Gaussian, L2 sensitivity 1 (one entity, "
              f"one count)")
    return FollowupModel(probs, np.asarray(edges, float))

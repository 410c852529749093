"""Calibration of the time of day at sampling: post-processing that pulls the sampled hours of
events onto the released hour profile.

Under DP-SGD the time-of-day head learns little beyond its start (the released profile), and
sampling then bends it: a same-day event must come an hour or more after the previous one, so
chains of same-day events drift into the evening and short gaps carry them past midnight (on a
simulated card log at epsilon 1, 2,000 customers, the hour-of-day TVD to the real log was 0.24,
with 11% of same-day events at 21-22 h against 4% real). The released profile
(:func:`~synthscape.generators.dp_sequence._lengths.tod_prior`: each entity's shares of its
events over the hours) is the target; the sampler adds a shift to the head's logits
(``net.tod_shift``, one value per half hour), and a few pilot samples fit it by iterative
proportional fitting: ``shift += damping * log(target / produced)`` per hour, where ``produced``
is the share of the pilot's events in each hour. The head draws the hours of events at a day
offset and of same-day events; those within an hour of the previous event follow from it, so
the shift of the drawn hours also makes up for where the others land.

The release holds each entity's own shares (sensitivity 1), the pilot is read event by event:
the two agree when an entity's hours do not depend on how many events it has, as on the card
log (the real log's two profiles differ by a TVD of 0.015), whereas the model's long
histories drift into the evening through chains of same-day events, so matching the pilot's
per-entity shares left the event-level hour TVD at 0.12-0.13 (5,000 customers) with the
pilot at 0.03. The target is the release projected onto the simplex and shrunk toward the first
pilot's profile by the empirical-Bayes weight of ``_shrink.shrink``. Only released values and
the released model are used, so it costs no budget.
"""
from __future__ import annotations

import numpy as np
import torch

from synthscape.generators.dp_sequence._encoding import TOD_CLASSES, SequenceEncoding
from synthscape.generators.dp_sequence._lengths import LengthModel, tod_hist
from synthscape.generators.dp_sequence._model import SequenceNet

PILOT = 4000  # entities per pilot sample
ROUNDS = 12
DAMPING = 0.6
MAX_SHIFT = 4.0  # nats


def hour_profile(lengths: np.ndarray, times: np.ndarray, enc: SequenceEncoding) -> np.ndarray:
    """(24,): the released statistic (:func:`._lengths.tod_hist`) of sampled sequences: their
    times encoded as the training records were, each entity's shares of its events by hour of
    day."""
    gap, tod = enc.encode_rows(lengths, times)
    return tod_hist(np.stack([gap, tod], axis=-1), lengths, enc.target_sizes[1])


def event_hours(lengths: np.ndarray, times: np.ndarray) -> np.ndarray:
    """(24,): the share of sampled events in each hour of the day (every event counts once)."""
    live = np.arange(times.shape[1])[None, :] < np.asarray(lengths)[:, None]
    hours = (np.floor(times[live] / 3600.0) % 24).astype(np.int64)
    got = np.bincount(hours, minlength=24)[:24].astype(float)
    return got / max(float(got.sum()), 1e-12)


def calibrate(net: SequenceNet, enc: SequenceEncoding, hist: np.ndarray, sigma: float | None,
              lengths: LengthModel | None, rng: np.random.Generator) -> dict[str, float]:
    """Fit ``net.tod_shift`` so that pilot samples' hour profile meets the released one
    (``hist``: the noisy sum of the entities' hour shares, noise std ``sigma``; ``None``:
    exact), projected onto the simplex and shrunk toward the first pilot's profile by the
    empirical-Bayes weight of ``_shrink.shrink`` (the model keeps its hours where they are
    within the release's noise). The shift of the best of ``ROUNDS + 1`` pilots is kept (the
    first has no shift). Returns the pilots' TVD to the target without and with the kept
    shift (public: from released values)."""
    from synthscape.generators._marginal import project_simplex
    from synthscape.generators.dp_sequence._sampling import draw_entities, draw_events
    from synthscape.generators.dp_sequence._shrink import pilot_fit

    per_hour = TOD_CLASSES // 24
    total = max(float(np.sum(hist)), 1.0)
    released = project_simplex(np.asarray(hist, float), total) / total
    s_rel = 0.0 if sigma is None else float(sigma) / total

    def pilot(shift: np.ndarray) -> tuple[np.ndarray, float]:
        net.tod_shift = torch.as_tensor(np.repeat(shift, per_hour), dtype=torch.float32)
        sizes, _, times = draw_events(net, enc, draw_entities(net, PILOT, rng), rng, lengths)
        return event_hours(sizes, times), float(PILOT)

    best, before, after = pilot_fit(pilot, released, s_rel, rounds=ROUNDS, damping=DAMPING,
                                    max_shift=MAX_SHIFT)
    net.tod_shift = torch.as_tensor(np.repeat(best, per_hour), dtype=torch.float32)
    return {"pilot_tvd_before": before, "pilot_tvd_after": after}

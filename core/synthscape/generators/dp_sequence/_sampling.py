"""Sampling from a fitted ``dp_sequence`` network, vectorised over a batch of entities.

All draws come from the public-seed ``numpy.random.Generator`` (post-processing of a released
model): one uniform per categorical draw, inverse-CDF on the softmax. With a released length
distribution (``_lengths.py``) each entity first draws its target length; the end of sequence is
then masked before the target, generation stops at it, and gap classes that would start after
the end of the time range are masked (so the target fits in the range where it can).
"""
from __future__ import annotations

import numpy as np
import torch

from synthscape.generators.dp_sequence._encoding import (
    _SHORT_EDGES,
    DAY,
    END,
    HOUR,
    TOD_CLASSES,
    SequenceEncoding,
    dow_of,
    tod_of,
)
from synthscape.generators.dp_sequence._lengths import LengthModel
from synthscape.generators.dp_sequence._model import SequenceNet
from synthscape.generators.dp_sequence._shifts import group_rows, row_groups

CHUNK = 8192  # entities per vectorised batch


def _pick(logits: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    cdf = torch.softmax(logits, dim=-1).cumsum(dim=-1)
    u = torch.as_tensor(rng.random(logits.shape[0]), dtype=cdf.dtype)[:, None] * cdf[:, -1:]
    return (cdf < u).sum(dim=-1).clamp(max=logits.shape[-1] - 1)


def _lookup(net: SequenceNet, j: int, codes: torch.Tensor) -> torch.Tensor:
    """Field j's embedding of ``codes``: the bias-free linear layer on a one-hot, as a lookup."""
    weight: torch.Tensor = net.embed[j].weight  # type: ignore[assignment]
    return weight.t()[codes.long()]


def entity_logits(net: SequenceNet, j: int, onehot_before: torch.Tensor,
                  rows: torch.Tensor | None = None) -> torch.Tensor:
    """Entity head j's logits plus the calibration shift of sampling (``_margins.py``;
    ``net.entity_shift``, absent without a margin release; a grouped shift has a row per group
    of an earlier entity field, ``rows`` picks each entity's)."""
    shift = getattr(net, "entity_shift", None)
    return _shifted(net.entity_logits(j, onehot_before), shift[j] if shift else None, rows)


def column_logits(net: SequenceNet, j: int, h: torch.Tensor,
                  rows: torch.Tensor | None = None) -> torch.Tensor:
    """Event column j's head logits plus the calibration shift of sampling (``_margins.py``;
    ``net.column_shift``, for categorical and boolean columns; a grouped shift has a row per
    group of an entity field, ``rows`` picks each entity's)."""
    shift = getattr(net, "column_shift", None)
    return _shifted(net.heads[2 + j](h), shift.get(j) if shift else None, rows)


def _shifted(logits: torch.Tensor, shift: torch.Tensor | None,
             rows: torch.Tensor | None) -> torch.Tensor:
    """``logits`` plus a calibration shift: (classes,), or (groups, classes) with ``rows``
    the group of each entity."""
    if shift is None:
        return logits
    return logits + (shift[rows] if shift.dim() == 2 and rows is not None else shift)


def start_logits(net: SequenceNet, logits: torch.Tensor) -> torch.Tensor:
    """The first event's gap logits plus the calibration shift of sampling (``_margins.py``;
    ``net.start_shift``)."""
    shift = getattr(net, "start_shift", None)
    return logits if shift is None else logits + shift


def later_logits(net: SequenceNet, logits: torch.Tensor) -> torch.Tensor:
    """The gap logits after the first event plus the calibration shift of sampling
    (``_gaps.py``; ``net.gap_shift``, absent without a gap release)."""
    shift = getattr(net, "gap_shift", None)
    return logits if shift is None else logits + shift


def draw_entities(net: SequenceNet, n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, m) entity codes, each column drawn given the earlier ones."""
    sizes = net.entity_sizes
    codes = torch.zeros(n, len(sizes), dtype=torch.long)
    with torch.no_grad():
        oh = torch.zeros(n, 0)
        group = getattr(net, "entity_group", None)
        rows = None
        for j, s in enumerate(sizes):
            if group is not None and j > group[0] and rows is None:
                rows = group_rows(group, codes)
            codes[:, j] = _pick(entity_logits(net, j, oh, rows), rng)
            oh = torch.cat([oh, torch.nn.functional.one_hot(codes[:, j], s).float()], dim=-1)
    return codes.numpy().astype(np.int32)


def draw_events(net: SequenceNet, enc: SequenceEncoding, entity_codes: np.ndarray,
                rng: np.random.Generator, lengths: LengthModel | None = None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sequences of the given entities: (lengths (n,), codes (n, L, k), times (n, L));
    ``lengths``: the released length distribution (``None``: the end-of-sequence head)."""
    targets = None if lengths is None else lengths.draw(entity_codes, rng)
    drawer = getattr(lengths, "anchors", None) if getattr(net, "anchor_position", False) \
        else None
    anchors = None if targets is None or drawer is None else drawer.draw(targets, rng)
    follow = getattr(lengths, "followup", None) if getattr(net, "followup", False) else None
    ends = None if anchors is None or follow is None else \
        enc.anchor_hours + 24.0 * follow.draw(targets, anchors, rng)  # hours since the start
    parts = [_draw_chunk(net, enc, entity_codes[i:i + CHUNK], rng,
                         None if targets is None else targets[i:i + CHUNK],
                         None if anchors is None else anchors[i:i + CHUNK],
                         None if ends is None else ends[i:i + CHUNK])
             for i in range(0, max(len(entity_codes), 1), CHUNK)]
    return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
            np.concatenate([p[2] for p in parts]))


def _in_range(enc: SequenceEncoding, prev: np.ndarray, first: bool,
              end: float | None = None) -> torch.Tensor:
    """(n, gap classes): whether a gap class can still give a time before the range's end
    (or ``end``, the anchor day ahead; the end-of-sequence class is left out: the caller
    decides it)."""
    short_lo = np.asarray(_SHORT_EDGES[:-1])
    day_lo = np.asarray(enc.days[:-1])
    t_short = prev[:, None] + short_lo[None, :]
    t_day = (np.floor(prev / DAY)[:, None] + day_lo[None, :]) * DAY
    if not first:
        t_day = np.maximum(t_day, prev[:, None] + HOUR)
    stop = enc.end if end is None else end
    parts = [np.zeros((len(prev), 1), bool), t_short < stop, t_day < stop]
    if enc.anchor_class is not None:  # the anchor day while it is open
        open_ = enc.anchor_open(np.floor((prev - enc.start) / HOUR))
        parts.append((open_ & (enc.anchor_day * DAY < enc.end))[:, None])
    return torch.as_tensor(np.concatenate(parts, axis=1))


def _too_early(prev: np.ndarray, gap: np.ndarray, same_day: int) -> torch.Tensor:
    """(n, half hours): for an event on the same day as the previous one, the half hours that
    end before an hour after it (next_times would push the event there; drawn as they were,
    times drift into the evening and past midnight)."""
    earliest = prev % DAY + HOUR
    ends = (np.arange(TOD_CLASSES) + 1) * (DAY / TOD_CLASSES)
    late = (ends[None, :] <= earliest[:, None]) & (gap == same_day)[:, None]
    return torch.as_tensor(late)


def tod_logits(net: SequenceNet, h: torch.Tensor) -> torch.Tensor:
    """The time-of-day head's logits plus the calibration shift of sampling (``_tod.py``;
    ``net.tod_shift``, absent before calibration)."""
    logits = net.heads[1](h)
    shift = getattr(net, "tod_shift", None)
    return logits if shift is None else logits + shift


def _no_room(prev: np.ndarray, same_day: int) -> torch.Tensor:
    """(n,): whether no half hour of the day is left an hour after the previous event, so the
    class "same day" cannot happen. Only this hard limit is applied to the gap head: it already
    sees the previous event's time of day, and a soft penalty on top (the probability of room
    under the time-of-day head, tried before) counted the evening twice and moved the same-day
    mass to gaps under an hour (45% of sampled gaps against 15% real on a card log)."""
    return _too_early(prev, np.full(len(prev), same_day), same_day).all(dim=1)


def _anchor_step(enc: SequenceEncoding, ok: torch.Tensor, anchors: torch.Tensor, p: int,
                 prev: np.ndarray) -> tuple[torch.Tensor, np.ndarray]:
    """The gap classes ``ok`` at position ``p`` given each entity's drawn anchor position:
    the anchor class at that position (or earlier, once no other class fits before the anchor
    day), nowhere else; before it, only classes that land before the anchor day. Returns the
    classes and which entities must stay before the anchor day (their times are drawn so)."""
    start = enc.anchor_day * DAY
    fits = _in_range(enc, prev, p == 0, end=start)
    fits[:, END] = False
    fits[:, -1] = False
    room = fits.any(dim=1)
    ahead = anchors > p
    can = ok[:, -1]  # open and in range (``_in_range``)
    take = can & ((anchors == p) | (ahead & ~room))
    stay = ahead & room & can
    ok = ok.clone()
    ok[:, -1] = take
    ok[take, :-1] = False
    ok[stay] &= fits[stay]
    return ok, stay.numpy()


def _draw_chunk(net: SequenceNet, enc: SequenceEncoding, entity_codes: np.ndarray,
                rng: np.random.Generator, targets: np.ndarray | None = None,
                anchors: np.ndarray | None = None, ends: np.ndarray | None = None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n, L = len(entity_codes), enc.schema.max_events
    k = len(enc.column_fields)
    cols = np.zeros((n, L, k), np.int32)
    times = np.zeros((n, L))
    lengths = np.zeros(n, np.int32)
    if n == 0:
        return lengths, cols, times
    no_short = torch.zeros(enc.gap_size, dtype=torch.bool)
    no_short[1:1 + enc.n_short] = True
    same_day = 1 + enc.n_short  # the gap class "day offset 0"
    with torch.no_grad():
        entity = net.entity_in(net.entity_onehot(torch.as_tensor(entity_codes)))
        group = row_groups(net, entity_codes)
        state = torch.zeros(n, net.width)
        seen = torch.zeros(n, sum(net.history_sizes)) if net.history_fields else None
        alive = np.ones(n, bool) if targets is None else targets > 0
        want = None if targets is None else torch.as_tensor(targets)
        at = None if anchors is None else torch.as_tensor(anchors)
        own_end = None if ends is None else torch.as_tensor(ends)
        prev = np.full(n, enc.start)
        for p in range(L):
            idx = np.flatnonzero(alive)
            if idx.size == 0:
                break
            ti = torch.as_tensor(idx)
            elapsed = torch.as_tensor(np.floor((prev[idx] - enc.start) / 3600.0))
            pos = net.positions(torch.full((idx.size,), p), elapsed,
                                None if want is None else want[ti],
                                None if at is None else at[ti],
                                None if own_end is None else own_end[ti])
            h = net.contextualise(state[ti], entity[ti], pos,
                                  None if seen is None else seen[ti])
            drawn: list[torch.Tensor] = []
            for j, head in enumerate(net.heads):
                logits = head(h) if j == 0 else tod_logits(net, h) if j == 1 else \
                    column_logits(net, j - 2, h, None if group is None else group[ti])
                if j == 0 and p == 0:  # the first event is a day offset from the start
                    logits = start_logits(net, logits).masked_fill(no_short, -torch.inf)
                if j == 0:  # the anchor day, until it is reached
                    logits = net.mask_anchor(logits, elapsed)
                if j == 0 and p > 0:  # a same-day event needs room left in the day
                    logits = later_logits(net, logits)
                    logits[:, same_day] = logits[:, same_day].masked_fill(
                        _no_room(prev[idx], same_day), -torch.inf)
                if j == 0 and want is not None:  # no end before the target; stay in range
                    logits = logits + net.gap_offset(
                        torch.full((idx.size,), p), elapsed, want[ti],
                        None if at is None else at[ti],
                        None if own_end is None else own_end[ti])
                    ok = _in_range(enc, prev[idx], p == 0)
                    if at is not None:
                        ok, before_anchor = _anchor_step(enc, ok, at[ti], p, prev[idx])
                    ok[:, END] = ~ok.any(dim=1)  # nothing fits: the sequence ends here
                    logits = logits.masked_fill(~ok, -torch.inf)
                if j == 1 and p > 0:  # a same-day event comes an hour or more after the last
                    logits = logits.masked_fill(_too_early(prev[idx], drawn[0].numpy(),
                                                           same_day), -torch.inf)
                c = _pick(logits, rng)
                if j == 1:  # the time is known now: later fields see its real time of day
                    gap = drawn[0].numpy()
                    t = enc.next_times(prev[idx], gap, c.numpy(), p == 0, rng,
                                       in_range=want is not None,
                                       end=None if at is None else np.where(
                                           before_anchor, enc.anchor_day * DAY, enc.end))
                    c = torch.as_tensor(tod_of(t)).long()
                drawn.append(c)
                h = h + _lookup(net, j, c)
            go = (gap != END) & (t < enc.end)
            alive[idx[~go]] = False
            idx, t = idx[go], t[go]
            if idx.size == 0:
                break
            times[idx, p] = t
            lengths[idx] = p + 1
            prev[idx] = t
            if targets is not None:
                alive[idx[targets[idx] <= p + 1]] = False
            keep = torch.as_tensor(np.flatnonzero(go))
            if k:
                cols[idx, p] = torch.stack(drawn[2:], dim=1)[keep].numpy()
            # the event as an input: its fields with the real time of day, and the day of week
            fields = [drawn[0][keep], drawn[1][keep],
                      *[drawn[2 + j][keep] for j in range(k)], torch.as_tensor(dow_of(t))]
            x = sum((_lookup(net, j, c) for j, c in enumerate(fields)), torch.zeros(1))
            ti = torch.as_tensor(idx)
            state[ti] = net.decay * state[ti] + (1 - net.decay) * x
            if seen is not None:  # the values this event adds to the entity's history
                at_field = 0
                for field, size in zip(net.history_fields, net.history_sizes):
                    seen[ti, at_field + fields[field].long()] = 1.0
                    at_field += size
    return lengths, cols, times

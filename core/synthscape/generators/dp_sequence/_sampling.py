"""Sampling from a fitted ``dp_sequence`` network, vectorised over a batch of entities.

All draws come from the public-seed ``numpy.random.Generator`` (post-processing of a released
model): one uniform per categorical draw, inverse-CDF on the softmax.
"""
from __future__ import annotations

import numpy as np
import torch

from synthscape.generators.dp_sequence._encoding import END, SequenceEncoding, dow_of, tod_of
from synthscape.generators.dp_sequence._model import SequenceNet

CHUNK = 8192  # entities per vectorised batch


def _pick(logits: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    cdf = torch.softmax(logits, dim=-1).cumsum(dim=-1)
    u = torch.as_tensor(rng.random(logits.shape[0]), dtype=cdf.dtype)[:, None] * cdf[:, -1:]
    return (cdf < u).sum(dim=-1).clamp(max=logits.shape[-1] - 1)


def _lookup(net: SequenceNet, j: int, codes: torch.Tensor) -> torch.Tensor:
    """Field j's embedding of ``codes``: the bias-free linear layer on a one-hot, as a lookup."""
    weight: torch.Tensor = net.embed[j].weight  # type: ignore[assignment]
    return weight.t()[codes.long()]


def draw_entities(net: SequenceNet, n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, m) entity codes, each column drawn given the earlier ones."""
    sizes = net.entity_sizes
    codes = torch.zeros(n, len(sizes), dtype=torch.long)
    with torch.no_grad():
        oh = torch.zeros(n, 0)
        for j, s in enumerate(sizes):
            codes[:, j] = _pick(net.entity_logits(j, oh), rng)
            oh = torch.cat([oh, torch.nn.functional.one_hot(codes[:, j], s).float()], dim=-1)
    return codes.numpy().astype(np.int32)


def draw_events(net: SequenceNet, enc: SequenceEncoding, entity_codes: np.ndarray,
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sequences of the given entities: (lengths (n,), codes (n, L, k), times (n, L))."""
    parts = [_draw_chunk(net, enc, entity_codes[i:i + CHUNK], rng)
             for i in range(0, max(len(entity_codes), 1), CHUNK)]
    return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
            np.concatenate([p[2] for p in parts]))


def _draw_chunk(net: SequenceNet, enc: SequenceEncoding, entity_codes: np.ndarray,
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n, L = len(entity_codes), enc.schema.max_events
    k = len(enc.column_fields)
    cols = np.zeros((n, L, k), np.int32)
    times = np.zeros((n, L))
    lengths = np.zeros(n, np.int32)
    if n == 0:
        return lengths, cols, times
    no_short = torch.zeros(enc.gap_size, dtype=torch.bool)
    no_short[1:1 + enc.n_short] = True
    with torch.no_grad():
        entity = net.entity_in(net.entity_onehot(torch.as_tensor(entity_codes)))
        state = torch.zeros(n, net.width)
        alive = np.ones(n, bool)
        prev = np.full(n, enc.start)
        for p in range(L):
            idx = np.flatnonzero(alive)
            if idx.size == 0:
                break
            ti = torch.as_tensor(idx)
            pos = net.positions(torch.full((idx.size,), p),
                                torch.as_tensor(np.floor((prev[idx] - enc.start) / 3600.0)))
            h = net.contextualise(state[ti], entity[ti], pos)
            drawn: list[torch.Tensor] = []
            for j, head in enumerate(net.heads):
                logits = head(h)
                if j == 0 and p == 0:  # the first event is a day offset from the start
                    logits = logits.masked_fill(no_short, -torch.inf)
                c = _pick(logits, rng)
                if j == 1:  # the time is known now: later fields see its real time of day
                    gap = drawn[0].numpy()
                    t = enc.next_times(prev[idx], gap, c.numpy(), p == 0, rng)
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
            keep = torch.as_tensor(np.flatnonzero(go))
            if k:
                cols[idx, p] = torch.stack(drawn[2:], dim=1)[keep].numpy()
            # the event as an input: its fields with the real time of day, and the day of week
            fields = [drawn[0][keep], drawn[1][keep],
                      *[drawn[2 + j][keep] for j in range(k)], torch.as_tensor(dow_of(t))]
            x = sum((_lookup(net, j, c) for j, c in enumerate(fields)), torch.zeros(1))
            ti = torch.as_tensor(idx)
            state[ti] = net.decay * state[ti] + (1 - net.decay) * x
    return lengths, cols, times

"""The torch network of ``dp_sequence`` (imported lazily: this module imports torch).

An autoregressive model of one entity: its static columns first (each conditioned on the earlier
ones), then its events, each predicted from a summary of the entity and of the events so far.
The summary is a linear recurrence with fixed per-channel decays over learned event embeddings
(a diagonal linear recurrent unit with frozen eigenvalues, Orvieto et al. 2023, Eq. 1 with real
fixed lambda), followed by a learned non-linear layer. Within an event, the fields (gap or end,
time of day, then the event columns in schema order) are predicted one after the other, each
head seeing the earlier fields of the same event (teacher forcing in training).

With ``length_input`` the position features also hold the entity's length, the events left and
the hours of the range left per event left (lengths are then drawn from their own DP histogram
at sampling, ``_lengths.py``), so the gaps are predicted knowing how many events must still fit
in the time range; the gap head's logits then get a fixed, data-independent offset that favours
gaps near the hours left per event left (a log-normal kernel over the classes' typical
durations), which the trained head corrects: a short DP-SGD run moves weights too little to learn
that scale from the features alone.

Every trainable parameter sits in an ``nn.Linear`` (on 2-D or 3-D inputs) so opacus computes
per-entity gradients for DP-SGD; entities never interact in a forward pass.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from synthscape.generators._nn import mlp


def decays(width: int) -> torch.Tensor:
    """Per-channel decay factors: a quarter of the channels keep only the last event (0); the
    rest have half-lives from 1 to 64 events, log-spaced."""
    n0 = max(1, width // 4)
    half = torch.logspace(0.0, math.log10(64.0), width - n0)
    return torch.cat([torch.zeros(n0), 0.5 ** (1.0 / half)])


def _per_entity(x: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """``x`` (B,), one value per entity, as floats broadcast over the steps ``p`` (B, ...)."""
    return x.float().reshape(-1, *([1] * (p.dim() - 1))).expand_as(p)


class SequenceNet(nn.Module):
    def __init__(self, entity_sizes: list[int], target_sizes: list[int], dow_size: int,
                 width: int, max_events: int, n_short: int, span_hours: float,
                 length_input: bool = False, gap_hours: list[float] | None = None,
                 visits: bool = False, start_hour: float = 0.0, kernel_sd: float = 1.0,
                 anchor_hours: float | None = None, anchor_position: bool = False,
                 history_fields: list[int] | None = None, followup: bool = False):
        super().__init__()
        # after the anchor, the hours left run to the entity's own last event (``ends``)
        self.followup = bool(followup) and bool(anchor_position)
        # target fields whose values seen so far (a set per entity) are an input of every step
        self.history_fields = list(history_fields or [])
        # the anchor day's class (the last gap class) and its start in whole hours; with
        # ``anchor_position`` the entity's position of it is an input, as its length is
        self.anchor_hours = None if anchor_hours is None else float(anchor_hours)
        self.anchor_position = bool(anchor_position) and self.anchor_hours is not None
        self.kernel_sd = float(kernel_sd)  # the gap kernel's width, in log hours
        self.length_input, self.visits = bool(length_input), bool(visits)
        self.start_hour = float(start_hour)  # the range's start, hours after its midnight
        self.log_gap_hours: torch.Tensor
        hours = torch.as_tensor(gap_hours if gap_hours is not None else [1.0] * target_sizes[0],
                                dtype=torch.float32)
        self.register_buffer("log_gap_hours", torch.log(hours.clamp(min=1e-3)),
                             persistent=False)
        self.entity_sizes, self.target_sizes = list(entity_sizes), list(target_sizes)
        self.width, self.max_events, self.n_short = width, max_events, n_short
        self.dow_size, self.span_hours = dow_size, float(span_hours)
        self.entity_heads = nn.ModuleList(
            mlp([1 + sum(entity_sizes[:j]), width, s]) for j, s in enumerate(entity_sizes))
        self.entity_in = nn.Linear(max(sum(entity_sizes), 1), width)
        # one embedding per event field (one-hot -> width): the event's input is their sum, and
        # head j sees the context plus the embeddings of the fields before j
        self.embed = nn.ModuleList(nn.Linear(s, width, bias=False)
                                   for s in [*target_sizes, dow_size])
        extra = 3 * int(self.length_input) + 2 * int(self.anchor_hours is not None) \
            + 2 * int(self.anchor_position)
        self.context = mlp([2 * width + 3 + extra, width, width])
        self.heads = nn.ModuleList(mlp([width, width, s]) for s in target_sizes)
        self.decay: torch.Tensor
        self.register_buffer("decay", decays(width), persistent=False)
        self.history_sizes = [target_sizes[k] for k in self.history_fields]
        self.history_in = nn.Linear(sum(self.history_sizes), width, bias=False) \
            if self.history_fields else None

    # ---- pieces shared by training and sampling ---------------------------------------------
    def entity_onehot(self, codes: torch.Tensor) -> torch.Tensor:
        parts = [F.one_hot(codes[:, j].long(), s).float() for j, s in enumerate(self.entity_sizes)]
        if not parts:
            return torch.zeros(codes.shape[0], 1, device=codes.device)
        return torch.cat(parts, dim=-1)

    def entity_logits(self, j: int, onehot_before: torch.Tensor) -> torch.Tensor:
        ones = torch.ones(onehot_before.shape[0], 1, device=onehot_before.device)
        return self.entity_heads[j](torch.cat([ones, onehot_before], dim=-1))

    def hours_left(self, p: torch.Tensor, elapsed_hours: torch.Tensor,
                   anchors: torch.Tensor | None, ends: torch.Tensor | None) -> torch.Tensor:
        """Hours from the previous event to the end of the range, or, past the anchor event
        of a follow-up network, to the entity's own last event (``ends``: (B,) hours since the
        range's start, NaN without an anchor event)."""
        hours = self.span_hours - elapsed_hours.float()
        if self.followup and anchors is not None and ends is not None:
            a = _per_entity(anchors, p)
            e = _per_entity(ends, p)
            past = (a >= 0) & (p > a) & torch.isfinite(e)
            own = torch.nan_to_num(e, nan=0.0) - elapsed_hours.float()
            hours = torch.where(past, own, hours)
        return hours

    def positions(self, steps: torch.Tensor, elapsed_hours: torch.Tensor,
                  lengths: torch.Tensor | None = None,
                  anchors: torch.Tensor | None = None,
                  ends: torch.Tensor | None = None) -> torch.Tensor:
        """Features of where the entity is: the log-scaled event index, a first-event flag, and
        the share of the time range gone by at the previous event (the end of the range is what
        ends most histories); with ``length_input`` also the log-scaled length, events left and
        hours left per event left (``lengths``: (B,) per entity, broadcast over the steps);
        with an anchor whether its class is open and the log-scaled hours to it; with
        ``anchor_position`` whether the anchor event is still ahead and the log-scaled events
        left before it (``anchors``: (B,) positions, -1 for none)."""
        p = steps.float()
        scale = math.log1p(self.max_events)
        feats = [torch.log1p(p) / scale, (p == 0).float(), elapsed_hours.float() / self.span_hours]
        if self.length_input:
            assert lengths is not None, "a length-conditioned network needs the lengths"
            n = _per_entity(lengths, p)
            left = torch.clamp(n - p, min=0.0)
            hours = torch.clamp(self.hours_left(p, elapsed_hours, anchors, ends), min=0.0)
            feats += [torch.log1p(n) / scale, torch.log1p(left) / scale,
                      torch.log1p(hours / torch.clamp(left, min=1.0)) /
                      math.log1p(self.span_hours)]
        if self.anchor_hours is not None:
            to_anchor = torch.clamp(self.anchor_hours - elapsed_hours.float(), min=0.0)
            feats += [self.anchor_open(elapsed_hours).float(),
                      torch.log1p(to_anchor) / math.log1p(self.span_hours)]
        if self.anchor_position:
            assert anchors is not None, "an anchor-position network needs the positions"
            before = self._before_anchor(p, anchors)
            feats += [(before >= 0).float(), torch.log1p(torch.clamp(before, min=0.0)) / scale]
        return torch.stack(feats, -1)

    @staticmethod
    def _before_anchor(p: torch.Tensor, anchors: torch.Tensor) -> torch.Tensor:
        """Events left before the anchor event (0 at it), -1 past it or without one."""
        a = _per_entity(anchors, p)
        return torch.where(a >= p, a - p, torch.full_like(p, -1.0))

    def anchor_positions(self, gaps: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(B,): the index of each record's event of the anchor class, -1 without one."""
        steps = torch.arange(gaps.shape[1], device=gaps.device)[None, :]
        hit = (gaps.long() == self.target_sizes[0] - 1) & (steps < lengths[:, None])
        return torch.where(hit.any(dim=1), hit.float().argmax(dim=1),
                           torch.full_like(lengths, -1, dtype=torch.float32)).long()

    def anchor_open(self, elapsed_hours: torch.Tensor) -> torch.Tensor:
        """Whether the anchor class is open after an event ``elapsed_hours`` whole hours into
        the range (the rule of ``SequenceEncoding.anchor_open``)."""
        assert self.anchor_hours is not None
        return elapsed_hours.float() < self.anchor_hours

    def mask_anchor(self, logits: torch.Tensor, elapsed_hours: torch.Tensor) -> torch.Tensor:
        """Gap logits with the anchor class closed where the anchor day has been reached."""
        if self.anchor_hours is None:
            return logits
        closed = torch.zeros_like(logits, dtype=torch.bool)
        closed[..., -1] = ~self.anchor_open(elapsed_hours)
        return logits.masked_fill(closed, -torch.inf)

    def gap_offset(self, steps: torch.Tensor, elapsed_hours: torch.Tensor,
                   lengths: torch.Tensor, anchors: torch.Tensor | None = None,
                   ends: torch.Tensor | None = None) -> torch.Tensor:
        """(..., gap classes): ``-0.5 ((log(class hours) - log(expected gap)) / sd)^2`` with the
        expected gap = hours of the range left / (events left + 1) and ``sd`` the kernel's
        width (``kernel_sd``, the generator's ``gap_spread``); 0 for the end class. At sd 1
        NAFLD's visit gaps under three weeks (15% of real gaps; the expected gap is years)
        sat about 10 nats below the peak and 1% of the sampled gaps fell there; the
        inter-encounter KS was 0.110 at sd 1 and 0.073 at sd 2 (64 events, 3 seeds).

        With ``visits`` the kernel only spreads the day offsets: over them it is a
        log-distribution (``kernel - logsumexp(kernel)``), and the gaps under an hour (another
        event of the same visit) get 0, so the head alone sets how much mass goes to a gap
        under an hour against a gap of days, and the kernel only where among the days a later
        visit falls. Without it a zero gap in a short history sat about 160 nats below the
        expected gap, so the sampler all but never drew two events of one visit (NAFLD: 6% of
        gaps of 2-4 event histories were under an hour, real 51%; 64% against 49% in
        31-event histories); with the peak of the kernel for every gap under an hour (tried
        first) their twelve classes outweighed the few days near the expected gap (83%
        against 51% in short histories, 35% against 49% in long ones). The log-distribution
        is normalised over the day offsets whose typical gap fits in the time left: sampling
        masks the others, and near the range's end the kernel's mass beyond it had gone to
        the gaps under an hour. The same-day class is weighted by the share of the day left
        an hour after the last event (its half hours are the only ones it can take): a card
        log otherwise put 5.5% of its events at 23:00-24:00 against 1.6% real."""
        p = steps.float()
        n = _per_entity(lengths, p)
        left = torch.clamp(n - p, min=0.0)
        hours = torch.clamp(self.hours_left(p, elapsed_hours, anchors, ends), min=1.0)
        if self.anchor_position and anchors is not None:
            # before the anchor event the events left before it share the time left to it
            before = self._before_anchor(p, anchors)
            ahead = before > 0
            assert self.anchor_hours is not None
            to_anchor = torch.clamp(self.anchor_hours - elapsed_hours.float(), min=1.0)
            left = torch.where(ahead, before, left)
            hours = torch.where(ahead, to_anchor, hours)
        expect = torch.log(hours / (left + 1.0))
        off = -0.5 * ((self.log_gap_hours - expect[..., None]) / self.kernel_sd) ** 2
        off[..., 0] = 0.0
        # the anchor class: the head alone (its duration is where the entity is)
        last = off.shape[-1] - int(self.anchor_hours is not None)
        off[..., last:] = 0.0
        if self.visits:  # normalised over the day offsets whose typical gap still fits
            k = 1 + self.n_short
            fits = self.log_gap_hours[k:last] <= torch.log(hours)[..., None]
            lse = torch.logsumexp(off[..., k:last].masked_fill(~fits, -torch.inf), dim=-1,
                                  keepdim=True)
            off[..., k:last] = off[..., k:last] - torch.where(torch.isfinite(lse), lse, 0.0)
            off[..., 1:k] = 0.0
            # a later event the same day needs an hour after the last one: the same-day
            # class in proportion to the hours of the day left then
            tod = torch.remainder(elapsed_hours.float() + self.start_hour, 24.0)
            off[..., k] = off[..., k] + torch.log(torch.clamp(23.0 - tod, min=0.05) / 23.0)
        return off

    def contextualise(self, state: torch.Tensor, entity: torch.Tensor,
                      pos: torch.Tensor, seen: torch.Tensor | None = None) -> torch.Tensor:
        """The context of a step; ``seen``: the (..., sum of history sizes) indicator of the
        values of the history fields among the entity's earlier events."""
        if self.history_in is not None and seen is not None:
            state = state + self.history_in(seen)
        return torch.relu(self.context(torch.cat([state, entity, pos], dim=-1)))

    def seen_before(self, events: torch.Tensor, live: torch.Tensor) -> torch.Tensor | None:
        """(B, T, sum of history sizes): which values of each history field the events before
        each position held (the recurrence's decays forget; a set does not: a diagnosis made
        years earlier still shapes what comes, and a first diagnosis is not made twice)."""
        if not self.history_fields:
            return None
        parts = []
        for k, size in zip(self.history_fields, self.history_sizes):
            oh = F.one_hot(events[..., k].long().clamp(0, size - 1), size).float()
            upto = torch.cummax(oh * live[..., None].float(), dim=1).values
            parts.append(torch.cat([torch.zeros_like(upto[:, :1]), upto[:, :-1]], dim=1))
        return torch.cat(parts, dim=-1)

    def embeddings(self, codes: list[torch.Tensor]) -> list[torch.Tensor]:
        """Embeddings of the event fields (the predicted ones, then the day of week)."""
        sizes = [*self.target_sizes, self.dow_size]
        return [self.embed[k](F.one_hot(c.long(), n).float())
                for k, (c, n) in enumerate(zip(codes, sizes))]

    # ---- training ------------------------------------------------------------------------------
    def forward(self, entity_codes: torch.Tensor, events: torch.Tensor,
                lengths: torch.Tensor) -> torch.Tensor:
        """Per-entity negative log-likelihood.

        ``entity_codes`` (B, m); ``events`` (B, T, F+2): the target fields, the day of week, the
        hours since the start of the range;
        ``lengths`` (B,): events per entity (<= T). Position p predicts event p (or the end)."""
        b, t, _ = events.shape
        ent_oh = self.entity_onehot(entity_codes)
        loss = torch.zeros(b, device=events.device)
        at = 0
        for j, s in enumerate(self.entity_sizes):
            logits = self.entity_logits(j, ent_oh[:, :at])
            loss = loss + F.cross_entropy(logits, entity_codes[:, j].long(), reduction="none")
            at += s
        entity = self.entity_in(ent_oh)
        emb = self.embeddings([events[..., k] for k in range(events.shape[-1] - 1)])
        x = torch.stack(emb, dim=0).sum(dim=0)  # (B, T, W): the events as inputs
        states = [torch.zeros(b, self.width, device=x.device)]
        for i in range(t - 1):
            states.append(self.decay * states[-1] + (1 - self.decay) * x[:, i])
        state = torch.stack(states, dim=1)
        before = torch.cat([torch.zeros_like(events[:, :1, -1]), events[:, :-1, -1]], dim=1)
        anchors = self.anchor_positions(events[..., 0], lengths) if self.anchor_position \
            else None
        ends = None
        if self.followup and anchors is not None:  # each record's own last event
            last = events[torch.arange(b, device=x.device), (lengths - 1).clamp(min=0), -1]
            ends = torch.where(anchors >= 0, last.float(), torch.full_like(last.float(), math.nan))
        pos = self.positions(torch.arange(t, device=x.device).expand(b, t), before, lengths,
                             anchors, ends)
        steps = torch.arange(t, device=x.device)[None, :]
        live = steps < lengths[:, None]
        h = self.contextualise(state, entity[:, None, :].expand(b, t, self.width), pos,
                               self.seen_before(events, live))
        gap_mask = (steps <= lengths[:, None]) & (steps < self.max_events)
        gap_target = torch.where(live, events[..., 0].long(), torch.zeros_like(steps))
        is_day = gap_target > self.n_short
        for j, head in enumerate(self.heads):
            logits = head(h)
            if j == 0 and self.length_input:
                logits = logits + self.gap_offset(steps.expand(b, t), before, lengths, anchors,
                                                  ends)
            if j == 0:
                logits = self.mask_anchor(logits, before)
            target = gap_target if j == 0 else events[..., j].long()
            ce = F.cross_entropy(logits.reshape(b * t, -1), target.reshape(-1),
                                 reduction="none").reshape(b, t)
            mask = gap_mask if j == 0 else (live & is_day if j == 1 else live)
            loss = loss + (ce * mask).sum(dim=1)
            h = h + emb[j]
        return loss


def build(arch: dict[str, Any]) -> SequenceNet:
    return SequenceNet(arch["entity_sizes"], arch["target_sizes"], arch["dow_size"],
                       arch["width"], arch["max_events"], arch["n_short"], arch["span_hours"],
                       bool(arch.get("length_input", False)), arch.get("gap_hours"),
                       bool(arch.get("visit_offset", False)), float(arch.get("start_hour", 0.0)),
                       float(arch.get("gap_kernel_sd", 1.0)), arch.get("anchor_hours"),
                       bool(arch.get("anchor_position", False)), arch.get("history_fields"),
                       bool(arch.get("followup", False)))


def architecture(enc: Any, width: int, with_lengths: bool, *,
                 gap_spread: float = 1.0, anchor_position: bool = False,
                 history_fields: list[int] | None = None,
                 followup: bool = False) -> dict[str, Any]:
    """The network shape of an encoding (``SequenceEncoding``): public, saved in model.json."""
    schema = enc.schema
    arch = {"entity_sizes": enc.entity_sizes, "target_sizes": enc.target_sizes,
            "dow_size": 7, "width": int(width), "max_events": schema.max_events,
            "n_short": enc.n_short, "span_hours": schema.span_seconds / 3600.0,
            "length_input": with_lengths}
    if with_lengths:
        arch["gap_hours"] = enc.gap_hours().tolist()
        arch["visit_offset"] = True  # models saved before it keep the older offset
        arch["start_hour"] = (enc.start % 86400.0) / 3600.0
        arch["gap_kernel_sd"] = float(gap_spread)  # models saved before it: 1
    if history_fields:
        arch["history_fields"] = [int(k) for k in history_fields]
    if enc.anchor_class is not None:
        arch["anchor_hours"] = enc.anchor_hours
        arch["anchor_position"] = bool(anchor_position)
        arch["followup"] = bool(followup and anchor_position)
    return arch


def start_heads(net: SequenceNet, enc: Any, tod_logp: Any | None) -> None:
    """The gap head starts from the encoding's data-independent prior; the time-of-day head
    from ``tod_logp`` (the released profile's log-prior), when given. With the visit offset
    (``net.visits``) the kernel shapes the day offsets, so their biases start level, at the
    log of the prior's total mass of days: the prior keeps only its split between the end,
    gaps under an hour and gaps of days (its ``-log(1 + days)`` shape on top of the kernel
    had put the mass of a short history on gaps under an hour)."""
    prior = enc.gap_prior()
    if getattr(net, "visits", False):
        k, days_end = 1 + net.n_short, len(prior) - int(net.anchor_hours is not None)
        prior[k:days_end] = np.log(np.exp(prior[k:days_end]).sum())
        prior[days_end:] = prior[k]  # the anchor day: as likely as a gap of days
    with torch.no_grad():
        last: Any = list(net.heads[0].children())[-1]
        last.bias.add_(torch.as_tensor(prior, dtype=torch.float32))
        if tod_logp is not None:
            last = list(net.heads[1].children())[-1]
            last.bias.add_(torch.as_tensor(tod_logp, dtype=torch.float32))


def train_epochs(trainer: Any, records: Any, max_events: int) -> None:
    """Every planned DP-SGD step of ``trainer`` over the packed entity ``records``, each
    batch cut to its longest history."""
    m, L, width = records.entities.shape[1], max_events, records.events.shape[2]
    for batch in trainer.batches(torch.as_tensor(records.packed())):
        lengths = batch[:, 0].long()
        t = max(1, min(L, int(lengths.max().item()) + 1)) if batch.shape[0] else 1
        evs = batch[:, 1 + m:].reshape(-1, L, width)[:, :t]
        trainer.step(trainer.module(batch[:, 1:1 + m], evs, lengths))

"""Geometry on tensors: oriented-box overlap (separating axis theorem), segment-box occlusion,
and leaders/followers per lane by sorting agents on a lane-frame key (no all-pairs search)."""
from __future__ import annotations

_LANE_STRIDE = 1.0e6  # m between lanes in the sort key; roads are far shorter
_OFFSET = 1.0e5  # m added to x so keys are positive


def obb_overlap(xa, ya, ha, la, wa, xb, yb, hb, lb, wb):
    """True where box a and box b overlap (touching counts as apart). Broadcasts; boxes are
    centre (x, y), heading h, length l, width w. Separating axis theorem on the 4 box axes
    (Gottschalk, Lin & Manocha 1996), written out in components (no small reductions)."""
    import torch

    ca, sa, cb, sb = torch.cos(ha), torch.sin(ha), torch.cos(hb), torch.sin(hb)
    dx, dy = xb - xa, yb - ya
    hla, hwa, hlb, hwb = 0.5 * la, 0.5 * wa, 0.5 * lb, 0.5 * wb
    c = (ca * cb + sa * sb).abs()  # |cos(ha - hb)|
    s = (sa * cb - ca * sb).abs()  # |sin(ha - hb)|
    # axes of a: its heading and its normal; of b likewise
    sep = (dx * ca + dy * sa).abs() >= hla + hlb * c + hwb * s
    sep = sep | ((-dx * sa + dy * ca).abs() >= hwa + hlb * s + hwb * c)
    sep = sep | ((dx * cb + dy * sb).abs() >= hlb + hla * c + hwa * s)
    sep = sep | ((-dx * sb + dy * cb).abs() >= hwb + hla * s + hwa * c)
    return ~sep


def segment_hits_box(x0, y0, x1, y1, bx, by, bh, bl, bw):
    """True where the segment (x0,y0)-(x1,y1) crosses the box (slab test in the box frame)."""
    import torch

    c, s = torch.cos(bh), torch.sin(bh)
    px, py = x0 - bx, y0 - by
    qx, qy = x1 - bx, y1 - by
    u0, v0 = px * c + py * s, -px * s + py * c
    u1, v1 = qx * c + qy * s, -qx * s + qy * c
    t_lo = torch.zeros_like(u0)
    t_hi = torch.ones_like(u0)
    for a0, a1, half in ((u0, u1, 0.5 * bl), (v0, v1, 0.5 * bw)):
        da = a1 - a0
        small = da.abs() < 1e-9
        inv = 1.0 / torch.where(small, torch.ones_like(da), da)
        ta, tb = (-half - a0) * inv, (half - a0) * inv
        lo, hi = torch.minimum(ta, tb), torch.maximum(ta, tb)
        inside = (a0 >= -half) & (a0 <= half)
        t_lo = torch.where(small, torch.where(inside, t_lo, torch.full_like(t_lo, 2.0)),
                           torch.maximum(t_lo, lo))
        t_hi = torch.where(small, t_hi, torch.minimum(t_hi, hi))
    return t_lo <= t_hi


class LaneIndex:
    """Agents sorted per world by (lane, x). ``lane`` is (W, A) long with -1 for agents off the
    lanes; ``lane2`` (optional) is a second lane an agent's footprint also covers (while it
    changes lanes or crosses), so that followers in both lanes see it. Queries return agent
    indices, with A (one past the last agent, a padding slot) where there is none, so gathers
    from padded tensors need no masking. Sorted entries sit at columns 1..size, with padding
    columns on both sides: a position one before the first or one past the last is "none"."""

    def __init__(self, lane, x, lane2=None):
        import torch

        W, n = lane.shape
        self.n = n
        # second-lane entries only for the agents that have one, compacted into m columns
        # (m = the most in any world; few agents straddle two lanes at a time)
        lane2c, x2c, ids = second_lanes(lane2, x) if lane2 is not None else (None,) * 3
        if ids is None:
            all_lane, all_x = lane, x
        else:
            all_lane, all_x = torch.cat((lane, lane2c), 1), torch.cat((x, x2c), 1)
        off = all_lane < 0
        key = all_lane.double()
        key.mul_(_LANE_STRIDE).add_(all_x).add_(_OFFSET)
        key.masked_fill_(off, 1e15)
        self.key, order = torch.sort(key, dim=1, stable=True)
        # padded tables: column -> agent and column -> lane
        self.order, inner = _padded(order, n)
        if ids is None:
            inner.copy_(order)
        else:  # entries n.. are second lanes: their agents from the compaction
            torch.where(order < n, order, ids.gather(1, (order - n).clamp_(min=0)), out=inner)
        self.lane_sorted, inner = _padded(all_lane, -2)
        torch.gather(all_lane.masked_fill(off, -3), 1, order, out=inner)
        rank = torch.empty_like(order)
        rank.scatter_(1, order, torch.arange(1, order.shape[1] + 1, device=lane.device)
                      .expand_as(order))
        self.rank = rank[:, :n]  # column of each agent's own (primary) entry
        # the straddling agents (W, m; A pads) with the columns and lanes of their second entries
        self.straddlers, self._rank2, self._lane2 = ids, rank[:, n:], lane2c
        self.lane2 = lane2
        self.lane = lane
        self._leader = self._leader2 = None

    def _pick(self, col, lane):
        """The agent at column ``col`` of the sorted entries if it is in ``lane``, else A."""
        import torch

        same = torch.gather(self.lane_sorted, 1, col) == lane
        return torch.where(same, torch.gather(self.order, 1, col), self.n)

    def leader(self):
        """The next agent ahead in the same lane (computed once per index)."""
        if self._leader is None:
            self._leader = self._pick(self.rank + 1, self.lane)
        return self._leader

    def leader2(self):
        """``(straddlers, leaders)``: the agents whose footprint also covers a second lane
        (W, m; A pads the worlds with fewer) and the next agent ahead of each in that lane (A if
        none); None when no agent straddles two lanes."""
        if self.straddlers is None:
            return None
        if self._leader2 is None:
            self._leader2 = self._pick(self._rank2 + 1, self._lane2)
        return self.straddlers, self._leader2

    def follower(self):
        return self._pick(self.rank - 1, self.lane)

    def around(self, lane, x):
        """(leader, follower) in ``lane`` around position ``x`` (the agent itself not included,
        as it is not in that lane). ``lane`` -1 gives none; ``lane`` may hold several blocks of
        columns, one per lane asked about, all at the positions ``x``."""
        import torch

        q = lane.double()
        q.mul_(_LANE_STRIDE).view(len(q), -1, x.shape[1]).add_(x[:, None]).view_as(q)
        col = torch.searchsorted(self.key, q.add_(_OFFSET))
        col += 1
        ahead = self._pick(col, lane)
        col -= 1
        return ahead, self._pick(col, lane)


def second_lanes(lane2, x):
    """Compact the second-lane entries: (lane, x, agent) of each world's straddling agents in
    m columns, in agent order (lane -1 and agent A pad worlds with fewer); all None when no
    agent has a second lane."""
    import torch

    W, n = lane2.shape
    has = lane2 >= 0
    m = int(has.sum(1).max()) if W else 0
    if m == 0:
        return None, None, None
    slot = torch.where(has, has.cumsum(1) - 1, m)
    ids = torch.full((W, m + 1), n, dtype=torch.long, device=lane2.device)
    ids.scatter_(1, slot, torch.arange(n, device=lane2.device).expand(W, n))
    ids[:, m] = n  # the column where agents without a second lane were dropped
    ids = ids[:, :m].contiguous()
    lane2c = pad(lane2, -1).gather(1, ids)
    x2c = pad(x, 0.0).gather(1, ids)
    return lane2c, x2c, ids


def _padded(like, fill):
    """An uninitialised copy of ``like``'s shape with one more column on each side holding
    ``fill``; returns (padded, its inner columns)."""
    import torch

    t = torch.empty((like.shape[0], like.shape[1] + 2), dtype=like.dtype, device=like.device)
    t[:, 0] = fill
    t[:, -1] = fill
    return t, t[:, 1:-1]


def pad(t, fill: float):
    """Append one padding column (the "no agent" slot A) holding ``fill``."""
    import torch

    return torch.cat((t, torch.full_like(t[:, :1], fill)), 1)

"""Labels computed inside the step (ground truth, not the ego's perception) and their
per-episode summary.

Per step, for the ego, two time-to-collision definitions (Hayward 1972): ``ttc``, the first
time the bounding boxes of the ego and any agent would overlap if both kept their velocities
(crossing pedestrians and cars count, not only the car ahead), and ``ttc_long``, the usual
longitudinal TTC, bumper gap over closing speed to the nearest object in the ego's path. Time
headway and deceleration rate to avoid a crash (DRAC, Almqvist et al. 1991) against that
object; all measured in the ego's frame with each box at its own heading. A DRAC conflict
(above ``labels.drac_critical``, Archer 2005); collision (oriented boxes); near miss (box TTC
below a threshold, 1.5 s by default after van der Horst 1990); off-road (ego footprint beyond
the road edge).
"""
from __future__ import annotations

import math
from typing import Any, NamedTuple

LABEL_COLUMNS = ("ttc", "ttc_long", "thw", "drac", "drac_conflict", "collision", "near_miss",
                 "off_road")


def ego_labels(sim) -> dict:
    """Per-step labels of the ego, (W,) each. ``ttc``: box time-to-overlap (any agent, any
    direction); ``ttc_long``: the usual longitudinal TTC, gap / closing speed to the nearest
    object in the ego's path (inf when not closing); ``thw``, ``drac`` to that object;
    ``drac_conflict``: DRAC above ``labels.drac_critical`` (Archer 2005)."""
    import torch

    sc = sim.scene
    view = ego_frame(sim)
    gap, v_along = view.gap, view.v_along
    ahead = (view.across.abs() < view.reach) & (gap > -0.5 * sc.length[0]) & sim.not_ego
    g = torch.where(ahead, gap.clamp(min=0.0), math.inf)
    gl, j = g.min(dim=1)
    vl = v_along.gather(1, j[:, None])[:, 0]
    ve = sim.v[:, 0]
    closing = ve - vl
    has = torch.isfinite(gl)
    collision = sim.collided[:, 0]
    ttc = torch.where(collision, 0.0, box_ttc(sim))
    ttc_long = torch.where(has & (closing > 0), gl / closing.clamp(min=1e-6), math.inf)
    ttc_long = torch.where(collision, 0.0, ttc_long)
    thw = torch.where(has & (ve > 0.1), gl / ve.clamp(min=0.1), math.inf)
    drac = torch.where(has & (closing > 0), closing**2 / (2 * gl.clamp(min=0.05)), 0.0)
    r = sc.road
    ey = sim.y[:, 0]
    off = (ey - 0.5 * sc.width[0] < r.y_min) | (ey + 0.5 * sc.width[0] > r.y_max)
    near = ttc < sim.spec.labels.near_miss_ttc
    return {"ttc": ttc, "ttc_long": ttc_long, "thw": thw, "drac": drac,
            "drac_conflict": drac > sim.spec.labels.drac_critical, "collision": collision,
            "near_miss": near, "off_road": off, "gap": gl}


class EgoView(NamedTuple):
    """Every agent seen in the ego's frame (x along its heading), with its box at its own
    heading; each (W, A). ``gap``: bumper-to-bumper distance ahead along the ego's heading;
    ``across``: lateral offset of its centre; ``reach``: the lateral offset below which the two
    boxes overlap across the ego's heading; ``v_along``, ``v_across``: its velocity."""

    gap: Any
    across: Any
    reach: Any
    v_along: Any
    v_across: Any


def ego_frame(sim) -> EgoView:
    """The :class:`EgoView` of the current state (computed once per state)."""
    def make():
        sc = sim.scene
        (dx, dy), (c, s) = sim.relative(), sim.trig()
        c0, s0 = c[:, :1], s[:, :1]
        along, across = dx * c0 + dy * s0, dy * c0 - dx * s0
        cr, sr = (c * c0 + s * s0).abs(), (s * c0 - c * s0).abs()  # |cos|, |sin| of h - h_ego
        ext_along = 0.5 * (sc.length * cr + sc.width * sr)
        reach = 0.5 * (sc.width[0] + sc.length * sr + sc.width * cr)
        vx, vy = sim.velocity()
        return EgoView(along - 0.5 * sc.length[0] - ext_along, across, reach,
                       vx * c0 + vy * s0, vy * c0 - vx * s0)

    return sim._cached("ego_view", (sim.x, sim.y, sim.h, sim.v), make)


_STILL = 1e-6  # m/s: relative speeds below this count as none
_SMALL = 4096  # agents in a batch below which box_ttc tests every pair


def _entry(d, v, half):
    """Times (enter, leave) of |d + v t| < half; (inf, -inf) if never."""
    import torch

    small = v.abs() < _STILL
    vs = torch.where(small, 1.0, v)
    a, b = (-half - d) / vs, (half - d) / vs
    lo, hi = torch.minimum(a, b), torch.maximum(a, b)
    inside = d.abs() < half
    lo = torch.where(small, torch.where(inside, -math.inf, math.inf), lo)
    hi = torch.where(small, torch.where(inside, math.inf, -math.inf), hi)
    return lo, hi


def box_ttc(sim):
    """Ego TTC (W,): earliest t >= 0 at which the ego's and another agent's bounding boxes
    (axis-aligned hulls of the oriented boxes) overlap under constant velocities. The x and y
    axes are handled together as the leading dimension of (2, W, A) tensors."""
    import torch

    ext, vel, rel = sim.extents(), sim.velocity(), sim.relative()
    rel_v = vel - vel[..., :1]
    half = ext + ext[..., :1]
    if sim.W * sim.A <= _SMALL:  # a few worlds: filtering costs more than it saves
        t = torch.where(sim.not_ego, _first_overlap(rel, rel_v, half), math.inf)
        return t.min(dim=1).values
    # Only agents inside the ego's band or closing on it, along x and along y, can ever overlap
    # it (for the others one axis's interval of overlap is empty or in the past: TTC inf), so
    # the exact test runs on those, compacted.
    cand = (rel.abs() < half) | ((rel * rel_v < 0) & (rel_v.abs() >= _STILL))
    q = (cand[0] & cand[1] & sim.not_ego).view(-1).nonzero()[:, 0]
    at = lambda t: t.reshape(2, -1).index_select(1, q)  # noqa: E731
    t = _first_overlap(at(rel), at(rel_v), at(half))
    out = torch.full((sim.W,), math.inf, dtype=t.dtype, device=t.device)
    return out.scatter_reduce_(0, q // sim.A, t, "amin")


def _first_overlap(d, v, half):
    """First time t >= 0 at which |d + v t| < half holds on both axes (leading dimension 2),
    inf if never."""
    import torch

    lo, hi = _entry(d, v, half)
    enter = torch.maximum(lo[0], lo[1]).clamp(min=0.0)
    leave = torch.minimum(hi[0], hi[1])
    return torch.where(enter < leave, enter, math.inf)


class EpisodeSummary:
    """Accumulates per-step labels into per-episode labels, on tensors."""

    def __init__(self, sim):
        import torch

        W, dev, dt = sim.W, sim.x.device, sim.x.dtype
        self.failure_kind = sim.spec.labels.failure
        self.min_ttc = torch.full((W,), math.inf, device=dev, dtype=dt)
        self.min_ttc_long = torch.full((W,), math.inf, device=dev, dtype=dt)
        self.min_gap = torch.full((W,), math.inf, device=dev, dtype=dt)
        self.min_thw = torch.full((W,), math.inf, device=dev, dtype=dt)
        self.max_drac = torch.zeros((W,), device=dev, dtype=dt)
        self.collision = torch.zeros((W,), dtype=torch.bool, device=dev)
        self.near_miss = torch.zeros_like(self.collision)
        self.drac_conflict = torch.zeros_like(self.collision)
        self.off_road = torch.zeros_like(self.collision)
        self.first_failure = torch.full((W,), math.nan, device=dev, dtype=dt)
        self.impact_speed = torch.full((W,), math.nan, device=dev, dtype=dt)
        self.v_start = sim.v[:, 0].clone()
        self.v_end = sim.v[:, 0].clone()  # ego speed at the collision, else its lowest

    def failed(self, lab):
        return lab["collision"] | (lab["near_miss"] if self.failure_kind == "near_miss"
                                   else lab["collision"])

    def update(self, lab, sim) -> None:
        import torch

        self.min_ttc = torch.minimum(self.min_ttc, lab["ttc"])
        self.min_ttc_long = torch.minimum(self.min_ttc_long, lab["ttc_long"])
        self.min_gap = torch.minimum(self.min_gap, lab["gap"])
        self.min_thw = torch.minimum(self.min_thw, lab["thw"])
        self.drac_conflict |= lab["drac_conflict"]
        self.max_drac = torch.maximum(self.max_drac, lab["drac"])
        new_coll = lab["collision"] & ~self.collision
        self.impact_speed = torch.where(new_coll, sim.impact_speed(), self.impact_speed)
        self.v_end = torch.where(new_coll, sim.v[:, 0],
                                 torch.where(self.collision, self.v_end,
                                             torch.minimum(self.v_end, sim.v[:, 0])))
        self.collision |= lab["collision"]
        self.near_miss |= lab["near_miss"]
        self.off_road |= lab["off_road"]
        f = self.failed(lab) & torch.isnan(self.first_failure)
        self.first_failure = torch.where(f, sim.t,
                                         self.first_failure)

    @property
    def speed_reduction(self):
        """The Euro NCAP outcome: the ego's initial speed minus its speed at the collision, or
        minus its lowest speed when it avoided one [m/s]."""
        return self.v_start - self.v_end

    @property
    def failure(self):
        return self.collision | (self.near_miss if self.failure_kind == "near_miss"
                                 else self.collision)

    def score(self):
        """A continuous failure score for the search, lower is worse, -1 after a collision; an
        episode fails when its score is below ``failure_level``. Near-miss families: the
        minimum box TTC. Collision families: the smallest bumper gap to the object in the ego's
        path [m], which keeps falling as a crash comes nearer, whereas the minimum TTC stops at
        about the AEB's trigger in every episode where the AEB brakes."""
        import torch

        inner = self.min_gap if self.failure_kind == "collision" else self.min_ttc
        return torch.where(self.collision, torch.full_like(inner, -1.0), inner.clamp(max=1e3))

    def failure_level(self, near_miss_ttc: float) -> float:
        return near_miss_ttc if self.failure_kind == "near_miss" else 0.0

"""Labels computed inside the step (ground truth, not the ego's perception) and their
per-episode summary.

Per step, for the ego: time-to-collision (Hayward 1972) against every agent, as the first time
their bounding boxes would overlap if both kept their velocities (so crossing pedestrians and
cars count, not only the car ahead); time headway and deceleration rate to avoid a crash
(DRAC, Almqvist et al. 1991) against the nearest object in the ego's lane path; collision
(oriented boxes); near miss (TTC below a threshold, 1.5 s by default after van der Horst 1990);
off-road (ego footprint beyond the road edge).
"""
from __future__ import annotations

import math

LABEL_COLUMNS = ("ttc", "thw", "drac", "collision", "near_miss", "off_road")


def ego_labels(sim) -> dict:
    import torch

    sc = sim.scene
    x, y, v, h = sim.x, sim.y, sim.v, sim.h
    dx, dy = x - x[:, :1], y - y[:, :1]
    half_w = 0.5 * (sc.width[0] + sc.width)
    gap = dx - 0.5 * (sc.length[0] + sc.length)
    ahead = (dy.abs() < half_w) & (gap > -0.5 * sc.length[0])
    ahead[:, 0] = False
    g = torch.where(ahead, gap.clamp(min=0.0), torch.full_like(gap, math.inf))
    gl, j = g.min(dim=1)
    vl = (v * torch.cos(h)).gather(1, j[:, None])[:, 0]
    ve = v[:, 0]
    closing = ve - vl
    has = torch.isfinite(gl)
    inf = torch.full_like(gl, math.inf)
    ttc = box_ttc(sim)
    thw = torch.where(has & (ve > 0.1), gl / ve.clamp(min=0.1), inf)
    drac = torch.where(has & (closing > 0), closing**2 / (2 * gl.clamp(min=0.05)),
                       torch.zeros_like(gl))
    collision = sim.collided[:, 0]
    ttc = torch.where(collision, torch.zeros_like(ttc), ttc)
    r = sc.road
    ey = y[:, 0]
    off = (ey - 0.5 * sc.width[0] < r.y_min) | (ey + 0.5 * sc.width[0] > r.y_max)
    near = ttc < sim.spec.labels.near_miss_ttc
    return {"ttc": ttc, "thw": thw, "drac": drac, "collision": collision, "near_miss": near,
            "off_road": off}


def _entry(d, v, half):
    """Times (enter, leave) of |d + v t| < half; (inf, -inf) if never."""
    import torch

    small = v.abs() < 1e-6
    vs = torch.where(small, torch.ones_like(v), v)
    a, b = (-half - d) / vs, (half - d) / vs
    lo, hi = torch.minimum(a, b), torch.maximum(a, b)
    inside = d.abs() < half
    big = torch.full_like(d, math.inf)
    lo = torch.where(small, torch.where(inside, -big, big), lo)
    hi = torch.where(small, torch.where(inside, big, -big), hi)
    return lo, hi


def box_ttc(sim):
    """Ego TTC (W,): earliest t >= 0 at which the ego's and another agent's bounding boxes
    (axis-aligned hulls of the oriented boxes) overlap under constant velocities."""
    import torch

    sc = sim.scene
    c, s = torch.cos(sim.h), torch.sin(sim.h)
    ex = 0.5 * (sc.length * c.abs() + sc.width * s.abs())
    ey = 0.5 * (sc.length * s.abs() + sc.width * c.abs())
    vx, vy = sim.v * c, sim.v * s
    tx0, tx1 = _entry(sim.x - sim.x[:, :1], vx - vx[:, :1], ex + ex[:, :1])
    ty0, ty1 = _entry(sim.y - sim.y[:, :1], vy - vy[:, :1], ey + ey[:, :1])
    enter = torch.maximum(torch.maximum(tx0, ty0), torch.zeros_like(tx0))
    leave = torch.minimum(tx1, ty1)
    t = torch.where(enter < leave, enter, torch.full_like(enter, math.inf))
    t[:, 0] = math.inf
    return t.min(dim=1).values


class EpisodeSummary:
    """Accumulates per-step labels into per-episode labels, on tensors."""

    def __init__(self, sim):
        import torch

        W, dev, dt = sim.W, sim.x.device, sim.x.dtype
        self.failure_kind = sim.spec.labels.failure
        self.min_ttc = torch.full((W,), math.inf, device=dev, dtype=dt)
        self.min_thw = torch.full((W,), math.inf, device=dev, dtype=dt)
        self.max_drac = torch.zeros((W,), device=dev, dtype=dt)
        self.collision = torch.zeros((W,), dtype=torch.bool, device=dev)
        self.near_miss = torch.zeros_like(self.collision)
        self.off_road = torch.zeros_like(self.collision)
        self.first_failure = torch.full((W,), math.nan, device=dev, dtype=dt)
        self.impact_speed = torch.full((W,), math.nan, device=dev, dtype=dt)

    def failed(self, lab):
        return lab["collision"] | (lab["near_miss"] if self.failure_kind == "near_miss"
                                   else lab["collision"])

    def update(self, lab, sim) -> None:
        import torch

        self.min_ttc = torch.minimum(self.min_ttc, lab["ttc"])
        self.min_thw = torch.minimum(self.min_thw, lab["thw"])
        self.max_drac = torch.maximum(self.max_drac, lab["drac"])
        new_coll = lab["collision"] & ~self.collision
        self.impact_speed = torch.where(new_coll, sim.v_before_impact(), self.impact_speed)
        self.collision |= lab["collision"]
        self.near_miss |= lab["near_miss"]
        self.off_road |= lab["off_road"]
        f = self.failed(lab) & torch.isnan(self.first_failure)
        self.first_failure = torch.where(f, sim.t,
                                         self.first_failure)

    @property
    def failure(self):
        return self.collision | (self.near_miss if self.failure_kind == "near_miss"
                                 else self.collision)

    def score(self):
        """A continuous failure score for the search: the minimum TTC, -1 after a collision;
        lower is worse. An episode fails when its score is below ``failure_level``."""
        import torch

        return torch.where(self.collision, torch.full_like(self.min_ttc, -1.0),
                           self.min_ttc.clamp(max=1e3))

    def failure_level(self, near_miss_ttc: float) -> float:
        return near_miss_ttc if self.failure_kind == "near_miss" else 0.0

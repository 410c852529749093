"""Ego-centric observations for the gymnasium environments, batched over worlds.

Shape (1 + K, 6), every entry in [-1, 1]:
- row 0, the ego: [speed / 40 m/s, lateral position across the road in [-1, 1],
  heading / (pi/2), sensor range / 200 m, 1 (present), 0];
- rows 1..K, the K nearest agents the ego's sensor sees (within range, not occluded), nearest
  first: [dx / range, dy / 20 m, (vx - ego speed) / 40 m/s, vy / 10 m/s, type code / 3, 1];
  unused rows are zeros (the last column says whether a row is present).
"""
from __future__ import annotations

import math

from synthscape_autonomy.geometry import segment_hits_box

FEATURES = 6
SPEED_SCALE, LAT_SCALE, VY_SCALE, RANGE_SCALE = 40.0, 20.0, 10.0, 200.0


def observe(sim, k: int):
    """(W, 1 + k, 6) float32 observations for every world."""
    import torch

    x, y, v, h = sim.x, sim.y, sim.v, sim.h
    dx, dy = sim.relative()
    vx, vy = sim.velocity()
    dist = torch.sqrt(dx * dx + dy * dy)
    rng = sim.sensor_range[:, None]
    seen = (dist <= rng) & sim.not_ego
    occ = sim.scene.occluders
    if occ.numel():
        hit = segment_hits_box(x[:, :1, None], y[:, :1, None], x[:, :, None], y[:, :, None],
                               x[:, occ][:, None, :], y[:, occ][:, None, :],
                               h[:, occ][:, None, :], sim.scene.length[occ], sim.scene.width[occ])
        own = torch.arange(sim.A, device=x.device)[:, None] == occ[None, :]
        seen = seen & ~(hit & ~own).any(-1)
    kk = min(k, sim.A - 1)
    obs = torch.zeros((sim.W, 1 + k, FEATURES), dtype=x.dtype, device=x.device)
    if kk > 0:
        near_d, j = torch.topk(torch.where(seen, dist, math.inf), kk, dim=1, largest=False)
        rows = torch.stack((dx / rng, dy / LAT_SCALE, (vx - v[:, :1]) / SPEED_SCALE,
                            vy / VY_SCALE, sim.scene.type_code.to(x.dtype).expand_as(x) / 3.0,
                            torch.ones_like(x)), -1)
        others = rows.gather(1, j[..., None].expand(sim.W, kk, FEATURES))
        obs[:, 1:1 + kk] = torch.where(torch.isfinite(near_d)[..., None], others, 0.0)
    r = sim.scene.road
    mid, half = 0.5 * (r.y_min + r.y_max), 0.5 * (r.y_max - r.y_min) + 2.0
    obs[:, 0, 0] = v[:, 0] / SPEED_SCALE
    obs[:, 0, 1] = (y[:, 0] - mid) / half
    obs[:, 0, 2] = h[:, 0] / (math.pi / 2)
    obs[:, 0, 3] = sim.sensor_range / RANGE_SCALE
    obs[:, 0, 4] = 1.0
    return obs.clamp_(-1.0, 1.0).to(torch.float32)


def reward(sim, labels):
    """Progress towards the desired speed, minus 1 for a collision and 0.5 for leaving the road;
    in [-1.5, 1]."""
    v0 = sim.params["desired_speed"][:, 0]  # clamped to >= 0.1 m/s when the episode starts
    progress = (sim.v[:, 0] / v0).clamp(0.0, 1.0)
    return progress - labels["collision"].to(progress.dtype) \
        - 0.5 * labels["off_road"].to(progress.dtype)

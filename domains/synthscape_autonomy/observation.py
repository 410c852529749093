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
    dx, dy = x - x[:, :1], y - y[:, :1]
    dist = torch.sqrt(dx * dx + dy * dy)
    rng = sim.sensor_range[:, None]
    seen = dist <= rng
    seen[:, 0] = False
    occ = sim.scene.occluders
    if occ.numel():
        hit = segment_hits_box(x[:, :1, None], y[:, :1, None], x[:, :, None], y[:, :, None],
                               x[:, occ][:, None, :], y[:, occ][:, None, :],
                               h[:, occ][:, None, :], sim.scene.length[occ], sim.scene.width[occ])
        own = torch.arange(sim.A, device=x.device)[:, None] == occ[None, :]
        seen = seen & ~(hit & ~own).any(-1)
    kk = min(k, sim.A - 1)
    d = torch.where(seen, dist, torch.full_like(dist, math.inf))
    near_d, j = torch.topk(d, kk, dim=1, largest=False) if kk > 0 else (d[:, :0], dx[:, :0].long())
    present = torch.isfinite(near_d)
    g = lambda t: t.gather(1, j)  # noqa: E731
    vx, vy = v * torch.cos(h), v * torch.sin(h)
    others = torch.stack((g(dx) / rng, g(dy) / LAT_SCALE, (g(vx) - v[:, :1]) / SPEED_SCALE,
                          g(vy) / VY_SCALE, g(sim.scene.type_code.to(x.dtype).expand_as(x)) / 3.0,
                          torch.ones_like(near_d)), -1)
    others = torch.where(present[..., None], others, torch.zeros_like(others))
    if kk < k:
        others = torch.cat((others, torch.zeros((sim.W, k - kk, FEATURES), dtype=x.dtype,
                                                device=x.device)), 1)
    r = sim.scene.road
    mid, half = 0.5 * (r.y_min + r.y_max), 0.5 * (r.y_max - r.y_min) + 2.0
    ego = torch.stack((v[:, 0] / SPEED_SCALE, (y[:, 0] - mid) / half, h[:, 0] / (math.pi / 2),
                       sim.sensor_range / RANGE_SCALE, torch.ones_like(v[:, 0]),
                       torch.zeros_like(v[:, 0])), -1)
    obs = torch.cat((ego[:, None, :], others), 1)
    return obs.clamp(-1.0, 1.0).to(torch.float32)


def reward(sim, labels):
    """Progress towards the desired speed, minus 1 for a collision and 0.5 for leaving the road;
    in [-1.5, 1]."""
    import torch

    v0 = sim.params["desired_speed"][:, 0]
    progress = (sim.v[:, 0] / v0.clamp(min=0.1)).clamp(0.0, 1.0)
    return progress - labels["collision"].to(progress.dtype) \
        - 0.5 * labels["off_road"].to(progress.dtype) + torch.zeros_like(progress)

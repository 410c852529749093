"""The ego's sensor model: what the rule-based ego knows of the other agents, instead of the
ground truth.

An agent is visible when it is within the sensor's range (scaled by weather and light), inside
its horizontal field of view and not hidden behind an occluder (line of sight). Each frame a
visible agent is detected with the per-frame detection probability (scaled by weather and
light); a track is confirmed once it has been detected for the confirmation time (the
``perception_latency`` plus what weather and light add), so misses delay confirmation. The
tracked leader's gap and speed carry white measurement noise, and ghost objects (false
positives) appear in the path at ``false_positive_rate`` per second and stay tracked for
``ghost_duration``. All draws are keyed by (seed, episode, step, agent), like every draw of
the simulator. The processing delay is part of the ego's perception-to-actuation latency,
applied to its command (:class:`synthscape_autonomy.policy.Actuator`).
"""
from __future__ import annotations

import math

from synthscape_autonomy import _rng
from synthscape_autonomy.frame import world_state
from synthscape_autonomy.geometry import segment_hits_box
from synthscape_autonomy.labels import ego_frame

_STREAMS = {"detect": 11, "gap": 12, "speed": 13, "ghost": 14, "ghost_at": 15}
GHOST_MIN_GAP = 5.0  # m: ghosts appear between this and half the sensor range ahead


class Sensor:
    """``perceive(sim)`` gives the ego's view of the current state; ``measure(sim, gap, speed,
    has)`` adds the measurement noise and ghost objects to the tracked leader."""

    def __init__(self, ego_spec):
        self.cfg = ego_spec
        self.half_fov = math.radians(min(ego_spec.fov, 360.0) / 2.0)

    def reset(self, sim) -> None:
        import torch

        self.detect = torch.zeros_like(sim.x)
        self.ghost_left = torch.zeros_like(sim.x[:, 0])
        self.ghost_gap = torch.full_like(sim.x[:, 0], math.inf)
        ep, seed = sim.episode[:, None], sim.spec.seed
        self._u = _rng.KeyedUniform(seed, ep, sim.agent_ids, _STREAMS["detect"])
        self._world = {k: (_rng.KeyedNormal if k in ("gap", "speed") else _rng.KeyedUniform)(
            seed, ep, sim.agent_ids[:, :1], _STREAMS[k]) for k in ("gap", "speed", "ghost",
                                                                  "ghost_at")}

    def reset_worlds(self, sim, rows) -> None:
        self.detect[rows] = 0.0
        self.ghost_left[rows] = 0.0
        self.ghost_gap[rows] = math.inf
        for draw in (self._u, *self._world.values()):
            draw.rekey(rows, sim.episode[rows][:, None])

    def visible(self, sim):
        """(W, A): in range, in the field of view and in the line of sight."""
        import torch

        if sim.scene.road.frame is None:
            view = ego_frame(sim)
            along, across = view.gap + 0.5 * sim.scene.length[0], view.across
        else:  # on a curved road: range and field of view in world coordinates
            wx, wy, wh = world_state(sim.scene.road, sim.x, sim.y, sim.h)
            dx, dy = wx - wx[:, :1], wy - wy[:, :1]
            c0, s0 = torch.cos(wh[:, :1]), torch.sin(wh[:, :1])
            along, across = dx * c0 + dy * s0, dy * c0 - dx * s0
        dist = torch.sqrt(along * along + across * across)
        seen = sim.not_ego & (dist <= sim.sensor_range[:, None])
        if self.half_fov < math.pi:
            seen = seen & (torch.atan2(across.abs(), along) <= self.half_fov)
        occ = sim.scene.occluders
        if occ.numel():
            x, y = sim.x, sim.y
            hit = segment_hits_box(x[:, :1, None], y[:, :1, None], x[:, :, None], y[:, :, None],
                                   x[:, occ][:, None, :], y[:, occ][:, None, :],
                                   sim.h[:, occ][:, None, :], sim.scene.length[occ],
                                   sim.scene.width[occ])
            self_box = torch.arange(sim.A, device=x.device)[:, None] == occ[None, :]
            seen = seen & ~(hit & ~self_box).any(-1)
        return seen

    def perceive(self, sim):
        """(confirmed tracks, in the predicted path, gap, speed along the ego's heading), each
        (W, A); gap and speed are true values (see :meth:`measure`)."""
        import torch

        seen = self.visible(sim)
        p = sim.ego["detection_probability"][:, None]
        hit = seen & (self._u(sim.steps[:, None], sim.x.dtype) < p)
        self.detect = torch.where(seen, self.detect + torch.where(hit, sim.dt, 0.0), 0.0)
        confirmed = self.detect >= sim.latency[:, None] - 1e-6
        view = ego_frame(sim)
        half = view.reach + self.cfg.corridor
        pred = view.across + view.v_across * self.cfg.prediction
        in_path = (torch.minimum(view.across, pred) <= half) & \
            (torch.maximum(view.across, pred) >= -half)
        return confirmed, in_path, view.gap, view.v_along

    def measure(self, sim, gap, speed, has):
        """The tracked leader as measured: noisy gap and speed, or a nearer ghost object
        (stationary) while one is tracked; returns (gap, speed, is_ghost), each (W,)."""
        import torch

        step, dt = sim.steps[:, None], sim.x.dtype
        e = sim.ego
        gap = torch.where(has, gap + e["position_noise"] * self._world["gap"](step, dt)[:, 0], gap)
        speed = speed + e["speed_noise"] * self._world["speed"](step, dt)[:, 0]
        rate = e["false_positive_rate"]
        self.ghost_gap = self.ghost_gap - sim.v[:, 0] * sim.dt  # a ghost stands still
        self.ghost_left = self.ghost_left - sim.dt
        spawn = (self.ghost_left <= 0) & (self._world["ghost"](step, dt)[:, 0] < rate * sim.dt)
        at = GHOST_MIN_GAP + self._world["ghost_at"](step, dt)[:, 0] * \
            (0.5 * sim.sensor_range - GHOST_MIN_GAP).clamp(min=0.0)
        self.ghost_gap = torch.where(spawn, at, self.ghost_gap)
        self.ghost_left = torch.where(spawn, self.cfg.ghost_duration, self.ghost_left)
        ghost = (self.ghost_left > 0) & (self.ghost_gap < gap)
        return (torch.where(ghost, self.ghost_gap, gap), torch.where(ghost, 0.0, speed), ghost)

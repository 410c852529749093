"""Ego policies. A policy maps the simulator state to the ego's (acceleration, lateral speed),
one value per world; it must not loop over worlds or agents.

``RuleBasedEgo``: adaptive cruise on the IDM plus automatic emergency braking (on a TTC
threshold or on the stopping-distance criterion), acting only on
what its sensor perceives: objects within the weather- and light-dependent range, ahead, not
hidden behind an occluder (line of sight), and seen for at least the perception latency.
``ExternalEgo``: actions set from outside (gymnasium), in [-1, 1]^2.
"""
from __future__ import annotations

from synthscape_autonomy.geometry import segment_hits_box
from synthscape_autonomy.models import NO_GAP, idm

EXT_MAX_ACCEL = 3.0  # m/s^2 for action +1 (comfortable upper bound for passenger cars)
EXT_MAX_BRAKE = 9.0  # m/s^2 for action -1, before the friction limit
EXT_MAX_LATERAL = 1.5  # m/s lateral speed for action +-1


class RuleBasedEgo:
    name = "rule_based"

    def __init__(self, ego_spec):
        self.cfg = ego_spec

    def reset(self, sim) -> None:
        import torch

        self.detect = torch.zeros_like(sim.x)
        self.lead_acc = torch.zeros_like(sim.x[:, 0])
        self.lead = torch.zeros_like(sim.x[:, 0], dtype=torch.long)

    def reset_worlds(self, sim, rows) -> None:
        self.detect[rows] = 0.0
        self.lead_acc[rows] = 0.0
        self.lead[rows] = 0

    def perceive(self, sim):
        """(perceived mask, in-path mask, gap, longitudinal speed of each agent) for the ego."""
        import torch

        x, y = sim.x, sim.y
        dx, dy = sim.relative()
        vx, vy = sim.velocity()
        dist = torch.sqrt(dx * dx + dy * dy)
        visible = sim.not_ego & (dx > 0) & (dist <= sim.sensor_range[:, None])
        occ = sim.scene.occluders
        if occ.numel():
            bx, by, bh = x[:, occ], y[:, occ], sim.h[:, occ]
            hit = segment_hits_box(x[:, :1, None], y[:, :1, None], x[:, :, None], y[:, :, None],
                                   bx[:, None, :], by[:, None, :], bh[:, None, :],
                                   sim.scene.length[occ], sim.scene.width[occ])
            self_box = torch.arange(sim.A, device=x.device)[:, None] == occ[None, :]
            visible = visible & ~(hit & ~self_box).any(-1)
        self.detect = torch.where(visible, self.detect + sim.dt, 0.0)
        perceived = self.detect >= sim.latency[:, None] - 1e-6
        half = 0.5 * (sim.scene.width[0] + sim.scene.width) + self.cfg.corridor
        dy_pred = dy + vy * self.cfg.prediction
        in_path = (torch.minimum(dy, dy_pred) <= half) & (torch.maximum(dy, dy_pred) >= -half)
        gap = dx - 0.5 * (sim.scene.length[0] + sim.scene.length)
        return perceived, in_path, gap, vx

    def act(self, sim):
        import torch

        perceived, in_path, gap, vx = self.perceive(sim)
        cand = perceived & in_path & (gap > -0.5 * sim.scene.length[0])
        g = torch.where(cand, gap, torch.full_like(gap, NO_GAP))
        gl, j = g.min(dim=1)
        vl = vx.gather(1, j[:, None])[:, 0]
        v = sim.v[:, 0]
        p = sim.params
        acc = idm(v, p["desired_speed"][:, 0], p["time_headway"][:, 0], p["min_gap"][:, 0],
                  p["max_accel"][:, 0], p["comfort_decel"][:, 0], gl, v - vl)
        acc = acc.clamp(min=-self.cfg.acc_decel)  # ACC braking authority; AEB goes beyond
        closing = v - vl
        ttc = torch.where((closing > 0) & (gl < NO_GAP), gl / closing.clamp(min=1e-6),
                          torch.full_like(gl, float("inf")))
        # the leader's deceleration as the sensor estimates it: a lag of the perception latency
        al = sim.acc.gather(1, j[:, None])[:, 0]
        same = j == self.lead
        k = (sim.dt / sim.latency.clamp(min=sim.dt)).clamp(max=1.0)
        self.lead_acc = torch.where(same, self.lead_acc + k * (al - self.lead_acc),
                                    torch.zeros_like(al))
        self.lead = j
        # stopping-distance criterion (Doi et al. 1994, JSAE Review 15:335): deceleration the ego
        # needs to stop behind where a braking leader stops
        b_l = (-self.lead_acc).clamp(min=0.5)
        lead_stop = torch.where(self.lead_acc < -0.5, vl * vl / (2 * b_l), torch.zeros_like(vl))
        room = (gl + lead_stop - self.cfg.stop_margin).clamp(min=0.05)
        a_req = torch.where(self.lead_acc < -0.5, v * v / (2 * room),
                            closing.clamp(min=0) ** 2 / (2 * room))
        a_req = torch.where(gl < NO_GAP, a_req, torch.zeros_like(a_req))
        aeb = (ttc < self.cfg.aeb_ttc) | (a_req > self.cfg.aeb_required_decel)
        acc = torch.where(aeb, torch.full_like(acc, -self.cfg.aeb_decel), acc)
        return acc, torch.zeros_like(acc)


class ExternalEgo:
    """Ego actions supplied from outside: ``set_action(a)`` with a (W, 2) tensor in [-1, 1]:
    a[:, 0] scales acceleration (+1 = 3 m/s^2, -1 = -9 m/s^2), a[:, 1] lateral speed
    (+1 = 1.5 m/s to the left)."""

    name = "external"

    def __init__(self, ego_spec=None):
        self.action = None

    def reset(self, sim) -> None:
        import torch

        self.action = torch.zeros((sim.W, 2), device=sim.x.device, dtype=sim.x.dtype)

    def reset_worlds(self, sim, rows) -> None:
        self.action[rows] = 0.0

    def set_action(self, action) -> None:
        import torch

        self.action = torch.as_tensor(action, device=self.action.device).to(
            self.action.dtype, copy=True).reshape(self.action.shape)  # not the caller's memory

    def act(self, sim):
        import torch

        a = self.action.clamp(-1.0, 1.0)
        acc = torch.where(a[:, 0] >= 0, a[:, 0] * EXT_MAX_ACCEL, a[:, 0] * EXT_MAX_BRAKE)
        return acc, a[:, 1] * EXT_MAX_LATERAL


def make_policy(ego_spec):
    return ExternalEgo(ego_spec) if ego_spec.policy == "external" else RuleBasedEgo(ego_spec)

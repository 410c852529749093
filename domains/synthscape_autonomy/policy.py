"""Ego policies. A policy maps the simulator state to the ego's (acceleration, lateral speed),
one value per world; it must not loop over worlds or agents.

``RuleBasedEgo``: a sensor model (:mod:`synthscape_autonomy.sensor`) feeds two separate
functions, adaptive cruise control (ACC, on the IDM, with its own braking authority and comfort
jerk limit; or plain cruise control when ``ego.acc`` is off) and automatic emergency braking
(AEB, triggered by a longitudinal TTC threshold or by the stopping-distance criterion, latched
until the ego stops or the threat is gone). The chosen command reaches the wheels through an
:class:`Actuator`: the perception-to-actuation latency, then a brake-pressure ramp (jerk limit).
``ExternalEgo``: actions set from outside (gymnasium), in [-1, 1]^2, applied directly.
"""
from __future__ import annotations

import math

from synthscape_autonomy.models import NO_GAP, idm
from synthscape_autonomy.sensor import Sensor

EXT_MAX_ACCEL = 3.0  # m/s^2 for action +1 (comfortable upper bound for passenger cars)
EXT_MAX_BRAKE = 9.0  # m/s^2 for action -1, before the friction limit
EXT_MAX_LATERAL = 1.5  # m/s lateral speed for action +-1
MAX_LATENCY = 3.0  # s, longest perception-to-actuation latency kept (a distracted human)


class Actuator:
    """Brake and throttle demand as the wheels see it: the command of ``latency`` seconds ago
    (a ring buffer per world), followed at most at ``brake_jerk`` m/s^3 (the brake-pressure
    build-up and release)."""

    def reset(self, sim) -> None:
        import torch

        self.K = int(math.ceil(MAX_LATENCY / sim.dt)) + 1
        self.buf = torch.zeros((self.K, sim.W), dtype=sim.x.dtype, device=sim.x.device)
        self.out = torch.zeros_like(sim.x[:, 0])

    def reset_worlds(self, sim, rows) -> None:
        self.buf[:, rows] = 0.0
        self.out[rows] = 0.0

    def __call__(self, sim, command):
        import torch

        delay = torch.round(sim.ego["latency"] / sim.dt).long().clamp(0, self.K - 1)
        now = sim.steps % self.K
        self.buf.scatter_(0, now[None], command[None].to(self.buf.dtype))
        slot = now - delay
        slot += (slot < 0) * self.K
        wanted = self.buf.gather(0, slot[None])[0]
        step = sim.ego["brake_jerk"] * sim.dt
        self.out = self.out + torch.minimum(torch.maximum(wanted - self.out, -step), step)
        return self.out


class RuleBasedEgo:
    name = "rule_based"

    def __init__(self, ego_spec):
        self.cfg = ego_spec
        self.sensor = Sensor(ego_spec)
        self.actuator = Actuator()

    def reset(self, sim) -> None:
        import torch

        self.sensor.reset(sim)
        self.actuator.reset(sim)
        zero = torch.zeros_like(sim.x[:, 0])
        self.lead_acc, self.acc_cmd = zero.clone(), zero.clone()
        self.lead = torch.zeros_like(zero, dtype=torch.long)
        self.aeb_on = torch.zeros_like(zero, dtype=torch.bool)

    def reset_worlds(self, sim, rows) -> None:
        self.sensor.reset_worlds(sim, rows)
        self.actuator.reset_worlds(sim, rows)
        for t in (self.lead_acc, self.acc_cmd, self.lead, self.aeb_on):
            t[rows] = 0

    def perceive(self, sim):
        """(perceived mask, in-path mask, gap, longitudinal speed of each agent) for the ego."""
        return self.sensor.perceive(sim)

    def leader(self, sim):
        """The measured leader in the path: (gap, speed, agent index, is it a ghost); gap
        NO_GAP when there is none."""
        import torch

        perceived, in_path, gap, vx = self.perceive(sim)
        cand = perceived & in_path & (gap > -0.5 * sim.scene.length[0])
        gl, j = torch.where(cand, gap, torch.full_like(gap, NO_GAP)).min(dim=1)
        has = gl < NO_GAP
        vl = vx.gather(1, j[:, None])[:, 0]
        gl, vl, ghost = self.sensor.measure(sim, gl, vl, has)
        return gl, vl, j, ghost

    def acc(self, sim, gl, vl, stop=None):
        """ACC command: IDM following of the measured leader within the ACC's braking authority
        and comfort jerk limit; with ``ego.acc`` off, cruise control at the set speed (IDM's
        free-road term), blind to leaders. ``stop`` (W,): the distance to a stop line to halt
        at (NO_GAP for none), followed as a standing obstacle whatever the leader."""
        import torch

        v, p = sim.v[:, 0], sim.params
        v0, a_max = p["desired_speed"][:, 0], p["max_accel"][:, 0]
        T, s0, b = p["time_headway"][:, 0], p["min_gap"][:, 0], p["comfort_decel"][:, 0]
        if self.cfg.acc:
            a = idm(v, v0, T, s0, a_max, b, gl, v - vl)
        else:
            a = a_max * (1.0 - (v / v0) ** 4)
        if stop is not None:
            a = torch.where(stop < NO_GAP, torch.minimum(a, idm(v, v0, T, s0, a_max, b, stop, v)),
                            a)
        a = a.clamp(min=-self.cfg.acc_decel)
        step = self.cfg.acc_jerk * sim.dt
        self.acc_cmd = self.acc_cmd + (a - self.acc_cmd).clamp(-step, step)
        return self.acc_cmd

    def aeb(self, sim, gl, vl, j, ghost):
        """AEB state (W,) bool: triggered when the longitudinal TTC to the measured leader is
        below ``aeb_ttc`` or the deceleration needed to stop behind where it stops exceeds
        ``aeb_required_decel`` (Doi et al. 1994, JSAE Review 15:335); held until the ego stops
        or nothing is closing in any more."""
        import torch

        v = sim.v[:, 0]
        closing = v - vl
        has = gl < NO_GAP
        ttc = torch.where(has & (closing > 0), gl / closing.clamp(min=1e-6), math.inf)
        # the leader's deceleration as the tracker estimates it: a lag of the confirmation time
        al = torch.where(ghost, 0.0, sim.acc.gather(1, j[:, None])[:, 0])
        same = j == self.lead
        k = (sim.dt / sim.latency.clamp(min=sim.dt)).clamp(max=1.0)
        self.lead_acc = torch.where(same, self.lead_acc + k * (al - self.lead_acc), 0.0)
        self.lead = j
        braking = self.lead_acc < -0.5
        b_l = (-self.lead_acc).clamp(min=0.5)
        lead_stop = torch.where(braking, vl.clamp(min=0.0) ** 2 / (2 * b_l), 0.0)
        room = (gl + lead_stop - self.cfg.stop_margin).clamp(min=0.05)
        a_req = torch.where(braking, v * v / (2 * room), closing.clamp(min=0) ** 2 / (2 * room))
        a_req = torch.where(has, a_req, 0.0)
        trigger = (ttc < self.cfg.aeb_ttc) | (a_req > self.cfg.aeb_required_decel)
        hold = self.aeb_on & (v > 0.1) & has & (closing > 0)
        self.aeb_on = (trigger | hold) & self.cfg.aeb
        return self.aeb_on

    def act(self, sim):
        import torch

        gl, vl, j, ghost = self.leader(sim)
        # at a signalised junction the ACC also stops at the stop line (the AEB does not)
        acc = self.acc(sim, gl, vl, None if sim.junction is None else sim.junction.ego_stop())
        aeb = self.aeb(sim, gl, vl, j, ghost)
        command = torch.where(aeb, -self.cfg.aeb_decel, acc)
        return self.actuator(sim, command), torch.zeros_like(acc)


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

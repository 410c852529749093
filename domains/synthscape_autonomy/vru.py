"""Reactive vulnerable road users: crossing pedestrians and cyclists that yield, hesitate or run
when the ego approaches (``EntitySpec.behaviour``), on the scripted-speed machinery.

Each step, for each reactive road user (a fixed small set, so a Python loop over them, never
over worlds): the ego's time to reach the road user's crossing line at its current speed, and
whether the road user is still outside the ego's path (by ``margin``). The first time that time
falls below the road user's critical gap while it is outside the path, it reacts by its mode,
drawn per episode: yield (stop at the edge of the path, walk on once the ego's rear has passed),
hesitate (stop for a while, then walk on), run (speed up), walk on (no reaction).
"""
from __future__ import annotations

import math

from synthscape_autonomy.initial import VRU_FIELDS as FIELDS
from synthscape_autonomy.spec import VRU_MODES

WALK_ON, YIELD, HESITATE, RUN = range(len(VRU_MODES))
STOP_DECEL = 4.0  # m/s^2 a pedestrian stops with (Akl et al.: most stop within a step or two)
START_ACCEL = 2.0  # m/s^2 back to walking, and to running speed


class Reactive:
    """The reactive road users of one simulator: ``react(sim)`` once per step, before the
    scripted speeds are applied."""

    def __init__(self, sim, init) -> None:
        import torch

        self.agents = [a for a, s in enumerate(sim.scene.slots)
                       if not isinstance(s.source, tuple) and s.source.behaviour is not None]
        self.p = {a: {f: init[f"vru{a}_{f}"] for f in FIELDS} for a in self.agents}
        self.margin = {a: sim.scene.slots[a].source.behaviour.margin for a in self.agents}
        zero = torch.zeros_like(sim.x[:, 0])
        self.state = {a: {"reacted": zero.bool(), "timer": zero.clone(), "walk": zero.clone()}
                      for a in self.agents}

    def reset_worlds(self, rows, fresh) -> None:
        for a in self.agents:
            for f in FIELDS:
                self.p[a][f][rows] = fresh.p[a][f]
            for k in self.state[a]:
                self.state[a][k][rows] = 0

    def react(self, sim) -> None:
        import torch

        sc = sim.scene
        ego_front = sim.x[:, 0] + 0.5 * sc.length[0]
        ego_rear = sim.x[:, 0] - 0.5 * sc.length[0]
        for a in self.agents:
            p, st = self.p[a], self.state[a]
            ahead = sim.x[:, a] - 0.5 * sc.length[a] - ego_front
            t_ego = torch.where(ahead > 0, ahead / sim.v[:, 0].clamp(min=0.1), math.inf)
            # lateral room left before the road user enters the ego's path, along its heading
            toward = torch.sign(torch.sin(sim.h[:, a])) * torch.sign(sim.y[:, 0] - sim.y[:, a])
            room = (sim.y[:, 0] - sim.y[:, a]).abs() - 0.5 * (sc.width[0] + sc.width[a]) \
                - self.margin[a]
            outside = (toward > 0) & (room > 0)
            moving = sim.sc_target[:, a] > 0.05
            trigger = ~st["reacted"] & outside & moving & (t_ego < p["critical_gap"])
            st["walk"] = torch.where(trigger, sim.sc_target[:, a], st["walk"])
            st["reacted"] = st["reacted"] | trigger
            mode = p["mode"]
            st["timer"] = torch.where(st["reacted"], st["timer"] + sim.dt, 0.0)
            passed = ego_rear > sim.x[:, a] + 0.5 * sc.length[a]
            stop = st["reacted"] & (((mode == YIELD) & ~passed)
                                    | ((mode == HESITATE) & (st["timer"] < p["hesitation"])))
            resume = st["reacted"] & ((mode == YIELD) | (mode == HESITATE)) & ~stop
            run = st["reacted"] & (mode == RUN)
            target = torch.where(stop, torch.zeros_like(st["walk"]),
                                 torch.where(resume, st["walk"],
                                             torch.where(run, p["run_speed"],
                                                         sim.sc_target[:, a])))
            # stopping short of the path: at least the deceleration that halts within the room
            rate = torch.where(stop, (sim.v[:, a] ** 2 / (2 * room.clamp(min=0.05)))
                               .clamp(min=STOP_DECEL),
                torch.where(resume | run, START_ACCEL, sim.sc_rate[:, a]))
            act = stop | resume | run
            sim.sc_target[:, a] = torch.where(act, target, sim.sc_target[:, a])
            sim.sc_rate[:, a] = torch.where(act, rate, sim.sc_rate[:, a])
            sim.scripted[:, a] |= act

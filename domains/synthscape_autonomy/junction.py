"""A signalised four-way junction: the main road (a chain of lanes in the lane frame, as
everywhere) crossed at ``road.junction_x`` by a straight two-lane road, with fixed-time lights
(:class:`~synthscape_autonomy.spec_signals.SignalSpec`), a stop line per approach and a
crosswalk on each leg. Movements are straight through (no turns).

Lanes: the main road's lanes keep their indices; the crossing road's northbound lane (heading
+90 deg, on the side of larger s) is lane ``lanes``, its southbound lane ``lanes + 1``; a
position s on them counts from ``cross_length`` before the junction box.

Who obeys the lights: IDM drivers and the ego (the stop line is a standing obstacle in their
IDM, or in the ego's ACC, while their light is red, and while it is amber if they can stop at
``amber_decel`` or less: the dilemma-zone rule of the ITE amber interval); a driver drawn as a
violator (``driver.signal_violation``) never stops for it. Scripted pedestrians and cyclists
wait at the kerb until their pedestrian green (violators start at once), then walk, and react
to the ego as :mod:`.vru` says. Scripted and static vehicles follow their story only.

Crossing-road drivers follow the nearest agent ahead whose footprint lies in their lane
(crossing-road cars, or a main-road car or a pedestrian in the junction box), except that a
violator, inattentive, sees only the vehicles of its own stream; main-road drivers see agents
in the box through the lane index (violators too). Everything is (worlds, agents) tensors;
no loop over agents or worlds in the step.
"""
from __future__ import annotations

import math

import numpy as np

from synthscape_autonomy import _rng
from synthscape_autonomy.models import NO_GAP, idm_scaled

GREEN, AMBER, RED = 0, 1, 2
SIGNAL_FIELDS = ("cycle", "main_share", "amber", "all_red", "offset")
OVERSHOOT = 2.0  # m past its stop line within which a stopping driver still holds
WALK_ACCEL = 2.0  # m/s^2 a pedestrian starts walking with (as vru.START_ACCEL)


class Layout:
    """Static geometry of the junction (metres, lane frame of the main road)."""

    def __init__(self, road, n_main: int, y_min: float, y_max: float):
        sig = road.signals
        self.signals = sig
        self.n_main = n_main
        self.cx, self.width = float(road.junction_x), float(road.junction_width)
        self.x0, self.x1 = self.cx - self.width / 2, self.cx + self.width / 2
        self.y0, self.y1 = y_min, y_max
        self.setback = sig.crosswalk_width + sig.stop_line_gap  # stop line to the box edge
        self.walk_main = self.width / sig.clearance_speed  # clearance over the crossing road
        self.walk_cross = (y_max - y_min) / sig.clearance_speed  # over the main road

    def pose(self, lane: int, s: float) -> tuple[float, float, float, int]:
        """(x, y, heading, direction) of position s on crossing lane ``lane``."""
        L = self.signals.cross_length
        if lane == self.n_main:  # northbound, east of the centre line
            return self.cx + self.width / 4, self.y0 - L + s, math.pi / 2, 1
        return self.cx - self.width / 4, self.y1 + L - s, -math.pi / 2, 1

    def stop_line(self, ux: float, uy: float) -> float:
        """The stop line of the approach driving along (ux, uy), as a coordinate along it."""
        if ux > 0.5:
            return self.x0 - self.setback
        if ux < -0.5:
            return -(self.x1 + self.setback)
        return self.y0 - self.setback if uy > 0 else -(self.y1 + self.setback)

    def initial(self, scene, draws) -> dict[str, np.ndarray]:
        """Per-world signal timings and per-agent violator draws, keyed by the episode."""
        from synthscape_autonomy.scenario import _val

        W, A = len(draws), scene.n_agents
        out = {f"sig_{f}": np.zeros(W) for f in SIGNAL_FIELDS}
        out["violator"] = np.zeros((W, A))
        for w, d in enumerate(draws):
            rng = _rng.episode_rng(scene.spec.seed, scene.spec.family, d.episode, "signals")
            for f in SIGNAL_FIELDS:
                out[f"sig_{f}"][w] = float(_val(getattr(self.signals, f), d.values, rng))
            for a, slot in enumerate(scene.slots):
                drv = slot.source[0].driver if isinstance(slot.source, tuple) \
                    else slot.source.driver
                p = float(_val(drv.signal_violation, d.values, rng))
                out["violator"][w, a] = float(rng.random() < p)
        for f in ("cycle", "amber", "all_red"):
            bad = out[f"sig_{f}"] < (0.0 if f == "all_red" else 0.1)
            if bad.any():
                from synthscape.errors import SpecError

                raise SpecError(f"road.signals.{f} drew {out[f'sig_{f}'][bad][0]:g} s; it must "
                                f"be positive: clip its distribution")
        green = out["sig_cycle"] - 2 * (out["sig_amber"] + out["sig_all_red"])
        if (green <= 0).any():
            from synthscape.errors import SpecError

            raise SpecError("road.signals: cycle must exceed 2 x (amber + all_red) so both "
                            "roads get green time; lengthen the cycle")
        return out


class Control:
    """The lights and everyone who obeys them, for one simulator: ``update`` at the start of a
    step, ``control`` on the IDM accelerations, ``ego_leader`` for the ego's ACC, ``record``
    after the collision test (red-light runs and junction conflicts)."""

    STATE = ("hold", "started", "ran_red", "ped_ran", "before", "conflict", "walk_speed",
             "violator")

    def __init__(self, sim, init) -> None:
        import torch

        sc, lay = sim.scene, sim.scene.junction
        self.lay = lay
        self.sig = {f: init[f"sig_{f}"] for f in SIGNAL_FIELDS}
        self.violator = init["violator"] > 0.5
        ctl = torch.tensor([s.controller in ("ego", "idm") and s.type in ("car", "truck")
                            for s in sc.slots], device=sim.x.device)
        ped = torch.tensor([s.controller == "scripted" and s.type in ("pedestrian", "cyclist")
                            for s in sc.slots], device=sim.x.device)
        self.ctl, self.ped = ctl, ped
        # labelled for red-light runs: every moving vehicle (a scripted one follows its story)
        self.vehicle = torch.tensor([s.controller != "static" and s.type in ("car", "truck")
                                     for s in sc.slots], device=sim.x.device)
        c, s = torch.cos(sim.h), torch.sin(sim.h)
        self.ux, self.uy = torch.round(c), torch.round(s)  # the approach's axis
        self.on_cross = ~sc.lane_bound & ctl  # crossing-road drivers
        # the cross group: crossing-road vehicles, and pedestrians walking parallel to them
        self.grp_cross = s.abs() > 0.7
        self.line = torch.zeros_like(sim.x)
        for ux, uy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            self.line = torch.where((self.ux == ux) & (self.uy == uy), lay.stop_line(ux, uy),
                                    self.line)
        self.cross_ids = self.on_cross.nonzero()[:, 0]
        # time before braking takes hold: the driver's reaction time; the ego's actuation
        # latency plus the ACC's ramp to the amber deceleration at its jerk limit
        ego = sim.spec.ego
        self.t_react = sim.params["reaction_time"].clone()
        self.t_react[:, 0] = sim.ego["latency"] + lay.signals.amber_decel \
            / (2 * ego.acc_jerk)
        self.walk_speed = torch.where(ped, sim.v, 0.0)
        sim.v = torch.where(ped, 0.0, sim.v)  # pedestrians stand at the kerb until they walk
        sim.sc_target = torch.where(ped, 0.0, sim.sc_target)
        zero = torch.zeros_like(sim.x, dtype=torch.bool)
        self.hold, self.started, self.ran_red, self.ped_ran = (zero.clone() for _ in range(4))
        self.before = self.gap(sim) > 0
        self.conflict = zero[:, 0].clone()

    def reset_worlds(self, rows, fresh) -> None:
        for f in SIGNAL_FIELDS:
            self.sig[f][rows] = fresh.sig[f]
        for name in self.STATE:
            getattr(self, name)[rows] = getattr(fresh, name)

    # -- the lights ------------------------------------------------------------------------
    def phases(self, t):
        """(main, cross) signal states (W,) each, and (walk_main, walk_cross) pedestrian
        greens, at times ``t`` (W,)."""
        import torch

        p = self.sig
        cyc, Y, R = p["cycle"], p["amber"], p["all_red"]
        green = cyc - 2 * (Y + R)
        gm = p["main_share"].clamp(0.0, 1.0) * green
        tc = torch.remainder(t + p["offset"], cyc)
        main = torch.where(tc < gm, GREEN, torch.where(tc < gm + Y, AMBER, RED))
        start = gm + Y + R
        k = tc - start
        cross = torch.where((k >= 0) & (k < green - gm), GREEN,
                            torch.where((k >= 0) & (k < green - gm + Y), AMBER, RED))
        walk_main = tc < gm - self.lay.walk_main
        walk_cross = (k >= 0) & (k < green - gm - self.lay.walk_cross)
        return main, cross, walk_main, walk_cross

    def gap(self, sim):
        """(W, A) distance from each agent's front to its stop line (negative once past)."""
        return self.line - (sim.x * self.ux + sim.y * self.uy) - 0.5 * sim.scene.length

    def update(self, sim) -> None:
        """Signal states of the new step; who holds at their stop line; pedestrians start
        walking on their green."""
        import torch

        main, cross, walk_main, walk_cross = self.phases(sim.t)
        self.state = torch.where(self.grp_cross, cross[:, None], main[:, None])
        gap = self.gap(sim)
        room = (gap - sim.v * self.t_react).clamp(min=0.01)  # after the reaction time
        can_stop = sim.v * sim.v <= 2 * self.lay.signals.amber_decel * room
        # a driver who stops keeps holding if it halts a little past the line (OVERSHOOT)
        self.hold = self.ctl & ~self.violator & (self.state != GREEN) \
            & (((gap > 0) & can_stop) | (self.hold & (gap > -OVERSHOOT)))
        self.line_gap = gap
        walk = torch.where(self.grp_cross, walk_cross[:, None], walk_main[:, None])
        start = self.ped & ~self.started & (walk | self.violator)
        self.ped_ran |= start & ~walk
        self.started |= start
        sim.sc_target = torch.where(start, self.walk_speed,
                                    torch.where(self.ped & ~self.started, 0.0, sim.sc_target))
        sim.sc_rate = torch.where(start, WALK_ACCEL, sim.sc_rate)

    # -- drivers ---------------------------------------------------------------------------
    def control(self, sim, acc):
        """IDM accelerations (W, A) with the stop lines of the holders and the crossing-road
        drivers' car following applied."""
        import torch

        p = sim.params
        line = idm_scaled(sim.v, p["desired_speed"], p["time_headway"], p["min_gap"],
                          p["max_accel"], sim.two_sqrt_ab, self.line_gap, sim.v)
        if self.cross_ids.numel():
            acc = acc.index_copy(1, self.cross_ids, self._cross_following(sim))
        return torch.where(self.hold, torch.minimum(acc, line), acc)

    def _cross_following(self, sim):
        """IDM of the crossing-road drivers (W, m) behind the nearest agent whose footprint is
        in their lane and ahead of them (dense over all agents: m x A per world)."""
        import torch

        ids = self.cross_ids
        x, y = sim.x, sim.y
        ux, uy = self.ux[:, ids, None], self.uy[:, ids, None]
        rx, ry = x[:, None, :] - x[:, ids, None], y[:, None, :] - y[:, ids, None]
        along = rx * ux + ry * uy
        lat = (rx * uy - ry * ux).abs()
        ex, ey = sim.extents()
        ext_along = ex[:, None, :] * ux.abs() + ey[:, None, :] * uy.abs()
        ext_lat = ex[:, None, :] * uy.abs() + ey[:, None, :] * ux.abs()
        L = sim.scene.length
        gap = along - 0.5 * L[ids, None] - ext_along
        mine = ids[:, None] == sim.agent_ids  # (m, A): the driver itself
        cand = (lat < self.lay.width / 4 + ext_lat) & (along > 0) & ~mine
        # a violator is inattentive: it sees only the vehicles ahead of it in its own stream
        stream = (self.ux[:, None, :] == ux) & (self.uy[:, None, :] == uy)
        cand &= ~self.violator[:, ids, None] | stream
        gap = torch.where(cand, gap, NO_GAP)
        gl, j = gap.min(dim=2)
        vx, vy = sim.velocity()
        v_lead = (vx.gather(1, j) * ux[..., 0] + vy.gather(1, j) * uy[..., 0])
        v = sim.v[:, ids]
        p = {k: sim.params[k][:, ids] for k in ("desired_speed", "time_headway", "min_gap",
                                                 "max_accel")}
        return idm_scaled(v, p["desired_speed"], p["time_headway"], p["min_gap"],
                          p["max_accel"], sim.two_sqrt_ab[:, ids], gl,
                          torch.where(gl < NO_GAP, v - v_lead, 0.0))

    def ego_stop(self):
        """(W,) the ego's distance to its stop line while it holds there, else NO_GAP."""
        import torch

        return torch.where(self.hold[:, 0], self.line_gap[:, 0], NO_GAP)

    # -- labels ----------------------------------------------------------------------------
    def record(self, sim) -> None:
        """After the step: red-light runs (a front crossing its stop line on red) and
        collisions in the junction area (the box, crosswalks and stop lines)."""
        import torch

        main, cross, _, _ = self.phases(sim.t + sim.dt)  # the state of the new time
        red = torch.where(self.grp_cross, cross[:, None], main[:, None]) == RED
        now = self.gap(sim) > 0
        self.ran_red |= self.vehicle & self.before & ~now & red
        self.before = now
        lay = self.lay
        m = lay.setback
        zone = (sim.x > lay.x0 - m) & (sim.x < lay.x1 + m) & (sim.y > lay.y0 - m) \
            & (sim.y < lay.y1 + m)
        self.conflict |= (sim.new_collision & zone).any(1)



JUNCTION_COLUMNS = ("red_light_violation", "red_light_runners", "pedestrian_violations",
                    "junction_conflict")


def junction_labels(sim) -> dict:
    """Per-episode junction labels, (W,) each (False and 0 without a signalised junction):
    the ego crossed its stop line on red; how many drivers did; how many pedestrians started
    on don't-walk; a collision between any two agents in the junction area."""
    import torch

    j = sim.junction
    if j is None:
        no = torch.zeros(sim.W, dtype=torch.bool, device=sim.x.device)
        return {"red_light_violation": no, "red_light_runners": no.long(),
                "pedestrian_violations": no.long(), "junction_conflict": no}
    return {"red_light_violation": j.ran_red[:, 0], "red_light_runners": j.ran_red.sum(1),
            "pedestrian_violations": j.ped_ran.sum(1), "junction_conflict": j.conflict}

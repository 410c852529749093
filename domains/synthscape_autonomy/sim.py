"""The batched simulator: state tensors over (worlds, agents), one vectorised step.

Order of a step: story events -> lane occupancy and leaders by sorting -> IDM for every lane
follower -> MOBIL lane changes -> ego policy -> scripted speeds -> reaction delay, noise and the
friction limit -> integration -> oriented-box collisions -> labels. Python loops run only over
events and fixed small sets (lane directions, candidate partners), never over worlds or agents.
"""
from __future__ import annotations

import math

from synthscape_autonomy import _rng
from synthscape_autonomy.geometry import LaneIndex, obb_overlap, pad
from synthscape_autonomy.labels import ego_labels
from synthscape_autonomy.models import idm, mobil_gain, mobil_safe
from synthscape_autonomy.physics import G
from synthscape_autonomy.policy import make_policy
from synthscape_autonomy.scenario import DRIVER_FIELDS, Scene
from synthscape_autonomy.spec import (DistanceCondition, SpeedAction, SpeedCondition,
                                      TimeCondition)

LANE_CHANGE_TIME = 4.6  # s, mean lane-change duration, Toledo & Zohar 2007 (TRR 1999)
LANE_CHANGE_COOLDOWN = 3.0  # s between two MOBIL decisions of one driver (keeps changes apart)
MAX_REACTION = 2.0  # s, longest driver reaction delay kept (IDM delay studies stay below it)
MOBIL_INTERVAL = 0.5  # s between lane-change decisions (drivers do not re-decide every step)
FAR = 1.0e7  # m, the position of the "no leader" padding slot
_IDM_KEYS = ("desired_speed", "time_headway", "min_gap", "max_accel", "comfort_decel")


class Simulator:
    """``Simulator(scene, draws)`` builds one world per draw; ``step()`` advances all worlds by
    ``dt`` and returns the ego's per-step labels (a dict of (W,) tensors)."""

    def __init__(self, scene: Scene, draws, policy=None):
        import torch

        self.scene, self.spec = scene, scene.spec
        self.dt = float(scene.spec.dt)
        init = scene.initial(draws)
        self.W, self.A = init["x"].shape
        self.x, self.y, self.h, self.v = (init[k].clone() for k in ("x", "y", "h", "v"))
        self.acc = torch.zeros_like(self.x)
        self.params = {k: init[k] for k in DRIVER_FIELDS}
        self.episode = init["episode"]
        self.event_values = init["event_values"]
        self.max_brake = init["mu"][:, None] * init["grip"] * G  # (W, A) friction limit
        self.sensor_range = self.spec.ego.sensor_range * init["range_factor"]
        self.latency = self.spec.ego.perception_latency + init["latency"]
        lane_bound = scene.lane_bound.expand(self.W, self.A)
        self.target_y = self.y.clone()
        self.lat_speed = torch.zeros_like(self.x)
        self.scripted = ~(scene.is_idm.expand(self.W, self.A).clone())
        self.scripted[:, 0] = False
        self.sc_target = self.v.clone()
        self.sc_rate = torch.zeros_like(self.x)
        self.collided = torch.zeros_like(self.x, dtype=torch.bool)
        self.cool = torch.zeros_like(self.x)
        self.fired = torch.zeros((self.W, len(scene.events)), dtype=torch.bool,
                                 device=self.x.device)
        self.K = int(round(MAX_REACTION / self.dt)) + 1
        self.delay = torch.round(self.params["reaction_time"] / self.dt).long().clamp(0, self.K - 1)
        self.delay[:, 0] = 0  # the ego's latency lives in its perception
        self.buf = torch.zeros((self.W, self.A, self.K), device=self.x.device, dtype=self.x.dtype)
        self.lane_bound = lane_bound
        self.agent_ids = torch.arange(self.A, device=self.x.device)[None, :]
        self.step_count = 0  # steps taken by this simulator (scheduling only)
        self.steps = torch.zeros(self.W, dtype=torch.long, device=self.x.device)  # per world
        self.new_collision = torch.zeros_like(self.collided)
        self.has_idm = bool(scene.is_idm.any())  # MOBIL only when someone uses it
        self.noisy = bool((self.params["accel_noise"] != 0).any())
        self.mobil_every = max(1, int(round(MOBIL_INTERVAL / self.dt)))
        self.params["desired_speed"] = self.params["desired_speed"].clamp(min=0.1)
        self.len_pad = pad(scene.length.expand(self.W, self.A), 0.0)
        self.params_pad = {k: pad(self.params[k], 1.0) for k in _IDM_KEYS}
        self.policy = policy or make_policy(self.spec.ego)
        self.policy.reset(self)

    def v_before_impact(self):
        """The ego's speed in the step its collision was detected (before it is stopped)."""
        return self.v[:, 0]

    @property
    def t(self):
        """Simulation time of every world, (W,)."""
        return self.steps.to(self.x.dtype) * self.dt

    STATE = ("x", "y", "h", "v", "acc", "episode", "event_values", "max_brake", "sensor_range",
             "latency", "target_y", "lat_speed", "scripted", "sc_target", "sc_rate", "collided",
             "cool", "fired", "delay", "buf", "steps", "new_collision")

    def reset_worlds(self, rows, draws) -> None:
        """Start new episodes ``draws`` in worlds ``rows`` (the other worlds are untouched)."""
        import torch

        rows = torch.as_tensor(rows, dtype=torch.long, device=self.x.device)
        fresh = Simulator(self.scene, draws, policy=_NoPolicy())
        for name in self.STATE:
            getattr(self, name)[rows] = getattr(fresh, name)
        for k in self.params:
            self.params[k][rows] = fresh.params[k]
        for k in self.params_pad:
            self.params_pad[k][rows] = fresh.params_pad[k]
        self.noisy = self.noisy or fresh.noisy
        self.policy.reset_worlds(self, rows)

    # -- lanes ----------------------------------------------------------------------------
    def lanes(self):
        """Lane occupancy by lateral position (-1 off the road) for every agent: the lane of its
        centre, and a second lane its footprint also covers (-1 if none)."""
        import torch

        r = self.scene.road
        n = r.n_lanes
        lane = torch.floor((self.y - r.y_min) / r.lane_width).long().clamp(0, n - 1)
        on = (self.y >= r.y_min - 0.3) & (self.y <= r.y_max + 0.3)
        lane = torch.where(on, lane, torch.full_like(lane, -1))
        ext = 0.5 * (self.scene.length * torch.sin(self.h).abs()
                     + self.scene.width * torch.cos(self.h).abs())
        lo = torch.floor((self.y - ext - r.y_min) / r.lane_width).long()
        hi = torch.floor((self.y + ext - r.y_min) / r.lane_width).long()
        other = torch.where(lo != lane, lo, hi)
        ok = (other != lane) & (other >= 0) & (other < n) & \
            (self.y + ext > r.y_min) & (self.y - ext < r.y_max)
        self.lane2 = torch.where(ok, other, torch.full_like(other, -1))
        return lane

    def _pads(self) -> None:
        """Padded copies of the state for gathers by neighbour index (slot A = no agent)."""
        import torch

        self.x_pad = pad(self.x, 0.0)
        self.xl_pad = pad(self.x, FAR)
        self.v_pad = pad(self.v, 0.0)
        self.vx_pad = pad(self.v * torch.cos(self.h), 0.0)

    def _idm_between(self, f, lead):
        """IDM acceleration of agents ``f`` (None = every agent itself) behind agents ``lead``
        (index A = none); returns (acceleration, gap)."""
        import torch

        g = torch.gather
        lx, lv, ll = g(self.xl_pad, 1, lead), g(self.vx_pad, 1, lead), g(self.len_pad, 1, lead)
        if f is None:
            fx, fv, fl = self.x, self.v, self.len_pad[:, :-1]
            p = [self.params[k] for k in _IDM_KEYS]
        else:
            fx, fv, fl = g(self.x_pad, 1, f), g(self.v_pad, 1, f), g(self.len_pad, 1, f)
            p = [g(self.params_pad[k], 1, f) for k in _IDM_KEYS]
        gap = lx - fx - 0.5 * (fl + ll)
        a = idm(fv, *p, gap, fv - lv)
        if f is not None:
            a = torch.where(f < self.A, a, torch.zeros_like(a))
        return a, gap

    # -- story ----------------------------------------------------------------------------
    def _conditions(self):
        """Fire events whose trigger holds (each event fires once, OpenSCENARIO default)."""
        import torch

        col = 0
        fire_list = []
        for e, (actor, ev) in enumerate(self.scene.events):
            any_group = torch.zeros(self.W, dtype=torch.bool, device=self.x.device)
            for group in ev.trigger.condition_groups:
                all_c = torch.ones_like(any_group)
                for c in group:
                    val = self.event_values[:, col]
                    col += 1
                    all_c = all_c & self._condition(c, val)
                any_group = any_group | all_c
            fire = any_group & ~self.fired[:, e]
            self.fired[:, e] |= fire
            fire_list.append((actor, ev, fire, col))
            col += 2
        return fire_list

    def _condition(self, c, val):
        import torch

        if isinstance(c, TimeCondition):
            q, rule = self.t, c.simulation_time.rule
        elif isinstance(c, SpeedCondition):
            q, rule = self.v[:, self.scene.index[c.speed.entity]], c.speed.rule
        else:
            body = c.relative_distance if isinstance(c, DistanceCondition) else c.time_to_collision
            i, j = self.scene.index[body.entity], self.scene.index[body.reference]
            dx, dy = self.x[:, j] - self.x[:, i], self.y[:, j] - self.y[:, i]
            if isinstance(c, DistanceCondition):
                q = torch.sqrt(dx * dx + dy * dy)
            else:
                gap = dx.abs() - 0.5 * (self.scene.length[i] + self.scene.length[j])
                closing = (self.v[:, i] * torch.cos(self.h[:, i])
                           - self.v[:, j] * torch.cos(self.h[:, j])) * torch.sign(dx)
                q = torch.where(closing > 0, gap / closing.clamp(min=1e-6),
                                torch.full_like(gap, math.inf))
            rule = body.rule
        return q < val if rule == "less" else q > val

    def _apply_actions(self, fired, lane):
        import torch

        r = self.scene.road
        for actor, ev, fire, col in fired:
            a, b = self.event_values[:, col], self.event_values[:, col + 1]
            if isinstance(ev.action, SpeedAction):
                self.scripted[:, actor] |= fire
                self.sc_target[:, actor] = torch.where(fire, a, self.sc_target[:, actor])
                self.sc_rate[:, actor] = torch.where(fire, b.abs(), self.sc_rate[:, actor])
            else:
                new = (lane[:, actor] + a.long()).clamp(0, r.n_lanes - 1)
                ty = r.center.to(self.x.dtype)[new]
                self.target_y[:, actor] = torch.where(fire, ty, self.target_y[:, actor])
                spd = r.lane_width / b.clamp(min=0.1)
                self.lat_speed[:, actor] = torch.where(fire, spd, self.lat_speed[:, actor])

    # -- MOBIL ----------------------------------------------------------------------------
    def _mobil(self, index, lane, acc_self, lead, phase):
        import torch

        r = self.scene.road
        p = self.params
        A = self.A
        can = (self.scene.is_idm[None, :] & ~self.collided & ~self.scripted & (lane >= 0)
               & ((self.target_y - self.y).abs() < 0.05) & (self.cool <= 0) & phase)
        me = self.agent_ids.expand_as(lane)
        follower = index.follower()
        acc_of, _ = self._idm_between(follower, me)
        acc_of_new, _ = self._idm_between(follower, lead)
        best_gain = torch.zeros_like(self.x)
        best_lane = lane.clone()
        for d in (1, -1):
            new = lane + d
            valid = can & (new >= 0) & (new < r.n_lanes)
            nl, nf = index.around(torch.where(valid, new, torch.full_like(new, -1)), self.x)
            a_self_new, gap_front = self._idm_between(None, nl)
            a_nf_new, gap_back = self._idm_between(nf, me)
            a_nf_old, _ = self._idm_between(nf, nl)
            gain = mobil_gain(a_self_new, acc_self, a_nf_new, a_nf_old, acc_of_new, acc_of,
                              p["politeness"], p["change_threshold"])
            safe = mobil_safe(a_nf_new, p["safe_decel"]) & (gap_front > 0) & \
                ((nf == A) | (gap_back > 0))
            take = valid & safe & (gain > best_gain)
            best_gain = torch.where(take, gain, best_gain)
            best_lane = torch.where(take, new, best_lane)
        change = best_lane != lane
        ty = r.center.to(self.x.dtype)[best_lane.clamp(0, r.n_lanes - 1)]
        self.target_y = torch.where(change, ty, self.target_y)
        self.lat_speed = torch.where(change, torch.full_like(ty, r.lane_width / LANE_CHANGE_TIME),
                                     self.lat_speed)
        self.cool = torch.where(change, torch.full_like(ty, LANE_CHANGE_COOLDOWN), self.cool)
        return change

    # -- step -----------------------------------------------------------------------------
    def step(self):
        """Advance every world by one ``dt``; returns the ego's labels for the new state."""
        import torch

        dt = self.dt
        lane = self.lanes()
        self._apply_actions(self._conditions(), lane)
        index = LaneIndex(lane, self.x, self.lane2)
        lead = index.leader()
        self._pads()
        acc_idm, _ = self._idm_between(None, lead)
        # while a footprint covers a second lane, also keep a safe distance to that lane's leader
        acc2, _ = self._idm_between(None, index.leader2())
        acc_idm = torch.minimum(acc_idm, acc2)
        # each driver re-decides every MOBIL_INTERVAL, in its own phase (agents staggered, so
        # two drivers rarely pick the same gap in the same step)
        if self.has_idm:
            phase = (self.steps[:, None] + self.agent_ids) % self.mobil_every == 0
            self.cool = self.cool - dt
            self._mobil(index, lane, acc_idm, lead, phase)
        ego_acc, ego_lat = self.policy.act(self)
        acc = torch.where(self.scripted,
                          ((self.sc_target - self.v) / dt).clamp(-1, 1) * self.sc_rate, acc_idm)
        acc = torch.where(self.scripted & (self.sc_rate == 0), torch.zeros_like(acc), acc)
        st = self.steps[:, None]
        slot = (st % self.K)[..., None].expand(self.W, self.A, 1)
        self.buf.scatter_(2, slot, acc[..., None])
        delayed = self.buf.gather(2, ((st - self.delay) % self.K)[..., None])[..., 0]
        delayed = torch.where(st - self.delay >= 0, delayed, torch.zeros_like(acc))
        acc = torch.where(self.scene.is_idm[None, :] & ~self.scripted, delayed, acc)
        if self.noisy:
            noise = _rng.normal(self.spec.seed, self.episode[:, None], self.steps[:, None],
                                self.agent_ids, 0, self.x.dtype)
            acc = acc + torch.where(self.scene.is_idm[None, :], self.params["accel_noise"] * noise,
                                    0.0)
        acc[:, 0] = ego_acc
        acc = torch.maximum(acc, -self.max_brake)
        acc = torch.where(self.collided, torch.zeros_like(acc), acc)
        v_new = (self.v + acc * dt).clamp(min=0.0)
        v_new = torch.where(self.collided, torch.zeros_like(v_new), v_new)
        self.acc = (v_new - self.v) / dt
        self.v = v_new
        if self.policy.name == "external":
            self.target_y[:, 0] = self.y[:, 0] + ego_lat * dt
            self.lat_speed[:, 0] = ego_lat.abs()
        dy = (self.target_y - self.y).clamp(-1, 1)
        vy = torch.minimum(dy.abs() / dt, self.lat_speed) * torch.sign(dy)
        vy = torch.where(self.collided, torch.zeros_like(vy), vy)
        lb = self.lane_bound
        self.x = self.x + torch.where(lb, v_new, v_new * torch.cos(self.h)) * dt
        self.y = self.y + torch.where(lb, vy, v_new * torch.sin(self.h)) * dt
        self.h = torch.where(lb, torch.atan2(vy, v_new.clamp(min=1.0)), self.h)
        self._collide(index, lane)
        self.step_count += 1
        self.steps += 1
        return ego_labels(self)

    def _collide(self, index, lane):
        """Oriented-box tests against lane neighbours (found by sorting) and ego vs all."""
        import torch

        r = self.scene.road
        cands = [index.leader()]
        for d in (1, -1):
            nl = lane + d
            nl = torch.where((nl >= 0) & (nl < r.n_lanes) & (lane >= 0), nl,
                             torch.full_like(nl, -1))
            cands += list(index.around(nl, self.x))
        cands.append(torch.zeros_like(lane))  # everyone against the ego
        part = torch.stack(cands, -1)  # (W, A, 6), A = none
        part = torch.where(part == self.agent_ids[..., None], self.A, part)
        self.new_collision = torch.zeros_like(self.collided)
        flat = part.flatten(1)
        L, Wd = self.scene.length, self.scene.width
        px = torch.gather(pad(self.x, FAR), 1, flat).view(part.shape)
        py = torch.gather(pad(self.y, FAR), 1, flat).view(part.shape)
        reach = 0.5 * (L.max() + torch.hypot(L, Wd))[None, :, None]
        near = ((px - self.x[..., None]).abs() < reach) & ((py - self.y[..., None]).abs() < reach)
        if not bool(near.any()):  # broad phase: nothing within reach anywhere
            return
        g = lambda t, f: torch.gather(pad(t, f), 1, flat).view(part.shape)  # noqa: E731
        Le, We = L.expand(self.W, self.A), Wd.expand(self.W, self.A)
        hit = near & obb_overlap(self.x[..., None], self.y[..., None], self.h[..., None],
                                 L[None, :, None], Wd[None, :, None], px, py, g(self.h, 0.0),
                                 g(Le, 0.0), g(We, 0.0))
        other = torch.zeros((self.W, self.A + 1), dtype=self.x.dtype, device=self.x.device)
        other.scatter_add_(1, flat, hit.flatten(1).to(self.x.dtype))
        new = hit.any(-1) | (other[:, :-1] > 0)
        self.new_collision = new & ~self.collided
        self.collided = self.collided | new


class _NoPolicy:
    name = "none"

    def reset(self, sim) -> None:
        pass

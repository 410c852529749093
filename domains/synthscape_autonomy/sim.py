"""The batched simulator: state tensors over (worlds, agents), one vectorised step.

Order of a step: story events -> lane occupancy and leaders by sorting -> IDM for every lane
follower (a lane changer follows its target lane) -> MOBIL lane changes -> ego policy -> scripted
speeds -> reaction delay, noise and the friction limit -> integration (:mod:`motion`) ->
oriented-box collisions -> labels. Python loops run only over
events and fixed small sets (lane directions, candidate partners), never over worlds or agents.
Quantities of the state that several parts read (cos and sin of the headings, velocities,
positions relative to the ego, box extents) are computed once per state and shared.
"""
from __future__ import annotations

import math

from synthscape_autonomy import _rng
from synthscape_autonomy._traffic import FAR, collide, mobil
from synthscape_autonomy.geometry import LaneIndex, pad
from synthscape_autonomy.initial import DRIVER_FIELDS, EGO_FIELDS
from synthscape_autonomy.junction import Control
from synthscape_autonomy.labels import ego_labels
from synthscape_autonomy.models import idm_scaled
from synthscape_autonomy.motion import (
    abort_conflicting_changes,
    changer_accelerations,
    integrate,
    limit_in_bends,
    ramp_end,
    start_lane_change,
)
from synthscape_autonomy.physics import G
from synthscape_autonomy.policy import make_policy
from synthscape_autonomy.scenario import Scene
from synthscape_autonomy.spec import DistanceCondition, SpeedAction, SpeedCondition, TimeCondition
from synthscape_autonomy.vru import Reactive

MAX_REACTION = 2.0  # s, longest driver reaction delay kept (IDM delay studies stay below it)
MOBIL_INTERVAL = 1.0  # s between lane-change decisions of one driver, staggered over drivers
# (highway-env IDMVehicle.LANE_CHANGE_DELAY = 1.0 s; drivers do not re-decide every step)
_TIME_EPS = 1e-9  # s, tolerance of time conditions (event values are float64)
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
        # time a new object must be detected before the ego's tracker confirms it
        self.latency = self.spec.ego.perception_latency + init["added_latency"]
        self.ego = {k: init[k] for k in EGO_FIELDS}  # the ego's sampled parameters, (W,) each
        self.target_y = self.y.clone()
        # lane changes under way: start y, time since the start, duration (0 = none)
        self.lc_from = self.y.clone()
        self.lc_elapsed = torch.zeros_like(self.x)
        self.lc_time = torch.zeros_like(self.x)
        self.ego_impact = torch.zeros_like(self.x[:, 0])
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
        # ring buffer of past IDM accelerations, one (W, A) plane per slot
        self.buf = torch.zeros((self.K, self.W, self.A), device=self.x.device, dtype=self.x.dtype)
        self.in_step = True  # every world at the same step (until worlds are reset apart)
        self.agent_ids = torch.arange(self.A, device=self.x.device)[None, :]
        self.step_count = 0  # steps taken by this simulator (scheduling only)
        self.steps = torch.zeros(self.W, dtype=torch.long, device=self.x.device)  # per world
        self.new_collision = torch.zeros_like(self.collided)
        self.has_idm = bool(scene.is_idm.any())  # MOBIL only when someone uses it
        self.noisy = bool((self.params["accel_noise"] != 0).any())
        self.mobil_every = max(1, int(round(MOBIL_INTERVAL / self.dt)))
        self.mobil_slots = self.mobil_every * torch.arange(
            -(-self.A // self.mobil_every), device=self.x.device)[None, :]
        self.params["desired_speed"] = self.params["desired_speed"].clamp(min=0.1)
        self.v0_base = self.params["desired_speed"].clone()  # before bends limit it
        self.dirn = init["dirn"]  # +1 driving along s, -1 on an oncoming lane
        self.two_way = bool(scene.road.two_way)
        self._constants()
        self._tables()
        self._noise = None
        self._memo: dict = {}
        self._scratch: dict = {}
        self.reactive = Reactive(self, init)
        self.junction = Control(self, init) if scene.junction is not None else None
        self.policy = policy or make_policy(self.spec.ego)
        self.policy.reset(self)

    def _constants(self) -> None:
        """Per-scene constants of the step."""
        import torch

        sc = self.scene
        L, Wd = sc.length, sc.width
        self.all_lane_bound = bool(sc.lane_bound.all())
        self.need_index = self.has_idm or self.A > 2  # lane neighbours matter
        self.not_ego = self.agent_ids[0] != 0
        self.reach = (0.5 * (L.max() + torch.hypot(L, Wd)))[:, None]  # broad-phase radius
        self.ego_partner = torch.where(self.not_ego, 0, self.A).expand(self.W, self.A)[..., None]
        self.idm_free = sc.is_idm & ~self.scripted  # IDM drivers, until a script takes over
        self.flat_base = self.A * torch.arange(self.W, device=self.x.device)[:, None]
        self.row_base = self.flat_base + self.flat_base // self.A  # rows of A + 1 columns

    def _tables(self) -> None:
        """Padded tables gathered by neighbour index (slot A = no agent): as a follower, an
        agent's [x, v, length, v0, T, s0, a, 2 sqrt(a b)]; as a leader, [x (FAR for none),
        longitudinal speed, length]. Rows that move are refreshed each step."""
        import torch

        p = self.params
        self.two_sqrt_ab = 2.0 * torch.sqrt(p["max_accel"] * p["comfort_decel"])
        length = self.scene.length.expand(self.W, self.A)
        self.ftab = torch.stack([pad(length, 0.0)] * 3
                                + [pad(p[k], 1.0) for k in _IDM_KEYS[:-1]]
                                + [pad(self.two_sqrt_ab, 2.0)])
        self.ltab = torch.stack((pad(length, FAR), pad(length, 0.0), pad(length, 0.0)))
        # white acceleration noise: per-step std sigma / sqrt(dt), so that the speed's variance
        # grows as sigma^2 t whatever the step (Wiener process, Treiber & Kesting 2017)
        self.noise_scale = torch.where(self.scene.is_idm, p["accel_noise"], 0.0) \
            / math.sqrt(self.dt)

    def impact_speed(self):
        """Relative speed [m/s] between the ego and the agent it hit, in the step a collision
        was detected (the velocities that brought the boxes together; the largest if several)."""
        return self.ego_impact

    @property
    def t(self):
        """Simulation time of every world, (W,)."""
        return self.steps.to(self.x.dtype) * self.dt

    STATE = ("x", "y", "h", "v", "acc", "episode", "event_values", "max_brake", "sensor_range",
             "latency", "target_y", "lc_from", "lc_elapsed", "lc_time", "scripted", "sc_target",
             "sc_rate", "collided", "cool", "fired", "delay", "steps", "new_collision", "idm_free",
             "ego_impact", "v0_base", "dirn")

    def reset_worlds(self, rows, draws) -> None:
        """Start new episodes ``draws`` in worlds ``rows`` (the other worlds are untouched)."""
        import torch

        rows = torch.as_tensor(rows, dtype=torch.long, device=self.x.device)
        fresh = Simulator(self.scene, draws, policy=_NoPolicy())
        for name in self.STATE:
            getattr(self, name)[rows] = getattr(fresh, name)
        self.buf[:, rows] = fresh.buf
        self.in_step = False
        for k in self.params:
            self.params[k][rows] = fresh.params[k]
        for k in self.ego:
            self.ego[k][rows] = fresh.ego[k]
        self.reactive.reset_worlds(rows, fresh.reactive)
        if self.junction is not None:
            self.junction.reset_worlds(rows, fresh.junction)
        self.noisy = self.noisy or fresh.noisy
        self._tables()
        if self._noise is not None:
            self._noise.rekey(rows, fresh.episode[:, None])
        self._memo.clear()
        self.policy.reset_worlds(self, rows)

    def scratch(self, name, shape, dtype):
        """A reusable work buffer (contents undefined) for large per-step intermediates."""
        import torch

        b = self._scratch.get(name)
        if b is None or b.shape != shape or b.dtype != dtype:
            b = self._scratch[name] = torch.empty(shape, dtype=dtype, device=self.x.device)
        return b

    # -- quantities of the current state, computed once ---------------------------------------
    def _cached(self, name, deps, make):
        hit = self._memo.get(name)
        if hit is None or any(a is not b for a, b in zip(hit[0], deps)):
            hit = self._memo[name] = (deps, make())
        return hit[1]

    def trig(self):
        """(2, W, A): cos and sin of every heading."""
        import torch

        return self._cached("trig", (self.h,), lambda: torch.stack((torch.cos(self.h),
                                                                    torch.sin(self.h))))

    def velocity(self):
        """(2, W, A): x and y velocity of every agent."""
        return self._cached("vel", (self.h, self.v), lambda: self.v * self.trig())

    def relative(self):
        """(2, W, A): x and y position of every agent relative to the ego."""
        import torch

        def make():
            p = torch.stack((self.x, self.y))
            return p - p[..., :1]

        return self._cached("rel", (self.x, self.y), make)

    def extents(self):
        """(2, W, A): half extents along x and y of every agent's axis-aligned hull."""
        def make():
            cs = self.trig().abs()
            return 0.5 * (self.scene.length * cs + self.scene.width * cs.flip(0))

        return self._cached("ext", (self.h,), make)

    def travel(self):
        """(W, A): position along each agent's direction of travel (x, or -x on an oncoming
        lane): the coordinate of the lane index and of car following."""
        if not self.two_way:
            return self.x
        return self._cached("travel", (self.x,), lambda: self.x * self.dirn)

    # -- lanes ----------------------------------------------------------------------------
    def lanes(self):
        """Lane occupancy by lateral position (-1 off the road) for every agent: the lane of its
        centre, and a second lane its footprint also covers (-1 if none)."""
        import torch

        r = self.scene.road
        n = r.n_lanes
        y = self.y
        # lane numbers stay floats (exact small integers) until the end: half the memory
        lane = torch.floor((y - r.y_min) / r.lane_width).clamp_(0, n - 1)
        lane = torch.where((y >= r.y_min - 0.3) & (y <= r.y_max + 0.3), lane, -1.0)
        ext = self.extents()[1]
        y_lo, y_hi = y - ext, y + ext
        lo = torch.floor((y_lo - r.y_min) / r.lane_width)
        hi = torch.floor((y_hi - r.y_min) / r.lane_width)
        other = torch.where(lo != lane, lo, hi)
        ok = (other != lane) & (other >= 0) & (other < n) & (y_hi > r.y_min) & (y_lo < r.y_max)
        self.lane2 = torch.where(ok, other, -1.0).long()
        lane = lane.long()
        return lane

    def lane_index(self):
        """(lane, LaneIndex) of the current state, built once per state."""
        def make():
            lane = self.lanes()
            return lane, LaneIndex(lane, self.travel(), self.lane2)

        return self._cached("index", (self.x, self.y, self.h), make)

    def rows(self, tab, idx):
        """``tab[:, w, idx[w, k]]`` of a padded (R, W, A + 1) table for agent indices ``idx``
        (W, ...), as one selection from the flattened table."""
        flat = (idx + self.row_base.view(-1, *[1] * (idx.dim() - 1))).view(-1)
        return tab.view(len(tab), -1).index_select(1, flat).view(len(tab), *idx.shape)

    def _idm_between(self, f, lead):
        """IDM acceleration of agents ``f`` (None = every agent itself) behind agents ``lead``
        (index A = none); returns (acceleration, gap). ``f`` (W, k) with ``lead`` (W, j, k):
        each follower behind each of its j leaders, results (W, j, k)."""
        import torch

        lx, lv, ll = self.rows(self.ltab, lead)
        if f is None:
            p = self.params
            fx, fv, fl = self.travel(), self.v, self.scene.length
            p = [p[k] for k in _IDM_KEYS[:-1]] + [self.two_sqrt_ab]
        else:
            f = f[:, None] if lead.dim() == 3 else f
            fx, fv, fl, *p = self.rows(self.ftab, f)
        gap = lx - fx - 0.5 * (fl + ll)
        a = idm_scaled(fv, *p, gap, fv - lv)
        if f is not None:
            a = torch.where(f < self.A, a, 0.0)
        return a, gap

    # -- story ----------------------------------------------------------------------------
    def _conditions(self):
        """Fire events whose trigger holds (each event fires once, OpenSCENARIO default)."""
        col = 0
        fire_list = []
        for e, (actor, ev) in enumerate(self.scene.events):
            any_group = None
            for group in ev.trigger.condition_groups:
                all_c = None
                for c in group:
                    holds = self._condition(c, self.event_values[:, col])
                    col += 1
                    all_c = holds if all_c is None else all_c & holds
                any_group = all_c if any_group is None else any_group | all_c
            fire = any_group & ~self.fired[:, e]
            self.fired[:, e] |= fire
            fire_list.append((actor, ev, fire, col))
            col += 2
        return fire_list

    def _condition(self, c, val):
        import torch

        if isinstance(c, TimeCondition):
            # in float64, with a tolerance far below a step: float32 k * dt can round above a
            # threshold that equals it, firing one step early
            rule = c.simulation_time.rule
            q = self.steps.to(torch.float64) * self.dt
            return q > val + _TIME_EPS if rule == "greater" else q < val - _TIME_EPS
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
                vx = self.velocity()[0]
                closing = (vx[:, i] - vx[:, j]) * torch.sign(dx)
                q = torch.where(closing > 0, gap / closing.clamp(min=1e-6), math.inf)
            rule = body.rule
        return q < val if rule == "less" else q > val

    def _apply_actions(self, fired, lane):
        import torch

        r = self.scene.road
        for actor, ev, fire, col in fired:
            if self.x.device.type == "cpu" and not bool(fire.any()):
                continue  # nothing fires (a free check on the CPU)
            a, b = self.event_values[:, col], self.event_values[:, col + 1]
            if isinstance(ev.action, SpeedAction):
                self.scripted[:, actor] |= fire
                self.idm_free[:, actor] &= ~fire
                self.sc_target[:, actor] = torch.where(fire, a, self.sc_target[:, actor])
                self.sc_rate[:, actor] = torch.where(fire, b.abs(), self.sc_rate[:, actor])
            else:
                if lane is None:
                    lane = self.lanes()
                new = (lane[:, actor] + a.long()).clamp(0, r.n_lanes - 1)
                ty = r.center.to(self.x.dtype)[new]
                start_lane_change(self, (slice(None), actor), fire, ty,
                                  b.to(self.x.dtype).clamp(min=0.1))

    # -- step -----------------------------------------------------------------------------
    def step(self):
        """Advance every world by one ``dt``; returns the ego's labels for the new state."""
        import torch

        dt = self.dt
        lane, index = self.lane_index() if self.need_index else (None, None)
        self._apply_actions(self._conditions(), lane)
        if self.junction is not None:
            self.junction.update(self)
        if self.reactive.agents:
            self.reactive.react(self)
        # scripted speeds: a linear transition at the action's rate, landing on the target
        acc = torch.minimum(torch.maximum((self.sc_target - self.v) / dt, -self.sc_rate),
                            self.sc_rate)
        if self.scene.road.frame is not None:
            limit_in_bends(self)
        lead = None
        if self.has_idm:
            lead = index.leader()
            self.ftab[0, :, :-1] = self.travel()
            self.ftab[1, :, :-1] = self.v
            self.ltab[0, :, :-1] = self.travel()
            self.ltab[1, :, :-1] = self.velocity()[0] * self.dirn if self.two_way \
                else self.velocity()[0]
            acc_idm, _ = self._idm_between(None, lead)
            # while a footprint covers a second lane, also keep a safe distance to that lane's
            # leader
            second = index.leader2()
            if second is not None:
                who, lead2 = second  # straddlers (W, m; A pads) and their second-lane leaders
                padded = pad(acc_idm, 0.0)
                a2 = torch.minimum(padded.gather(1, who), self._idm_between(who, lead2)[0])
                acc_idm = padded.scatter_(1, who, a2)[:, :self.A]
            if self.junction is not None:
                acc_idm = self.junction.control(self, acc_idm)
            abort_conflicting_changes(self)
            acc_idm = changer_accelerations(self, index, acc_idm)
            if self.scene.road.merge_end is not None:
                acc_idm = ramp_end(self, lane, acc_idm)
            # each driver re-decides every MOBIL_INTERVAL, in its own phase (agents staggered,
            # so two drivers rarely pick the same gap in the same step)
            self.cool = self.cool - dt
            mobil(self, index, lane, acc_idm, lead)
            # reaction delay: a ring buffer of past IDM accelerations; slots not yet written
            # hold zeros, so a delay longer than the episode so far reads 0
            st = self.steps[:, None] % self.K
            if self.in_step:  # one plane to write
                self.buf[self.step_count % self.K] = acc_idm
            else:
                self.buf.scatter_(0, st[None].expand(1, self.W, self.A), acc_idm[None])
            slot = st - self.delay  # (st - delay) mod K without a division per agent
            slot += (slot < 0) * self.K
            delayed = self.buf.gather(0, slot[None])[0]
            acc = torch.where(self.idm_free, delayed, acc)
        ego_acc, ego_lat = self.policy.act(self)
        if self.noisy:
            if self._noise is None:
                self._noise = _rng.KeyedNormal(self.spec.seed, self.episode[:, None],
                                               self.agent_ids)
            acc = acc + self.noise_scale * self._noise(self.steps[:, None], self.x.dtype)
        acc[:, 0] = ego_acc
        integrate(self, acc, ego_lat)
        # the new state's lane index serves the collision test and the next step's drivers
        lane, index = self.lane_index() if self.need_index else (None, None)
        collide(self, index, lane)
        if self.junction is not None:
            self.junction.record(self)
        self.step_count += 1
        self.steps += 1
        return ego_labels(self)


class _NoPolicy:
    name = "none"

    def reset(self, sim) -> None:
        pass

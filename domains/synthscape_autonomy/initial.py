"""Per-world initial states of a scene, computed for all worlds at once.

Each episode draws its agents' and the ego's parameters from its own generator
(``_rng.episode_rng(seed, family, episode, "agents")``) in one fixed order, the draw sites
(:func:`draw_sites`): per agent its traffic gap and speed, then its driver fields; then the
ego's fields; then each road user's behaviour. A continuous value is a function of one
standard normal draw and a choice takes one ``rng.choice``, so each episode's draws are taken
in a few calls (a run of continuous sites is one ``standard_normal(k)``, the same numbers as k
single draws) and every placement rule then runs on arrays over the worlds, agent by agent in
the slots' order. An episode's state does not depend on the other episodes of the batch.
"""
from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from synthscape_autonomy import _rng
from synthscape_autonomy.distributions import Choice, Normal, Uniform
from synthscape_autonomy.physics import detection_factor, weather_effects
from synthscape_autonomy.spec import VRU_MODES, LanePosition

VRU_FIELDS = ("mode", "critical_gap", "hesitation", "run_speed")  # VruBehaviour, per episode
EGO_FIELDS = ("latency", "brake_jerk", "detection_probability", "position_noise", "speed_noise",
              "false_positive_rate")  # EgoSpec fields drawn per episode
DRIVER_FIELDS = ("desired_speed", "time_headway", "min_gap", "max_accel", "comfort_decel",
                 "politeness", "safe_decel", "change_threshold", "reaction_time", "accel_noise")
SPACING = 12.0  # m: background traffic keeps this clear of the scenario's entities


def draw_sites(scene) -> Iterator[tuple[tuple, Any]]:
    """(site, value) of every value an episode may draw, in the order of its draws."""
    for a, slot in enumerate(scene.slots):
        if isinstance(slot.source, tuple):
            t, _ = slot.source
            yield ("gap", a), t.gap
            yield ("speed", a), t.speed
            drv = t.driver
        else:
            drv = slot.source.driver
        for f in DRIVER_FIELDS:
            yield ("driver", a, f), getattr(drv, f)
    for f in EGO_FIELDS:
        yield ("ego", f), getattr(scene.spec.ego, f)
    for a, slot in enumerate(scene.slots):
        beh = None if isinstance(slot.source, tuple) else slot.source.behaviour
        for f in (VRU_FIELDS if beh is not None else ()):
            yield ("vru", a, f), getattr(beh, f)


class _Values:
    """Values of spec fields for every world: constants, ``$parameters`` and drawn sites."""

    def __init__(self, scene, draws):
        self.values = [d.values for d in draws]
        self.W = len(draws)
        sites = [(site, v) for site, v in draw_sites(scene)
                 if isinstance(v, (Uniform, Normal, Choice))]
        self.column = {site: j for j, (site, _) in enumerate(sites)}
        self.z = np.zeros((self.W, len(sites)))
        runs: list[tuple[int, int, Choice | None]] = []  # (first, count, choice or None)
        for j, (_, v) in enumerate(sites):
            if isinstance(v, Choice):
                runs.append((j, 1, v))
            elif runs and runs[-1][2] is None and runs[-1][0] + runs[-1][1] == j:
                runs[-1] = (runs[-1][0], runs[-1][1] + 1, None)
            else:
                runs.append((j, 1, None))
        for w, d in enumerate(draws):
            rng = _rng.episode_rng(scene.spec.seed, scene.spec.family, d.episode, "agents")
            for j, k, choice in runs:
                if choice is None:
                    self.z[w, j:j + k] = rng.standard_normal(k)
                else:
                    self.z[w, j] = int(rng.choice(len(choice.choice), p=choice.probs))

    def raw(self, v: Any, site: tuple | None = None) -> list[Any] | np.ndarray:
        """Per world: ``v`` itself, its parameter's value, or its draw at ``site``."""
        if isinstance(v, str) and v.startswith("$"):
            return [vals[v[1:]] for vals in self.values]
        if isinstance(v, (Uniform, Normal, Choice)):
            if site is None:
                raise ValueError(f"drawing {v!r} needs a random generator")
            z = self.z[:, self.column[site]]
            if isinstance(v, Choice):
                return [v.choice[int(i)] for i in z]
            return np.asarray(v.from_z(z), float)
        return [v] * self.W

    def num(self, v: Any, site: tuple | None = None) -> np.ndarray:
        raw = self.raw(v, site)
        return raw if isinstance(raw, np.ndarray) else np.array([float(x) for x in raw])


def initial_state(scene, draws) -> dict[str, Any]:
    """Per-world tensors of the initial state of ``scene`` for these episodes."""
    import torch

    A, W = scene.n_agents, len(draws)
    val = _Values(scene, draws)
    cols = {k: np.zeros((W, A)) for k in ("x", "y", "h", "v", "grip", "dirn", *DRIVER_FIELDS)}
    n_main = len(scene.road.direction.tolist())
    lane_s: dict[tuple[int, int], np.ndarray] = {}
    taken: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (y, x, v) of entities
    for a, slot in enumerate(scene.slots):
        if isinstance(slot.source, tuple):
            t, k = slot.source
            lane = t.lanes[k % len(t.lanes)]
            key = (id(t), lane)
            s = lane_s[key] if key in lane_s else val.num(t.start)
            if lane < n_main:
                s = _clear_of(s, float(scene.road.center[lane]), taken)
            lane_s[key] = s + val.num(t.gap, ("gap", a))
            x, y, h, dirn = _on_lane(scene, lane, s)
            v = val.num(t.speed, ("speed", a))
            grip = np.ones(W)
            drv = t.driver
        else:
            e = slot.source
            p = e.position
            if isinstance(p, LanePosition):
                x, y, h, dirn = _on_lane(scene, p.lane, val.num(p.s))
                y = y + val.num(p.offset)
                if p.between == "bumpers" and p.relative_to is not None:
                    x = x + 0.5 * (slot.length + scene.slots[scene.index[p.relative_to]].length)
            else:
                x, y = val.num(p.x), val.num(p.y)
                h = np.deg2rad(val.num(p.heading))
                dirn = np.ones(W)
            if p.relative_to is not None:
                ref = scene.index[p.relative_to]
                x = x + (cols["x"][:, ref] + val.num(p.time_gap) * cols["v"][:, ref])
            v = val.num(e.speed)
            grip = val.num(e.tyre_grip)
            drv = e.driver
            taken.append((y, x, v))
        for name, arr in (("x", x), ("y", y), ("h", h), ("v", v), ("grip", grip),
                          ("dirn", dirn)):
            cols[name][:, a] = arr
        for f in DRIVER_FIELDS:
            cols[f][:, a] = val.num(getattr(drv, f), ("driver", a, f))
    settle_traffic(scene, cols)
    world = _world(scene, val)
    events = [scene._event_values(d.values) for d in draws]
    T = {k: torch.tensor(v, device=scene.device, dtype=scene.dtype) for k, v in cols.items()}
    T.update({k: torch.tensor(v, device=scene.device, dtype=scene.dtype)
              for k, v in world.items()})
    # float64: time thresholds compare exactly with k * dt (see Simulator._condition)
    T["event_values"] = torch.tensor(np.array(events, dtype=float).reshape(W, -1),
                                     device=scene.device, dtype=torch.float64)
    if scene.junction is not None:
        T.update({k: torch.tensor(v, device=scene.device, dtype=scene.dtype)
                  for k, v in scene.junction.initial(scene, draws).items()})
    T["episode"] = torch.tensor([d.episode for d in draws], device=scene.device,
                                dtype=torch.long)
    return T


def _world(scene, val: _Values) -> dict[str, np.ndarray]:
    """Per-world values: weather effects, the ego's fields, road users' behaviours."""
    env = scene.spec.environment
    weather = [str(x) for x in val.raw(env.weather)]
    lighting = [str(x) for x in val.raw(env.lighting)]
    effects = np.array([weather_effects(wt, lt) for wt, lt in zip(weather, lighting)],
                       float).reshape(val.W, 3)
    world = {"mu": effects[:, 0], "range_factor": effects[:, 1],
             "added_latency": effects[:, 2]}
    for f in EGO_FIELDS:
        world[f] = val.num(getattr(scene.spec.ego, f), ("ego", f))
    for a, slot in enumerate(scene.slots):
        beh = None if isinstance(slot.source, tuple) else slot.source.behaviour
        for f in (VRU_FIELDS if beh is not None else ()):
            raw = val.raw(getattr(beh, f), ("vru", a, f))
            world[f"vru{a}_{f}"] = np.array([VRU_MODES.index(m) for m in raw], float) \
                if f == "mode" else val.num(getattr(beh, f), ("vru", a, f))
    world["detection_probability"] = world["detection_probability"] * np.array(
        [detection_factor(wt, lt) for wt, lt in zip(weather, lighting)])
    return world


def _clear_of(s: np.ndarray, y: float, taken: list) -> np.ndarray:
    """``s`` moved on by ``SPACING`` until it is clear of every entity in the lane (from
    ``SPACING`` behind to ``SPACING`` plus 1.5 s of its speed ahead of it), world by world."""
    s = s.copy()
    while True:
        hit = np.zeros(len(s), bool)
        for ty, tx, tv in taken:
            d = s - tx
            hit |= (np.abs(ty - y) < 1.0) & (-SPACING < d) & (d < SPACING + 1.5 * tv)
        if not hit.any():
            return s
        s[hit] += SPACING


def _on_lane(scene, lane: int, s: np.ndarray) -> tuple[np.ndarray, ...]:
    """(x, y, heading, direction) of positions s on a lane (crossing-road lanes too)."""
    n = len(s)
    if lane >= scene.road.n_lanes:
        j = scene.junction
        L = j.signals.cross_length
        if lane == j.n_main:  # northbound, east of the centre line
            return (np.full(n, j.cx + j.width / 4), (j.y0 - L) + s, np.full(n, math.pi / 2),
                    np.ones(n))
        return (np.full(n, j.cx - j.width / 4), (j.y1 + L) - s, np.full(n, -math.pi / 2),
                np.ones(n))
    dirn = int(scene.road.direction[lane])
    return (np.asarray(s, float).copy(), np.full(n, float(scene.road.center[lane])),
            np.full(n, 0.0 if dirn > 0 else math.pi), np.full(n, float(dirn)))


def settle_traffic(scene, cols: dict[str, np.ndarray]) -> None:
    """Start background traffic near IDM equilibrium: a follower is no faster than its gap
    allows, (gap - s0) / T, nor much faster than its leader when close; otherwise random
    spawning makes drivers brake at the friction limit in the first second. Lane by lane,
    front to back (a follower's cap uses its leader's capped speed)."""
    slots = scene.slots
    if not any(isinstance(s.source, tuple) for s in slots):
        return
    lb = np.array([a for a, s in enumerate(slots) if s.lane_bound], int)
    if not len(lb):
        return
    traffic = np.array([isinstance(slots[a].source, tuple) for a in lb])
    length = np.array([slots[a].length for a in lb])
    W = cols["x"].shape[0]
    rows = np.arange(W)
    X, Y, V = cols["x"][:, lb], cols["y"][:, lb], cols["v"][:, lb]
    TH, S0 = cols["time_headway"][:, lb], cols["min_gap"][:, lb]
    for c, dirn in zip(scene.road.center.tolist(), scene.road.direction.tolist()):
        member = np.abs(Y - c) < 0.5
        key = np.where(member, -dirn * X, np.inf)
        order = np.argsort(key, axis=1, kind="stable")
        count = member.sum(axis=1)
        for k in range(1, int(count.max(initial=0))):
            lead, f = order[:, k - 1], order[:, k]
            live = (k < count) & traffic[f]
            if not live.any():
                continue
            gap = dirn * (X[rows, lead] - X[rows, f]) - 0.5 * (length[lead] + length[f])
            T, s0 = TH[rows, f], S0[rows, f]
            v = np.minimum(V[rows, f], np.maximum(0.0, (gap - s0) / np.maximum(T, 0.1)))
            v = np.where(gap < 3.0 * v * T, np.minimum(v, V[rows, lead] + 1.0), v)
            V[rows[live], f[live]] = v[live]
    cols["v"][:, lb] = V

"""Compile a driving spec into a batched scene: the agent layout shared by every world, the
events, and per-episode initial states built from sampled parameters."""
from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from synthscape.scenarios.spec import Problem
from synthscape_autonomy import _rng
from synthscape_autonomy.distributions import Choice, Normal, ParameterSpace, Proposal, Uniform
from synthscape_autonomy.initial import initial_state
from synthscape_autonomy.junction import Layout
from synthscape_autonomy.physics import AGENT_TYPES
from synthscape_autonomy.road import compile_road, lane_graph
from synthscape_autonomy.spec import (
    DistanceCondition,
    DrivingSpec,
    LaneChangeAction,
    LanePosition,
    SpeedAction,
    SpeedCondition,
    TimeCondition,
)


@dataclass
class AgentSlot:
    name: str
    type: str
    controller: str
    length: float
    width: float
    lane_bound: bool
    source: Any  # EntitySpec or (TrafficSpec, k)


@dataclass
class Draw:
    """One episode's concrete scenario: parameter values and its log importance weight."""

    episode: int
    values: dict[str, Any]
    log_weight: float = 0.0
    z: np.ndarray | None = None
    idx: dict[str, int] = field(default_factory=dict)


def _val(v: Any, values: dict[str, Any], rng: np.random.Generator | None = None) -> Any:
    if isinstance(v, str) and v.startswith("$"):
        return values[v[1:]]
    if isinstance(v, (Uniform, Normal, Choice)):
        if rng is None:
            raise ValueError(f"drawing {v!r} needs a random generator")
        if isinstance(v, Choice):
            return v.choice[int(rng.choice(len(v.choice), p=v.probs))]
        return float(v.from_z(rng.standard_normal()))  # type: ignore[arg-type]  # a scalar z
    return v


def resolve_road(spec: DrivingSpec):
    """The road spec with a SUMO network's lanes, width and directions filled in, and the
    curved reference line's points (None for a straight road)."""
    from synthscape.errors import SpecError
    from synthscape_autonomy.frame import polyline_of_segments, sumo_road

    road = spec.road
    if road.sumo_net is not None:
        net = sumo_road(road.sumo_net)
        if net["lanes"] != road.lanes:
            raise SpecError(f"road.lanes is {road.lanes} but the SUMO edges have {net['lanes']} "
                            f"lanes; set road.lanes: {net['lanes']}")
        road = road.model_copy(update={"lane_width": net["lane_width"],
                                       "directions": net["directions"]})
        return road, net["points"]
    if road.geometry:
        return road, polyline_of_segments(road.geometry, road.length)
    return road, None


class Scene:
    """Everything shared by the worlds of one scenario: road, agents, events, parameter space."""

    def __init__(self, spec: DrivingSpec, device=None, dtype=None):
        import torch

        self.spec = spec
        self.device = torch.device(device or "cpu")
        self.dtype = dtype or torch.float32
        road, points = resolve_road(spec)
        self.graph = lane_graph(road)
        self.road = compile_road(self.graph, self.device, road, points, self.dtype)
        self.junction = Layout(road, road.lanes, self.road.y_min, self.road.y_max) \
            if road.signals is not None else None
        main = road.lanes  # lanes from here on are the crossing road's
        self.space = ParameterSpace(spec.parameters)
        self.slots: list[AgentSlot] = []
        for e in spec.entities:
            _, ln, wd = AGENT_TYPES[e.type]
            self.slots.append(AgentSlot(e.name, e.type, e.controller, e.length or ln,
                                        e.width or wd, isinstance(e.position, LanePosition)
                                        and e.position.lane < main, e))
        for gi, t in enumerate(spec.traffic):
            _, ln, wd = AGENT_TYPES[t.type]
            for k in range(t.count):
                self.slots.append(AgentSlot(f"traffic{gi}_{k}", t.type, "idm", ln, wd,
                                            t.lanes[k % len(t.lanes)] < main, (t, k)))
        self.names = [s.name for s in self.slots]
        self.index = {n: i for i, n in enumerate(self.names)}
        tt = lambda xs, dt=self.dtype: torch.tensor(xs, device=self.device, dtype=dt)  # noqa: E731
        self.type_code = tt([AGENT_TYPES[s.type][0] for s in self.slots], torch.long)
        self.length = tt([s.length for s in self.slots])
        self.width = tt([s.width for s in self.slots])
        self.lane_bound = tt([s.lane_bound for s in self.slots], torch.bool)
        self.is_idm = tt([s.controller == "idm" for s in self.slots], torch.bool)
        self.occluders = tt([i for i, s in enumerate(self.slots)
                             if s.controller == "static" or s.type == "truck"], torch.long)
        self.events = [(self.index[m.actor], ev) for act in spec.story.acts
                       for m in act.maneuvers for ev in m.events]
        self.n_agents = len(self.slots)

    # -- sampling -------------------------------------------------------------------------
    def draw(self, episode: int, proposal: Proposal | None = None) -> Draw:
        rng = _rng.episode_rng(self.spec.seed, self.spec.family, episode)
        z, idx, values, lw = self.space.draw(rng, proposal)
        return Draw(episode, values, lw, z, idx)

    def draws(self, episodes, proposal: Proposal | None = None) -> list[Draw]:
        return [self.draw(int(e), proposal) for e in episodes]

    # -- initial state --------------------------------------------------------------------
    def initial(self, draws: list[Draw]) -> dict[str, Any]:
        """Per-world tensors of the initial state for these episodes (:mod:`.initial`)."""
        return initial_state(self, draws)

    def _event_values(self, values: dict[str, Any]) -> list[float]:
        """Flatten every number of every event (condition thresholds, action targets)."""
        out: list[float] = []
        for _, ev in self.events:
            for group in ev.trigger.condition_groups:
                for c in group:
                    out.append(float(_val(_cond_body(c).value, values)))
            a = ev.action
            if isinstance(a, SpeedAction):
                out += [float(_val(a.speed.target, values)), float(_val(a.speed.rate, values))]
            else:
                out += [float(a.lane_change.relative), float(_val(a.lane_change.duration, values))]
        return out


def overlap_problems(spec: DrivingSpec, episodes: int = 8) -> list:
    """Warnings for scenario entities whose boxes overlap at t = 0 in any of the first
    ``episodes`` episodes (they would collide at once in each of them)."""
    from synthscape.errors import SynthscapeError

    try:
        scene = Scene(spec)
        init = scene.initial(scene.draws(range(episodes)))
    except SynthscapeError:  # reported by the other checks
        return []
    named = [a for a, s in enumerate(scene.slots) if not isinstance(s.source, tuple)]
    x, y, h = (init[k][:, named].cpu().numpy() for k in ("x", "y", "h"))
    length = scene.length[named].cpu().numpy()
    width = scene.width[named].cpu().numpy()
    c, s = np.abs(np.cos(h)), np.abs(np.sin(h))
    hx, hy = 0.5 * (c * length + s * width), 0.5 * (s * length + c * width)  # box half extents
    out = []
    for i in range(len(named)):
        for j in range(i + 1, len(named)):
            hit = (np.abs(x[:, i] - x[:, j]) < hx[:, i] + hx[:, j]) & \
                  (np.abs(y[:, i] - y[:, j]) < hy[:, i] + hy[:, j])
            if hit.any():
                a, b = scene.names[named[i]], scene.names[named[j]]
                out.append(Problem(("entities", named[j], "position"), (
                    f"entities {a!r} and {b!r} overlap at t = 0 in {int(hit.sum())} of the "
                    f"first {len(hit)} episodes, so they collide at once; move one of them "
                    f"(position s, lane or time_gap)"), warning=True))
    return out


# ---- the checks of ``synthscape validate`` (DrivingSpec.problems) ------------------------------
def spec_problems(spec: DrivingSpec) -> Iterator[Problem]:
    """Physical values, weather and lighting names, entities overlapping at t = 0."""
    from synthscape_autonomy.physics import LIGHTING, WEATHER

    bad = list(_name_problems(spec, ("environment", "weather"), "weather", WEATHER))
    bad += _name_problems(spec, ("environment", "lighting"), "lighting", LIGHTING)
    bad += _speed_problems(spec)
    bad += _unused_parameters(spec)
    if spec.duration < spec.dt:
        bad.append(Problem(("duration",), f"duration {spec.duration:g} s is shorter than one "
                                          f"time step (dt {spec.dt:g} s), so nothing would be "
                                          f"simulated; raise duration or lower dt"))
    yield from bad
    if not bad:
        yield from overlap_problems(spec)


def _lowest(v: Any, spec: DrivingSpec) -> tuple[float, str]:
    """The lowest value a number, distribution or '$parameter' can take, and how it is given."""
    if isinstance(v, str) and v.startswith("$") and v[1:] in spec.parameters:
        low, how = _lowest(spec.parameters[v[1:]], spec)
        return low, f"parameter {v[1:]!r}: {how}"
    if isinstance(v, (int, float)):
        return float(v), f"{v:g}"
    if isinstance(v, Uniform):
        return float(v.uniform[0]), f"uniform {list(v.uniform)}"
    if isinstance(v, Normal):
        if v.clip is None:
            return -math.inf, f"normal {list(v.normal)} without 'clip'"
        return float(v.clip[0]), f"normal clipped to {list(v.clip)}"
    if isinstance(v, Choice):
        nums = [float(c) for c in v.choice if isinstance(c, (int, float))]
        return (min(nums), f"choice {v.choice}") if nums else (math.inf, "")
    return math.inf, ""


def _speed_fields(spec: DrivingSpec) -> Iterator[tuple[tuple, Any]]:
    for i, e in enumerate(spec.entities):
        yield ("entities", i, "speed"), e.speed
        yield ("entities", i, "driver", "desired_speed"), e.driver.desired_speed
    for i, t in enumerate(spec.traffic):
        yield ("traffic", i, "speed"), t.speed
        yield ("traffic", i, "driver", "desired_speed"), t.driver.desired_speed
    for a, act in enumerate(spec.story.acts):
        for m, man in enumerate(act.maneuvers):
            for k, ev in enumerate(man.events):
                if isinstance(ev.action, SpeedAction):
                    yield (("story", "acts", a, "maneuvers", m, "events", k, "action", "speed",
                            "target"), ev.action.speed.target)


def _speed_problems(spec: DrivingSpec) -> Iterator[Problem]:
    """Speeds are >= 0 m/s (a negative one would be clamped to 0 by the simulator while the
    released parameter columns kept the negative value)."""
    for loc, value in _speed_fields(spec):
        low, how = _lowest(value, spec)
        if low < 0:
            yield Problem(loc, f"speed can be negative ({how}): speeds are in m/s and must be "
                               f">= 0; give a non-negative value, or clip the distribution at 0")


def _name_problems(spec: DrivingSpec, loc: tuple, what: str, known: dict) -> Iterator[Problem]:
    """A weather or lighting name (or every option of the parameter it refers to) exists."""
    from synthscape.scenarios.validate import unknown_name

    value = getattr(spec.environment, loc[-1])
    names, where = [value], loc
    if value.startswith("$"):
        p = spec.parameters.get(value[1:])
        where = ("parameters", value[1:])
        if not isinstance(p, Choice):
            yield Problem(where, f"{what} parameter {value} must be a choice of names "
                                 f"({', '.join(sorted(known))}), e.g. {{choice: [dry, wet]}}")
            return
        names = list(p.choice)
    for name in names:
        if name not in known:
            yield Problem(where, unknown_name(what, str(name), sorted(known)))


def _references(value: Any) -> Iterator[str]:
    """Every '$name' string anywhere inside a dumped spec value."""
    if isinstance(value, str) and value.startswith("$"):
        yield value[1:]
    elif isinstance(value, dict):
        for v in value.values():
            yield from _references(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _references(v)


def _unused_parameters(spec: DrivingSpec) -> list[Problem]:
    """A warning for each declared parameter nothing refers to: it is drawn and released as a
    ``param_`` column, but changes nothing in the simulation."""
    dumped = spec.model_dump(exclude={"parameters"})
    used = set(_references(dumped))
    return [Problem(("parameters", name), (
        f"parameter {name!r} is declared but never used: no field refers to ${name}, so its "
        f"draws change nothing; refer to it (e.g. position x: ${name}) or remove it"),
        warning=True) for name in spec.parameters if name not in used]


def _cond_body(c):
    if isinstance(c, TimeCondition):
        return c.simulation_time
    if isinstance(c, DistanceCondition):
        return c.relative_distance
    if isinstance(c, SpeedCondition):
        return c.speed
    return c.time_to_collision


__all__ = ["Scene", "Draw", "LaneChangeAction", "SpeedAction", "overlap_problems"]

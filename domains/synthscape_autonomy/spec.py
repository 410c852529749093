"""``kind: driving``: a scenario file that maps one-to-one onto ASAM OpenSCENARIO 1.x concepts.

OpenSCENARIO -> this file: ParameterDeclarations (with ParameterValueDistribution) ->
``parameters``; RoadNetwork -> ``road``; Environment (Weather, TimeOfDay) -> ``environment``;
Entities/ScenarioObject -> ``entities`` (and ``traffic`` for swarms of background vehicles);
Init (TeleportAction, AbsoluteTargetSpeed) -> each entity's ``position`` and ``speed``;
Storyboard/Story/Act/ManeuverGroup/Maneuver/Event/Action -> ``story.acts[].maneuvers[].events[]``;
StartTrigger/ConditionGroup/Condition -> ``trigger.condition_groups`` (OR of ANDs);
StopTrigger (simulationTime) -> ``duration``. Numbers anywhere may be ``$name`` references to
declared parameters, sampled once per episode (a concrete scenario of the logical one).
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, ValidationInfo, model_validator

from synthscape.scenarios import SpecBase, StrictModel
from synthscape.scenarios.spec import Problem
from synthscape_autonomy.distributions import Choice
from synthscape_autonomy.spec_signals import SignalSpec
from synthscape_autonomy.spec_types import EntityRef, Num, Rule, Sampled


class DriverSpec(StrictModel):
    """IDM (Treiber, Hennecke & Helbing 2000, Phys. Rev. E 62:1805, Table I highway values) and
    MOBIL (Kesting, Treiber & Helbing 2007, TRR 1999:86-94) parameters; values may be sampled
    per agent."""

    desired_speed: Sampled = 33.3  # m/s (120 km/h), Treiber et al. 2000
    time_headway: Sampled = 1.6  # s, Treiber et al. 2000
    min_gap: Sampled = 2.0  # m, Treiber et al. 2000
    max_accel: Sampled = 0.73  # m/s^2, Treiber et al. 2000
    comfort_decel: Sampled = 1.67  # m/s^2, Treiber et al. 2000
    politeness: Sampled = 0.5  # MOBIL p, Kesting et al. 2007
    safe_decel: Sampled = 4.0  # m/s^2, MOBIL b_safe, Kesting et al. 2007
    change_threshold: Sampled = 0.1  # m/s^2, MOBIL delta a_th, Kesting et al. 2007
    reaction_time: Sampled = 0.3  # s, delay range studied in Treiber, Kesting & Helbing 2006
    accel_noise: Sampled = 0.0  # m/s^2 std of white acceleration noise (Treiber & Kesting 2017)
    signal_violation: Sampled = 0.0  # probability that this road user ignores a red light (or a
    # pedestrian's don't-walk) at a signalised junction, drawn once per agent and episode


class LanePosition(StrictModel):
    """OpenSCENARIO LanePosition on the main road: lane index (0 = rightmost), s along it.
    With ``relative_to`` it is a RelativeLanePosition: s is added to that (earlier) entity's s,
    plus ``time_gap`` times its initial speed (a test protocol's initial headway). ``between``:
    ``centres`` measures that distance centre to centre, ``bumpers`` from the reference's front
    bumper to this entity's rear bumper (the gaps of the Euro NCAP protocols)."""

    lane: int = Field(ge=0)
    s: Num = 0.0
    offset: Num = 0.0
    relative_to: EntityRef | None = None
    time_gap: Num = 0.0
    between: Literal["centres", "bumpers"] = "centres"


class WorldPosition(StrictModel):
    """OpenSCENARIO WorldPosition: x, y in metres, heading in degrees (0 = along the road).
    With ``relative_to``, x is added to that (earlier) entity's x plus ``time_gap`` times its
    initial speed: a crossing road user placed where the entity arrives after ``time_gap``
    seconds at constant speed (the Euro NCAP pedestrian set-ups)."""

    x: Num
    y: Num
    heading: Num = 0.0
    relative_to: EntityRef | None = None
    time_gap: Num = 0.0


def _by_key(keys: dict[str, str]):
    """A discriminator that picks a union member by which key the mapping has, so an error
    speaks of the member the author meant instead of every member."""

    def pick(v: Any) -> str | None:
        if isinstance(v, dict):
            for k, tag in keys.items():
                if k in v:
                    return tag
            return None
        return type(v).__name__

    return Discriminator(pick, custom_error_type="invalid_kind",
                         custom_error_message=f"expected a mapping with one of the keys "
                                              f"{sorted(keys)}")


Position = Annotated[Annotated[LanePosition, Tag("LanePosition")] |
                     Annotated[WorldPosition, Tag("WorldPosition")],
                     _by_key({"lane": "LanePosition", "x": "WorldPosition", "y": "WorldPosition"})]


VRU_MODES = ("walk_on", "yield", "hesitate", "run")


def _default_mode() -> Choice:
    return Choice(choice=["yield", "hesitate", "run"], weights=[0.6, 0.25, 0.15])


class VruBehaviour(StrictModel):
    """How a crossing pedestrian or cyclist reacts to the approaching ego, drawn per episode.

    When the ego would reach the road user's crossing line within ``critical_gap`` seconds and
    the road user has not yet entered the ego's path: ``yield`` stops at the edge of the path
    and walks on once the ego has passed; ``hesitate`` stops for ``hesitation`` seconds, then
    walks on whatever the ego does; ``run`` speeds up to ``run_speed``; ``walk_on`` ignores the
    ego. Defaults: docs/driving.md ("Reactive road users")."""

    mode: str | Choice = Field(default_factory=_default_mode)  # VRU_MODES, a choice or $param
    critical_gap: Sampled = 4.5  # s of the ego's time to the crossing the road user needs
    hesitation: Sampled = 1.5  # s a hesitating road user stands still
    run_speed: Sampled = 3.0  # m/s of a running pedestrian
    margin: float = Field(default=0.5, ge=0)  # m kept from the edge of the ego's path

    @model_validator(mode="after")
    def _known_modes(self) -> VruBehaviour:
        m = self.mode
        modes = m.choice if isinstance(m, Choice) else [m] if isinstance(m, str) and \
            not m.startswith("$") else []
        bad = [x for x in modes if x not in VRU_MODES]
        if bad:
            raise ValueError(f"unknown behaviour mode(s) {bad}; choose from {list(VRU_MODES)}")
        return self


class EntitySpec(StrictModel):
    """One ScenarioObject. ``controller``: ``ego`` (the policy under test), ``idm`` (IDM + MOBIL
    on its lane), ``scripted`` (keeps its heading; speed set by actions) or ``static``. A
    scripted pedestrian or cyclist with ``behaviour`` reacts to the ego."""

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    type: Literal["car", "truck", "pedestrian", "cyclist"] = "car"
    controller: Literal["ego", "idm", "scripted", "static"] = "idm"
    position: Position
    speed: Num = 0.0
    driver: DriverSpec = Field(default_factory=DriverSpec)
    length: float | None = Field(default=None, gt=0)
    width: float | None = Field(default=None, gt=0)
    tyre_grip: Num = 1.0  # factor on the road's friction for this vehicle (tyre condition)
    behaviour: VruBehaviour | None = None


class TrafficSpec(StrictModel):
    """A swarm of IDM/MOBIL vehicles placed on ``lanes`` from ``start`` every ``gap`` metres."""

    count: int = Field(ge=1, le=512)
    lanes: list[int] = Field(default_factory=lambda: [0], min_length=1)
    start: Num = 30.0
    gap: Sampled = 30.0
    speed: Sampled = 25.0
    type: Literal["car", "truck"] = "car"
    driver: DriverSpec = Field(default_factory=DriverSpec)


class _Relative(StrictModel):
    entity: EntityRef
    reference: EntityRef
    value: Num
    rule: Rule = "less"


class _SpeedCond(StrictModel):
    entity: EntityRef
    value: Num
    rule: Rule = "greater"


class _TimeCond(StrictModel):
    value: Num
    rule: Rule = "greater"


class TimeCondition(StrictModel):
    """SimulationTimeCondition."""
    simulation_time: _TimeCond


class DistanceCondition(StrictModel):
    """RelativeDistanceCondition (cartesian distance between centres)."""
    relative_distance: _Relative


class TtcCondition(StrictModel):
    """TimeToCollisionCondition (longitudinal, entity approaching reference)."""
    time_to_collision: _Relative


class SpeedCondition(StrictModel):
    """SpeedCondition."""
    speed: _SpeedCond


Condition = Annotated[Annotated[TimeCondition, Tag("TimeCondition")] |
                      Annotated[DistanceCondition, Tag("DistanceCondition")] |
                      Annotated[TtcCondition, Tag("TtcCondition")] |
                      Annotated[SpeedCondition, Tag("SpeedCondition")],
                      _by_key({"simulation_time": "TimeCondition",
                               "relative_distance": "DistanceCondition",
                               "time_to_collision": "TtcCondition", "speed": "SpeedCondition"})]


class Trigger(StrictModel):
    """StartTrigger: fires when every condition of any one group holds."""

    condition_groups: list[list[Condition]] = Field(min_length=1)


class _Speed(StrictModel):
    target: Num
    rate: Num = 3.0  # m/s^2, magnitude of the linear transition (SpeedActionDynamics)


class _LaneChange(StrictModel):
    relative: int = Field(ge=-1, le=1)  # +1 = one lane to the left, -1 = right
    duration: Num = 3.0  # s, lateral transition time (LaneChangeActionDynamics)


class SpeedAction(StrictModel):
    speed: _Speed


class LaneChangeAction(StrictModel):
    lane_change: _LaneChange


class Event(StrictModel):
    name: str
    trigger: Trigger
    action: Annotated[Annotated[SpeedAction, Tag("SpeedAction")] |
                      Annotated[LaneChangeAction, Tag("LaneChangeAction")],
                      _by_key({"speed": "SpeedAction", "lane_change": "LaneChangeAction"})]


class Maneuver(StrictModel):
    name: str = "maneuver"
    actor: EntityRef
    events: list[Event] = Field(min_length=1)


class Act(StrictModel):
    name: str = "act"
    maneuvers: list[Maneuver] = Field(default_factory=list)


class StorySpec(StrictModel):
    acts: list[Act] = Field(default_factory=list)


class RoadSegment(StrictModel):
    """One piece of the road's reference line (OpenDRIVE planView style): a straight line
    (``curvature`` 0) or an arc of constant curvature (1/radius, positive to the left)."""

    length: float = Field(gt=0)  # m
    curvature: float = Field(default=0.0, ge=-0.2, le=0.2)  # 1/m (radius >= 5 m)


class SumoNetSpec(StrictModel):
    """A road read from a SUMO network (``.net.xml``, through sumolib): the chain of ``edges``
    (in driving order) gives the reference line, lane count and width; ``opposite`` edges
    (optional, the other direction) add oncoming lanes."""

    file: str
    edges: list[str] = Field(min_length=1)
    opposite: list[str] = Field(default_factory=list)


class RoadSpec(StrictModel):
    """A multi-lane road in a lane frame (s along the reference line, y across it, 0 = right
    edge of lane 0), with an optional crosswalk and crossing junction.

    ``junction_x`` is the centre (along s) of a crossing road ``junction_width`` wide;
    ``signals`` makes it a signalised four-way junction (:class:`SignalSpec`).

    ``geometry`` bends the reference line (straight when empty): vehicles drive in the lane
    frame and the output also gives world coordinates. ``directions`` (one per lane, +1 along
    s, -1 oncoming) makes a two-way road. ``merge_end``: lane 0 is an on-ramp that ends at that
    s (its drivers must merge left before). ``sumo_net`` reads the road from a SUMO network
    instead (geometry, lanes, lane width and directions then come from the file)."""

    lanes: int = Field(default=2, ge=1, le=6)
    lane_width: float = Field(default=3.5, gt=2.0, le=5.0)  # m, typical motorway lane
    length: float = Field(default=600.0, gt=50.0)
    crosswalk_x: float | None = None
    junction_x: float | None = None
    junction_width: float = Field(default=7.0, gt=2.0)
    geometry: list[RoadSegment] = Field(default_factory=list)
    directions: list[Literal[1, -1]] | None = None
    merge_end: float | None = Field(default=None, gt=0)
    curve_lateral_accel: float = Field(default=2.0, gt=0)  # m/s^2 drivers accept in curves
    # (Reymond et al. 2001, Human Factors 43:483: 2-4 m/s^2, lower at higher speed)
    sumo_net: SumoNetSpec | None = None
    signals: SignalSpec | None = None  # traffic lights at the junction at ``junction_x``

    @model_validator(mode="after")
    def _directions_fit(self) -> RoadSpec:
        if self.directions is not None and len(self.directions) != self.lanes:
            raise ValueError(f"directions has {len(self.directions)} entries for {self.lanes} "
                             f"lanes; give one (+1 or -1) per lane")
        if self.signals is not None and (self.junction_x is None or self.geometry
                                         or self.sumo_net is not None):
            raise ValueError("road.signals needs a straight road (no geometry, no sumo_net) "
                             "with a crossing road: set road.junction_x (its centre along s)")
        return self

    @property
    def all_lanes(self) -> int:
        """Main-road lanes plus, at a signalised junction, the crossing road's two lanes
        (index lanes: northbound, heading +90 deg; lanes + 1: southbound)."""
        return self.lanes + (2 if self.signals is not None else 0)


class EnvironmentSpec(StrictModel):
    """Weather and TimeOfDay; each may be a ``$parameter`` naming a ``choice``."""

    weather: str = "dry"
    lighting: str = "day"


class EgoSpec(StrictModel):
    """The ego: ``rule_based`` (a sensor model feeding separate ACC and AEB functions, whose
    command reaches the brakes after a latency and through a brake-pressure ramp) or
    ``external`` (actions from gymnasium, applied directly).

    Fields typed ``Sampled`` may be numbers, '$parameter' references or distributions, drawn
    once per episode. Defaults and their sources: docs/driving.md ("Ego model")."""

    policy: Literal["rule_based", "external"] = "rule_based"
    # -- sensor -------------------------------------------------------------------------------
    sensor_range: float = Field(default=100.0, gt=0)  # m in clear daylight (weather scales it)
    fov: float = Field(default=60.0, gt=0, le=360)  # deg, full horizontal field of view
    perception_latency: float = Field(default=0.3, ge=0)  # s of detections before a new object
    # is confirmed as a track (weather and light add to it)
    detection_probability: Sampled = 0.99  # per frame in clear daylight (weather scales it)
    position_noise: Sampled = 0.2  # m, std of the measured gap
    speed_noise: Sampled = 0.1  # m/s, std of the measured speed
    false_positive_rate: Sampled = 0.0  # ghost objects in the path per second
    ghost_duration: float = Field(default=0.5, gt=0)  # s a ghost object stays tracked
    # -- functions ----------------------------------------------------------------------------
    acc: bool = True  # adaptive cruise control; off: cruise at the set speed (the Euro NCAP AEB
    # test mode: a driver or robot holds the speed, nothing pre-brakes)
    acc_decel: float = Field(default=3.5, gt=0)  # m/s^2, ACC braking authority (ISO 15622)
    acc_jerk: float = Field(default=2.5, gt=0)  # m/s^3, ACC comfort jerk limit (ISO 15622)
    aeb: bool = True  # automatic emergency braking
    aeb_ttc: float = Field(default=1.2, gt=0)  # s, AEB brakes below this longitudinal TTC
    aeb_decel: float = Field(default=9.0, gt=0)  # m/s^2, before the friction limit
    aeb_required_decel: float = Field(default=4.0, gt=0)  # m/s^2 needed to stop: AEB brakes
    stop_margin: float = Field(default=1.0, ge=0)  # m kept to the leader when stopping
    corridor: float = Field(default=0.5, ge=0)  # m added to half widths for the path corridor
    prediction: float = Field(default=1.0, ge=0)  # s lateral look-ahead for crossing objects
    # -- actuation ----------------------------------------------------------------------------
    latency: Sampled = 0.2  # s from perception to a change of brake demand (a human: ~1 s)
    brake_jerk: Sampled = 25.0  # m/s^3, rate of the brake-pressure build-up (and release)


class LabelSpec(StrictModel):
    near_miss_ttc: float = Field(default=1.5, gt=0)  # s, Hayward 1972 / van der Horst 1990
    drac_critical: float = Field(default=3.35, gt=0)  # m/s^2, Archer 2005
    failure: Literal["collision", "near_miss"] = "near_miss"


class SearchSpec(StrictModel):
    """Monte Carlo vs cross-entropy importance sampling (Rubinstein & Kroese 2004)."""

    mc_episodes: int = Field(default=1000, ge=10)
    ce_iterations: int = Field(default=4, ge=1, le=20)
    ce_episodes: int = Field(default=200, ge=10)
    elite_fraction: float = Field(default=0.1, gt=0, lt=1)
    is_episodes: int = Field(default=500, ge=10)
    confidence: float = Field(default=0.95, gt=0.5, lt=1)


class AugmentSpec(StrictModel):
    """Oversample edge cases to ``edge_share`` of the episodes, with importance weights."""

    edge_share: float = Field(default=0.3, gt=0, lt=1)


class RenderSpec(StrictModel):
    episodes: list[int] = Field(default_factory=lambda: [0])
    frames: int = Field(default=4, ge=1, le=20)
    gif: bool = True
    gif_stride: int = Field(default=4, ge=1)


class DrivingSpec(SpecBase):
    """Simulate a logical driving scenario: labelled trajectories, edge-case search, figures."""

    kind: Literal["driving"] = "driving"

    def unsharded(self) -> str | None:
        return None  # episode shards on the workers (sharded.run_shards)
    family: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    episodes: int = Field(default=64, ge=1)
    batch: int = Field(default=256, ge=1)
    duration: float = Field(default=10.0, gt=0, le=300)
    dt: float = Field(default=0.05, ge=0.005, le=0.5)
    device: str = "cpu"
    threads: int | None = Field(default=1, ge=1)  # torch threads; 1 suits small batches
    # batches simulated at once, one Python thread each (torch ops release the GIL); with more
    # than one worker keep threads at 1, so workers x threads stays within the cores
    workers: int = Field(default=1, ge=1, le=64)
    parameters: dict[str, Sampled] = Field(default_factory=dict)
    road: RoadSpec = Field(default_factory=RoadSpec)
    environment: EnvironmentSpec = Field(default_factory=EnvironmentSpec)
    entities: list[EntitySpec] = Field(min_length=1)
    traffic: list[TrafficSpec] = Field(default_factory=list)
    story: StorySpec = Field(default_factory=StorySpec)
    ego: EgoSpec = Field(default_factory=EgoSpec)
    labels: LabelSpec = Field(default_factory=LabelSpec)
    search: SearchSpec | None = None
    augment: AugmentSpec | None = None
    render: RenderSpec = Field(default_factory=RenderSpec)

    @model_validator(mode="before")
    @classmethod
    def _names_into_context(cls, data: Any, info: ValidationInfo) -> Any:
        if isinstance(data, dict) and isinstance(info.context, dict):
            params = data.get("parameters") or {}
            ents = data.get("entities") or []
            info.context["_driving_parameters"] = set(params) if isinstance(params, dict) else set()
            info.context["_driving_entities"] = {e.get("name") for e in ents if isinstance(e, dict)}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> DrivingSpec:
        egos = [e.name for e in self.entities if e.controller == "ego"]
        if len(egos) != 1 or self.entities[0].controller != "ego":
            raise ValueError("the first entity must be the only one with 'controller: ego' "
                             f"(found ego entities {egos})")
        names = [e.name for e in self.entities]
        if len(set(names)) != len(names):
            raise ValueError(f"entity names must be unique, got {names}")
        seen: set[str] = set()
        for e in self.entities:
            pos = e.position
            n = self.road.all_lanes
            if isinstance(pos, LanePosition) and pos.lane >= n:
                raise ValueError(f"entity {e.name!r} is on lane {pos.lane} but the road "
                                 f"has {n} lane(s) (0..{n - 1})")
            if isinstance(pos, LanePosition) and pos.lane >= self.road.lanes:
                if e.controller == "ego":
                    raise ValueError(f"the ego {e.name!r} must start on the main road (lanes "
                                     f"0..{self.road.lanes - 1}), not on lane {pos.lane}")
                if pos.relative_to is not None or pos.offset != 0.0:
                    raise ValueError(f"entity {e.name!r} is on crossing lane {pos.lane}: give "
                                     f"its s alone (relative_to and offset are for main-road "
                                     f"lanes)")
            if pos.relative_to and pos.relative_to not in seen:
                raise ValueError(f"entity {e.name!r} is placed relative to {pos.relative_to!r}, "
                                 f"which must be listed before it")
            if e.behaviour is not None and (e.controller != "scripted"
                                            or e.type not in ("pedestrian", "cyclist")):
                raise ValueError(f"entity {e.name!r}: behaviour is for scripted pedestrians and "
                                 f"cyclists (it is a {e.controller} {e.type})")
            if e.controller in ("ego", "idm") and not isinstance(pos, LanePosition):
                raise ValueError(f"entity {e.name!r} with controller {e.controller!r} needs a "
                                 f"lane position ({{lane, s}}); world positions are for "
                                 f"scripted or static entities")
            seen.add(e.name)
        for t in self.traffic:
            if max(t.lanes) >= self.road.all_lanes:
                raise ValueError(f"traffic lanes {t.lanes} exceed the road's "
                                 f"{self.road.all_lanes} (main road and any crossing lanes)")
        if self.workers > 1 and (self.threads or 1) > 1:
            raise ValueError(f"workers: {self.workers} with threads: {self.threads} "
                             "oversubscribes the cores; with several workers set threads: 1")
        for ref in (self.environment.weather, self.environment.lighting):
            if ref.startswith("$") and ref[1:] not in self.parameters:
                raise ValueError(f"environment refers to undeclared parameter {ref}")
        return self

    # ---- the checks of ``synthscape validate`` -----------------------------------------------
    def problems(self) -> Iterator[Problem]:
        """Physical values (speeds >= 0, duration of at least one step), weather and lighting
        names, and a warning for entities that overlap at t = 0."""
        from synthscape_autonomy.scenario import spec_problems

        return spec_problems(self)

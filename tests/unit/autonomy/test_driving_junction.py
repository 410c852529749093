"""The signalised four-way junction: light phases, stopping at red and going at green,
pedestrians on their green, compliant crossing streams without conflicts, violators that crash
and are labelled, box labels at 90 degrees, determinism and the gymnasium id."""
import math

import gymnasium as gym
import numpy as np
import pytest
import torch

import synthscape_autonomy
from synthscape_autonomy.catalogue import load
from synthscape_autonomy.junction import AMBER, GREEN, RED
from synthscape_autonomy.labels import box_ttc
from synthscape_autonomy.rollout import simulate
from synthscape_autonomy.scenario import Scene

# main green 0-24, amber 24-27, all-red 27-29, cross green 29-53, amber 53-56, all-red 56-58
JUNCTION = """
kind: driving
family: junction_test
dt: 0.1
duration: 40
parameters: {offset: OFFSET}
road:
  lanes: 2
  directions: [1, -1]
  length: 300
  junction_x: 100.0
  junction_width: 7.0
  signals: {cycle: 58.0, main_share: 0.5, amber: 3.0, all_red: 2.0, offset: $offset}
entities:
  - {name: ego, controller: ego, position: {lane: 0, s: 10}, speed: 13,
     driver: {desired_speed: 13}}
  - {name: car, controller: idm, position: {lane: 1, s: 200}, speed: 13,
     driver: {desired_speed: 13}}
  - {name: north, controller: idm, position: {lane: 2, s: 60}, speed: 12,
     driver: {desired_speed: 12, signal_violation: VIOLATION}}
  - {name: walker, type: pedestrian, controller: scripted, speed: 1.3,
     position: {x: 95.0, y: -1.5, heading: 90}}
"""


def _sim(driving, offset=0.0, violation=0.0, episodes=(0,)):
    text = JUNCTION.replace("OFFSET", str(offset)).replace("VIOLATION", str(violation))
    return driving.sim_of(text, episodes)


def _run(sim, seconds, watch):
    for _ in range(int(round(seconds / sim.dt))):
        sim.step()
        watch(sim)


def test_phase_timing(driving):
    sim = _sim(driving)
    t = torch.tensor([0.0, 23.9, 24.1, 26.9, 27.1, 28.9, 29.1, 52.9, 53.1, 55.9, 56.1, 58.1])
    j = sim.junction
    j.sig = {k: v.expand(len(t)) for k, v in j.sig.items()}
    main, cross, walk_main, walk_cross = j.phases(t)
    assert main.tolist() == [GREEN, GREEN, AMBER, AMBER, RED, RED, RED, RED, RED, RED, RED,
                             GREEN]
    assert cross.tolist() == [RED, RED, RED, RED, RED, RED, GREEN, GREEN, AMBER, AMBER, RED,
                              RED]
    # pedestrians over the 7 m roads walk until the clearance interval (7 / 1.07 = 6.5 s)
    j.sig = {k: v[:4] for k, v in j.sig.items()}
    walk = j.phases(torch.tensor([17.0, 18.0, 46.0, 47.0]))
    assert walk[2][:2].tolist() == [True, False] and walk[3][2:].tolist() == [True, False]


def test_car_stops_at_red_and_goes_at_green(driving):
    sim = _sim(driving, offset=26.0)  # main amber just ending: the ego and car arrive on red
    line = sim.junction.line.clone()
    seen = {"min_gap": math.inf, "moved_on_red": False}

    def watch(s):
        gap = line - (s.x * s.junction.ux + s.y * s.junction.uy) - 0.5 * s.scene.length
        red = s.t[0].item() + 26.0 < 58.0
        seen["min_gap"] = min(seen["min_gap"], gap[0, :2].min().item())
        if red and s.t[0].item() > 16.0:  # stopped (IDM creeps to its minimum gap first)
            seen["moved_on_red"] |= bool((s.v[0, :2] > 0.05).any())

    _run(sim, 31.5, watch)  # the main green starts at t = 32
    assert seen["min_gap"] > 0.0 and not seen["moved_on_red"]
    assert sim.v[0, 0].item() < 0.05
    _run(sim, 6.0, lambda s: None)
    assert sim.v[0, 0].item() > 3.0 and sim.v[0, 1].item() > 3.0  # going at green
    assert not bool(sim.junction.ran_red.any()) and not bool(sim.collided.any())


def test_pedestrian_waits_for_walk_and_crossing_car_for_green(driving):
    sim = _sim(driving, offset=0.0)  # main green: the walker (over the main road) waits
    _run(sim, 20.0, lambda s: None)
    assert sim.y[0, 3].item() == pytest.approx(-1.5) and sim.v[0, 3].item() == 0.0
    assert sim.v[0, 2].item() < 0.05  # the crossing car waits at its red
    _run(sim, 14.0, lambda s: None)  # cross green from t = 29: both go
    assert sim.y[0, 3].item() > 0.0 and sim.v[0, 2].item() > 3.0
    assert not bool(sim.collided.any())


def test_compliant_streams_do_not_conflict():
    scene = Scene(load("signalised_junction", episodes=48,
                       parameters={**load("signalised_junction").parameters,
                                   "violation": 0.0}))
    spec = scene.spec
    peds = [e.model_copy(update={"driver": e.driver.model_copy(
        update={"signal_violation": 0.0})}) for e in spec.entities]
    scene = Scene(spec.model_copy(update={"entities": peds}))
    r = simulate(scene, scene.draws(range(48)))
    assert r.episodes["red_light_runners"].sum() == 0
    assert r.episodes["pedestrian_violations"].sum() == 0
    assert not r.episodes["junction_conflict"].any() and not r.episodes["collision"].any()


def test_violator_crosses_on_red_collides_and_is_labelled(driving):
    # main green: the crossing car's light is red; as a violator (inattentive) it drives into
    # the box while the ego, on cruise control without AEB, passes
    text = JUNCTION.replace("OFFSET", "0.0").replace("VIOLATION", "1.0") \
        .replace("position: {lane: 2, s: 60}, speed: 12", "position: {lane: 2, s: $north_s}, "
                 "speed: 12").replace("parameters: {offset: 0.0}",
                                      "parameters: {offset: 0.0, north_s: {uniform: [60, 80]}}")
    spec = driving.spec_from(text)
    spec = spec.model_copy(update={"ego": spec.ego.model_copy(update={"aeb": False, "acc": False})})
    scene = Scene(spec)
    r = simulate(scene, scene.draws(range(16)))
    ep = r.episodes
    assert ep["red_light_runners"].min() >= 1  # the violator ran its red in every episode
    assert ep["collision"].sum() >= 3  # 5 of these 16
    assert ep["junction_conflict"][ep["collision"]].all()
    assert not ep["red_light_violation"].any()  # the ego had green


def test_violator_hitting_a_main_road_car_is_detected(driving):
    # the ego waits far back; the oncoming IDM car (green) meets the violating crossing car
    text = JUNCTION.replace("OFFSET", "0.0").replace("VIOLATION", "1.0") \
        .replace("position: {lane: 2, s: 60}, speed: 12", "position: {lane: 2, s: $north_s}, "
                 "speed: 12").replace("parameters: {offset: 0.0}",
                                      "parameters: {offset: 0.0, north_s: {uniform: [50, 75]}}") \
        .replace("position: {lane: 0, s: 10}, speed: 13", "position: {lane: 0, s: 0}, speed: 5")
    sim = driving.sim_of(text, range(32))
    _run(sim, 15.0, lambda s: None)
    both = sim.collided[:, 1] & sim.collided[:, 2]
    assert int(both.sum()) >= 5  # 10 of these 32: the lane index pairs the crossing car
    assert bool(sim.junction.conflict[both].all()) and not bool(sim.collided[:, 0].any())


def test_box_labels_at_ninety_degrees(driving):
    sim = _sim(driving)
    # the ego stands at x = 100; the crossing car comes up at 5 m/s from 10 m to its right
    sim.x[0, 0], sim.y[0, 0], sim.v[0, 0] = 100.0, 1.75, 0.0
    sim.x[0, 2], sim.y[0, 2], sim.h[0, 2], sim.v[0, 2] = 100.0, -8.25, math.pi / 2, 5.0
    sim.x[0, 1] = sim.x[0, 3] = 500.0
    sim._memo.clear()
    L, Wd = sim.scene.length, sim.scene.width
    expected = (10.0 - 0.5 * Wd[0] - 0.5 * L[2]) / 5.0
    assert box_ttc(sim)[0].item() == pytest.approx(expected.item(), abs=1e-4)


def test_same_seed_same_episodes_and_batch_independent():
    scene = Scene(load("signalised_junction", duration=12.0))
    a = simulate(scene, scene.draws(range(6)), record=True)
    b = simulate(scene, scene.draws(range(6)), record=True)
    c = simulate(scene, scene.draws([4]), record=True)
    for k in a.traj:
        np.testing.assert_array_equal(a.traj[k], b.traj[k])
        np.testing.assert_array_equal(a.traj[k][4], c.traj[k][0])
    other = Scene(load("signalised_junction", duration=12.0, seed=22))
    d = simulate(other, other.draws(range(6)), record=True)
    assert not np.array_equal(a.traj["x"], d.traj["x"])


def test_crossing_lanes_exist_only_with_signals(driving):
    from synthscape.errors import SynthscapeError

    no_lights = JUNCTION.replace("  signals: {cycle: 58.0, main_share: 0.5, amber: 3.0, all_red: "
                                 "2.0, offset: $offset}\n", "").replace("parameters: {offset: "
                                                                        "OFFSET}", "")
    with pytest.raises(SynthscapeError, match="on lane 2 but the road has 2 lane"):
        driving.spec_from(no_lights.replace("VIOLATION", "0.0"))
    no_crossing = JUNCTION.replace("  junction_x: 100.0\n", "")
    with pytest.raises(SynthscapeError, match="road.signals needs a straight road"):
        driving.spec_from(no_crossing.replace("OFFSET", "0.0").replace("VIOLATION", "0.0"))
    relative = JUNCTION.replace("{lane: 2, s: 60}", "{lane: 2, s: 5, relative_to: ego}")
    with pytest.raises(SynthscapeError, match="crossing lane 2: give its s alone"):
        driving.spec_from(relative.replace("OFFSET", "0.0").replace("VIOLATION", "0.0"))


def test_gym_id_resets_and_steps():
    synthscape_autonomy.register()
    env = gym.make("synthscape_autonomy/SignalisedJunction-v0")
    obs, info = env.reset(seed=3)
    assert obs.shape == env.observation_space.shape
    for _ in range(5):
        obs, r, term, trunc, info = env.step(np.array([0.2, 0.0], np.float32))
    assert np.isfinite(r) and "param_offset" not in info and "offset" in info["params"]
    env.close()

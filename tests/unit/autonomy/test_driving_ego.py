"""The rule-based ego: latency and brake ramp, ACC and AEB as separate functions, the sensor
model (field of view, detection probability, noise, ghosts), sampled parameters."""
import math

import torch

from synthscape_autonomy.policy import RuleBasedEgo

STATIONARY = """
kind: driving
family: stationary
dt: 0.05
duration: 6
road: {lanes: 1}
parameters:
  lat: {uniform: [0.1, 0.3]}
entities:
  - {name: ego, controller: ego, position: {lane: 0, s: 0}, speed: 15,
     driver: {desired_speed: 15}}
  - {name: target, controller: static, position: {lane: 0, s: 70}}
ego: {acc: false, latency: $lat, EGO}
"""


def _run(driving, ego="brake_jerk: 25", steps=120, acc=False):
    text = STATIONARY.replace("EGO", ego).replace("acc: false", f"acc: {str(acc).lower()}")
    sim = driving.sim_of(text)
    aeb, a, v = [], [], []
    for _ in range(steps):
        sim.step()
        aeb.append(sim.policy.aeb_on.clone())
        a.append(sim.acc[:, 0].clone())
        v.append(sim.v[:, 0].clone())
    return sim, torch.stack(aeb, 1), torch.stack(a, 1), torch.stack(v, 1)


def test_brake_demand_arrives_after_the_latency_through_a_jerk_limited_ramp(driving):
    sim, aeb, acc, v = _run(driving)
    onset = int(aeb[0].nonzero()[0])
    assert torch.allclose(v[0, :onset], torch.full_like(v[0, :onset], 15.0), atol=1e-3)  # no ACC
    first_brake = int((acc[0] < -0.01).nonzero()[0])
    delay = round(sim.ego["latency"][0].item() / sim.dt)
    assert first_brake == onset + delay  # the command of `latency` ago reaches the brakes
    moving = v[0, 1:] > 0.5  # (the stop itself ends braking at once)
    jerk = (acc[0, 1:] - acc[0, :-1])[moving].abs().max().item() / sim.dt
    assert jerk <= 25.0 + 1e-2  # the brake-pressure ramp, not a jump to full braking


def test_ego_parameters_are_drawn_per_episode(driving):
    sim = driving.sim_of(STATIONARY.replace("EGO", "brake_jerk: 25"), episodes=range(6))
    lat = sim.ego["latency"]
    assert bool(((lat >= 0.1) & (lat <= 0.3)).all()) and lat.unique().numel() > 1


def _stop_gap(driving, ego):
    sim, *_ = _run(driving, ego, steps=80)  # stopped by then
    return (sim.x[0, 1] - sim.x[0, 0] - 4.5).item(), bool(sim.collided[0, 0])


def test_a_slow_brake_ramp_stops_closer_or_crashes(driving):
    fast, fast_hit = _stop_gap(driving, "brake_jerk: 60")
    slow, slow_hit = _stop_gap(driving, "brake_jerk: 4")
    assert not fast_hit and (slow_hit or slow < fast - 2.0)


def test_acc_brakes_early_when_on_aeb_alone_waits(driving):
    *_, v_acc = _run(driving, steps=40, acc=True)
    *_, v_off = _run(driving, "brake_jerk: 25", steps=40)
    assert v_acc[0, -1] < 14.0 < v_off[0, -1]


def test_no_aeb_means_a_crash(driving):
    sim, *_ = _run(driving, "aeb: false")
    assert bool(sim.collided[0, 0])


SIDE = """
kind: driving
family: side
road: {lanes: 3}
entities:
  - {name: ego, controller: ego, position: {lane: 0, s: 0}, speed: 10}
  - {name: car, controller: static, position: {lane: 2, s: 7}}
ego: {fov: FOV}
"""


def _sees(driving, yaml, steps=10):
    sim = driving.sim_of(yaml)
    ego = RuleBasedEgo(sim.spec.ego)
    ego.reset(sim)
    for _ in range(steps):
        perceived, *_ = ego.perceive(sim)
        sim.steps += 1  # new frames, new detection draws
    return bool(perceived[0, 1])


def test_field_of_view_limits_what_is_seen(driving):
    assert not _sees(driving, SIDE.replace("FOV", "60"))  # 7 m ahead, 7 m left: 45 deg off axis
    assert _sees(driving, SIDE.replace("FOV", "120"))


def test_detection_probability_delays_or_prevents_confirmation(driving):
    wide = SIDE.replace("FOV", "120")
    assert not _sees(driving, wide.replace("fov: 120", "fov: 120, detection_probability: 0.0"))
    assert not _sees(driving, wide.replace("fov: 120", "fov: 120, detection_probability: 0.5"),
                     steps=6)  # 6 frames of 50 ms, half detected: below the 0.3 s confirmation


EMPTY = """
kind: driving
family: empty
dt: 0.05
duration: 4
road: {lanes: 1}
entities:
  - {name: ego, controller: ego, position: {lane: 0, s: 0}, speed: 20,
     driver: {desired_speed: 20}}
ego: {false_positive_rate: RATE}
"""


def test_ghost_objects_make_the_ego_brake_on_an_empty_road(driving):
    for rate, brakes in ((0.0, False), (5.0, True)):
        sim = driving.sim_of(EMPTY.replace("RATE", str(rate)))
        for _ in range(80):
            sim.step()
        assert (sim.v[0, 0].item() < 19.0) == brakes


def test_measurement_noise_perturbs_the_measured_gap(driving):
    sims = [driving.sim_of(STATIONARY.replace("EGO", f"position_noise: {s}")) for s in (0, 0.5)]
    gaps = []
    for sim in sims:
        for _ in range(8):  # the target's track is confirmed
            sim.step()
        gaps.append(sim.policy.leader(sim)[0][0].item())
    assert gaps[0] != gaps[1] and math.isclose(gaps[0], gaps[1], abs_tol=2.5)

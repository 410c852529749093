"""Kinematics and labels the simulator must get right: headway and DRAC in the ego's frame,
lane changes that move as the velocity says with a smooth lateral profile, crash aftermath,
noise that does not depend on dt, time triggers at the right step, both TTC definitions."""
import math

import torch

from synthscape_autonomy.labels import EpisodeSummary, ego_labels

CROSSING = """
kind: driving
family: crossing
road: {lanes: 2}
entities:
  - {name: ego, controller: ego, position: {lane: 0, s: 0}, speed: 10}
  - {name: car, controller: static, position: {x: 20.0, y: 1.75, heading: 90}}
"""


def test_headway_and_drac_use_the_other_box_heading(driving):
    sim = driving.sim_of(CROSSING)
    lab = ego_labels(sim)
    gap = 20.0 - 2.25 - 0.9  # the crossing car shows its width (1.8 m), not its length, to the ego
    assert abs(lab["thw"][0].item() * 10.0 - gap) < 1e-3
    assert abs(lab["drac"][0].item() - 100.0 / (2 * gap)) < 1e-3
    assert abs(lab["ttc_long"][0].item() - gap / 10.0) < 1e-3


TWO_TTC = """
kind: driving
family: two_ttc
road: {lanes: 2}
entities:
  - {name: ego, controller: ego, position: {lane: 0, s: 0}, speed: 10}
  - {name: walker, type: pedestrian, controller: scripted, speed: 1.5,
     position: {x: 30.0, y: -4.0, heading: 90}}
"""


def test_box_ttc_sees_a_crossing_pedestrian_the_longitudinal_ttc_does_not(driving):
    lab = ego_labels(driving.sim_of(TWO_TTC))
    assert math.isfinite(lab["ttc"][0].item())  # the boxes will overlap
    assert math.isinf(lab["ttc_long"][0].item())  # nothing in the ego's lane path yet


CUT_TEMPLATE = """
kind: driving
family: cut
dt: 0.05
road: {lanes: 2}
entities:
  - {name: ego, controller: ego, position: {lane: 0, s: EGO_S}, speed: EGO_V,
     driver: {desired_speed: EGO_DESIRED}}
  - {name: cutter, controller: scripted, position: {lane: 1, s: CUT_S}, speed: 10}
story:
  acts:
    - maneuvers:
        - actor: cutter
          events:
            - name: go
              trigger: {condition_groups: [[{simulation_time: {value: START}}]]}
              action: {lane_change: {relative: -1, duration: DURATION}}
"""


def _cut(ego_s, ego_v, cut_s, start, duration):
    text = CUT_TEMPLATE
    for k, v in (("EGO_S", ego_s), ("EGO_V", ego_v), ("EGO_DESIRED", max(ego_v, 0.1)),
                 ("CUT_S", cut_s), ("START", start), ("DURATION", duration)):
        text = text.replace(k, str(v))
    return text


CUT = _cut(-300, 0, 0, 0.2, 3.0)


def test_lane_change_moves_as_its_velocity_with_smooth_lateral_speed(driving):
    sim = driving.sim_of(CUT)
    xs, vys, vxs = [], [], []
    for _ in range(80):
        x0, y0 = sim.x[0, 1].item(), sim.y[0, 1].item()
        sim.step()
        xs.append((sim.x[0, 1].item() - x0) / sim.dt)
        vys.append((sim.y[0, 1].item() - y0) / sim.dt)
        vxs.append(sim.velocity()[0][0, 1].item())
    assert max(abs(a - b) for a, b in zip(xs, vxs)) < 1e-3  # x advances at v cos(h)
    assert min(vys) < -1.0  # it did change lanes (to the right)
    assert max(abs(b - a) for a, b in zip(vys, vys[1:])) < 0.2  # no step in lateral speed
    assert abs(sim.y[0, 1].item() - 1.75) < 0.05


REAR_END = """
kind: driving
family: rear_end
dt: 0.05
road: {lanes: 2}
entities:
  - {name: ego, controller: ego, position: {lane: 0, s: 0}, speed: 5,
     driver: {desired_speed: 5}}
  - {name: striker, controller: scripted, position: {lane: 0, s: -20}, speed: 15}
"""


def test_crash_aftermath_relative_impact_speed_and_sliding_stop(driving):
    sim = driving.sim_of(REAR_END)
    summ = EpisodeSummary(sim)
    v_before = None
    while not bool(sim.collided[0, 1]):
        v_before = sim.v[0].clone()
        summ.update(sim.step(), sim)
    rel = sim.v[0, 1].item() - sim.v[0, 0].item()
    assert abs(summ.impact_speed[0].item() - rel) < 1e-4
    assert 9.0 < summ.impact_speed[0].item() < 10.5  # relative, not the ego's 5 m/s
    assert v_before is not None
    v_hit = sim.v[0, 1].item()
    sim.step()
    slide = 0.85 * 9.81 * sim.dt  # friction-limited deceleration after the crash
    assert abs(sim.v[0, 1].item() - (v_hit - slide)) < 1e-3  # slows down, does not stop at once


SIDESWIPE = _cut(0, 10, 1.0, 0.0, 2.0)


def test_heading_is_kept_after_a_crash(driving):
    sim = driving.sim_of(SIDESWIPE)
    for _ in range(60):
        sim.step()
        if bool(sim.collided[0, 1]):
            break
    assert bool(sim.collided[0, 1])
    h = sim.h[0, 1].item()
    assert h < -0.01  # hit while turning towards lane 0
    sim.step()
    assert abs(sim.h[0, 1].item() - h) < 1e-6


OVERTAKE = """
kind: driving
family: overtake
dt: 0.1
duration: 12
road: {lanes: 2}
entities:
  - {name: ego, controller: ego, position: {lane: 0, s: -900}, speed: 0,
     driver: {desired_speed: 0.1}}
  - {name: slow, controller: scripted, position: {lane: 0, s: 40}, speed: 20}
  - {name: fast, controller: idm, position: {lane: 0, s: 0}, speed: 28,
     driver: {desired_speed: 30, reaction_time: 0.0}}
"""


def test_overtaking_car_does_not_brake_below_the_car_it_passes(driving):
    sim = driving.sim_of(OVERTAKE)
    low, changed = math.inf, False
    for _ in range(120):
        sim.step()
        changed |= sim.y[0, 2].item() > 3.5
        low = min(low, sim.v[0, 2].item())
    assert changed and not bool(sim.collided[0, 2])
    assert low > 20.0 + 0.5


NOISE = """
kind: driving
family: noise
dt: DT
duration: 1
road: {lanes: 1, length: 20000}
entities:
  - {name: ego, controller: ego, position: {lane: 0, s: -900}, speed: 0,
     driver: {desired_speed: 0.1}}
traffic:
  - {count: 100, lanes: [0], start: 0, gap: 150, speed: 30,
     driver: {desired_speed: 30, accel_noise: 0.5, reaction_time: 0.0}}
"""


def _speed_variance(driving, dt):
    sim = driving.sim_of(NOISE.replace("DT", str(dt)), episodes=range(4))
    for _ in range(int(round(1.0 / dt))):
        sim.step()
    return sim.v[:, 1:].var().item()


def test_acceleration_noise_does_not_depend_on_dt(driving):
    ratio = _speed_variance(driving, 0.05) / _speed_variance(driving, 0.2)
    assert 0.75 < ratio < 1.33  # white noise: speed variance sigma^2 t whatever the step


TIMED = """
kind: driving
family: timed
dt: 0.05
road: {lanes: 1}
entities:
  - {name: ego, controller: ego, position: {lane: 0, s: -900}, speed: 0,
     driver: {desired_speed: 0.1}}
  - {name: lead, controller: scripted, position: {lane: 0, s: 0}, speed: 10}
story:
  acts:
    - maneuvers:
        - actor: lead
          events:
            - name: brake
              trigger: {condition_groups: [[{simulation_time: {value: 1.55}}]]}
              action: {speed: {target: 0.0, rate: 2.0}}
"""


def test_scripted_speed_change_lands_on_its_target_and_stays(driving):
    sim = driving.sim_of(TIMED.replace("target: 0.0, rate: 2.0", "target: 4.0, rate: 6.0"))
    for _ in range(120):
        sim.step()
    assert abs(sim.v[0, 1].item() - 4.0) < 1e-5  # was an oscillation growing (1 - rate dt/dt)x


def test_time_trigger_fires_at_the_first_state_after_its_time(driving):
    sim = driving.sim_of(TIMED)
    for _ in range(32):  # states t = 0 .. 1.55: "greater than 1.55" holds for none
        sim.step()
    assert not bool(sim.fired[0, 0])
    sim.step()  # the step that starts at t = 1.60
    assert bool(sim.fired[0, 0])


def test_drac_critical_marks_conflicts(driving):
    lab = ego_labels(driving.sim_of(CROSSING))
    strict = ego_labels(driving.sim_of(CROSSING.replace("family: crossing",
                                                        "family: crossing\nlabels: "
                                                        "{drac_critical: 1.0}")))
    drac = lab["drac"][0].item()  # 100 / 33.7 = 2.97 m/s^2
    assert 1.0 < drac < 3.35
    assert not bool(lab["drac_conflict"][0]) and bool(strict["drac_conflict"][0])


def test_reset_keeps_lane_change_state_per_world(driving):
    sim = driving.sim_of(CUT, episodes=(0, 1))
    for _ in range(20):
        sim.step()
    sim.reset_worlds([1], sim.scene.draws([5]))
    assert torch.equal(sim.lc_time[1], torch.zeros_like(sim.lc_time[1]))
    assert sim.lc_time[0, 1].item() > 0


def test_every_declared_parameter_of_the_catalogue_is_used():
    from synthscape_autonomy.catalogue import folder, load

    for path in sorted(folder().glob("*.yaml")):
        spec = load(path.stem)
        unused = [p for p in spec.problems() if p.loc[0] == "parameters" and p.warning]
        assert not unused, f"{path.name}: {[p.message for p in unused]}"


def test_an_unused_parameter_is_reported(driving):
    spec = driving.spec_from(CROSSING + "parameters:\n  spare: {uniform: [0, 1]}\n")
    msgs = [p.message for p in spec.problems() if p.warning]
    assert any("'spare' is declared but never used" in m for m in msgs)

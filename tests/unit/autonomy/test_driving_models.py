"""IDM and MOBIL behave as the papers say, alone and inside the simulator."""
import torch

from synthscape_autonomy.models import idm, mobil_gain, mobil_safe

FOLLOW = """
kind: driving
family: idm_stop
duration: 40
dt: 0.1
road: {lanes: 1}
entities:
  - {name: ego, controller: ego, position: {lane: 0, s: -500}, speed: 0,
     driver: {desired_speed: 0.1}}
  - {name: car, controller: idm, position: {lane: 0, s: 0}, speed: 25,
     driver: {desired_speed: 30, min_gap: 2.0, reaction_time: 0.0}}
  - {name: obstacle, controller: static, position: {lane: 0, s: 150}}
"""


def test_idm_free_road_and_equilibrium():
    v = torch.tensor([0.0, 30.0])
    a = idm(v, torch.tensor(30.0), torch.tensor(1.6), torch.tensor(2.0), torch.tensor(1.0),
            torch.tensor(1.5), torch.tensor([1e4, 1e4]), torch.tensor([0.0, 0.0]))
    assert abs(a[0].item() - 1.0) < 1e-6  # full acceleration from standstill on a free road
    assert abs(a[1].item()) < 1e-4  # no acceleration at the desired speed


def test_idm_stops_behind_stationary_obstacle(driving):
    sim = driving.sim_of(FOLLOW)
    for _ in range(300):
        sim.step()
    car_front = sim.x[0, 1] + 2.25
    obstacle_rear = sim.x[0, 2] - 2.25
    gap = (obstacle_rear - car_front).item()
    assert sim.v[0, 1].item() < 0.05  # stopped
    assert 1.0 < gap < 4.0  # close to the minimum gap s0 = 2 m, never inside the obstacle
    assert not bool(sim.collided[0, 1])


MOBIL = """
kind: driving
family: mobil
duration: 5
dt: 0.05
road: {lanes: 2}
parameters:
  rear_s: {uniform: [0, 0]}
entities:
  - {name: ego, controller: ego, position: {lane: 0, s: -900}, speed: 0,
     driver: {desired_speed: 0.1}}
  - {name: slow, controller: scripted, position: {lane: 0, s: 30}, speed: 10}
  - {name: subject, controller: idm, position: {lane: 0, s: 0}, speed: 25,
     driver: {desired_speed: 30, politeness: 0.0}}
  - {name: rear, controller: scripted, position: {lane: 1, s: REAR}, speed: 27}
"""


def _changes(driving, rear_s: float) -> bool:
    sim = driving.sim_of(MOBIL.replace("REAR", str(rear_s)))
    for _ in range(sim.mobil_every):  # every driver decides once in mobil_every steps
        sim.step()
    return bool(sim.target_y[0, 2] > sim.scene.road.center[0] + 1.0)


def test_mobil_changes_lane_when_the_gap_is_safe(driving):
    assert _changes(driving, -150.0)  # a fast car far behind: a safe gap, a large incentive


def test_mobil_does_not_cut_in_below_the_safe_gap(driving):
    assert not _changes(driving, -6.0)  # the new follower would brake harder than b_safe


def test_mobil_criteria():
    gain = mobil_gain(torch.tensor(1.0), torch.tensor(-1.0), torch.tensor(-0.5), torch.tensor(0.0),
                      torch.tensor(0.0), torch.tensor(0.0), torch.tensor(0.5), torch.tensor(0.1))
    assert abs(gain.item() - (2.0 - 0.25 - 0.1)) < 1e-6
    assert bool(mobil_safe(torch.tensor(-3.9), torch.tensor(4.0)))
    assert not bool(mobil_safe(torch.tensor(-4.1), torch.tensor(4.0)))

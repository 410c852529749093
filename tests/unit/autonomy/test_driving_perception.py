"""The rule-based ego's limited perception: occlusion, weather and light, lanes covered."""
import torch

from synthscape_autonomy.geometry import LaneIndex
from synthscape_autonomy.physics import weather_effects
from synthscape_autonomy.policy import RuleBasedEgo

DART = """
kind: driving
family: dart
road: {lanes: 1}
entities:
  - {name: ego, controller: ego, position: {lane: 0, s: 0}, speed: 10}
  - {name: parked, controller: static, position: {x: 40.0, y: -1.1}}
  - {name: child, type: pedestrian, controller: scripted, position: {x: 43.0, y: CHILD_Y,
     heading: 90}}
"""


def _perceived(driving, child_y):
    sim = driving.sim_of(DART.replace("CHILD_Y", str(child_y)))
    ego = RuleBasedEgo(sim.spec.ego)
    ego.reset(sim)
    for _ in range(10):  # longer than the perception latency
        perceived, *_ = ego.perceive(sim)
    return bool(perceived[0, 2])


def test_child_behind_parked_car_is_hidden(driving):
    assert not _perceived(driving, -1.2)
    assert _perceived(driving, 1.0)  # stepped out: in the line of sight


def test_weather_and_light_cut_friction_and_range():
    mu_d, r_d, lat_d = weather_effects("dry", "day")
    mu_r, r_r, lat_r = weather_effects("rain", "night")
    assert mu_r < mu_d and r_r < r_d and lat_r > lat_d


def test_vehicle_changing_lanes_is_seen_from_both_lanes():
    lane = torch.tensor([[0, 1, 0]])
    lane2 = torch.tensor([[-1, -1, 1]])  # agent 2 straddles lanes 0 and 1
    x = torch.tensor([[0.0, 0.0, 20.0]])
    idx = LaneIndex(lane, x, lane2)
    assert idx.leader()[0].tolist() == [2, 2, 3]  # both followers see agent 2 ahead

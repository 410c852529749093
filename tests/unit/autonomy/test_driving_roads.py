"""Road networks: curved reference lines in a lane frame, oncoming lanes, an on-ramp, and a road
read from a SUMO network through sumolib."""
import math
from pathlib import Path

import pytest
import torch

from synthscape_autonomy.catalogue import load
from synthscape_autonomy.frame import world_state
from synthscape_autonomy.rollout import simulate
from synthscape_autonomy.scenario import Scene

NET = Path(__file__).parents[2] / "data" / "sumo" / "bend.net.xml"

BEND = """
kind: driving
family: bend
dt: 0.1
road: {lanes: 2, directions: [1, -1], length: 400, geometry: GEOMETRY}
entities:
  - {name: ego, controller: ego, position: {lane: 0, s: 0}, speed: 25,
     driver: {desired_speed: 25}}
  - {name: oncoming, controller: idm, position: {lane: 1, s: 300}, speed: 20,
     driver: {desired_speed: 20}}
"""


def test_arc_maps_to_world_and_drivers_slow_in_the_bend(driving):
    sim = driving.sim_of(BEND.replace("GEOMETRY", "[{length: 50}, {length: 157.08, "
                                                  "curvature: 0.01}]"))
    for _ in range(100):
        sim.step()
    # the ego slowed towards sqrt(2 m/s^2 * 100 m) = 14.1 m/s for the R = 100 m bend
    assert sim.v[0, 0].item() < 16.0
    # a point at s = 50 + quarter circle, d = 0 sits at (150, 100) in world coordinates
    wx, wy, wh = world_state(sim.scene.road, torch.tensor([207.08]), torch.tensor([0.0]),
                             torch.tensor([0.0]))
    assert abs(wx.item() - 150.0) < 0.5 and abs(wy.item() - 100.0) < 0.5
    assert abs(wh.item() - math.pi / 2) < 0.02


def test_oncoming_car_drives_towards_negative_s_and_follows_its_own_leader(driving):
    sim = driving.sim_of(BEND.replace("GEOMETRY", "[]"))
    x0 = sim.x[0, 1].item()
    for _ in range(10):
        sim.step()
    assert abs(sim.h[0, 1].item() - math.pi) < 1e-3
    assert sim.x[0, 1].item() < x0 - 15.0  # about 20 m/s towards s = 0
    assert not bool(sim.collided.any())


def test_on_ramp_cars_merge_before_its_end():
    spec = load("highway_merge", episodes=4, duration=14.0)
    scene = Scene(spec)
    tr = simulate(scene, scene.draws(range(4)), record=True).traj
    ramp = [a for a, s in enumerate(scene.slots) if isinstance(s.source, tuple)
            and s.source[0].lanes == [0]]
    end_y, end_x = tr["y"][:, -1, ramp], tr["x"][:, -1, ramp]
    assert ((end_y > 3.5) | (end_x < 300.0)).all()  # merged, or still before the ramp's end
    assert (end_y > 3.5).mean() >= 0.5  # the others queue at the end for a gap
    assert not tr["collided"][:, -1].any()


def test_road_read_from_a_sumo_network(driving):
    pytest.importorskip("sumolib")
    sim = driving.sim_of(f"""
kind: driving
family: sumo_bend
road: {{lanes: 2, length: 300, sumo_net: {{file: {NET}, edges: [north], opposite: [south]}}}}
entities:
  - {{name: ego, controller: ego, position: {{lane: 0, s: 0}}, speed: 10}}
""")
    road = sim.scene.road
    assert road.direction.tolist() == [1, -1] and abs(road.lane_width - 3.5) < 1e-6
    # lane 0's centre at s = 0 is the start of the north lane's shape; at the end it runs north
    wx, wy, wh = world_state(road, torch.tensor([0.0, 250.0]), torch.tensor([1.75, 1.75]),
                             torch.tensor([0.0, 0.0]))
    assert abs(wx[0].item()) < 0.1 and abs(wy[0].item() + 1.75) < 0.1
    assert abs(wh[1].item() - math.pi / 2) < 0.05 and abs(wx[1].item() - 178.25) < 0.3


def _netconvert():
    import shutil

    local = Path(__file__).parents[3] / ".venv-bench-sumo" / "bin" / "netconvert"
    return str(local) if local.exists() else shutil.which("netconvert")


def test_road_read_from_opendrive_through_netconvert(driving, tmp_path):
    pytest.importorskip("sumolib")
    exe = _netconvert()
    if exe is None:
        pytest.skip("needs SUMO's netconvert (eclipse-sumo, e.g. in .venv-bench-sumo)")
    from synthscape_autonomy.frame import opendrive_to_sumo

    net = opendrive_to_sumo(Path(__file__).parents[2] / "data" / "opendrive" / "bend.xodr",
                            tmp_path / "bend.net.xml", netconvert=exe)
    sim = driving.sim_of(f"""
kind: driving
family: xodr_bend
road: {{lanes: 2, length: 250, sumo_net: {{file: {net}, edges: ["-1"], opposite: ["1"]}}}}
entities:
  - {{name: ego, controller: ego, position: {{lane: 0, s: 0}}, speed: 10}}
""")
    road = sim.scene.road
    assert road.direction.tolist() == [1, -1]
    # the reference line (lane 0's right edge) runs 100 m straight, then a quarter circle of
    # radius 103.5 m: 262.6 m in all, ending northwards
    wx, wy, wh = world_state(road, torch.tensor([0.0, 262.0]), torch.tensor([1.75, 1.75]),
                             torch.tensor([0.0, 0.0]))
    assert abs(wy[0].item() + 1.75) < 0.1 and abs(wh[1].item() - math.pi / 2) < 0.05
    assert abs(wx[1].item() - 201.75) < 0.5

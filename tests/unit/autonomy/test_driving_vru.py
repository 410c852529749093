"""Reactive pedestrians: yield, hesitate, run and walk on, drawn per episode."""
from synthscape_autonomy.vru import HESITATE, RUN, YIELD

CROSS = """
kind: driving
family: cross
dt: 0.1
duration: 8
road: {lanes: 1}
entities:
  - {name: ego, controller: ego, position: {lane: 0, s: 0}, speed: 10,
     driver: {desired_speed: 10}}
  - name: walker
    type: pedestrian
    controller: scripted
    position: {x: 45.0, y: -4.0, heading: 90}
    speed: 1.4
    behaviour: {mode: MODE, critical_gap: 5.0, hesitation: 1.5}
ego: {aeb: false, acc: false}
"""


def _run(driving, mode, steps=80):
    sim = driving.sim_of(CROSS.replace("MODE", mode))
    ys, vs, ego_x = [], [], []
    for _ in range(steps):
        sim.step()
        ys.append(sim.y[0, 1].item())
        vs.append(sim.v[0, 1].item())
        ego_x.append(sim.x[0, 0].item())
    return sim, ys, vs, ego_x


def test_yielding_pedestrian_stops_outside_the_path_and_walks_on_after(driving):
    sim, ys, vs, _ = _run(driving, "yield")
    assert int(sim.reactive.p[1]["mode"][0]) == YIELD
    path_edge = 1.75 - 0.9 - 0.3  # the ego's right side minus half the pedestrian
    assert max(ys[:45]) < path_edge and min(vs[20:40]) < 0.05  # waited at the kerb
    assert not bool(sim.collided[0, 0]) and vs[-1] > 1.3  # walks on once the ego has passed


def test_hesitating_pedestrian_stops_then_walks_on_before_the_ego_passed(driving):
    sim, ys, vs, ego_x = _run(driving, "hesitate")
    assert int(sim.reactive.p[1]["mode"][0]) == HESITATE
    stopped = [k for k, v in enumerate(vs) if v < 0.05]
    resumed = next(k for k in range(stopped[0], len(vs)) if vs[k] > 1.0)
    assert 1.0 <= (resumed - stopped[0]) * 0.1 <= 2.0  # about the 1.5 s hesitation
    assert ego_x[resumed] + 2.25 < 45.0  # walks on while the ego is still coming


def test_running_pedestrian_speeds_up(driving):
    sim, ys, vs, _ = _run(driving, "run", steps=40)
    assert int(sim.reactive.p[1]["mode"][0]) == RUN and max(vs) > 2.9


def test_modes_are_drawn_per_episode(driving):
    sim = driving.sim_of(CROSS.replace("MODE", "{choice: [yield, run], weights: [0.5, 0.5]}"),
                         episodes=range(16))
    modes = set(sim.reactive.p[1]["mode"].tolist())
    assert modes == {float(YIELD), float(RUN)}


def test_unknown_mode_is_refused(driving):
    import pytest

    from synthscape.errors import SpecError

    with pytest.raises(SpecError, match="unknown behaviour mode"):
        driving.spec_from(CROSS.replace("MODE", "dance"))

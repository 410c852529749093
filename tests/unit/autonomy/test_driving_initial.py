"""Initial states built for a whole batch at once: each episode's state is the one it gets
alone, and its draws are its own generator's stream in the order of the draw sites."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("synthscape_autonomy")
from synthscape_autonomy import _rng  # noqa: E402
from synthscape_autonomy.catalogue import load  # noqa: E402
from synthscape_autonomy.distributions import Choice, Normal, Uniform  # noqa: E402
from synthscape_autonomy.initial import _Values, draw_sites  # noqa: E402
from synthscape_autonomy.scenario import Scene  # noqa: E402

SCENES = ("highway", "highway_merge", "signalised_junction", "pedestrian_crossing", "cut_in",
          "rural_curve", "lead_braking_wet")


@pytest.mark.parametrize("name", SCENES)
def test_an_episode_starts_the_same_in_any_batch(name):
    scene = Scene(load(name))
    episodes = [3, 0, 917, 41, 5]
    batch = scene.initial(scene.draws(episodes))
    for w, e in enumerate(episodes):
        alone = scene.initial(scene.draws([e]))
        for key, value in alone.items():
            np.testing.assert_array_equal(batch[key][w].numpy(), value[0].numpy(),
                                          err_msg=f"{name} episode {e}: {key}")


@pytest.mark.parametrize("name", ("highway", "pedestrian_crossing", "signalised_junction"))
def test_draws_follow_each_episodes_stream_in_site_order(name):
    scene = Scene(load(name))
    draws = scene.draws(range(6))
    val = _Values(scene, draws)
    sites = [(s, v) for s, v in draw_sites(scene) if isinstance(v, (Uniform, Normal, Choice))]
    assert sites, "the scene draws nothing per episode"
    for w, d in enumerate(draws):
        rng = _rng.episode_rng(scene.spec.seed, scene.spec.family, d.episode, "agents")
        for site, v in sites:
            got = val.raw(v, site)[w]
            if isinstance(v, Choice):
                assert got == v.choice[int(rng.choice(len(v.choice), p=v.probs))], site
            else:
                assert got == float(v.from_z(rng.standard_normal())), site


@pytest.mark.parametrize("name", ("highway", "highway_merge"))
def test_traffic_starts_clear_of_the_scenarios_entities(name):
    scene = Scene(load(name))
    init = scene.initial(scene.draws(range(64)))
    x, y = init["x"].numpy(), init["y"].numpy()
    named = [a for a, s in enumerate(scene.slots) if not isinstance(s.source, tuple)]
    traffic = [a for a, s in enumerate(scene.slots)
               if isinstance(s.source, tuple) and s.lane_bound]
    for e in named:
        for t in traffic:
            same_lane = np.abs(y[:, t] - y[:, e]) < 1.0
            assert np.all(np.abs(x[:, t] - x[:, e])[same_lane] >= 12.0 - 1e-3)


def test_traffic_starts_no_faster_than_its_gap_allows():
    scene = Scene(load("highway"))
    init = scene.initial(scene.draws(range(32)))
    x, y, v = (init[k].numpy().astype(float) for k in ("x", "y", "v"))
    T, s0 = init["time_headway"].numpy(), init["min_gap"].numpy()
    length = scene.length.numpy()
    checked = 0
    for c, dirn in zip(scene.road.center.tolist(), scene.road.direction.tolist()):
        for w in range(len(x)):
            lane = [a for a, s in enumerate(scene.slots)
                    if s.lane_bound and abs(y[w, a] - c) < 0.5]
            lane.sort(key=lambda a: -dirn * x[w, a])
            for lead, f in zip(lane, lane[1:]):
                if not isinstance(scene.slots[f].source, tuple):
                    continue
                gap = dirn * (x[w, lead] - x[w, f]) - 0.5 * (length[lead] + length[f])
                assert v[w, f] <= max(0.0, (gap - s0[w, f]) / max(T[w, f], 0.1)) + 1e-3
                checked += 1
    assert checked > 100

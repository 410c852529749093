"""The gymnasium environments: seeding, auto-reset, and the vector env against single envs."""
import gymnasium as gym
import numpy as np
import pytest

import synthscape_autonomy
from synthscape_autonomy.envs import DrivingEnv
from synthscape_autonomy.vector_env import DrivingVectorEnv

synthscape_autonomy.register()


def test_same_seed_same_episode():
    a, b = DrivingEnv("cut_in"), DrivingEnv("cut_in")
    oa, ia = a.reset(seed=11)
    ob, ib = b.reset(seed=11)
    assert ia["episode_id"] == ib["episode_id"]
    act = np.array([0.3, 0.0], np.float32)
    for _ in range(20):
        oa, *_ = a.step(act)
        ob, *_ = b.step(act)
    np.testing.assert_array_equal(oa, ob)


def test_render_rgb_array():
    env = DrivingEnv("pedestrian_dart_out", render_mode="rgb_array")
    env.reset(seed=0)
    img = env.render()
    assert img.ndim == 3 and img.shape[2] == 3 and img.std() > 0


def _episode_ids(num_envs, steps, seed=7):
    env = DrivingVectorEnv(num_envs=num_envs, scenario="cut_in")
    _, info = env.reset(seed=seed)
    seen = [[e] for e in info["episode_id"]]
    act = np.tile(np.array([[-1.0, 0.0]], np.float32), (num_envs, 1))
    act[:, 1] = np.linspace(-1, 1, num_envs)  # different lateral actions: different endings
    for _ in range(steps):
        _, _, term, trunc, info = env.step(act)
        for i, e in enumerate(info["episode_id"]):
            if seen[i][-1] != e:
                seen[i].append(e)
    return seen, env


@pytest.mark.slow
def test_vector_env_seeds_survive_auto_reset():
    four, _ = _episode_ids(4, 450)
    two, _ = _episode_ids(2, 450)
    assert any(len(s) > 1 for s in four)  # auto-reset happened
    n = min(len(four[0]), len(two[0]))
    assert four[0][:n] == two[0][:n]  # sub-env 0 has the same episodes whatever the others do


def test_vector_env_matches_single_env_after_auto_reset():
    env = DrivingVectorEnv(num_envs=2, scenario="cut_in")
    env.reset(seed=3)
    act = np.zeros((2, 2), np.float32)
    first = env.draws[0].episode
    for _ in range(400):
        obs, rew, term, trunc, info = env.step(act)
        if info["episode_id"][0] != first:
            break
    single = DrivingEnv("cut_in")
    o, _ = single.reset(options={"episode": int(info["episode_id"][0])})
    np.testing.assert_allclose(obs[0], o, atol=1e-6)  # the reset world is a fresh episode
    assert rew[0] == 0.0 and not term[0] and not trunc[0]


def test_make_vec_uses_the_native_vector_env():
    envs = gym.make_vec("synthscape_autonomy/CutIn-v0", num_envs=3,
                        vectorization_mode="vector_entry_point")
    obs, _ = envs.reset(seed=1)
    assert isinstance(envs.unwrapped, DrivingVectorEnv) and obs.shape == (3, 7, 6)

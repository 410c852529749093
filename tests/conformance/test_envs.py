"""gymnasium's env checker over every environment id the autonomy pack registers."""
import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env

import synthscape_autonomy

synthscape_autonomy.register()
IDS = sorted(i for i in gym.registry if i.startswith("synthscape_autonomy/"))


def test_every_packaged_family_has_an_id():
    assert IDS and set(IDS) == set(synthscape_autonomy.ENV_IDS)


@pytest.mark.parametrize("env_id", IDS)
def test_check_env(env_id):
    torch.set_num_threads(1)
    env = gym.make(env_id)
    check_env(env.unwrapped, skip_render_check=True)
    obs, info = env.reset(seed=5)
    assert env.observation_space.contains(obs)
    for _ in range(5):
        obs, r, term, trunc, info = env.step(env.action_space.sample())
        assert env.observation_space.contains(obs) and np.isfinite(r)
        assert {"ttc", "collision", "near_miss", "off_road"} <= set(info)
    env.close()

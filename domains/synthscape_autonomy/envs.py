"""A single-world gymnasium environment over the batched simulator.

Observation: ``Box(-1, 1, (1 + n_observed, 6), float32)``, see
:mod:`synthscape_autonomy.observation`. Action: ``Box(-1, 1, (2,), float32)``: [0] scales the
ego's acceleration (+1 = +3 m/s^2, -1 = -9 m/s^2 before the friction limit), [1] its lateral
speed (+1 = 1.5 m/s to the left). Reward: progress towards the desired speed in [0, 1], minus 1
for a collision and 0.5 for leaving the road. An episode terminates on a collision or off-road
and is truncated at the scenario's duration. ``info`` holds the step's labels (ttc, thw, drac,
collision, near_miss, off_road), the episode id and the sampled parameters.
"""
from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from synthscape.device import torch_threads
from synthscape_autonomy.observation import FEATURES, observe, reward

EPISODE_SPACE = 2**31 - 1


def _external(spec):
    return spec.model_copy(update={"ego": spec.ego.model_copy(update={"policy": "external"})})


class DrivingEnv(gym.Env):
    """``gymnasium.make("synthscape_autonomy/CutIn-v0")`` or ``DrivingEnv(scenario=...)`` with a
    catalogue name or a .yaml path."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(self, scenario: str = "cut_in", n_observed: int = 6,
                 render_mode: str | None = None, threads: int | None = 1):
        from synthscape_autonomy.catalogue import load
        from synthscape_autonomy.scenario import Scene

        self.threads = threads  # torch threads while reset/step run (None: the process's)
        self.scenario = _external(load(scenario))
        self.scene = Scene(self.scenario)
        self.n_observed = n_observed
        self.render_mode = render_mode
        self.observation_space = spaces.Box(-1.0, 1.0, (1 + n_observed, FEATURES), np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.max_steps = int(round(self.scenario.duration / self.scenario.dt))
        self.sim: Any = None  # a Simulator after reset()

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        with torch_threads(self.threads):
            return self._reset(seed=seed, options=options)

    def step(self, action):
        with torch_threads(self.threads):
            return self._step(action)

    def _reset(self, *, seed: int | None, options: dict[str, Any] | None):
        from synthscape_autonomy.policy import ExternalEgo
        from synthscape_autonomy.sim import Simulator

        super().reset(seed=seed)
        episode = int((options or {}).get("episode", self.np_random.integers(EPISODE_SPACE)))
        self.draw = self.scene.draw(episode)
        self.sim = Simulator(self.scene, [self.draw], policy=ExternalEgo())
        return self._obs(), self._info(None)

    def _step(self, action):
        import torch

        self.sim.policy.set_action(torch.from_numpy(np.asarray(action, np.float32).reshape(1, 2)))
        with torch.inference_mode():  # less per-op overhead than no_grad for one world
            lab = self.sim.step()
            r = reward(self.sim, lab).item()
            terminated = (lab["collision"] | lab["off_road"]).item()
        truncated = self.sim.step_count >= self.max_steps and not terminated
        return self._obs(), r, terminated, truncated, self._info(lab)

    def _obs(self) -> np.ndarray:
        import torch

        with torch.inference_mode():
            return observe(self.sim, self.n_observed)[0].numpy().copy()

    def _info(self, lab) -> dict[str, Any]:
        info: dict[str, Any] = {"episode_id": self.draw.episode, "t": self.sim.step_count *
                                self.scenario.dt, "params": dict(self.draw.values)}
        if lab is not None:
            info.update({k: v.item() for k, v in lab.items()})  # one world: bools and floats
        return info

    def render(self):
        """``rgb_array``: a top-down image of the current step (see :mod:`.render`)."""
        if self.render_mode != "rgb_array" or self.sim is None:
            return None
        from synthscape_autonomy.render import snapshot

        s = self.sim
        traj = {k: getattr(s, k)[:, None, :].numpy() for k in ("x", "y", "h", "v", "collided")}
        return snapshot(self.scene, traj)

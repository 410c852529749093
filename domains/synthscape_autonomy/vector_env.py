"""A native ``gymnasium.vector.VectorEnv`` over the batched simulator: one world per sub-env,
all stepped by one tensor step.

Auto-reset follows gymnasium's default NEXT_STEP mode: after a sub-env terminates or truncates,
the next ``step`` resets it (reward 0, not done) and ignores its action. Seeds survive
auto-reset: ``reset(seed=s)`` gives sub-env i its own generator seeded from (s, i), and every new
episode of sub-env i draws its episode id from that generator alone, so sub-env i's sequence of
episodes does not depend on when the others finish or on how many there are.
Spaces are the batched versions of :class:`~synthscape_autonomy.envs.DrivingEnv`'s.
"""
from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from synthscape.device import torch_threads
from synthscape_autonomy.envs import EPISODE_SPACE, _external
from synthscape_autonomy.observation import FEATURES, observe, reward


class DrivingVectorEnv(VectorEnv):
    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP, "render_modes": []}

    def __init__(self, num_envs: int = 8, scenario: str = "cut_in", n_observed: int = 6,
                 device: str = "cpu", threads: int | None = None, render_mode=None, **_: Any):
        from synthscape_autonomy.catalogue import load
        from synthscape_autonomy.scenario import Scene

        self.threads = threads  # torch threads while reset/step run (None: the process's)
        self.num_envs = num_envs
        self.scenario = _external(load(scenario))
        self.scene = Scene(self.scenario, device=device)
        self.n_observed = n_observed
        self.single_observation_space = gym.spaces.Box(-1.0, 1.0, (1 + n_observed, FEATURES),
                                                       np.float32)
        self.single_action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.max_steps = int(round(self.scenario.duration / self.scenario.dt))
        self.render_mode = render_mode
        self.sim: Any = None  # a Simulator after reset()
        self._rngs: list[np.random.Generator] = []
        self._needs_reset = np.zeros(num_envs, dtype=bool)

    def _new_episodes(self, rows) -> list:
        return [self.scene.draw(int(self._rngs[i].integers(EPISODE_SPACE))) for i in rows]

    def reset(self, *, seed: int | list[int] | None = None, options: dict | None = None):
        with torch_threads(self.threads):
            return self._reset(seed=seed, options=options)

    def step(self, actions):
        with torch_threads(self.threads):
            return self._step(actions)

    def _reset(self, *, seed: int | list[int] | None, options: dict | None):
        from synthscape_autonomy.policy import ExternalEgo
        from synthscape_autonomy.sim import Simulator

        seeds: list[Any]
        if seed is None:
            seeds = [None] * self.num_envs
        elif isinstance(seed, int):
            seeds = [np.random.SeedSequence([seed, i]) for i in range(self.num_envs)]
        else:
            seeds = list(seed)
        self._rngs = [np.random.default_rng(s) for s in seeds]
        self.draws = self._new_episodes(range(self.num_envs))
        self.sim = Simulator(self.scene, self.draws, policy=ExternalEgo())
        self._needs_reset[:] = False
        return self._obs(), {"episode_id": np.array([d.episode for d in self.draws])}

    def _step(self, actions):
        import torch

        self.sim.policy.set_action(torch.as_tensor(np.asarray(actions, np.float32)))
        with torch.no_grad():
            lab = self.sim.step()
        rew = reward(self.sim, lab).cpu().numpy().astype(np.float64)
        term = (lab["collision"] | lab["off_road"]).cpu().numpy()
        trunc = (self.sim.steps >= self.max_steps).cpu().numpy() & ~term
        rows = np.flatnonzero(self._needs_reset)
        if rows.size:  # NEXT_STEP auto-reset of the sub-envs that finished last step
            new = self._new_episodes(rows)
            self.sim.reset_worlds(rows, new)
            for i, d in zip(rows, new):
                self.draws[i] = d
            rew[rows], term[rows], trunc[rows] = 0.0, False, False
        self._needs_reset = term | trunc
        info = {k: v.cpu().numpy() for k, v in lab.items()}
        info["episode_id"] = np.array([d.episode for d in self.draws])
        return self._obs(), rew, term, trunc, info

    def _obs(self) -> np.ndarray:
        return observe(self.sim, self.n_observed).cpu().numpy().copy()

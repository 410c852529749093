"""Run batches of episodes through the simulator and collect labels and trajectories."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from synthscape_autonomy.junction import junction_labels
from synthscape_autonomy.labels import LABEL_COLUMNS, EpisodeSummary
from synthscape_autonomy.scenario import Draw, Scene
from synthscape_autonomy.sim import Simulator


@dataclass
class Rollout:
    """Per-episode arrays (length E) and, when recorded, per-step arrays."""

    draws: list[Draw]
    episodes: dict[str, np.ndarray]
    steps: dict[str, np.ndarray] | None = None  # (E, T) label arrays
    traj: dict[str, np.ndarray] | None = None  # (E, T, A) state arrays
    sim_seconds: float = 0.0
    agent_seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def n_steps(spec) -> int:
    return int(round(spec.duration / spec.dt))


def simulate(scene: Scene, draws: list[Draw], *, record: bool = False, policy=None,
             workers: int | None = None) -> Rollout:
    """Simulate ``draws`` in batches of ``spec.batch`` worlds, ``workers`` batches at once
    (default ``spec.workers``); results depend on neither. A ``policy`` object keeps per-batch
    state, so batches that share one run one after the other."""
    spec = scene.spec
    batches = [draws[i:i + spec.batch] for i in range(0, len(draws), spec.batch)]
    workers = 1 if policy is not None else spec.workers if workers is None else workers
    parts = in_threads(lambda b: _one_batch(scene, b, record, policy), batches, workers)
    ep = {k: np.concatenate([p[0][k] for p in parts]) for k in parts[0][0]}
    steps = {k: np.concatenate([p[1][k] for p in parts]) for k in parts[0][1]} if record else None
    traj = {k: np.concatenate([p[2][k] for p in parts]) for k in parts[0][2]} if record else None
    T = n_steps(spec)
    return Rollout(draws, ep, steps, traj, sim_seconds=len(draws) * T * spec.dt,
                   agent_seconds=len(draws) * T * spec.dt * scene.n_agents)


def in_threads(fn, items: list, workers: int) -> list:
    """``[fn(item) for item in items]``, on ``workers`` threads when more than one (in order).

    torch ops release the GIL, so simulators stepped on separate threads run in parallel; each
    should then use one intra-op thread (``torch.set_num_threads(1)``) so that the workers do not
    contend for one thread pool. A policy shared between workers must be thread-safe."""
    if workers <= 1 or len(items) <= 1:
        return [fn(it) for it in items]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        return list(pool.map(fn, items))


def _one_batch(scene, draws, record, policy):
    import torch

    with torch.no_grad():
        sim = Simulator(scene, draws, policy)
        summ = EpisodeSummary(sim)
        steps: dict[str, list] = {k: [] for k in LABEL_COLUMNS}
        traj: dict[str, list] = {k: [] for k in ("x", "y", "h", "v", "acc", "collided")}
        for _ in range(n_steps(scene.spec)):
            lab = sim.step()
            summ.update(lab, sim)
            if record:
                for k in LABEL_COLUMNS:
                    steps[k].append(lab[k].cpu())
                for k in traj:
                    traj[k].append(getattr(sim, k).cpu())
        level = summ.failure_level(scene.spec.labels.near_miss_ttc)
        score = summ.score()
        ep = {"collision": summ.collision, "near_miss": summ.near_miss,
              "off_road": summ.off_road, "failure": score < level, "min_ttc": summ.min_ttc,
              "min_ttc_long": summ.min_ttc_long, "drac_conflict": summ.drac_conflict,
              "min_thw": summ.min_thw, "max_drac": summ.max_drac,
              "first_failure_time": summ.first_failure, "impact_speed": summ.impact_speed,
              "speed_reduction": summ.speed_reduction,
              "score": score}
        ep.update(junction_labels(sim))
        ep = {k: v.cpu().numpy() for k, v in ep.items()}
        st = {k: torch.stack(v, 1).numpy() for k, v in steps.items()} if record else {}
        tr = {k: torch.stack(v, 1).numpy() for k, v in traj.items()} if record else {}
    return ep, st, tr

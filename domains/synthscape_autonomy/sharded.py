"""The driving simulator on a cluster: episodes cut into shards, each simulated by a worker and
written as one Parquet partition with its labels.

Episode ``e`` is drawn from ``(seed, family, e)`` and simulated the same way in any batch
(``rollout.simulate``), so shard ``i`` (episodes ``[start_i, end_i)``, fixed by the episode
count and ``shards``) gives the same rows on any worker: the files are the same bytes for any
number of workers and the rows are those of one process. Each shard writes
``episodes/part-<shard>.parquet`` and, with ``steps=True``, ``step_labels/part-<shard>.parquet``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synthscape import compute
from synthscape.compute.sampling import shard_sizes
from synthscape.errors import ParameterError

__all__ = ["simulate_to_parquet"]

_SCENES: dict[str, Any] = {}  # worker-side cache: spec JSON -> Scene


def _scene(spec: Any) -> Any:
    from synthscape_autonomy.scenario import Scene

    key = spec.model_dump_json()
    if key not in _SCENES:
        _SCENES.clear()
        _SCENES[key] = Scene(spec)
    return _SCENES[key]


@dataclass(frozen=True)
class _Shard:
    spec: Any
    folder: str
    steps: bool

    def __call__(self, job: tuple[int, int, int]) -> dict[str, int]:
        from synthscape.device import torch_threads
        from synthscape.tables import write_table
        from synthscape_autonomy import schemas
        from synthscape_autonomy.kind import episode_table, step_table
        from synthscape_autonomy.rollout import simulate

        index, start, count = job
        with torch_threads(self.spec.threads):
            scene = _scene(self.spec)
            r = simulate(scene, scene.draws(range(start, start + count)), record=self.steps,
                         workers=1)
        eps = episode_table(scene, r)
        write_table(eps, Path(self.folder) / "episodes" / f"part-{index:05d}.parquet",
                    schemas.json_schema("episodes"), table="episodes")
        if self.steps:
            write_table(step_table(scene, r),
                        Path(self.folder) / "step_labels" / f"part-{index:05d}.parquet",
                        schemas.json_schema("step_labels"), table="step_labels")
        return {"episodes": count, "failures": int(eps["failure"].sum()),
                "collisions": int(eps["collision"].sum())}


def simulate_to_parquet(spec: Any, path: str | Path, *, episodes: int | None = None,
                        shards: int | None = None, steps: bool = False,
                        overwrite: bool = False) -> dict[str, Any]:
    """Simulate ``episodes`` (default ``spec.episodes``) nominal episodes of the driving
    ``spec`` on the active execution setting into the folder ``path`` (atomically); ``shards``
    defaults to one per ``spec.batch`` episodes. Returns a summary (counts of episodes,
    failures and collisions)."""
    n = int(spec.episodes if episodes is None else episodes)
    parts = shards if shards is not None else max(1, -(-n // spec.batch))
    if isinstance(parts, bool) or not isinstance(parts, int) or not 1 <= parts <= max(n, 1):
        raise ParameterError(f"shards must be an int between 1 and the episode count ({n}), "
                             f"got {shards!r}")
    from synthscape.io import atomic_folder

    with atomic_folder(path, overwrite=overwrite) as tmp:
        for name in ("episodes", "step_labels") if steps else ("episodes",):
            (tmp / name).mkdir()
        sizes = shard_sizes(n, parts)
        jobs = [(i, sum(sizes[:i]), k) for i, k in enumerate(sizes)]
        summary: dict[str, Any] = {"episodes": 0, "failures": 0, "collisions": 0}
        for part in compute.run_tasks(_Shard(spec, str(tmp), steps), jobs,
                                      label="driving shards"):
            for k, v in part.items():
                summary[k] += v
        summary.update(shards=parts, family=spec.family, seed=spec.seed)
        (tmp / "summary.json").write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n")
    return summary

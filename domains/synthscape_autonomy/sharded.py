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
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synthscape import compute
from synthscape.compute.sampling import shard_sizes
from synthscape.errors import ParameterError

__all__ = ["run_shards", "shard_jobs", "simulate_to_parquet"]

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
    """Worker task: one shard's episodes simulated and written as ``part-<shard>.parquet``
    into each table's folder (``folders``: table -> folder, among ``episodes``,
    ``step_labels`` and ``trajectories``). A job is ``(shard, first episode, count, mix)``:
    ``mix`` is None for nominal episodes (drawn here from the seed), or the shard's
    ``(draws, weights, sources)`` of an augmented run. With ``keep`` the episode table comes
    back with the counts."""

    spec: Any
    folders: tuple[tuple[str, str], ...]
    keep: bool = False

    def __call__(self, job: tuple[int, int, int, Any]) -> dict[str, Any]:
        from synthscape.device import torch_threads
        from synthscape.tables import write_table
        from synthscape_autonomy import schemas
        from synthscape_autonomy.kind import episode_table, step_table, trajectory_table
        from synthscape_autonomy.rollout import simulate

        index, start, count, mix = job
        folders = dict(self.folders)
        record = len(folders) > 1
        makers = {"episodes": None, "step_labels": step_table, "trajectories": trajectory_table}
        with torch_threads(self.spec.threads):
            scene = _scene(self.spec)
            draws = scene.draws(range(start, start + count)) if mix is None else mix[0]
            r = simulate(scene, draws, record=record, workers=1)
            eps = episode_table(scene, r, *(() if mix is None else mix[1:]))
            for name, folder in folders.items():
                make = makers[name]
                table = eps if make is None else make(scene, r)
                write_table(table, Path(folder) / f"part-{index:05d}.parquet",
                            schemas.json_schema(name), table=name)
        out: dict[str, Any] = {"episodes": count, "failures": int(eps["failure"].sum()),
                               "collisions": int(eps["collision"].sum())}
        if self.keep:
            out["table"] = eps
        return out


def shard_jobs(n: int, shards: int, mix: Any = None) -> list[tuple[int, int, int, Any]]:
    """The jobs of ``n`` episodes in ``shards`` shards (fixed by ``n`` and ``shards`` only);
    ``mix`` (draws, weights, sources), when given, is cut the same way."""
    sizes = shard_sizes(n, shards)
    jobs = []
    for i, k in enumerate(sizes):
        a = sum(sizes[:i])
        part = None if mix is None else tuple(list(x)[a:a + k] for x in mix)
        jobs.append((i, a, k, part))
    return jobs


def run_shards(spec: Any, folders: Mapping[str, Path], jobs: list[Any], *,
               keep: bool = False) -> dict[str, Any]:
    """Run ``jobs`` (:func:`shard_jobs`) on the active execution setting, writing each
    shard's tables into ``folders`` (existing folders); returns the summed counts and, with
    ``keep``, the episode table of every shard in episode order under ``table``."""
    work = _Shard(spec, tuple((k, str(v)) for k, v in sorted(folders.items())), keep)
    summary: dict[str, Any] = {"episodes": 0, "failures": 0, "collisions": 0}
    tables = []
    for part in compute.run_tasks(work, jobs, label="driving shards"):
        if keep:
            tables.append(part.pop("table"))
        for k, v in part.items():
            summary[k] += v
    if keep:
        import pandas as pd

        summary["table"] = pd.concat(tables, ignore_index=True)
    return summary


def default_shards(spec: Any, n: int, shards: int | None) -> int:
    """``shards``, or one per ``spec.batch`` episodes; refused outside 1..n."""
    parts = shards if shards is not None else max(1, -(-n // spec.batch))
    if isinstance(parts, bool) or not isinstance(parts, int) or not 1 <= parts <= max(n, 1):
        raise ParameterError(f"shards must be an int between 1 and the episode count ({n}), "
                             f"got {shards!r}")
    return parts


def simulate_to_parquet(spec: Any, path: str | Path, *, episodes: int | None = None,
                        shards: int | None = None, steps: bool = False,
                        overwrite: bool = False) -> dict[str, Any]:
    """Simulate ``episodes`` (default ``spec.episodes``) nominal episodes of the driving
    ``spec`` on the active execution setting into the folder ``path`` (atomically); ``shards``
    defaults to one per ``spec.batch`` episodes. Returns a summary (counts of episodes,
    failures and collisions)."""
    n = int(spec.episodes if episodes is None else episodes)
    parts = default_shards(spec, n, shards)
    from synthscape.io import atomic_folder

    with atomic_folder(path, overwrite=overwrite) as tmp:
        folders = {name: tmp / name for name in
                   (("episodes", "step_labels") if steps else ("episodes",))}
        for folder in folders.values():
            folder.mkdir()
        summary = run_shards(spec, folders, shard_jobs(n, parts))
        summary.update(shards=parts, family=spec.family, seed=spec.seed)
        (tmp / "summary.json").write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n")
    return summary

"""Sharded sampling of a fitted sequence generator (``dp_sequence``): entities and their
events written as Parquet partitions from the workers of the active execution setting.

``sample_sequences_to_parquet(gen, n, path, partitions=8, seed=7)`` writes
``entities/part-<i>.parquet`` and ``events/part-<i>.parquet``. The entity shards are fixed by
``n`` and ``partitions`` alone: shard ``i`` samples its entities with the public seed
:func:`~synthscape.compute.sampling.shard_seed` ``(seed, i)``, and its entity keys are renumbered
from the shard's first entity (``E000000``, ... over the whole output, as one ``gen.sample(n)``
numbers them), so the files are the same bytes on one process or on a cluster of any size.
Sampling a released model is post-processing: nothing here touches the ledger. The model
travels as its saved files (no pickle).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synthscape import compute
from synthscape.compute.sampling import (
    load_bundle,
    model_bundle,
    partition_count,
    shard_seed,
    shard_sizes,
)

__all__ = ["sample_sequences_to_parquet", "write_sequence_shards"]

TABLES = ("entities", "events")
PURPOSE = "sequence.shard"


def _load(folder: Path) -> Any:
    """A saved sequence generator, by the name its model.json gives."""
    import json

    from synthscape.generators.registry import SEQUENCE_GENERATORS

    name = json.loads((folder / "model.json").read_text()).get("generator")
    return SEQUENCE_GENERATORS.get(name).load(folder)


def entity_keys(offset: int, count: int, total: int) -> list[str]:
    """Keys ``offset .. offset + count - 1`` of ``total`` entities, in the width
    ``gen.sample(total)`` gives them."""
    width = max(6, len(str(max(total - 1, 0))))
    return [f"E{i:0{width}d}" for i in range(offset, offset + count)]


@dataclass(frozen=True)
class _Shard:
    bundle: dict[str, bytes]
    folders: tuple[tuple[str, str], ...]
    seed: int
    total: int
    conditions: Mapping[str, Any] | None = None

    def __call__(self, job: tuple[int, int, int]) -> tuple[int, int]:
        import pandas as pd

        from synthscape.io import write_parquet

        index, offset, count = job
        gen = load_bundle(self.bundle, _load)
        ents, evs = gen.sample(count, conditions=self.conditions,
                               seed=shard_seed(self.seed, index, PURPOSE))
        key = gen.schema_.entity_key
        keys = pd.Series(entity_keys(offset, len(ents), self.total), dtype=ents[key].dtype)
        position = pd.Index(ents[key]).get_indexer(evs[key])
        ents[key] = keys.to_numpy()
        evs[key] = keys.to_numpy()[position]
        folders = dict(self.folders)
        for name, table in zip(TABLES, (ents, evs)):
            write_parquet(table, Path(folders[name]) / f"part-{index:05d}.parquet")
        return len(ents), len(evs)


def write_sequence_shards(gen: Any, n: int, folders: Mapping[str, str | Path], *,
                          partitions: int | None = None, seed: int = 0,
                          conditions: Mapping[str, Any] | None = None) -> dict[str, int]:
    """``n`` entities of the fitted sequence generator ``gen`` and their events, written into
    ``folders["entities"]`` and ``folders["events"]`` (existing folders) as
    ``part-<shard>.parquet``; ``partitions`` defaults to one per million entities.
    ``conditions`` are applied by every shard as ``gen.sample`` applies them. Returns the row
    counts of both tables."""
    gen._check_fitted()
    parts = partition_count(n, partitions)
    sizes = shard_sizes(n, parts)
    jobs = [(i, sum(sizes[:i]), k) for i, k in enumerate(sizes)]
    work = _Shard(model_bundle(gen), tuple((t, str(folders[t])) for t in TABLES), int(seed), n,
                  None if conditions is None else dict(conditions))
    rows = {"entities": 0, "events": 0}
    for n_ents, n_evs in compute.run_tasks(work, jobs, label="sequence shards"):
        rows["entities"] += n_ents
        rows["events"] += n_evs
    return rows


def sample_sequences_to_parquet(gen: Any, n: int, path: str | Path, *,
                                partitions: int | None = None, seed: int = 0,
                                conditions: Mapping[str, Any] | None = None,
                                overwrite: bool = False) -> Path:
    """Write ``n`` entities of ``gen`` and their events to the folder ``path``
    (``entities/`` and ``events/``, ``partitions`` files each), atomically (a temporary folder
    renamed into place). On a cluster ``path`` must be on storage every worker can write."""
    from synthscape.io import atomic_folder

    gen._check_fitted()
    partition_count(n, partitions)
    with atomic_folder(Path(path), overwrite=overwrite) as tmp:
        folders = {t: tmp / t for t in TABLES}
        for folder in folders.values():
            folder.mkdir()
        write_sequence_shards(gen, n, folders, partitions=partitions, seed=seed,
                              conditions=conditions)
    return Path(path)

"""Sharded sampling: ``sample_to_parquet(gen, n, path)`` writes ``n`` synthetic rows as Parquet
partitions from the workers of the active execution setting.

The shards are fixed by ``n`` and ``partitions`` alone (never by the number of workers): shard
``i`` draws its rows with a seed derived from ``(seed, i)`` and numbers its id column from the
shard's first row, so the files, byte for byte, are the same on one process or a cluster of any
size. The fitted model travels to the workers as its saved files (JSON, arrays, checksums; no
pickle, and no ledger noise source) and is loaded once per worker process. Sampling from a
released model is post-processing: nothing here touches the ledger.
"""
from __future__ import annotations

import hashlib
import math
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synthscape import compute
from synthscape.errors import ParameterError
from synthscape.random import derive_rng

__all__ = ["read_folder", "sample_to_parquet", "shard_seed", "shard_sizes", "write_shards"]

ROWS_PER_PARTITION = 1_000_000
_MODELS: dict[str, Any] = {}  # worker-side cache: bundle digest -> loaded generator


def shard_sizes(n: int, partitions: int) -> list[int]:
    """``n`` rows cut into ``partitions`` shards of near-equal size (the first ones larger)."""
    q, r = divmod(n, partitions)
    return [q + (i < r) for i in range(partitions)]


def shard_seed(seed: int, index: int, purpose: str = "sample.shard") -> int:
    """The public seed of shard ``index``: a function of ``(seed, index)`` only."""
    return int(derive_rng(int(seed), purpose, index).integers(0, 2**62))


def model_bundle(gen: Any) -> dict[str, bytes]:
    """The files of ``gen.save`` as bytes (what a worker needs to load it)."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "model"
        gen.save(folder)
        return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def load_bundle(bundle: dict[str, bytes], loader: Callable[[Path], Any] | None = None) -> Any:
    """The generator of a bundle, loaded once per process (files checked against checksums)
    by ``loader(folder)`` (default: :func:`synthscape.generators.base.load`)."""
    key = hashlib.sha256(b"".join(hashlib.sha256(v).digest() for v in bundle.values())
                         ).hexdigest()
    if key not in _MODELS:
        from synthscape.generators.base import load as default

        load = loader or default
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "model"
            folder.mkdir()
            for name, data in bundle.items():
                (folder / name).write_bytes(data)
            _MODELS[key] = load(folder)
    return _MODELS[key]


@dataclass(frozen=True)
class _Shard:
    bundle: dict[str, bytes]
    folder: str
    seed: int
    table: str
    conditions: Mapping[str, Any] | None = None

    def __call__(self, job: tuple[int, int, int]) -> int:
        from synthscape.tables import row_schema_of, write_table

        index, offset, rows = job
        gen = load_bundle(self.bundle)
        df = gen.sample(rows, conditions=self.conditions, seed=shard_seed(self.seed, index))
        for c in gen.schema_.columns:
            if c.kind == "id":  # globally unique keys, numbered from the shard's first row
                df[c.name] = [f"syn-{offset + i:08d}" for i in range(rows)]
        write_table(df, Path(self.folder) / f"part-{index:05d}.parquet",
                    row_schema_of(gen.schema_, table=self.table), table=self.table)
        return rows


def sample_to_parquet(gen: Any, n: int, path: str | Path, *, partitions: int | None = None,
                      seed: int = 0, table: str = "synthetic",
                      conditions: Mapping[str, Any] | None = None,
                      overwrite: bool = False) -> Path:
    """Write ``n`` rows of the fitted ``gen`` to the folder ``path`` as ``part-00000.parquet``,
    ... (``partitions`` files; default one per million rows), atomically (a temporary folder
    renamed into place). ``conditions`` are applied by every shard as ``gen.sample`` applies
    them. On a cluster ``path`` must be on storage every worker can write."""
    from synthscape.io import atomic_folder

    gen._check_fitted()
    parts = partition_count(n, partitions)
    with atomic_folder(Path(path), overwrite=overwrite) as tmp:
        write_shards(gen, n, tmp, partitions=parts, seed=seed, table=table,
                     conditions=conditions)
    return Path(path)


def write_shards(gen: Any, n: int, folder: str | Path, *, partitions: int | None = None,
                 seed: int = 0, table: str = "synthetic",
                 conditions: Mapping[str, Any] | None = None) -> int:
    """The shards of :func:`sample_to_parquet` written into the existing folder ``folder``
    (a run's ``data/<table>/``, already inside a temporary run folder); returns ``n``."""
    gen._check_fitted()
    parts = partition_count(n, partitions)
    sizes = shard_sizes(n, parts)
    offsets = [sum(sizes[:i]) for i in range(parts)]
    jobs = list(zip(range(parts), offsets, sizes))
    work = _Shard(model_bundle(gen), str(folder), int(seed), table,
                  None if conditions is None else dict(conditions))
    written = sum(compute.run_tasks(work, jobs, label="sample"))
    assert written == n
    return written


def partition_count(n: Any, partitions: Any) -> int:
    """The partition count for ``n`` rows, after one clear error for a bad argument."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ParameterError(f"n must be an int >= 0, got {n!r}")
    parts = partitions if partitions is not None else max(1, math.ceil(n / ROWS_PER_PARTITION))
    if isinstance(parts, bool) or not isinstance(parts, int) or parts < 1:
        raise ParameterError(f"partitions must be an int >= 1, got {partitions!r}")
    return parts


def read_folder(folder: str | Path) -> Any:
    """The table of a folder of Parquet partitions as one DataFrame, files in name order
    (the order the shards were cut in)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = sorted(Path(folder).glob("*.parquet"))
    if not files:
        raise ParameterError(f"{folder} holds no .parquet file")
    return pa.concat_tables([pq.read_table(f) for f in files]).to_pandas()

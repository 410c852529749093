"""A Parquet dataset read partition by partition: locally with pyarrow (one row group at a
time, no Dask), on a cluster through ``dask.dataframe`` (one task per partition).

Both give pandas frames with the dtypes ``pandas.read_parquet`` gives for the whole dataset, in
the same row order (files sorted by path, row groups in order), so a statistic summed over the
partitions equals the statistic of the table read into memory.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synthscape import compute
from synthscape.errors import SchemaError

_GLOB = set("*?[")


@dataclass(frozen=True)
class ParquetSource:
    """The files of a dataset given as a folder, a file, a glob or an fsspec URL."""

    path: str
    files: tuple[str, ...]
    storage_options: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def open(cls, path: Any, storage_options: dict[str, Any] | None = None) -> ParquetSource:
        import fsspec

        text = str(path)
        fs, root = fsspec.core.url_to_fs(text, **(storage_options or {}))
        if any(ch in root for ch in _GLOB):
            found = [f for f in fs.glob(root) if fs.isfile(f)]
        elif fs.isdir(root):
            found = [f for f in fs.find(root) if f.endswith((".parquet", ".parq"))
                     and not any(p.startswith((".", "_")) for p in f[len(root):].split("/"))]
        elif fs.exists(root):
            found = [root]
        else:
            found = []
        if not found:
            raise SchemaError(f"no Parquet file at {text!r}; give a folder of .parquet files, a "
                              f"file, a glob (data/part-*.parquet) or an fsspec URL")
        files = tuple(fs.unstrip_protocol(f) if "://" in text else f for f in sorted(found))
        return cls(text, files, dict(storage_options or {}))

    def _fs(self):
        import fsspec

        return fsspec.core.url_to_fs(self.files[0], **self.storage_options)[0]

    def meta(self) -> pd.DataFrame:
        """An empty frame with the dataset's columns and dtypes."""
        import pyarrow.parquet as pq

        with self._fs().open(self.files[0], "rb") as fh:
            return pq.read_schema(fh).empty_table().to_pandas()

    def local_frames(self) -> Iterator[pd.DataFrame]:
        """One frame per row group, in order, in this process."""
        import pyarrow.parquet as pq

        fs = self._fs()
        for f in self.files:
            with fs.open(f, "rb") as fh:
                pf = pq.ParquetFile(fh)
                for i in range(pf.num_row_groups):
                    yield pf.read_row_group(i).to_pandas()

    def map_partitions(self, fn: Callable[[pd.DataFrame], Any], *, label: str) -> Iterator[Any]:
        """``fn`` of each partition, in order, on the active execution setting."""
        ex = compute.current()
        if ex.is_local:
            total = sum(_row_groups(self._fs(), f) for f in self.files)
            for i, frame in enumerate(self.local_frames()):
                yield fn(frame)
                compute._report(ex, label, i + 1, total)
            return
        import dask
        import dask.dataframe as dd

        with dask.config.set({"dataframe.convert-string": False}):
            ddf = dd.read_parquet(list(self.files), storage_options=self.storage_options or None)
            parts = ddf.to_delayed()
        yield from compute.run_tasks(fn, parts, label=label)


def _row_groups(fs, f: str) -> int:
    import pyarrow.parquet as pq

    with fs.open(f, "rb") as fh:
        return int(pq.ParquetFile(fh).num_row_groups)


class TableDigest:
    """The digest :func:`synthscape.privacy.noise.data_digest` gives a DataFrame, fed partition by
    partition: SHA-256 of the column names, then of each row's pandas hash in row order."""

    def __init__(self, columns: list[Any]):
        self._h = hashlib.sha256(repr(list(map(str, columns))).encode())
        self.rows = 0

    @staticmethod
    def row_hashes(frame: pd.DataFrame) -> bytes:
        return np.ascontiguousarray(
            pd.util.hash_pandas_object(frame, index=False).to_numpy()).tobytes()

    def update(self, row_hashes: bytes) -> None:
        self._h.update(row_hashes)
        self.rows += len(row_hashes) // 8

    def digest(self) -> bytes:
        return self._h.digest()

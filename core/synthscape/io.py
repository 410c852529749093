"""Files: deterministic Parquet, atomic run folders, hashes for manifests."""
from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from synthscape.errors import OutputExistsError


def write_parquet(df: pd.DataFrame, path: str | Path) -> None:
    """Parquet with fixed options so that the same frame gives the same bytes."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(df.reset_index(drop=True), preserve_index=False)
    pq.write_table(table, path, compression="zstd", write_statistics=True)


def read_table(path: str | Path) -> pd.DataFrame:
    """Read CSV or Parquet by suffix, with an error that names the file."""
    from synthscape.errors import SchemaError

    p = Path(path)
    if not p.exists():
        raise SchemaError(f"data file {p} does not exist")
    if p.suffix in (".parquet", ".pq"):
        return pd.read_parquet(p)
    if p.suffix in (".csv", ".gz", ".txt"):
        return pd.read_csv(p)
    raise SchemaError(f"data file {p}: unknown format {p.suffix!r}; use .csv or .parquet")


def sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@contextmanager
def atomic_folder(final: str | Path, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary folder beside ``final``; rename it into place only on success.

    A failure leaves nothing at ``final`` (and an existing folder untouched)."""
    final = Path(final)
    if final.exists() and not overwrite:
        raise OutputExistsError(
            f"output folder {final} already exists; choose another name or pass --overwrite"
        )
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=final.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if final.exists():
        trash = final.with_name(f".{final.name}.old")
        shutil.rmtree(trash, ignore_errors=True)
        final.rename(trash)
        tmp.rename(final)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        tmp.rename(final)

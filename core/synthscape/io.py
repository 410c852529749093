"""Files: deterministic Parquet, atomic run folders, hashes for manifests. (The declared schemas
of output tables and the streaming table writer are in :mod:`synthscape.tables`.)"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from synthscape.errors import OutputExistsError, ParameterError

# The same options everywhere, so that equal inputs give equal bytes.
PARQUET_OPTIONS: dict[str, Any] = {"compression": "zstd", "write_statistics": True}


def write_parquet(df: pd.DataFrame, path: str | Path) -> None:
    """Parquet with fixed options so that the same frame gives the same bytes."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(df.reset_index(drop=True), preserve_index=False)
    pq.write_table(table, path, **PARQUET_OPTIONS)


def read_table(path: str | Path) -> pd.DataFrame:
    """Read CSV or Parquet by suffix, with an error that names the file."""
    from synthscape.errors import SchemaError

    p = Path(path)
    if not p.exists():
        raise SchemaError(f"data file {p} does not exist")
    if p.is_dir():
        raise SchemaError(f"data file {p} is a folder; give a .csv or .parquet file")
    suffix = p.suffix.lower()
    if suffix not in (".parquet", ".pq", ".csv", ".gz", ".txt"):
        raise SchemaError(f"data file {p}: unknown format {p.suffix!r}; use .csv or .parquet")
    if p.stat().st_size == 0:
        raise SchemaError(f"data file {p} is empty (0 bytes); a CSV file needs at least a "
                          f"header line with the column names")
    try:
        return pd.read_parquet(p) if suffix in (".parquet", ".pq") else pd.read_csv(p)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise SchemaError(f"data file {p} cannot be parsed as CSV: {exc}") from None
    except (OSError, ValueError) as exc:  # pyarrow: not a Parquet file, truncated footer
        if suffix in (".parquet", ".pq"):
            raise SchemaError(f"data file {p} is not a readable Parquet file: {exc}") from None
        raise


def sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


_INTERRUPT = {"requested": False}


def request_interrupt() -> None:
    """Called by a signal handler of the command line: no atomic folder is renamed into place
    after this, even if the KeyboardInterrupt the handler raises is swallowed on its way (an
    exception raised inside a finalizer is only printed)."""
    _INTERRUPT["requested"] = True


def _umask() -> int:
    mask = os.umask(0o022)  # read it: os.umask only reads by setting
    os.umask(mask)
    return mask


def public_mode(folder: str | Path) -> None:
    """Give a folder made by ``tempfile.mkdtemp`` (always 0700) the mode a plain ``mkdir``
    would give it (0777 less the umask), before it is renamed into place."""
    os.chmod(folder, 0o777 & ~_umask())


def check_output_parent(final: str | Path) -> None:
    """Refuse an output path whose folder (or a folder above it) is a file."""
    final = Path(final)
    if final.exists() and not final.is_dir():
        raise ParameterError(f"output path {final} is a file; give a folder (--output is the "
                             f"parent folder of run folders)")
    for parent in final.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ParameterError(f"output path {parent} is a file, not a folder; --output "
                                     f"(or the spec's 'output') names the parent folder of run "
                                     f"folders")
            break


@contextmanager
def atomic_folder(final: str | Path, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary folder beside ``final``; rename it into place only on success.

    A failure leaves nothing at ``final`` (and an existing folder untouched); so does an
    interrupt (Ctrl-C, or SIGTERM where the command line turns it into one). The folder gets
    the mode a plain ``mkdir`` would give it."""
    final = Path(final)
    check_output_parent(final)
    if final.exists() and not overwrite:
        raise OutputExistsError(
            f"output folder {final} already exists; choose another name or pass --overwrite"
        )
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=final.parent))
    trash = final.with_name(f".{final.name}.old")
    try:
        yield tmp
        if _INTERRUPT["requested"]:
            raise KeyboardInterrupt
        public_mode(tmp)
        if final.exists():
            shutil.rmtree(trash, ignore_errors=True)
            final.rename(trash)
            try:
                tmp.rename(final)
            except BaseException:
                trash.rename(final)  # put the old folder back
                raise
        else:
            tmp.rename(final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(trash, ignore_errors=True)

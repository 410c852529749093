"""Stream a simulation to Parquet in chunks, in bounded memory, and keep a small analysis
sample (every row of a random subset of customers plus every illicit or pattern row)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthscape.random import derive_rng
from synthscape_finance.simulator import Simulation


class _Writer:
    """One Parquet file written chunk by chunk with the options of the core's
    ``write_parquet`` (zstd, statistics), so equal inputs give equal bytes."""

    def __init__(self, path: Path):
        self.path = path
        self.writer: Any = None  # a pyarrow ParquetWriter from the first chunk on

    def write(self, table) -> None:
        import pyarrow.parquet as pq

        if self.writer is None:
            self.writer = pq.ParquetWriter(self.path, table.schema, compression="zstd",
                                           write_statistics=True)
        self.writer.write_table(table)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def stream(sim: Simulation, data_dir: str | Path, *, sample_rows: int = 200_000,
           on_chunk=None) -> tuple[int, pd.DataFrame]:
    """Write ``transactions.parquet`` and ``tx_labels.parquet`` into ``data_dir``; returns the
    row count and the analysis sample (transactions joined with their labels)."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    tx_w = _Writer(data_dir / "transactions.parquet")
    lab_w = _Writer(data_dir / "tx_labels.parquet")
    spec = sim.spec
    expected = sim.world.n_accounts * spec.population.days * \
        (spec.activity.purchases_per_day + spec.activity.transfers_per_day)
    share = min(1.0, sample_rows / max(expected, 1.0))
    # whole customers (every account of a picked customer), so per-customer summaries hold
    pick = (derive_rng(spec.seed, "finance.analysis_sample").random(
        sim.world.n_customers) < share)[sim.world.owner]
    parts = []
    rows = 0
    try:
        for tx, lab, ev in sim.chunks():
            tx_w.write(tx)
            lab_w.write(lab)
            rows += tx.num_rows
            keep = np.flatnonzero(pick[ev["acc"]] | (ev["pid"] >= 0) | ev["fraud"] | ev["laund"])
            if len(keep):
                idx = _arrow_index(keep)
                part = tx.take(idx).to_pandas()
                lp = lab.take(idx).to_pandas().drop(columns="tx_id")
                part = pd.concat([part, lp], axis=1)
                part["in_sample"] = pick[ev["acc"][keep]]
                parts.append(part)
            if on_chunk is not None:
                on_chunk(rows)
    finally:
        tx_w.close()
        lab_w.close()
    sample = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    return rows, sample


def _arrow_index(idx: np.ndarray):
    import pyarrow as pa

    return pa.array(idx.astype(np.int64))

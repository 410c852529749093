"""Stream a simulation to Parquet in chunks, in bounded memory, and keep a small analysis
sample (every row of a random subset of customers plus every illicit or pattern row).

The tables go through the core's table writer (``ctx.table_writer``, or
:class:`synthscape.tables.TableWriter` for a plain folder) with their declared schemas, so the
files have the declared dtypes and equal inputs give equal bytes."""
from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthscape.random import derive_rng
from synthscape.tables import TableWriter
from synthscape_finance.schemas import json_schema
from synthscape_finance.simulator import Simulation

STREAMED = ("transactions", "tx_labels")


def stream(sim: Simulation, out: Any, *, sample_rows: int = 200_000,
           on_chunk: Callable[[int], None] | None = None) -> tuple[int, pd.DataFrame]:
    """Write ``transactions`` and ``tx_labels`` through ``out`` (the run's
    :class:`~synthscape.scenarios.context.RunContext`, or a folder); returns the row count and
    the analysis sample (transactions joined with their labels)."""
    pick = analysis_pick(sim, sample_rows)
    parts = []
    rows = 0
    with ExitStack() as stack:
        tx_w, lab_w = (stack.enter_context(_writer(out, name)) for name in STREAMED)
        for tx, lab, ev in sim.chunks():
            tx_w.write(tx)
            lab_w.write(lab)
            rows += tx.num_rows
            part = sample_part(tx, lab, ev, pick)
            if part is not None:
                parts.append(part)
            if on_chunk is not None:
                on_chunk(rows)
    sample = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    return rows, sample


def analysis_pick(sim: Simulation, sample_rows: int) -> np.ndarray:
    """Per account: whether its customer is in the analysis sample (whole customers, every
    account of a picked one, so per-customer summaries hold), a share that aims at
    ``sample_rows`` rows; a function of the spec alone."""
    spec = sim.spec
    expected = sim.world.n_accounts * spec.population.days * \
        (spec.activity.purchases_per_day + spec.activity.transfers_per_day)
    share = min(1.0, sample_rows / max(expected, 1.0))
    return (derive_rng(spec.seed, "finance.analysis_sample").random(
        sim.world.n_customers) < share)[sim.world.owner]


def sample_part(tx: Any, lab: Any, ev: dict[str, np.ndarray],
                pick: np.ndarray) -> pd.DataFrame | None:
    """A chunk's rows of the analysis sample (transactions joined with their labels): the
    picked customers' rows and every illicit or pattern row; None when there are none."""
    keep = np.flatnonzero(pick[ev["acc"]] | (ev["pid"] >= 0) | ev["fraud"] | ev["laund"])
    if not len(keep):
        return None
    idx = _arrow_index(keep)
    part = tx.take(idx).to_pandas()
    lp = lab.take(idx).to_pandas().drop(columns="tx_id")
    part = pd.concat([part, lp], axis=1)
    part["in_sample"] = pick[ev["acc"][keep]]
    return part


def _writer(out: Any, name: str):
    """``ctx.table_writer`` of a run, or a :class:`TableWriter` into a folder."""
    if hasattr(out, "table_writer"):
        return out.table_writer(name, schema=json_schema(name))
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    return TableWriter(folder / f"{name}.parquet", json_schema(name), table=name)


def _arrow_index(idx: np.ndarray):
    import pyarrow as pa

    return pa.array(idx.astype(np.int64))

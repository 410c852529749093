"""The transaction simulator on a cluster: tasks per time chunk, output in customer shards.

A chunk's events (legitimate activity and the typologies' pattern events of days ``[d0, d1)``)
depend only on the seed and the chunk number, so the workers draw them in parallel. Balances
then go through one ordered pass on the client (``balances.apply`` with the carried balance
of every account, then the alert observation): a transfer between customers of different
shards posts to both accounts in time order, exactly as in one process; nothing is dropped or
approximated. The workers then build each chunk's tables and write them split by the
customer shard of the row's account: ``transactions/part-<chunk>-<shard>.parquet`` and the same
for ``tx_labels``, the static and account tables whole. The rows are those of
:class:`~synthscape_finance.simulator.Simulation` for the same spec (tested), and the files are
the same bytes for any number of workers: shards and chunks come from the spec, never from the
cluster.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from synthscape import compute
from synthscape.errors import ParameterError
from synthscape_finance import balances, simulator
from synthscape_finance import events as E

__all__ = ["customer_shard", "simulate_to_parquet"]

STREAMED = ("transactions", "tx_labels")
_SIMS: dict[str, Any] = {}  # worker-side cache: spec JSON -> Simulation (its world)


def customer_shard(sim: Any, shards: int) -> np.ndarray:
    """Shard of each account: contiguous blocks of customers (by internal index)."""
    owner = sim.world.owner
    return (owner.astype(np.int64) * shards // max(sim.world.n_customers, 1)).astype(np.int32)


def _sim(spec: Any) -> Any:
    key = spec.model_dump_json()
    if key not in _SIMS:
        _SIMS.clear()
        _SIMS[key] = simulator.Simulation(spec)
    return _SIMS[key]


@dataclass(frozen=True)
class _Events:
    """Worker task: the time-sorted events of one chunk, and the chunk stream's state after
    drawing them (the observation continues that stream)."""

    spec: Any

    def __call__(self, ci: int) -> tuple[dict[str, np.ndarray], Any]:
        sim = _sim(self.spec)
        spec = self.spec
        d0 = ci * spec.chunk_days
        d1 = min(d0 + spec.chunk_days, spec.population.days)
        rng = simulator._rng(spec.seed, "chunk", ci)
        pt = sim.pattern_events["t"]
        lo, hi = np.searchsorted(pt, [d0 * simulator.DAY, d1 * simulator.DAY])
        ev = E.concat([sim.bg.chunk(d0, d1, rng, sim.day_of_month),
                       E.take(sim.pattern_events, slice(lo, hi))])
        ev = E.take(ev, balances.sort_perm(ev["t"]))
        return ev, rng.bit_generator.state


@dataclass(frozen=True)
class _Write:
    """Worker task: one chunk's tables, split by customer shard, written to ``folder``."""

    spec: Any
    folder: str
    shards: int

    def __call__(self, job: tuple[int, int, dict, dict, np.ndarray]) -> int:
        from synthscape.tables import TableWriter
        from synthscape_finance.schemas import json_schema

        ci, offset, ev, bal, alerted = job
        sim = _sim(self.spec)
        sim.rows = offset  # transaction ids continue from the rows before this chunk
        tx, lab = sim._tables(ev, bal, alerted)[:2]
        shard = customer_shard(sim, self.shards)[ev["acc"]]
        for name, table in zip(STREAMED, (tx, lab)):
            for s in range(self.shards):
                rows = np.flatnonzero(shard == s)
                path = Path(self.folder) / name / f"part-{ci:05d}-{s:03d}.parquet"
                with TableWriter(path, json_schema(name), table=name) as w:
                    w.write(table.take(rows))
        return int(len(ev["t"]))


def simulate_to_parquet(spec: Any, path: str | Path, *, shards: int = 4,
                        overwrite: bool = False) -> dict[str, Any]:
    """Run the finance ``spec`` on the active execution setting into the folder ``path``
    (atomically); returns a summary (rows, chunks, shards, cross-shard transfers)."""
    if isinstance(shards, bool) or not isinstance(shards, int) or shards < 1:
        raise ParameterError(f"shards must be an int >= 1, got {shards!r}")
    from synthscape.io import atomic_folder

    with atomic_folder(path, overwrite=overwrite) as tmp:
        summary = _run(spec, tmp, shards)
        (tmp / "summary.json").write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n")
    return summary


def _run(spec: Any, folder: Path, shards: int) -> dict[str, Any]:
    from synthscape.tables import write_table
    from synthscape_finance.schemas import json_schema

    for name in STREAMED:
        (folder / name).mkdir()
    sim = simulator.Simulation(spec)  # the client's copy holds the carried state
    shard = customer_shard(sim, shards)
    n_chunks = -(-spec.population.days // spec.chunk_days)
    write = _Write(spec, str(folder), shards)
    pending: list[Any] = []
    rows = cross = 0
    for ci, (ev, state) in enumerate(compute.run_tasks(_Events(spec), list(range(n_chunks)),
                                                       label="finance chunks")):
        bal = balances.apply(ev, sim.carry, sim.limit)
        sim.status_rows += np.bincount(ev["status"], minlength=len(E.STATUSES))
        rng = np.random.default_rng()
        rng.bit_generator.state = state
        alerted = sim._observe(ev, rng)
        has_cp = ev["cp"] >= 0
        cross += int(np.sum(has_cp & (shard[ev["acc"]] != shard[np.maximum(ev["cp"], 0)])))
        pending.append(compute.submit(write, (ci, rows, ev, bal, alerted)))
        rows += len(ev["t"])
        while len(pending) > 2 * compute.workers():
            pending.pop(0).result()
    for fut in pending:
        fut.result()
    tables = {**sim.static_tables(), **sim.account_tables()}
    for name, df in tables.items():
        write_table(df, folder / f"{name}.parquet", json_schema(name), table=name)
    return {"rows": rows, "chunks": n_chunks, "shards": shards,
            "cross_shard_transfers": cross, "seed": spec.seed}

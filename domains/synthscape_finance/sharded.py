"""The transaction simulator on a cluster: tasks per time chunk, output in customer shards.

A chunk's events (legitimate activity and the typologies' pattern events of days ``[d0, d1)``)
depend only on the seed and the chunk number, so the workers draw them in parallel and send
the client only the columns of the balance pass (account, counterparty, channel, amount,
status, drain: about 19 bytes a row), with the accounts the chunk's alerts mark. The client
runs the one ordered balance pass (``balances.settle`` with the carried balance of every
account): a transfer between customers of different shards posts to both accounts in time
order, exactly as in one process; nothing is dropped or approximated. It sends back the
statuses, the drain amounts and the balances before the chunk; a worker takes the chunk's
events (kept from its ledger task, or drawn again), posts them from those balances, builds the
chunk's tables and writes them split by the customer shard of the row's account:
``transactions/part-<chunk>-<shard>.parquet`` and the same for ``tx_labels``, the static and
account tables whole. The rows are those of
:class:`~synthscape_finance.simulator.Simulation` for the same spec (tested), and the files are
the same bytes for any number of workers: shards and chunks come from the spec, never from the
cluster.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from synthscape import compute
from synthscape.errors import ParameterError
from synthscape_finance import balances, simulator
from synthscape_finance import events as E

__all__ = ["customer_shard", "simulate_shards", "simulate_to_parquet"]

STREAMED = ("transactions", "tx_labels")
SHARDS = 4  # customer shards when none are asked for (a constant: never the worker count)
_SIMS: dict[str, Any] = {}  # worker-side cache: spec JSON -> Simulation (its world)
_DRAWN: dict[int, tuple[dict[str, np.ndarray], Any]] = {}  # chunk -> events, observation
_KEEP = 4  # chunks a worker keeps between its ledger task and the chunk's write task,
_KEEP_BYTES = 512 * 2**20  # and at most this many bytes of them


def customer_shard(sim: Any, shards: int) -> np.ndarray:
    """Shard of each account: contiguous blocks of customers (by internal index)."""
    owner = sim.world.owner
    return (owner.astype(np.int64) * shards // max(sim.world.n_customers, 1)).astype(np.int32)


def _sim(spec: Any) -> Any:
    key = spec.model_dump_json()
    if key not in _SIMS:
        _SIMS.clear()
        _DRAWN.clear()
        _SIMS[key] = simulator.Simulation(spec)
    return _SIMS[key]


def _drawn(sim: Any, ci: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Chunk ``ci``'s time-sorted events and alerts: kept from this worker's ledger task of
    the chunk, or drawn again (the same arrays: they depend on the spec and ``ci`` alone)."""
    if ci in _DRAWN:
        return _DRAWN.pop(ci)
    ev, rng = sim.chunk_events(ci)
    return ev, sim.alerts(ev, rng)


def _keep(ci: int, ev: dict[str, np.ndarray], alerted: np.ndarray) -> None:
    """Keep chunk ``ci`` for its write task, within ``_KEEP`` chunks and ``_KEEP_BYTES`` (the
    oldest go first; a chunk larger than the bound alone is not kept)."""
    size = alerted.nbytes + sum(v.nbytes for v in ev.values())
    if size > _KEEP_BYTES:
        return
    while _DRAWN and (len(_DRAWN) >= _KEEP or size + sum(
            a.nbytes + sum(v.nbytes for v in e.values()) for e, a in _DRAWN.values())
            > _KEEP_BYTES):
        _DRAWN.pop(next(iter(_DRAWN)))
    _DRAWN[ci] = (ev, alerted)


@dataclass(frozen=True)
class _Ledger:
    """Worker task: what the client's balance pass needs of one chunk, its time-sorted
    events' :data:`~synthscape_finance.balances.LEDGER` columns; also the accounts its alerts
    mark, its count of cross-shard transfers (neither depends on balances) and the worker that
    keeps the chunk for its write task (None in process)."""

    spec: Any
    shards: int

    def __call__(self, ci: int) -> tuple[dict[str, np.ndarray], np.ndarray, int, str | None]:
        sim = _sim(self.spec)
        ev, alerted = _drawn(sim, ci)
        _keep(ci, ev, alerted)
        flagged = simulator.flagged_accounts(ev, alerted)
        shard = customer_shard(sim, self.shards)
        has_cp = ev["cp"] >= 0
        cross = int(np.sum(has_cp & (shard[ev["acc"]] != shard[np.maximum(ev["cp"], 0)])))
        return ({k: ev[k].copy() for k in balances.LEDGER}, flagged, cross,
                compute.worker_address())


@dataclass(frozen=True)
class _Write:
    """Worker task: one chunk's tables, split by customer shard, written to ``folders``
    (table -> folder); returns the chunk's row count and, with ``sample_rows``, its rows of
    the analysis sample (:func:`synthscape_finance.stream.sample_part`). The chunk's events
    come from the worker's ledger task of the chunk or are drawn again (:func:`_drawn`); the
    client sends only what the balance pass decided: the statuses, the drain amounts and the
    balances before the chunk."""

    spec: Any
    folders: tuple[tuple[str, str], ...]
    shards: int
    sample_rows: int | None = None

    def __call__(self, job: tuple[int, int, np.ndarray, np.ndarray, np.ndarray]
                 ) -> tuple[int, Any]:
        from synthscape.tables import TableWriter
        from synthscape_finance.schemas import json_schema
        from synthscape_finance.stream import analysis_pick, sample_part

        ci, offset, carry, status, drained = job
        sim = _sim(self.spec)
        ev, alerted = _drawn(sim, ci)
        drains = np.flatnonzero(ev["drain"])
        ev["amount"][drains] = drained
        ev["drain"][drains] = False
        ev["status"] = status
        bal = balances.postings(ev, carry.copy())
        sim.rows = offset  # transaction ids continue from the rows before this chunk
        tx, lab = sim._tables(ev, bal, alerted)[:2]
        shard = customer_shard(sim, self.shards)[ev["acc"]]
        folders = dict(self.folders)
        for name, table in zip(STREAMED, (tx, lab)):
            for s in range(self.shards):
                rows = np.flatnonzero(shard == s)
                path = Path(folders[name]) / f"part-{ci:05d}-{s:03d}.parquet"
                with TableWriter(path, json_schema(name), table=name) as w:
                    w.write(table.take(rows))
        part = None if self.sample_rows is None else \
            sample_part(tx, lab, ev, analysis_pick(sim, self.sample_rows))
        return int(len(ev["t"])), part


def simulate_to_parquet(spec: Any, path: str | Path, *, shards: int = SHARDS,
                        overwrite: bool = False) -> dict[str, Any]:
    """Run the finance ``spec`` on the active execution setting into the folder ``path``
    (atomically); returns a summary (rows, chunks, shards, cross-shard transfers)."""
    from synthscape.io import atomic_folder
    from synthscape.tables import write_table
    from synthscape_finance.schemas import json_schema

    _check(shards)
    with atomic_folder(path, overwrite=overwrite) as tmp:
        folders = {name: tmp / name for name in STREAMED}
        for folder in folders.values():
            folder.mkdir()
        sim = simulator.Simulation(spec)  # the client's copy holds the carried state
        summary = simulate_shards(spec, sim, folders, shards=shards)
        tables = {**sim.static_tables(), **sim.account_tables()}
        for name, df in tables.items():
            write_table(df, tmp / f"{name}.parquet", json_schema(name), table=name)
        summary.pop("sample")
        (tmp / "summary.json").write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n")
    return summary


def _check(shards: Any) -> None:
    if isinstance(shards, bool) or not isinstance(shards, int) or shards < 1:
        raise ParameterError(f"shards must be an int >= 1, got {shards!r}")


def simulate_shards(spec: Any, sim: Any, folders: Mapping[str, Path], *, shards: int = SHARDS,
                    sample_rows: int | None = None) -> dict[str, Any]:
    """The streamed tables of ``spec`` written into ``folders`` (``transactions`` and
    ``tx_labels`` -> an existing folder each) as ``part-<chunk>-<shard>.parquet``. ``sim`` is
    the client's :class:`~synthscape_finance.simulator.Simulation` of ``spec``: it carries the
    balances, alerts and status counts, so its account tables afterwards are those of one
    process. Returns a summary (rows, chunks, shards, cross-shard transfers) and, under
    ``sample``, the analysis sample that :func:`~synthscape_finance.stream.stream` keeps
    (with ``sample_rows``; otherwise None)."""
    import pandas as pd

    _check(shards)
    n_chunks = sim.n_chunks
    write = _Write(spec, tuple((k, str(v)) for k, v in sorted(folders.items())), shards,
                   sample_rows)
    pending: list[Any] = []
    parts: list[Any] = []
    rows = cross = 0

    def collect(fut: Any) -> None:
        part = fut.result()[1]
        if part is not None:
            parts.append(part)

    for ci, (ev, flagged, chunk_cross, holder) in enumerate(compute.run_tasks(
            _Ledger(spec, shards), list(range(n_chunks)), label="finance chunks")):
        carry = sim.carry.copy()
        drains = np.flatnonzero(ev["drain"])
        balances.settle(ev, sim.carry, sim.limit)
        sim.status_rows += np.bincount(ev["status"], minlength=len(E.STATUSES))
        sim.acc_alerted[flagged] = True
        cross += chunk_cross
        pending.append(compute.submit(write, (ci, rows, carry, ev["status"],
                                              ev["amount"][drains]), near=holder))
        rows += len(ev["acc"])
        sim.rows = rows
        while len(pending) > 2 * compute.workers():
            collect(pending.pop(0))
    for fut in pending:
        collect(fut)
    sample = None if sample_rows is None else \
        (pd.concat(parts, ignore_index=True) if parts else pd.DataFrame())
    return {"rows": rows, "chunks": n_chunks, "shards": shards,
            "cross_shard_transfers": cross, "seed": spec.seed, "sample": sample}

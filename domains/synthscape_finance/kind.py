"""``kind: transactions``: simulate, stream the tables into the run's release folder, check
realism and leakage; or, with ``learned:``, fit the DP event-sequence generator to a transaction
log and release a synthetic log (see :mod:`synthscape_finance.learn_run`).

The simulation reads no real data, so everything it writes (tables, labels, realism and leakage
checks, figures) is in the release and the kind is registered with ``reads_real_data=False``.
A learned source that names real files reads real data: the spec says so
(``TransactionsSpec.reads_real_data()``), the run must set its customer-level ledger, and its
evaluation against the real log goes to the internal folder. Without files the learned path
treats this spec's simulated bank as if it were private, with the same split of release and
internal evaluation."""
from __future__ import annotations

from contextlib import ExitStack
from typing import Any

from synthscape import compute
from synthscape_finance.spec import NOISE, TYPOLOGIES, TransactionsSpec


def run_transactions(spec: TransactionsSpec, ctx) -> None:
    """Every table goes through ``ctx`` with its schema from schemas.py: the static and
    account tables whole, the transactions and their labels streamed chunk by chunk."""
    from synthscape_finance.schemas import json_schema
    from synthscape_finance.simulator import Simulation
    from synthscape_finance.stream import stream

    if spec.learned is not None:
        from synthscape_finance.learn_run import run_learned

        run_learned(spec, ctx)
        return
    sim = Simulation(spec)
    for name, df in sim.static_tables().items():
        ctx.write_table(name, df, schema=json_schema(name))
    with ctx.step(f"simulating {spec.population.customers} customers over "
                  f"{spec.population.days} days"):
        if compute.sharded(spec):
            rows, sample, shards = _sharded(spec, sim, ctx)
        else:
            (rows, sample), shards = stream(sim, ctx, sample_rows=spec.checks.sample_rows), {}
    for name, df in sim.account_tables().items():
        ctx.write_table(name, df, schema=json_schema(name))
    ctx.meta["finance"] = {"rows": rows, "patterns": int(sim.labels.next_pid),
                           "analysis_sample_rows": int(len(sample)), **shards}
    _summary(ctx, sample)
    _declines(ctx, sim, sample)
    _groups(ctx, sample, sim)
    if spec.checks.realism:
        from synthscape_finance.checks import realism_section

        realism_section(ctx, sample, sim)
    if spec.checks.leakage:
        from synthscape_finance.checks import leakage_section

        leakage_section(ctx, sample, spec.checks.max_leak_lift)


def _sharded(spec: TransactionsSpec, sim, ctx) -> tuple[int, Any, dict[str, int]]:
    """``data/transactions/`` and ``data/tx_labels/`` as ``part-<chunk>-<shard>.parquet``,
    written by the workers (:func:`synthscape_finance.sharded.simulate_shards`: the rows of
    one process, in customer shards; the same bytes for any number of workers)."""
    from synthscape_finance.schemas import json_schema
    from synthscape_finance.sharded import SHARDS, STREAMED, simulate_shards

    with ExitStack() as stack:
        folders = {name: stack.enter_context(ctx.table_folder(name, schema=json_schema(name)))
                   for name in STREAMED}
        out = simulate_shards(spec, sim, folders, shards=compute.partitions_of(spec) or SHARDS,
                              sample_rows=spec.checks.sample_rows)
    return out["rows"], out["sample"], {"shards": out["shards"],
                                        "cross_shard_transfers": out["cross_shard_transfers"]}


def _summary(ctx, sample) -> None:
    if sample.empty:
        return
    s = sample
    by = s[s["typology"] != "none"].groupby("typology", observed=True)
    table = by.agg(rows=("tx_id", "size"), patterns=("pattern_id", "nunique"),
                   fraud=("is_fraud", "sum"), laundering=("is_laundering", "sum"),
                   alerted=("alerted", "sum")).reset_index()
    table["typology"] = table["typology"].astype(str)
    spec = ctx.spec
    rates = {**{t: getattr(spec.typologies, t).rate for t in TYPOLOGIES},
             **{n: getattr(spec.noise, n).rate for n in NOISE}}
    missing = sorted(t for t, r in rates.items() if r > 0 and t not in set(table["typology"]))
    extra = [f"Typologies with a positive rate but no pattern in this run (too few accounts "
             f"drawn to form one; raise the rate or the population): {', '.join(missing)}."] \
        if missing else []
    ctx.report.add_section(
        "labels", title="Labels: ground truth and observed alerts",
        scores={"fraud_rows": int(s["is_fraud"].sum()),
                "laundering_rows": int(s["is_laundering"].sum()),
                "alerted_rows_in_sample": int(s["alerted"].sum())},
        tables={"per_typology": table},
        notes=["Ground truth (is_fraud, is_laundering, typology, pattern_id, stage) is in "
               "data/tx_labels.parquet and data/account_labels.parquet; the transactions and "
               "accounts tables carry only the observed 'alerted' label.",
               "Counts of illicit rows are complete (every illicit row is kept for the checks).",
               *extra])


def _declines(ctx, sim, sample) -> None:
    """Share of attempts declined (over the overdraft limit, or wrong card details), overall
    from the whole run and per typology from the analysis sample (complete for illicit
    rows)."""
    from synthscape_finance.events import STATUSES

    total = max(int(sim.status_rows.sum()), 1)
    scores = {"declined_share": float(sim.status_rows[1:].sum() / total),
              **{f"{s}_share": float(n / total) for s, n in zip(STATUSES[1:],
                                                                sim.status_rows[1:])}}
    ctx.meta["finance"]["rows_by_status"] = dict(zip(STATUSES, sim.status_rows.tolist()))
    tables = {}
    if not sample.empty:
        s = sample[sample["typology"].astype(str) != "none"]
        tab = (s.groupby([s["typology"].astype(str), s["status"].astype(str)]).size()
               .unstack(fill_value=0).reindex(columns=list(STATUSES), fill_value=0))
        tables["status_per_typology"] = tab.rename_axis("typology").reset_index()
    od = ctx.spec.overdraft
    ctx.report.add_section(
        "declines", title="Declined attempts", scores=scores, tables=tables,
        notes=[f"A debit that would take its account below minus the product's overdraft limit "
               f"(checking {od.checking:g}, savings {od.savings:g}, business {od.business:g} "
               f"dollars) is declined: it stays in data/transactions.parquet with status "
               f"declined_funds and moves no money. Card-testing probes the issuer rejects "
               f"carry declined_card. Declined attempts keep their ground-truth labels in "
               f"data/tx_labels.parquet."])


def _groups(ctx, sample, sim) -> None:
    """Share of customers touched by fraud or laundering per sensitive group (for fairness
    reviews of detectors trained on this data)."""
    import numpy as np
    import pandas as pd

    w = sim.world
    if sample.empty:
        return
    pos = np.searchsorted(w.account_id[np.argsort(w.account_id)], sample["account_id"])
    cust = w.owner[np.argsort(w.account_id)[pos]]
    fraud = sample["is_fraud"].to_numpy()
    laund = sample["is_laundering"].to_numpy()
    rows = []
    for g, label in ((0, "A"), (1, "B")):
        n = max(int((w.sensitive == g).sum()), 1)
        mine = w.sensitive[cust] == g
        rows.append({"sensitive_group": label, "customers": n,
                     "fraud_victim_share": len(np.unique(cust[mine & fraud])) / n,
                     "laundering_share": len(np.unique(cust[mine & laund])) / n})
    ctx.report.add_section("groups", title="Illicit activity per sensitive group",
                           tables={"per_group": pd.DataFrame(rows)},
                           notes=["Typologies draw accounts independently of the sensitive "
                                  "attribute, so the shares should agree within noise."])


def register() -> None:
    """Add ``kind: transactions`` (registering it again returns the same kind)."""
    from synthscape.scenarios import register_kind

    register_kind("transactions", TransactionsSpec, run_transactions,
                  "Simulate labelled card and account transactions with fraud and laundering "
                  "typologies", reads_real_data=False)

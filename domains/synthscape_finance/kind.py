"""``kind: transactions``: simulate, stream the tables into the run folder, check realism and
leakage, and (optionally) fit a DP generator with the customer as the unit of privacy."""
from __future__ import annotations

from synthscape_finance.spec import TransactionsSpec


def run_transactions(spec: TransactionsSpec, ctx) -> None:
    from synthscape_finance.simulator import Simulation
    from synthscape_finance.stream import stream

    sim = Simulation(spec)
    for name, df in sim.static_tables().items():
        ctx.write_table(name, df)
    ctx.log(f"simulating {spec.population.customers} customers over {spec.population.days} days")
    rows, sample = stream(sim, ctx.root / "data", sample_rows=spec.checks.sample_rows)
    ctx.tables["transactions"] = rows
    ctx.tables["tx_labels"] = rows
    tables = sim.account_tables()
    for name, df in tables.items():
        ctx.write_table(name, df)
    ctx.meta["finance"] = {"rows": rows, "patterns": int(sim.labels.next_pid),
                           "analysis_sample_rows": int(len(sample))}
    _summary(ctx, sample)
    if spec.checks.realism:
        from synthscape_finance.checks import realism_section

        realism_section(ctx, sample, sim)
    if spec.checks.leakage:
        from synthscape_finance.checks import leakage_section

        leakage_section(ctx, sample, spec.checks.max_leak_lift)
    if spec.learned is not None:
        from synthscape_finance.learned import learned_section

        learned_section(ctx, spec, sim, sample)


def _summary(ctx, sample) -> None:
    if sample.empty:
        return
    s = sample
    by = s[s["typology"] != "none"].groupby("typology", observed=True)
    table = by.agg(rows=("tx_id", "size"), patterns=("pattern_id", "nunique"),
                   fraud=("is_fraud", "sum"), laundering=("is_laundering", "sum"),
                   alerted=("alerted", "sum")).reset_index()
    table["typology"] = table["typology"].astype(str)
    ctx.report.add_section(
        "labels", title="Labels: ground truth and observed alerts",
        scores={"fraud_rows": int(s["is_fraud"].sum()),
                "laundering_rows": int(s["is_laundering"].sum()),
                "alerted_rows_in_sample": int(s["alerted"].sum())},
        tables={"per_typology": table},
        notes=["Ground truth (is_fraud, is_laundering, typology, pattern_id, stage) is in "
               "data/tx_labels.parquet and data/account_labels.parquet; the transactions and "
               "accounts tables carry only the observed 'alerted' label.",
               "Counts of illicit rows are complete (every illicit row is kept for the checks)."])


_registered = False


def register() -> None:
    """Add ``kind: transactions``; calling it again does nothing."""
    global _registered
    if _registered:
        return
    from synthscape.scenarios import register_kind

    _registered = True
    register_kind("transactions", TransactionsSpec, run_transactions,
                  "Simulate labelled card and account transactions with fraud and laundering "
                  "typologies")

"""``kind: transactions`` with ``learned:``: fit ``dp_sequence`` to a transaction log (real
files, or this spec's simulated bank treated as private) and release the synthetic log.

Release: the synthetic customers, accounts, transactions and tx_labels (the simulator's
layout, written with the same row schemas), the ledger (customer level) and a description of
the synthetic tables. Internal (not covered by the guarantee): the split sizes, the sequence
realism metrics (``sequence_report``) against the held-out customers, and a
fraud detector trained on the synthetic log against one trained on the real training customers,
both scored on the held-out customers.
"""
from __future__ import annotations

from typing import Any

import pandas as pd

from synthscape_finance import evaluate, sequence_log
from synthscape_finance.learned import fit_and_sample, resolve_schema

TABLES = ("customers", "accounts", "transactions", "tx_labels")


def real_log(spec) -> tuple[dict[str, pd.DataFrame], tuple[str, str]]:
    """The log to learn from and its public time range."""
    cfg = spec.learned
    if cfg.data is not None:
        from synthscape_finance.sources import read_log

        d = cfg.data
        path = lambda v: None if v is None else spec.resolve(v)  # noqa: E731
        log = read_log(path(d.transactions), path(d.customers), labels=path(d.labels),
                       accounts=path(d.accounts))
        log["tx_labels"] = log.pop("labels")
        return log, cfg.time_bounds
    from synthscape_finance.simulator import Simulation

    t = Simulation(spec).run_in_memory()
    start = pd.Timestamp(spec.population.start)
    end = start + pd.Timedelta(days=spec.population.days)
    return ({k: t[k] for k in TABLES}, (str(start.date()), str(end.date())))


def run_learned(spec, ctx) -> None:
    from synthscape.random import train_test_split
    from synthscape_finance.schemas import json_schema

    cfg = spec.learned
    with ctx.step("reading the log" if cfg.data else
                  f"simulating the private log ({spec.population.customers} customers)"):
        log, bounds = real_log(spec)
    schema = resolve_schema(None if cfg.schema_ is None else spec.resolve(cfg.schema_),
                            time_bounds=bounds, max_events=cfg.max_events,
                            regions=spec.population.regions)
    ents, evs = sequence_log.to_sequences(log["transactions"], log["tx_labels"],
                                          log["accounts"], log["customers"])
    ids = pd.DataFrame({"customer_id": ents["customer_id"]})
    train_ids, test_ids = train_test_split(ids, cfg.test_fraction, spec.seed,
                                           "finance.learned.customers")
    train = ents["customer_id"].isin(train_ids["customer_id"])
    with ctx.step(f"fitting dp_sequence (customer level, epsilon {cfg.epsilon:g})"):
        out = fit_and_sample(ents[train], evs[evs["customer_id"].isin(train_ids["customer_id"])],
                             schema, epsilon=cfg.epsilon, delta=cfg.delta,
                             customers_out=cfg.customers, fraud_share=cfg.fraud_share,
                             seed=spec.seed, regions=spec.population.regions,
                             generator=cfg.generator, expected_entities=_planned(spec))
    ctx.set_ledger(out.ledger)
    for name in TABLES:
        ctx.write_table(name, out.tables[name], schema=json_schema(name))
    _release(ctx, spec, out)
    _internal(ctx, spec, log, out, ents, evs, train, train_ids["customer_id"],
              test_ids["customer_id"])


def _planned(spec) -> int | None:
    """The training customers a simulated source is planned to have (public: the spec's
    population times the training share); a real log's count is left to the generator, which
    spends a sliver of the budget on a DP count."""
    if spec.learned.data is not None:
        return None
    return max(1, round(spec.population.customers * (1 - spec.learned.test_fraction)))


def _release(ctx, spec, out) -> None:
    """Facts about the synthetic log only (nothing computed from the real one)."""
    from synthscape.evaluation.release_report import describe_table

    cfg = spec.learned
    source = "real files (learned.data)" if cfg.data else \
        "the simulated bank of this spec, treated as private"
    tx, lab = out.tables["transactions"], out.tables["tx_labels"]
    cust = out.tables["accounts"].set_index("account_id")["customer_id"]
    victims = cust.reindex(tx.loc[lab["is_fraud"].to_numpy(), "account_id"]).nunique()
    ctx.report.add_section(
        "learned", title="Synthetic transaction log (dp_sequence, customer level)",
        scores={"synthetic_customers": len(out.tables["customers"]),
                "synthetic_transactions": len(tx),
                "fraud_customer_share": float(victims / max(len(out.tables["customers"]), 1)),
                "fraud_transaction_share": float(lab["is_fraud"].mean()) if len(lab) else 0.0,
                "declined_share": float((tx["status"].astype(str) != "approved").mean())
                if len(tx) else 0.0},
        notes=[out.ledger.describe(),
               f"Source: {source}. "
               f"Each customer with all their transactions (the first {cfg.max_events} in time "
               f"order) is one unit of privacy. The fraud share ({cfg.fraud_share}) is reached "
               f"by conditional sampling on the customer's label: post-processing, no real "
               f"customer is duplicated.",
               "Identifiers, merchants, devices and balances are rebuilt from the synthetic "
               "events (fresh ids, balances replayed from the approved amounts); transfers "
               "have no counterparty and stages are 'none' (neither is modelled)."])
    describe_table(ctx.report, "transactions", tx.drop(columns=["tx_id"]),
                   save_figure=ctx.save_figure,
                   title="Synthetic transactions", provenance=out.ledger.describe())


def _internal(ctx, spec, log, out, ents, evs, train, train_ids, test_ids) -> None:
    """Evaluation against the real log (internal: not covered by the guarantee)."""
    from synthscape_finance import sequence_model

    sizes = {"train_customers": int(train.sum()), "test_customers": int((~train).sum()),
             "real_transactions": int(len(evs))}
    ctx.internal_meta["learned"] = sizes
    syn_ents, syn_evs = sequence_log.to_sequences(
        out.tables["transactions"], out.tables["tx_labels"], out.tables["accounts"],
        out.tables["customers"])
    scores: dict[str, Any] = dict(sizes)
    if len(test_ids):
        rep = sequence_model.report(ents[~train], evs[evs["customer_id"].isin(test_ids)],
                                    syn_ents, syn_evs, out.schema)
        scores.update({f"realism_{k}": v for k, v in _flatten(rep).items()})
    tables = []
    if len(test_ids):
        test = evaluate.restrict(log, test_ids)
        real = evaluate.train_and_score(evaluate.restrict(log, train_ids), test, seed=spec.seed)
        syn = evaluate.train_and_score(out.tables, test, seed=spec.seed)
        tables = [{"trained_on": "real training customers", **_row(real)},
                  {"trained_on": "synthetic log", **_row(syn)}]
        if "pr_auc" in real and "pr_auc" in syn and real["pr_auc"] > 0:
            scores["detector_pr_auc_ratio"] = syn["pr_auc"] / real["pr_auc"]
    ctx.internal_report.add_section(
        "learned", title="Learned log against the real one", scores=scores,
        tables={"detector_on_held_out_customers": tables},
        notes=["Realism (realism_*: sequence_report) compares the synthetic log with the "
               "held-out customers, never trained on, their transactions cut as the generator "
               "cuts its training histories (inside the time range, the first max_events); the "
               "synthetic log has the requested fraud share, so the is_fraud shares differ by "
               "design. The detector (gradient boosting on per-transaction history features) is "
               "scored on the held-out customers' transactions."])


def _row(res: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in res.items() if k != "recall_per_typology"}
    out.update({f"recall_{k}": v for k, v in res.get("recall_per_typology", {}).items()})
    return out


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}_"))
        elif isinstance(v, (int, float, str, bool)) or v is None:
            out[f"{prefix}{k}"] = v
    return out

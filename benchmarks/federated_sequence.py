"""Federated dp_sequence benchmark: a simulated card-fraud bank split into sites by the
customers' age band (4 sites whose customers differ), epsilon 1 per customer at every site.
DP-FedAvg (synthscape.federated.fit_sequence, in process) against central dp_sequence on the
pooled log at the same epsilon, and against each site's own model; realism of every synthetic
log against the pooled log (the metrics of benchmarks/sequences.py) and entity-level membership
against a fresh bank.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/federated_sequence.py --customers 4000

Writes benchmarks/results/federated_sequence.json and docs/benchmarks/federated_sequence.md.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "federated_sequence.json"
DOC = ROOT / "docs" / "benchmarks" / "federated_sequence.md"
KEYS = ("max_event_column_tvd", "tvd_amount", "ks_events_per_customer", "ks_inter_event_time",
        "tvd_hour_of_day")


def _row(name: str, real: tuple, syn: tuple, hold: tuple, fit_s: float, seed: int,
         **extra) -> dict:
    from sequences import membership_auc, realism

    r = realism(real, syn)
    out = {"model": name, "fit_seconds": round(fit_s, 1), **{k: r[k] for k in KEYS},
           "membership_auc": membership_auc(real, hold, syn, seed=seed), **extra}
    print(json.dumps(out), flush=True)
    return out


def run(args) -> dict:
    from sequences import logs

    from synthscape.federated import InProcessTransport, Site, fit_sequence
    from synthscape.privacy import Budget
    from synthscape_finance import sequence_model

    _, _, (ents, evs), hold, schema = logs(args.customers, args.days, args.seed,
                                           args.max_events)
    parts = []
    for band in sorted(ents["age_band"].astype(str).unique()):
        e = ents[ents["age_band"].astype(str) == band]
        parts.append((band, e, evs[evs["customer_id"].isin(e["customer_id"])]))
    rows = []

    def central(e: pd.DataFrame, v: pd.DataFrame, name: str) -> None:
        gen = sequence_model.make(schema, epsilon=args.epsilon, delta=1e-6, seed=args.seed,
                                  expected_entities=None, params={"device": "cpu"})
        t0 = time.perf_counter()
        sequence_model.fit(gen, e, v, schema)
        fit_s = time.perf_counter() - t0
        rows.append(_row(name, (ents, evs), gen.sample(len(ents), seed=args.seed), hold,
                         fit_s, args.seed, customers=len(e), epsilon=gen.ledger_.epsilon))

    central(ents, evs, "central (pooled log)")
    sites = [Site(f"age {band}", v, entities=e, budget=Budget(epsilon=args.epsilon, delta=1e-6))
             for band, e, v in parts]
    t0 = time.perf_counter()
    fit = fit_sequence(InProcessTransport(sites), schema, rounds=args.rounds,
                       length_by=sequence_model.LENGTH_BY, seed=args.seed)
    fit_s = time.perf_counter() - t0
    rows.append(_row(f"federated, {len(sites)} sites x {args.rounds} rounds", (ents, evs),
                     fit.generator.sample(len(ents), seed=args.seed), hold, fit_s, args.seed,
                     customers=len(ents),
                     epsilon=max(led.epsilon for led in fit.ledgers.values()),
                     local_epochs=fit.generator.training_["local_epochs"]))
    for band, e, v in parts:
        central(e, v, f"site alone: age {band}")
    return {"command": "python benchmarks/federated_sequence.py " + " ".join(sys.argv[1:]),
            "config": vars(args), "load_average": list(os.getloadavg()),
            "customers": len(ents), "events": len(evs), "rows": rows}


def markdown(res: dict) -> str:
    c = res["config"]
    lines = [
        "# Federated dp_sequence", "",
        f"`{res['command']}`; {res['customers']:,} customers, {res['events']:,} transactions "
        f"over {c['days']} days (simulated card-fraud bank, seed {1000 + c['seed']}), split "
        f"into sites by age band; epsilon {c['epsilon']} per customer at every site, L = "
        f"{c['max_events']}. Realism of each synthetic log against the pooled log (as in "
        f"[sequences.md](sequences.md)); membership AUC against a fresh bank. A site alone "
        f"models only its own customers. Load average at the end: "
        f"{', '.join(f'{x:.1f}' for x in res['load_average'])} (wall times are under that "
        f"load).", "",
        "| model | customers | fit s | max event-column TVD | amount TVD | count KS | "
        "inter-event KS | hour TVD | membership AUC |", "|---" * 9 + "|"]
    for r in res["rows"]:
        lines.append(f"| {r['model']} | {r['customers']:,} | {r['fit_seconds']:.0f} | "
                     + " | ".join(f"{r[k]:.3f}" for k in KEYS)
                     + f" | {r['membership_auc']:.3f} |")
    sites = [r for r in res["rows"] if r["model"].startswith("site alone")]
    if sites:
        med = {k: float(np.median([r[k] for r in sites])) for k in KEYS}
        lines += ["", "Median site alone: " + ", ".join(f"{k} {v:.3f}" for k, v in med.items())
                  + "."]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--customers", type=int, default=4000)
    ap.add_argument("--days", type=int, default=28)
    ap.add_argument("--max-events", type=int, default=128)
    ap.add_argument("--epsilon", type=float, default=1.0)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--render", action="store_true", help="markdown from the stored results")
    args = ap.parse_args()
    sys.path[:0] = [str(ROOT / "benchmarks"), str(ROOT / "domains")]
    if not args.render:
        RESULTS.write_text(json.dumps(run(args), indent=1, default=float) + "\n")
    DOC.write_text(markdown(json.loads(RESULTS.read_text())))
    print(f"wrote {RESULTS} and {DOC}")


if __name__ == "__main__":
    main()

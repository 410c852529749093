"""Speed of ``dp_sequence``: fit seconds and sampled events per second on a synthetic card log.

    nice -n 10 .venv/bin/python benchmarks/dp_sequence_speed.py --entities 100000 --threads 2

The log is drawn here from a fixed seed (not real data): customers with a segment and a rare
flag, 0 to ~40 events each over three months (about 20 on average: 100k customers give ~2M
events), a channel, a merchant group and code (hierarchical), an amount. Fits at epsilon 1 with
the data-independent defaults (``default_training``) and ``expected_entities`` declared; reports
fit seconds (whole fit and the DP-SGD loop; wall and process CPU seconds: on a shared machine
the CPU seconds of a one-thread run are the better estimate of an unshared core), the defaults
chosen, and the events per second of ``sample`` over ``--sample`` entities; ``--report`` adds
the sequence metrics of the sample against the log (use ``--sample`` = ``--entities``).
Writes benchmarks/results/dp_sequence_speed_<entities>.json.
"""
from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def card_log(n: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, object]:
    from synthscape.schema import Column, SequenceSchema, TableSchema

    rng = np.random.default_rng(seed)
    flag = rng.random(n) < 0.02
    ents = pd.DataFrame({"customer_id": np.arange(n).astype(str),
                         "segment": rng.choice(["retail", "premium", "business"], n,
                                               p=[0.7, 0.2, 0.1]),
                         "is_fraud": np.where(flag, "yes", "no")})
    counts = np.minimum(rng.poisson(rng.gamma(2.0, 10.0, n)), 200)
    owner = np.repeat(np.arange(n), counts)
    m = len(owner)
    start = pd.Timestamp("2024-01-01").timestamp()
    day = rng.integers(0, 90, m)
    hour = rng.choice(24, m, p=np.r_[[1] * 7, [4] * 12, [3] * 5] / 70)
    t = start + day * 86400 + hour * 3600 + rng.integers(0, 3600, m)
    group = rng.choice(["grocery", "travel", "online", "fuel"], m)
    code = np.char.add(group.astype(str), rng.integers(0, 4, m).astype(str))
    evs = pd.DataFrame({"customer_id": ents.customer_id.to_numpy()[owner],
                        "ts": pd.to_datetime(t, unit="s"),
                        "channel": rng.choice(["pos", "atm", "web", "contactless"], m),
                        "mcc_group": group, "mcc": code,
                        "amount": np.round(rng.lognormal(3.5, 1.2, m), 2)})
    schema = SequenceSchema(
        entities=TableSchema(columns=(
            Column(name="segment", kind="categorical",
                   categories=("retail", "premium", "business")),
            Column(name="is_fraud", kind="categorical", categories=("no", "yes")))),
        events=TableSchema(columns=(
            Column(name="channel", kind="categorical",
                   categories=("pos", "atm", "web", "contactless")),
            Column(name="mcc_group", kind="categorical",
                   categories=("grocery", "travel", "online", "fuel")),
            Column(name="mcc", kind="categorical",
                   categories=tuple(f"{g}{i}" for g in ("grocery", "travel", "online", "fuel")
                                    for i in range(4))),
            Column(name="amount", kind="numerical", lower=0, upper=100_000))),
        entity_key="customer_id", time_key="ts", max_events=64,
        time_bounds=("2024-01-01", "2024-04-01"))
    return evs, ents, schema


def main() -> None:
    import torch

    from synthscape.device import set_torch_threads
    from synthscape.generators import make

    ap = argparse.ArgumentParser()
    ap.add_argument("--entities", type=int, default=100_000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--sample", type=int, default=20_000)
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--report", action="store_true",
                    help="also compare the sample with the log (sequence_report)")
    args = ap.parse_args()
    set_torch_threads(args.threads)
    evs, ents, schema = card_log(args.entities)
    gen = make("dp_sequence", epsilon=1.0, delta=1e-5, schema=schema, seed=0,
               expected_entities=args.entities, epochs=args.epochs, device=args.device)
    t0, c0 = time.perf_counter(), time.process_time()
    gen.fit(evs, ents, entity_key="customer_id", time_key="ts")
    fit_s, fit_cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"fit: {fit_s:.1f} s wall, {fit_cpu:.1f} s CPU", flush=True)
    t0, c0 = time.perf_counter(), time.process_time()
    s_ents, s_evs = gen.sample(args.sample, seed=1)
    sample_s, sample_cpu = time.perf_counter() - t0, time.process_time() - c0
    out = {"entities": args.entities, "events": len(evs), "threads": torch.get_num_threads(),
           "device": gen.training_["device"], "fit_seconds": round(fit_s, 1),
           "fit_cpu_seconds": round(fit_cpu, 1), "loop_seconds": round(gen.loop_seconds_, 1),
           "defaults": {k: gen.training_[k] for k in ("epochs", "batch_size", "lr")},
           "steps": gen.training_["steps_done"], "epsilon": gen.ledger_.epsilon,
           "sampled_entities": args.sample, "sampled_events": len(s_evs),
           "events_per_second": round(len(s_evs) / sample_s),
           "events_per_cpu_second": round(len(s_evs) / sample_cpu),
           "machine": platform.processor() or platform.machine()}
    if args.report:
        from synthscape.evaluation.sequences import sequence_report

        out["report"] = sequence_report(ents, evs, s_ents, s_evs, schema)
    print(json.dumps(out, indent=1))
    res = ROOT / "benchmarks" / "results"
    res.mkdir(exist_ok=True)
    (res / f"dp_sequence_speed_{args.entities}.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()

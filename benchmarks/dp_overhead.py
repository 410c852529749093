"""DP overhead of the neural generators: whole-fit seconds with DP / without DP, same model.

    .venv/bin/python benchmarks/dp_overhead.py [--epochs 20] [--batch-size 1000] [--repeats 3]

ISLR/Default with its declared schema, epsilon 1, one torch thread, after a warm-up fit (one-time
imports count for neither side). Each clipping mode that suits these networks (book-keeping, the
default, and opacus' ghost clipping) is timed in the same run; the best of ``--repeats`` fits is
kept for every configuration. Writes benchmarks/results/dp_overhead.json.
"""
import argparse
import json
import os
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    import torch

    from synthscape import TableSchema
    from synthscape.datasets import load_dataset
    from synthscape.generators import make

    torch.set_num_threads(1)
    df = load_dataset("ISLR/Default").drop(columns="rownames")
    schema = TableSchema.from_yaml(ROOT / "scenarios/tabular/default_credit.schema.yaml")
    rows = []
    for name in ("dp_ctgan", "dp_tvae"):
        make(name, epsilon=1.0, epochs=1, batch_size=args.batch_size, seed=0).fit(df, schema)

        def best(name=name, **kw):
            times = []
            for _ in range(args.repeats):
                g = make(name, epochs=args.epochs, batch_size=args.batch_size, seed=0, **kw)
                t0 = time.perf_counter()
                g.fit(df, schema)
                times.append(time.perf_counter() - t0)
            return min(times)

        base = best(epsilon=None)
        for mode in ("bookkeeping", "ghost"):
            dp = best(epsilon=1.0, grad_sample_mode=mode)
            rows.append({"generator": name, "mode": mode, "fit_s_dp": dp, "fit_s_no_dp": base,
                         "overhead": dp / base})
            print(f"{name} [{mode}]: fit with DP {dp:.2f} s, without {base:.2f} s, "
                  f"overhead {dp / base:.2f}x", flush=True)
    out = {"epochs": args.epochs, "batch_size": args.batch_size, "repeats": args.repeats,
           "threads": 1, "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
           "rows": rows}
    (ROOT / "benchmarks" / "results" / "dp_overhead.json").write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

"""DP overhead of the neural generators: whole-fit seconds with DP / without DP, same model.

    .venv/bin/python benchmarks/dp_overhead.py [--epochs 20] [--batch-size 1000]

ISLR/Default with its declared schema, epsilon 1, one torch thread. Prints one line per model.
"""
import argparse
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=1000)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    import torch

    from synthscape import TableSchema
    from synthscape.datasets import load_dataset
    from synthscape.generators import make

    torch.set_num_threads(1)
    import opacus.accountants.analysis.rdp  # noqa: F401  (imports are not fit time)

    df = load_dataset("ISLR/Default").drop(columns="rownames")
    schema = TableSchema.from_yaml(ROOT / "scenarios/tabular/default_credit.schema.yaml")
    for name in ("dp_ctgan", "dp_tvae"):
        t = {}
        make(name, epsilon=1.0, epochs=1, batch_size=args.batch_size, seed=0).fit(df, schema)
        for eps in (1.0, None):  # after a warm-up fit, so one-time imports count for neither
            g = make(name, epsilon=eps, epochs=args.epochs, batch_size=args.batch_size, seed=0)
            t0 = time.perf_counter()
            g.fit(df, schema)
            t[eps] = time.perf_counter() - t0
        print(f"{name}: fit with DP {t[1.0]:.2f} s, without {t[None]:.2f} s, "
              f"overhead {t[1.0] / t[None]:.2f}x")


if __name__ == "__main__":
    main()

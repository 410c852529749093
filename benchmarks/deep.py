"""Benchmark of the DP-SGD generators (dp_ctgan, dp_tvae) against smartnoise-synth DPCTGAN and
PATECTGAN.

    .venv/bin/python benchmarks/deep.py              # both data sets, epsilon 1, one seed
    .venv/bin/python benchmarks/deep.py --quick      # ISLR/Default only

Same data, splits and metrics as benchmarks/tabular.py (ISLR/Default and survival/flchain with the
declared schemas in benchmarks/schemas/; fit seconds, sampled rows per second, two-way TVD against
the training split, TSTR/TRTR ROC-AUC with HistGradientBoosting). Every model trains for the same
number of epochs at the same batch size. smartnoise's DPCTGAN stops once its fixed noise (sigma 5)
has used the budget, so it gets the sigma that makes the same epochs cost epsilon in its own
accountant (opacus' RDP calibration; it takes two accounted optimizer steps per iteration, one on
fake and one on real rows); PATECTGAN is run as it is (its PATE accounting sets its own length).

DP overhead: fit seconds of each of our models at epsilon 1 divided by the same model, epochs and
batch size trained without DP (``epsilon=None``; the ledger then says it is not private). Fit
seconds include the privacy accounting; the training-loop ratio is reported beside it.

Clipping modes: the same models with book-keeping clipping (ours, the default) and opacus'
``ghost``, ``hooks`` and ``functorch`` per-sample clipping at a fixed noise multiplier
(training-loop seconds).

The peers pin opacus 0.14, so they run in .venv-bench-deep/ (python -m venv .venv-bench-deep;
.venv-bench-deep/bin/pip install torch==2.13.0; then smartnoise-synth==1.0.8 pyarrow) through this
file in worker mode. Writes benchmarks/results/deep.json and docs/benchmarks/deep.md.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import tabular as tab  # noqa: E402  (same data sets, splits and metrics)

PEER_PY = ROOT / ".venv-bench-deep" / "bin" / "python"
OURS = ("dp_ctgan", "dp_tvae")
PEERS = ("smartnoise-dpctgan", "smartnoise-patectgan")
DELTA = 1e-6


# ---- peer worker (runs inside .venv-bench-deep; imports no synthscape) ----------------------
def peer_worker(job_path: str) -> None:
    import numpy as np
    import pandas as pd
    import torch
    from snsynth import Synthesizer
    from snsynth.transform import (
        ChainTransformer,
        LabelTransformer,
        MinMaxTransformer,
        OneHotEncoder,
        TableTransformer,
    )

    job = json.loads(Path(job_path).read_text())
    np.random.seed(job["seed"])
    torch.manual_seed(job["seed"])
    torch.set_num_threads(job["threads"])
    train = pd.read_parquet(job["train"])
    parts = []
    for c in job["columns"]:
        if c["kind"] == "numerical":
            parts.append(MinMaxTransformer(lower=c["lower"], upper=c["upper"], negative=True,
                                           nullable=c["nullable"]))
        else:
            parts.append(ChainTransformer([LabelTransformer(nullable=c["nullable"]),
                                           OneHotEncoder()]))
    kw = {"epochs": job["epochs"], "batch_size": job["batch_size"], "verbose": False,
          "cuda": False}
    if job["synth"] == "dpctgan":
        kw.update(sigma=job["sigma"], delta=DELTA)
    synth = Synthesizer.create(job["synth"], epsilon=job["epsilon"], **kw)
    t0 = time.perf_counter()
    synth.fit(train, transformer=TableTransformer(parts), preprocessor_eps=0.0)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    syn = synth.sample(job["rows"])
    sample_s = time.perf_counter() - t0
    pd.DataFrame(syn, columns=train.columns).to_parquet(job["out"])
    eps_list = getattr(synth, "epsilon_list", None) or []
    print(json.dumps({"fit_s": fit_s, "rows_per_s": job["rows"] / sample_s,
                      "peer_epsilon": float(eps_list[-1]) if eps_list else None,
                      "peer_epochs_run": len(eps_list) or None}))


def run_peer(name, train, schema, eps, seed, args, tmp: Path):
    import pandas as pd

    if not PEER_PY.exists():
        return {"error": f"{PEER_PY} is missing; create it (see the module docstring)"}, None
    cols = [{"kind": c.kind, "nullable": c.nullable,
             "lower": float(c.lower) if c.kind == "numerical" else None,
             "upper": float(c.upper) if c.kind == "numerical" else None} for c in schema.columns]
    job = {"synth": name.split("-", 1)[1], "epsilon": eps, "seed": seed, "rows": len(train),
           "epochs": args.epochs, "batch_size": args.batch_size, "threads": args.threads,
           "sigma": peer_sigma(len(train), args, eps), "columns": cols,
           "train": str(tmp / "train.parquet"), "out": str(tmp / "peer.parquet")}
    train.to_parquet(job["train"])
    (tmp / "job.json").write_text(json.dumps(job))
    proc = subprocess.run([str(PEER_PY), __file__, "--peer-worker", str(tmp / "job.json")],
                          capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1][:300]}, None
    metrics = json.loads(proc.stdout.strip().splitlines()[-1])
    metrics["peer_sigma"] = job["sigma"]
    syn = pd.read_parquet(job["out"])
    for c in schema.columns:  # the peer's label transformer may return other dtypes
        if c.kind == "categorical" and all(isinstance(v, int) for v in c.categories):
            syn[c.name] = pd.to_numeric(syn[c.name], errors="coerce").astype("Int64").astype(object)
            syn[c.name] = syn[c.name].map(lambda v: None if pd.isna(v) else int(v))
    return metrics, syn


def peer_sigma(n: int, args, eps: float) -> float:
    """Noise that makes the peer's planned steps cost ``eps`` (its sampler: batch / n; two
    accounted discriminator steps per iteration)."""
    from opacus.accountants.utils import get_noise_multiplier

    steps = 2 * args.epochs * max(n // args.batch_size, 1)
    return float(get_noise_multiplier(target_epsilon=eps, target_delta=DELTA,
                                      sample_rate=args.batch_size / n, steps=steps,
                                      accountant="rdp"))


# ---- ours -------------------------------------------------------------------------------------
def run_ours(name, train, schema, eps, seed, args, device="cpu", **extra):
    from synthscape.generators import make

    gen = make(name, epsilon=eps, delta=DELTA, seed=seed, epochs=args.epochs,
               batch_size=args.batch_size, device=device, **extra)
    t0 = time.perf_counter()
    gen.fit(train, schema)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    syn = gen.sample(len(train), seed=seed)
    m = {"fit_s": fit_s, "loop_s": gen.loop_seconds_,
         "rows_per_s": len(train) / (time.perf_counter() - t0),
         "noise_multiplier": gen.training_["noise_multiplier"],
         "steps": gen.training_["steps_done"]}
    if gen.ledger_.is_private:
        m["ledger_epsilon"] = gen.ledger_.epsilon
    return m, syn


def split(ds: str, seed: int):
    import numpy as np

    from synthscape.datasets import load_dataset
    from synthscape.schema import TableSchema

    spec = tab.DATASETS[ds]
    schema = TableSchema.from_yaml(ROOT / "benchmarks" / "schemas" / spec["schema"])
    data = schema.validate(load_dataset(ds).drop(columns=spec["drop"]))
    idx = np.random.default_rng(seed).permutation(len(data))
    k = int(0.2 * len(data))
    return (spec, schema, data.iloc[idx[k:]].reset_index(drop=True),
            data.iloc[idx[:k]].reset_index(drop=True))


def quality(args) -> list[dict]:
    out = []
    for ds in args.datasets:
        for seed in range(args.seeds):
            spec, schema, train, test = split(ds, seed)
            trtr = tab.auc(train, test, schema, spec)
            jobs = [(g, args.eps) for g in args.generators
                    if g not in PEERS or seed < args.peer_seeds]
            jobs += [(g, None) for g in args.generators if g in OURS]  # for the DP overhead
            for gen, eps in jobs:
                with tempfile.TemporaryDirectory() as tmp:
                    if gen in PEERS:
                        m, syn = run_peer(gen, train, schema, eps, seed, args, Path(tmp))
                    else:
                        m, syn = run_ours(gen, train, schema, eps, seed, args)
                if syn is not None:
                    m.update(tab.score(train, test, syn, schema, spec))
                    m["tstr_over_trtr"] = m["tstr_auc"] / trtr
                row = {"dataset": ds, "generator": gen, "epsilon": eps, "seed": seed,
                       "epochs": args.epochs, "batch_size": args.batch_size, "trtr_auc": trtr,
                       **m}
                out.append(row)
                print(json.dumps(row), flush=True)
    return out


def clipping_modes(args) -> list[dict]:
    """Training-loop seconds per clipping mode at a fixed noise multiplier (ISLR/Default)."""
    _, schema, train, _ = split("ISLR/Default", 0)
    out = []
    for name in OURS:
        for mode in ("bookkeeping", "ghost", "hooks", "functorch", None):
            extra = {"noise_multiplier": 1.0, "accountant": "prv"} if mode else {}
            m, _ = run_ours(name, train, schema, 50.0 if mode else None, 0,
                            argparse.Namespace(epochs=2, batch_size=args.batch_size),
                            **({"grad_sample_mode": mode} if mode else {}), **extra)
            out.append({"generator": name, "mode": mode or "no DP", "loop_s": m["loop_s"],
                        "steps": m["steps"]})
            print(json.dumps(out[-1]), flush=True)
    return out


# ---- report -----------------------------------------------------------------------------------
def overheads(rows: list[dict]) -> list[dict]:
    out = []
    for r in rows:
        if r["generator"] in OURS and r["epsilon"] is not None and "fit_s" in r:
            base = next((b for b in rows if b["epsilon"] is None and "fit_s" in b and
                         (b["dataset"], b["generator"], b["seed"]) ==
                         (r["dataset"], r["generator"], r["seed"])), None)
            if base:
                out.append({"dataset": r["dataset"], "generator": r["generator"],
                            "seed": r["seed"], "fit_ratio": r["fit_s"] / base["fit_s"],
                            "loop_ratio": r["loop_s"] / base["loop_s"]})
    return out


def markdown(rows, over, modes, args, wall: float) -> str:
    def f(r, k, fmt="{:.3f}"):
        return fmt.format(r[k]) if r.get(k) is not None else "n/a"

    cmd = "python benchmarks/deep.py " + " ".join(sys.argv[1:])
    lines = [
        "# Deep generators: dp_ctgan, dp_tvae and smartnoise-synth",
        "",
        f"Command: `.venv/bin/{cmd.strip()}` (peers from `.venv-bench-deep/`).  ",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores shared with other jobs "
        f"(timings are noisy: compare within this run only), Python "
        f"{platform.python_version()}, CPU only; wall time {wall / 60:.1f} min.  ",
        f"Every model: {args.epochs} epochs, batch size {args.batch_size}, delta = {DELTA:g}, "
        f"declared schemas (nothing spent on bounds or categories). TVD: mean over column pairs, "
        f"20 bins, against the training split. TSTR: HistGradientBoosting trained on synthetic "
        f"rows, ROC-AUC on the real test split; TRTR: trained on the real training split.",
        "",
        "| data | generator | epsilon | fit s | rows/s | 2-way TVD | TSTR AUC | TRTR AUC | "
        "TSTR/TRTR | notes |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        eps = "none (not private)" if r["epsilon"] is None else f"{r['epsilon']:g}"
        if "error" in r:
            lines.append(f"| {r['dataset']} | {r['generator']} | {eps} | failed: {r['error']} "
                         f"| | | | | | |")
            continue
        note = []
        if r.get("ledger_epsilon") is not None:
            note.append(f"ledger eps {r['ledger_epsilon']:.3f}, sigma {r['noise_multiplier']:.2f}")
        if r.get("peer_sigma") is not None and r["generator"].endswith("dpctgan"):
            note.append(f"sigma {r['peer_sigma']:.2f}, peer eps {f(r, 'peer_epsilon')}, "
                        f"epochs run {r.get('peer_epochs_run')}")
        lines.append(f"| {r['dataset']} | {r['generator']} | {eps} | {r['fit_s']:.1f} | "
                     f"{r['rows_per_s']:,.0f} | {f(r, 'two_way_tvd')} | {f(r, 'tstr_auc')} | "
                     f"{r['trtr_auc']:.3f} | {f(r, 'tstr_over_trtr')} | {'; '.join(note)} |")
    lines += ["", "Against the targets (computed from the rows above; TSTR/TRTR as mean +- sd "
              "over the seeds):", ""]
    for ds in dict.fromkeys(r["dataset"] for r in rows):
        def mine(g, seed=None, ds=ds):
            return [r for r in rows if r["dataset"] == ds and r["generator"] == g and "fit_s" in r
                    and r["epsilon"] is not None and seed in (None, r["seed"])]

        peer = next(iter(mine("smartnoise-dpctgan", 0)), None)
        firsts = [r for g in OURS for r in mine(g, 0)]
        if firsts and peer:
            lines.append(f"- {ds}: smartnoise DPCTGAN fit / slower of ours (seed 0) = "
                         f"{peer['fit_s'] / max(o['fit_s'] for o in firsts):.1f}x "
                         f"(target >= 3x)")
        stats = {}
        for g in OURS:
            vals = [r.get("tstr_over_trtr", 0.0) for r in mine(g)]
            if vals:
                stats[g] = (statistics.mean(vals), statistics.pstdev(vals), len(vals))
        if stats:
            best = max(stats, key=lambda g: stats[g][0])
            m, sd, k = stats[best]
            others = ", ".join(f"{g} {v[0]:.3f} +- {v[1]:.3f}" for g, v in stats.items())
            lines.append(f"- {ds}: TSTR/TRTR at epsilon {args.eps:g} over {k} seed(s): {others}; "
                         f"best {best} {m:.3f} (target >= 0.90)")
    lines += ["", "DP overhead (same model, epochs and batch size; fit includes accounting):", "",
              "| data | generator | fit s DP / no DP | training loop DP / no DP |",
              "|---|---|---|---|"]
    lines += [f"| {o['dataset']} | {o['generator']} | {o['fit_ratio']:.2f} | "
              f"{o['loop_ratio']:.2f} |" for o in over]
    for g in OURS:
        fits = [o["fit_ratio"] for o in over if o["generator"] == g]
        if fits:
            lines.append(f"\n{g}: DP overhead (fit) median {statistics.median(fits):.2f}x, "
                         f"max {max(fits):.2f}x over {len(fits)} fits (target <= 2x).")
    if modes:
        lines += ["", "Per-sample clipping modes (ISLR/Default, 2 epochs, training loop only; "
                  "opacus' expanded weights cannot take the empty draws of Poisson sampling: "
                  "`Batch size must be positive, got 0`):", "",
                  "| generator | mode | loop s | steps |", "|---|---|---|---|"]
        lines += [f"| {m['generator']} | {m['mode']} | {m['loop_s']:.2f} | {m['steps']} |"
                  for m in modes]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="ISLR/Default only")
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--peer-seeds", type=int, default=1,
                    help="seeds for the peers (the first ones of --seeds; they are slow)")
    ap.add_argument("--eps", type=float, default=1.0)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=500)
    ap.add_argument("--threads", type=int, default=1, help="torch threads, ours and peers")
    ap.add_argument("--generators", nargs="+", default=[*OURS, *PEERS])
    ap.add_argument("--datasets", nargs="+", default=list(tab.DATASETS))
    ap.add_argument("--no-modes", action="store_true", help="skip the clipping-mode timings")
    ap.add_argument("--report-only", action="store_true",
                    help="re-render docs/benchmarks/deep.md from benchmarks/results/deep.json")
    ap.add_argument("--peer-worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.peer_worker:
        return peer_worker(args.peer_worker)
    if args.report_only:
        saved = json.loads((ROOT / "benchmarks" / "results" / "deep.json").read_text())
        sys.argv = saved["command"].split()
        args = ap.parse_args(sys.argv[1:])
        (ROOT / "docs" / "benchmarks" / "deep.md").write_text(markdown(
            saved["runs"], saved["dp_overhead"], saved["clipping_modes"], args, saved["wall_s"]))
        return None
    import torch

    torch.set_num_threads(args.threads)
    if args.quick:
        args.datasets = ["ISLR/Default"]
    t0 = time.perf_counter()
    rows = quality(args)
    modes = [] if args.no_modes else clipping_modes(args)
    over = overheads(rows)
    wall = time.perf_counter() - t0
    out = {"command": " ".join(sys.argv), "machine": platform.platform(), "wall_s": wall,
           "runs": rows, "dp_overhead": over, "clipping_modes": modes}
    (ROOT / "benchmarks" / "results").mkdir(parents=True, exist_ok=True)
    (ROOT / "benchmarks" / "results" / "deep.json").write_text(json.dumps(out, indent=1))
    (ROOT / "docs" / "benchmarks").mkdir(parents=True, exist_ok=True)
    (ROOT / "docs" / "benchmarks" / "deep.md").write_text(markdown(rows, over, modes, args, wall))


if __name__ == "__main__":
    main()

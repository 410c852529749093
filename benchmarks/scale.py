"""Scale-out benchmark (synthscape.compute): out-of-core DP fits from Parquet, sharded sampling
and sharded simulation, on 1 and 2 Dask workers against the single-process path.

    nice -n 10 .venv/bin/python benchmarks/scale.py   # the sizes in docs/benchmarks/scale.md
    nice -n 10 .venv/bin/python benchmarks/scale.py --rows 2000000 --quick

Every figure runs in its own Python process, so peak memory is that process's (and each Dask
worker's) maximum resident set size. The table is written by the benchmark from a simulated
source (10 columns: numbers, integers, categories, booleans, with dependencies) as Parquet
files of 500,000 rows. Fits run under a fixed owner's noise key (as a data owner's re-runnable
fit would) and infer the schema under DP, so both paths read the table for the key's digest
and the inference counts, then for the marginals. aim runs with rounds=30, iters=50 (the
model-fitting part does not grow with the rows). Writes benchmarks/results/scale.json and
docs/benchmarks/scale.md.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "scale.json"
DOC = ROOT / "docs" / "benchmarks" / "scale.md"
KEY = "5ca1ab1e" * 8  # a fixed owner's key: re-runnable noise, as in the test suite
FILE_ROWS = 500_000


# ---- the simulated source -------------------------------------------------------------------
def write_table(folder: Path, rows: int, seed: int = 0) -> None:
    import numpy as np
    import pandas as pd

    folder.mkdir(parents=True, exist_ok=True)
    for i, start in enumerate(range(0, rows, FILE_ROWS)):
        n = min(FILE_ROWS, rows - start)
        rng = np.random.default_rng([seed, i])
        age = rng.integers(18, 90, n)
        income = np.round(np.exp(rng.normal(10.5, 0.5, n)) * (1 + (age - 18) / 80), 2)
        channel = rng.choice(np.array(["pos", "online", "atm", "transfer"]), n,
                             p=[0.5, 0.3, 0.1, 0.1])
        online = channel == "online"
        amount = np.round(np.exp(rng.normal(3.5 + 0.8 * online, 1.0, n)), 2)
        hour = np.where(online, rng.integers(0, 24, n), rng.integers(7, 22, n))
        mcc = rng.choice(np.array([f"m{k:02d}" for k in range(12)]), n)
        region = rng.integers(0, 50, n)
        weekend = rng.random(n) < 2 / 7
        balance = np.round(income / 12 * rng.random(n) - amount, 2)
        fraud = rng.random(n) < np.where(online & (hour < 6), 0.02, 0.002)
        pd.DataFrame({"age": age, "income": income, "channel": pd.Series(channel, dtype="str"),
                      "amount": amount, "hour": hour, "mcc": pd.Series(mcc, dtype="str"),
                      "region": region, "weekend": weekend, "balance": balance,
                      "fraud": fraud}).to_parquet(folder / f"part-{i:05d}.parquet", index=False,
                                                  row_group_size=250_000)


# ---- one measurement per process -------------------------------------------------------------
def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_seconds() -> float:
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


def _worker_cpu(ex) -> float:
    client = ex.client()
    return 0.0 if client is None else float(sum(client.run(_cpu_seconds).values()))


def _worker_peaks(ex) -> list[float]:
    client = ex.client()
    if client is None:
        return []
    return [round(v, 1) for v in client.run(_peak_mb).values()]


def job(spec: dict) -> dict:
    import synthscape.compute as compute

    what = spec["what"]
    with compute.use(spec.get("scheduler", "local")) as ex:
        t_start = time.perf_counter()
        ex.client()  # cluster start-up, timed apart
        startup = time.perf_counter() - t_start
        cpu0, wcpu0 = _cpu_seconds(), _worker_cpu(ex)
        t0 = time.perf_counter()
        out = globals()[f"_{what}"](spec)
        seconds = time.perf_counter() - t0
        client_cpu = _cpu_seconds() - cpu0
        cpu = client_cpu + _worker_cpu(ex) - wcpu0
        workers = _worker_peaks(ex)
    return {**spec, **out, "seconds": round(seconds, 3), "cpu_seconds": round(cpu, 3),
            "client_cpu_seconds": round(client_cpu, 3), "startup_seconds": round(startup, 3),
            "peak_mb_client": round(_peak_mb(), 1), "peak_mb_workers": workers}


def _fit(spec: dict) -> dict:
    from synthscape.generators import make

    gen = make(spec["generator"], epsilon=1.0, seed=0, **spec.get("params", {}))
    gen.fit(spec["path"])
    return {"cliques": len(getattr(gen, "cliques_", getattr(gen, "tree_", [])))}


def _fit_memory(spec: dict) -> dict:
    import pandas as pd

    from synthscape.generators import make

    t0 = time.perf_counter()
    df = pd.read_parquet(spec["path"])
    read = time.perf_counter() - t0
    make(spec["generator"], epsilon=1.0, seed=0, **spec.get("params", {})).fit(df)
    return {"read_seconds": round(read, 3)}


def _sample(spec: dict) -> dict:
    from synthscape.compute.sampling import sample_to_parquet
    from synthscape.generators.base import load

    gen = load(spec["model"])
    out = Path(spec["out"])
    sample_to_parquet(gen, spec["rows"], out, partitions=spec["partitions"], seed=1,
                      overwrite=True)
    return {"bytes": sum(p.stat().st_size for p in out.iterdir())}


def _finance(spec: dict) -> dict:
    from synthscape_finance.sharded import simulate_to_parquet
    from synthscape_finance.spec import TransactionsSpec

    s = TransactionsSpec(population={"customers": spec["customers"], "days": spec["days"]},
                         chunk_days=spec["chunk_days"], seed=0)
    summary = simulate_to_parquet(s, Path(spec["out"]), shards=spec["shards"], overwrite=True)
    return {"rows": summary["rows"]}


def _driving(spec: dict) -> dict:
    from synthscape.scenarios import load_spec
    from synthscape_autonomy.sharded import simulate_to_parquet

    s = load_spec(ROOT / "scenarios" / "autonomy" / "highway.yaml")
    s = s.model_copy(update={"duration": spec["duration"], "batch": spec["batch"]})
    summary = simulate_to_parquet(s, Path(spec["out"]), episodes=spec["episodes"],
                                  shards=spec["shards"], overwrite=True)
    return {"rows": summary["episodes"]}


def run_job(spec: dict) -> dict:
    env = {**os.environ, "SYNTHSCAPE_NOISE_KEY": KEY, "OMP_NUM_THREADS": "1",
           "JAX_PLATFORMS": "cpu", "PYTHONWARNINGS": "ignore"}
    r = subprocess.run([sys.executable, __file__, "--job", json.dumps(spec)], env=env,
                       capture_output=True, text=True)
    if r.returncode:
        res = {**spec, "error": r.stderr.strip().splitlines()[-1] if r.stderr else "failed"}
    else:
        res = json.loads(r.stdout.strip().splitlines()[-1])
    res["load"] = round(os.getloadavg()[0], 1)
    print(json.dumps({k: v for k, v in res.items() if k not in ("path", "out", "model")}),
          flush=True)
    return res


# ---- the report ---------------------------------------------------------------------------
def report(results: dict) -> str:
    """docs/benchmarks/scale.md's tables from the results."""
    runs = [r for r in results["runs"] if "error" not in r]
    lines = ["| job | generator | rows | scheduler | seconds | s per 10M rows | CPU s | "
             "startup s | peak MB client | peak MB per worker | load |", "|---" * 11 + "|"]
    for r in runs:
        if r["what"] not in ("fit", "fit_memory"):
            continue
        sched = r.get("scheduler", "in memory") if r["what"] == "fit" else "in memory"
        per = r["seconds"] / r["rows"] * 1e7
        lines.append(f"| {r['name']} | {r['generator']} | {r['rows']:,} | {sched} | "
                     f"{r['seconds']:.1f} | {per:.0f} | {r.get('cpu_seconds', '-')} | "
                     f"{r['startup_seconds']:.1f} | "
                     f"{r['peak_mb_client']:.0f} | "
                     f"{', '.join(f'{v:.0f}' for v in r['peak_mb_workers']) or '-'} | "
                     f"{r['load']} |")
    lines += ["", "| job | scheduler | rows | seconds | rows/s | CPU s (all processes) | "
              "rows per CPU s | peak MB per worker | load |", "|---" * 9 + "|"]
    for r in runs:
        if r["what"] in ("sample", "finance", "driving"):
            cpu = r.get("cpu_seconds")
            per_cpu = f"{r['rows'] / cpu:,.0f}" if cpu else "-"
            lines.append(f"| {r['what']} | {r['scheduler']} | {r['rows']:,} | "
                         f"{r['seconds']:.1f} | {r['rows'] / r['seconds']:,.0f} | "
                         f"{cpu if cpu is not None else '-'} | {per_cpu} | "
                         f"{', '.join(f'{v:.0f}' for v in r['peak_mb_workers'])} | "
                         f"{r['load']} |")
    lines += ["", "| job | rows/s, 1 worker | rows/s, 2 workers | scaling efficiency "
              "(wall) | CPU s, 1 vs 2 workers | cores for 1e10 rows/hour (paper) |",
              "|---" * 6 + "|"]
    for what in ("sample", "finance", "driving"):
        one = [r["rows"] / r["seconds"] for r in runs if r["what"] == what
               and r.get("scheduler") in ("local:1", "local") and r.get("name") != "large"
               and r.get("generator", "mst") == "mst"]
        two = [r["rows"] / r["seconds"] for r in runs if r["what"] == what
               and r.get("scheduler") == "local:2" and r.get("name") != "large"
               and r.get("generator", "mst") == "mst"]
        if not one:
            continue
        eff = [t / (2 * o) for o, t in zip(one, two)]
        cpu = [(a["cpu_seconds"], b["cpu_seconds"]) for a, b in zip(
            [r for r in runs if r["what"] == what and r.get("scheduler") == "local:1"],
            [r for r in runs if r["what"] == what and r.get("scheduler") == "local:2"])
            if "cpu_seconds" in a and "cpu_seconds" in b]
        per_cpu = [r["rows"] / r["cpu_seconds"] for r in runs if r["what"] == what
                   and r.get("scheduler") == "local:1" and r.get("cpu_seconds")]
        rate = max(per_cpu) if per_cpu else max(one)
        cores = 1e10 / 3600 / rate
        lines.append(f"| {what} | {', '.join(f'{v:,.0f}' for v in one)} | "
                     f"{', '.join(f'{v:,.0f}' for v in two) or '-'} | "
                     f"{', '.join(f'{e:.2f}' for e in eff) or '-'} | "
                     f"{', '.join(f'{a:.0f} vs {b:.0f}' for a, b in cpu) or '-'} | "
                     f"{cores:,.0f} ({rate:,.0f} rows per "
                     f"{'CPU second' if per_cpu else 'second of one worker'}) |")
    errors = [r for r in results["runs"] if "error" in r]
    lines += [f"- failed: {r['what']} {r.get('scheduler')}: {r['error']}" for r in errors]
    return "\n".join(lines) + "\n"


# ---- the plan -----------------------------------------------------------------------------
def overhead(runs, path: str, rows: int) -> None:
    """The small mst fit in process, on one and two workers, in process again (for drift)."""
    for sched in ("local", "local:1", "local:2", "local"):
        runs.append(run_job({"what": "fit", "name": "overhead", "generator": "mst",
                             "path": path, "rows": rows, "scheduler": sched}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--job")
    ap.add_argument("--rows", type=int, default=10_000_000, help="rows of the large table")
    ap.add_argument("--memory-rows", type=int, default=2_000_000,
                    help="rows of the in-memory baseline (and the out-of-core fit beside it)")
    ap.add_argument("--small-rows", type=int, default=1_000_000, help="the overhead job")
    ap.add_argument("--sample-rows", type=int, default=4_000_000)
    ap.add_argument("--partitions", type=int, default=8, help="sampling throughput job")
    ap.add_argument("--jobs", nargs="+", default=["sample", "finance", "driving"],
                    help="which throughput jobs to run")
    ap.add_argument("--customers", type=int, default=20_000, help="finance throughput job")
    ap.add_argument("--chunk-days", type=int, default=1,
                    help="finance throughput job: days per chunk (28 days in all)")
    ap.add_argument("--episodes", type=int, default=512, help="driving throughput job")
    ap.add_argument("--driving-batch", type=int, default=1024,
                    help="driving throughput job: worlds simulated at once")
    ap.add_argument("--quick", action="store_true", help="skip the large out-of-core fits")
    ap.add_argument("--work", default=None, help="folder for the data (default: a temp folder)")
    ap.add_argument("--report", action="store_true", help="print the tables of the last run")
    ap.add_argument("--only", choices=("throughput", "overhead", "large"), default=None,
                    help="throughput: only sampling and simulation on 1 and 2 workers; "
                         "overhead: only the small mst fit in process and on 1 and 2 "
                         "workers; large: only the --rows table's out-of-core mst and aim fits "
                         "on 2 workers; each appended to the last results")
    a = ap.parse_args()
    if a.report:
        print(report(json.loads(RESULTS.read_text())))
        return
    if a.job:
        print(json.dumps(job(json.loads(a.job))))
        return
    work = Path(a.work or tempfile.mkdtemp(prefix="synthscape-scale-"))
    if a.only is not None:
        results = json.loads(RESULTS.read_text())
        runs = _Runs(results)
        runs.extend(results["runs"])
        small_folder = work / f"table-{a.small_rows}"
        if a.only == "throughput":
            throughput(runs, work, a, str(small_folder))
        elif a.only == "large":
            large(runs, work, a.rows)
        else:
            if not small_folder.exists():
                write_table(small_folder, a.small_rows)
            overhead(runs, str(small_folder), a.small_rows)
        runs.save()
        return
    results: dict = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                 "load_at_start": os.getloadavg()},
                     "args": vars(a), "runs": []}
    runs = _Runs(results)

    def table(rows: int) -> str:
        folder = work / f"table-{rows}"
        if not folder.exists():
            t0 = time.perf_counter()
            write_table(folder, rows)
            print(f"wrote {rows} rows in {time.perf_counter() - t0:.1f} s", flush=True)
        return str(folder)

    aim = {"rounds": 30, "iters": 50}
    # 1. overhead of the Dask path on a small job: local vs one and two workers
    small = table(a.small_rows)
    overhead(runs, small, a.small_rows)
    # 2. in-memory baseline vs out-of-core on the same table
    mid = table(a.memory_rows)
    for gen, params in (("mst", {}), ("aim", aim)):
        runs.append(run_job({"what": "fit_memory", "name": "baseline", "generator": gen,
                             "params": params, "path": mid, "rows": a.memory_rows}))
        for sched in ("local", "local:2"):
            runs.append(run_job({"what": "fit", "name": "baseline", "generator": gen,
                                 "params": params, "path": mid, "rows": a.memory_rows,
                                 "scheduler": sched}))
    # 3. the large table, out of core on two workers
    if not a.quick:
        big = table(a.rows)
        for gen, params in (("mst", {}), ("aim", aim)):
            runs.append(run_job({"what": "fit", "name": "large", "generator": gen,
                                 "params": params, "path": big, "rows": a.rows,
                                 "scheduler": "local:2"}))
    # 4. sampling, finance and driving on one and two workers
    throughput(runs, work, a, small)
    results["machine"]["load_at_end"] = os.getloadavg()
    runs.save()
    print(f"wrote {RESULTS}")


def large(runs: list, work: Path, rows: int) -> None:
    """Only the large table (written here if missing), mst and aim out of core on 2 workers."""
    folder = work / f"table-{rows}"
    if not folder.exists():
        t0 = time.perf_counter()
        write_table(folder, rows)
        print(f"wrote {rows} rows in {time.perf_counter() - t0:.1f} s", flush=True)
    for gen, params in (("mst", {}), ("aim", {"rounds": 30, "iters": 50})):
        runs.append(run_job({"what": "fit", "name": "large", "generator": gen,
                             "params": params, "path": str(folder), "rows": rows,
                             "scheduler": "local:2"}))
        runs.save()


def throughput(runs: list, work: Path, a: argparse.Namespace, small: str) -> None:
    """Sampling, finance and driving on one and two workers."""
    model = work / "model"
    if "sample" in a.jobs and not model.exists():
        import pandas as pd

        from synthscape.generators import make

        if not Path(small).exists():
            write_table(Path(small), a.small_rows)

        os.environ["SYNTHSCAPE_NOISE_KEY"] = KEY
        make("mst", epsilon=1.0, seed=0).fit(pd.read_parquet(small)).save(model)
    for sched in ("local:1", "local:2"):
        if "sample" in a.jobs:
            runs.append(run_job({"what": "sample", "name": "sampling", "model": str(model),
                                 "rows": a.sample_rows, "partitions": a.partitions,
                                 "scheduler": sched, "out": str(work / "sample")}))
        if "finance" in a.jobs:
            runs.append(run_job({"what": "finance", "name": "finance",
                                 "customers": a.customers, "days": 28,
                                 "chunk_days": a.chunk_days,
                                 "shards": 4, "scheduler": sched, "out": str(work / "finance")}))
        if "driving" in a.jobs:
            runs.append(run_job({"what": "driving", "name": "driving", "episodes": a.episodes,
                                 "batch": a.driving_batch, "duration": 4.0, "shards": 8,
                                 "scheduler": sched, "out": str(work / "driving")}))


class _Runs(list):
    """The runs so far, saved after each one (a cut run keeps what it measured)."""

    def __init__(self, results: dict):
        super().__init__()
        self.results = results

    def append(self, item) -> None:
        super().append(item)
        self.save()

    def save(self) -> None:
        self.results["runs"] = list(self)
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(self.results, indent=1) + "\n")


if __name__ == "__main__":
    main()

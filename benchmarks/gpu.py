"""The same code on a CUDA device: neural generators (fit seconds, DP overhead, TSTR/TRTR) and the
batched driving core (vehicle-seconds per second), each beside the CPU of the same machine.

    python benchmarks/gpu.py            # needs CUDA; writes benchmarks/results/gpu.json

Generators: ISLR/Default and survival/flchain as in benchmarks/deep.py (same splits, metrics,
epsilon 1, 20 epochs, batch 1000), one seed, each fit with and without DP on both devices after
a warm-up fit. Driving: the ``highway`` catalogue scene at growing numbers of worlds (the CPU
runs the two smallest); steps only, world set-up is not timed.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import deep  # noqa: E402  (same data, splits and metrics)
import tabular as tab  # noqa: E402


def generators(args) -> list[dict]:
    out = []
    for ds in args.datasets:
        spec, schema, train, test = deep.split(ds, 0)
        trtr = tab.auc(train, test, schema, spec)
        for name in deep.OURS:
            for device in ("cuda", "cpu"):
                deep.run_ours(name, train, schema, 1.0, 0,  # warm-up: kernels, imports
                              argparse.Namespace(epochs=1, batch_size=args.batch_size), device)
                for eps in (1.0, None):
                    m, syn = deep.run_ours(name, train, schema, eps, 0, args, device)
                    m.update(tab.score(train, test, syn, schema, spec))
                    row = {"dataset": ds, "generator": name, "device": device, "epsilon": eps,
                           "epochs": args.epochs, "batch_size": args.batch_size,
                           "tstr_over_trtr": m["tstr_auc"] / trtr, **m}
                    out.append(row)
                    print(json.dumps(row), flush=True)
    return out


def driving(worlds: list[int], steps: int) -> list[dict]:
    import torch

    from synthscape_autonomy.catalogue import load
    from synthscape_autonomy.scenario import Scene
    from synthscape_autonomy.sim import Simulator

    out = []
    spec = load("highway")
    for device in ("cuda", "cpu"):
        scene = Scene(spec, device=torch.device(device))
        for W in worlds if device == "cuda" else worlds[:2]:
            sim = Simulator(scene, scene.draws(range(W)))
            with torch.no_grad():
                for _ in range(5):
                    sim.step()
                torch.cuda.synchronize()
                t = time.perf_counter()
                for _ in range(steps):
                    sim.step()
                torch.cuda.synchronize()
                wall = time.perf_counter() - t
            A = scene.n_agents
            out.append({"device": device, "worlds": W, "agents": A, "steps": steps,
                        "threads": torch.get_num_threads(), "wall_s": round(wall, 3),
                        "vehicle_seconds_per_s": W * A * steps * spec.dt / wall})
            print(json.dumps(out[-1]), flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=1000)
    ap.add_argument("--datasets", nargs="+", default=["ISLR/Default", "survival/flchain"])
    ap.add_argument("--worlds", nargs="+", type=int, default=[2048, 16384, 65536])
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--skip", nargs="*", default=[], choices=["generators", "driving"])
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "gpu.json"))
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    import torch

    if not torch.cuda.is_available():
        sys.exit("benchmarks/gpu.py needs a CUDA device")
    res = {"machine": {"gpu": torch.cuda.get_device_name(0), "torch": torch.__version__,
                       "cpus": os.cpu_count(), "python": platform.python_version()}}
    if "generators" not in args.skip:
        res["generators"] = generators(args)
        Path(args.out).write_text(json.dumps(res, indent=1))
    if "driving" not in args.skip:
        res["driving"] = driving(args.worlds, args.steps)
        Path(args.out).write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()

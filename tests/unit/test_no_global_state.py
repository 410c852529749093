"""Library code changes no process-wide state as a side effect: importing any module,
constructing and stepping an environment, drawing a figure or initialising a seeded network
leaves torch's thread counts, every global random generator (torch, numpy, Python) and
matplotlib's backend as they were. Entry points (the CLI, benchmarks, scripts) may set them."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

PROBE = textwrap.dedent('''
    import importlib, io, pkgutil, random, sys, warnings
    import matplotlib, numpy as np, torch

    torch.set_num_threads(3)          # a count no library default would pick
    np.random.seed(12345); random.seed(12345); torch.manual_seed(12345)

    def state():
        return {
            "torch threads": torch.get_num_threads(),
            "torch interop threads": torch.get_num_interop_threads(),
            "torch initial seed": torch.initial_seed(),
            "torch CPU RNG": bytes(torch.random.get_rng_state().numpy()),
            "numpy global RNG": np.random.get_state()[1].tobytes(),
            "python random": random.getstate(),
            # read without resolving the backend (rcParams["backend"] would resolve it)
            "matplotlib backend": repr(dict.__getitem__(matplotlib.rcParams, "backend")),
        }

    def changed(before, what):
        after = state()
        diff = [k for k in before if before[k] != after[k]]
        if diff:
            print(f"CHANGED by {what}: {diff}")
            sys.exit(1)

    before = state()
    import synthscape, synthscape_autonomy, synthscape_finance, synthscape_healthcare
    packages = (synthscape, synthscape_autonomy, synthscape_finance, synthscape_healthcare)
    names = []
    for pkg in packages:
        names.append(pkg.__name__)
        for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
            if not m.name.endswith("__main__"):
                names.append(m.name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in names:
            try:
                importlib.import_module(name)
            except ImportError as exc:  # an optional extra that is not installed
                if (exc.name or "").split(".")[0].startswith("synthscape"):
                    raise
    changed(before, f"importing {len(names)} modules")

    from synthscape.plugins import load_plugins
    assert all(v == "ok" for v in load_plugins().values())
    changed(before, "loading the packs")

    import gymnasium as gym
    env = gym.make("synthscape_autonomy/CutIn-v0", render_mode="rgb_array")
    changed(before, "constructing an env")
    env.reset(seed=0)
    for _ in range(3):
        env.step(env.action_space.sample())
    assert env.render().ndim == 3
    env.close()
    venv = gym.make_vec("synthscape_autonomy/CutIn-v0", num_envs=2,
                        vectorization_mode="vector_entry_point", threads=2)
    venv.reset(seed=0)
    venv.step(venv.action_space.sample())
    venv.close()
    changed(before, "resetting, stepping and rendering envs")

    from synthscape.evaluation.figures import subplots
    fig, ax = subplots(figsize=(2, 2))
    ax.plot([0, 1], [1, 0])
    fig.savefig(io.BytesIO(), format="png")
    changed(before, "drawing a figure")

    from synthscape.generators._nn import mlp, seeded
    with seeded(7):
        a = mlp([3, 4, 1])[0].weight.detach().clone()
    with seeded(7):
        b = mlp([3, 4, 1])[0].weight.detach().clone()
    assert torch.equal(a, b)
    changed(before, "a seeded network initialisation")

    from synthscape.device import torch_threads
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    changed(before, "torch_threads")
    print("UNCHANGED")
''')


@pytest.mark.slow
def test_library_code_leaves_process_state_alone():
    proc = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0 and "UNCHANGED" in proc.stdout, proc.stdout + proc.stderr[-3000:]


def test_the_library_sets_no_backend_or_threads_in_its_source():
    """The calls that set process-wide state appear only in the explicit helpers."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    allowed = {("core/synthscape/device.py", "set_num_threads")}  # set_torch_threads, torch_threads
    banned = {"set_num_threads", "set_num_interop_threads", "use", "manual_seed", "seed",
              "set_rng_state", "set_default_dtype", "set_default_device"}
    owners = {"use": "matplotlib", "seed": "random", "manual_seed": "torch"}
    found = []
    for path in sorted([*root.glob("core/synthscape/**/*.py"), *root.glob("domains/*/**/*.py")]):
        rel = path.relative_to(root).as_posix()
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            attr, owner = node.func.attr, node.func.value
            if attr not in banned or (rel, attr) in allowed:
                continue
            text = ast.unparse(owner)
            need = owners.get(attr)
            if need and not text.endswith(need):  # rng.seed(...) on an own generator is fine
                continue
            found.append(f"{rel}:{node.lineno}: {text}.{attr}(...)")
    assert found == [], "process-wide state set by library code:\n  " + "\n  ".join(found)

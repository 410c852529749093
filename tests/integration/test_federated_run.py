"""``kind: federated`` from YAML: one release folder with a ledger per site and the combined
guarantee in words; the pooled comparison only where the spec allows the runner to read every
site, and labelled so."""
import json
from pathlib import Path

import pytest
import yaml

from synthscape.errors import SpecError
from synthscape.scenarios import parse_spec, run

SCENARIO = Path(__file__).parents[2] / "scenarios" / "federated" / "default_two_sites.yaml"


def _spec(**changes):
    data = yaml.safe_load(SCENARIO.read_text())
    data.update(rows=300, **changes)
    data["protocol"] = {**data["protocol"], "rounds": 8, "iters": 20, "bins": 8,
                        **changes.get("protocol", {})}
    return parse_spec(yaml.safe_dump(data), source=str(SCENARIO), base_dir=SCENARIO.parent)


def test_federated_scenario_releases_a_ledger_per_site_and_the_guarantee(tmp_path):
    folder = run(_spec(), output=tmp_path)
    rel = folder / "release"
    fed = json.loads((rel / "federation.json").read_text())
    assert fed["sites"] == ["students", "others"]
    assert "parallel composition" in fed["guarantee"]
    for site in ("students", "others"):
        led = json.loads((rel / "ledgers" / f"{site}.json").read_text())
        assert 0.95 <= led["epsilon"] <= 1.0 + 1e-6
    assert 0.95 <= json.loads((rel / "ledger.json").read_text())["epsilon"] <= 1.0 + 1e-6
    internal = json.loads((folder / "internal" / "report.json").read_text())
    notes = json.dumps(internal)
    assert "pooled records of every site" in notes
    tvd = internal["sections"]["marginals"]["scores"]["two_way_tvd_mean"]
    assert 0.0 < tvd < 0.3


def test_without_pooled_evaluation_nothing_is_compared_with_real_rows(tmp_path):
    spec = _spec(evaluation={"pooled": False},
                 protocol={"type": "local_dp", "workload": [["default", "balance"]]})
    folder = run(spec, output=tmp_path)
    internal = folder / "internal" / "report.json"
    assert not internal.exists() or json.loads(internal.read_text())["sections"] == {}
    fed = json.loads((folder / "release" / "federation.json").read_text())
    assert fed["protocol"] == "local_dp" and "Local DP" in fed["guarantee"]


def test_spec_problems_name_the_field():
    spec = _spec(sites=[
        {"name": "a", "remote": True, "privacy": {"epsilon": 1.0}},
        {"name": "a", "path": "missing.csv", "privacy": {"epsilon": 1.0}}])
    found = {p.loc: p.message for p in spec.problems()}
    assert ("sites", 0, "remote") in found and ("sites", 1, "name") in found
    assert ("sites", 1, "path") in found
    with pytest.raises(SpecError, match="exactly one of 'path'"):
        _spec(sites=[{"name": "a", "privacy": {"epsilon": 1.0}}] * 2)


def test_protocol_and_generator_combinations_are_checked():
    for protocol, fragment in [
            ({"type": "marginal", "generator": "dp_ctgan"}, "cannot run with protocol.type "
                                                            "'marginal'"),
            ({"type": "neural", "generator": "dp_sequence"}, "federates dp_tvae or dp_ctgan"),
            ({"type": "neural", "generator": "dp_ctgan", "site_level": {"epsilon": 2.0}},
             "dp_tvae only")]:
        with pytest.raises(SpecError, match=fragment):
            _spec(protocol=protocol)


@pytest.mark.slow
@pytest.mark.parametrize("generator", ["dp_tvae", "dp_ctgan"])
def test_neural_protocol_runs_from_yaml(tmp_path, generator):
    spec = _spec(evaluation={"pooled": False},
                 protocol={"type": "neural", "generator": generator, "rounds": 2,
                           "batch_size": 200})
    folder = run(spec, output=tmp_path)
    fed = json.loads((folder / "release" / "federation.json").read_text())
    assert fed["protocol"] == "neural" and fed["rounds"] == 2
    assert fed["generator"] == generator
    assert sorted(p.name for p in (folder / "release" / "ledgers").iterdir()) == \
        ["others.json", "students.json"]


FLWR_PY = Path(__file__).parents[2] / ".venv-bench-flwr" / "bin" / "python"


@pytest.mark.slow
@pytest.mark.skipif(not FLWR_PY.exists(), reason="needs .venv-bench-flwr (docs/federated.md)")
def test_flower_transport_from_yaml(tmp_path):
    spec = _spec(evaluation={"pooled": False},
                 transport={"type": "flower", "python": str(FLWR_PY)},
                 protocol={"workload": [["default", "balance"], ["student", "income"]]})
    folder = run(spec, output=tmp_path)
    fed = json.loads((folder / "release" / "federation.json").read_text())
    assert fed["transport"] == "flower" and fed["rounds"] == 1
    assert json.loads((folder / "release" / "ledgers" / "students.json").read_text())[
        "epsilon"] == pytest.approx(1.0, rel=1e-3)

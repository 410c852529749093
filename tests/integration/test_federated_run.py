"""``kind: federated`` from YAML: one release folder with a ledger per site and the combined
guarantee in words; the pooled comparison only where the spec allows the runner to read every
site, and labelled so."""
import json
from pathlib import Path

import pandas as pd
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


def test_secure_aggregation_from_yaml_states_its_trust_and_the_fallback(tmp_path):
    folder = run(_spec(protocol={"secure_aggregation": {"colluding_sites": 0},
                                 "measure_first": [["default", "balance"]]}), output=tmp_path)
    fed = json.loads((folder / "release" / "federation.json").read_text())
    assert "secure aggregation" in fed["guarantee"] and "at most 0 site(s)" in fed["guarantee"]
    led = json.loads((folder / "release" / "ledgers" / "students.json").read_text())
    assert 0.9 <= led["epsilon"] <= 1.0 + 1e-6
    assert any(e["kind"] == "skellam" for e in led["events"])
    with pytest.raises(SpecError, match="marginal protocol only"):
        _spec(protocol={"type": "local_dp", "workload": [["default", "balance"]],
                        "secure_aggregation": {}})
    # by default any one site is covered: it knows its own share of the noise
    assert _spec(protocol={"secure_aggregation": {}}).protocol.secure_aggregation \
        .colluding_sites == 1
    bad = _spec(protocol={"secure_aggregation": {"colluding_sites": 2}})
    found = {p.loc: p.message for p in bad.problems()}
    assert "below the number of sites" in found[("protocol", "secure_aggregation",
                                                 "colluding_sites")]


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
            ({"type": "neural", "generator": "mst"}, "federates dp_tvae, dp_ctgan, dp_sequence"),
            ({"type": "neural", "generator": "dp_ctgan", "site_level": {"epsilon": 2.0}},
             "dp_tvae only"),
            ({"workload": [["default", "balance"]], "measure_first": [["default", "income"]]},
             "remove protocol.workload")]:
        with pytest.raises(SpecError, match=fragment):
            _spec(protocol=protocol)


FLWR_PY = Path(__file__).parents[2] / ".venv-bench-flwr" / "bin" / "python"
FLOWER = pytest.param("flower", marks=pytest.mark.skipif(
    not FLWR_PY.exists(), reason="needs .venv-bench-flwr with torch (docs/federated.md)"))


@pytest.mark.slow
@pytest.mark.parametrize("transport", ["in_process", FLOWER])
@pytest.mark.parametrize("generator", ["dp_tvae", "dp_ctgan"])
def test_neural_protocol_runs_from_yaml(tmp_path, generator, transport):
    spec = _spec(evaluation={"pooled": False},
                 protocol={"type": "neural", "generator": generator, "rounds": 2,
                           "batch_size": 200},
                 transport={"type": transport,
                            **({"python": str(FLWR_PY)} if transport == "flower" else {})})
    folder = run(spec, output=tmp_path)
    fed = json.loads((folder / "release" / "federation.json").read_text())
    assert fed["protocol"] == "neural" and fed["rounds"] == 2
    assert fed["generator"] == generator and fed["transport"] == transport
    assert sorted(p.name for p in (folder / "release" / "ledgers").iterdir()) == \
        ["others.json", "students.json"]
    assert len(pd.read_parquet(folder / "release" / "data")) == 300


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


@pytest.mark.slow
@pytest.mark.parametrize("transport", ["in_process", FLOWER])
def test_dp_sequence_protocol_runs_from_yaml(tmp_path, transport):
    """Two sites, each with its events and entities files and a sequence schema file: entities
    and events released with their row schemas, a ledger per site, the pooled comparison in
    internal/ only; in process, and over Flower site processes that read both tables."""
    from synthscape.testing import sequence_conformance_data

    evs, ents, schema = sequence_conformance_data(240, seed=3)
    schema.to_yaml(tmp_path / "cards.sequence.yaml")
    sites = []
    for name, mask in (("north", ents.segment == "retail"), ("south", ents.segment != "retail")):
        e = ents[mask.to_numpy()]
        e.to_csv(tmp_path / f"{name}_customers.csv", index=False)
        evs[evs.cid.isin(e.cid)].to_csv(tmp_path / f"{name}_events.csv", index=False)
        sites.append({"name": name, "path": f"{name}_events.csv",
                      "entities": f"{name}_customers.csv", "privacy": {"epsilon": 1.0}})
    spec_file = tmp_path / "fed.yaml"
    spec_file.write_text(yaml.safe_dump({
        "kind": "federated", "name": "cards", "seed": 1,
        "schema": {"file": "cards.sequence.yaml"}, "sites": sites,
        "protocol": {"type": "neural", "generator": "dp_sequence", "rounds": 2,
                     "local_epochs": 1, "batch_size": 64},
        "rows": 80, "evaluation": {"pooled": True},
        "transport": {"type": transport, **({"python": str(FLWR_PY)} if transport == "flower"
                                             else {})}}))
    spec = parse_spec(spec_file.read_text(), source=str(spec_file), base_dir=tmp_path)
    folder = run(spec, output=tmp_path / "out")
    rel = folder / "release"
    assert sorted(p.name for p in (rel / "data").iterdir()) == ["entities.parquet",
                                                                "events.parquet"]
    assert sorted(p.name for p in (rel / "ledgers").iterdir()) == ["north.json", "south.json"]
    for site in ("north", "south"):
        led = json.loads((rel / "ledgers" / f"{site}.json").read_text())
        assert 0.95 <= led["epsilon"] <= 1.0 + 1e-6
        assert any("per-entity DP-SGD" in e["label"] for e in led["events"])
    row = json.loads((rel / "schemas" / "events.json").read_text())
    assert list(row["properties"])[:2] == ["cid", "ts"]
    fed = json.loads((rel / "federation.json").read_text())
    assert fed["generator"] == "dp_sequence" and fed["rounds"] == 2
    internal = json.loads((folder / "internal" / "report.json").read_text())
    scores = internal["sections"]["sequences"]["scores"]
    assert 0.0 <= scores["count_ks"] <= 1.0 and "pooled records" in json.dumps(internal)
    assert fed["transport"] == transport

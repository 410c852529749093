import json

import pytest
from typer.testing import CliRunner

from synthscape.errors import ParameterError
from synthscape.evaluation.cli import _parse_params, app, audit_command, evaluate_command

from .conftest import draw


@pytest.fixture()
def files(tmp_path, schema):
    draw(300, 1).to_csv(tmp_path / "real.csv", index=False)
    draw(100, 2).to_csv(tmp_path / "test.csv", index=False)
    draw(300, 3).to_parquet(tmp_path / "syn.parquet")
    schema.to_json(tmp_path / "schema.json")
    return tmp_path


def test_evaluate_command_writes_a_report(files):
    folder = evaluate_command(files / "real.csv", files / "syn.parquet", files / "schema.json",
                              "y", files / "rep", test=files / "test.csv", sensitive=["sex"])
    data = json.loads((folder / "report.json").read_text())
    assert data["meta"]["rows"] == {"real_train": 300, "real_test": 100, "synthetic": 300}
    assert data["meta"]["inputs"]["test"].endswith("test.csv")
    assert {"fidelity", "utility", "privacy_attacks", "fairness"} <= set(data["sections"])
    assert (folder / "report.html").exists() and (folder / "figures" / "dcr.png").exists()


def test_evaluate_cli_splits_without_test_and_reports(files):
    res = CliRunner().invoke(app, ["evaluate", str(files / "real.csv"),
                                   str(files / "syn.parquet"), "-s", str(files / "schema.json"),
                                   "-o", str(files / "rep2"), "--seed", "1"])
    assert res.exit_code == 0, res.output
    assert "UNKNOWN" in res.output and "quality score" in res.output
    data = json.loads((files / "rep2" / "report.json").read_text())
    rows = data["meta"]["rows"]
    # row by row under the public seed (train_test_split): binomial sizes, the same each time
    from synthscape.random import train_test_split

    want = len(train_test_split(draw(300, 1), 0.2, 1)[1])
    assert rows["real_test"] == want and rows["real_train"] == 300 - want
    assert 30 < want < 90
    assert any("was split" in n for n in data["sections"]["privacy_attacks"]["notes"])
    again = CliRunner().invoke(app, ["evaluate", str(files / "real.csv"),
                                     str(files / "syn.parquet"), "-s",
                                     str(files / "schema.json"), "-o", str(files / "rep2")])
    assert again.exit_code == 2 and "already exists" in " ".join(again.output.split())


def test_messages_keep_bracketed_text(files, monkeypatch):
    """Rich markup must not eat "[low, high]" or "[bold]" in an error message."""
    import synthscape.evaluation.cli as ev

    def boom(*args, **kwargs):
        raise ParameterError("bounds must be a range [low, high] with low < high; [bold]x[/]")

    monkeypatch.setattr(ev, "evaluate_command", boom)
    monkeypatch.setattr(ev, "audit_command", boom)
    monkeypatch.setattr(ev, "audit_release_command", boom)
    for args in (["evaluate", "r.csv", "s.csv", "-s", "x.json", "-o", "out"],
                 ["audit", "mst", "r.csv", "-s", "x.json", "-o", "out"],
                 ["audit-release", str(files), "r.csv"]):
        res = CliRunner().invoke(app, args)
        assert res.exit_code == 2, res.output
        text = " ".join(res.output.split())
        assert "a range [low, high] with low < high; [bold]x[/]" in text, text


def test_evaluate_cli_bad_target(files):
    res = CliRunner().invoke(app, ["evaluate", str(files / "real.csv"),
                                   str(files / "syn.parquet"), "-s", str(files / "schema.json"),
                                   "-o", str(files / "rep3"), "-t", "nope"])
    assert res.exit_code == 2
    assert "target 'nope' is not a column" in " ".join(res.output.split())
    assert not (files / "rep3").exists()


def test_audit_cli_flags_baseline(files, schema):
    res = CliRunner().invoke(app, ["audit", "gaussian_copula", str(files / "real.csv"), "-s",
                                   str(files / "schema.json"), "-o", str(files / "aud"),
                                   "--trials", "3"])
    assert res.exit_code == 1 and "FLAGGED" in res.output
    audit = json.loads((files / "aud" / "audit.json").read_text())
    assert audit["trials"] == 3 and audit["private"] is False
    report = json.loads((files / "aud" / "report.json").read_text())
    assert report["meta"]["privacy"].startswith("NOT PRIVATE")
    assert "audit" in report["sections"]


def test_audit_command_with_params(files):
    folder = audit_command("independent", files / "real.csv", files / "schema.json", 2,
                           files / "aud2", params={"epsilon": 1.0})
    audit = json.loads((folder / "audit.json").read_text())
    assert audit["private"] is True and audit["claimed_epsilon"] <= 1.0 + 1e-9


def test_parse_params():
    assert _parse_params(["epsilon=1.5", "degree=2", "name=x"]) == \
        {"epsilon": 1.5, "degree": 2, "name": "x"}
    with pytest.raises(ParameterError, match="key=value"):
        _parse_params(["epsilon"])

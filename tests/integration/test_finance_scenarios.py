"""The finance pack's packaged scenarios run from the command line."""
import json
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from synthscape.cli import app

ROOT = Path(__file__).resolve().parents[2]


def _run(path, out):
    """The release report; the gates are in the run's top manifest.json (a failed gate is
    exit 1, and the run folder is still written for review)."""
    res = CliRunner().invoke(app, ["run", str(path), "--output", str(out), "--quiet"])
    name = "small" if path.name == "small.yaml" else path.stem
    gates = json.loads((Path(out) / name / "manifest.json").read_text())["gates"] \
        if (Path(out) / name / "manifest.json").exists() else {}
    assert res.exit_code == (0 if all(gates.values()) else 1), res.output
    return json.loads((Path(out) / name / "release" / "report.json").read_text())


def _top(out, name="small"):
    return json.loads((Path(out) / name / "manifest.json").read_text())


@pytest.mark.slow
@pytest.mark.parametrize("name", ["retail_card_fraud", "aml_network"])
def test_packaged_scenario_runs_and_passes_the_leakage_check(tmp_path, name):
    report = _run(ROOT / "scenarios" / "finance" / f"{name}.yaml", tmp_path)
    folder = tmp_path / name / "release"
    assert report["sections"]["leakage"]["scores"]["leak"] is False
    assert _top(tmp_path, name)["gates"] == {"leakage/lift": True}
    for fig in ("amount_per_mcc", "inter_event_times", "degree_distribution",
                "share_per_typology"):
        assert (folder / "figures" / f"{fig}.png").stat().st_size > 1000
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["rows"]["transactions"] == manifest["rows"]["tx_labels"] > 500_000
    ledger = json.loads((folder / "ledger.json").read_text())
    assert ledger["reads_real_data"] is False and "simulated" in ledger["summary"]
    assert not (tmp_path / name / "internal").exists()


def _small(tmp_path, extra=""):
    p = tmp_path / "small.yaml"
    p.write_text(textwrap.dedent("""\
        kind: transactions
        name: small
        seed: 5
        population: {customers: 800, merchants: 300, days: 10}
        typologies:
          card_testing: {rate: 0.02}
          cycle: {rate: 0.03}
          structuring: {rate: 0.02}
        """) + extra)
    return p


def test_same_spec_same_bytes(tmp_path):
    p = _small(tmp_path)
    _run(p, tmp_path / "a")
    _run(p, tmp_path / "b")
    ma = json.loads((tmp_path / "a" / "small" / "release" / "manifest.json").read_text())["files"]
    mb = json.loads((tmp_path / "b" / "small" / "release" / "manifest.json").read_text())["files"]
    assert ma == mb and "data/transactions.parquet" in ma


def test_a_leaking_run_says_so(tmp_path):
    p = _small(tmp_path, "checks: {inject_artefact: id_prefix}\n")
    report = _run(p, tmp_path / "out")
    leak = report["sections"]["leakage"]
    assert leak["scores"]["leak"] is True and _top(tmp_path / "out")["gates"] == {
        "leakage/lift": False}
    assert "gates" not in report
    assert any("LABELS LEAK" in n for n in leak["notes"])


def test_a_bad_spec_fails_with_file_and_line(tmp_path):
    p = _small(tmp_path, "noise:\n  small_burst: {rate: -1}\n")
    res = CliRunner().invoke(app, ["run", str(p), "--output", str(tmp_path / "o")])
    assert res.exit_code == 2
    text = "".join(res.output.split())  # the console may wrap long paths anywhere
    assert "small.yaml,line10" in text and "'noise.small_burst.rate'" in text
    assert not (tmp_path / "o" / "small").exists()


LEARNED = ("learned: {epsilon: 1.0, fraud_share: 0.25, customers: 80, max_events: 32,\n"
           "          generator: {epochs: 1, width: 8, bins: 8, device: cpu}}\n")


@pytest.mark.slow
def test_learned_path_releases_a_synthetic_log_of_the_simulated_bank(tmp_path):
    import pandas as pd

    p = _small(tmp_path, LEARNED)
    report = _run(p, tmp_path / "out")
    folder = tmp_path / "out" / "small" / "release"
    ledger = json.loads((folder / "ledger.json").read_text())
    assert 0 < ledger["epsilon"] <= 1.0 + 1e-9 and ledger["reads_real_data"] is False
    assert "no real data" in ledger["summary"]
    names = sorted(p.stem for p in (folder / "data").glob("*.parquet"))
    assert names == ["accounts", "customers", "transactions", "tx_labels"]
    assert len(pd.read_parquet(folder / "data" / "customers.parquet")) == 80
    scores = report["sections"]["learned"]["scores"]
    assert scores["fraud_customer_share"] == 0.25 and scores["synthetic_customers"] == 80
    internal = json.loads((tmp_path / "out" / "small" / "internal" / "report.json").read_text())
    split = internal["sections"]["learned"]["scores"]
    assert split["train_customers"] + split["test_customers"] == 800


def test_learned_path_from_real_files_reads_real_data(tmp_path):
    from synthscape_finance import simulate
    from synthscape_finance.spec import TransactionsSpec

    t = simulate(TransactionsSpec(population={"customers": 300, "merchants": 300, "days": 7},
                                  typologies={"card_testing": {"rate": 0.05}}, seed=2))
    t["transactions"].to_parquet(tmp_path / "tx.parquet")
    t["tx_labels"].to_csv(tmp_path / "labels.csv", index=False)
    t["customers"].to_csv(tmp_path / "customers.csv", index=False)
    t["accounts"].to_csv(tmp_path / "accounts.csv", index=False)
    p = _small(tmp_path, LEARNED.replace(
        "learned: {", "learned: {data: {transactions: tx.parquet, customers: customers.csv, "
                      "labels: labels.csv, accounts: accounts.csv},\n          time_bounds: "
                      "['2025-01-06', '2025-01-13'], "))
    _run(p, tmp_path / "out")
    top = _top(tmp_path / "out")
    assert top["reads_real_data"] is True and top["folders"]["internal"] == "internal"
    ledger = json.loads((tmp_path / "out" / "small" / "release" / "ledger.json").read_text())
    assert ledger["reads_real_data"] is True and "no real data" not in ledger["summary"]
    assert ledger["budget"]["unit"] == "customer"
    assert any("entity count" in e.get("label", "") for e in ledger["events"])


def test_a_learned_source_with_a_missing_column_fails_before_fitting(tmp_path):
    import pandas as pd

    pd.DataFrame({"tx_id": [1], "timestamp": ["2025-01-06"], "channel": ["pos"]}).to_csv(
        tmp_path / "tx.csv", index=False)
    pd.DataFrame({"customer_id": [1]}).to_csv(tmp_path / "c.csv", index=False)
    p = _small(tmp_path, "learned: {data: {transactions: tx.csv, customers: c.csv}, "
                         "time_bounds: ['2025-01-06', '2025-01-13']}\n")
    res = CliRunner().invoke(app, ["run", str(p), "--output", str(tmp_path / "o")])
    assert res.exit_code == 2
    text = " ".join(res.output.split())
    assert "learned.data.transactions" in text and "'amount'" in text
    assert not (tmp_path / "o" / "small").exists()


def test_a_typology_too_rare_to_form_a_pattern_is_reported(tmp_path):
    p = _small(tmp_path, "noise: {payroll: {rate: 0.0}}\n")
    text = p.read_text().replace("cycle: {rate: 0.03}",
                                 "cycle: {rate: 0.03}\n  stack: {rate: 0.001}")
    p.write_text(text)
    report = _run(p, tmp_path / "out")
    notes = " ".join(report["sections"]["labels"]["notes"])
    assert "no pattern in this run" in notes and "stack" in notes

import numpy as np
import pandas as pd
import pytest

from synthscape.errors import SchemaError
from synthscape_finance import sequence_log
from synthscape_finance.detect import history_features
from synthscape_finance.metrics import detection_scores, paired_summary, recall_at_fpr
from synthscape_finance.sources import read_log


def _sequences(tables):
    return sequence_log.to_sequences(tables["transactions"], tables["tx_labels"],
                                     tables["accounts"], tables["customers"])


def test_a_log_becomes_customer_sequences_within_the_declared_schema(tables):
    ents, evs = _sequences(tables)
    assert len(ents) == len(tables["customers"]) and ents["customer_id"].is_unique
    assert len(evs) == len(tables["transactions"])
    assert set(evs["customer_id"]) <= set(ents["customer_id"])
    assert (evs.groupby("customer_id")["timestamp"].apply(lambda s: s.is_monotonic_increasing)
            .all())
    schema = sequence_log.sequence_schema(start="2025-01-06", end="2025-01-27")
    schema.entities.validate(ents.drop(columns="customer_id"))
    schema.events.validate(evs.drop(columns=["customer_id", "timestamp"]))
    victims = set(evs.loc[evs["is_fraud"], "customer_id"])
    assert set(ents.loc[ents["is_fraud"] == "yes", "customer_id"]) == victims
    assert {"none", "usual", "new"} == set(evs["device"])


def test_sequences_become_tables_in_the_simulator_layout(tables):
    from synthscape_finance.schemas import TABLES

    ents, evs = _sequences(tables)
    out = sequence_log.to_tables(ents, evs, seed=1)
    for name in ("customers", "accounts", "transactions", "tx_labels"):
        assert list(out[name].columns) == list(TABLES[name]), name
    tx, lab = out["transactions"], out["tx_labels"]
    assert len(tx) == len(evs) and tx["tx_id"].is_unique
    assert tx["timestamp"].is_monotonic_increasing
    assert lab["is_fraud"].sum() == evs["is_fraud"].sum()
    # balances replay the approved amounts from each account's opening balance
    credit = tx["channel"].astype(str).isin(["deposit", "cash_deposit"])
    posted = tx["amount"].where(tx["status"].astype(str) == "approved", 0.0)
    assert np.allclose(tx["balance_before"] + np.where(credit, 1, -1) * posted,
                       tx["balance_after"])
    assert set(tx["account_id"]) <= set(out["accounts"]["account_id"])
    assert set(out["accounts"]["customer_id"]) == set(out["customers"]["customer_id"])
    again = sequence_log.to_tables(ents, evs, seed=1)
    pd.testing.assert_frame_equal(out["transactions"], again["transactions"])


def _write_log(tables, folder):
    tables["transactions"].to_parquet(folder / "tx.parquet")
    tables["tx_labels"].to_csv(folder / "labels.csv", index=False)
    tables["customers"].to_csv(folder / "customers.csv", index=False)
    tables["accounts"].to_parquet(folder / "accounts.parquet")


def test_a_log_read_from_files_matches_the_tables(tables, tmp_path):
    _write_log(tables, tmp_path)
    log = read_log(tmp_path / "tx.parquet", tmp_path / "customers.csv",
                   labels=tmp_path / "labels.csv", accounts=tmp_path / "accounts.parquet")
    ents, evs = sequence_log.to_sequences(log["transactions"], log["labels"], log["accounts"],
                                          log["customers"])
    e0, v0 = _sequences(tables)
    assert (ents["is_fraud"].to_numpy() == e0["is_fraud"].to_numpy()).all()
    assert (evs["typology"].to_numpy() == v0["typology"].to_numpy()).all()


def test_bad_files_fail_with_file_column_and_fix(tables, tmp_path):
    _write_log(tables, tmp_path)
    tx = tables["transactions"].drop(columns=["amount"])
    tx.to_csv(tmp_path / "no_amount.csv", index=False)
    with pytest.raises(SchemaError, match=r"no_amount.csv: missing column\(s\) \['amount'\]"):
        read_log(tmp_path / "no_amount.csv", tmp_path / "customers.csv",
                 labels=tmp_path / "labels.csv", accounts=tmp_path / "accounts.parquet")
    tx = tables["transactions"].copy()
    tx["channel"] = tx["channel"].astype(str).replace({"pos": "card_present"})
    tx.to_csv(tmp_path / "odd.csv", index=False)
    with pytest.raises(SchemaError, match=r"odd.csv: column 'channel' has value\(s\) "
                                          r"\['card_present'\].*map them"):
        read_log(tmp_path / "odd.csv", tmp_path / "customers.csv",
                 labels=tmp_path / "labels.csv", accounts=tmp_path / "accounts.parquet")
    tables["customers"].iloc[5:].to_csv(tmp_path / "few.csv", index=False)
    with pytest.raises(SchemaError, match=r"accounts.parquet: \d+ row\(s\) whose "
                                          r"'customer_id' is not in .*few.csv"):
        read_log(tmp_path / "tx.parquet", tmp_path / "few.csv", labels=tmp_path / "labels.csv",
                 accounts=tmp_path / "accounts.parquet")


def test_history_features_on_a_hand_made_log():
    t0 = pd.Timestamp("2025-01-06")
    tx = pd.DataFrame({
        "tx_id": [1, 2, 3, 4, 5],
        "timestamp": [t0, t0 + pd.Timedelta(minutes=10), t0 + pd.Timedelta(minutes=30),
                      t0 + pd.Timedelta(hours=5), t0 + pd.Timedelta(minutes=20)],
        "account_id": [10, 10, 10, 10, 20], "channel": ["pos", "cnp", "cnp", "pos", "cnp"],
        "amount": [10.0, 20.0, 30.0, 40.0, 5.0], "mcc": [5411, 5964, 5964, 5411, 5964],
        "device_id": pd.array([None, 7, 8, None, 9], "Int64"), "region": [0, 0, 1, 0, 2],
        "status": ["approved"] * 4 + ["declined_card"]})
    acc = pd.DataFrame({"account_id": [10, 20], "customer_id": [1, 2]})
    cust = pd.DataFrame({"customer_id": [1, 2], "region": [0, 0]})
    f = history_features(tx, acc, cust)
    assert f["in_last_hour"].tolist() == [0, 1, 2, 0, 0]
    assert f["in_last_day"].tolist() == [0, 1, 2, 3, 0]
    assert f["log_gap"].round(3).tolist()[1:4] == list(np.round(np.log1p([600, 1200, 16200]), 3))
    assert f["cnp_share_so_far"].tolist()[:4] == [0, 0, 0.5, 2 / 3]
    assert f["new_device"].tolist() == [0, 1, 1, 0, 1]
    assert f["away"].tolist() == [0, 0, 1, 0, 1] and f["declined"].tolist() == [0, 0, 0, 0, 1]


def test_detection_metrics_on_a_known_ranking():
    y = np.r_[np.zeros(1000), np.ones(10)]
    s = np.r_[np.linspace(0, 0.5, 1000), np.linspace(0.4, 0.9, 10)]
    assert recall_at_fpr(y, s, 0.01) == pytest.approx(0.8)
    perfect = detection_scores(y, (y > 0).astype(float))
    assert perfect["pr_auc"] == 1.0 and perfect["minority_f1"] == 1.0 and perfect["brier"] == 0
    p = paired_summary(np.array([0.01, 0.02, 0.03]))
    assert p["ci95_low"] < 0.02 < p["ci95_high"] and p["mean"] == pytest.approx(0.02)


def test_learn_fits_at_customer_level_and_reaches_the_fraud_share(tables, tmp_path):
    import synthscape_finance
    from synthscape_finance.evaluate import restrict

    few = restrict(tables, tables["customers"]["customer_id"].iloc[:300])
    _write_log(few, tmp_path)
    out = synthscape_finance.learn(
        tmp_path / "tx.parquet", tmp_path / "customers.csv", labels=tmp_path / "labels.csv",
        accounts=tmp_path / "accounts.parquet", epsilon=1.0, customers_out=120,
        fraud_share=0.25, time_bounds=("2025-01-06", "2025-01-27"), max_events=32, seed=0,
        generator={"epochs": 1, "width": 8, "bins": 8, "device": "cpu"})
    assert 0 < out.ledger.epsilon <= 1.0 + 1e-9
    assert "per-entity DP-SGD" in out.ledger.describe() or out.ledger.to_dict()["events"]
    t = out.tables
    assert len(t["customers"]) == 120
    owner = t["accounts"].set_index("account_id")["customer_id"]
    fraud_tx = t["transactions"].loc[t["tx_labels"]["is_fraud"].to_numpy(), "account_id"]
    assert owner.reindex(fraud_tx).nunique() == 30  # 25% of the customers are victims
    assert len(t["transactions"]) > 0
    with pytest.raises(SchemaError, match="time_bounds"):
        synthscape_finance.learn(tmp_path / "tx.parquet", tmp_path / "customers.csv",
                                 labels=tmp_path / "labels.csv",
                                 accounts=tmp_path / "accounts.parquet")


def test_internal_evaluation_scores_realism_on_held_out_customers(tables):
    """The learned path's internal section compares the synthetic log with the held-out real
    customers (sequence_report), never the release."""
    from types import SimpleNamespace

    from synthscape_finance import learn_run, sequence_model
    from synthscape_finance.evaluate import restrict
    from synthscape_finance.learned import fit_and_sample

    few = restrict(tables, tables["customers"]["customer_id"].iloc[:240])
    log = {k: few[k] for k in learn_run.TABLES}
    ents, evs = _sequences(few)
    train = ents.index < 180
    train_ids, test_ids = ents["customer_id"][train], ents["customer_id"][~train]
    schema = sequence_log.sequence_schema(start="2025-01-06", end="2025-01-27", max_events=32)
    out = fit_and_sample(ents[train], evs[evs["customer_id"].isin(train_ids)], schema,
                         epsilon=1.0, delta=1e-5, customers_out=60, fraud_share=0.25, seed=0,
                         generator={"epochs": 1, "width": 8, "bins": 8, "device": "cpu"})
    sections = {}
    ctx = SimpleNamespace(internal_meta={}, internal_report=SimpleNamespace(
        add_section=lambda name, **kw: sections.__setitem__(name, kw)))
    learn_run._internal(ctx, SimpleNamespace(seed=0), log, out, ents, evs, train, train_ids,
                        test_ids)
    scores = sections["learned"]["scores"]
    assert "realism_skipped" not in scores and scores["test_customers"] == 60
    syn = sequence_log.to_sequences(out.tables["transactions"], out.tables["tx_labels"],
                                    out.tables["accounts"], out.tables["customers"])
    held = sequence_model.report(ents[~train], evs[evs["customer_id"].isin(test_ids)], *syn,
                                 schema)
    on_train = sequence_model.report(ents[train], evs[evs["customer_id"].isin(train_ids)],
                                     *syn, schema)
    for k in ("count_ks", "gap_ks", "hour_tvd", "dow_tvd", "max_event_tvd"):
        assert scores[f"realism_{k}"] == pytest.approx(held[k]) and 0 <= held[k] <= 1, k
    assert scores["realism_event_tvd_channel"] == pytest.approx(held["event_tvd"]["channel"])
    assert held["count_ks"] != on_train["count_ks"] or held["gap_ks"] != on_train["gap_ks"]

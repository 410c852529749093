import hashlib

import numpy as np
import pandas as pd
from conftest import small_spec

from synthscape_finance.events import ROLES, STAGES, TYPOLOGY_NAMES
from synthscape_finance.schemas import TABLES
from synthscape_finance.simulator import Simulation
from synthscape_finance.spec import AML_TYPOLOGIES, CARD_TYPOLOGIES
from synthscape_finance.stream import stream


def _digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_same_seed_same_bytes_and_other_seed_differs(tmp_path):
    spec = small_spec(population={"customers": 300, "merchants": 200, "days": 9})
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    stream(Simulation(spec), a)
    stream(Simulation(spec), b)
    stream(Simulation(spec.model_copy(update={"seed": 4})), c)
    assert _digest(a) == _digest(b)
    assert _digest(a)["transactions.parquet"] != _digest(c)["transactions.parquet"]


def test_chunking_does_not_change_the_data():
    base = small_spec(population={"customers": 300, "merchants": 200, "days": 9})
    one = Simulation(base.model_copy(update={"chunk_days": 9})).run_in_memory()
    three = Simulation(base.model_copy(update={"chunk_days": 3})).run_in_memory()
    # legitimate draws differ by chunk, but the patterns and the books do not
    for t in (one, three):
        j = t["transactions"].merge(t["tx_labels"], on="tx_id")
        assert (j.loc[j.pattern_id.notna(), "typology"].astype(str) != "none").all()
    a, b = one["tx_labels"], three["tx_labels"]
    assert a["is_fraud"].sum() == b["is_fraud"].sum()
    assert a["is_laundering"].sum() == b["is_laundering"].sum()


def test_tables_match_their_json_schemas(tables):
    for name, cols in TABLES.items():
        assert list(tables[name].columns) == list(cols), name
        for col, spec in cols.items():
            if not spec[1]:
                assert tables[name][col].notna().all(), f"{name}.{col} has nulls"
            if len(spec) > 3:
                seen = set(tables[name][col].dropna().astype(type(spec[3][0])).unique())
                assert seen <= set(spec[3]), f"{name}.{col}: {seen - set(spec[3])}"


def test_every_typology_appears_with_consistent_labels(tables):
    j = tables["joined"]
    typ = j["typology"].astype(str)
    assert set(typ) == set(TYPOLOGY_NAMES)
    card = typ.isin(CARD_TYPOLOGIES + ("lone_fraud",))
    aml = typ.isin(AML_TYPOLOGIES + ("lone_laundering",))
    assert not j.loc[~card, "is_fraud"].any()
    assert not j.loc[~aml, "is_laundering"].any()
    assert j.loc[aml, "is_laundering"].all()
    fraud_stages = {"probe", "cashout", "burst", "spree", "access", "drain", "misuse", "bust",
                    "lone"}
    st = j["stage"].astype(str)
    assert (j.loc[card, "is_fraud"] == st[card].isin(fraud_stages)).all()
    assert (st[typ == "none"] == "none").all() and j.loc[typ == "none", "pattern_id"].isna().all()
    assert j.loc[typ != "none", "pattern_id"].notna().all()
    assert set(st) <= set(STAGES)
    # one typology per pattern
    assert (j[typ != "none"].groupby("pattern_id")["typology"].nunique() == 1).all()


def test_account_labels_agree_with_laundering_rows(tables):
    j, lab = tables["joined"], tables["account_labels"]
    laund_accounts = set(j.loc[j.is_laundering, "account_id"])
    assert laund_accounts <= set(lab.loc[lab.is_laundering, "account_id"])
    assert set(lab["role"]) <= set(ROLES)
    assert (lab.loc[~lab.is_laundering, "role"] == "none").all()
    labelled = lab[lab.is_laundering]
    assert (labelled["typology"].isin(AML_TYPOLOGIES + ("lone_laundering",))).all()


def test_balances_add_up_per_account(tables):
    tx = tables["transactions"]
    credit = tx["channel"].astype(str).isin(["deposit", "cash_deposit"])
    sign = np.where(credit, 1, -1)
    cents = lambda s: np.round(s.to_numpy() * 100).astype(np.int64)  # noqa: E731
    posted = tx.amount.where(tx.status.astype(str) == "approved", 0.0)  # a decline posts 0
    assert (cents(tx.balance_before) + sign * cents(posted) == cents(tx.balance_after)).all()
    t = tx[tx.counterparty_id.notna()]
    assert (cents(t.cp_balance_before) + cents(posted[t.index])
            == cents(t.cp_balance_after)).all()
    # postings chain: each account's next balance starts where the last one ended
    post = pd.concat([
        pd.DataFrame({"acc": tx.account_id, "tx": tx.tx_id, "b": cents(tx.balance_before),
                      "a": cents(tx.balance_after), "side": 0}),
        pd.DataFrame({"acc": t.counterparty_id.astype("int64"), "tx": t.tx_id,
                      "b": cents(t.cp_balance_before), "a": cents(t.cp_balance_after),
                      "side": 1})]).sort_values(["acc", "tx", "side"], kind="stable")
    same = post.acc.to_numpy()[1:] == post.acc.to_numpy()[:-1]
    assert (post.b.to_numpy()[1:][same] == post.a.to_numpy()[:-1][same]).all()
    first = post.groupby("acc").first()["b"]
    last = post.groupby("acc").last()["a"]
    acc = tables["accounts"].set_index("account_id")
    assert (cents(acc.loc[first.index, "opening_balance"]) == first.to_numpy()).all()
    assert (cents(acc.loc[last.index, "closing_balance"]) == last.to_numpy()).all()


def test_observed_label_departs_from_truth(tables):
    j = tables["joined"]
    illicit = j.is_fraud | j.is_laundering
    assert 0.5 < j.loc[j.is_fraud, "alerted"].mean() < 0.95      # fraud_reported = 0.8
    assert j.loc[~illicit, "alerted"].mean() < 0.005             # false alerts are rare
    assert (j.alerted & ~illicit).any() or j.loc[~illicit, "alerted"].sum() == 0


def test_ids_are_unordered_and_timestamps_sorted(tables):
    tx = tables["transactions"]
    assert tx["tx_id"].is_monotonic_increasing and tx["timestamp"].is_monotonic_increasing
    assert tx["tx_id"].is_unique
    acc = tables["accounts"]
    # identifiers are random permutations: no relation to the account's role
    lab = tables["account_labels"]
    r = np.corrcoef(acc.account_id.rank(), lab.is_laundering.astype(float))[0, 1]
    assert abs(r) < 0.1


def test_json_schema_files_are_in_sync(tmp_path):
    import json
    from pathlib import Path

    from synthscape_finance.schemas import export

    shipped = Path(__file__).resolve().parents[3] / "data_schemas" / "finance"
    for p in export(tmp_path):
        assert json.loads((shipped / p.name).read_text()) == json.loads(p.read_text()), (
            f"{shipped / p.name} is stale: run python -m synthscape_finance.schemas "
            f"data_schemas/finance")


def test_no_balance_goes_below_its_overdraft_limit(tables):
    tx = tables["transactions"].merge(tables["accounts"][["account_id", "account_kind"]],
                                      on="account_id")
    limit = tx["account_kind"].astype(str).map({"checking": 500.0, "savings": 0.0,
                                    "business": 5000.0}).astype(float)
    assert (tx["balance_after"] >= -limit - 1e-9).all()
    t = tables["transactions"]
    cp = t[t.counterparty_id.notna()].merge(
        tables["accounts"][["account_id", "account_kind"]], left_on="counterparty_id",
        right_on="account_id", suffixes=("", "_cp"))
    assert (cp["cp_balance_after"] >= -cp["account_kind"].astype(str).map(
        {"checking": 500.0, "savings": 0.0, "business": 5000.0}) - 1e-9).all()
    # the limit binds: some debits were declined for it, and they moved no money
    dec = tx[tx.status.astype(str) == "declined_funds"]
    assert len(dec) > 0 and (dec.balance_after == dec.balance_before).all()
    assert (dec.balance_before - dec.amount < -limit[dec.index] - 1e-9).all()
    assert not dec.channel.astype(str).isin(["deposit", "cash_deposit"]).any()


def test_declined_attempts_keep_their_labels(tables):
    j = tables["joined"]
    st = j["status"].astype(str)
    probes = j[j.stage.astype(str) == "probe"]
    # the issuer rejects a share of card-testing probes (declined_share 0.4); they stay fraud
    share = (probes.status.astype(str) == "declined_card").mean()
    assert 0.2 < share < 0.6 and probes.is_fraud.all()
    assert (st == "declined_card").sum() == (probes.status.astype(str) == "declined_card").sum()
    assert j.loc[st != "approved", "is_fraud"].any()


def test_a_tighter_limit_declines_more():
    loose = small_spec(population={"customers": 300, "merchants": 200, "days": 9},
                       overdraft={"checking": 5000.0, "savings": 1000.0})
    tight = loose.model_copy(update={"overdraft": loose.overdraft.model_copy(
        update={"checking": 0.0, "savings": 0.0})})
    a, b = Simulation(loose), Simulation(tight)
    for sim in (a, b):
        for _ in sim.chunks():
            pass
    assert a.status_rows[1] < b.status_rows[1]
    assert a.status_rows.sum() == b.status_rows.sum()  # declines are kept as attempts

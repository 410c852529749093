import networkx as nx
import numpy as np
import pandas as pd
import pytest

from synthscape_finance.typologies.aml import pattern_edges


def _patterns(j, name):
    rows = j[j["typology"].astype(str) == name]
    assert len(rows), f"no {name} rows"
    return rows.groupby("pattern_id")


def _graph(rows):
    t = rows[rows["channel"].astype(str) == "transfer"]
    g = nx.DiGraph()
    g.add_edges_from(zip(t.account_id, t.counterparty_id.astype("int64")))
    return g


def _degrees(g):
    return sorted(d for _, d in g.in_degree()), sorted(d for _, d in g.out_degree())


@pytest.mark.parametrize("name", ["fan_in", "fan_out", "cycle", "scatter_gather",
                                  "gather_scatter", "bipartite", "stack"])
def test_laundering_patterns_have_their_graph_shape(tables, name):
    for _, rows in _patterns(tables["joined"], name):
        g = _graph(rows)
        k = g.number_of_nodes()
        ins, outs = _degrees(g)
        if name == "fan_in":
            assert ins == [0] * (k - 1) + [k - 1] and outs == [0] + [1] * (k - 1)
        elif name == "fan_out":
            assert outs == [0] * (k - 1) + [k - 1] and ins == [0] + [1] * (k - 1)
        elif name == "cycle":
            assert len(nx.find_cycle(g)) == k and ins == outs == [1] * k
        elif name == "scatter_gather":
            assert nx.is_directed_acyclic_graph(g)
            assert ins == [0] + [1] * (k - 2) + [k - 2] and outs == [0] + [1] * (k - 2) + [k - 2]
            assert nx.dag_longest_path_length(g) == 2
        elif name == "gather_scatter":
            hub = max(g.nodes, key=lambda v: g.in_degree(v) + g.out_degree(v))
            assert g.in_degree(hub) >= 1 and g.out_degree(hub) >= 1
            assert all(g.in_degree(v) + g.out_degree(v) == 1 for v in g if v != hub)
        elif name == "bipartite":
            assert nx.is_bipartite(g)
            assert all(g.in_degree(v) == 0 or g.out_degree(v) == 0 for v in g)
        elif name == "stack":
            assert nx.is_directed_acyclic_graph(g) and nx.dag_longest_path_length(g) == 2
        # money first enters the senders from outside (placement), then moves
        dep = rows[rows["channel"].astype(str) == "deposit"]
        senders = {v for v in g if g.out_degree(v) > 0 and
                   (name == "cycle" or g.in_degree(v) == 0)}
        if name != "cycle":
            assert senders == set(dep.account_id)
        assert (dep["stage"].astype(str) == "placement").all()


def test_pattern_edges_cover_all_nodes():
    rng = np.random.default_rng(0)
    for name in ("fan_in", "fan_out", "cycle", "scatter_gather", "gather_scatter",
                 "bipartite", "stack"):
        for k in range(4, 12):
            src, dst, hop, roles = pattern_edges(name, k, rng)
            assert set(src) | set(dst) == set(range(k)) and len(roles) == k
            assert (src != dst).all()


def test_structuring_stays_under_the_threshold(tables):
    j = tables["joined"]
    s = j[j["typology"].astype(str) == "structuring"]
    assert (s.channel.astype(str) == "cash_deposit").all()
    assert s.amount.between(10_000 * 0.88, 10_000).all()
    assert (s.groupby("pattern_id").size() >= 3).all()


def test_card_testing_probes_come_before_large_cashouts(tables):
    for _, rows in _patterns(tables["joined"], "card_testing"):
        probe = rows[rows.stage.astype(str) == "probe"]
        cash = rows[rows.stage.astype(str) == "cashout"]
        assert len(probe) >= 3 and len(cash) >= 1
        assert probe.amount.max() <= 5.0 < cash.amount.median()
        assert probe.timestamp.max() < cash.timestamp.min()
        assert (rows.channel.astype(str) == "cnp").all() and rows.device_id.nunique() == 1


def test_account_takeover_drains_the_balance_after_a_new_device(tables):
    for _, rows in _patterns(tables["joined"], "account_takeover"):
        access = rows[rows.stage.astype(str) == "access"].iloc[0]
        drain = rows[rows.stage.astype(str) == "drain"].iloc[0]
        assert access.timestamp < drain.timestamp and access.device_id == drain.device_id
        if drain.balance_before > 100:
            assert 0.8 * drain.balance_before - 0.01 <= drain.amount <= drain.balance_before


def test_merchant_compromise_exposes_at_one_merchant_then_misuses_elsewhere(tables):
    for _, rows in _patterns(tables["joined"], "merchant_compromise"):
        exp = rows[rows.stage.astype(str) == "exposure"]
        mis = rows[rows.stage.astype(str) == "misuse"]
        assert exp.merchant_id.nunique() == 1 and not exp.is_fraud.any()
        assert mis.is_fraud.all() and set(mis.account_id) <= set(exp.account_id)
        first = exp.groupby("account_id").timestamp.min()
        assert (mis.timestamp.to_numpy() > first.loc[mis.account_id].to_numpy()).all()


def test_bust_out_builds_then_busts_then_goes_dormant(tables):
    j = tables["joined"]
    acc = tables["accounts"].set_index("account_id")
    start = j.timestamp.min().normalize()
    for _, rows in _patterns(j, "bust_out"):
        build = rows[rows.stage.astype(str) == "build"]
        bust = rows[rows.stage.astype(str) == "bust"]
        assert not build.is_fraud.any() and bust.is_fraud.all()
        assert build.timestamp.max() < bust.timestamp.min()
        assert bust.amount.median() > build.amount.median()
        a = rows.account_id.iloc[0]
        day = acc.loc[a, "default_day"]
        if not pd.isna(day):
            after = start + np.timedelta64(int(day) + 1, "D")
            later = j[(j.account_id == a) & (j.timestamp >= after)
                      & (j.channel.astype(str).isin(["pos", "cnp"]))]
            assert later.empty


def test_lookalikes_are_legitimate(tables):
    j = tables["joined"]
    for name in ("small_burst", "payroll", "cash_business"):
        rows = j[j["typology"].astype(str) == name]
        assert len(rows) and not (rows.is_fraud | rows.is_laundering).any()
    burst = j[j["typology"].astype(str) == "small_burst"]
    assert (burst.groupby("pattern_id").size() >= 5).all() and burst.amount.max() <= 8.0


def test_pattern_graph_for_authoring():
    from synthscape_finance.typologies.aml import pattern_graph

    g = pattern_graph("scatter_gather", 6)
    assert nx.is_directed_acyclic_graph(g) and g.number_of_nodes() == 6
    assert [g.nodes[v]["role"] for v in (0, 5)] == ["source", "target"]
    assert {d["hop"] for _, _, d in g.edges(data=True)} == {0, 1}

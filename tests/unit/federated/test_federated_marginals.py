"""Marginal federation end to end on the in-process transport."""
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synthscape.errors import ParameterError
from synthscape.federated import InProcessTransport, Site, fit_federated
from synthscape.federated.coordinator import _Pool
from synthscape.federated.messages import decode, encode
from synthscape.privacy import Budget


def _sites(parts, eps=(1.0, 1.0, 1.0)):
    return [Site(f"s{i}", p, budget=Budget(epsilon=e)) for i, (p, e) in enumerate(zip(parts, eps))]


@given(st.lists(st.floats(0.1, 100), min_size=1, max_size=6))
@settings(max_examples=30, deadline=None)
def test_summed_measurement_has_the_summed_variance(sigmas):
    pool = _Pool([3], iters=1)
    answers = {f"s{i}": {"y": [np.ones(3) * i], "sigma": s} for i, s in enumerate(sigmas)}
    pool.add([(0,)], answers)
    m = pool.measurements[0]
    assert m.sigma == pytest.approx(math.sqrt(sum(s * s for s in sigmas)))
    assert m.y == pytest.approx(np.ones(3) * sum(range(len(sigmas))))


def test_messages_round_trip_arrays_and_nesting():
    msg = {"op": "measure", "y": [np.arange(6.0).reshape(2, 3), np.array([1], np.int64)],
           "share": 0.25, "nested": {"k": ["a", "b"]}}
    back = decode(encode(msg))
    assert back["op"] == "measure" and back["share"] == 0.25 and back["nested"] == {"k": ["a", "b"]}
    assert np.array_equal(back["y"][0], msg["y"][0]) and back["y"][1].dtype == np.int64


def test_federated_aim_learns_the_pooled_pairs_and_spends_each_site_budget(parts, schema):
    sites = _sites(parts, eps=(1.0, 2.0, 1.0))
    fit = fit_federated(InProcessTransport(sites), schema, discover=["x"], bins=8, rounds=12,
                        iters=40, seed=0)
    pooled = pd.concat(parts, ignore_index=True)
    syn = fit.generator.sample(4000)
    assert set(fit.generator.schema_["x"].categories) == {"x0", "x1", "x2", "x3"}
    truth = pd.crosstab(pooled.x, pooled.y, normalize=True)
    got = pd.crosstab(syn.x, syn.y, normalize=True).reindex_like(truth).fillna(0)
    tvd = 0.5 * float(np.abs(truth - got).to_numpy().sum())
    assert 0.0 < tvd < 0.12
    for site, want in zip(sites, (1.0, 2.0, 1.0)):  # every site spends its own budget, no more
        assert want * 0.95 <= fit.ledgers[site.name].epsilon <= want * (1 + 1e-6)
        assert site.ledger.epsilon == pytest.approx(fit.ledgers[site.name].epsilon)
    assert fit.generator.ledger_.epsilon == pytest.approx(2.0, rel=0.05)  # the worst site
    assert "at most epsilon = 2" in fit.guarantee


def test_declared_workload_measures_one_round(parts, schema):
    fit = fit_federated(InProcessTransport(_sites(parts)), schema, discover=["x"],
                        workload=[("x", "y"), ("x", "z")], bins=6, iters=30, seed=1)
    assert fit.rounds == 1
    assert sorted(map(sorted, fit.cliques)) == [["x", "y"], ["x", "z"]]
    assert len(fit.generator.sample(50)) == 50
    with pytest.raises(ParameterError, match="max_model_size"):
        fit_federated(InProcessTransport(_sites(parts)), schema, discover=["x"],
                      workload=[("x", "y")], bins=6, iters=5, max_model_size=1e-6)
    with pytest.raises(ParameterError, match="workload names unknown column"):
        fit_federated(InProcessTransport(_sites(parts)), schema, discover=["x"],
                      workload=[("x", "nope")], bins=6, iters=5)


def test_vocabulary_union_keeps_frequent_keys_of_any_site_and_drops_singletons(parts, schema):
    parts = [p.copy() for p in parts]
    parts[0].loc[:, "x"] = "only-at-site-0"  # frequent at one site only
    parts[1].loc[0, "x"] = "a-single-record"
    fit = fit_federated(InProcessTransport(_sites(parts)), schema, discover=["x"],
                        workload=[("x", "y")], bins=4, iters=5)
    cats = set(fit.generator.schema_["x"].categories)
    assert "only-at-site-0" in cats and "a-single-record" not in cats


def test_site_refuses_unknown_requests_and_measuring_before_setup(parts):
    site = Site("a", parts[0], budget=Budget(epsilon=1.0))
    with pytest.raises(ParameterError, match="unknown request"):
        site.handle({"op": "rows"})
    with pytest.raises(ParameterError, match="send 'setup'"):
        site.handle({"op": "measure", "cliques": [[0]], "share": 0.5})
    assert site.ledger.epsilon == 0.0


def test_rounds_coarsen_numerical_bins_like_central_aim(parts, schema):
    messages: list = []
    sites = [Site(f"s{i}", p, budget=Budget(epsilon=0.3)) for i, p in enumerate(parts)]
    fit = fit_federated(InProcessTransport(sites, tap=lambda *m: messages.append(m)), schema,
                        bins=32, rounds=8, iters=20, seed=0)
    z = fit.generator.disc_.columns[fit.generator.disc_.names.index("z")]
    assert 8 <= z.n_values < 32 and z.fine_weights is not None
    recode = [decode(b) for d, _, b in messages if d == "to" and b'"recode"' in b]
    assert len(recode) == len(sites)  # every site merges the same public bins
    out = fit.generator.sample(500, seed=1)
    assert out["z"].between(-3, 6).all() and out["z"].nunique() > 50


def test_a_dependence_that_runs_across_sites_is_learned_through_the_site_column(tmp_path):
    """Each site holds one value of ``x`` and mostly one of ``y``: inside a site the two are
    independent, across sites they are tied. Scoring each site against its own one-way
    marginals alone cannot see that; the model's hidden site column carries it."""
    rng = np.random.default_rng(0)
    parts = []
    for k in range(4):
        y = np.where(rng.random(700) < 0.85, k, rng.integers(0, 4, 700))
        parts.append(pd.DataFrame({"x": [f"x{k}"] * 700, "y": y.astype(str),
                                   "z": rng.normal(size=700).clip(-3, 6)}))
    from synthscape.schema import Column, TableSchema
    schema = TableSchema(columns=(
        Column(name="x", kind="categorical", categories=("x0", "x1", "x2", "x3")),
        Column(name="y", kind="categorical", categories=("0", "1", "2", "3")),
        Column(name="z", kind="numerical", lower=-3, upper=6)))
    sites = [Site(f"s{i}", p, budget=Budget(epsilon=1.0)) for i, p in enumerate(parts)]
    fit = fit_federated(InProcessTransport(sites), schema, bins=8, iters=50, seed=0)
    out = fit.generator.sample(4000, seed=0)
    assert list(out.columns) == ["x", "y", "z"]  # the site column is sampled, then dropped
    agree = (out["x"].str[1] == out["y"]).mean()
    assert agree > 0.75  # 0.85 + 0.15 / 4 in the pooled data; 0.25 if x and y were independent
    path = tmp_path / "m"
    fit.generator.save(path)
    from synthscape.generators import load
    again = load(path)
    assert again.latent_ == fit.generator.latent_
    assert again.sample(300, seed=3).equals(fit.generator.sample(300, seed=3))


@pytest.mark.parametrize("secure", [False, True], ids=["plain", "secure-aggregation"])
def test_measure_first_measures_the_declared_pairs_before_any_round_scores(parts, schema,
                                                                           secure):
    from synthscape.federated.secagg import SecureAggregation

    sent: list[dict] = []
    sites = [Site(f"s{i}", p, budget=Budget(epsilon=1.0),
                  secure_aggregation=SecureAggregation(len(parts), 0) if secure else None)
             for i, p in enumerate(parts)]
    tr = InProcessTransport(sites, tap=lambda way, name, data: sent.append(decode(data))
                            if way == "to" and name == "s0" else None)
    fit = fit_federated(tr, schema, discover=["x"], measure_first=[("z", "y")], bins=6,
                        rounds=12, iters=30, seed=0, secure_aggregation=secure)
    ops = [(m["op"], m.get("cliques")) for m in sent if m["op"] in ("measure", "score")]
    first_pair = next(i for i, (op, cl) in enumerate(ops) if op == "measure" and len(cl[0]) == 2)
    assert ops[first_pair][1] == [[0, 1]]  # (y, z): the schema's columns, then the discovered x
    assert all(op == "measure" for op, _ in ops[:first_pair])  # no selection before it
    assert any(op == "score" for op, _ in ops[first_pair:])  # the rounds then choose the rest
    assert any({"y", "z"} <= set(c) for c in fit.cliques)
    assert all(0.95 <= led.epsilon <= 1 + 1e-6 for led in fit.ledgers.values())


def test_measure_first_errors_name_the_fix(parts, schema):
    def fit(**kw):
        return fit_federated(InProcessTransport(_sites(parts)), schema, discover=["x"], bins=6,
                             iters=5, **kw)

    with pytest.raises(ParameterError, match="give one of workload and measure_first"):
        fit(workload=[("x", "y")], measure_first=[("x", "z")])
    with pytest.raises(ParameterError, match="measure_first names unknown column"):
        fit(measure_first=[("x", "nope")])
    with pytest.raises(ParameterError, match="raise rounds"):
        fit(measure_first=[("x", "y"), ("x", "z"), ("y", "z")], rounds=4, first_share=0.9)

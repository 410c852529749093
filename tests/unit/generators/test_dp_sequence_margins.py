"""dp_sequence's margin release and calibration: one entity moves the released sums by at most
the stated sensitivity, the shrinkage keeps what the model already fits, the calibrated sampler
meets skewed margins the model alone misses, and the shifts are saved with the model."""
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synthscape.generators import load, make
from synthscape.testing import sequence_conformance_data

pytest.importorskip("torch")


def _encoding():
    from synthscape.generators.dp_sequence._encoding import SequenceEncoding

    return SequenceEncoding(sequence_conformance_data(5)[2], bins=8)


@pytest.mark.parametrize("by, group_events", [(None, False), (0, False), (0, True), (1, True)])
@pytest.mark.parametrize("mode", ["shares", "presence"])
@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 12))
def test_one_entity_moves_the_sums_by_at_most_the_sensitivity(mode, by, group_events, seed, n):
    """The neighbouring relation of the release: the sums over a set of entities and over the
    same set without one differ by that entity's vector, whose L2 norm is bounded; grouping
    the event part by an entity field (``by``) does not raise the bound."""
    from synthscape.generators.dp_sequence._margins import sensitivity, split, statistic, weights

    enc = _encoding()
    rng = np.random.default_rng(seed)
    L, k = enc.schema.max_events, len(enc.column_fields)
    ents = np.stack([rng.integers(0, f.size, n) for f in enc.entity_fields], axis=1)
    cols = np.stack([rng.integers(0, f.size, (n, L)) for f in enc.column_fields], axis=2)
    lengths = rng.integers(0, L + 1, n)
    starts = np.where(lengths > 0, rng.integers(0, enc.gap_size, n), -1)
    whole = statistic(ents, lengths, cols, starts, enc, mode, by, group_events)
    bound = sensitivity(enc, mode, by)
    a, b = weights(enc, mode, by)
    for i in range(n):
        rest = np.arange(n) != i
        diff = whole - statistic(ents[rest], lengths[rest], cols[rest], starts[rest], enc,
                                 mode, by, group_events)
        assert np.linalg.norm(diff) <= bound + 1e-9
        assert diff[0] == 1.0  # the count cell
        _, ent, _, pres = split(diff, enc, by, group_events)
        n_pres = sum(p.size for p in pres)
        scaled = diff * np.r_[np.full(len(diff) - n_pres, a), np.full(n_pres, b)]
        assert np.linalg.norm(scaled) <= 1.0 + 1e-9  # what the release's noise is set for
        if by is not None:  # only the entity's own group moves
            own = int(np.flatnonzero(ent[by])[0])
            moved = [p for p in (*ent[by + 1:2], *(pres if group_events else ()))]
            assert moved and all(p.ndim == 2 and np.abs(np.delete(p, own, axis=0)).sum() == 0
                                 for p in moved)
    # count, 2 entity fields (and the crossed one pooled), the first event's day offset, then
    # per categorical event column (amount is not in) its values present or its shares
    event_part = 3 + 2 + 4 if mode == "presence" else 3
    pooled = int(by == 0)  # field 1 is crossed with field 0 and also released pooled
    assert k == 4 and bound == pytest.approx(math.sqrt(1 + 2 + pooled + 1 + event_part))


def test_a_numerical_entity_field_is_released_in_runs_of_bins():
    from synthscape.generators.dp_sequence._encoding import Field
    from synthscape.generators.dp_sequence._margins import GROUPS, groups

    g = groups(Field("age", "numerical", 33, edges=tuple(range(33)), nullable=True))
    assert g.max() == GROUPS and g[-1] == GROUPS  # the null class alone
    assert (np.diff(g[:-1]) >= 0).all() and len(set(g[:-1])) == GROUPS


def test_raking_meets_the_pooled_shares_and_keeps_each_row_a_distribution():
    from synthscape.generators.dp_sequence._margins import rake

    rows = np.array([[0.9, 0.1], [0.5, 0.5], [0.2, 0.8]])
    weight = np.array([0.2, 0.5, 0.3])
    out = rake(rows, np.array([0.4, 0.6]), weight)
    assert np.allclose(out.sum(axis=1), 1.0) and np.allclose(weight @ out, [0.4, 0.6], atol=1e-4)
    assert (np.diff(out[:, 0]) < 0).all()  # the groups keep their order


def test_shrinkage_keeps_the_model_where_the_release_is_only_noise():
    from synthscape.generators.dp_sequence._shrink import shrink

    rng = np.random.default_rng(0)
    model = np.full(200, 0.3)
    noisy = 0.3 + rng.normal(0, 0.05, 200)  # the model is right: the release is noise
    assert np.abs(shrink(noisy, model, np.full(200, 0.05**2)) - 0.3).max() < 0.02
    off = np.where(np.arange(200) % 2 == 0, 0.1, 0.5)  # the model misses by 0.2 everywhere
    moved = shrink(off + rng.normal(0, 0.01, 200), model, np.full(200, 0.01**2))
    assert np.abs(moved - off).mean() < 0.02


@pytest.fixture(scope="module")
def skewed():
    """Customers of whom 5% are flagged (the model alone samples far more at one epoch), and
    card events of which about 80% are at an ATM."""
    evs, ents, schema = sequence_conformance_data(500, seed=6)
    rng = np.random.default_rng(2)
    ents = ents.assign(flagged=rng.random(len(ents)) < 0.05)
    channel = np.where(rng.random(len(evs)) < 0.8, "atm", "pos")
    return evs.assign(channel=channel), ents, schema


def _atm(ents: pd.DataFrame, evs: pd.DataFrame, mode: str) -> float:
    """The statistic the release holds of the ATM value: its mean share of a customer's
    events, or the share of customers with an ATM event."""
    atm = evs.assign(a=evs.channel == "atm").groupby("cid").a
    per = (atm.mean() if mode == "shares" else atm.any()).reindex(ents.cid)
    return float(per.dropna().mean() if mode == "shares" else per.fillna(False).mean())


@pytest.mark.parametrize("mode", ["shares", "presence"])
def test_calibration_meets_margins_the_model_alone_misses(skewed, tmp_path, monkeypatch, mode):
    monkeypatch.setenv("SYNTHSCAPE_NOISE_KEY", "7e57" * 16)  # a fixed owner's key: repeatable
    evs, ents, schema = skewed
    gen = make("dp_sequence", epsilon=50.0, schema=schema, seed=3, epochs=1, batch_size=64,
               width=8, bins=8, device="cpu", margin_events=mode).fit(
        evs, ents, entity_key="cid", time_key="ts")
    cal = gen.training_["margins"]
    assert cal["pilot_error_after"] < 0.5 * cal["pilot_error_before"]
    real_atm = _atm(ents, evs, mode)

    def measure(gen):
        e, v = gen.sample(1500, seed=0)
        return e.flagged.mean(), _atm(e, v, mode)

    flagged, atm = measure(gen)
    shifts = gen.model_.entity_shift, gen.model_.column_shift, gen.model_.start_shift
    del gen.model_.entity_shift, gen.model_.column_shift, gen.model_.start_shift
    flagged0, atm0 = measure(gen)  # the same model without the shifts
    gen.model_.entity_shift, gen.model_.column_shift, gen.model_.start_shift = shifts
    assert abs(flagged - 0.05) < 0.03 < abs(flagged0 - 0.05)
    assert abs(atm - real_atm) < 0.05 < abs(atm0 - real_atm)
    gen.save(tmp_path / "m")
    back = load(tmp_path / "m")
    assert back.margin_events == mode
    for a, b in zip(back.model_.entity_shift, gen.model_.entity_shift):
        assert np.array_equal(a.numpy(), b.numpy())
    pd.testing.assert_frame_equal(back.sample(50, seed=3)[0], gen.sample(50, seed=3)[0])
    pd.testing.assert_frame_equal(back.sample(50, seed=3)[1], gen.sample(50, seed=3)[1])


def test_margins_can_be_turned_off(skewed):
    evs, ents, schema = skewed
    gen = make("dp_sequence", epsilon=5.0, schema=schema, seed=3, margin_share=None, epochs=1,
               batch_size=64, width=8, bins=8, device="cpu").fit(
        evs, ents, entity_key="cid", time_key="ts")
    assert not any(e.label.startswith("entity margins") for e in gen.ledger_.events)
    assert "margins" not in gen.training_ and not hasattr(gen.model_, "entity_shift")


@pytest.fixture(scope="module")
def by_segment():
    """Business customers' events are 90% at an ATM, retail customers' 10%: a dependence on an
    entity column that one epoch of DP-SGD does not learn."""
    evs, ents, schema = sequence_conformance_data(600, seed=8)
    rng = np.random.default_rng(4)
    business = evs.cid.map(ents.set_index("cid").segment.eq("business"))
    channel = np.where(rng.random(len(evs)) < np.where(business, 0.9, 0.1), "atm", "pos")
    return evs.assign(channel=channel), ents, schema


def _atm_by_segment(ents: pd.DataFrame, evs: pd.DataFrame) -> pd.Series:
    seg = evs.cid.map(ents.set_index("cid").segment)
    return evs.channel.eq("atm").groupby(seg).mean()


def test_grouped_margins_follow_an_entity_column(by_segment, tmp_path, monkeypatch):
    monkeypatch.setenv("SYNTHSCAPE_NOISE_KEY", "7e57" * 16)
    evs, ents, schema = by_segment
    real = _atm_by_segment(ents, evs)
    kw = dict(epsilon=50.0, schema=schema, seed=3, epochs=1, batch_size=64, width=8, bins=8,
              device="cpu")
    flat = make("dp_sequence", **kw).fit(evs, ents, entity_key="cid", time_key="ts")
    grouped = make("dp_sequence", margin_by="segment", margin_by_events=True, **kw).fit(
        evs, ents, entity_key="cid", time_key="ts")
    assert any("per group of 'segment'" in e.label for e in grouped.ledger_.events)
    gap = {name: float((_atm_by_segment(*g.sample(1500, seed=0)) - real).abs().max())
           for name, g in (("flat", flat), ("grouped", grouped))}
    assert gap["grouped"] < 0.1 < gap["flat"]
    grouped.save(tmp_path / "m")
    back = load(tmp_path / "m")
    assert back.model_.column_group[0] == 0 and back.margin_by == "segment"
    for j, s in grouped.model_.column_shift.items():
        assert s.dim() == 2 and np.array_equal(back.model_.column_shift[j].numpy(), s.numpy())
    pd.testing.assert_frame_equal(back.sample(80, seed=3)[1], grouped.sample(80, seed=3)[1])


def test_margin_by_is_checked_before_anything_is_spent(by_segment):
    from synthscape.errors import ParameterError

    evs, ents, schema = by_segment
    for kw, match in (({"margin_by": "nope"}, "margin_by='nope' is not an entity column"),
                      ({"margin_by": "segment", "margin_share": None}, "needs the margin")):
        with pytest.raises(ParameterError, match=match):
            make("dp_sequence", epsilon=1.0, schema=schema, **kw).fit(
                evs, ents, entity_key="cid", time_key="ts")


def test_a_trend_over_ordered_groups_pools_what_noisy_cells_tell():
    """Shares that follow a logistic curve over 8 ordered groups, released with noise that
    swamps the small groups' cells: the fitted trend is closer to the truth than the released
    shares in every small group, and far closer on average; a null group keeps the model's
    shares, and with fewer than 3 ordered groups the model's shares come back unchanged."""
    from synthscape.generators.dp_sequence._shrink import trend

    sizes = np.array([40, 120, 400, 900, 1200, 800, 300, 30], float)
    p = 1 / (1 + np.exp(-(2.5 - 0.9 * np.arange(8))))  # 92% in the first group, 0.4% in the last
    counts = np.stack([sizes * (1 - p), sizes * p], axis=1)
    rng = np.random.default_rng(0)
    got = np.c_[np.append(sizes * 0.9, 50), np.append(sizes * 0.1, 50)]  # model: 10% anywhere
    p_total = got.sum(axis=1)
    raw_err, fit_err = [], []
    for _ in range(50):
        noisy = np.r_[counts, [[40.0, 10.0]]] + rng.normal(0, 50, (9, 2))
        total = noisy.sum(axis=1)
        prior = trend(noisy, total, 50.0, got, p_total, ordered=8)
        share = prior[:8, 1] / prior[:8].sum(axis=1)
        assert np.allclose(prior[8], got[8])  # the null group: the model's
        assert np.allclose(prior.sum(axis=1)[:8], p_total[:8])  # counts on the pilot's scale
        raw_err.append(np.abs(np.clip(noisy[:8, 1] / np.maximum(total[:8], 1), 0, 1) - p))
        fit_err.append(np.abs(share - p))
    raw, fit = np.mean(raw_err, axis=0), np.mean(fit_err, axis=0)
    small = sizes < 200
    assert (fit[small] < raw[small]).all() and fit.mean() < 0.5 * raw.mean()
    assert np.array_equal(trend(counts[:2], counts[:2].sum(1), 50.0, got[:2], p_total[:2], 2),
                          got[:2])
    # no noise (a non-private fit): the exact release needs no prior
    assert np.array_equal(trend(counts, counts.sum(1), 0.0, got[:8], p_total[:8], 8), got[:8])


@pytest.fixture(scope="module")
def by_age():
    """Entities with an age (0-100) and a death flag whose share rises with age as mortality
    does (0.2% at 0, 71% at 100): a curve one epoch of DP-SGD does not learn."""
    from synthscape.schema import Column, SequenceSchema, TableSchema

    evs, ents, schema = sequence_conformance_data(1500, seed=9)
    rng = np.random.default_rng(5)
    age = rng.uniform(0, 100, len(ents)).round()
    dead = rng.random(len(ents)) < 1 / (1 + np.exp(-(-6.0 + 0.07 * age)))
    ents = pd.DataFrame({"cid": ents.cid, "age": age, "dead": dead})
    schema = SequenceSchema(
        entities=TableSchema(columns=(Column(name="age", kind="numerical", lower=0, upper=100),
                                      Column(name="dead", kind="boolean")), name="people"),
        events=schema.events, entity_key="cid", time_key="ts", max_events=12,
        time_bounds=("2024-01-01", "2024-03-01"))
    return evs, ents, schema


def test_crossed_shares_over_an_ordered_column_follow_its_trend(by_age, monkeypatch):
    """margin_by a numerical column: the crossed flag's per-group targets start from the trend
    over the groups, so the sampled share follows age at both ends; starting from the model's
    shares (the trend replaced by them) the young and the old get nearly the pooled share."""
    from synthscape.generators.dp_sequence import _margins

    monkeypatch.setenv("SYNTHSCAPE_NOISE_KEY", "7e57" * 16)
    evs, ents, schema = by_age
    young, old = ents.age < 25, ents.age >= 75
    real = (float(ents.dead[young].mean()), float(ents.dead[old].mean()))
    kw = dict(epsilon=1.0, schema=schema, seed=3, epochs=1, batch_size=64, width=8, bins=8,
              device="cpu", margin_by="age", length_by="age")

    def shares(gen):
        s = gen.sample(4000, seed=1)[0]
        return (float(s.dead[s.age < 25].mean()), float(s.dead[s.age >= 75].mean()))

    with_trend = shares(make("dp_sequence", **kw).fit(evs, ents, entity_key="cid",
                                                       time_key="ts"))
    monkeypatch.setattr(_margins, "trend", lambda noisy, total, std, got, p_total, k: got)
    without = shares(make("dp_sequence", **kw).fit(evs, ents, entity_key="cid",
                                                    time_key="ts"))
    assert abs(with_trend[0] - real[0]) < 0.05 and abs(with_trend[1] - real[1]) < 0.15
    assert abs(without[0] - real[0]) + abs(without[1] - real[1]) > \
        2 * (abs(with_trend[0] - real[0]) + abs(with_trend[1] - real[1]))

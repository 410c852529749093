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

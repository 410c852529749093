"""dp_sequence: what the ledger pays for, bounds and truncation, inference of undeclared parts,
conditions, defaults, and a recipient's replay of a saved model."""
import json

import numpy as np
import pandas as pd
import pytest

from synthscape.errors import ParameterError, SchemaError
from synthscape.generators import load, make
from synthscape.testing import noise_key, sequence_conformance_data

pytest.importorskip("torch")
SMALL = {"epochs": 1, "batch_size": 64, "width": 8, "bins": 8, "device": "cpu"}
N = 331  # entities: a count no parameter shares


@pytest.fixture(scope="module")
def data():
    return sequence_conformance_data(N, seed=4)


@pytest.fixture(scope="module")
def fitted(data):
    evs, ents, schema = data
    return make("dp_sequence", epsilon=2.0, schema=schema, seed=1, **SMALL).fit(
        evs, ents, entity_key="cid", time_key="ts")


def test_ledger_pays_the_count_lengths_profile_and_training_and_notes_the_cut(fitted, data):
    labels = [e.label for e in fitted.ledger_.events]
    assert labels[0].startswith("entity count") and labels[1].startswith("sequence lengths")
    assert labels[2].startswith("time of day") and labels[3].startswith("entity margins")
    assert labels[4].startswith("dp_sequence") and "first 12 events" in labels[4]
    assert 0 < fitted.ledger_.epsilon <= 2.0 and fitted.ledger_.is_private


def test_declared_entity_count_spends_nothing_on_counting(data):
    evs, ents, schema = data
    gen = make("dp_sequence", epsilon=2.0, schema=schema, seed=1, expected_entities=300,
               **SMALL).fit(evs, ents, entity_key="cid", time_key="ts")
    assert [e.label.split(":")[0] for e in gen.ledger_.events] == [
        "sequence lengths", "time of day", "entity margins", "dp_sequence"]
    assert gen.training_["planned_entities"] == 300


def test_samples_respect_the_bound_the_range_and_the_layout(fitted, data):
    _, _, schema = data
    ents, evs = fitted.sample(200, seed=0)
    assert list(ents.columns) == ["cid", "segment", "flagged"]
    assert list(evs.columns) == ["cid", "ts", "channel", "group", "code", "amount"]
    assert ents.cid.iloc[0] == "E000000" and evs.groupby("cid").size().max() <= 12
    assert evs.ts.between(schema.start, schema.end).all()
    assert ents.flagged.dtype == bool and evs.ts.dtype == "datetime64[ns]"


def test_longer_histories_are_cut_to_max_events(data):
    from synthscape.generators.dp_sequence._data import build_records
    from synthscape.generators.dp_sequence._encoding import SequenceEncoding

    evs, ents, schema = data
    enc = SequenceEncoding(schema.replace(max_events=3), bins=8)
    rec = build_records(evs, ents, enc, policy="error")
    assert rec.lengths.max() == 3 and rec.events.shape[1] == 3
    real = evs.groupby("cid").size().reindex(ents.cid, fill_value=0).clip(upper=3)
    assert (rec.lengths == real.to_numpy()).all()


def test_gap_classes_decode_into_their_own_class():
    from synthscape.generators.dp_sequence._encoding import SequenceEncoding

    _, _, schema = sequence_conformance_data(5)
    enc = SequenceEncoding(schema)
    rng = np.random.default_rng(0)
    t = np.sort(enc.start + rng.uniform(0, 50 * 86400, 400))
    first = np.r_[True, np.zeros(399, bool)]
    gap, tod, _ = enc.encode_times(t, first)
    prev = np.r_[enc.start, t[:-1]]
    again = enc.next_times(prev[1:], gap[1:], tod[1:], False, rng)
    pairs = np.column_stack([prev[1:], again]).ravel()  # (previous, decoded) per event
    codes, retod, _ = enc.encode_times(pairs, np.tile([True, False], len(again)))
    regap, retod = codes[1::2], retod[1::2]
    day = ~enc.is_short(gap[1:])
    # the same gap class; for day classes also the same half hour (unless pushed an hour on)
    assert (regap == gap[1:]).mean() > 0.97
    assert (retod[day] == tod[1:][day]).mean() > 0.9


def test_undeclared_event_columns_are_inferred_under_dp(data):
    evs, ents, schema = sequence_conformance_data(2000, seed=5)
    gen = make("dp_sequence", epsilon=30.0, seed=1, expected_entities=2000,
               schema=schema.replace(events=None), **SMALL)
    gen.fit(evs.drop(columns=["amount"]), ents, entity_key="cid", time_key="ts")
    labels = [e.label for e in gen.ledger_.events]
    assert "categories:channel" in labels and labels[-1].startswith("dp_sequence")
    assert set(gen.schema_.events["channel"].categories) == {"pos", "atm", "web"}


def test_conditions_on_entities_shares_and_events(fitted):
    ents, _ = fitted.sample(40, conditions={"flagged": True}, seed=0)
    assert ents.flagged.all()
    ents, _ = fitted.sample(50, conditions={"segment": {"retail": 0.2, "business": 0.8}}, seed=0)
    assert (ents.segment == "business").sum() == 40
    ents, evs = fitted.sample(30, conditions={"events": {"channel": "atm"}}, seed=0)
    assert evs[evs.channel == "atm"].cid.nunique() == 30


def test_an_unreachable_event_condition_raises_after_bounded_tries(fitted, monkeypatch):
    from synthscape.generators.dp_sequence import _conditions

    def empty(net, enc, ents, rng, lengths=None):
        n = len(ents)
        return np.zeros(n, np.int32), np.zeros((n, 12, 4), np.int32), np.zeros((n, 12))

    monkeypatch.setattr(_conditions, "draw_events", empty)
    with pytest.raises(ParameterError, match="almost never produces"):
        fitted.sample(5, conditions={"events": {"channel": "atm"}}, seed=0)


def test_seeds_and_save_load(fitted, tmp_path):
    a, b = fitted.sample(20, seed=3), fitted.sample(20, seed=3)
    pd.testing.assert_frame_equal(a[1], b[1])
    fitted.save(tmp_path / "m")
    again = load(tmp_path / "m")
    pd.testing.assert_frame_equal(again.sample(20, seed=3)[1], a[1])
    assert again.get_params()["schema"] == fitted.schema


def test_fit_errors_name_the_problem(data):
    evs, ents, schema = data
    gen = make("dp_sequence", epsilon=1.0, schema=schema, **SMALL)
    with pytest.raises(SchemaError, match="no column 'customer'"):
        gen.fit(evs, ents, entity_key="customer", time_key="ts")
    with pytest.raises(SchemaError, match="empty"):
        gen.fit(evs.iloc[:0], ents, entity_key="cid", time_key="ts")
    with pytest.raises(ParameterError, match="'width' parameter"):
        make("dp_sequence", width=1).fit(evs, ents, entity_key="cid", time_key="ts")


@pytest.mark.parametrize("n", [50, 1_000, 100_000, 5_000_000])
@pytest.mark.parametrize("eps", [0.3, 1.0, 8.0])
def test_defaults_depend_only_on_planned_entities_and_budget(n, eps):
    from synthscape.generators.dp_sequence import default_training

    d = default_training(n, 64, eps)
    assert 64 <= d["batch_size"] <= 4096 or d["batch_size"] == n
    assert d["batch_size"] <= n and 1 <= d["epochs"] <= 20
    steps = d["epochs"] * -(-n // d["batch_size"])
    assert 100 <= steps <= 2000 or d["epochs"] in (1, 20)


def test_a_recipient_replaying_the_published_fit_reproduces_no_noise(data, tmp_path):
    """Privacy: with the saved folder and the code, a recipient refits with every published
    value on the real data; without the owner's key nothing matches, and the folder holds no
    real entity key, no exact entity or event count."""
    evs, ents, schema = data
    with noise_key(None):
        gen = make("dp_sequence", epsilon=1.0, schema=schema, seed=9, **SMALL).fit(
            evs, ents, entity_key="cid", time_key="ts")
        gen.save(tmp_path / "release")
        meta = json.loads((tmp_path / "release" / "model.json").read_text())
        params = {**meta["params"], "schema": schema}
        replay = make(meta["generator"], **params).fit(evs, ents, entity_key="cid",
                                                       time_key="ts")
        replay.save(tmp_path / "replay")
    for name in ("weights.safetensors", "arrays.npz"):  # the network and the length histogram
        assert (tmp_path / "release" / name).read_bytes() != \
            (tmp_path / "replay" / name).read_bytes(), name
    text = (tmp_path / "release" / "model.json").read_text()
    assert "c00001" not in text and ents.cid.iloc[5] not in text
    for count in (N, len(evs)):
        assert f" {count}," not in text and f" {count}\n" not in text


def test_gap_prior_is_fixed_by_the_schema():
    from synthscape.generators.dp_sequence._encoding import END, SequenceEncoding

    _, _, schema = sequence_conformance_data(5)
    enc = SequenceEncoding(schema)
    prior = enc.gap_prior()
    assert prior.shape == (enc.gap_size,) and prior[END] == pytest.approx(-np.log(12))
    days = prior[1 + enc.n_short:]
    assert days[0] == 0.0 and (np.diff(days) < 0).all()


def test_declared_entity_columns_need_an_entities_table(data):
    evs, _, schema = data
    with pytest.raises(SchemaError, match="no entities table was given"):
        make("dp_sequence", schema=schema, **SMALL).fit(evs, entity_key="cid", time_key="ts")

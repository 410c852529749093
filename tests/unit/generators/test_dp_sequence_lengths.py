"""dp_sequence: the DP histogram of sequence lengths (released, drawn at sampling, persisted),
the DP time-of-day profile, and the same-day time constraint of sampling."""
import numpy as np
import pytest

from synthscape.errors import ModelFormatError, ParameterError
from synthscape.generators import load, make
from synthscape.privacy import Budget, PrivacyLedger
from synthscape.testing import sequence_conformance_data

pytest.importorskip("torch")
SMALL = {"epochs": 1, "batch_size": 64, "width": 8, "bins": 8, "device": "cpu"}


@pytest.fixture(scope="module")
def data():
    return sequence_conformance_data(263, seed=7)


@pytest.fixture(scope="module")
def fitted(data):
    evs, ents, schema = data
    return make("dp_sequence", epsilon=2.0, schema=schema, seed=2, length_by="flagged",
                **SMALL).fit(evs, ents, entity_key="cid", time_key="ts")


def _encoding():
    from synthscape.generators.dp_sequence._encoding import SequenceEncoding

    return SequenceEncoding(sequence_conformance_data(5)[2], bins=8)


def test_the_released_histogram_is_close_and_paid_once_per_fit():
    from synthscape.generators.dp_sequence._lengths import release

    enc = _encoding()  # L = 12; entity fields: segment, flagged
    rng = np.random.default_rng(0)
    n = 40_000
    flagged = rng.random(n) < 0.3
    lengths = np.where(flagged, rng.integers(8, 13, n), rng.integers(0, 5, n))
    codes = np.column_stack([rng.integers(0, 2, n), flagged.astype(int)]).astype(np.int32)
    ledger = PrivacyLedger(Budget(epsilon=1.0, delta=1e-5), accountant="prv")
    pooled = release(lengths, codes, enc, None, ledger=ledger, share=0.05)
    truth = np.bincount(lengths, minlength=13) / n
    assert pooled.probs.shape == (1, 13) and 0.5 * np.abs(pooled.probs[0] - truth).sum() < 0.03
    by = release(lengths, codes, enc, "flagged", ledger=ledger, share=0.05)
    assert by.by == 1 and by.probs.shape == (2, 13)
    assert by.probs[0, :5].sum() > 0.9 and by.probs[1, 8:].sum() > 0.9  # each group its own
    labels = [e.label for e in ledger.events]
    assert len(labels) == 2 and all(lb.startswith("sequence lengths") for lb in labels)
    assert "L2 sensitivity 1" in labels[1] and "'flagged'" in labels[1]
    draws = by.draw(codes[:2000], np.random.default_rng(1))
    assert (draws[flagged[:2000]] >= 8).mean() > 0.9 and (draws[~flagged[:2000]] <= 4).mean() > 0.9


def test_a_numerical_column_groups_lengths_by_runs_of_bins():
    """length_by on a numerical entity column (e.g. birth year): one histogram per run of
    ``GROUPS`` adjacent bins, each entity drawing from its run's."""
    import pandas as pd

    from synthscape.generators.dp_sequence._encoding import GROUPS, SequenceEncoding
    from synthscape.generators.dp_sequence._lengths import release
    from synthscape.schema import Column, TableSchema

    schema = sequence_conformance_data(5)[2]
    age = Column(name="age", kind="numerical", lower=0.0, upper=100.0)
    ents = TableSchema(columns=[*schema.entities.columns, age])
    enc = SequenceEncoding(schema.model_copy(update={"entities": ents}), bins=32)
    rng = np.random.default_rng(3)
    n = 40_000
    ages = rng.uniform(0, 100, n)
    lengths = np.where(ages > 50, 12, 2)
    bins = enc.encode_column(enc.entity_fields[2], pd.Series(ages))
    codes = np.column_stack([rng.integers(0, 2, n), rng.integers(0, 2, n), bins]).astype(np.int32)
    ledger = PrivacyLedger(Budget(epsilon=1.0, delta=1e-5), accountant="prv")
    model = release(lengths, codes, enc, "age", ledger=ledger, share=0.05)
    assert model.by == 2 and model.probs.shape == (GROUPS, 13) and len(model.cells) == 32
    draws = model.draw(codes[:4000], np.random.default_rng(1))
    young, old = ages[:4000] < 45, ages[:4000] > 55
    assert (draws[young] <= 3).mean() > 0.9 and (draws[old] >= 11).mean() > 0.9


def test_every_entity_gets_the_length_it_drew(fitted):
    from synthscape.generators.dp_sequence._lengths import LengthModel

    assert fitted.lengths_ is not None and fitted.arch_["length_input"]
    saved = fitted.lengths_
    try:
        fitted.lengths_ = LengthModel(np.eye(13)[[5, 0]], 12, by=1)  # not flagged: 5; flagged: 0
        ents, evs = fitted.sample(60, seed=4)
        count = evs.groupby("cid").size().reindex(ents.cid, fill_value=0).to_numpy()
        assert (count == np.where(ents.flagged, 0, 5)).all()
    finally:
        fitted.lengths_ = saved
    labels = [e.label for e in fitted.ledger_.events]
    assert [lb.split(":")[0].split(" (")[0] for lb in labels] == [
        "entity count", "sequence lengths", "time of day", "entity margins", "dp_sequence"]


def test_lengths_and_profile_can_be_turned_off(data):
    evs, ents, schema = data
    gen = make("dp_sequence", epsilon=2.0, schema=schema, seed=2, length_share=None,
               tod_share=None, margin_share=None, **SMALL).fit(evs, ents, entity_key="cid",
                                                               time_key="ts")
    assert gen.lengths_ is None and not gen.arch_["length_input"]
    assert [e.label.split(" (")[0] for e in gen.ledger_.events][:1] == ["entity count"]
    assert len(gen.ledger_.events) == 2 and gen.ledger_.events[1].label.startswith("dp_seq")
    ents_s, evs_s = gen.sample(20, seed=0)
    assert len(ents_s) == 20 and evs_s.groupby("cid").size().max() <= 12


def test_bad_length_settings_fail_before_any_spending(data):
    evs, ents, schema = data
    for params, match in (({"length_by": "no_such"}, "not an entity column"),
                          ({"length_by": "segment", "length_share": None}, "needs the length")):
        gen = make("dp_sequence", epsilon=2.0, schema=schema, **SMALL, **params)
        with pytest.raises(ParameterError, match=match):
            gen.fit(evs, ents, entity_key="cid", time_key="ts")
        assert not hasattr(gen, "ledger_")


def test_the_length_histogram_is_saved_and_checked(fitted, tmp_path):
    fitted.save(tmp_path / "m")
    again = load(tmp_path / "m")
    assert again.lengths_.by == fitted.lengths_.by == 1
    np.testing.assert_array_equal(again.lengths_.probs, fitted.lengths_.probs)
    a, b = fitted.sample(25, seed=6), again.sample(25, seed=6)
    assert a[1].equals(b[1])
    (tmp_path / "m" / "arrays.npz").unlink()
    with pytest.raises(ModelFormatError, match="arrays.npz"):
        load(tmp_path / "m")


def test_time_of_day_profile_starts_the_head_where_the_data_are():
    from synthscape.generators.dp_sequence._lengths import tod_logp, tod_prior

    n, L = 5000, 4
    events = np.zeros((n, L, 3), np.int32)
    events[:, :, 0] = 20  # a day-offset gap class (> n_short = 12)
    events[:, :, 1] = np.random.default_rng(0).choice([20, 21, 22], (n, L))  # 10:00 to 11:30
    ledger = PrivacyLedger(Budget(epsilon=1.0, delta=1e-5), accountant="prv")
    profile = tod_prior(events, np.full(n, L), 48, ledger=ledger, share=0.02)
    assert profile.shape == (24,) and abs(profile.sum() - 1) < 1e-9 and profile[10] > 0.5
    prior = tod_logp(profile, 48)
    assert prior.shape == (48,) and set(np.argsort(prior)[-3:]) == {20, 21, 22}
    assert prior[20] - prior[0] > 3  # several nats of day/night contrast
    assert ledger.events[0].label.startswith("time of day")


def test_a_same_day_event_cannot_come_before_the_last_one():
    from synthscape.generators.dp_sequence._sampling import _too_early

    prev = np.array([10 * 3600.0, 10 * 3600.0, 23.5 * 3600.0])
    late = _too_early(prev, np.array([13, 14, 13]), same_day=13).numpy()
    assert late[0].sum() == 22 and not late[0, 22] and not late[1].any()
    assert late[2].all()  # no room left in the day (the gap head gives that class no mass)


def test_length_classes_cover_zero_to_the_bound_with_the_bound_alone():
    from synthscape.generators.dp_sequence._lengths import LengthModel, length_edges

    for L in (1, 12, 17, 64, 128, 1000):
        e = length_edges(L)
        assert e[0] == 0 and e[-1] == L + 1 and e[-2] == L and (np.diff(e) >= 1).all()
        assert len(e) - 1 == L + 1 if L <= 17 else len(e) - 1 < L // 2
    model = LengthModel(np.eye(len(length_edges(64)) - 1)[[-3, -1]], 64)  # [50, 63) and 64
    got = model.draw(np.zeros((500, 0), np.int32), np.random.default_rng(0))
    assert set(got) <= set(range(50, 63)) and len(set(got)) > 8


def test_the_visit_offset_spreads_visits_not_the_events_of_one_visit():
    """With ``visit_offset`` the gap kernel is a log-distribution over the day offsets that
    fit in the time left and leaves the gaps under an hour at 0 (the head sets the split);
    a model saved without the flag keeps the kernel on every class."""
    import torch

    from synthscape.generators.dp_sequence._model import architecture, build

    enc = _encoding()
    arch = architecture(enc, 8, True)
    assert arch["visit_offset"] is True
    new, old = build(arch), build({k: v for k, v in arch.items() if k != "visit_offset"})
    k = 1 + enc.n_short
    steps, elapsed, lengths = torch.tensor([1, 1]), torch.tensor([0.0, 500.0]), \
        torch.tensor([3, 3])
    off = new.gap_offset(steps, elapsed, lengths)
    assert (off[:, :k] == 0).all()
    hours_left = new.span_hours - elapsed
    for row, left, at in zip(off, hours_left, elapsed):
        room = torch.log(torch.clamp(23.0 - (at + new.start_hour) % 24.0, min=0.05) / 23.0)
        day = row[k:].clone()
        day[0] -= room  # the same day, weighted by the hours left in it
        fits = new.log_gap_hours[k:] <= torch.log(left)
        assert torch.logsumexp(day[fits], 0).abs() < 1e-5
    at8 = torch.tensor([8.0, 8.0])  # hours since a range start at midnight: 8:00 ...
    new.start_hour = 0.0
    morning = new.gap_offset(steps, at8, lengths)
    new.start_hour = 12.0  # ... and 20:00 from a range start at noon, the same hours left
    evening = new.gap_offset(steps, at8, lengths)
    assert torch.equal(torch.cat([evening[:, :k], evening[:, k + 1:]], 1),
                       torch.cat([morning[:, :k], morning[:, k + 1:]], 1))
    moved = evening[:, k] - morning[:, k]
    assert torch.allclose(moved, torch.log(torch.tensor(3.0 / 15.0)).expand(2), atol=1e-5)
    before = old.gap_offset(steps, elapsed, lengths)
    assert (before[:, 1:k] < -5).all()  # the older kernel all but forbids a second event


def test_gap_spread_widens_the_kernel_and_is_saved(data, tmp_path):
    """``gap_spread`` is the kernel's width in log hours: at 2 a day offset k log-hours from
    the expected gap sits (k/2)^2 / 2 below the peak instead of k^2 / 2; the width is part of
    the saved architecture, and a model saved before it loads with width 1."""
    import torch

    from synthscape.generators.dp_sequence._model import architecture, build

    enc = _encoding()
    one, two = (architecture(enc, 8, True, gap_spread=s) for s in (1.0, 2.0))
    assert two["gap_kernel_sd"] == 2.0
    assert build({k: v for k, v in one.items() if k != "gap_kernel_sd"}).kernel_sd == 1.0
    steps, elapsed, lengths = torch.tensor([1]), torch.tensor([0.0]), torch.tensor([4])
    k = 1 + enc.n_short
    narrow, wide = (build(a).gap_offset(steps, elapsed, lengths)[0, k + 1:] for a in (one, two))
    # both are log-distributions over the day offsets; the wide one is flatter
    assert float(wide.max() - wide.min()) < 0.5 * float(narrow.max() - narrow.min())
    evs, ents, schema = data
    gen = make("dp_sequence", epsilon=2.0, schema=schema, seed=2, gap_spread=2.0,
               **SMALL).fit(evs, ents, entity_key="cid", time_key="ts")
    gen.save(tmp_path / "m")
    back = load(tmp_path / "m")
    assert back.model_.kernel_sd == 2.0
    a = gen.sample(40, seed=5)
    b = back.sample(40, seed=5)
    for x, y in zip(a, b):
        assert x.equals(y)
    with pytest.raises(ParameterError, match="gap_spread"):
        make("dp_sequence", epsilon=2.0, schema=schema, gap_spread=0.0, **SMALL).fit(
            evs, ents, entity_key="cid", time_key="ts")

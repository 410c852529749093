"""dp_sequence's declared anchor: a public day most entities' timelines share (a cohort's index
date) is one gap class, open until the entity reaches that day and closed after; a model with it
puts the events there that the data has, one without it spreads them over a wide day range."""
import numpy as np
import pandas as pd
import pytest
from _timelines import on_timeline

from synthscape.errors import SchemaError
from synthscape.generators import load, make
from synthscape.schema import SequenceSchema
from synthscape.testing import sequence_conformance_data

pytest.importorskip("torch")

ANCHOR = "2024-02-10"


def test_the_anchor_is_a_date_inside_the_time_bounds():
    base = {"entity_key": "k", "time_key": "t", "max_events": 4,
            "time_bounds": ["2024-01-01", "2024-03-01"]}
    assert SequenceSchema.from_dict({**base, "anchor": ANCHOR}).to_dict()["anchor"] == ANCHOR
    with pytest.raises(SchemaError, match="anchor.*outside time_bounds"):
        SequenceSchema.from_dict({**base, "anchor": "2024-05-01"})
    with pytest.raises(SchemaError, match="anchor.*not an ISO date"):
        SequenceSchema.from_dict({**base, "anchor": "day zero"})


def _encoding(anchor):
    from synthscape.generators.dp_sequence._encoding import SequenceEncoding

    _, _, schema = sequence_conformance_data(10, seed=0)
    return SequenceEncoding(schema.replace(anchor=anchor), bins=8)


def test_the_first_event_on_the_anchor_day_and_only_it_takes_the_anchor_class():
    enc, plain = _encoding(ANCHOR), _encoding(None)
    assert enc.gap_size == plain.gap_size + 1 and enc.anchor_class == plain.gap_size
    day = pd.Timestamp(ANCHOR)
    t = pd.to_datetime([day - pd.Timedelta(days=30), day + pd.Timedelta(hours=9),
                        day + pd.Timedelta(hours=15), day + pd.Timedelta(days=2),
                        day + pd.Timedelta(hours=8),  # a second entity: its first event
                        day - pd.Timedelta(days=1), day + pd.Timedelta(days=1)])  # a third
    sec = ((t - pd.Timestamp(0)) / pd.Timedelta(seconds=1)).to_numpy(float)
    first = np.array([1, 0, 0, 0, 1, 1, 0], bool)
    codes = enc.encode_times(sec, first)[0]
    is_anchor = codes == enc.anchor_class
    assert is_anchor.tolist() == [False, True, False, False, True, False, False]
    # the other events keep the classes they have without an anchor
    assert (codes[~is_anchor] == plain.encode_times(sec, first)[0][~is_anchor]).all()
    # sampling lands the class on the anchor day, at the drawn half hour
    rng = np.random.default_rng(0)
    prev = sec[[0, 5]]
    t_new = enc.next_times(prev, np.full(2, enc.anchor_class), np.array([18, 30]), False, rng)
    got = pd.to_datetime(t_new, unit="s")
    assert (got.normalize() == day).all() and got.hour.tolist() == [9, 15]


@pytest.fixture(scope="module")
def enrolled():
    """Customers followed from a month before to a month after an enrolment day that 80% of
    them have an event on."""
    evs, ents, schema = sequence_conformance_data(400, seed=5)
    rng = np.random.default_rng(1)
    day0 = pd.Timestamp(ANCHOR)
    rows = []
    for cid in ents.cid:
        days = sorted(rng.integers(-30, 20, int(rng.integers(1, 6))).tolist())
        if rng.random() < 0.8:
            days = sorted(set(days) | {0})
        rows += [(cid, day0 + pd.Timedelta(days=d, hours=int(rng.integers(8, 18))))
                 for d in days]
    return on_timeline(evs, rows, ["cid", "ts"]), ents, schema


def _share_on_anchor(evs: pd.DataFrame) -> float:
    on = evs.ts.dt.normalize() == pd.Timestamp(ANCHOR)
    return float(on.groupby(evs.cid).any().mean())


def _fit(evs, ents, schema):
    return make("dp_sequence", epsilon=None, schema=schema, seed=2, epochs=20, batch_size=64,
                width=16, bins=8, device="cpu").fit(evs, ents, entity_key="cid",
                                                    time_key="ts")


def test_an_anchored_model_puts_the_events_on_the_anchor_day(enrolled, tmp_path):
    evs, ents, schema = enrolled
    real = _share_on_anchor(evs)
    assert real > 0.75
    anchored = _fit(evs, ents, schema.replace(anchor=ANCHOR))
    plain = _fit(evs, ents, schema)
    _, got = anchored.sample(600, seed=0)
    _, base = plain.sample(600, seed=0)
    assert _share_on_anchor(got) > 0.5, _share_on_anchor(got)
    assert _share_on_anchor(base) < 0.3, _share_on_anchor(base)
    # at most one anchor class per entity: once an event is on the day, the class is closed,
    # so the events of that day after the first come from the other classes
    codes = anchored.encoding_.encode_times(
        ((got.ts - pd.Timestamp(0)) / pd.Timedelta(seconds=1)).to_numpy(float),
        np.r_[True, got.cid.to_numpy()[1:] != got.cid.to_numpy()[:-1]])[0]
    per = pd.Series(codes == anchored.encoding_.anchor_class).groupby(got.cid.to_numpy()).sum()
    assert per.max() == 1
    anchored.save(tmp_path / "m")
    again = load(tmp_path / "m")
    assert again.schema_.anchor == ANCHOR
    pd.testing.assert_frame_equal(again.sample(50, seed=3)[1], anchored.sample(50, seed=3)[1])


@pytest.fixture(scope="module")
def short_followup():
    """An anchor early in a two-month range; every record ends within ten days after it."""
    evs, ents, schema = sequence_conformance_data(400, seed=7)
    rng = np.random.default_rng(4)
    day0 = pd.Timestamp("2024-01-08")
    rows = []
    for cid in ents.cid:
        days = sorted(set(rng.integers(-7, 0, int(rng.integers(1, 4))).tolist()) | {0} |
                      set(rng.integers(1, 10, int(rng.integers(1, 6))).tolist()))
        rows += [(cid, day0 + pd.Timedelta(days=d, hours=int(rng.integers(8, 18))))
                 for d in days]
    return on_timeline(evs, rows, ["cid", "ts"]), ents, schema.replace(anchor="2024-01-08")


def _last_day_after(evs: pd.DataFrame) -> np.ndarray:
    return ((evs.groupby("cid").ts.max() - pd.Timestamp("2024-01-08")).dt.days).to_numpy()


def test_the_released_follow_up_keeps_records_as_short_as_the_real_ones(short_followup):
    evs, ents, schema = short_followup

    def fit(share):
        # a short fit: the gap kernel, not what the head has learnt, sets how far events go
        return make("dp_sequence", epsilon=None, schema=schema, seed=2, epochs=3,
                    batch_size=64, width=16, bins=8, device="cpu", followup_share=share).fit(
            evs, ents, entity_key="cid", time_key="ts")

    real = np.quantile(_last_day_after(evs), 0.9)
    assert real <= 9
    own = np.quantile(_last_day_after(fit(0.02).sample(600, seed=0)[1]), 0.9)
    to_range_end = np.quantile(_last_day_after(fit(None).sample(600, seed=0)[1]), 0.9)
    assert own <= real + 4 and to_range_end >= real + 15, (own, to_range_end)

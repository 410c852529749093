"""dp_sequence's time-of-day calibration at sampling: the statistic it matches is the released
one, the pilots move the sampled hours onto the released profile, and the shift is saved with
the model (post-processing: no ledger event)."""
import numpy as np
import pandas as pd
import pytest

from synthscape.generators import load, make
from synthscape.testing import sequence_conformance_data

pytest.importorskip("torch")


def test_hour_profile_counts_each_entity_once_over_its_events():
    from synthscape.generators.dp_sequence._encoding import SequenceEncoding
    from synthscape.generators.dp_sequence._tod import hour_profile

    enc = SequenceEncoding(sequence_conformance_data(10)[2], bins=8)
    day = 86400.0
    times = np.array([[8 * 3600, 8 * 3600 + 600, 20 * 3600, 0.0],  # second event: a short gap
                      [day + 9 * 3600, 2 * day + 9 * 3600, 0.0, 0.0]])
    prof = hour_profile(np.array([3, 2]), times, enc)
    assert prof[8] == pytest.approx(2 / 3) and prof[20] == pytest.approx(1 / 3)
    assert prof[9] == pytest.approx(1.0) and prof.sum() == pytest.approx(2.0)


@pytest.fixture(scope="module")
def skewed():
    """Card events whose times of day sit in the morning only (08:00-11:59)."""
    evs, ents, schema = sequence_conformance_data(400, seed=5)
    t = evs.ts.dt.normalize() + pd.to_timedelta(
        np.random.default_rng(1).uniform(8, 12, len(evs)), unit="h")
    return evs.assign(ts=t), ents, schema


def _profile(evs: pd.DataFrame, enc) -> np.ndarray:
    from synthscape.generators.dp_sequence._tod import hour_profile

    seconds = (evs.ts - pd.Timestamp("1970-01-01")).dt.total_seconds().to_numpy()
    groups = [g.to_numpy() for _, g in pd.Series(seconds).groupby(evs.cid.to_numpy())]
    L = max(len(g) for g in groups)
    times = np.zeros((len(groups), L))
    for i, g in enumerate(groups):
        times[i, :len(g)] = np.sort(g)
    prof = hour_profile(np.array([len(g) for g in groups]), times, enc)
    return prof / prof.sum()


def _tvd(a: np.ndarray, b: np.ndarray) -> float:
    return float(0.5 * np.abs(a - b).sum())


def test_calibration_pulls_sampled_hours_onto_the_released_profile(skewed, tmp_path,
                                                                   monkeypatch):
    monkeypatch.setenv("SYNTHSCAPE_NOISE_KEY", "7e57" * 16)  # a fixed owner's key: repeatable
    evs, ents, schema = skewed
    gen = make("dp_sequence", epsilon=50.0, schema=schema, seed=2, epochs=1, batch_size=64,
               width=8, bins=8, device="cpu").fit(evs, ents, entity_key="cid", time_key="ts")
    cal = gen.training_["time_of_day"]
    assert cal["pilot_tvd_after"] < 0.6 * cal["pilot_tvd_before"]
    assert not any("time of day" in e.label and "calibrat" in e.label
                   for e in gen.ledger_.events)  # post-processing: nothing spent
    real = _profile(evs, gen.encoding_)
    with_shift = _tvd(_profile(gen.sample(400, seed=0)[1], gen.encoding_), real)
    shift = gen.model_.tod_shift
    del gen.model_.tod_shift  # the same model without the shift
    without = _tvd(_profile(gen.sample(400, seed=0)[1], gen.encoding_), real)
    assert with_shift < without - 0.03  # closer to the real hours than the model alone
    gen.model_.tod_shift = shift
    gen.fit(evs, ents, entity_key="cid", time_key="ts").save(tmp_path / "m")
    back = load(tmp_path / "m")
    assert np.array_equal(back.model_.tod_shift.numpy(), gen.model_.tod_shift.numpy())
    pd.testing.assert_frame_equal(back.sample(50, seed=3)[1], gen.sample(50, seed=3)[1])

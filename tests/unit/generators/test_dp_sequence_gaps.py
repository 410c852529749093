"""dp_sequence's gap calibration at sampling: the released statistic counts each entity once
(sensitivity 1), the pilots move the sampled gap classes onto the released profile, the
release is spent from the ledger, and the shift is saved with the model."""
import numpy as np
import pandas as pd
import pytest
from _timelines import on_timeline

from synthscape.errors import ParameterError
from synthscape.generators import load, make
from synthscape.testing import sequence_conformance_data

pytest.importorskip("torch")


def test_gap_hist_counts_each_entity_once_after_its_first_event():
    from synthscape.generators.dp_sequence._gaps import FULL, gap_hist

    gaps = np.array([[9, 1, 1, 4],   # first event's gap is not counted
                     [9, 0, 0, 0],   # one event: no gap to count
                     [9, 2, 3, 0]])
    h = gap_hist(gaps, np.array([4, 1, 3]), 6)  # weights 3 / FULL and 2 / FULL
    assert h * FULL == pytest.approx([0, 2, 1, 1, 1, 0])
    long = np.full((1, FULL + 5), 2)
    assert gap_hist(long, np.array([FULL + 5]), 6) == pytest.approx([0, 0, 1, 0, 0, 0])
    rng = np.random.default_rng(0)
    for _ in range(50):  # add or remove one entity: L1 change <= 1
        g = rng.integers(0, 6, (20, 8))
        n = rng.integers(0, 9, 20)
        full, less = gap_hist(g, n, 6), gap_hist(g[1:], n[1:], 6)
        assert np.abs(full - less).sum() <= 1.0 + 1e-12


@pytest.fixture(scope="module")
def every_third_day():
    """Card customers whose events come exactly three days apart at midnight."""
    evs, ents, schema = sequence_conformance_data(300, seed=4)
    rng = np.random.default_rng(3)
    rows = []
    for cid in ents.cid:
        first = pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(rng.integers(0, 20)))
        for k in range(int(rng.integers(2, 12))):
            rows.append((cid, first + pd.Timedelta(days=3 * k)))
    return on_timeline(evs, rows, ["cid", "ts"]), ents, schema


def _profile(gen, evs: pd.DataFrame) -> np.ndarray:
    from synthscape.generators.dp_sequence._gaps import sampled_profile

    seconds = (evs.ts - pd.Timestamp("1970-01-01")).dt.total_seconds().to_numpy()
    groups = [np.sort(g.to_numpy()) for _, g in pd.Series(seconds).groupby(evs.cid.to_numpy())]
    L = max(len(g) for g in groups)
    times = np.zeros((len(groups), L))
    for i, g in enumerate(groups):
        times[i, :len(g)] = g
    prof = sampled_profile(np.array([len(g) for g in groups]), times, gen.encoding_)
    return prof / prof.sum()


def test_calibration_pulls_sampled_gaps_onto_the_released_profile(every_third_day, tmp_path,
                                                                  monkeypatch):
    monkeypatch.setenv("SYNTHSCAPE_NOISE_KEY", "7e57" * 16)  # a fixed owner's key: repeatable
    evs, ents, schema = every_third_day
    gen = make("dp_sequence", epsilon=50.0, schema=schema, seed=2, epochs=1, batch_size=64,
               width=8, bins=8, device="cpu", gap_share=0.05,
               margin_share=None).fit(evs, ents, entity_key="cid", time_key="ts")
    cal = gen.training_["gaps"]
    assert cal["pilot_tvd_after"] < 0.5 * cal["pilot_tvd_before"]
    assert sum("gap profile" in e.label for e in gen.ledger_.events) == 1  # spent once
    real = _profile(gen, evs)
    three = int(np.argmax(real))
    with_shift = _profile(gen, gen.sample(300, seed=0)[1])
    shift = gen.model_.gap_shift
    del gen.model_.gap_shift  # the same model without the shift
    without = _profile(gen, gen.sample(300, seed=0)[1])
    tvd = lambda a, b: 0.5 * np.abs(a - b).sum()  # noqa: E731
    assert tvd(with_shift, real) < tvd(without, real) - 0.1
    assert with_shift[three] > without[three] + 0.1
    gen.model_.gap_shift = shift
    gen.save(tmp_path / "m")
    back = load(tmp_path / "m")
    assert np.array_equal(back.model_.gap_shift.numpy(), shift.numpy())
    pd.testing.assert_frame_equal(back.sample(50, seed=3)[1], gen.sample(50, seed=3)[1])


def test_a_gap_release_needs_released_lengths(every_third_day):
    evs, ents, schema = every_third_day
    gen = make("dp_sequence", epsilon=1.0, schema=schema, gap_share=0.02, length_share=None,
               device="cpu")
    with pytest.raises(ParameterError, match="gap_share.*length_share"):
        gen.fit(evs, ents, entity_key="cid", time_key="ts")

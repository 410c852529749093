"""dp_sequence's history inputs: the set of values a categorical event column held among an
entity's earlier events is an input of every step, so a model learns what the recurrence's
decays forget (a value that never comes twice, as in a register of first diagnoses)."""
import numpy as np
import pandas as pd
import pytest
from _timelines import on_timeline

from synthscape.errors import ParameterError
from synthscape.generators import load, make
from synthscape.testing import sequence_conformance_data

pytest.importorskip("torch")


@pytest.fixture(scope="module")
def first_codes():
    """Customers whose events carry each code at most once (drawn without replacement)."""
    evs, ents, schema = sequence_conformance_data(500, seed=6)
    rng = np.random.default_rng(2)
    rows = []
    for cid in ents.cid:
        codes = rng.permutation(["f1", "f2", "t1", "t2"])[:int(rng.integers(1, 5))]
        day = pd.Timestamp("2024-01-05")
        for c in codes:
            day += pd.Timedelta(days=int(rng.integers(1, 9)), hours=int(rng.integers(9, 17)))
            rows.append((cid, day, c, "food" if c.startswith("f") else "travel"))
    return on_timeline(evs, rows, ["cid", "ts", "code", "group"]), ents, schema


def _repeats(evs: pd.DataFrame) -> float:
    """Share of entities with a code twice."""
    return float(evs.groupby("cid").code.agg(lambda s: s.duplicated().any()).mean())


def _fit(data, history):
    evs, ents, schema = data
    return make("dp_sequence", epsilon=None, schema=schema, seed=2, epochs=40, batch_size=64,
                lr=0.01, width=16, bins=8, device="cpu", history_columns=history).fit(
        evs, ents, entity_key="cid", time_key="ts")


def test_a_value_that_never_repeats_is_learned_from_the_history(first_codes, tmp_path):
    assert _repeats(first_codes[0]) == 0.0
    plain, with_history = _fit(first_codes, None), _fit(first_codes, ["code"])
    without = _repeats(plain.sample(800, seed=0)[1])
    got = with_history.sample(800, seed=0)[1]
    assert _repeats(got) < 0.6 * without, (_repeats(got), without)
    with_history.save(tmp_path / "m")
    again = load(tmp_path / "m")
    pd.testing.assert_frame_equal(again.sample(60, seed=4)[1],
                                  with_history.sample(60, seed=4)[1])


def test_a_history_column_must_be_a_categorical_event_column(first_codes):
    evs, ents, schema = first_codes
    gen = make("dp_sequence", epsilon=1.0, schema=schema, history_columns=["amount"])
    with pytest.raises(ParameterError, match="history_columns: 'amount' is not a categorical"):
        gen.fit(evs, ents, entity_key="cid", time_key="ts")
    assert not hasattr(gen, "ledger_")  # refused before any release

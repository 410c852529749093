"""A recipient of a saved model attacks it with every published value in hand.

(a) replaying the fit with the published seed and parameters reproduces no noise draw;
(b) on neighbouring tables D and D + 1 row, the replays match neither release;
(c) no exact real count or real extreme value is in the model folder;
(d) free reads of the private data make the release NOT PRIVATE;
(e) DP schema inference and the fit compose into one ledger;
(f) the DP-SGD loop cannot take more steps than were paid.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
from _recipient import (
    FAST,
    N_ROWS,
    OUTLIER,
    SCHEMA,
    folder_arrays,
    numbers_in_text,
    same_release,
    table,
)

from synthscape.errors import BudgetExceededError
from synthscape.generators import load, make
from synthscape.privacy import Budget
from synthscape.schema import TableSchema

pytestmark = pytest.mark.usefixtures("no_noise_key")
DP = sorted(FAST)


def _release(name, df, folder, seed=7, schema=SCHEMA):
    gen = make(name, epsilon=1.0, seed=seed, **FAST[name]).fit(df, schema)
    gen.save(folder)
    return folder_arrays(folder)


def _replay(folder, df, out):
    """Refit with everything model.json publishes (generator, parameters, public seed)."""
    meta = json.loads((folder / "model.json").read_text())
    gen = make(meta["generator"], **meta["params"]).fit(df, SCHEMA)
    gen.save(out)
    return folder_arrays(out)


@pytest.mark.parametrize("name", DP)
def test_replay_with_published_values_reproduces_no_noise(name, tmp_path):
    df = table()
    released = _release(name, df, tmp_path / "release")
    replay = _replay(tmp_path / "release", df, tmp_path / "replay")
    assert not same_release(released, replay)
    # the DP measurements themselves differ, not only a bit of post-processing
    noisy = [k for k in released if k in replay and released[k].shape == replay[k].shape
             and released[k].size > 1 and not np.array_equal(released[k], replay[k])]
    assert noisy, "no released array changed between two fits with the same public seed"


@pytest.mark.parametrize("name", ["independent", "mst", "dp_tvae"])
def test_neighbouring_tables_cannot_be_told_apart_by_replay(name, tmp_path):
    d = table()
    d1 = table(N_ROWS + 1, seed=1).iloc[[0]]
    d_plus = __import__("pandas").concat([d, d1], ignore_index=True)
    for truth, data in (("D", d), ("D+1", d_plus)):
        released = _release(name, data, tmp_path / f"release-{truth}")
        hits = [same_release(released, _replay(tmp_path / f"release-{truth}", cand,
                                               tmp_path / f"replay-{truth}-{label}"))
                for label, cand in (("D", d), ("D+1", d_plus))]
        assert hits == [False, False]


@pytest.mark.parametrize("name", DP)
def test_model_folder_holds_no_exact_count_or_extreme(name, tmp_path):
    df = table()
    folder = tmp_path / "model"
    _release(name, df, folder)
    text = "\n".join(p.read_text() for p in folder.glob("*.json"))
    written = numbers_in_text(text)  # whole numbers, not digits inside other numbers
    assert float(N_ROWS) not in written
    assert not any(np.isclose(v, OUTLIER) for v in written)
    values = np.concatenate([v.ravel() for v in folder_arrays(folder).values()])
    assert not np.any(np.isclose(values, OUTLIER))
    assert not np.any(values == float(N_ROWS))
    # a training summary derived only from DP values: the sampling rate comes from the DP
    # row count paid in the ledger (batch / rate is that noisy count, not the exact one)
    meta = json.loads((folder / "model.json").read_text())
    training = meta["state"].get("training", {})
    if training:
        assert "seconds" not in training and "n_patients" not in training
        first = meta["ledger"]["events"][0]
        assert first["kind"] == "gaussian" and first["label"].startswith("row count")


def test_dp_inferred_schema_shows_no_real_extreme(tmp_path):
    df = table(20_000)
    gen = make("independent", epsilon=2.0, seed=7).fit(df)  # schema inferred under DP
    income = gen.schema_["income"]
    assert income.upper != OUTLIER and income.upper in set(
        __import__("synthscape.schema._infer", fromlist=["GRID"]).GRID)
    assert gen.ledger_.is_private


def test_free_schema_reads_make_the_release_not_private():
    df = table()
    with pytest.warns(UserWarning, match="without differential privacy"):
        free = TableSchema.infer(df)
    assert free.provenance == "free" and free["income"].upper == OUTLIER
    for name in ("independent", "mst"):
        gen = make(name, epsilon=1.0, seed=0).fit(df, free)
        assert not gen.ledger_.is_private
        assert gen.ledger_.describe().startswith("NOT PRIVATE")
        assert "without DP" in gen.ledger_.describe()
    # a schema loaded from a file is declared: it costs nothing and says so
    assert TableSchema.from_dict(free.to_dict()).provenance == "declared"


def test_inference_and_fit_compose_in_one_ledger():
    df = table(20_000)
    schema = TableSchema.infer(df, Budget(epsilon=1.0, delta=1e-7))
    spent = schema.inference_ledger.epsilon
    assert 0.9 < spent <= 1.0
    gen = make("independent", epsilon=2.0, seed=0).fit(df, schema)
    labels = [e.label for e in gen.ledger_.events]
    assert [e.label for e in schema.inference_ledger.events] == labels[:len(labels) - 4]
    assert gen.ledger_.epsilon <= 2.0 * (1 + 1e-9)
    # the release pays for both steps: the fit alone had to leave room for the inference
    alone = make("independent", epsilon=2.0, seed=0).fit(df, SCHEMA)
    assert gen.ledger_.epsilon == pytest.approx(2.0, rel=1e-3)
    assert alone.ledger_.epsilon == pytest.approx(2.0, rel=1e-3)
    assert len(gen.ledger_.events) > len(alone.ledger_.events)
    # a budget smaller than what the inference already spent is refused before any spend
    with pytest.raises(BudgetExceededError, match="schema inference"):
        make("independent", epsilon=0.5 * spent, seed=0).fit(df, schema)


def test_dp_sgd_cannot_take_more_steps_than_paid(tmp_path):
    df = table()
    gen = make("dp_tvae", epsilon=1.0, seed=0, **FAST["dp_tvae"]).fit(df, SCHEMA)
    paid = [e for e in gen.ledger_.events if e.kind == "subsampled_gaussian"][0]
    assert gen.training_["steps_done"] == paid.steps
    gen.save(tmp_path / "m")
    assert load(tmp_path / "m").training_["steps_done"] == paid.steps

import numpy as np
import pytest

from synthscape.evaluation import fidelity as fid


def test_ks_and_tv_complement_known_values():
    assert fid.ks_complement(np.array([0.0, 1, 2, 3]), np.array([0.0, 1, 2, 3])) == 1.0
    assert fid.ks_complement(np.array([0.0, 1]), np.array([5.0, 6])) == 0.0
    # frequencies (0.5, 0.5) vs (1, 0): TVD 0.5
    assert fid.tv_complement(np.array([0, 1]), np.array([0, 0]), 2) == pytest.approx(0.5)


def test_identical_tables_score_one(train, schema):
    shapes, trends = fid.column_shapes(train, train, schema), fid.pair_trends(train, train, schema)
    q = fid.quality_scores(shapes, trends)
    assert q["quality_score"] == pytest.approx(1.0)
    assert q["correlation_difference_mean"] == pytest.approx(0.0)
    assert set(shapes["metric"]) == {"KSComplement", "TVComplement"}
    assert len(trends) == 15  # 6 modelled columns, the id column is left out
    strong = {(a, b) for a, b, m in trends[["column_1", "column_2", "meets_threshold"]]
              .itertuples(index=False) if m}
    assert ("age", "income") in strong and ("sex", "region") not in strong
    assert q["pairs_meeting_threshold"] == len(strong)


def test_broken_correlation_lowers_pair_trends(train, schema):
    shuffled = train.copy()
    shuffled["income"] = np.random.default_rng(0).permutation(train["income"].to_numpy())
    trends = fid.pair_trends(train, shuffled, schema)
    row = trends[(trends.column_1 == "age") & (trends.column_2 == "income")].iloc[0]
    assert row["metric"] == "CorrelationSimilarity"
    assert row["real"] > 0.5 and abs(row["synthetic"]) < 0.2
    assert row["score"] < 0.8
    # the column shapes are untouched by a permutation
    assert fid.column_shapes(train, shuffled, schema)["score"].min() == pytest.approx(1.0)


def test_detection_tells_shifted_data_apart(train, fresh, schema):
    rng = np.random.default_rng(0)
    same = fid.detection(train, fresh, schema, rng)
    shifted = fid.detection(train, fresh.assign(age=np.minimum(fresh["age"] + 25, 90)), schema,
                            np.random.default_rng(0))
    assert 0.3 < same["detection_auc"] < 0.7
    assert shifted["detection_auc"] > 0.9 and shifted["detection_score"] < 0.2


def test_alpha_beta(train, fresh, schema):
    good = fid.alpha_beta(train, fresh, schema, np.random.default_rng(0))
    collapsed = fid.alpha_beta(train, fresh.assign(age=18.0, income=1000.0), schema,
                               np.random.default_rng(0))
    assert good["alpha_precision"] > 0.8 and good["beta_recall"] > 0.3
    assert collapsed["alpha_precision"] < good["alpha_precision"] - 0.3
    copied = fid.alpha_beta(train, train, schema, np.random.default_rng(0))
    assert copied["authenticity"] == pytest.approx(0.0)
    assert list(good["curve"].columns) == ["alpha", "alpha_precision", "beta_recall"]

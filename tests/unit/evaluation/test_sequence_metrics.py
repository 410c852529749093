"""Sequence metrics: exact values on hand-made logs, and the membership attack's two ends."""
import numpy as np
import pandas as pd
import pytest

from synthscape.evaluation.attacks.sequence_membership import entity_membership, entity_profiles
from synthscape.evaluation.sequences import bigram_tvd, ks, sequence_report, tvd
from synthscape.testing import sequence_conformance_data


def test_tvd_and_ks_at_their_ends():
    a = pd.Series(["x", "x", "y", None])
    assert tvd(a, a) == 0.0
    assert tvd(pd.Series(["x"]), pd.Series(["y"])) == 1.0
    assert tvd(pd.Series(["x", "y"]), pd.Series(["x", "x"])) == pytest.approx(0.5)
    assert ks(np.arange(10.0), np.arange(10.0)) == 0.0
    assert ks(np.zeros(5), np.ones(5)) == 1.0


def test_bigram_distance_sees_a_changed_transition():
    real = pd.DataFrame({"prev": ["a", "a", "b", "b"], "next": ["b", "b", "a", "a"]})
    swapped = pd.DataFrame({"prev": ["a", "a", "b", "b"], "next": ["a", "a", "b", "b"]})
    assert bigram_tvd(real, real) == 0.0
    assert bigram_tvd(real, swapped) == 1.0


def test_report_of_a_log_against_itself_and_a_shifted_copy():
    evs, ents, schema = sequence_conformance_data(200, seed=2)
    same = sequence_report(ents, evs, ents, evs, schema)
    assert same["max_event_tvd"] == 0.0 and same["count_ks"] == 0.0 and same["gap_ks"] == 0.0
    assert same["bigram_tvd"] == 0.0 and same["hour_tvd"] == 0.0 and same["dow_tvd"] == 0.0
    moved = evs.assign(ts=evs.ts.dt.floor("D") + pd.Timedelta(hours=3), channel="pos")
    diff = sequence_report(ents, evs, ents, moved, schema)
    assert diff["hour_tvd"] > 0.9 and diff["event_tvd"]["channel"] > 0.5
    assert diff["dow_tvd"] == 0.0 and diff["bigram_column"] == "channel"


def test_membership_attack_sees_copies_and_not_strangers():
    members = sequence_conformance_data(300, seed=0)
    strangers = sequence_conformance_data(300, seed=1)
    others = sequence_conformance_data(300, seed=2)
    schema = members[2]
    copied = entity_membership(members[1::-1], strangers[1::-1], members[1::-1], schema)
    fresh = entity_membership(members[1::-1], strangers[1::-1], others[1::-1], schema)
    assert copied["auc"] > 0.95 and copied["n"] == 300
    assert 0.4 < fresh["auc"] < 0.6


def test_profiles_have_one_row_per_entity_including_empty_histories():
    evs, ents, schema = sequence_conformance_data(50, seed=3)
    prof = entity_profiles(ents, evs, schema)
    assert len(prof) == 50 and not prof.isna().any().any()
    assert (prof["n_events"] == evs.groupby("cid").size().reindex(ents.cid,
                                                                   fill_value=0).to_numpy()).all()

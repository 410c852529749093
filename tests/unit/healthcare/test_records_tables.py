from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from synthscape.errors import SchemaError
from synthscape.tables import conform, declared_columns
from synthscape_healthcare import load_synthea
from synthscape_healthcare.features import labels
from synthscape_healthcare.records import EHRData, from_synthea
from synthscape_healthcare.schemas import TABLES, json_schema
from synthscape_healthcare.tables import to_synthea_tables

from ._paths import CURRENT, V3, need_synthea_samples

ROOT = Path(__file__).resolve().parents[3]


def _frames():
    p = pd.DataFrame({"patient_id": ["a", "b"], "age": [50.0, 61.0], "sex": ["F", "M"],
                      "followup_days": [900.0, 100.0], "death": [False, True]})
    c = pd.DataFrame({"patient_id": ["a", "b", "b"], "code": ["I10", "I21.9", "I10"],
                      "day": [-30.0, 40.0, 0.0]})
    lab = pd.DataFrame({"patient_id": ["a"], "test": ["bmi"], "day": [0.0], "value": [31.0]})
    return p, c, lab


def test_user_frames_build_records_with_derived_encounters():
    data = EHRData(*_frames())
    assert data.n_patients == 2
    enc = data.encounters
    assert len(enc) == 4 and set(enc.encounter_class) == {"outpatient", "laboratory"}
    from synthscape.random import train_test_split

    # split by patient id (train_test_split): a seed that puts one patient on each side
    ids = pd.Series(data.patients.patient_id.to_numpy())
    seed = next(s for s in range(100) if len(train_test_split(ids, 0.5, s, "patients")[1]) == 1)
    a, b = data.split(0.5, seed)
    assert set(a.patients.patient_id).isdisjoint(b.patients.patient_id)
    assert a.n_patients == b.n_patients == 1
    assert list(data.split(0.5, seed)[1].patients.patient_id) == list(b.patients.patient_id)
    empty = next(s for s in range(100) if len(train_test_split(ids, 0.5, s, "patients")[1]) != 1)
    with pytest.raises(SchemaError, match="left an empty part"):
        data.split(0.5, empty)


def test_bad_frames_are_rejected_with_every_problem():
    p, c, lab = _frames()
    with pytest.raises(SchemaError) as err:
        EHRData(p.assign(sex=["F", "X"]), c.assign(patient_id=["a", "b", "zz"]), lab)
    msg = str(err.value)
    assert "patients.sex" in msg and "conditions.patient_id: 1 id(s) not in patients" in msg
    with pytest.raises(SchemaError, match=r"missing column\(s\) \['day'\]"):
        EHRData(p, c.drop(columns="day"), lab)
    with pytest.raises(SchemaError, match="no patients"):
        EHRData(p.iloc[:0], c.iloc[:0], lab.iloc[:0])


def test_labels_death_later_code_and_any_code(icd):
    from synthscape_healthcare.encoding import LabelSpec

    data = EHRData(*_frames())
    assert labels(data, LabelSpec(type="death")).tolist() == [False, True]
    later = labels(data, LabelSpec(type="later_code", code="I21", name="mi"), icd)
    assert later.name == "mi" and later.tolist() == [False, True]
    assert labels(data, LabelSpec(type="code", code="I10"), icd).tolist() == [True, True]
    with pytest.raises(ValueError, match="label.code is required"):
        LabelSpec(type="later_code")


def test_synthea_exports_become_records():
    need_synthea_samples()
    for folder, n in ((V3, 27), (CURRENT, 116)):
        data = from_synthea(load_synthea(folder), index_date="2015-01-01",
                            end_date="2024-01-01", lab_codes={"8302-2": "height"})
        assert data.n_patients == n and len(data.conditions) > 0
        fu = data.patients.followup_days
        assert data.patients.age.ge(0).all() and fu.between(0, 3287).all() and fu.max() == 3287
    assert set(data.labs.columns) == {"patient_id", "test", "day", "value"}


def test_synthea_like_tables_match_their_json_schemas(cohort_schema, icd):
    data = EHRData(*_frames())
    lab = labels(data, cohort_schema.label, icd)
    tables = to_synthea_tables(data, lab, cohort_schema, index_date="2015-01-01",
                               describe=icd.description)
    pats = tables["patients"].set_index("Id")
    assert pats.loc["b", "DEATHDATE"] == pd.Timestamp("2015-04-11")
    assert pd.isna(pats.loc["a", "DEATHDATE"])
    assert pats.loc["a", "BIRTHDATE"] == pd.Timestamp("1964-12-31")  # 50 * 365.25 days before
    assert pats.loc["b", "LABEL"] and not pats.loc["a", "LABEL"]
    cond = tables["conditions"]
    assert cond.ENCOUNTER.isin(tables["encounters"].Id).all()
    assert cond.DESCRIPTION.iloc[1] == "Acute myocardial infarction, unspecified"
    assert tables["observations"].CODE.tolist() == ["39156-5"]
    assert tables["conditions"].STOP.isna().all()
    for name, df in tables.items():  # the dtypes the schemas declare, as they are written
        declared = declared_columns(json_schema(name))
        assert list(df.columns) == [c.name for c in declared]
        assert all(df[c.name].dtype == c.dtype for c in declared), (name, df.dtypes)
        conform(df, json_schema(name), table=name)


def test_exported_json_schemas_are_in_sync():
    for name in TABLES:
        path = ROOT / "data_schemas" / "healthcare" / f"{name}.json"
        assert json.loads(path.read_text()) == json_schema(name), (
            f"{path} is stale; run: python -m synthscape_healthcare.schemas "
            f"data_schemas/healthcare")


def test_onset_bins_keep_day_zero_history_and_later_apart():
    import numpy as np

    from synthscape_healthcare.encoding import CohortSchema, decode, encode

    p = pd.DataFrame({"patient_id": ["a", "b", "c"], "age": [50.0, 60.0, 70.0],
                      "sex": ["F", "M", "F"], "followup_days": [1000.0] * 3,
                      "death": [False, True, False]})
    c = pd.DataFrame({"patient_id": ["a", "b", "c"], "code": ["X"] * 3, "day": [0.0, -10.0, 10.0]})
    schema = CohortSchema(vocabulary=["X"])
    enc = encode(EHRData(p, c), schema, {"X": 0})
    assert enc.onset.ravel().tolist() == [schema.n_onset - 1, 3, 4]
    days = decode(enc, schema, ["X"], np.random.default_rng(0)).conditions.day.tolist()
    assert days[0] == 0 and -365 <= days[1] < 0 and 0 < days[2] < 365

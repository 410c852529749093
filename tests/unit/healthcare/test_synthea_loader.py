from __future__ import annotations

import shutil

import pandas as pd
import pytest

from synthscape.errors import SchemaError
from synthscape_healthcare import load_synthea
from synthscape_healthcare.synthea import detect_version

from ._paths import CURRENT, V3, need_synthea_samples


def test_v3_export_is_detected_and_typed():
    need_synthea_samples()
    ex = load_synthea(V3)
    assert ex.version == "3.0.0" and ex.n_patients == 27
    assert "observations" in ex and "claims" in ex
    pats = ex["patients"]
    assert "MIDDLE" not in pats.columns and pd.api.types.is_datetime64_any_dtype(pats.BIRTHDATE)
    assert "SYSTEM" not in ex["conditions"].columns
    obs = ex["observations"]
    assert pd.api.types.is_datetime64_any_dtype(obs.DATE) and obs.VALUE_NUMERIC.notna().any()
    assert pd.api.types.is_float_dtype(pats.HEALTHCARE_EXPENSES)


def test_current_export_is_detected_and_keeps_codes_as_text():
    need_synthea_samples()
    ex = load_synthea(CURRENT, tables=["patients", "conditions"])
    assert ex.version == "current" and ex.n_patients == 116
    assert sorted(ex.tables) == ["conditions", "patients"]
    assert {"MIDDLE", "FIPS", "INCOME"} <= set(ex["patients"].columns)
    assert ex["conditions"].SYSTEM.eq("http://snomed.info/sct").all()
    assert ex["patients"].ZIP.str.len().eq(5).all()  # leading zeros kept
    with pytest.raises(KeyError, match="observations"):
        ex["observations"]


def test_bad_exports_are_rejected_clearly(tmp_path):
    need_synthea_samples()
    with pytest.raises(SchemaError, match="does not exist"):
        load_synthea(tmp_path / "nope")
    with pytest.raises(SchemaError, match="no patients.csv"):
        load_synthea(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    header = (CURRENT / "patients.csv").read_text().split("\n")[0]
    (empty / "patients.csv").write_text(header + "\n")
    with pytest.raises(SchemaError, match="the export is empty"):
        load_synthea(empty)
    odd = tmp_path / "odd"
    shutil.copytree(V3, odd, ignore=shutil.ignore_patterns("claims*", "obs*"))
    text = (odd / "conditions.csv").read_text()
    text = text.replace("START,STOP,PATIENT", "BEGIN,STOP,PATIENT", 1)
    (odd / "conditions.csv").write_text(text)
    with pytest.raises(SchemaError, match=r"closest: 3.0.0[\s\S]*conditions.csv: unexpected "
                                          r"columns \['BEGIN'\], missing \['START'\]"):
        detect_version(odd)
    with pytest.raises(SchemaError, match="requested but"):
        load_synthea(V3, tables=["patients", "nonexistent"])

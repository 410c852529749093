"""Synthea-like output tables (patients, encounters, conditions, observations) built from EHR
records; their row schemas are in schemas.py.

Columns follow Synthea's CSV names where they exist (``CSVConstants.java``); day offsets become
dates (datetime64, day precision) from a declared index date.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from synthscape.tables import conform
from synthscape_healthcare.encoding import CohortSchema
from synthscape_healthcare.records import EHRData
from synthscape_healthcare.schemas import json_schema

ICD10CM_SYSTEM = "http://hl7.org/fhir/sid/icd-10-cm"
# Synthea's encounter codes (SNOMED CT) for the two classes the EHR model derives.
ENCOUNTER_CODES = {"outpatient": ("185349003", "Encounter for check up (procedure)"),
                   "laboratory": ("185347001", "Encounter for problem (procedure)")}


def to_synthea_tables(data: EHRData, labels: pd.Series, schema: CohortSchema, *,
                      index_date: str, describe=None, system: str = ICD10CM_SYSTEM
                      ) -> dict[str, pd.DataFrame]:
    """Synthea-like tables with the dtypes of their schemas (schemas.py). ``labels`` is
    indexed by patient id; ``describe(code)`` gives a code's description (the ontology's)."""
    day0 = pd.Timestamp(index_date)

    def date(days) -> np.ndarray:
        """Day offsets -> dates (datetime64[us] at midnight; NaN -> NaT)."""
        when = day0 + pd.to_timedelta(np.asarray(days, float), unit="D")
        return when.floor("D").to_numpy().astype("datetime64[us]")

    p = data.patients
    death_day = np.where(p.death.to_numpy(bool), p.followup_days.to_numpy(float), np.nan)
    patients = pd.DataFrame({
        "Id": p.patient_id.astype(str).to_numpy(),
        "BIRTHDATE": date(-p.age.to_numpy(float) * 365.25),
        "DEATHDATE": date(death_day),
        "GENDER": p.sex.astype(str).to_numpy(),
        "AGE_AT_INDEX": p.age.to_numpy(float),
        "FOLLOWUP_DAYS": p.followup_days.to_numpy(float),
        "LABEL": labels.reindex(p.patient_id).fillna(False).astype(bool).to_numpy(),
    })
    assert data.encounters is not None  # EHRData derives them when none are given
    enc = data.encounters.reset_index(drop=True)
    enc_id = np.array([f"E{i:08d}" for i in range(len(enc))])
    key = pd.Series(enc_id, index=pd.MultiIndex.from_arrays([enc.patient_id.astype(str),
                                                              enc.day.astype(float)]))
    codes = enc.encounter_class.map(lambda c: ENCOUNTER_CODES[c][0])
    encounters = pd.DataFrame({"Id": enc_id, "START": date(enc.day), "STOP": date(enc.day),
                               "PATIENT": enc.patient_id.astype(str).to_numpy(),
                               "ENCOUNTERCLASS": enc.encounter_class.to_numpy(),
                               "CODE": codes.to_numpy(),
                               "DESCRIPTION": enc.encounter_class.map(
                                   lambda c: ENCOUNTER_CODES[c][1]).to_numpy()})

    def visit(df) -> np.ndarray:
        idx = pd.MultiIndex.from_arrays([df.patient_id.astype(str), df.day.astype(float)])
        return key.reindex(idx).to_numpy()

    c = data.conditions
    describe = describe or (lambda code: "")
    conditions = pd.DataFrame({"START": date(c.day),
                               "STOP": np.full(len(c), np.datetime64("NaT"), "datetime64[us]"),
                               "PATIENT": c.patient_id.astype(str).to_numpy(),
                               "ENCOUNTER": visit(c), "SYSTEM": system,
                               "CODE": c.code.astype(str).to_numpy(),
                               "DESCRIPTION": [describe(x) for x in c.code.astype(str)]})
    labs = data.labs
    spec = {lab.name: lab for lab in schema.labs}
    observations = pd.DataFrame({
        "DATE": date(labs.day), "PATIENT": labs.patient_id.astype(str).to_numpy(),
        "ENCOUNTER": visit(labs), "CATEGORY": "laboratory",
        "CODE": [spec[t].loinc or t for t in labs.test],
        "DESCRIPTION": [spec[t].description or t for t in labs.test],
        "VALUE": labs.value.to_numpy(float), "UNITS": [spec[t].unit for t in labs.test],
        "TYPE": "numeric"})
    tables = {"patients": patients, "encounters": encounters, "conditions": conditions,
              "observations": observations}
    return {name: conform(df, json_schema(name), table=name) for name, df in tables.items()}

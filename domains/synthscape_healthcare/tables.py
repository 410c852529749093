"""Synthea-like output tables (patients, encounters, conditions, observations) and their JSON
Schemas, exported to ``data_schemas/healthcare/``.

``python -m synthscape_healthcare.tables data_schemas/healthcare`` rewrites the schemas; a test
keeps them in sync with the row models here. Columns follow Synthea's CSV names where they
exist (``CSVConstants.java``); day offsets become dates from a declared index date.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from synthscape_healthcare.encoding import CohortSchema
from synthscape_healthcare.records import EHRData

ICD10CM_SYSTEM = "http://hl7.org/fhir/sid/icd-10-cm"
# Synthea's encounter codes (SNOMED CT) for the two classes the EHR model derives.
ENCOUNTER_CODES = {"outpatient": ("185349003", "Encounter for check up (procedure)"),
                   "laboratory": ("185347001", "Encounter for problem (procedure)")}


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PatientRow(_Row):
    Id: str = Field(description="Patient id (synthetic, P0000000...).")
    BIRTHDATE: str = Field(description="ISO date: index date minus the age.")
    DEATHDATE: str | None = Field(description="ISO date of death within follow-up, else null.")
    GENDER: Literal["F", "M"] = Field(description="Sex as Synthea writes it.")
    AGE_AT_INDEX: float = Field(ge=0, description="Age in years on the index date.")
    FOLLOWUP_DAYS: float = Field(ge=0, description="Days observed after the index date.")
    LABEL: bool = Field(description="The label chosen in the spec (its name is in the report).")


class EncounterRow(_Row):
    Id: str = Field(description="Encounter id.")
    START: str = Field(description="ISO date of the visit.")
    STOP: str = Field(description="ISO date; same day for the derived visits.")
    PATIENT: str = Field(description="Joins patients.Id.")
    ENCOUNTERCLASS: Literal["outpatient", "laboratory"] = Field(description="Visit class.")
    CODE: str = Field(description="SNOMED CT encounter code.")
    DESCRIPTION: str = Field(description="Description of CODE.")


class ConditionRow(_Row):
    START: str = Field(description="ISO date of onset.")
    STOP: str | None = Field(description="Always null: the model does not end conditions.")
    PATIENT: str = Field(description="Joins patients.Id.")
    ENCOUNTER: str = Field(description="Joins encounters.Id (the visit of onset).")
    SYSTEM: str = Field(description="Code system URI (ICD-10-CM unless a user ontology).")
    CODE: str = Field(description="Diagnosis code from the declared vocabulary.")
    DESCRIPTION: str = Field(description="Description of CODE from the ontology.")


class ObservationRow(_Row):
    DATE: str = Field(description="ISO date of the measurement.")
    PATIENT: str = Field(description="Joins patients.Id.")
    ENCOUNTER: str = Field(description="Joins encounters.Id.")
    CATEGORY: Literal["laboratory"] = Field(description="Observation category.")
    CODE: str = Field(description="LOINC code when declared, else the lab name.")
    DESCRIPTION: str = Field(description="Lab name or declared description.")
    VALUE: float = Field(description="Numeric value (summary closest to the index date).")
    UNITS: str = Field(description="Declared unit.")
    TYPE: Literal["numeric"] = Field(description="Value type.")


ROW_MODELS: dict[str, type[BaseModel]] = {
    "patients": PatientRow, "encounters": EncounterRow, "conditions": ConditionRow,
    "observations": ObservationRow}


def to_synthea_tables(data: EHRData, labels: pd.Series, schema: CohortSchema, *,
                      index_date: str, describe=None, system: str = ICD10CM_SYSTEM
                      ) -> dict[str, pd.DataFrame]:
    """Synthea-like tables. ``labels`` is indexed by patient id; ``describe(code)`` gives a
    code's description (the ontology's)."""
    day0 = pd.Timestamp(index_date)

    def date(days) -> np.ndarray:
        return (day0 + pd.to_timedelta(np.asarray(days, float), unit="D")).strftime("%Y-%m-%d")

    p = data.patients
    death_day = np.where(p.death.to_numpy(bool), p.followup_days.to_numpy(float), np.nan)
    patients = pd.DataFrame({
        "Id": p.patient_id.astype(str).to_numpy(),
        "BIRTHDATE": date(-p.age.to_numpy(float) * 365.25),
        "DEATHDATE": pd.Series([d if dead else None for d, dead in
                                zip(date(np.nan_to_num(death_day)), ~np.isnan(death_day))],
                               dtype=object),
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
    conditions = pd.DataFrame({"START": date(c.day), "STOP": None,
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
    return {"patients": patients, "encounters": encounters, "conditions": conditions,
            "observations": observations}


def json_schema(name: str) -> dict:
    body = ROW_MODELS[name].model_json_schema()
    body.pop("title", None)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"https://synthscape.dev/schemas/healthcare/{name}.json",
            "title": f"synthscape_healthcare {name} row", **body}


def export(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for name in ROW_MODELS:
        path = folder / f"{name}.json"
        path.write_text(json.dumps(json_schema(name), indent=2) + "\n")
        out.append(path)
    return out


if __name__ == "__main__":  # pragma: no cover
    for p in export(sys.argv[1] if len(sys.argv) > 1 else "data_schemas/healthcare"):
        print(p)

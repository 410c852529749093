"""OMOP CDM (v5.4) CSV tables as :class:`~synthscape_healthcare.sequences.EHRSequences`, and a
writer of a small OMOP set from a Synthea export (the test fixture in ``tests/data/omop``).

Read (``read_omop(folder)``), one CSV per table with lower-case OMOP column names; OMOP table
-> event ``table`` (date column; ``code``; ``value``, ``qualifier``):

- person -> the patients (year/month/day_of_birth; gender, race and ethnicity concept ids ->
  ``sex``, ``race``, ``ethnicity``)
- visit_occurrence -> encounter (visit_start_date; visit_concept_id; qualifier the visit class)
- condition_occurrence -> condition (condition_start_date; condition_source_value)
- drug_exposure -> medication (drug_exposure_start_date; drug_source_value)
- procedure_occurrence -> procedure (procedure_date; procedure_source_value)
- measurement -> observation (measurement_date; measurement_source_value; value_as_number,
  unit_source_value)
- death (optional) -> death (the end of death_date; code ``death``)

A ``*_source_value`` that is empty falls back to the standard ``*_concept_id``. Only
``person`` is required; the other tables are read when present.

Write (``write_omop(export, folder)`` or ``python -m synthscape_healthcare.omop SYNTHEA_DIR
OUT_DIR``): the mapping from Synthea follows the OHDSI ETL-Synthea choices where no concept
table is needed: encounters -> visit_occurrence (class -> 9201 inpatient, 9202 outpatient,
9203 emergency room), conditions -> condition_occurrence, medications and immunizations ->
drug_exposure, procedures -> procedure_occurrence, numeric observations -> measurement,
DEATHDATE -> death. The source codes go to ``*_source_value``; standard concept ids are 0 (the
Athena vocabulary, which maps SNOMED/RxNorm/LOINC to them, is not redistributable here).
Person and visit ids are 1, 2, ... in the export's order.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from synthscape.errors import SchemaError
from synthscape_healthcare.sequences import DEATH, EHRSequences, concat_events, make_events

GENDER = {8507: "M", 8532: "F"}
RACE = {8527: "white", 8516: "black", 8515: "asian", 8657: "native", 8557: "hawaiian", 0: "other"}
ETHNICITY = {38003563: "hispanic", 38003564: "nonhispanic"}
VISIT = {9201: "inpatient", 9202: "outpatient", 9203: "emergency"}
# Synthea ENCOUNTERCLASS -> OMOP visit concept (as OHDSI ETL-Synthea)
SYNTHEA_VISIT = {"inpatient": 9201, "emergency": 9203, "urgentcare": 9203, "ambulatory": 9202,
                 "wellness": 9202, "outpatient": 9202, "home": 9202, "virtual": 9202,
                 "hospice": 9202, "snf": 9201}
# OMOP table -> (event table, date column, source value column, concept column)
EVENTS: dict[str, tuple[str, str, str, str]] = {
    "condition_occurrence": ("condition", "condition_start_date", "condition_source_value",
                             "condition_concept_id"),
    "drug_exposure": ("medication", "drug_exposure_start_date", "drug_source_value",
                      "drug_concept_id"),
    "procedure_occurrence": ("procedure", "procedure_date", "procedure_source_value",
                             "procedure_concept_id"),
    "measurement": ("observation", "measurement_date", "measurement_source_value",
                    "measurement_concept_id"),
}


def _read(folder: Path, name: str, need: tuple[str, ...]) -> pd.DataFrame | None:
    path = folder / f"{name}.csv"
    if not path.exists():
        return None
    df = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    df.columns = [c.strip().lower() for c in df.columns]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise SchemaError(f"{path}: missing OMOP column(s) {missing}; the OMOP CDM v5.4 table "
                          f"{name} names them (lower case)")
    return df


def _code(df: pd.DataFrame, source: str, concept: str) -> pd.Series:
    src = df[source] if source in df.columns else pd.Series(np.nan, index=df.index)
    return src.fillna(df[concept]).astype(str)


def read_omop(folder: str | Path) -> EHRSequences:
    """Patients and events from OMOP CDM CSV tables in ``folder`` (see the module's table)."""
    folder = Path(folder)
    person = _read(folder, "person", ("person_id", "gender_concept_id", "year_of_birth"))
    if person is None:
        raise SchemaError(f"{folder} has no person.csv: not an OMOP CDM CSV folder (export the "
                          f"CDM tables person, visit_occurrence, condition_occurrence, ... as CSV)")
    ids = person.person_id.astype(str)
    month = pd.to_numeric(person.get("month_of_birth"), errors="coerce").fillna(1)
    day = pd.to_numeric(person.get("day_of_birth"), errors="coerce").fillna(1)
    born = pd.to_datetime(pd.DataFrame({"year": pd.to_numeric(person.year_of_birth),
                                        "month": month, "day": day}))
    gender = pd.to_numeric(person.gender_concept_id).map(GENDER)
    if gender.isna().any():
        bad = person.gender_concept_id[gender.isna()].iloc[0]
        raise SchemaError(f"{folder}/person.csv: gender_concept_id {bad!r} is neither 8507 "
                          f"(male) nor 8532 (female)")
    patients = pd.DataFrame({
        "patient_id": ids.to_numpy(),
        "birth_year": born.dt.year + (born.dt.day_of_year - 1) / 365.25,
        "sex": gender.to_numpy(),
        "race": pd.to_numeric(person.get("race_concept_id", pd.Series(0, index=person.index)),
                              errors="coerce").fillna(0).map(RACE).fillna("other").to_numpy(),
        "ethnicity": pd.to_numeric(person.get("ethnicity_concept_id",
                                              pd.Series(0, index=person.index)),
                                   errors="coerce").map(ETHNICITY).fillna("nonhispanic")
        .to_numpy(),
        "death": False,
    })
    parts = []
    visits = _read(folder, "visit_occurrence", ("person_id", "visit_concept_id",
                                                "visit_start_date"))
    if visits is not None:
        concept = pd.to_numeric(visits.visit_concept_id, errors="coerce")
        parts.append(make_events(visits.person_id, pd.to_datetime(visits.visit_start_date),
                                 "encounter", visits.visit_concept_id,
                                 qualifier=concept.map(VISIT).fillna("other")))
    for name, (table, date, source, concept_col) in EVENTS.items():
        df = _read(folder, name, ("person_id", date, concept_col))
        if df is None:
            continue
        value = qualifier = None
        if name == "measurement":
            value = pd.to_numeric(df.get("value_as_number"), errors="coerce")
            qualifier = df.get("unit_source_value")
        parts.append(make_events(df.person_id, pd.to_datetime(df[date]), table,
                                 _code(df, source, concept_col), value, qualifier))
    death = _read(folder, "death", ("person_id", "death_date"))
    if death is not None:
        end = pd.to_datetime(death.death_date) + pd.Timedelta(days=1) - pd.Timedelta(seconds=1)
        parts.append(make_events(death.person_id, end, DEATH, [DEATH] * len(death)))
        patients["death"] = patients.patient_id.isin(set(death.person_id.astype(str)))
    return EHRSequences(patients, concat_events(parts), source=f"OMOP CDM CSV {folder}")


def write_omop(export, folder: str | Path) -> list[Path]:
    """Write the OMOP tables of a :class:`~synthscape_healthcare.synthea.SyntheaExport` to
    ``folder`` (see the module's mapping). Returns the files written."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    pats = export["patients"]
    pid = {p: i + 1 for i, p in enumerate(pats.Id.astype(str))}
    born = pats.BIRTHDATE
    race = {v: k for k, v in RACE.items()}
    eth = {v: k for k, v in ETHNICITY.items()}
    tables = {"person": pd.DataFrame({
        "person_id": range(1, len(pats) + 1),
        "gender_concept_id": pats.GENDER.str.upper().map({"M": 8507, "F": 8532}),
        "year_of_birth": born.dt.year, "month_of_birth": born.dt.month,
        "day_of_birth": born.dt.day, "race_concept_id": pats.RACE.map(race).fillna(0).astype(int),
        "ethnicity_concept_id": pats.ETHNICITY.map(eth).fillna(0).astype(int),
        "person_source_value": pats.Id})}

    def date(s: pd.Series) -> pd.Series:
        return s.dt.strftime("%Y-%m-%d")

    if "encounters" in export:
        enc = export["encounters"]
        tables["visit_occurrence"] = pd.DataFrame({
            "visit_occurrence_id": range(1, len(enc) + 1), "person_id": enc.PATIENT.map(pid),
            "visit_concept_id": enc.ENCOUNTERCLASS.map(SYNTHEA_VISIT).fillna(9202).astype(int),
            "visit_start_date": date(enc.START), "visit_end_date": date(enc.STOP),
            "visit_source_value": enc.ENCOUNTERCLASS})
    rows = {"condition_occurrence": [("conditions", "START")],
            "drug_exposure": [("medications", "START"), ("immunizations", "DATE")],
            "procedure_occurrence": [("procedures", "START")]}
    for name, sources in rows.items():
        _, when, source, concept = EVENTS[name]
        got = [pd.DataFrame({"person_id": export[t].PATIENT.map(pid), when: date(export[t][c]),
                             concept: 0, source: export[t].CODE})
               for t, c in sources if t in export]
        if got:
            df = pd.concat(got, ignore_index=True)
            tables[name] = df.assign(**{f"{name}_id": range(1, len(df) + 1)})
    if "observations" in export:
        obs = export["observations"]
        obs = obs[obs.VALUE_NUMERIC.notna()]
        tables["measurement"] = pd.DataFrame({
            "measurement_id": range(1, len(obs) + 1), "person_id": obs.PATIENT.map(pid),
            "measurement_concept_id": 0, "measurement_date": date(obs.DATE),
            "value_as_number": obs.VALUE_NUMERIC, "unit_source_value": obs.UNITS,
            "measurement_source_value": obs.CODE})
    dead = pats[pats.DEATHDATE.notna()]
    tables["death"] = pd.DataFrame({"person_id": dead.Id.map(pid),
                                    "death_date": date(dead.DEATHDATE)})
    out = []
    for name, df in tables.items():
        path = folder / f"{name}.csv"
        df.to_csv(path, index=False, lineterminator="\n")
        out.append(path)
    return out


if __name__ == "__main__":  # pragma: no cover
    from synthscape_healthcare.synthea import load_synthea

    for p in write_omop(load_synthea(sys.argv[1]), sys.argv[2]):
        print(p)

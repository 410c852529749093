"""Synthetic timelines as tables in Synthea's CSV layout, so that tools reading Synthea read ours.

Every table has Synthea's current header (``CSVConstants.java``, as in synthea.py) in its
order; what the model does not produce (names, addresses, costs, payers, STOP dates) is left
empty. ``patients`` gains one trailing column, ``LABEL`` (the dataset label; its definition is in
the run's report); :func:`~synthscape_healthcare.synthea.load_synthea` accepts it.

Encounters: every ``encounter`` event becomes an encounter (its qualifier is the class); an
event with no encounter of its patient earlier on the same day gets a derived ``ambulatory``
encounter for that day (SNOMED CT 185349003, "Encounter for check up"). Every other event
names the latest encounter of its patient at or before it on its day.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from synthscape_healthcare.sequences import EHRSequences, birth_dates

HEADERS: dict[str, tuple[str, ...]] = {
    "patients": tuple(("Id,BIRTHDATE,DEATHDATE,SSN,DRIVERS,PASSPORT,PREFIX,FIRST,MIDDLE,LAST,"
                       "SUFFIX,MAIDEN,MARITAL,RACE,ETHNICITY,GENDER,BIRTHPLACE,ADDRESS,CITY,"
                       "STATE,COUNTY,FIPS,ZIP,LAT,LON,HEALTHCARE_EXPENSES,HEALTHCARE_COVERAGE,"
                       "INCOME").split(",")),
    "encounters": tuple(("Id,START,STOP,PATIENT,ORGANIZATION,PROVIDER,PAYER,ENCOUNTERCLASS,CODE,"
                         "DESCRIPTION,BASE_ENCOUNTER_COST,TOTAL_CLAIM_COST,PAYER_COVERAGE,"
                         "REASONCODE,REASONDESCRIPTION").split(",")),
    "conditions": tuple("START,STOP,PATIENT,ENCOUNTER,SYSTEM,CODE,DESCRIPTION".split(",")),
    "medications": tuple(("START,STOP,PATIENT,PAYER,ENCOUNTER,CODE,DESCRIPTION,BASE_COST,"
                          "PAYER_COVERAGE,DISPENSES,TOTALCOST,REASONCODE,REASONDESCRIPTION")
                         .split(",")),
    "procedures": tuple(("START,STOP,PATIENT,ENCOUNTER,SYSTEM,CODE,DESCRIPTION,BASE_COST,"
                         "REASONCODE,REASONDESCRIPTION").split(",")),
    "observations": tuple("DATE,PATIENT,ENCOUNTER,CATEGORY,CODE,DESCRIPTION,VALUE,UNITS,TYPE"
                          .split(",")),
    "immunizations": tuple("DATE,PATIENT,ENCOUNTER,CODE,DESCRIPTION,BASE_COST".split(",")),
    "allergies": tuple(("START,STOP,PATIENT,ENCOUNTER,CODE,SYSTEM,DESCRIPTION,TYPE,CATEGORY,"
                        "REACTION1,DESCRIPTION1,SEVERITY1,REACTION2,DESCRIPTION2,SEVERITY2")
                       .split(",")),
    "careplans": tuple(("Id,START,STOP,PATIENT,ENCOUNTER,CODE,DESCRIPTION,REASONCODE,"
                        "REASONDESCRIPTION").split(",")),
}
# event table -> (Synthea table, time column)
TARGET = {"condition": ("conditions", "START"), "medication": ("medications", "START"),
          "procedure": ("procedures", "START"), "observation": ("observations", "DATE"),
          "lab": ("observations", "DATE"), "immunization": ("immunizations", "DATE"),
          "allergy": ("allergies", "START"), "careplan": ("careplans", "START")}
DERIVED_ENCOUNTER = ("185349003", "Encounter for check up (procedure)")


def _frame(table: str, n: int, values: dict) -> pd.DataFrame:
    cols = {c: values.get(c, pd.Series([pd.NA] * n, dtype="string")) for c in HEADERS[table]}
    return pd.DataFrame({c: (v.to_numpy() if isinstance(v, pd.Series) else v)
                         for c, v in cols.items()})


def to_synthea_layout(data: EHRSequences, label: pd.Series | None = None, *,
                      system: str = "http://snomed.info/sct") -> dict[str, pd.DataFrame]:
    """The Synthea tables of ``data`` (see the module docstring); ``label`` is a bool Series
    indexed by patient id. ``system`` is written to SYSTEM columns."""
    p, e = data.patients, data.events.sort_values(["patient_id", "time"], kind="stable")
    describe = data.descriptions
    death = e[e.table == "death"].groupby("patient_id").time.min()
    pid = p.patient_id.astype(str)
    values = {"Id": pid, "BIRTHDATE": birth_dates(p.birth_year).astype("datetime64[us]"),
              "DEATHDATE": death.reindex(pid).dt.floor("D").astype("datetime64[us]")
              .reset_index(drop=True), "GENDER": p.sex.astype(str)}
    for col in ("race", "ethnicity"):
        if col in p.columns:
            values[col.upper()] = p[col].astype(str)
    patients = _frame("patients", len(p), values)
    if label is not None:
        patients["LABEL"] = label.reindex(pid).fillna(False).astype(bool).to_numpy()
    for col in ("RACE", "ETHNICITY"):
        patients[col] = patients[col].astype("string")
    e = e[e.table != "death"].reset_index(drop=True)
    enc, enc_of = _encounters(e, describe)
    out = {"patients": patients, "encounters": enc}
    for table, (target, when) in TARGET.items():
        rows = e[(e.table == table).to_numpy()]
        if target in out and len(rows) == 0:
            continue
        v = {when: rows.time.astype("datetime64[us]"), "PATIENT": rows.patient_id,
             "ENCOUNTER": enc_of[rows.index],
             "CODE": rows.code, "DESCRIPTION": rows.code.map(describe).fillna("")}
        if target in ("conditions", "procedures", "allergies"):
            v["SYSTEM"] = pd.Series([system] * len(rows))
        if target == "observations":
            numeric = rows.value.notna()
            v.update(CATEGORY=pd.Series(np.where(table == "lab", "laboratory", "observation"),
                                        index=rows.index),
                     VALUE=rows.value.astype(str).where(numeric, rows.qualifier),
                     UNITS=rows.qualifier.where(numeric, ""),
                     TYPE=pd.Series(np.where(numeric, "numeric", "text"), index=rows.index))
        if target == "careplans":
            v["Id"] = pd.Series([f"C{i:08d}" for i in range(len(rows))], index=rows.index)
        frame = _frame(target, len(rows), {k: pd.Series(np.asarray(x)) for k, x in v.items()})
        out[target] = pd.concat([out[target], frame], ignore_index=True) if target in out \
            else frame
    from synthscape.tables import conform
    from synthscape_healthcare.schemas import json_schema

    for table in HEADERS:
        out.setdefault(table, _frame(table, 0, {}))
    if label is None:
        patients["LABEL"] = False
    return {name: conform(out[name], json_schema(name), table=name) for name in HEADERS}


def _encounters(e: pd.DataFrame, describe: dict[str, str]) -> tuple[pd.DataFrame, np.ndarray]:
    """The encounters table and, for each event row, the id of its encounter."""
    day = e.time.dt.floor("D")
    is_enc = (e.table == "encounter").to_numpy()
    first = ~pd.DataFrame({"p": e.patient_id, "d": day}).duplicated().to_numpy()
    # a day without an encounter event before its first event gets a derived encounter
    has_enc_first = is_enc & first
    needs = first & ~has_enc_first
    starts = is_enc | needs
    ids = np.array([f"E{i:08d}" for i in range(int(starts.sum()))], dtype=object)
    group = np.cumsum(starts) - 1  # the latest encounter at or before each row (same day)
    enc_rows = e[starts]
    derived = needs[starts]
    cls = np.where(derived, "ambulatory", enc_rows.qualifier.astype(str).replace("", "ambulatory"))
    code = np.where(derived, DERIVED_ENCOUNTER[0], enc_rows.code.astype(str))
    desc = np.where(derived, DERIVED_ENCOUNTER[1], pd.Series(code).map(describe).fillna(""))
    when = enc_rows.time.astype("datetime64[us]").to_numpy()
    table = _frame("encounters", len(enc_rows), {
        "Id": ids, "START": when, "STOP": when, "PATIENT": enc_rows.patient_id.to_numpy(),
        "ENCOUNTERCLASS": cls, "CODE": code, "DESCRIPTION": desc})
    return table, ids[group]


def write_synthea_csv(tables: dict[str, pd.DataFrame], folder: str | Path) -> Path:
    """Write the Synthea tables as ``<name>.csv`` in ``folder`` (Synthea's file names and
    formats: dates of birth and death as days, other times as UTC timestamps)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name in HEADERS:
        df = tables[name].copy()
        for col in df.columns:
            if pd.api.types.is_datetime64_any_dtype(df[col]):
                fmt = "%Y-%m-%d" if col in ("BIRTHDATE", "DEATHDATE") else "%Y-%m-%dT%H:%M:%SZ"
                df[col] = df[col].dt.strftime(fmt)
        df.to_csv(folder / f"{name}.csv", index=False, lineterminator="\n")
    return folder

"""A Synthea CSV export as :class:`~synthscape_healthcare.sequences.EHRSequences`.

Every clinical table present is mapped; no code is left out here (the vocabulary is declared or
released under DP when the generator is fitted):

Synthea table -> event ``table`` (time column; ``code`` system; ``value``, ``qualifier``):

- encounters -> encounter (START; SNOMED CT; qualifier ENCOUNTERCLASS)
- conditions -> condition (START; SNOMED CT)
- medications -> medication (START; RxNorm)
- procedures -> procedure (START; SNOMED CT)
- observations -> observation (DATE; LOINC; value VALUE when numeric, qualifier UNITS, or the
  text VALUE for a text result)
- immunizations -> immunization (DATE; CVX)
- allergies -> allergy (START; SNOMED CT)
- careplans -> careplan (START; SNOMED CT)
- patients.DEATHDATE -> death (the end of that day; code ``death``)

Patients keep ``birth_year`` (from BIRTHDATE), ``sex`` (GENDER), ``race``, ``ethnicity`` and
``death``. A code's description is kept (a function of the code) for the output tables. STOP
dates are not modelled: an event is the start of a condition, prescription or plan.
"""
from __future__ import annotations

import pandas as pd

from synthscape_healthcare.sequences import (
    DEATH,
    EHRSequences,
    concat_events,
    decimal_year,
    make_events,
)

# Synthea table -> (event table, time column, qualifier column or None)
MAPPING: dict[str, tuple[str, str, str | None]] = {
    "encounters": ("encounter", "START", "ENCOUNTERCLASS"),
    "conditions": ("condition", "START", None),
    "medications": ("medication", "START", None),
    "procedures": ("procedure", "START", None),
    "observations": ("observation", "DATE", "UNITS"),
    "immunizations": ("immunization", "DATE", None),
    "allergies": ("allergy", "START", None),
    "careplans": ("careplan", "START", None),
}
# Synthea's values (Demographics in the Synthea code), declared so nothing is read from data.
RACES = ("white", "black", "asian", "native", "hawaiian", "other")
ETHNICITIES = ("hispanic", "nonhispanic")


def synthea_sequences(export) -> EHRSequences:
    """Patients and events of every clinical table of a
    :class:`~synthscape_healthcare.synthea.SyntheaExport` (see the module's table)."""
    pats = export["patients"]
    ids = pats.Id.astype(str)
    patients = pd.DataFrame({
        "patient_id": ids.to_numpy(),
        "birth_year": decimal_year(pats.BIRTHDATE),
        "sex": pats.GENDER.astype(str).str.upper().str[0].to_numpy(),
        "race": pats.RACE.astype(str).str.lower().to_numpy(),
        "ethnicity": pats.ETHNICITY.astype(str).str.lower().to_numpy(),
        "death": pats.DEATHDATE.notna().to_numpy(),
    })
    parts: list[pd.DataFrame] = []
    descriptions: dict[str, str] = {}
    for name, (table, when, qual) in MAPPING.items():
        if name not in export:
            continue
        df = export[name]
        df = df[df[when].notna() & df.PATIENT.astype(str).isin(set(ids))]
        value = qualifier = None
        if name == "observations":
            value = df.VALUE_NUMERIC
            # numeric results keep their unit; a text result (a finding) is the qualifier
            qualifier = df.UNITS.where(df.VALUE_NUMERIC.notna(), df.VALUE).fillna("")
        elif qual is not None:
            qualifier = df[qual]
        parts.append(make_events(df.PATIENT, df[when], table, df.CODE, value, qualifier))
        descriptions.update(zip(df.CODE.astype(str), df.DESCRIPTION.fillna("").astype(str)))
    dead = pats[pats.DEATHDATE.notna()]
    # DEATHDATE is a date: the death closes that day (events of the day come before it)
    end_of_day = dead.DEATHDATE.dt.floor("D") + pd.Timedelta(days=1) - pd.Timedelta(seconds=1)
    parts.append(make_events(dead.Id, end_of_day, DEATH, [DEATH] * len(dead)))
    return EHRSequences(patients, concat_events(parts), descriptions=descriptions,
                        source=f"Synthea export {export.folder} (schema {export.version})")

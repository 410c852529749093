"""The output tables' schemas: one row schema per table of an ``ehr`` release
(:func:`synthscape.tables.row_schema`), written by a run as ``release/schemas/<table>.json`` and
exported to ``data_schemas/healthcare/``.

Two views of the same synthetic cohort:

- Synthea's CSV layout (layout.py): ``patients`` (with a trailing ``LABEL``), ``encounters``,
  ``conditions``, ``medications``, ``procedures``, ``observations``, ``immunizations``,
  ``allergies``, ``careplans``, every column of Synthea's current header in its order. Times are
  datetime64 (UTC, as Synthea writes them); columns the model does not produce are empty.
- The entity/event model the generator learns: ``ehr_patients`` and ``ehr_events``.

``python -m synthscape_healthcare.schemas data_schemas/healthcare`` rewrites the exports; a test
keeps them in sync with this module.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from synthscape.tables import row_schema
from synthscape_healthcare.layout import HEADERS
from synthscape_healthcare.sequences import TABLES as EVENT_TABLES

EMPTY = ("string", True, "Not modelled: always empty.")
EMPTY_DATE = ("date-time", True, "Not modelled: always empty.")
_JOIN = ("string", False, "Joins patients.Id.")
_ENC = ("string", False, "Joins encounters.Id (the encounter of the event's day).")
_WHEN = ("date-time", False, "When the event happened.")
_CODE = ("string", False, "The code (SNOMED CT, RxNorm, CVX, LOINC or ICD-10-CM, as learned).")
_DESC = ("string", False, "Description of CODE ('' when none is known).")
_SYSTEM = ("string", False, "Code system URI.")
_TYPED: dict[str, dict[str, tuple]] = {
    "patients": {
        "Id": ("string", False, "Patient id (synthetic, P0000000...)."),
        "BIRTHDATE": ("date", False, "Date of birth."),
        "DEATHDATE": ("date", True, "Date of death (null: alive at the end of the timeline)."),
        "RACE": ("string", True, "Race as Synthea writes it (null when the source has none)."),
        "ETHNICITY": ("string", True, "Ethnicity as Synthea writes it (null when none)."),
        "GENDER": ("string", False, "Sex as Synthea writes it.", ["F", "M"]),
    },
    "encounters": {"Id": ("string", False, "Encounter id."), "START": _WHEN, "STOP": _WHEN,
                   "PATIENT": _JOIN,
                   "ENCOUNTERCLASS": ("string", False, "Encounter class (ambulatory for the "
                                                       "encounters derived for a day)."),
                   "CODE": ("string", False, "SNOMED CT encounter code."), "DESCRIPTION": _DESC},
    "conditions": {"START": _WHEN, "PATIENT": _JOIN, "ENCOUNTER": _ENC, "SYSTEM": _SYSTEM,
                   "CODE": _CODE, "DESCRIPTION": _DESC},
    "medications": {"START": _WHEN, "PATIENT": _JOIN, "ENCOUNTER": _ENC, "CODE": _CODE,
                    "DESCRIPTION": _DESC},
    "procedures": {"START": _WHEN, "PATIENT": _JOIN, "ENCOUNTER": _ENC, "SYSTEM": _SYSTEM,
                   "CODE": _CODE, "DESCRIPTION": _DESC},
    "observations": {"DATE": _WHEN, "PATIENT": _JOIN, "ENCOUNTER": _ENC,
                     "CATEGORY": ("string", False, "laboratory (a declared lab) or "
                                                   "observation.", ["laboratory", "observation"]),
                     "CODE": _CODE, "DESCRIPTION": _DESC,
                     "VALUE": ("string", True, "The numeric value as text, or a text result."),
                     "UNITS": ("string", True, "Unit of a numeric value."),
                     "TYPE": ("string", False, "Value type.", ["numeric", "text"])},
    "immunizations": {"DATE": _WHEN, "PATIENT": _JOIN, "ENCOUNTER": _ENC, "CODE": _CODE,
                      "DESCRIPTION": _DESC},
    "allergies": {"START": _WHEN, "PATIENT": _JOIN, "ENCOUNTER": _ENC, "CODE": _CODE,
                  "SYSTEM": _SYSTEM, "DESCRIPTION": _DESC},
    "careplans": {"Id": ("string", False, "Care plan id."), "START": _WHEN, "PATIENT": _JOIN,
                  "ENCOUNTER": _ENC, "CODE": _CODE, "DESCRIPTION": _DESC},
}
TABLES: dict[str, dict[str, tuple]] = {
    name: {c: _TYPED[name].get(c, EMPTY_DATE if c == "STOP" else EMPTY) for c in cols}
    for name, cols in HEADERS.items()}
TABLES["patients"]["LABEL"] = ("boolean", False, "The label chosen in the spec (its name and "
                                                 "definition are in the report).")
TABLES["ehr_patients"] = {
    "patient_id": ("string", False, "Patient id (the same as patients.Id)."),
    "birth_year": ("number", False, "Decimal year of birth."),
    "sex": ("string", False, "Sex.", ["F", "M"]),
    "race": ("string", True, "Race (null when the source has none)."),
    "ethnicity": ("string", True, "Ethnicity (null when the source has none)."),
    "death": ("boolean", False, "The timeline ends in a death event."),
}
TABLES["ehr_events"] = {
    "patient_id": ("string", False, "Joins ehr_patients.patient_id."),
    "time": ("date-time", False, "When the event happened."),
    "table": ("string", False, "Source table of the event.", list(EVENT_TABLES)),
    "code": ("string", False, "The code ('death' for a death)."),
    "value": ("number", True, "Numeric value (labs and observations)."),
    "qualifier": ("string", False, "Unit of the value, class of an encounter, or ''."),
}


def json_schema(table: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one row of ``table``."""
    return row_schema("healthcare", table, TABLES[table])


def export(folder: str | Path) -> list[Path]:
    from synthscape.tables import export_row_schemas

    return export_row_schemas(folder, TABLES, json_schema)


if __name__ == "__main__":  # pragma: no cover
    for p in export(sys.argv[1] if len(sys.argv) > 1 else "data_schemas/healthcare"):
        print(p)

"""The output tables' schemas: one row schema per Synthea-like table
(:func:`synthscape.tables.row_schema`), written by a run as ``release/schemas/<table>.json`` and
exported to ``data_schemas/healthcare/``.

``python -m synthscape_healthcare.schemas data_schemas/healthcare`` rewrites the exports; a test
keeps them in sync with this module. Columns follow Synthea's CSV names where they exist
(``CSVConstants.java``); dates are datetime64 columns (day precision) and ids are strings in
every table.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from synthscape.tables import row_schema

# column: (type, nullable, description[, enum]); types as in synthscape.tables
TABLES: dict[str, dict[str, tuple]] = {
    "patients": {
        "Id": ("string", False, "Patient id (synthetic, P0000000...)."),
        "BIRTHDATE": ("date", False, "Index date minus the age."),
        "DEATHDATE": ("date", True, "Date of death within follow-up (null: alive at its end)."),
        "GENDER": ("string", False, "Sex as Synthea writes it.", ["F", "M"]),
        "AGE_AT_INDEX": ("number", False, "Age in years on the index date (>= 0)."),
        "FOLLOWUP_DAYS": ("number", False, "Days observed after the index date (>= 0)."),
        "LABEL": ("boolean", False, "The label chosen in the spec (its name is in the report)."),
    },
    "encounters": {
        "Id": ("string", False, "Encounter id."),
        "START": ("date", False, "Date of the visit."),
        "STOP": ("date", False, "Same day as START for the derived visits."),
        "PATIENT": ("string", False, "Joins patients.Id."),
        "ENCOUNTERCLASS": ("string", False, "Visit class.", ["outpatient", "laboratory"]),
        "CODE": ("string", False, "SNOMED CT encounter code."),
        "DESCRIPTION": ("string", False, "Description of CODE."),
    },
    "conditions": {
        "START": ("date", False, "Date of onset."),
        "STOP": ("date", True, "Always null: the model does not end conditions."),
        "PATIENT": ("string", False, "Joins patients.Id."),
        "ENCOUNTER": ("string", False, "Joins encounters.Id (the visit of onset)."),
        "SYSTEM": ("string", False, "Code system URI (ICD-10-CM unless a user ontology)."),
        "CODE": ("string", False, "Diagnosis code from the declared vocabulary."),
        "DESCRIPTION": ("string", False, "Description of CODE from the ontology ('' when it "
                                         "has none)."),
    },
    "observations": {
        "DATE": ("date", False, "Date of the measurement."),
        "PATIENT": ("string", False, "Joins patients.Id."),
        "ENCOUNTER": ("string", False, "Joins encounters.Id."),
        "CATEGORY": ("string", False, "Observation category.", ["laboratory"]),
        "CODE": ("string", False, "LOINC code when declared, else the lab name."),
        "DESCRIPTION": ("string", False, "Lab name or declared description."),
        "VALUE": ("number", False, "Numeric value (summary closest to the index date)."),
        "UNITS": ("string", False, "Declared unit."),
        "TYPE": ("string", False, "Value type.", ["numeric"]),
    },
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

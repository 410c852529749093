"""Read a Synthea CSV export into typed pandas tables, detecting the schema version.

Synthea's CSV headers changed between v3.0.0 and the current schema (patients gained MIDDLE,
FIPS and INCOME; conditions and procedures gained SYSTEM; payer_transitions was reshaped).
The version is read from the header rows, never assumed. Headers follow Synthea's
``CSVConstants.java`` (synthetichealth/synthea).
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from synthscape.errors import SchemaError

# Current schema, per table (the tables a loader types; others are read as text).
CURRENT: dict[str, list[str]] = {
    "patients": ("Id,BIRTHDATE,DEATHDATE,SSN,DRIVERS,PASSPORT,PREFIX,FIRST,MIDDLE,LAST,SUFFIX,"
                 "MAIDEN,MARITAL,RACE,ETHNICITY,GENDER,BIRTHPLACE,ADDRESS,CITY,STATE,COUNTY,"
                 "FIPS,ZIP,LAT,LON,HEALTHCARE_EXPENSES,HEALTHCARE_COVERAGE,INCOME").split(","),
    "conditions": "START,STOP,PATIENT,ENCOUNTER,SYSTEM,CODE,DESCRIPTION".split(","),
    "procedures": ("START,STOP,PATIENT,ENCOUNTER,SYSTEM,CODE,DESCRIPTION,BASE_COST,REASONCODE,"
                   "REASONDESCRIPTION").split(","),
    "encounters": ("Id,START,STOP,PATIENT,ORGANIZATION,PROVIDER,PAYER,ENCOUNTERCLASS,CODE,"
                   "DESCRIPTION,BASE_ENCOUNTER_COST,TOTAL_CLAIM_COST,PAYER_COVERAGE,REASONCODE,"
                   "REASONDESCRIPTION").split(","),
    "observations": "DATE,PATIENT,ENCOUNTER,CATEGORY,CODE,DESCRIPTION,VALUE,UNITS,TYPE".split(","),
}
_DROP = {"3.0.0": {"patients": {"MIDDLE", "FIPS", "INCOME"}, "conditions": {"SYSTEM"},
                   "procedures": {"SYSTEM"}},
         "2024": {"patients": {"MIDDLE"}, "conditions": {"SYSTEM"}, "procedures": {"SYSTEM"}}}
VERSIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "current": {t: tuple(c) for t, c in CURRENT.items()},
    **{v: {t: tuple(c for c in cols if c not in drop.get(t, set()))
           for t, cols in CURRENT.items()} for v, drop in _DROP.items()},
}
_DATES = {"BIRTHDATE", "DEATHDATE", "START", "STOP", "DATE", "START_DATE", "END_DATE"}
_FLOATS = {"LAT", "LON", "HEALTHCARE_EXPENSES", "HEALTHCARE_COVERAGE", "INCOME", "BASE_COST",
           "BASE_ENCOUNTER_COST", "TOTAL_CLAIM_COST", "PAYER_COVERAGE", "TOTALCOST"}


@dataclass
class SyntheaExport:
    """Typed tables of one export. ``version`` is ``"3.0.0"``, ``"2024"`` or ``"current"``."""

    folder: Path
    version: str
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in self.tables:
            raise KeyError(f"table {name!r} is not in the Synthea export {self.folder} "
                           f"(tables: {sorted(self.tables)})")
        return self.tables[name]

    def __contains__(self, name: object) -> bool:
        return name in self.tables

    @property
    def n_patients(self) -> int:
        return len(self.tables["patients"])


def read_header(path: Path) -> list[str]:
    with open(path, newline="", encoding="utf-8") as f:
        try:
            return [c.strip() for c in next(csv.reader(f))]
        except StopIteration:
            return []


def detect_version(folder: str | Path) -> str:
    """The schema version whose headers match every typed table present in ``folder``."""
    folder = Path(folder)
    headers = {t: read_header(folder / f"{t}.csv") for t in CURRENT
               if (folder / f"{t}.csv").exists()}
    if headers.get("patients", [])[-1:] == ["LABEL"]:  # synthscape's output adds the label
        headers["patients"] = headers["patients"][:-1]
    for version, cols in VERSIONS.items():
        if all(tuple(h) == cols[t] for t, h in headers.items()):
            return version
    patients = headers.get("patients", [])
    best = min(VERSIONS, key=lambda v: len(set(patients) ^ set(VERSIONS[v]["patients"])))
    problems = []
    for t, h in headers.items():
        want = VERSIONS[best][t]
        if tuple(h) != want:
            extra, missing = sorted(set(h) - set(want)), sorted(set(want) - set(h))
            problems.append(f"{t}.csv: unexpected columns {extra}, missing {missing}"
                            if extra or missing else f"{t}.csv: columns in another order")
    raise SchemaError(f"{folder} does not match a known Synthea CSV schema (closest: {best}); "
                      f"export with a Synthea release of v3.0.0 or later, or rename the "
                      f"columns", problems)


def load_synthea(folder: str | Path, tables: list[str] | None = None) -> SyntheaExport:
    """Read ``folder`` (a Synthea ``output/csv`` folder). ``tables`` limits what is read
    (default: every CSV present). ``patients.csv`` is required and must have rows."""
    folder = Path(folder)
    if not folder.is_dir():
        raise SchemaError(f"Synthea export folder {folder} does not exist; pass the folder that "
                          f"holds patients.csv (Synthea writes it to output/csv)")
    if not (folder / "patients.csv").exists():
        raise SchemaError(f"{folder} has no patients.csv: not a Synthea CSV export (run Synthea "
                          f"with --exporter.csv.export=true)")
    version = detect_version(folder)
    names = tables or sorted(p.stem for p in folder.glob("*.csv"))
    if "patients" not in names:
        names = ["patients", *names]
    out = SyntheaExport(folder, version)
    for name in names:
        path = folder / f"{name}.csv"
        if not path.exists():
            raise SchemaError(f"table {name!r} was requested but {path} does not exist; "
                              f"present: {sorted(p.stem for p in folder.glob('*.csv'))}")
        out.tables[name] = _read_typed(path)
    if out.n_patients == 0:
        raise SchemaError(f"{folder}/patients.csv has a header but no patients: the export is "
                          f"empty (did the Synthea run fail? check its log)")
    return out


def _read_typed(path: Path) -> pd.DataFrame:
    df = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    for col in df.columns:
        if col in _DATES:
            df[col] = pd.to_datetime(df[col], utc=True, errors="coerce", format="ISO8601")
            df[col] = df[col].dt.tz_localize(None)
        elif col in _FLOATS or col.startswith(("AMOUNT_", "COVERED_", "UNCOVERED_")):
            df[col] = pd.to_numeric(df[col], errors="coerce")
    if path.stem == "observations" and "VALUE" in df.columns:
        df["VALUE_NUMERIC"] = pd.to_numeric(df["VALUE"], errors="coerce")
    return df

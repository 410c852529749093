"""The longitudinal EHR data model: patients (entities) and their timestamped events.

One patient is the unit of privacy. Every source (a Synthea export, OMOP CDM tables, the NAFLD
cohort) is mapped into this one shape, which is what the core ``dp_sequence`` generator learns:

- ``patients`` (one row each): ``patient_id``, ``birth_year`` (decimal year of birth),
  ``sex`` ("F"/"M") and any declared static columns (``race``, ``ethnicity``), plus ``death``
  (bool: the timeline holds a death event).
- ``events`` (many rows each): ``patient_id``, ``time`` (datetime64), ``table`` (which source
  table the event comes from: encounter, condition, medication, ...), ``code`` (the code as
  written in the source: SNOMED CT, ICD-10-CM, RxNorm, CVX, LOINC, ...), ``value`` (a numeric
  result, NaN when none) and ``qualifier`` (the unit of a value, the class of an encounter;
  empty when none). A death is an event of table ``death`` (code ``death``).

``descriptions`` maps codes to their text (a function of the code, kept for the output tables).

Consistency (:func:`make_consistent`) is the post-processing every sample goes through: no event
before birth, none after death, events ordered in time, death as the last event and the
``death`` flag equal to the presence of a death event.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from synthscape.errors import SchemaError

PATIENT_COLUMNS = ("patient_id", "birth_year", "sex")
EVENT_COLUMNS = ("patient_id", "time", "table", "code", "value", "qualifier")
TABLES = ("encounter", "condition", "medication", "procedure", "observation", "immunization",
          "allergy", "careplan", "lab", "death")
DEATH = "death"
SEXES = ("F", "M")


@dataclass
class EHRSequences:
    """A cohort as patients and events; ``validate()`` runs on construction."""

    patients: pd.DataFrame
    events: pd.DataFrame
    source: str = "user frames"
    descriptions: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.validate()

    @property
    def n_units(self) -> int:
        """Patients, the unit of privacy (the core's ``RecordSet`` protocol)."""
        return len(self.patients)

    @property
    def n_patients(self) -> int:
        return len(self.patients)

    def tables(self) -> dict[str, pd.DataFrame]:
        """``patients`` and ``events`` (the ``RecordSet`` protocol)."""
        return {"patients": self.patients, "events": self.events}

    def validate(self) -> EHRSequences:
        problems = []
        for name, cols in (("patients", (*PATIENT_COLUMNS, "death")), ("events", EVENT_COLUMNS)):
            df = getattr(self, name)
            if not isinstance(df, pd.DataFrame):
                problems.append(f"{name}: expected a pandas DataFrame, got {type(df).__name__}")
                continue
            missing = [c for c in cols if c not in df.columns]
            if missing:
                problems.append(f"{name}: missing column(s) {missing}; expected {list(cols)}")
        if problems:
            raise SchemaError(f"invalid EHR sequences from {self.source}", problems)
        p, e = self.patients, self.events
        if p.patient_id.duplicated().any():
            dup = p.patient_id[p.patient_id.duplicated()].iloc[0]
            problems.append(f"patients.patient_id: {dup!r} appears more than once")
        bad_sex = sorted(set(p.sex.dropna().astype(str)) - set(SEXES))
        if bad_sex:
            problems.append(f"patients.sex: values {bad_sex[:5]} are not 'F' or 'M'")
        # distinct values first (vectorised), then sets: a Python pass over every event's
        # string took most of the sampling time of 14,000 patients
        orphans = set(pd.unique(e.patient_id)) - set(pd.unique(p.patient_id))
        if orphans:
            problems.append(f"events.patient_id: {len(orphans)} id(s) not in patients, e.g. "
                            f"{sorted(map(str, orphans))[:3]}")
        bad_tables = sorted(set(pd.unique(e.table.astype(str))) - set(TABLES))
        if bad_tables:
            problems.append(f"events.table: values {bad_tables[:5]} are not among {TABLES}")
        if len(e) and not pd.api.types.is_datetime64_any_dtype(e.time):
            problems.append(f"events.time: expected datetime64, got {e.time.dtype}")
        if problems:
            raise SchemaError(f"invalid EHR sequences from {self.source}", problems)
        return self

    def subset(self, ids) -> EHRSequences:
        keep = set(ids)
        return EHRSequences(self.patients[self.patients.patient_id.isin(keep)]
                            .reset_index(drop=True),
                            self.events[self.events.patient_id.isin(keep)].reset_index(drop=True),
                            source=self.source, descriptions=self.descriptions)

    def split(self, test_fraction: float, seed: int | None,
              *purpose: str | int) -> tuple[EHRSequences, EHRSequences]:
        """``(train, test)`` by patient, keyed by the public seed: adding or removing one patient
        moves no other patient between the parts."""
        from synthscape.random import train_test_split

        ids = pd.Series(self.patients.patient_id.to_numpy())
        train, test = train_test_split(ids, test_fraction, seed, *(purpose or ("patients",)))
        return self.subset(train), self.subset(test)


def make_events(patient_id, time, table: str, code, value=None, qualifier=None) -> pd.DataFrame:
    """An events frame in the column order of :data:`EVENT_COLUMNS`."""
    n = len(patient_id)
    return pd.DataFrame({
        "patient_id": np.asarray(patient_id, dtype=object).astype(str),
        "time": pd.to_datetime(pd.Series(np.asarray(time)), utc=False).to_numpy(),
        "table": np.full(n, table, dtype=object),
        "code": np.asarray(code, dtype=object).astype(str),
        "value": np.full(n, np.nan) if value is None else np.asarray(value, float),
        "qualifier": np.full(n, "", dtype=object) if qualifier is None else
        pd.Series(np.asarray(qualifier, dtype=object)).fillna("").astype(str).to_numpy(),
    })


def concat_events(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Events of every table, sorted by (patient, time, table) for a stable order."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return make_events([], [], "condition", [])
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values(["patient_id", "time", "table", "code"], kind="stable") \
        .reset_index(drop=True)


def decimal_year(when: pd.Series) -> np.ndarray:
    """Datetimes as decimal years (1990-07-02 -> about 1990.5)."""
    t = pd.to_datetime(when)
    start = pd.to_datetime(t.dt.year.astype("Int64").astype(str) + "-01-01", errors="coerce")
    return (t.dt.year + (t - start).dt.days / 365.25).to_numpy(float)


def birth_dates(birth_year) -> pd.Series:
    """Decimal years of birth -> dates (day precision)."""
    y = np.asarray(birth_year, float)
    whole = np.floor(y).astype(int)
    start = pd.to_datetime(pd.Series(whole).astype(str) + "-01-01")
    return (start + pd.to_timedelta(np.floor((y - whole) * 365.25), unit="D")).dt.floor("D")


def make_consistent(patients: pd.DataFrame, events: pd.DataFrame) -> tuple[pd.DataFrame,
                                                                           pd.DataFrame, dict]:
    """Post-processing of a sample: drop events before birth (day precision) and after the
    first death event, keep one death event (the last of the timeline), sort by (patient,
    time) and set ``death`` from the timeline. Returns the fixed frames and counts of what was
    changed (a synthetic-only summary)."""
    ev = events.sort_values(["patient_id", "time"], kind="stable").reset_index(drop=True)
    birth = pd.Series(birth_dates(patients.birth_year).to_numpy(),
                      index=patients.patient_id.astype(str))
    before = (ev.time.dt.floor("D") < birth.reindex(ev.patient_id.astype(str)).to_numpy())
    before = before.to_numpy()
    ev = ev[~before].reset_index(drop=True)
    is_death = (ev.table.astype(str) == DEATH).to_numpy()
    death_time = ev[is_death].groupby("patient_id").time.min()
    dt = death_time.reindex(ev.patient_id).to_numpy()
    after = ~pd.isna(dt) & (ev.time.to_numpy() > dt)
    extra_death = is_death & ev.duplicated(["patient_id", "table"]).to_numpy()
    drop = after | extra_death
    ev = ev[~drop].reset_index(drop=True)
    # a death at the same instant as other events goes last
    order = np.lexsort(((ev.table.astype(str) == DEATH).to_numpy(), ev.time.to_numpy(),
                        ev.patient_id.astype(str).to_numpy()))
    ev = ev.iloc[order].reset_index(drop=True)
    pats = patients.copy()
    pats["death"] = pats.patient_id.astype(str).isin(set(death_time.index.astype(str)))
    return pats, ev, {"events_before_birth": int(before.sum()),
                      "events_after_death": int(after.sum()),
                      "repeated_deaths": int((extra_death & ~after).sum())}


def inconsistencies(patients: pd.DataFrame, events: pd.DataFrame) -> dict[str, int]:
    """Counts of temporal defects: events before birth, after death, out of time order within a
    patient, and death flags that disagree with the timeline (all zero after
    :func:`make_consistent`)."""
    birth = pd.Series(birth_dates(patients.birth_year).to_numpy(),
                      index=patients.patient_id.astype(str))
    pid = events.patient_id.astype(str)
    b = birth.reindex(pid).to_numpy()
    is_death = (events.table.astype(str) == DEATH).to_numpy()
    death = events[is_death].groupby("patient_id").time.min().reindex(pid).to_numpy()
    t = events.time.to_numpy()
    same = (pid.to_numpy()[1:] == pid.to_numpy()[:-1])
    flag = pd.Series(patients.death.astype(bool).to_numpy(), index=patients.patient_id.astype(str))
    has = flag.index.isin(set(events.patient_id[is_death].astype(str)))
    return {"before_birth": int((events.time.dt.floor("D").to_numpy() < b).sum()),
            "after_death": int((~pd.isna(death) & (t > death)).sum()),
            "unordered": int((same & (t[1:] < t[:-1])).sum()),
            "death_flag_mismatch": int((flag.to_numpy() != has).sum())}

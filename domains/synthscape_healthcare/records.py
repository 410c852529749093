"""The EHR data model: patients, diagnosis codes with onset, labs and encounters over time.

Time is in days relative to each patient's index date (day 0: cohort entry); negative days are
history. One patient is the unit of privacy: every table is keyed by ``patient_id``.

- ``patients``: ``patient_id``, ``age`` (years at day 0), ``sex`` ("F"/"M"),
  ``followup_days`` (days observed after day 0), ``death`` (bool, died during follow-up).
- ``conditions``: ``patient_id``, ``code``, ``day`` (onset).
- ``labs``: ``patient_id``, ``test``, ``day``, ``value``.
- ``encounters``: ``patient_id``, ``day``, ``encounter_class``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from synthscape.errors import SchemaError

PATIENT_COLUMNS = ("patient_id", "age", "sex", "followup_days", "death")
CONDITION_COLUMNS = ("patient_id", "code", "day")
LAB_COLUMNS = ("patient_id", "test", "day", "value")
ENCOUNTER_COLUMNS = ("patient_id", "day", "encounter_class")


@dataclass
class EHRData:
    """A cohort of patient records; ``validate()`` checks keys, columns and values."""

    patients: pd.DataFrame
    conditions: pd.DataFrame
    labs: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(LAB_COLUMNS)))
    encounters: pd.DataFrame | None = None
    source: str = "user frames"

    def __post_init__(self) -> None:
        self.validate()
        if self.encounters is None:
            self.encounters = derive_encounters(self.conditions, self.labs)

    @property
    def n_patients(self) -> int:
        return len(self.patients)

    @property
    def n_units(self) -> int:
        """Patients, the unit of privacy (the core's ``RecordSet`` protocol)."""
        return len(self.patients)

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table by name, each keyed by ``patient_id`` (the ``RecordSet`` protocol)."""
        enc = self.encounters  # derived in __post_init__ when not given
        return {"patients": self.patients, "conditions": self.conditions, "labs": self.labs,
                "encounters": enc if enc is not None else
                derive_encounters(self.conditions, self.labs)}

    def validate(self) -> EHRData:
        problems = []
        for name, cols in (("patients", PATIENT_COLUMNS), ("conditions", CONDITION_COLUMNS),
                           ("labs", LAB_COLUMNS)):
            df = getattr(self, name)
            if not isinstance(df, pd.DataFrame):
                problems.append(f"{name}: expected a pandas DataFrame, got {type(df).__name__}")
                continue
            missing = [c for c in cols if c not in df.columns]
            if missing:
                problems.append(f"{name}: missing column(s) {missing}; expected {list(cols)}")
        if problems:
            raise SchemaError(f"invalid EHR data from {self.source}", problems)
        p = self.patients
        if len(p) == 0:
            raise SchemaError(f"the EHR data from {self.source} has no patients")
        if p.patient_id.duplicated().any():
            dup = p.patient_id[p.patient_id.duplicated()].iloc[0]
            problems.append(f"patients.patient_id: {dup!r} appears more than once")
        bad_sex = sorted(set(p.sex.dropna().astype(str)) - {"F", "M"})
        if bad_sex:
            problems.append(f"patients.sex: values {bad_sex[:5]} are not 'F' or 'M'")
        known = set(p.patient_id)
        for name in ("conditions", "labs"):
            df = getattr(self, name)
            orphans = set(df.patient_id) - known
            if orphans:
                problems.append(f"{name}.patient_id: {len(orphans)} id(s) not in patients, e.g. "
                                f"{sorted(map(str, orphans))[:3]}")
        if problems:
            raise SchemaError(f"invalid EHR data from {self.source}", problems)
        return self

    def subset(self, ids) -> EHRData:
        ids = set(ids)

        def keep(df):
            return df[df.patient_id.isin(ids)].reset_index(drop=True)

        return EHRData(keep(self.patients), keep(self.conditions), keep(self.labs),
                       keep(self.encounters), source=self.source)

    def split(self, test_fraction: float, seed: int | None,
              *purpose: str | int) -> tuple[EHRData, EHRData]:
        """``(train, test)`` by patient: every record of a patient lands on one side.

        :func:`synthscape.random.train_test_split` over the patient ids, keyed by the public
        ``seed`` and ``purpose`` (default ``"patients"``, the split an ``ehr`` scenario makes):
        adding or removing one patient moves no other patient between the parts."""
        from synthscape.random import train_test_split

        ids = pd.Series(self.patients.patient_id.to_numpy())
        train, test = train_test_split(ids, test_fraction, seed, *(purpose or ("patients",)))
        if len(train) == 0 or len(test) == 0:
            raise SchemaError(f"splitting {self.n_patients} patients at test_fraction "
                              f"{test_fraction:g} (seed {seed}) left an empty part; use more "
                              f"patients or another test_fraction")
        return self.subset(train), self.subset(test)


def derive_encounters(conditions: pd.DataFrame, labs: pd.DataFrame) -> pd.DataFrame:
    """One encounter per patient-day with a diagnosis or a lab: diagnoses make 'outpatient'
    visits, lab-only days 'laboratory' visits (Synthea's ENCOUNTERCLASS vocabulary)."""
    dx = conditions[["patient_id", "day"]].assign(encounter_class="outpatient")
    lab = labs[["patient_id", "day"]].assign(encounter_class="laboratory")
    enc = pd.concat([dx, lab], ignore_index=True)
    enc = enc.sort_values(["patient_id", "day", "encounter_class"], kind="stable")
    enc = enc.drop_duplicates(["patient_id", "day"], keep="last")
    return enc.reset_index(drop=True)[list(ENCOUNTER_COLUMNS)]


def from_synthea(export, *, index_date: str, end_date: str | None = None,
                 lab_codes: dict[str, str] | None = None) -> EHRData:
    """EHR data from a :class:`~synthscape_healthcare.synthea.SyntheaExport`.

    Day 0 is ``index_date`` and follow-up ends at death or ``end_date`` (default: the index
    date). Both are declared constants: dates read from the data would make every patient's
    record depend on the others. Codes stay SNOMED CT (group them with
    :func:`~synthscape_healthcare.snomed.semantic_tag_ontology`); ``lab_codes`` maps LOINC
    codes of ``observations`` to test names."""
    pats = export["patients"]
    cond = export["conditions"]
    day0 = pd.Timestamp(index_date)
    stop = pd.Timestamp(end_date) if end_date else day0
    death = pats.DEATHDATE
    end = death.where(death.notna() & (death < stop), stop)
    patients = pd.DataFrame({
        "patient_id": pats.Id.astype(str),
        "age": ((day0 - pats.BIRTHDATE).dt.days / 365.25).clip(lower=0),
        "sex": pats.GENDER.astype(str).str.upper().str[0],
        "followup_days": (end - day0).dt.days.clip(lower=0).astype(float),
        "death": (death.notna() & (death >= day0) & (death < stop)).to_numpy(),
    })
    conditions = pd.DataFrame({"patient_id": cond.PATIENT.astype(str),
                               "code": cond.CODE.astype(str),
                               "day": (cond.START - day0).dt.days.astype(float)})
    labs = pd.DataFrame(columns=list(LAB_COLUMNS))
    if lab_codes and "observations" in export:
        obs = export["observations"]
        obs = obs[obs.CODE.isin(list(lab_codes)) & obs.VALUE_NUMERIC.notna()]
        labs = pd.DataFrame({"patient_id": obs.PATIENT.astype(str),
                             "test": obs.CODE.map(lab_codes),
                             "day": (obs.DATE - day0).dt.days.astype(float),
                             "value": obs.VALUE_NUMERIC.astype(float)})
    return EHRData(patients, conditions, labs.reset_index(drop=True),
                   source=f"Synthea export {export.folder} (schema {export.version})")

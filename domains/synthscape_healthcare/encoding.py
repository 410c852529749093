"""The declared cohort schema, and patient records <-> one fixed-width row per patient.

Everything the encoding needs (the code vocabulary, onset bins, age and lab bounds) is declared
here, never read from the data, so encoding spends no privacy budget. Values outside the
declared bounds are clipped into the end bins (a per-patient operation).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from synthscape.scenarios import StrictModel
from synthscape_healthcare.records import EHRData, derive_encounters


class LabSpec(StrictModel):
    """One lab or vital, summarised per patient by the value closest to day 0."""

    name: str
    lower: float
    upper: float
    bins: int = Field(default=8, ge=2, le=64)
    unit: str = ""
    loinc: str = ""
    description: str = ""

    @model_validator(mode="after")
    def _bounds(self) -> LabSpec:
        if not self.lower < self.upper:
            raise ValueError(f"lab {self.name!r}: need lower < upper, got {self.lower}, "
                             f"{self.upper}")
        return self


class LabelSpec(StrictModel):
    """The label column: ``death`` during follow-up; ``later_code``: a code in the subtree
    of ``code`` with onset after day 0; ``code``: such a code at any time."""

    type: Literal["death", "later_code", "code"] = "death"
    code: str | None = None
    name: str = "label"

    @model_validator(mode="after")
    def _code(self) -> LabelSpec:
        if (self.type != "death") != (self.code is not None):
            raise ValueError("label.code is required for types 'later_code' and 'code', and "
                             "only for them")
        return self


class CohortSchema(StrictModel):
    """The declared shape of a cohort (public knowledge, not read from the data)."""

    vocabulary: list[str] = Field(min_length=1)
    onset_edges: list[float] = Field(default=[-3650, -1095, -365, 0, 365, 1095, 3650])
    onset_range: tuple[float, float] = (-7300.0, 7300.0)
    age_range: tuple[float, float] = (18.0, 100.0)
    age_bins: int = Field(default=16, ge=2, le=100)
    followup_max: float = Field(default=7300.0, gt=0)
    followup_bins: int = Field(default=10, ge=2, le=100)
    labs: list[LabSpec] = Field(default_factory=list)
    label: LabelSpec = Field(default_factory=LabelSpec)

    @model_validator(mode="after")
    def _check(self) -> CohortSchema:
        e = self.onset_edges
        if any(b <= a for a, b in zip(e, e[1:])) or 0 not in e:
            raise ValueError("onset_edges must increase strictly and include 0 (day 0 splits "
                             "history from later events)")
        lo, hi = self.onset_range
        if not lo < e[0] or not e[-1] < hi:
            raise ValueError(f"onset_range {self.onset_range} must enclose onset_edges")
        if len(set(self.vocabulary)) != len(self.vocabulary):
            raise ValueError("vocabulary has duplicate codes")
        if not self.age_range[0] < self.age_range[1]:
            raise ValueError("age_range must be (lower, upper) with lower < upper")
        return self

    @property
    def n_onset(self) -> int:
        """Onset bins: between the edges, beyond them, and one for day 0 itself (the index
        visit, where cohort-defining diagnoses sit); the day-0 bin is the last."""
        return len(self.onset_edges) + 2

    def categorical_sizes(self) -> list[int]:
        """Cardinalities of the categorical columns: age, sex, follow-up, death, each lab
        (its bins plus one 'not measured')."""
        return [self.age_bins, 2, self.followup_bins, 2, *[lab.bins + 1 for lab in self.labs]]

    def categorical_names(self) -> list[str]:
        return ["age", "sex", "followup_days", "death", *[f"lab:{lab.name}" for lab in self.labs]]


@dataclass
class Encoded:
    """``codes`` (n, V) 0/1; ``onset`` (n, V) bin index or -1; ``cats`` (n, C) indices."""

    codes: np.ndarray
    onset: np.ndarray
    cats: np.ndarray
    ids: np.ndarray

    def __len__(self) -> int:
        return len(self.codes)


def _bin(x: np.ndarray, lo: float, hi: float, k: int) -> np.ndarray:
    return np.clip(np.floor((x - lo) / (hi - lo) * k), 0, k - 1).astype(np.int64)


def encode(data: EHRData, schema: CohortSchema, code_index: dict[str, int]) -> Encoded:
    """One row per patient. ``code_index`` maps each data code to its vocabulary column
    (codes outside the vocabulary are dropped: the vocabulary is declared)."""
    p = data.patients.reset_index(drop=True)
    ids = p.patient_id.astype(str).to_numpy()
    row = pd.Series(np.arange(len(p)), index=ids)
    n, v = len(p), len(schema.vocabulary)
    codes = np.zeros((n, v), np.float32)
    onset = np.full((n, v), -1, np.int64)
    c = data.conditions.assign(col=data.conditions.code.astype(str).map(code_index))
    c = c[c.col.notna()]
    if len(c):
        first = c.groupby([c.patient_id.astype(str), c.col.astype(int)]).day.min().reset_index()
        r = row.loc[first.patient_id].to_numpy()
        k = first.col.to_numpy()
        codes[r, k] = 1.0
        days = first.day.to_numpy()
        onset[r, k] = np.where(days == 0, schema.n_onset - 1,
                               np.searchsorted(schema.onset_edges, days, side="right"))
    cats = np.zeros((n, len(schema.categorical_sizes())), np.int64)
    cats[:, 0] = _bin(p.age.to_numpy(float), *schema.age_range, schema.age_bins)
    cats[:, 1] = (p.sex.astype(str) == "M").to_numpy().astype(np.int64)
    cats[:, 2] = _bin(p.followup_days.to_numpy(float), 0.0, schema.followup_max,
                      schema.followup_bins)
    cats[:, 3] = p.death.astype(bool).to_numpy().astype(np.int64)
    labs = data.labs
    for j, lab in enumerate(schema.labs):
        rows = labs[labs.test == lab.name].dropna(subset=["value"])
        col = np.full(n, lab.bins, np.int64)  # "not measured"
        if len(rows):
            rows = rows.assign(dist=rows.day.abs()).sort_values(["dist", "day"], kind="stable")
            near = rows.drop_duplicates("patient_id")
            near = near[near.patient_id.astype(str).isin(row.index)]
            col[row.loc[near.patient_id.astype(str)].to_numpy()] = _bin(
                near.value.to_numpy(float), lab.lower, lab.upper, lab.bins)
        cats[:, 4 + j] = col
    return Encoded(codes, onset, cats, ids)


def decode(enc: Encoded, schema: CohortSchema, codes: list[str],
           rng: np.random.Generator) -> EHRData:
    """Records from encoded rows; values are drawn uniformly inside their bins."""
    n = len(enc)
    ids = np.array([f"P{i:07d}" for i in range(n)])

    def inside(idx, lo, hi, k):
        return lo + (idx + rng.uniform(size=len(idx))) * (hi - lo) / k

    patients = pd.DataFrame({
        "patient_id": ids,
        "age": np.round(inside(enc.cats[:, 0], *schema.age_range, schema.age_bins), 1),
        "sex": np.where(enc.cats[:, 1] == 1, "M", "F"),
        "followup_days": np.floor(inside(enc.cats[:, 2], 0.0, schema.followup_max,
                                         schema.followup_bins)),
        "death": enc.cats[:, 3].astype(bool),
    })
    r, k = np.nonzero(enc.codes > 0)
    edges = np.array([schema.onset_range[0], *schema.onset_edges, schema.onset_range[1]])
    raw = enc.onset[r, k]
    b = np.clip(raw, 0, len(edges) - 2)
    day = np.floor(edges[b] + rng.uniform(size=len(b)) * (edges[b + 1] - edges[b]))
    day = np.where(edges[b] >= 0, np.maximum(day, 1), np.minimum(day, -1))  # never day 0
    day = np.where(raw == schema.n_onset - 1, 0.0, day)
    later = day > 0  # events after day 0 happen within follow-up
    fu = patients.followup_days.to_numpy()[r]
    day = np.where(later, np.minimum(day, fu), day)
    conditions = pd.DataFrame({"patient_id": ids[r], "code": np.asarray(codes)[k], "day": day})
    lab_rows = []
    for j, lab in enumerate(schema.labs):
        idx = enc.cats[:, 4 + j]
        m = idx < lab.bins
        lab_rows.append(pd.DataFrame({"patient_id": ids[m], "test": lab.name, "day": 0.0,
                                      "value": inside(idx[m], lab.lower, lab.upper, lab.bins)}))
    labs = pd.concat(lab_rows, ignore_index=True) if lab_rows else \
        pd.DataFrame(columns=["patient_id", "test", "day", "value"])
    conditions = conditions.sort_values(["patient_id", "day"], kind="stable").reset_index(drop=True)
    return EHRData(patients, conditions, labs, derive_encounters(conditions, labs),
                   source="synthetic")

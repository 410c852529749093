"""Labels defined on the timeline: death, and disease progression (the first onset of a code
in an ontology subtree after the index date, within a horizon).

A label is both the dataset label of a release (a column of the patients table) and a
generation condition (``sample(n, conditions={"label": True})``).
"""
from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from synthscape.scenarios import StrictModel
from synthscape_healthcare.ontology import Ontology
from synthscape_healthcare.sequences import DEATH, EHRSequences


class TimelineLabel(StrictModel):
    """``death``: the timeline holds a death. ``progression``: the patient's first code in the
    subtree of ``code`` falls on a calendar day after ``index_date`` and within
    ``horizon_days`` of it (patients who had it before or on the index date are negative)."""

    type: Literal["death", "progression"] = "death"
    name: str = "label"
    code: str | None = None
    index_date: str = "2005-01-01"
    horizon_days: float = Field(default=3650.0, gt=0)

    @model_validator(mode="after")
    def _code(self) -> TimelineLabel:
        if (self.type == "progression") != (self.code is not None):
            raise ValueError("label.code is required for type 'progression' and only for it")
        return self


def in_subtree(codes: pd.Series, of: str, ontology: Ontology | None) -> np.ndarray:
    """Whether each code lies in the subtree of ``of`` (equality without an ontology)."""
    if ontology is None:
        return (codes.astype(str) == of).to_numpy()
    root = ontology.node(of)
    memo: dict[str, bool] = {}
    out = np.zeros(len(codes), bool)
    for i, c in enumerate(codes.astype(str)):
        if c not in memo:
            memo[c] = c in ontology and ontology.is_descendant(c, root)
        out[i] = memo[c]
    return out


def label_of(data: EHRSequences, spec: TimelineLabel,
             ontology: Ontology | None = None) -> pd.Series:
    """The label per patient: a bool Series indexed by patient id, named ``spec.name``."""
    ids = data.patients.patient_id.astype(str)
    e = data.events
    if spec.type == "death":
        hit = set(e.patient_id[e.table.astype(str) == DEATH].astype(str))
    else:
        assert spec.code is not None  # the model validator requires it
        rows = e[in_subtree(e.code, spec.code, ontology) & (e.table.astype(str) != DEATH)]
        # by calendar day: an onset on the index day itself (at whatever hour) is history
        first = rows.groupby(rows.patient_id.astype(str)).time.min().dt.normalize()
        day0 = pd.Timestamp(spec.index_date).normalize()
        end = day0 + pd.Timedelta(days=spec.horizon_days)
        hit = set(first.index[(first > day0) & (first <= end)])
    return pd.Series(ids.isin(hit).to_numpy(), index=ids.to_numpy(), name=spec.name)

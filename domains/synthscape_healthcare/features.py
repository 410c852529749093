"""Labels and the one-row-per-patient feature table used for utility and privacy checks.

Features describe a patient on day 0: age, sex, codes with onset on or before day 0 (history),
and the labs closest to day 0. Later events and follow-up are left out, so a model trained on
them predicts the label from what was known at the index date.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from synthscape.schema import Column, TableSchema
from synthscape_healthcare.encoding import CohortSchema, LabelSpec, encode
from synthscape_healthcare.ontology import Ontology
from synthscape_healthcare.records import EHRData


def in_subtree(codes: pd.Series, of: str, ontology: Ontology | None) -> np.ndarray:
    """Whether each code lies in the subtree of ``of`` (equality without an ontology)."""
    if ontology is None:
        return (codes.astype(str) == of).to_numpy()
    root = ontology.node(of)
    memo: dict[str, bool] = {}
    out = []
    for c in codes.astype(str):
        if c not in memo:
            memo[c] = c in ontology and ontology.is_descendant(c, root)
        out.append(memo[c])
    return np.asarray(out, bool)


def labels(data: EHRData, spec: LabelSpec, ontology: Ontology | None = None) -> pd.Series:
    """The label per patient (a bool Series indexed by ``patient_id``)."""
    ids = data.patients.patient_id.astype(str)
    if spec.type == "death":
        return pd.Series(data.patients.death.astype(bool).to_numpy(), index=ids, name=spec.name)
    c = data.conditions
    when = (c.day > 0).to_numpy() if spec.type == "later_code" else np.ones(len(c), bool)
    assert spec.code is not None  # LabelSpec requires a code for the code label types
    hit = c[when & in_subtree(c.code, spec.code, ontology)]
    return pd.Series(ids.isin(set(hit.patient_id.astype(str))).to_numpy(), index=ids,
                     name=spec.name)


def carriers(data: EHRData, code: str, ontology: Ontology | None = None) -> set[str]:
    """Patients with any code in the subtree of ``code`` (any onset)."""
    c = data.conditions
    return set(c.patient_id[in_subtree(c.code, code, ontology)].astype(str))


def feature_table(data: EHRData, schema: CohortSchema, code_index: dict[str, int],
                  label: pd.Series) -> pd.DataFrame:
    """Age, sex, history flags per vocabulary code, lab bins and the label, one row each."""
    hist = EHRData(data.patients, data.conditions[data.conditions.day <= 0], data.labs,
                   data.encounters, source=data.source)
    enc = encode(hist, schema, code_index)
    out = {"age": data.patients.age.clip(*schema.age_range).to_numpy(float),
           "sex": np.where(enc.cats[:, 1] == 1, "M", "F")}
    for j, code in enumerate(schema.vocabulary):
        out[f"dx_{code}"] = enc.codes[:, j] > 0
    for j, lab in enumerate(schema.labs):
        col = enc.cats[:, 4 + j]
        out[f"lab_{lab.name}"] = np.where(col < lab.bins, col, -1).astype(float)
    out[label.name] = label.reindex(data.patients.patient_id.astype(str)).to_numpy(bool)
    return pd.DataFrame(out)


def feature_schema(schema: CohortSchema, label_name: str) -> TableSchema:
    """The declared TableSchema of :func:`feature_table` (for the core evaluation)."""
    cols = [Column(name="age", kind="numerical", lower=schema.age_range[0],
                   upper=schema.age_range[1]),
            Column(name="sex", kind="categorical", categories=("F", "M"))]
    cols += [Column(name=f"dx_{c}", kind="boolean") for c in schema.vocabulary]
    cols += [Column(name=f"lab_{lab.name}", kind="numerical", lower=-1, upper=lab.bins - 1,
                    integer=True, description=f"bin of {lab.name}; -1 not measured")
             for lab in schema.labs]
    cols.append(Column(name=label_name, kind="boolean"))
    return TableSchema(columns=cols, name="ehr_patients")

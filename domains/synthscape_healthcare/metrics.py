"""EHR fidelity metrics: code prevalence and co-occurrence (rolled up the ontology), rare-code
error, and checks of conditioned samples.

R2 is the coefficient of determination of the synthetic rates against the real ones,
``1 - sum((real - syn)^2) / sum((real - mean(real))^2)`` (1 is perfect; it can be negative).
"""
from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd

from synthscape_healthcare.encoding import CohortSchema
from synthscape_healthcare.features import carriers
from synthscape_healthcare.ontology import Ontology, code_of
from synthscape_healthcare.records import EHRData


def r2(real: np.ndarray, syn: np.ndarray) -> float:
    real, syn = np.asarray(real, float), np.asarray(syn, float)
    ss = float(((real - real.mean()) ** 2).sum())
    return float("nan") if ss == 0 else 1.0 - float(((real - syn) ** 2).sum()) / ss


def rolled_sets(data: EHRData, ontology: Ontology | None, level: str | None) -> pd.DataFrame:
    """Distinct (patient_id, code) pairs with codes rolled up to ``level``."""
    c = data.conditions[["patient_id", "code"]].astype(str)
    if ontology is not None and level is not None:
        memo = {k: code_of(ontology.roll_up(k, level)) for k in c.code.unique() if k in ontology}
        c = c.assign(code=c.code.map(memo)).dropna()
    return c.drop_duplicates()


def prevalence(data: EHRData, ontology: Ontology | None = None,
               level: str | None = "category") -> pd.Series:
    pairs = rolled_sets(data, ontology, level)
    return pairs.code.value_counts() / max(data.n_patients, 1)


def prevalence_r2(real: EHRData, syn: EHRData, ontology: Ontology | None = None,
                  level: str | None = "category") -> tuple[float, pd.DataFrame]:
    pr, ps = prevalence(real, ontology, level), prevalence(syn, ontology, level)
    t = pd.concat([pr.rename("real"), ps.rename("synthetic")], axis=1).fillna(0.0)
    t = t.sort_values("real", ascending=False)
    return r2(t.real, t.synthetic), t.rename_axis("code").reset_index()


def cooccurrence(data: EHRData, ontology: Ontology | None, level: str | None,
                 codes: list[str]) -> pd.Series:
    pairs = rolled_sets(data, ontology, level)
    sets = pairs.groupby("patient_id").code.agg(frozenset)
    out = {}
    for a, b in combinations(sorted(codes), 2):
        out[f"{a}&{b}"] = float(sum(1 for s in sets if a in s and b in s)) / max(data.n_patients, 1)
    return pd.Series(out, dtype=float)


def cooccurrence_r2(real: EHRData, syn: EHRData, ontology: Ontology | None = None,
                    level: str | None = "category") -> tuple[float, pd.DataFrame]:
    codes = sorted(set(prevalence(real, ontology, level).index))
    cr, cs = cooccurrence(real, ontology, level, codes), cooccurrence(syn, ontology, level, codes)
    t = pd.concat([cr.rename("real"), cs.rename("synthetic")], axis=1).fillna(0.0)
    return r2(t.real, t.synthetic), t.rename_axis("pair").reset_index()


def rare_code_error(real: EHRData, syn: EHRData, threshold: float = 0.01,
                    onset_edges: list[float] | None = None) -> dict[str, float]:
    """Mean absolute prevalence error over codes rarer than ``threshold`` in the real data;
    with ``onset_edges``, over (code, onset period) cells rarer than the threshold."""

    def cells(d: EHRData) -> pd.Series:
        c = d.conditions.sort_values("day").drop_duplicates(["patient_id", "code"])
        key = c.code.astype(str)
        if onset_edges is not None:
            key = key + "@" + pd.Series(np.searchsorted(onset_edges, c.day.to_numpy(),
                                                        side="right"), index=c.index).astype(str)
        return key.value_counts() / max(d.n_patients, 1)

    r, s = cells(real), cells(syn)
    rare = r[r < threshold]
    if rare.empty:
        return {"n_rare": 0, "mae": float("nan"), "relative_error": float("nan")}
    got = s.reindex(rare.index).fillna(0.0)
    return {"n_rare": int(len(rare)), "mae": float((rare - got).abs().mean()),
            "relative_error": float(((rare - got).abs() / rare).mean())}


def tvd(a: pd.Series, b: pd.Series) -> float:
    pa, pb = a.value_counts(normalize=True), b.value_counts(normalize=True)
    idx = pa.index.union(pb.index)
    return 0.5 * float((pa.reindex(idx, fill_value=0) - pb.reindex(idx, fill_value=0)).abs().sum())


def age_bins(patients: pd.DataFrame, schema: CohortSchema) -> pd.Series:
    """Declared age bins (the cohort schema's), for distribution comparisons."""
    lo, hi = schema.age_range
    return np.clip(((patients.age - lo) / (hi - lo) * schema.age_bins).astype(int), 0,
                   schema.age_bins - 1)


def conditioning_check(syn: EHRData, real: EHRData, code: str, schema: CohortSchema,
                       ontology: Ontology | None = None) -> dict[str, float]:
    """Share of synthetic patients with a code under ``code``, and the TVD of their age
    (declared age bins) and sex from the real patients with such a code."""
    ok = carriers(syn, code, ontology)
    real_ids = carriers(real, code, ontology)
    rp = real.patients[real.patients.patient_id.astype(str).isin(real_ids)]
    return {"satisfied": len(ok) / max(syn.n_patients, 1),
            "n_real_with_condition": float(len(rp)),
            "tvd_age": tvd(age_bins(syn.patients, schema), age_bins(rp, schema)),
            "tvd_sex": tvd(syn.patients.sex, rp.sex)}

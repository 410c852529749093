"""Fidelity of synthetic timelines against real ones: code prevalence and co-occurrence,
per-patient event counts, time between encounters, per-patient lab slopes, conditioned
subgroups, temporal consistency; and the one-row-per-patient features used for utility (TSTR)
and membership attacks.

R2 is the coefficient of determination of the synthetic rates against the real ones,
``1 - sum((real - syn)^2) / sum((real - mean(real))^2)`` (1 is perfect; it can be negative).
KS is the two-sample Kolmogorov-Smirnov statistic; TVD the total variation distance.
"""
from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd

from synthscape_healthcare.ontology import Ontology
from synthscape_healthcare.sequences import DEATH, EHRSequences
from synthscape_healthcare.timeline import in_subtree
from synthscape_healthcare.vocabulary import keys


def r2(real, syn) -> float:
    real, syn = np.asarray(real, float), np.asarray(syn, float)
    ss = float(((real - real.mean()) ** 2).sum())
    return float("nan") if ss == 0 else 1.0 - float(((real - syn) ** 2).sum()) / ss


def ks(a, b) -> float:
    from scipy.stats import ks_2samp

    a, b = np.asarray(a, float), np.asarray(b, float)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    return float("nan") if len(a) == 0 or len(b) == 0 else float(ks_2samp(a, b).statistic)


def tvd(a: pd.Series, b: pd.Series) -> float:
    pa, pb = a.value_counts(normalize=True), b.value_counts(normalize=True)
    return float(0.5 * pa.sub(pb, fill_value=0.0).abs().sum())


def _sets(data: EHRSequences) -> pd.DataFrame:
    k = keys(data.events)
    return pd.DataFrame({"patient_id": data.events.patient_id.astype(str).to_numpy(),
                         "key": k.to_numpy()}).drop_duplicates()


def prevalence(data: EHRSequences) -> pd.Series:
    """Share of patients with each ``table:code`` key."""
    return _sets(data).key.value_counts() / max(data.n_patients, 1)


def prevalence_table(real: EHRSequences, syn: EHRSequences) -> pd.DataFrame:
    t = pd.concat([prevalence(real).rename("real"), prevalence(syn).rename("synthetic")],
                  axis=1).fillna(0.0)
    return t.sort_values("real", ascending=False).rename_axis("key").reset_index()


def cooccurrence_table(real: EHRSequences, syn: EHRSequences,
                       codes: list[str] | None = None) -> pd.DataFrame:
    """Share of patients with both keys of each pair (keys of the real data by default)."""
    codes = sorted(codes or prevalence(real).index)
    out = {}
    for name, data in (("real", real), ("synthetic", syn)):
        onehot = pd.crosstab(_sets(data).patient_id, _sets(data).key).reindex(
            columns=codes, fill_value=0).clip(upper=1).to_numpy(float)
        both = onehot.T @ onehot / max(data.n_patients, 1)
        out[name] = [both[i, j] for i, j in combinations(range(len(codes)), 2)]
    pairs = [f"{codes[i]}&{codes[j]}" for i, j in combinations(range(len(codes)), 2)]
    return pd.DataFrame({"pair": pairs, **out})


def encounter_days(data: EHRSequences) -> pd.DataFrame:
    """One row per (patient, day) with any event but death: the visits of a timeline."""
    e = data.events[data.events.table.astype(str) != DEATH]
    return pd.DataFrame({"patient_id": e.patient_id.astype(str).to_numpy(),
                         "day": e.time.dt.floor("D").to_numpy()}).drop_duplicates()


def encounters_per_patient(data: EHRSequences) -> np.ndarray:
    n = encounter_days(data).groupby("patient_id").size()
    return n.reindex(data.patients.patient_id.astype(str), fill_value=0).to_numpy(float)


def inter_encounter_days(data: EHRSequences) -> np.ndarray:
    v = encounter_days(data).sort_values(["patient_id", "day"])
    gaps = v.groupby("patient_id").day.diff().dt.days
    return gaps.dropna().to_numpy(float)


def lab_slopes(data: EHRSequences, lab: str, min_points: int = 2) -> np.ndarray:
    """Per patient, the least-squares slope of ``lab`` values against years."""
    e = data.events
    r = e[(e.table.astype(str) == "lab") & (e.code.astype(str) == lab) & e.value.notna()]
    if r.empty:
        return np.array([])
    t = (r.time - pd.Timestamp("2000-01-01")).dt.days.to_numpy(float) / 365.25
    df = pd.DataFrame({"p": r.patient_id.to_numpy(), "t": t, "v": r.value.to_numpy(float)})
    g = df.groupby("p")
    n = g.t.transform("size")
    df = df[n >= min_points]
    if df.empty:
        return np.array([])
    g = df.groupby("p")
    tc = df.t - g.t.transform("mean")
    vc = df.v - g.v.transform("mean")
    num = (tc * vc).groupby(df.p).sum()
    den = (tc * tc).groupby(df.p).sum()
    ok = den > 1e-9
    return (num[ok] / den[ok]).to_numpy(float)


def age_at(data: EHRSequences, index_date: str) -> pd.Series:
    from synthscape_healthcare.sequences import decimal_year

    y0 = float(decimal_year(pd.Series([pd.Timestamp(index_date)]))[0])
    return pd.Series(y0 - data.patients.birth_year.to_numpy(float),
                     index=data.patients.patient_id.astype(str).to_numpy())


def age_bins(age: pd.Series) -> pd.Series:
    """Declared 5-year bins, 0 to 100+."""
    return pd.Series(np.clip(np.floor(age.to_numpy(float) / 5), 0, 20).astype(int),
                     index=age.index)


def carriers(data: EHRSequences, code: str, ontology: Ontology | None) -> set[str]:
    e = data.events
    return set(e.patient_id[in_subtree(e.code, code, ontology)].astype(str))


def conditioning_check(syn: EHRSequences, real: EHRSequences, code: str,
                       ontology: Ontology | None, index_date: str) -> dict[str, float]:
    """Share of synthetic patients carrying ``code``'s subtree and TVD of age (5-year bins at
    the index date) and sex to the real carriers."""
    got = carriers(syn, code, ontology)
    sub = real.patients[real.patients.patient_id.astype(str).isin(carriers(real, code, ontology))]
    real_sub = real.subset(sub.patient_id)
    return {"satisfied": len(got) / max(syn.n_patients, 1),
            "tvd_age": tvd(age_bins(age_at(syn, index_date)),
                           age_bins(age_at(real_sub, index_date))),
            "tvd_sex": tvd(syn.patients.sex, sub.sex), "real_carriers": float(len(sub))}


def patient_features(data: EHRSequences, index_date: str, codes: list[str],
                     labs: list[str]) -> pd.DataFrame:
    """One row per patient as known at the end of the index day: age, sex, history flags of
    ``codes`` (``table:code`` keys with an event on or before that calendar day, whatever the
    hour) and the last value of each lab on or before it (-1 when none); the complement of a
    progression label (``timeline.label_of``), which counts onsets on later days."""
    day0 = pd.Timestamp(index_date)
    p = data.patients
    ids = p.patient_id.astype(str)
    e = data.events[data.events.time.dt.normalize() <= day0.normalize()]  # by calendar day
    out = pd.DataFrame({"age": age_at(data, index_date).to_numpy(),
                        "male": (p.sex.astype(str) == "M").to_numpy(float)}, index=ids.to_numpy())
    had = set(zip(e.patient_id.astype(str), keys(e)))
    for c in codes:
        out[f"dx_{c}"] = [float((i, c) in had) for i in ids]
    for lab in labs:
        r = e[(e.table.astype(str) == "lab") & (e.code.astype(str) == lab) & e.value.notna()]
        last = r.sort_values("time").groupby(r.patient_id.astype(str)).value.last()
        out[f"lab_{lab}"] = last.reindex(ids).fillna(-1.0).to_numpy()
    return out


def inconsistency_total(data: EHRSequences) -> dict[str, int]:
    from synthscape_healthcare.sequences import inconsistencies

    return inconsistencies(data.patients, data.events)

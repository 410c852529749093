"""Fidelity of synthetic event sequences against the real ones (internal evaluation: it reads the
real data, so it never goes into a release).

``sequence_report`` gives, each in [0, 1] with 0 best:
- ``event_tvd`` / ``entity_tvd``: one-way total variation distance of every event and entity
  column (numbers over 20 bins of the declared bounds, log-spaced for wide positive ranges);
- ``count_ks``: Kolmogorov-Smirnov statistic of the events per entity (entities without events
  count as 0 when the entities table is given);
- ``gap_ks``: KS statistic of the time between consecutive events of an entity;
- ``bigram_tvd``: the event-type transition matrix distance: for each previous type, the TVD of
  the next type's distribution, weighted by how often the real log has that previous type;
- ``hour_tvd`` / ``dow_tvd``: TVD of the hour-of-day and day-of-week profiles;
- ``membership`` (with ``holdout=``): the entity-level membership attack of
  :mod:`synthscape.evaluation.attacks.sequence_membership`.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthscape.schema import Column, SequenceSchema


def tvd(a: pd.Series, b: pd.Series) -> float:
    """Total variation distance of two samples of a discrete variable (NaN is a value)."""
    pa = a.astype(object).where(a.notna(), "<null>").value_counts(normalize=True)
    pb = b.astype(object).where(b.notna(), "<null>").value_counts(normalize=True)
    return float(0.5 * pa.sub(pb, fill_value=0.0).abs().sum()) if len(a) and len(b) else 1.0


def ks(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import ks_2samp

    if len(a) == 0 or len(b) == 0:
        return 1.0 if len(a) != len(b) else 0.0
    return float(ks_2samp(a, b).statistic)


def binned(c: Column, s: pd.Series, bins: int = 20) -> pd.Series:
    """A column as discrete values: categories as they are, numbers by declared-bound bins."""
    if c.kind not in ("numerical", "datetime"):
        return s
    lo, hi = c.bounds
    x = ((s - pd.Timestamp(0)) / pd.Timedelta(seconds=1)) if c.kind == "datetime" else s
    x = pd.to_numeric(x, errors="coerce").astype(float)
    if c.kind == "numerical" and lo >= 0 and hi > 1000 * max(lo, 1.0):
        edges = lo + np.expm1(np.linspace(0, np.log1p(hi - lo), bins + 1))
    else:
        edges = np.linspace(lo, hi, bins + 1)
    codes = np.clip(np.searchsorted(edges[1:-1], x.fillna(lo).to_numpy(), side="right"), 0,
                    bins - 1).astype(float)
    return pd.Series(np.where(x.isna(), np.nan, codes), index=s.index)


def _counts(entities: pd.DataFrame | None, events: pd.DataFrame, key: str) -> np.ndarray:
    c = events.groupby(key).size()
    if entities is not None:
        c = c.reindex(entities[key].unique(), fill_value=0)
    return c.to_numpy(float)


def _gaps(events: pd.DataFrame, key: str, tkey: str) -> np.ndarray:
    ev = events.sort_values([key, tkey])
    t = ev[tkey].to_numpy("datetime64[ns]").astype(np.int64) / 1e9
    same = ev[key].to_numpy()[1:] == ev[key].to_numpy()[:-1]
    return np.diff(t)[same]


def _bigrams(events: pd.DataFrame, key: str, tkey: str, col: str) -> pd.DataFrame:
    ev = events.sort_values([key, tkey])
    v = ev[col].astype(str).to_numpy()
    same = ev[key].to_numpy()[1:] == ev[key].to_numpy()[:-1]
    return pd.DataFrame({"prev": v[:-1][same], "next": v[1:][same]})


def bigram_tvd(real: pd.DataFrame, syn: pd.DataFrame) -> float:
    """Transition-matrix distance of two bigram tables (``prev``, ``next``)."""
    if len(real) == 0:
        return 0.0 if len(syn) == 0 else 1.0
    weight = real["prev"].value_counts(normalize=True)
    out = 0.0
    for prev, w in weight.items():
        out += w * tvd(real.loc[real["prev"] == prev, "next"],
                       syn.loc[syn["prev"] == prev, "next"])
    return float(out)


def sequence_report(real_entities: pd.DataFrame | None, real_events: pd.DataFrame,
                    syn_entities: pd.DataFrame | None, syn_events: pd.DataFrame,
                    schema: SequenceSchema, *, type_column: str | None = None,
                    holdout: tuple[pd.DataFrame | None, pd.DataFrame] | None = None,
                    seed: int = 0) -> dict[str, Any]:
    """Every sequence metric of the module docstring, as a JSON-able dict.

    ``type_column``: the event column whose transitions ``bigram_tvd`` compares (default: the
    first categorical event column). ``holdout``: real ``(entities, events)`` never trained on;
    with it the entity-level membership attack runs too."""
    key, tkey = schema.entity_key, schema.time_key
    out: dict[str, Any] = {"event_tvd": {}, "entity_tvd": {}}
    for c in (schema.events.columns if schema.events is not None else ()):
        if c.kind != "id" and c.name in syn_events:
            out["event_tvd"][c.name] = tvd(binned(c, real_events[c.name]),
                                           binned(c, syn_events[c.name]))
    if schema.entities is not None and real_entities is not None and syn_entities is not None:
        for c in schema.entities.columns:
            if c.kind != "id" and c.name in syn_entities:
                out["entity_tvd"][c.name] = tvd(binned(c, real_entities[c.name]),
                                                binned(c, syn_entities[c.name]))
    out["max_event_tvd"] = max(out["event_tvd"].values(), default=0.0)
    out["count_ks"] = ks(_counts(real_entities, real_events, key),
                         _counts(syn_entities, syn_events, key))
    out["gap_ks"] = ks(_gaps(real_events, key, tkey), _gaps(syn_events, key, tkey))
    if type_column is None and schema.events is not None:
        type_column = next((c.name for c in schema.events.columns
                            if c.kind in ("categorical", "boolean")), None)
    if type_column is not None:
        out["bigram_column"] = type_column
        out["bigram_tvd"] = bigram_tvd(_bigrams(real_events, key, tkey, type_column),
                                       _bigrams(syn_events, key, tkey, type_column))
    rt, st = pd.to_datetime(real_events[tkey]), pd.to_datetime(syn_events[tkey])
    out["hour_tvd"] = tvd(rt.dt.hour, st.dt.hour)
    out["dow_tvd"] = tvd(rt.dt.day_of_week, st.dt.day_of_week)
    if holdout is not None:
        from synthscape.evaluation.attacks.sequence_membership import entity_membership

        out["membership"] = entity_membership((real_entities, real_events), holdout,
                                              (syn_entities, syn_events), schema, seed=seed)
    return out

"""Membership inference at entity level: was this customer's (patient's) history trained on?

Each entity becomes a profile vector (its static columns one-hot, its event count, its mean and
spread of log inter-event times, the share of each value of every categorical event column, the
mean of every numerical event column on a log scale where the bounds are wide and positive),
standardised on the synthetic profiles. The score of a real entity is minus the distance to the
nearest synthetic profile (the distance attack of ``membership.py`` on profiles): members are
the training entities, non-members a hold-out the generator never saw, in equal numbers.
Reported: ROC-AUC (0.5: the attack cannot tell) and the TPR at FPR = 0.01.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthscape.evaluation.attacks.membership import distance_scores, roc_summary
from synthscape.random import derive_rng
from synthscape.schema import SequenceSchema

Logs = tuple[pd.DataFrame | None, pd.DataFrame]


def entity_profiles(entities: pd.DataFrame | None, events: pd.DataFrame,
                    schema: SequenceSchema) -> pd.DataFrame:
    """One row of numbers per entity (index: the entity key)."""
    key, tkey = schema.entity_key, schema.time_key
    ids = entities[key].unique() if entities is not None else events[key].unique()
    parts = [events.groupby(key).size().rename("n_events")]
    ev = events.sort_values([key, tkey])
    t = ev[tkey].to_numpy("datetime64[ns]").astype(np.int64) / 1e9
    same = np.r_[False, ev[key].to_numpy()[1:] == ev[key].to_numpy()[:-1]]
    gaps = pd.Series(np.log1p(np.diff(t, prepend=t[:1]).clip(0)), index=ev.index)[same]
    by = ev.loc[same, key]
    parts += [gaps.groupby(by).mean().rename("gap_mean"), gaps.groupby(by).std().rename("gap_sd")]
    for c in (schema.events.columns if schema.events is not None else ()):
        if c.kind in ("categorical", "boolean"):
            share = pd.crosstab(events[key], events[c.name].astype(str), normalize="index")
            share.columns = [f"{c.name}={v}" for v in share.columns]
            parts.append(share)
        elif c.kind == "numerical":
            lo, hi = c.bounds
            x = events[c.name].astype(float)
            if lo >= 0 and hi > 1000 * max(lo, 1.0):
                x = np.log1p(x - lo)
            parts.append(x.groupby(events[key]).mean().rename(f"{c.name}_mean"))
    prof = pd.concat(parts, axis=1).reindex(ids)
    if entities is not None and schema.entities is not None:
        static = entities.drop_duplicates(key).set_index(key).reindex(ids)
        for c in schema.entities.columns:
            if c.kind in ("categorical", "boolean"):
                prof = prof.join(pd.get_dummies(static[c.name].astype(str), prefix=c.name,
                                                dtype=float))
            elif c.kind == "numerical":
                prof[c.name] = static[c.name].astype(float)
    return prof.fillna(0.0).astype(float)


def entity_membership(members: Logs, non_members: Logs, synthetic: Logs,
                      schema: SequenceSchema, *, max_entities: int = 5000,
                      seed: int = 0) -> dict[str, Any]:
    """The distance attack on entity profiles; ``{"auc", "tpr_at_fpr", "n"}``."""
    mem = entity_profiles(*members, schema)
    non = entity_profiles(*non_members, schema)
    syn = entity_profiles(*synthetic, schema)
    cols = sorted(set(mem.columns) | set(non.columns) | set(syn.columns))
    mem, non, syn = (p.reindex(columns=cols, fill_value=0.0) for p in (mem, non, syn))
    rng = derive_rng(seed, "sequence_membership")
    k = int(min(len(mem), len(non), max_entities))
    if k == 0 or len(syn) == 0:
        return {"auc": float("nan"), "tpr_at_fpr": float("nan"), "n": 0}
    mem = mem.iloc[rng.choice(len(mem), k, replace=False)]
    non = non.iloc[rng.choice(len(non), k, replace=False)]
    mu, sd = syn.mean(), syn.std().replace(0, 1.0).fillna(1.0)
    z = [((p - mu) / sd).to_numpy() for p in (syn, mem, non)]
    r = roc_summary(distance_scores(z[0], z[1]), distance_scores(z[0], z[2]))
    return {"auc": r["auc"], "tpr_at_fpr": r["tpr_at_fpr"], "n": k}

"""Helpers of the EHR generator on whole timelines: which events a history keeps within the
bound, where a drawn death goes (after the last event), the carriers of a code set, and one
cohort from sampling rounds."""
from __future__ import annotations

import numpy as np
import pandas as pd

from synthscape_healthcare.sequences import DEATH, EHRSequences
from synthscape_healthcare.vocabulary import keys


def _carriers(data: EHRSequences, wanted: set[str]) -> np.ndarray:
    """Patients with at least one event whose key is in ``wanted``."""
    hit = keys(data.events).isin(wanted).to_numpy()
    return np.unique(data.events.patient_id.to_numpy()[hit])


def _renumber(parts: list[EHRSequences], descriptions: dict[str, str]) -> EHRSequences:
    """One cohort from sampling rounds, patients renumbered P0000000, P0000001, ..."""
    pats = pd.concat([p.patients for p in parts], ignore_index=True)
    evs = pd.concat([p.events for p in parts], ignore_index=True)
    round_of = np.repeat(np.arange(len(parts)), [p.n_patients for p in parts])
    old = pd.Series(round_of).astype(str) + "/" + pats.patient_id.astype(str)
    new = pd.Series([f"P{i:07d}" for i in range(len(pats))], index=old.to_numpy())
    ev_round = np.repeat(np.arange(len(parts)), [len(p.events) for p in parts])
    ev_old = pd.Series(ev_round).astype(str) + "/" + evs.patient_id.astype(str)
    pats["patient_id"] = new.to_numpy()
    evs["patient_id"] = new.reindex(ev_old.to_numpy()).to_numpy()
    names = {k.split(":", 1)[1]: d for k, d in descriptions.items()}
    return EHRSequences(pats, evs.sort_values(["patient_id", "time"], kind="stable")
                        .reset_index(drop=True), source="synthetic", descriptions=names)


# which events a history longer than the bound keeps first (labs and observations go first)
PRIORITY = {"death": 0, "condition": 1, "procedure": 2, "medication": 2, "allergy": 2,
            "careplan": 2, "immunization": 3, "encounter": 4, "observation": 5, "lab": 5}


def _keep_within_bound(events: pd.DataFrame, max_events: int) -> pd.DataFrame:
    """At most ``max_events`` events per patient (a per-patient step): the death, diagnoses
    and treatments before encounters and measurements, the earliest first within a rank; then
    back in time order. ``dp_sequence`` keeps the first L events in time, which would cut the
    death and late diagnoses from long histories."""
    rank = events.table.astype(str).map(PRIORITY).fillna(6).to_numpy()
    order = np.lexsort((events.time.to_numpy(), rank, events.patient_id.astype(str).to_numpy()))
    ev = events.iloc[order]
    ev = ev[ev.groupby("patient_id", sort=False).cumcount().to_numpy() < max_events]
    return ev.sort_values(["patient_id", "time"], kind="stable").reset_index(drop=True)


def _close_with_death(events: pd.DataFrame, dead: pd.Index) -> pd.DataFrame:
    """The sampled static ``death`` flag decides whether a timeline ends in a death (``dead``:
    the patients whose flag is set): each keeps its drawn death, moved after its last other
    event when it was drawn before them, or gets one a second after its last event; deaths
    the stream drew for the others are dropped.

    Why the flag: it is released and calibrated per run of birth years with the other entity
    columns (``dp_sequence``'s margins, ``margin_by``), where its cells carry about a third of
    the noise of the event part's; the stream's deaths did not follow age (a short DP-SGD run
    hardly learns what the entity columns imply for the events): on NAFLD at epsilon 1 the same
    share of 20- and 80-year-olds died. Why not cut the timeline at a drawn death: under
    DP-SGD the stream draws a death at any position (in the data it is always last), and the
    cut lost the diagnoses after it."""
    pid = events.patient_id.astype(str)
    is_death = (events.table.astype(str) == DEATH).to_numpy()
    drawn = events.time[is_death].groupby(pid[is_death]).max()
    last = events.time[~is_death].groupby(pid[~is_death]).max()
    dead = pd.Index(sorted(set(map(str, dead))))
    rest = events[~is_death]
    if len(dead) == 0:
        return rest.reset_index(drop=True)
    after = last.reindex(dead).fillna(pd.Timestamp("2000-01-01")) + pd.Timedelta(seconds=1)
    drawn = drawn.reindex(dead)
    when = after.where(~(drawn > after), drawn).to_numpy()  # NaT compares False
    add = pd.DataFrame({"patient_id": dead.to_numpy(), "time": when, "table": DEATH,
                        "code": DEATH, "value": np.nan, "qualifier": ""})
    return pd.concat([rest, add], ignore_index=True)

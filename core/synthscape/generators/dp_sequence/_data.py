"""From the real entities and events frames to the integer arrays the network trains on.

Everything here is a map from one entity's own rows to that entity's training record (events
outside the declared time range or with a category the schema does not hold are dropped; the
history is cut to its first ``max_events`` events), so neighbouring inputs stay neighbours and
DP-SGD's per-entity accounting holds. The exact number of entities is never returned to the
caller for planning: it plans with a DP count or a declared size.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from synthscape.errors import SchemaError
from synthscape.generators.dp_sequence._encoding import SequenceEncoding


@dataclass
class Records:
    """One row per entity: ``lengths`` (N,), ``entities`` (N, m) and ``events`` (N, L, F+2)
    codes (the predicted fields, the day of week, the whole hours since the range's start)."""

    lengths: np.ndarray
    entities: np.ndarray
    events: np.ndarray

    def packed(self) -> np.ndarray:
        """One int32 row per entity: length, entity codes, flattened events."""
        n = len(self.lengths)
        return np.concatenate([self.lengths[:, None], self.entities.reshape(n, -1),
                               self.events.reshape(n, -1)], axis=1).astype(np.int32)


def seconds(s: pd.Series, what: str) -> np.ndarray:
    """Epoch seconds of a timestamp column (naive UTC)."""
    try:
        t = pd.to_datetime(s)
    except (ValueError, TypeError) as exc:
        raise SchemaError(f"{what} must hold timestamps: {exc}") from None
    if getattr(t.dt, "tz", None) is not None:
        t = t.dt.tz_convert("UTC").dt.tz_localize(None)
    return ((t - pd.Timestamp(0)) / pd.Timedelta(seconds=1)).to_numpy(float, na_value=np.nan)


def check_columns(events: pd.DataFrame, entities: pd.DataFrame | None, entity_key: str,
                  time_key: str) -> None:
    problems = []
    for col in (entity_key, time_key):
        if col not in events.columns:
            problems.append(f"the events table has no column {col!r}")
    if entities is not None and entity_key not in entities.columns:
        problems.append(f"the entities table has no column {entity_key!r}")
    if problems:
        raise SchemaError("fit(events, entities, entity_key=..., time_key=...): the keys do not "
                          "match the tables", problems)


def build_records(events: pd.DataFrame, entities: pd.DataFrame | None, enc: SequenceEncoding,
                  *, policy: str) -> Records:
    schema = enc.schema
    key, tkey, L = schema.entity_key, schema.time_key, schema.max_events
    t = seconds(events[tkey], f"time column {tkey!r}")
    keep = np.isfinite(t) & (t >= enc.start) & (t < enc.end) & events[key].notna().to_numpy()
    ev = events.loc[keep]
    t = t[keep]
    cols = schema.events.names if schema.events is not None else []
    codes = np.zeros((len(ev), len(enc.column_fields)), np.int32)
    if cols:
        data = schema.events.validate(ev[cols].reset_index(drop=True),  # type: ignore[union-attr]
                                      out_of_bounds=policy,  # type: ignore[arg-type]
                                      source="events table")
        for j, f in enumerate(enc.column_fields):
            codes[:, j] = enc.encode_column(f, data[f.name])
    ok = (codes >= 0).all(axis=1)
    ev_keys = ev[key].to_numpy()[ok]
    t, codes = t[ok], codes[ok]

    if entities is not None:
        ents = entities.drop_duplicates(subset=[key], keep="first")
        ents = ents[ents[key].notna()]
        ent_codes = np.zeros((len(ents), len(enc.entity_fields)), np.int32)
        if enc.entity_fields:
            assert schema.entities is not None
            names = schema.entities.names
            data = schema.entities.validate(ents[names].reset_index(drop=True),
                                            out_of_bounds=policy,  # type: ignore[arg-type]
                                            source="entities table")
            for j, f in enumerate(enc.entity_fields):
                ent_codes[:, j] = enc.encode_column(f, data[f.name])
        fine = (ent_codes >= 0).all(axis=1)
        ent_keys, ent_codes = ents[key].to_numpy()[fine], ent_codes[fine]
    else:
        ent_keys = pd.unique(ev_keys)
        ent_codes = np.zeros((len(ent_keys), 0), np.int32)

    index = pd.Index(ent_keys)
    row = index.get_indexer(ev_keys)
    known = row >= 0
    row, t, codes = row[known], t[known], codes[known]
    order = np.lexsort((t, row))
    row, t, codes = row[order], t[order], codes[order]
    first = np.r_[True, row[1:] != row[:-1]] if len(row) else np.zeros(0, bool)
    starts = np.flatnonzero(first)
    pos = np.arange(len(row)) - np.repeat(starts, np.diff(np.r_[starts, len(row)]))
    gap, tod, dow = enc.encode_times(t, first)
    cut = pos < L
    n = len(ent_keys)
    elapsed = np.floor((t - enc.start) / 3600.0).astype(np.int32)  # whole hours since start
    fields = np.column_stack([gap, tod, codes, dow, elapsed])[cut]
    out = np.zeros((n, L, fields.shape[1]), np.int32)
    out[row[cut], pos[cut]] = fields
    lengths = np.bincount(row[cut], minlength=n).astype(np.int32)
    return Records(lengths=lengths, entities=ent_codes, events=out)


def one_event_per_entity(events: pd.DataFrame, entity_key: str, seed: int | None) -> pd.DataFrame:
    """One event of each entity, chosen by a keyed hash of its content: a table where each
    entity is one row, so schema inference on it has the sensitivity of a table's row."""
    from synthscape.random import row_uniforms

    u = row_uniforms(events, seed if seed is not None else 0, "dp_sequence.schema_rows")
    pick = pd.Series(u, index=events.index).groupby(events[entity_key].to_numpy()).idxmin()
    return events.loc[pick.to_numpy()].reset_index(drop=True)

"""Sampled token codes to the returned frames: entities (fresh keys, static columns) and events
(entity key, timestamp, event columns), typed by the schema and sorted by (entity, time)."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd

from synthscape.generators.base import Generator
from synthscape.generators.dp_sequence._conditions import Drawn
from synthscape.generators.dp_sequence._encoding import Field, SequenceEncoding
from synthscape.schema import TableSchema


def entity_ids(n: int) -> list[str]:
    width = max(6, len(str(max(n - 1, 0))))
    return [f"E{i:0{width}d}" for i in range(n)]


def _typed(schema: TableSchema | None, fields: list[Field], codes: np.ndarray,
           enc: SequenceEncoding, rng: np.random.Generator) -> pd.DataFrame:
    """Decode ``codes`` (rows x fields) and cast to the schema's types (the tabular
    generators' own cast: ``Generator._finish``)."""
    if schema is None:
        return pd.DataFrame(index=range(len(codes)))
    raw = {f.name: enc.decode_column(f, codes[:, j], rng) for j, f in enumerate(fields)}
    for c in schema.columns:
        if c.kind == "id":
            raw[c.name] = np.full(len(codes), "")
    frame = pd.DataFrame(raw, index=range(len(codes)))
    return Generator._finish(SimpleNamespace(schema_=schema), frame, rng)  # type: ignore[arg-type]


def to_frames(enc: SequenceEncoding, drawn: Drawn, rng: np.random.Generator
              ) -> tuple[pd.DataFrame, pd.DataFrame]:
    schema = enc.schema
    key, tkey = schema.entity_key, schema.time_key
    n = len(drawn.entities)
    ids = np.asarray(entity_ids(n), dtype=object)
    ents = _typed(schema.entities, enc.entity_fields, drawn.entities, enc, rng)
    ents.insert(0, key, ids)
    L = drawn.columns.shape[1] if drawn.columns.ndim == 3 else schema.max_events
    live = np.arange(L)[None, :] < drawn.lengths[:, None]
    owner = np.repeat(np.arange(n), drawn.lengths.astype(np.int64))
    k = len(enc.column_fields)
    cols = drawn.columns[live] if k else np.zeros((int(live.sum()), 0), np.int32)
    evs = _typed(schema.events, enc.column_fields, cols, enc, rng)
    evs.insert(0, tkey, pd.to_datetime(np.round(drawn.times[live]).astype("int64"), unit="s")
               .astype("datetime64[ns]"))
    evs.insert(0, key, ids[owner])
    return ents.reset_index(drop=True), evs.reset_index(drop=True)

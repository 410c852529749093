"""DP inference of the undeclared parts of a :class:`SequenceSchema`, through the fit's ledger.

The entities table has one row per entity, so :meth:`TableSchema.infer` applies as it is. The
events table has up to ``max_events`` rows per entity: its schema is inferred from one event per
entity (a table with a row's sensitivity), and the time range from a thresholded noisy histogram
of those events' days over a fixed calendar grid (1970 to 2100), the rule ``TableSchema.infer``
uses for bounds, at a one-day resolution.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.special import ndtri

from synthscape.errors import SchemaError
from synthscape.generators.dp_sequence._data import one_event_per_entity, seconds
from synthscape.privacy import PrivacyLedger
from synthscape.privacy.events import GaussianEvent
from synthscape.schema import SequenceSchema, TableSchema

_DAYS = int((pd.Timestamp("2100-01-01") - pd.Timestamp(0)) / pd.Timedelta(days=1))


def complete_schema(schema: SequenceSchema, events: pd.DataFrame, entities: pd.DataFrame | None,
                    ledger: PrivacyLedger, share: float, seed: int | None) -> SequenceSchema:
    """``schema`` with every undeclared part inferred from ``share`` of the remaining budget."""
    key, tkey = schema.entity_key, schema.time_key
    parts = []
    if schema.entities is None and entities is not None and len(entities.columns) > 1:
        parts.append("entities")
    if schema.events is None:
        parts.append("events")
    if schema.time_bounds is None:
        parts.append("time_bounds")
    if not parts:
        return schema
    if ledger.budget is None:  # not private: read for free, the ledger already says so
        rho_each = None
    else:
        rho_each = ledger.remaining_rho(share) / len(parts)
    update: dict = {}
    rows = one_event_per_entity(events, key, seed) if {"events", "time_bounds"} & set(parts) \
        else None
    if "entities" in parts:
        assert entities is not None
        table = entities.drop_duplicates(subset=[key]).drop(columns=[key])
        update["entities"] = _infer(table, ledger, rho_each, "entities")
    if "events" in parts:
        assert rows is not None
        cols = rows.drop(columns=[key, tkey])
        if len(cols.columns):
            update["events"] = _infer(cols, ledger, rho_each, "events")
    if "time_bounds" in parts:
        assert rows is not None
        update["time_bounds"] = _time_bounds(seconds(rows[tkey], f"time column {tkey!r}"),
                                             ledger, rho_each)
    return schema.replace(**update)


def _infer(df: pd.DataFrame, ledger: PrivacyLedger, rho: float | None, name: str) -> TableSchema:
    if rho is None:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return TableSchema.infer(df, name=name)
    return TableSchema.infer(df, ledger=ledger, rho=rho, name=name)


def _time_bounds(t: np.ndarray, ledger: PrivacyLedger, rho: float | None) -> tuple[str, str]:
    t = t[np.isfinite(t)]
    days = np.clip(np.floor(t / 86400.0), 0, _DAYS - 1).astype(np.int64)
    counts = np.bincount(days, minlength=_DAYS).astype(float)
    if rho is None:
        kept = np.flatnonzero(counts > 0)
    else:
        sigma = 1.0 / math.sqrt(2 * rho)
        ledger.spend(GaussianEvent(noise_multiplier=sigma, label="bounds:time"))
        noisy = counts + sigma * ledger.noise.standard_normal(counts.shape)
        kept = np.flatnonzero(noisy > sigma * float(ndtri(1 - 0.05 / _DAYS)))
    if kept.size == 0:
        raise SchemaError("too few entities to find the time range under this budget; declare "
                          "time_bounds in the SequenceSchema")
    start = pd.Timestamp(int(kept[0]) * 86400, unit="s")
    end = pd.Timestamp(int(kept[-1] + 1) * 86400, unit="s")
    return start.isoformat(), end.isoformat()

"""SequenceSchema: the declared shape of event sequences (an entities table and an events log).

One entity (a customer, a patient) is the unit of privacy: it owns one row of the entities table
(static columns) and up to ``max_events`` rows of the events table (a timestamp and event
columns). Declaring the schema spends nothing; whatever is left undeclared (``entities``,
``events`` or ``time_bounds`` as ``None``) is inferred under DP by the generator that fits it,
through its one ledger, with the rules of :meth:`TableSchema.infer`.

>>> from synthscape.schema import Column, TableSchema
>>> s = SequenceSchema(
...     entities=TableSchema(columns=[Column(name="segment", kind="categorical",
...                                          categories=("retail", "business"))]),
...     events=TableSchema(columns=[Column(name="amount", kind="numerical", lower=0,
...                                        upper=10_000)]),
...     entity_key="customer_id", time_key="ts", max_events=64,
...     time_bounds=("2024-01-01", "2024-04-01"))
>>> s.span_seconds
7862400.0
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from synthscape.errors import SchemaError
from synthscape.schema.table import TableSchema


class SequenceSchema(BaseModel):
    """Entities, their events, the keys that link them, and the declared public bounds.

    - ``entities``: the static columns of an entity (without ``entity_key``); ``None``: inferred
      under DP when an entities table is given, none otherwise.
    - ``events``: the event columns (without ``entity_key`` and ``time_key``); ``None``: inferred.
    - ``entity_key`` / ``time_key``: the column names that link events to entities and order them.
    - ``max_events``: the contribution bound L; longer histories keep their first L events
      before training (the ledger's training event says so).
    - ``time_bounds``: ``(start, end)`` ISO timestamps, the public range of event times; events
      outside are dropped before training and never sampled. ``None``: inferred under DP.
    - ``max_gap_seconds``: the longest time between two events of an entity that is modelled
      (longer gaps are clipped); default: the whole time range.
    - ``anchor``: an ISO date that many entities' timelines share and that is public, e.g. a
      cohort's index date (diagnosis or enrolment: day 0 of every patient); the day of the
      next event of an entity still before it can be "the anchor day" itself, one class of the
      time model (without it that day is one day among the thousands of a wide range of gaps).
      Inside ``time_bounds``. ``None``: no anchor.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    entities: TableSchema | None = None
    events: TableSchema | None = None
    entity_key: str
    time_key: str
    max_events: int
    time_bounds: tuple[str, str] | None = None
    max_gap_seconds: float | None = None
    anchor: str | None = None

    @model_validator(mode="after")
    def _check(self) -> SequenceSchema:
        if not self.entity_key or not self.time_key:
            raise ValueError("entity_key and time_key must be non-empty column names")
        if self.entity_key == self.time_key:
            raise ValueError("entity_key and time_key must be different columns")
        if self.max_events < 1:
            raise ValueError(f"max_events must be >= 1, got {self.max_events}")
        for which, table in (("entities", self.entities), ("events", self.events)):
            if table is None:
                continue
            clash = {self.entity_key, self.time_key} & set(table.names)
            if clash:
                raise ValueError(f"the {which} schema must not declare {sorted(clash)}: the keys "
                                 f"are handled by the sequence schema itself")
        if self.time_bounds is not None:
            lo, hi = (pd.Timestamp(t) for t in self.time_bounds)
            if lo >= hi:
                raise ValueError(f"time_bounds: start {self.time_bounds[0]} must be before end "
                                 f"{self.time_bounds[1]}")
        if self.max_gap_seconds is not None and not self.max_gap_seconds > 0:
            raise ValueError(f"max_gap_seconds must be > 0, got {self.max_gap_seconds}")
        if self.anchor is not None:
            check_anchor(self.anchor, self.time_bounds)
        return self

    # -- access ---------------------------------------------------------------------------
    @property
    def complete(self) -> bool:
        """Whether every part is declared (then fitting infers nothing)."""
        return self.events is not None and self.time_bounds is not None

    @property
    def start(self) -> pd.Timestamp:
        return pd.Timestamp(self._bounds()[0])

    @property
    def end(self) -> pd.Timestamp:
        return pd.Timestamp(self._bounds()[1])

    @property
    def span_seconds(self) -> float:
        return float((self.end - self.start) / pd.Timedelta(seconds=1))

    @property
    def gap_limit_seconds(self) -> float:
        """The longest modelled gap: ``max_gap_seconds`` or the whole time range."""
        span = self.span_seconds
        return span if self.max_gap_seconds is None else min(float(self.max_gap_seconds), span)

    def _bounds(self) -> tuple[str, str]:
        if self.time_bounds is None:
            raise SchemaError("time_bounds are not declared; fit a generator to infer them under "
                              "DP or declare them as (start, end) ISO timestamps")
        return self.time_bounds

    def replace(self, **parts: Any) -> SequenceSchema:
        """A copy with some parts replaced (e.g. the DP-inferred ``events``)."""
        return self.model_copy(update=parts)

    # -- serialisation --------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"entity_key": self.entity_key, "time_key": self.time_key,
                               "max_events": self.max_events}
        if self.time_bounds is not None:
            out["time_bounds"] = list(self.time_bounds)
        if self.max_gap_seconds is not None:
            out["max_gap_seconds"] = self.max_gap_seconds
        if self.anchor is not None:
            out["anchor"] = self.anchor
        if self.entities is not None:
            out["entities"] = self.entities.to_dict()
        if self.events is not None:
            out["events"] = self.events.to_dict()
        return out

    def to_json(self, path: str | Path | None = None) -> str:
        text = json.dumps(self.to_dict(), indent=2)
        if path is not None:
            Path(path).write_text(text + "\n")
        return text

    def to_yaml(self, path: str | Path | None = None) -> str:
        text = yaml.safe_dump(self.to_dict(), sort_keys=False)
        if path is not None:
            Path(path).write_text(text)
        return text

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "sequence schema") -> SequenceSchema:
        if not isinstance(data, dict):
            raise SchemaError(f"invalid sequence schema in {source}: expected a mapping, got "
                              f"{type(data).__name__}")
        data = dict(data)
        for part in ("entities", "events"):
            if data.get(part) is not None and not isinstance(data[part], TableSchema):
                data[part] = TableSchema.from_dict(data[part], source=f"{source}, {part}")
        if isinstance(data.get("time_bounds"), list):
            data["time_bounds"] = tuple(str(t) for t in data["time_bounds"])
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            problems = [
                f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}" for e in exc.errors()
            ]
            raise SchemaError(f"invalid sequence schema in {source}", problems) from None

    @classmethod
    def from_json(cls, text_or_path: str | Path) -> SequenceSchema:
        p = Path(text_or_path)
        if p.suffix == ".json" and p.exists():
            return cls.from_dict(json.loads(p.read_text()), source=str(p))
        return cls.from_dict(json.loads(str(text_or_path)))

    @classmethod
    def from_yaml(cls, text_or_path: str | Path) -> SequenceSchema:
        p = Path(text_or_path)
        if p.suffix in (".yaml", ".yml"):
            if not p.exists():
                raise SchemaError(f"sequence schema file {p} does not exist")
            return cls.from_dict(yaml.safe_load(p.read_text()), source=str(p))
        return cls.from_dict(yaml.safe_load(str(text_or_path)))


def check_anchor(anchor: str, time_bounds: tuple[str, str] | None) -> None:
    """Raise ValueError unless ``anchor`` is a date inside ``time_bounds`` (when declared)."""
    try:
        at = pd.Timestamp(anchor)
    except (ValueError, TypeError):
        raise ValueError(f"anchor: {anchor!r} is not an ISO date; write it as YYYY-MM-DD"
                         ) from None
    if time_bounds is not None and not (
            pd.Timestamp(time_bounds[0]) <= at < pd.Timestamp(time_bounds[1])):
        raise ValueError(f"anchor: {anchor} lies outside time_bounds {list(time_bounds)}; "
                         f"move it inside or widen the bounds")

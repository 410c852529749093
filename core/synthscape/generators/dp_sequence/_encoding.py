"""How entities and event sequences become integer tokens, and back; all from the schema alone.

Every modelled column becomes one categorical *field*: categories and booleans as they are,
numerical and datetime columns as ``bins`` intervals over their declared bounds (log-spaced when
the bounds span more than three orders of magnitude above zero, one bin per value for small
integer ranges), each with a null class when nullable. Time is two fields per event:

- ``gap``: class 0 ends the sequence; then log-spaced gaps under an hour since the previous
  event; then calendar-day offsets (0, 1, ..., 7, then growing ranges up to the longest gap).
  The first event is a day offset from the day of ``time_bounds``' start. With a declared
  ``anchor`` (a cohort's index date) one more class, the last, is "on the anchor day": open to
  the first event and to every event whose previous one came before that day (by whole hours
  since the start, so training and sampling decide it alike), closed afterwards.
- ``tod``: the half hour of the day of an event that comes at a day offset (its own time of day,
  so daily profiles are modelled directly); an input feature for every event.

The day of week of each event is an input feature too. No bin edge depends on the data.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from synthscape.schema import Column, SequenceSchema, TableSchema

DAY = 86400.0
HOUR = 3600.0
TOD_CLASSES = 48  # half hours
DOW_CLASSES = 7
GROUPS = 8  # a numerical entity field's bins are grouped into this many runs of bins
_SHORT_EDGES = (0.0, 1.0, 3.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 2700.0,
                3600.0)
END = 0


@dataclass(frozen=True)
class Field:
    """One token field: a column's classes (values, bin edges, a null class) or a time part."""

    name: str
    kind: str
    size: int
    values: tuple[Any, ...] | None = None
    edges: tuple[float, ...] | None = None
    log: bool = False
    integer: bool = False
    nullable: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Field:
        d = dict(d)
        for k in ("values", "edges"):
            if d.get(k) is not None:
                d[k] = tuple(d[k])
        return cls(**d)


def field_groups(f: Field) -> np.ndarray:
    """Class -> group of entity field ``f``: itself for categorical and boolean fields (and for
    fields of at most ``GROUPS`` classes); for numerical and datetime ones, ``GROUPS`` runs of
    adjacent bins (fewer, fuller cells for a release or a grouping), the null class alone."""
    if f.kind in ("categorical", "boolean") or f.size <= GROUPS:
        return np.arange(f.size)
    k = f.size - int(f.nullable)
    g = (np.arange(k) * GROUPS) // k
    return np.r_[g, GROUPS] if f.nullable else g


def field_cells(f: Field) -> int:
    """The number of groups of :func:`field_groups`."""
    return int(field_groups(f).max()) + 1


def column_field(c: Column, bins: int) -> Field | None:
    """The field of a schema column (``None`` for id columns, which are re-generated)."""
    if c.kind == "id":
        return None
    if c.kind in ("categorical", "boolean"):
        values = c.values
        return Field(c.name, c.kind, len(values) + int(c.nullable), values=values,
                     nullable=c.nullable)
    lo, hi = c.bounds
    log = c.kind == "numerical" and lo >= 0 and hi > 1000 * max(lo, 1.0)
    if c.kind == "numerical" and c.integer and hi - lo + 1 <= bins:
        edges = np.arange(math.floor(lo), math.floor(hi) + 2, dtype=float) - 0.5
    elif log:
        edges = lo + np.expm1(np.linspace(0.0, math.log1p(hi - lo), bins + 1))
    else:
        edges = np.linspace(lo, hi, bins + 1)
    return Field(c.name, c.kind, len(edges) - 1 + int(c.nullable), edges=tuple(edges.tolist()),
                 log=log, integer=c.integer, nullable=c.nullable)


def day_edges(limit_days: float) -> tuple[float, ...]:
    """Day-offset classes: 0..7 one by one, then ranges growing by half, up to the limit."""
    edges = [float(d) for d in range(9)]
    while edges[-1] <= limit_days:
        edges.append(float(math.ceil(edges[-1] * 1.5)))
    return tuple(edges)


class SequenceEncoding:
    """Fields of the entities and of the events of one :class:`SequenceSchema`."""

    def __init__(self, schema: SequenceSchema, bins: int = 32):
        self.schema, self.bins = schema, bins
        ents = schema.entities.columns if schema.entities is not None else ()
        evs = schema.events.columns if schema.events is not None else ()
        self.entity_fields = [f for f in (column_field(c, bins) for c in ents) if f is not None]
        self.column_fields = [f for f in (column_field(c, bins) for c in evs) if f is not None]
        self.start = schema.start.timestamp()
        self.end = schema.end.timestamp()
        self.gap_limit = schema.gap_limit_seconds
        self.days = day_edges(max(self.gap_limit, self.end - _floor_day(self.start)) / DAY)
        self.n_short = len(_SHORT_EDGES) - 1
        self.gap_size = 1 + self.n_short + len(self.days) - 1
        # the anchor day's class and its start in whole hours since the range's start (an
        # event whose previous one is fewer whole hours in may land on it)
        self.anchor_class: int | None = None
        self.anchor_day = self.anchor_hours = 0.0
        if schema.anchor is not None:
            self.anchor_class = self.gap_size
            self.gap_size += 1
            self.anchor_day = math.floor(pd.Timestamp(schema.anchor).timestamp() / DAY)
            self.anchor_hours = float(math.ceil((self.anchor_day * DAY - self.start) / HOUR))

    def anchor_open(self, elapsed_hours: np.ndarray) -> np.ndarray:
        """Whether the anchor class is open after an event ``elapsed_hours`` whole hours after
        the range's start (0 before the first event); all False without an anchor."""
        e = np.asarray(elapsed_hours)
        return np.zeros(e.shape, bool) if self.anchor_class is None else e < self.anchor_hours

    # ---- layout ----------------------------------------------------------------------------
    @property
    def target_sizes(self) -> list[int]:
        """Predicted fields of an event, in order: gap, time of day, the columns."""
        return [self.gap_size, TOD_CLASSES] + [f.size for f in self.column_fields]

    @property
    def input_sizes(self) -> list[int]:
        """Input fields of an event: the predicted ones, then the day of week."""
        return [*self.target_sizes, DOW_CLASSES]

    @property
    def entity_sizes(self) -> list[int]:
        return [f.size for f in self.entity_fields]

    def gap_prior(self) -> np.ndarray:
        """A data-independent starting point for the gap head's biases (log scale): the end of
        a sequence at 1 / L, gaps under an hour at 0, a day offset d at -log(1 + d). An
        untrained head would otherwise end a sequence or jump weeks ahead at every second
        class, and a short DP-SGD run starts far from the lengths it has to learn."""
        prior = np.zeros(self.gap_size)
        prior[END] = -math.log(max(self.schema.max_events, 2))
        prior[1 + self.n_short:1 + self.n_short + len(self.days) - 1] = \
            -np.log1p(np.asarray(self.days[:-1]))
        if self.anchor_class is not None:  # declared as a day most histories hold: as likely
            # as the next day (the prior of day offset 0) while it is open
            prior[self.anchor_class] = 0.0
        return prior

    def gap_hours(self) -> np.ndarray:
        """A typical duration (hours) of each gap class, from the class edges alone: the
        geometric middle of a short class, the middle of a day-offset range (a quarter day for
        the same day); 0 for the end of sequence."""
        out = np.zeros(self.gap_size)
        e = np.asarray(_SHORT_EDGES)
        out[1:1 + self.n_short] = np.sqrt(np.maximum(e[:-1], 1.0) * e[1:]) / HOUR
        d = np.asarray(self.days)
        out[1 + self.n_short:1 + self.n_short + len(d) - 1] = \
            np.maximum((d[:-1] + d[1:]) / 2 - 0.5, 0.25) * 24.0
        return out  # the anchor class: 0 (its duration depends on where the entity is)

    def is_short(self, gap: np.ndarray) -> np.ndarray:
        return (gap >= 1) & (gap <= self.n_short)

    # ---- encoding ----------------------------------------------------------------------------
    def encode_column(self, f: Field, s: pd.Series) -> np.ndarray:
        """Class codes of a column: numbers outside the bounds go to the end bins; a category
        the field does not hold gets -2 (the caller drops its row)."""
        isna = s.isna().to_numpy()
        if f.kind in ("categorical", "boolean"):
            assert f.values is not None
            lookup = {v: i for i, v in enumerate(f.values)}
            lookup.update({str(v): i for i, v in enumerate(f.values)})
            codes = s.map(lambda v: -1 if pd.isna(v) else lookup.get(v, lookup.get(str(v), -2))
                          ).to_numpy(int)
        else:
            assert f.edges is not None
            x = (((s - pd.Timestamp(0)) / pd.Timedelta(seconds=1)) if f.kind == "datetime"
                 else s).to_numpy(float, na_value=np.nan)
            inner = np.asarray(f.edges[1:-1])
            codes = np.searchsorted(inner, np.nan_to_num(x), side="right")
        n_values = f.size - int(f.nullable)
        if f.nullable:
            codes = np.where(isna, n_values, codes)
        unknown = codes == -2
        return np.where(unknown, -2, np.clip(codes, 0, f.size - 1)).astype(np.int32)

    def encode_times(self, t: np.ndarray, first: np.ndarray) -> tuple[np.ndarray, ...]:
        """(gap, tod, dow) codes of event times ``t`` (epoch seconds, sorted per entity);
        ``first`` marks each entity's first event."""
        prev = np.where(first, self.start, np.concatenate([[self.start], t[:-1]]))
        gap = t - prev
        short = (~first) & (gap < HOUR)
        short_code = 1 + np.clip(np.searchsorted(_SHORT_EDGES[1:-1], gap, side="right"), 0,
                                 self.n_short - 1)
        d = np.floor(t / DAY) - np.floor(prev / DAY)
        day_code = 1 + self.n_short + np.clip(
            np.searchsorted(self.days[1:-1], d, side="right"), 0, len(self.days) - 2)
        codes = np.where(short, short_code, day_code).astype(np.int32)
        if self.anchor_class is not None:
            at = (np.floor(t / DAY) == self.anchor_day) & self.anchor_open(
                np.where(first, 0.0, np.floor((prev - self.start) / HOUR)))
            codes = np.where(at, self.anchor_class, codes).astype(np.int32)
        return codes, tod_of(t), dow_of(t)

    def encode_rows(self, lengths: np.ndarray, times: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
        """(gap, tod) codes, each (n, L), of sampled sequences ``times`` (n, L) with
        ``lengths`` events each (0 past the end), encoded as the training records were."""
        n, L = times.shape
        pos = np.arange(L)[None, :]
        live = pos < np.asarray(lengths)[:, None]
        gap, tod = np.zeros((n, L), np.int64), np.zeros((n, L), np.int64)
        if live.any():
            first = np.broadcast_to(pos == 0, (n, L))[live]
            gap[live], tod[live], _ = self.encode_times(times[live], first)
        return gap, tod

    # ---- decoding ----------------------------------------------------------------------------
    def decode_column(self, f: Field, codes: np.ndarray, rng: np.random.Generator) -> Any:
        n_values = f.size - int(f.nullable)
        null = codes >= n_values
        if f.kind in ("categorical", "boolean"):
            assert f.values is not None
            vals = np.asarray(f.values, dtype=object)[np.minimum(codes, n_values - 1)]
            if f.nullable:
                vals[null] = None
            return vals
        assert f.edges is not None
        e = np.asarray(f.edges)
        i = np.minimum(codes, n_values - 1)
        u = rng.random(len(codes))
        if f.log:
            lo0 = e[0]
            a, b = np.log1p(e[i] - lo0), np.log1p(e[i + 1] - lo0)
            x = lo0 + np.expm1(a + u * (b - a))
        else:
            x = e[i] + u * (e[i + 1] - e[i])
        x = np.clip(x, e[0] if not f.integer else np.ceil(e[0]), e[-1])
        if f.integer:
            x = np.round(x)
        return np.where(null, np.nan, x)

    def next_times(self, prev: np.ndarray, gap: np.ndarray, tod: np.ndarray, first: bool,
                   rng: np.random.Generator, *, in_range: bool = False,
                   end: np.ndarray | None = None) -> np.ndarray:
        """Event times from the previous ones and the sampled (gap, tod) classes; with
        ``in_range`` the day within a day-offset class is drawn among the days before the
        range's end only (when the class starts before it)."""
        n = len(prev)
        u = rng.random(n)
        short = self.is_short(gap)
        k = np.clip(gap - 1, 0, self.n_short - 1)
        lo, hi = np.asarray(_SHORT_EDGES)[k], np.asarray(_SHORT_EDGES)[k + 1]
        t_short = prev + np.where(lo > 0, np.exp(np.log(np.maximum(lo, 1e-9)) + u *
                                                 (np.log(hi) - np.log(np.maximum(lo, 1e-9)))),
                                  u * hi)
        j = np.clip(gap - 1 - self.n_short, 0, len(self.days) - 2)
        dlo, dhi = np.asarray(self.days)[j], np.asarray(self.days)[j + 1]
        if in_range:  # ``end``: an earlier end per entity (the anchor day ahead of it)
            stop = self.end if end is None else np.asarray(end, float)
            last = np.floor((stop - 1.0) / DAY) - np.floor(prev / DAY)
            dhi = np.where(dlo <= last, np.minimum(dhi, last + 1), dhi)
        day = np.floor(prev / DAY) + dlo + np.floor(rng.random(n) * (dhi - dlo))
        if self.anchor_class is not None:
            day = np.where(gap == self.anchor_class, self.anchor_day, day)
        t_day = day * DAY + (tod + rng.random(n)) * (DAY / TOD_CLASSES)
        if not first:
            t_day = np.maximum(t_day, prev + HOUR)
        t = np.where(short, t_short, t_day)
        if not first:
            t = np.minimum(t, prev + self.gap_limit)
        return np.maximum(t, self.start)

    # ---- persistence -------------------------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        return {"bins": self.bins, "entity_fields": [f.to_dict() for f in self.entity_fields],
                "column_fields": [f.to_dict() for f in self.column_fields]}

    @classmethod
    def from_state(cls, schema: SequenceSchema, state: dict[str, Any]) -> SequenceEncoding:
        enc = cls(schema, bins=int(state["bins"]))
        saved = ([Field.from_dict(d) for d in state["entity_fields"]],
                 [Field.from_dict(d) for d in state["column_fields"]])
        if saved != (enc.entity_fields, enc.column_fields):
            raise ValueError("the saved token fields do not match the saved schema")
        return enc


def entity_frame_fields(schema: TableSchema | None) -> list[str]:
    return [] if schema is None else [c.name for c in schema.columns]


def tod_of(t: np.ndarray) -> np.ndarray:
    return np.clip(np.floor((t % DAY) / (DAY / TOD_CLASSES)), 0, TOD_CLASSES - 1).astype(np.int32)


def dow_of(t: np.ndarray) -> np.ndarray:
    return ((np.floor(t / DAY).astype(np.int64) + 3) % 7).astype(np.int32)  # 1970-01-01: Thu


def _floor_day(t: float) -> float:
    return math.floor(t / DAY) * DAY

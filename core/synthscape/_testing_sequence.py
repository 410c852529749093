"""The conformance kit of sequence generators (``synthscape.generators.SEQUENCE_GENERATORS``).

Public names are re-exported by :mod:`synthscape.testing`; see ``check_sequence_generator``.
A sequence generator is checked twice: through the multi-table kit (the same contract: ledger,
seeds, secret noise, save/load, tampered files, no exact unit count), with its two frames as a
record set, and by the sequence checks here (frame layout and types, sorting, the contribution
bound, the time range, the number of events per entity, conditions on entity columns, shares and
event content).
"""
from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthscape._testing_multitable import multitable_checks
from synthscape.errors import NotFittedError, ParameterError
from synthscape.random import derive_rng
from synthscape.schema import Column, SequenceSchema, TableSchema

__all__ = ["SEQUENCE_CHECKS", "check_sequence_generator", "sequence_conformance_data"]


def sequence_conformance_data(n: int = 307, seed: int = 0
                              ) -> tuple[pd.DataFrame, pd.DataFrame, SequenceSchema]:
    """``(events, entities, schema)``: ``n`` customers (a segment, a rare flag), their card
    events over two months (channel, a hierarchical merchant group and code, an amount), with
    the flag raising the share of ``web`` events, and the declared schema (L = 12)."""
    rng = derive_rng(seed, "sequence_conformance_data")
    flag = rng.random(n) < 0.15
    ents = pd.DataFrame({"cid": [f"c{i:05d}" for i in range(n)],
                         "segment": rng.choice(["retail", "business"], n, p=[0.7, 0.3]),
                         "flagged": flag})
    counts = rng.integers(0, 18, n)
    owner = np.repeat(np.arange(n), counts)
    start = pd.Timestamp("2024-01-01").timestamp()
    t = start + rng.uniform(0, 59 * 86400, len(owner))
    web = rng.random(len(owner)) < np.where(flag[owner], 0.7, 0.2)
    group = rng.choice(["food", "travel"], len(owner))
    code = np.where(group == "food", rng.choice(["f1", "f2"], len(owner)),
                    rng.choice(["t1", "t2"], len(owner)))
    evs = pd.DataFrame({"cid": ents.cid.to_numpy()[owner],
                        "ts": pd.to_datetime(t, unit="s"),
                        "channel": np.where(web, "web", rng.choice(["pos", "atm"], len(owner))),
                        "group": group, "code": code,
                        "amount": np.round(rng.lognormal(3.5, 1.0, len(owner)), 2)})
    schema = SequenceSchema(
        entities=TableSchema(columns=(
            Column(name="segment", kind="categorical", categories=("retail", "business")),
            Column(name="flagged", kind="boolean")), name="customers"),
        events=TableSchema(columns=(
            Column(name="channel", kind="categorical", categories=("pos", "atm", "web")),
            Column(name="group", kind="categorical", categories=("food", "travel")),
            Column(name="code", kind="categorical", categories=("f1", "f2", "t1", "t2")),
            Column(name="amount", kind="numerical", lower=0, upper=50_000)), name="events"),
        entity_key="cid", time_key="ts", max_events=12,
        time_bounds=("2024-01-01", "2024-03-01"))
    return evs, ents, schema


class _Logs:
    """The two frames as a record set (the multi-table kit's ``RecordSet``)."""

    def __init__(self, entities: pd.DataFrame, events: pd.DataFrame):
        self.entities, self.events = entities, events

    @property
    def n_units(self) -> int:
        return len(self.entities)

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"entities": self.entities, "events": self.events}


class _AsMultiTable:
    """A sequence generator seen through the multi-table contract."""

    def __init__(self, gen: Any, schema: SequenceSchema):
        self._gen, self._schema = gen, schema

    @property
    def ledger_(self) -> Any:
        return self._gen.ledger_

    def fit(self, data: _Logs) -> _AsMultiTable:
        out = self._gen.fit(data.events, data.entities, entity_key=self._schema.entity_key,
                            time_key=self._schema.time_key)
        assert out is self._gen, f"fit returned {type(out).__name__}, not self"
        return self

    def sample(self, n: int, *, seed: int | None = None, conditions: Any = None) -> _Logs:
        return _Logs(*self._gen.sample(n, conditions=conditions, seed=seed))

    def save(self, folder: str | Path) -> Path:
        return self._gen.save(folder)

    @classmethod
    def load(cls, folder: str | Path) -> _AsMultiTable:
        from synthscape.generators import load

        gen = load(folder)
        return cls(gen, gen.schema_)


class _Kit:
    def __init__(self, factory: Callable[[], Any], events: pd.DataFrame,
                 entities: pd.DataFrame, schema: SequenceSchema, n: int):
        self.factory, self.events, self.entities, self.schema, self.n = (
            factory, events, entities, schema, n)
        self._fitted: Any = None

    def fitted(self) -> Any:
        if self._fitted is None:
            self._fitted = self.factory().fit(self.events, self.entities,
                                              entity_key=self.schema.entity_key,
                                              time_key=self.schema.time_key)
        return self._fitted

    def discrete(self, table: TableSchema | None) -> Column:
        cols = [c for c in (table.columns if table is not None else ())
                if c.kind in ("categorical", "boolean")]
        assert cols, "the conformance data needs a categorical or boolean column here"
        return cols[-1]


def check_constructor_stores_only_sequence(k: _Kit) -> None:
    gen = k.factory()
    fitted = [a for a in vars(gen) if a.endswith("_") and not a.startswith("_")]
    assert not fitted, f"the constructor set fitted state {fitted}; it must only store parameters"
    try:
        gen.sample(3)
    except NotFittedError:
        return
    raise AssertionError("sample before fit must raise NotFittedError")


def check_sequence_frames(k: _Kit) -> None:
    s = k.schema
    ents, evs = k.fitted().sample(k.n, seed=5)
    want_e = [s.entity_key, *(s.entities.names if s.entities is not None else [])]
    want_v = [s.entity_key, s.time_key, *(s.events.names if s.events is not None else [])]
    assert list(ents.columns) == want_e, f"entity columns {list(ents.columns)} != {want_e}"
    assert list(evs.columns) == want_v, f"event columns {list(evs.columns)} != {want_v}"
    assert len(ents) == k.n and ents[s.entity_key].is_unique, "entity keys must be n unique ids"
    assert str(evs[s.time_key].dtype) == "datetime64[ns]", \
        f"the time column is {evs[s.time_key].dtype}, not datetime64[ns]"
    assert evs[s.entity_key].isin(ents[s.entity_key]).all(), "events of unknown entities"
    key = evs[s.entity_key].to_numpy()
    t = evs[s.time_key].to_numpy()
    same = key[1:] == key[:-1]
    assert (key[1:] >= key[:-1]).all() and (t[1:][same] >= t[:-1][same]).all(), \
        "events must be sorted by (entity, time)"
    assert evs.groupby(s.entity_key).size().max() <= s.max_events, \
        f"an entity has more than max_events={s.max_events} events"
    if len(evs):
        assert evs[s.time_key].min() >= s.start and evs[s.time_key].max() < s.end, \
            "event times outside the declared time_bounds"
    for table, frame in ((s.entities, ents), (s.events, evs)):
        for c in (table.columns if table is not None else ()):
            if c.kind == "categorical":
                bad = set(frame[c.name].dropna()) - set(c.values)
                assert not bad, f"column {c.name!r} holds undeclared values {sorted(bad)}"
            elif c.kind == "numerical" and len(frame):
                lo, hi = c.bounds
                v = frame[c.name].dropna().astype(float)
                assert v.between(lo, hi).all(), f"column {c.name!r} leaves [{lo}, {hi}]"


def check_event_counts_follow_the_data(k: _Kit) -> None:
    """The events per entity of a sample against the training entities' (cut to the bound):
    KS <= 0.25 (a generator that ends its sequences too early or too late is off by 0.5 or
    more on the kit's data; DP noise on the lengths stays well below 0.25)."""
    from synthscape.evaluation.sequences import ks

    s = k.schema
    ents, evs = k.fitted().sample(300, seed=11)
    got = evs.groupby(s.entity_key).size().reindex(ents[s.entity_key], fill_value=0)
    inside = k.events[k.events[s.time_key].between(s.start, s.end, inclusive="left")]
    real = inside.groupby(s.entity_key).size().reindex(k.entities[s.entity_key],
                                                       fill_value=0).clip(upper=s.max_events)
    stat = ks(real.to_numpy(float), got.to_numpy(float))
    assert stat <= 0.25, (f"events per entity: KS {stat:.3f} > 0.25 between a sample (mean "
                          f"{got.mean():.2f}) and the training entities (mean {real.mean():.2f}, "
                          f"cut to max_events={s.max_events})")


def check_unseeded_samples_differ(k: _Kit) -> None:
    gen = k.fitted()
    a, b = gen.sample(k.n), gen.sample(k.n)
    assert not (a[0].equals(b[0]) and a[1].equals(b[1])), \
        "two unseeded sample() calls gave identical frames"


def check_entity_conditions(k: _Kit) -> None:
    c = k.discrete(k.schema.entities)
    value = c.values[-1]
    ents, evs = k.fitted().sample(k.n, conditions={c.name: value}, seed=2)
    assert len(ents) == k.n and (ents[c.name] == value).all(), \
        f"conditions={{{c.name!r}: {value!r}}} not met by every entity"
    shares = {c.values[0]: 0.25, c.values[-1]: 0.75}
    ents, _ = k.fitted().sample(40, conditions={c.name: shares}, seed=2)
    got = ents[c.name].value_counts().to_dict()
    assert got.get(c.values[0]) == 10 and got.get(c.values[-1]) == 30, \
        f"shares {shares} over 40 entities gave {got}"


def check_event_condition(k: _Kit) -> None:
    s = k.schema
    c = k.discrete(s.events)
    value = c.values[-1]
    ents, evs = k.fitted().sample(k.n, conditions={"events": {c.name: value}}, seed=3)
    hit = evs[evs[c.name] == value][s.entity_key].unique()
    assert len(ents) == k.n and set(hit) == set(ents[s.entity_key]), \
        f"conditions={{'events': {{{c.name!r}: {value!r}}}}}: some entity has no such event"


def check_bad_conditions_refused(k: _Kit) -> None:
    gen = k.fitted()
    c = k.discrete(k.schema.entities)
    for bad in ({"no_such_column": 1}, {c.name: "no-such-value"},
                {"events": {"no_such_column": 1}}):
        try:
            gen.sample(5, conditions=bad, seed=0)
        except ParameterError:
            continue
        raise AssertionError(f"conditions={bad} must raise ParameterError")


SEQUENCE_CHECKS: tuple[Callable[[_Kit], None], ...] = (
    check_constructor_stores_only_sequence, check_sequence_frames,
    check_event_counts_follow_the_data, check_unseeded_samples_differ,
    check_entity_conditions, check_event_condition, check_bad_conditions_refused,
)


def check_sequence_generator(gen_factory: Callable[[], Any], data: tuple | None = None, *,
                             n: int = 30, paid_steps: tuple[str, ...] = (
                                 "entity count", "sequence lengths", "time of day",
                                 "entity margins", "dp_sequence")
                             ) -> list[str]:
    """Run the multi-table kit and the sequence checks; return the names of those that passed.

    ``gen_factory()`` returns a new unfitted sequence generator with a fixed public seed;
    ``data`` is ``(events, entities, schema)`` (default :func:`sequence_conformance_data`: 307
    entities, a count no parameter shares). ``paid_steps``: label prefixes of the ledger's
    first events, in order. Raises AssertionError naming the first failed check."""
    if not callable(gen_factory):
        raise ParameterError(f"check_sequence_generator expects a factory, got "
                             f"{type(gen_factory).__name__}")
    events, entities, schema = data if data is not None else sequence_conformance_data()
    logs = _Logs(entities, events)
    entity_col = _Kit(gen_factory, events, entities, schema, n).discrete(schema.entities)
    passed = []
    runs = list(multitable_checks(
        lambda: _AsMultiTable(gen_factory(), schema), logs, n=n, paid_steps=paid_steps,
        conditions={"conditions": {entity_col.name: entity_col.values[-1]}}))
    kit = _Kit(gen_factory, events, entities, schema, n)
    runs += [(c.__name__, partial(c, kit)) for c in SEQUENCE_CHECKS]
    for name, run in runs:
        try:
            run()
        except AssertionError as exc:
            raise AssertionError(f"{name} failed (sequence kit): {exc}") from exc
        passed.append(name)
    return passed

"""Conditions of ``dp_sequence.sample`` as post-processing: rejection over sampled entities.

Entity conditions (``{"col": value}``, or shares ``{"col": {"a": 0.2, "b": 0.8}}``) are met by
drawing entities' static columns until enough match (cheap: no events are drawn for rejected
entities); event conditions (``{"events": {"col": value}}``: at least one event with that value)
by drawing whole sequences. Rounds are sized from the acceptance rate so far, and a condition
the model (almost) never meets raises one ParameterError (:mod:`synthscape.generators._rejection`).
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from synthscape.errors import ParameterError
from synthscape.generators._rejection import Rounds
from synthscape.generators.base import _largest_remainder
from synthscape.generators.dp_sequence._encoding import Field, SequenceEncoding
from synthscape.generators.dp_sequence._lengths import LengthModel
from synthscape.generators.dp_sequence._sampling import draw_entities, draw_events

MAX_BATCH = 200_000


@dataclass
class Plan:
    fixed: dict[int, int] = field(default_factory=dict)  # entity field -> code
    shares: tuple[int, dict[int, float]] | None = None  # entity field, code -> share
    needs: list[tuple[int, int]] = field(default_factory=list)  # event column field, code
    text: dict[str, Any] = field(default_factory=dict)


@dataclass
class Drawn:
    entities: np.ndarray
    lengths: np.ndarray
    columns: np.ndarray
    times: np.ndarray


def _code(f: Field, value: Any, where: str) -> int:
    if f.kind not in ("categorical", "boolean"):
        raise ParameterError(f"conditions apply to categorical or boolean columns; {where} "
                             f"{f.name!r} is {f.kind}")
    assert f.values is not None
    for i, v in enumerate(f.values):
        if v == value or str(v) == str(value):
            return i
    raise ParameterError(f"condition on {where} {f.name!r}: unknown value {value!r}; allowed: "
                         f"{list(f.values)}")


def parse_conditions(enc: SequenceEncoding, conditions: Mapping[str, Any] | None) -> Plan:
    plan = Plan(text=dict(conditions or {}))
    ent = {f.name: (i, f) for i, f in enumerate(enc.entity_fields)}
    cols = {f.name: (i, f) for i, f in enumerate(enc.column_fields)}
    for name, want in (conditions or {}).items():
        if name == "events":
            if not isinstance(want, Mapping) or not want:
                raise ParameterError('conditions["events"] must be a mapping {column: value} '
                                     '(at least one event with that value)')
            for col, value in want.items():
                if col not in cols:
                    raise ParameterError(f"condition on unknown event column {col!r}; event "
                                         f"columns: {sorted(cols)}")
                j, f = cols[col]
                plan.needs.append((j, _code(f, value, "event column")))
            continue
        if name not in ent:
            raise ParameterError(f"condition on unknown entity column {name!r}; entity columns: "
                                 f"{sorted(ent)} (event conditions go under 'events')")
        i, f = ent[name]
        if isinstance(want, Mapping):
            if plan.shares is not None:
                raise ParameterError("shares are set for one entity column at a time")
            shares = {_code(f, v, "entity column"): float(s) for v, s in want.items()}
            total = sum(shares.values())
            if any(s < 0 for s in shares.values()) or not math.isclose(total, 1.0, abs_tol=1e-6):
                raise ParameterError(f"shares for {name!r} must be >= 0 and sum to 1, got "
                                     f"{dict(want)}")
            plan.shares = (i, shares)
        else:
            plan.fixed[i] = _code(f, want, "entity column")
    return plan


def sample_codes(net, enc: SequenceEncoding, n: int, plan: Plan, rng: np.random.Generator,
                 *, lengths: LengthModel | None = None) -> Drawn:
    """``lengths``: the released length distribution (``None``: the end-of-sequence head)."""
    if plan.shares is None:
        return _draw(net, enc, n, plan.fixed, plan, rng, lengths)
    col, shares = plan.shares
    counts = _largest_remainder(n, shares)
    parts = [_draw(net, enc, k, {**plan.fixed, col: code}, plan, rng, lengths)
             for code, k in counts.items() if k > 0]
    if not parts:
        return _draw(net, enc, 0, plan.fixed, plan, rng, lengths)
    order = rng.permutation(n)
    return Drawn(*(np.concatenate([getattr(p, a) for p in parts])[order]
                   for a in ("entities", "lengths", "columns", "times")))


def _draw(net, enc: SequenceEncoding, n: int, fixed: dict[int, int], plan: Plan,
          rng: np.random.Generator, lengths: LengthModel | None) -> Drawn:
    if n == 0 or (not fixed and not plan.needs):
        ents = draw_entities(net, n, rng)
        return Drawn(ents, *draw_events(net, enc, ents, rng, lengths))
    got: list[Drawn] = []
    rounds = Rounds(n, first=256, cap=MAX_BATCH)
    while not rounds.done:
        if rounds.hopeless():
            raise ParameterError(f"the model almost never produces entities with {plan.text}: "
                                 f"{rounds.why()}; ask for a value the training data holds, or "
                                 f"relax the condition")
        k = rounds.size()
        ents = draw_entities(net, k, rng)
        ok = np.ones(k, bool)
        for i, code in fixed.items():
            ok &= ents[:, i] == code
        ents = ents[ok]
        if plan.needs:
            sizes, cols, times = draw_events(net, enc, ents, rng, lengths)
            live = np.arange(cols.shape[1])[None, :] < sizes[:, None]
            keep = np.ones(len(ents), bool)
            for j, code in plan.needs:
                keep &= ((cols[:, :, j] == code) & live).any(axis=1)
            got.append(Drawn(ents[keep], sizes[keep], cols[keep], times[keep]))
        else:
            got.append(Drawn(ents, np.zeros(0), np.zeros(0), np.zeros(0)))
        rounds.record(k, len(got[-1].entities))
    ents = np.concatenate([g.entities for g in got])[:n]
    if plan.needs:
        return Drawn(ents, *(np.concatenate([getattr(g, a) for g in got])[:n]
                             for a in ("lengths", "columns", "times")))
    return Drawn(ents, *draw_events(net, enc, ents, rng, lengths))

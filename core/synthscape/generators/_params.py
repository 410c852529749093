"""Declarative parameter constraints with uniform messages (scikit-learn's pattern)."""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

from synthscape.errors import ParameterError


@dataclass(frozen=True)
class Interval:
    type: type
    lo: float | None
    hi: float | None
    closed: str = "both"  # "both", "left", "right", "neither"

    def ok(self, v: Any) -> bool:
        if self.type is int:
            if isinstance(v, bool) or not isinstance(v, numbers.Integral):
                return False
        elif isinstance(v, bool) or not isinstance(v, numbers.Real):
            return False
        if isinstance(v, float) and math.isnan(v):
            return False
        lo_closed, hi_closed = self.closed in ("both", "left"), self.closed in ("both", "right")
        lo_ok = self.lo is None or (v >= self.lo if lo_closed else v > self.lo)
        hi_ok = self.hi is None or (v <= self.hi if hi_closed else v < self.hi)
        return lo_ok and hi_ok

    def __str__(self) -> str:
        left = "[" if self.closed in ("both", "left") else "("
        right = "]" if self.closed in ("both", "right") else ")"
        lo = "-inf" if self.lo is None else f"{self.lo:g}"
        hi = "inf" if self.hi is None else f"{self.hi:g}"
        return f"{'an int' if self.type is int else 'a float'} in the range {left}{lo}, {hi}{right}"


@dataclass(frozen=True)
class Options:
    values: tuple

    def ok(self, v: Any) -> bool:
        return v in self.values

    def __str__(self) -> str:
        return "one of " + ", ".join(repr(x) for x in self.values)


class _Type:
    def __init__(self, t: type | tuple, name: str):
        self.t, self.name = t, name

    def ok(self, v: Any) -> bool:
        return isinstance(v, self.t) and not (self.t is int and isinstance(v, bool))

    def __str__(self) -> str:
        return self.name


BOOL = _Type(bool, "a bool")
STR = _Type(str, "a str")
SEED = _Type(int, "an int seed")
NONE = _Type(type(None), "None")


def validate_params(owner: str, params: dict[str, Any], constraints: dict[str, list]) -> None:
    problems = []
    for name, rules in constraints.items():
        if name not in params:
            continue
        v = params[name]
        if not any(r.ok(v) for r in rules):
            allowed = " or ".join(str(r) for r in rules)
            problems.append(f"The '{name}' parameter of {owner} must be {allowed}. "
                            f"Got {v!r} instead.")
    if problems:
        raise ParameterError("\n".join(problems))

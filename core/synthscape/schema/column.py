"""Column: one declared column of a table (kind, bounds or categories, nullability)."""
from __future__ import annotations

import math
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, model_validator

Kind = Literal["numerical", "categorical", "boolean", "datetime", "id"]
Category = bool | int | float | str


class Column(BaseModel):
    """A declared column.

    - ``numerical``: ``lower`` <= value <= ``upper`` (both required); ``integer`` rounds samples.
    - ``categorical``: ``categories`` lists every allowed value (order is kept).
    - ``boolean``: True/False.
    - ``datetime``: ``lower`` / ``upper`` as ISO timestamps.
    - ``id``: a key; never modelled, re-generated as fresh ids on sampling.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    kind: Kind
    lower: float | str | None = None
    upper: float | str | None = None
    integer: bool = False
    categories: tuple[Category, ...] | None = None
    nullable: bool = False
    description: str = ""

    @model_validator(mode="after")
    def _check(self) -> Column:
        where = f"column '{self.name}' ({self.kind})"
        if not self.name:
            raise ValueError("a column needs a non-empty name")
        if self.kind == "numerical":
            if self.lower is None or self.upper is None:
                raise ValueError(f"{where} needs both 'lower' and 'upper' bounds")
            lo, hi = float(self.lower), float(self.upper)
            if not (math.isfinite(lo) and math.isfinite(hi)) or lo >= hi:
                raise ValueError(f"{where}: need finite lower < upper, got {lo} and {hi}")
        elif self.kind == "datetime":
            if self.lower is None or self.upper is None:
                raise ValueError(f"{where} needs 'lower' and 'upper' as ISO timestamps")
            if pd.Timestamp(self.lower) >= pd.Timestamp(self.upper):
                raise ValueError(f"{where}: lower must be before upper")
        elif self.kind == "categorical":
            if not self.categories:
                raise ValueError(f"{where} needs a non-empty 'categories' list")
            if len(set(self.categories)) != len(self.categories):
                raise ValueError(f"{where}: categories contain duplicates")
        if self.kind not in ("numerical", "datetime") and (
            self.lower is not None or self.upper is not None
        ):
            raise ValueError(f"{where}: 'lower'/'upper' apply to numerical and datetime only")
        if self.kind != "categorical" and self.categories is not None:
            raise ValueError(f"{where}: 'categories' apply to categorical columns only")
        return self

    # -- helpers used by transforms and generators ------------------------------------------
    @property
    def bounds(self) -> tuple[float, float]:
        """Numeric bounds (datetime as seconds since the epoch)."""
        if self.kind == "datetime":
            return (
                pd.Timestamp(self.lower).timestamp(),
                pd.Timestamp(self.upper).timestamp(),
            )
        if self.kind == "numerical":
            return float(self.lower), float(self.upper)  # type: ignore[arg-type]
        raise AttributeError(f"column '{self.name}' ({self.kind}) has no numeric bounds")

    @property
    def domain_size(self) -> int | None:
        if self.kind == "categorical":
            return len(self.categories or ())
        if self.kind == "boolean":
            return 2
        return None

    @property
    def values(self) -> tuple[Any, ...]:
        """Allowed discrete values (categorical and boolean)."""
        if self.kind == "categorical":
            return tuple(self.categories or ())
        if self.kind == "boolean":
            return (False, True)
        raise AttributeError(f"column '{self.name}' ({self.kind}) is not discrete")

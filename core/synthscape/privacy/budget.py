"""The privacy budget: (epsilon, delta) for approximate differential privacy."""
from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, field_validator


class Budget(BaseModel):
    """A total (epsilon, delta) budget. ``delta = 0`` asks for pure epsilon-DP.

    ``unit`` names the neighbouring relation: ``"record"`` (add/remove one row) by default;
    packs use others such as ``"customer"`` (add/remove one customer with all their rows).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    epsilon: float
    delta: float = 1e-6
    unit: str = "record"

    @field_validator("epsilon")
    @classmethod
    def _eps(cls, v: float) -> float:
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
            raise ValueError(
                f"epsilon must be a finite number > 0, got {v!r}; typical values are 0.1 to 10"
            )
        return float(v)

    @field_validator("delta")
    @classmethod
    def _delta(cls, v: float) -> float:
        if not (isinstance(v, (int, float)) and 0 <= v < 1):
            raise ValueError(
                f"delta must satisfy 0 <= delta < 1, got {v!r}; use well below 1/n, e.g. 1e-6"
            )
        return float(v)

    def __str__(self) -> str:
        return f"(epsilon={self.epsilon:g}, delta={self.delta:g})"

"""Parameter distributions of a logical scenario (OpenSCENARIO ParameterValueDistribution).

Every continuous parameter is a deterministic function of one standard normal variable ``z``
(uniform through the normal CDF, normal by scaling), and every choice of one categorical index.
Importance sampling then works in that standard space: a proposal moves ``z`` and re-weights the
choice probabilities, and the likelihood ratio is exact whatever the transform.
"""
from __future__ import annotations

import math
from typing import Annotated, Any

import numpy as np
from pydantic import Field, model_validator
from scipy.special import ndtr

from synthscape.scenarios import StrictModel


class Uniform(StrictModel):
    """``{uniform: [low, high]}``."""

    uniform: tuple[float, float]

    @model_validator(mode="after")
    def _order(self) -> Uniform:
        lo, hi = self.uniform
        if not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi):
            raise ValueError(f"uniform needs finite [low, high] with low <= high, got {[lo, hi]}")
        return self

    def from_z(self, z: np.ndarray) -> np.ndarray:
        lo, hi = self.uniform
        return lo + (hi - lo) * ndtr(z)


class Normal(StrictModel):
    """``{normal: [mean, std], clip: [low, high]}`` (clip optional, keeps values physical)."""

    normal: tuple[float, float]
    clip: tuple[float, float] | None = None

    @model_validator(mode="after")
    def _std(self) -> Normal:
        if not self.normal[1] > 0:
            raise ValueError(f"normal needs a positive std, got {self.normal[1]}")
        if self.clip is not None and self.clip[0] > self.clip[1]:
            raise ValueError(f"clip needs low <= high, got {list(self.clip)}")
        return self

    def from_z(self, z: np.ndarray) -> np.ndarray:
        x = self.normal[0] + self.normal[1] * z
        return np.clip(x, *self.clip) if self.clip is not None else x


class Choice(StrictModel):
    """``{choice: [a, b, ...], weights: [...]}`` (weights optional, normalised)."""

    choice: list[Any] = Field(min_length=1)
    weights: list[float] | None = None

    @model_validator(mode="after")
    def _weights(self) -> Choice:
        if self.weights is not None:
            if len(self.weights) != len(self.choice):
                raise ValueError(f"choice has {len(self.choice)} options but "
                                 f"{len(self.weights)} weights; give one weight per option")
            if min(self.weights) < 0 or sum(self.weights) <= 0:
                raise ValueError("choice weights must be non-negative with a positive sum")
        return self

    @property
    def probs(self) -> np.ndarray:
        w = np.ones(len(self.choice)) if self.weights is None else np.asarray(self.weights, float)
        return w / w.sum()


Distribution = Annotated[Uniform | Normal | Choice, Field()]
Value = float | str | Uniform | Normal | Choice


class ParameterSpace:
    """The declared parameters split into continuous (z-space) and categorical ones."""

    def __init__(self, declared: dict[str, Any]):
        self.constants = {k: v for k, v in declared.items()
                          if not isinstance(v, (Uniform, Normal, Choice))}
        self.continuous = {k: v for k, v in declared.items() if isinstance(v, (Uniform, Normal))}
        self.categorical = {k: v for k, v in declared.items() if isinstance(v, Choice)}

    @property
    def dim(self) -> int:
        return len(self.continuous)

    def nominal(self) -> Proposal:
        return Proposal(np.zeros(self.dim), np.ones(self.dim),
                        {k: d.probs for k, d in self.categorical.items()})

    def draw(self, rng: np.random.Generator, proposal: Proposal | None = None):
        """One episode: (z, category indices, parameter values, log importance weight)."""
        q = proposal or self.nominal()
        z = q.mean + q.std * rng.standard_normal(self.dim)
        idx = {k: int(rng.choice(len(d.choice), p=q.probs[k]))
               for k, d in self.categorical.items()}
        return z, idx, self.values(z, idx), self.log_weight(z, idx, q)

    def values(self, z: np.ndarray, idx: dict[str, int]) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.constants)
        for i, (k, d) in enumerate(self.continuous.items()):
            out[k] = float(d.from_z(np.asarray(z[i])))
        for k, c in self.categorical.items():
            out[k] = c.choice[idx[k]]
        return out

    def log_weight(self, z: np.ndarray, idx: dict[str, int], q: Proposal) -> float:
        """log p(x) - log q(x): standard normal over the proposal's normal, choices likewise."""
        lw = float(np.sum(-0.5 * z**2 + 0.5 * ((z - q.mean) / q.std) ** 2 + np.log(q.std)))
        for k, d in self.categorical.items():
            lw += float(np.log(d.probs[idx[k]]) - np.log(q.probs[k][idx[k]]))
        return lw


class Proposal:
    """A sampling distribution in the standard space: N(mean, diag std^2) and choice probs."""

    def __init__(self, mean: np.ndarray, std: np.ndarray, probs: dict[str, np.ndarray]):
        self.mean = np.asarray(mean, float)
        self.std = np.asarray(std, float)
        self.probs = {k: np.asarray(v, float) for k, v in probs.items()}

    def to_dict(self, space: ParameterSpace) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for i, k in enumerate(space.continuous):
            out[k] = {"z_mean": round(float(self.mean[i]), 4),
                      "z_std": round(float(self.std[i]), 4)}
        for k, d in space.categorical.items():
            out[k] = {str(c): round(float(p), 4) for c, p in zip(d.choice, self.probs[k])}
        return out

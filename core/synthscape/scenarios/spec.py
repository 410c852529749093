"""The fields every scenario spec shares, and the parts of the run contract that every kind uses
the same way: :class:`PrivacySpec` (the budget), :class:`GateSpec` (a threshold on one metric)
and :class:`Problem` (one finding of the checks that ``synthscape validate`` runs).

Each kind subclasses :class:`SpecBase` and may override two hooks:

- ``declared_metrics()``: the metric names ("section/score") its evaluation produces for this
  spec, so that a gate on an unknown name is refused before anything is fitted;
- ``problems()``: the checks that need no real data (files exist and parse, names exist in the
  declared schema or ontology, parameters are physical), yielded as :class:`Problem`.
"""
from __future__ import annotations

import math
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

# where each loaded spec came from: id(spec) -> (source file, line finder over a field path)
_ORIGIN: dict[int, tuple[str, Callable[[tuple], int | None]]] = {}


class StrictModel(BaseModel):
    """Base of every spec model: unknown fields are errors, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class Problem:
    """One finding of a check: ``loc`` is the field path in the spec (``("evaluation",
    "target")``), ``message`` says what is wrong and how to fix it; a ``warning`` does not stop
    the run."""

    loc: tuple[str | int, ...]
    message: str
    warning: bool = False


# ---- the run contract: privacy budget and gates ------------------------------------------------
DELTA_MAX = 1e-3
EPSILON_WARN_HIGH = 10.0
EPSILON_WARN_LOW = 0.01
EPSILON_MIN = 1e-5  # below it the ledger cannot calibrate even its smallest noise step


class PrivacySpec(StrictModel):
    """The privacy budget of a release: ``epsilon`` (finite, >= 1e-5), ``delta`` in (0, 1e-3)
    and the accountant that composes the events (``rdp``, ``pld`` or ``prv``)."""

    epsilon: float = Field(gt=0, description="finite and >= 1e-5; values above 10 or below "
                                             "0.01 give a warning")
    delta: float = Field(default=1e-6, description="in (0, 1e-3); keep it well below 1/n for "
                                                   "a table of n units",
                         json_schema_extra={"exclusiveMinimum": 0, "exclusiveMaximum": DELTA_MAX})
    accountant: Literal["rdp", "pld", "prv"] = "rdp"

    @field_validator("epsilon")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError("epsilon must be finite; for a non-private baseline remove "
                             "'privacy' and choose a non-private generator")
        if v < EPSILON_MIN:
            raise ValueError(f"epsilon {v:g} is too small to calibrate any mechanism (the noise "
                             f"would have to be unbounded); give epsilon >= {EPSILON_MIN:g}, and "
                             f"at least {EPSILON_WARN_LOW:g} for data of any use")
        return v

    @field_validator("delta")
    @classmethod
    def _delta(cls, v: float) -> float:
        if not math.isfinite(v) or v < 0:
            raise ValueError(f"delta must be a number in (0, {DELTA_MAX:g}), got {v}")
        if v == 0:
            raise ValueError(
                "delta 0 (pure DP) is not supported here: delta = 0 is only supported by "
                "ledgers of Laplace and exponential events, and the generators also spend "
                "Gaussian and DP-SGD events; give a small positive delta such as 1.0e-6")
        if v >= DELTA_MAX:
            raise ValueError(
                f"delta {v:g} is meaningless as a privacy guarantee (it is the chance that the "
                f"guarantee fails outright, and must be well below 1/n for n records); give "
                f"delta < {DELTA_MAX:g}, e.g. 1.0e-6")
        return v

    def problems(self, loc: tuple[str | int, ...]) -> Iterator[Problem]:
        """Warnings about a budget that is valid but unusual."""
        if self.epsilon > EPSILON_WARN_HIGH:
            yield Problem((*loc, "epsilon"), f"epsilon {self.epsilon:g} > {EPSILON_WARN_HIGH:g} "
                          f"gives little protection; DP releases commonly use epsilon <= 10",
                          warning=True)
        elif self.epsilon < EPSILON_WARN_LOW:
            yield Problem((*loc, "epsilon"), f"epsilon {self.epsilon:g} < {EPSILON_WARN_LOW:g} "
                          f"leaves so much noise that the synthetic data may be useless",
                          warning=True)


class GateSpec(StrictModel):
    """A gate on one metric: the run fails (exit code 1) unless ``min <= score <= max``."""

    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _bounds(self) -> GateSpec:
        if self.min is None and self.max is None:
            raise ValueError("a gate needs 'min', 'max' or both, e.g. {min: 0.8}")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"gate min {self.min:g} is above its max {self.max:g}")
        return self


# ---- where the work runs -----------------------------------------------------------------------
class ExecutionSpec(StrictModel):
    """Where a run's heavy work goes (:mod:`synthscape.compute`): ``scheduler`` is ``local``
    (this process, the default), ``local:N`` (a Dask LocalCluster of N worker processes) or
    ``tcp://host:port`` (an existing Dask scheduler); ``partitions`` fixes how many shards
    sharded outputs are cut into (the output never depends on the number of workers). The
    command line's ``--scheduler`` overrides ``scheduler``."""

    scheduler: str = Field(default="local", description="local, local:N or tcp://host:port")
    partitions: int | None = Field(default=None, ge=1,
                                   description="shards of sharded outputs (default: by size)")

    @field_validator("scheduler")
    @classmethod
    def _scheduler(cls, v: str) -> str:
        from synthscape.compute import parse

        return parse(v)


# ---- the base of every spec --------------------------------------------------------------------
class SpecBase(StrictModel):
    """Common fields: ``kind`` (set by each subclass as a Literal), ``name``, ``seed``,
    ``output`` (the parent folder of run folders; the run folder is ``<output>/<name>``)."""

    kind: str
    name: str = Field(default="run", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str = ""
    seed: int = Field(default=0, ge=0)
    output: str = "out"
    execution: ExecutionSpec = Field(default_factory=ExecutionSpec)
    base_dir: str = Field(default=".", exclude=True)

    GATES_AT: ClassVar[tuple[str, ...]] = ("evaluation", "gates")  # where the gates are

    @model_validator(mode="before")
    @classmethod
    def _base(cls, data: Any, info: ValidationInfo) -> Any:
        if isinstance(data, dict) and info.context and info.context.get("base_dir"):
            data = {**data, "base_dir": str(info.context["base_dir"])}
        return data

    def resolve(self, p: str) -> Path:
        q = Path(p)
        return q if q.is_absolute() else Path(self.base_dir) / q

    # ---- hooks of the run contract -----------------------------------------------------------
    def gate_specs(self) -> dict[str, GateSpec]:
        """The gates the spec asks for, at ``GATES_AT`` (by default ``evaluation.gates``)."""
        node: Any = self
        for part in self.GATES_AT:
            node = getattr(node, part, None)
        return dict(node or {})

    def declared_metrics(self) -> Mapping[str, str | None] | None:
        """Metric names ("section/score") a run of this spec can gate on. A name maps to None
        when the run computes it, or to the reason it is not computed with these settings.
        None (the default) means the kind declares nothing and gates are not checked."""
        return None

    def problems(self) -> Iterable[Problem]:
        """Checks that need no real data; the default has none."""
        return ()

    def unsharded(self) -> str | None:
        """Why a run of this spec would ignore ``execution`` (its scheduler and partitions),
        or None when the kind runs its work on the active setting. The default: the kind runs
        in one process. Kinds with sharded paths override this (``None``, or a reason for the
        settings they cannot shard)."""
        return f"a '{self.kind}' run fits and samples in one process"

    # ---- where a field is, for messages ------------------------------------------------------
    @property
    def source(self) -> str | None:
        """The scenario file this spec was loaded from (None when built in Python)."""
        origin = _ORIGIN.get(id(self))
        return origin[0] if origin else None

    def where(self, loc: Iterable[str | int] = ()) -> str:
        """"<file>, line <n>, field '<a.b>'" for a field path, as the loader writes it."""
        loc = tuple(loc)
        origin = _ORIGIN.get(id(self))
        parts = [origin[0]] if origin else []
        line = origin[1](loc) if origin else None
        if line is not None:
            parts.append(f"line {line}")
        if loc:
            parts.append(f"field '{'.'.join(str(p) for p in loc)}'")
        return ", ".join(parts) or "the scenario"


def set_origin(spec: SpecBase, source: str, line_of: Callable[[tuple], int | None]) -> None:
    """Remember the file and the line finder of a loaded spec (kept until it is collected)."""
    key = id(spec)
    _ORIGIN[key] = (source, line_of)
    weakref.finalize(spec, _ORIGIN.pop, key, None)


def privacy_specs(obj: Any, loc: tuple[str | int, ...] = ()) -> Iterator[
        tuple[tuple[str | int, ...], PrivacySpec]]:
    """Every :class:`PrivacySpec` inside a spec, with its field path."""
    if isinstance(obj, PrivacySpec):
        yield loc, obj
    elif isinstance(obj, BaseModel):
        for name in type(obj).model_fields:
            yield from privacy_specs(getattr(obj, name), (*loc, name))
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            yield from privacy_specs(v, (*loc, i))
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from privacy_specs(v, (*loc, k))

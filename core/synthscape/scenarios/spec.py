"""The fields every scenario spec shares. Each kind subclasses :class:`SpecBase`."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_validator


class StrictModel(BaseModel):
    """Base of every spec model: unknown fields are errors, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class SpecBase(StrictModel):
    """Common fields: ``kind`` (set by each subclass as a Literal), ``name``, ``seed``,
    ``output`` (the parent folder of run folders; the run folder is ``<output>/<name>``)."""

    kind: str
    name: str = Field(default="run", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str = ""
    seed: int = Field(default=0, ge=0)
    output: str = "out"
    base_dir: str = Field(default=".", exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _base(cls, data: Any, info: ValidationInfo) -> Any:
        if isinstance(data, dict) and info.context and info.context.get("base_dir"):
            data = {**data, "base_dir": str(info.context["base_dir"])}
        return data

    def resolve(self, p: str) -> Path:
        q = Path(p)
        return q if q.is_absolute() else Path(self.base_dir) / q

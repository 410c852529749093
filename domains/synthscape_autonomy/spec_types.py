"""Field types shared by the ``kind: driving`` spec models: numbers that may be '$parameter'
references, sampled values (a number, a reference or a distribution) and entity names."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ValidationInfo

from synthscape_autonomy.distributions import Choice, Normal, Uniform


def _check_ref(v: Any, info: ValidationInfo) -> Any:
    if isinstance(v, str):
        if not v.startswith("$"):
            raise ValueError(f"expected a number or a '$parameter' reference, got {v!r}")
        names = (info.context or {}).get("_driving_parameters")
        if names is not None and v[1:] not in names:
            raise ValueError(f"{v} is not declared; declare '{v[1:]}' under 'parameters' "
                             f"(declared: {sorted(names) or 'none'})")
    return v


def _check_entity(v: str, info: ValidationInfo) -> str:
    names = (info.context or {}).get("_driving_entities")
    if names is not None and v not in names:
        raise ValueError(f"unknown entity {v!r}; entities are {sorted(names)}")
    return v


Num = Annotated[float | str, AfterValidator(_check_ref)]
Sampled = Annotated[float | str | Uniform | Normal | Choice, AfterValidator(_check_ref)]
EntityRef = Annotated[str, AfterValidator(_check_entity)]
Rule = Literal["less", "greater"]

"""TableSchema: an ordered, frozen set of columns, with validation and serialisation."""
from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, PrivateAttr, ValidationError, model_validator

from synthscape.errors import SchemaError
from synthscape.schema.column import Column

if TYPE_CHECKING:
    from synthscape.privacy import Budget, PrivacyLedger


class PrivateDataWarning(UserWarning):
    """Private data was read without a privacy guarantee."""


class TableSchema(BaseModel):
    """The declared shape of a table. Declaring it spends no privacy budget.

    >>> s = TableSchema(columns=[Column(name="age", kind="numerical", lower=0, upper=120)])
    >>> s.names
    ['age']
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    columns: tuple[Column, ...]
    name: str = "table"
    _inference_ledger: Any = PrivateAttr(default=None)
    _provenance: str = PrivateAttr(default="declared")

    @model_validator(mode="after")
    def _unique(self) -> TableSchema:
        if not self.columns:
            raise ValueError("a schema needs at least one column")
        seen: set[str] = set()
        dups = [c.name for c in self.columns if c.name in seen or seen.add(c.name)]  # type: ignore[func-returns-value]
        if dups:
            raise ValueError(f"duplicate column names: {dups}")
        return self

    # -- access ---------------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def __getitem__(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        import difflib

        close = difflib.get_close_matches(name, self.names, n=2)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise KeyError(f"no column {name!r} in schema {self.name!r}{hint}")

    def __contains__(self, name: object) -> bool:
        return name in self.names

    def modelled(self) -> list[Column]:
        """Columns a generator models (every kind but ``id``)."""
        return [c for c in self.columns if c.kind != "id"]

    @property
    def inference_ledger(self) -> PrivacyLedger | None:
        """The ledger that paid for this schema when it came from ``infer(df, budget=...)``."""
        return self._inference_ledger

    @property
    def provenance(self) -> str:
        """``"declared"`` (written by a person or loaded from a file), ``"dp"`` (inferred under
        DP; its cost is in ``inference_ledger``) or ``"free"`` (read from the data without DP:
        a generator fitted with it marks its ledger NOT PRIVATE)."""
        return self._provenance

    # -- validation -----------------------------------------------------------------------
    def validate(  # type: ignore[override]  # pydantic's deprecated classmethod validate
        self,
        df: pd.DataFrame,
        *,
        out_of_bounds: Literal["error", "clip"] = "error",
        source: str = "data",
    ) -> pd.DataFrame:
        """Check ``df`` against the schema; raise one SchemaError listing every problem.

        Returns the table with columns in schema order, dtypes normalised and, with
        ``out_of_bounds="clip"``, numerical values clipped into their bounds (with a warning).
        """
        from synthscape.schema._validate import validate_frame

        return validate_frame(self, df, out_of_bounds=out_of_bounds, source=source)

    # -- inference ------------------------------------------------------------------------
    @classmethod
    def infer(
        cls,
        df: pd.DataFrame,
        budget: Budget | None = None,
        *,
        ledger: PrivacyLedger | None = None,
        rho: float | None = None,
        seed: int | None = None,
        max_categories: int = 50,
        name: str = "table",
    ) -> TableSchema:
        """Infer a schema from data.

        Without ``budget`` or ``ledger`` this reads the private data for free and warns: use it
        for public data or exploration only; the schema remembers it (``provenance == "free"``)
        and a generator fitted with it marks its ledger NOT PRIVATE.

        With ``budget`` (or a ``ledger`` and an optional ``rho``) bounds come from a thresholded
        noisy histogram over a fixed, data-independent grid and category sets from thresholded
        noisy counts. ``rho`` defaults to 99% of what the ledger has left (the rest keeps the
        conversion to epsilon finite); ``Generator.fit`` without a schema spends its
        ``schema_share`` (10% by default). The cost is recorded in ``schema.inference_ledger``,
        which ``Generator.fit(df, schema)`` composes into the generator's own ledger, so the
        release reports the sum. ``seed`` is not used for the noise (it comes from the
        ledger's secret source) and is kept for compatibility.
        """
        from synthscape.schema import _infer

        if budget is None and ledger is None:
            warnings.warn(
                "TableSchema.infer(df) reads the private data without differential privacy: "
                "bounds and categories disclose real values. Declare a schema, or pass "
                "budget=Budget(...) to infer it under DP.",
                PrivateDataWarning,
                stacklevel=2,
            )
            schema = _infer.infer_free(df, max_categories=max_categories, name=name)
            schema._provenance = "free"
            return schema
        from synthscape.privacy import PrivacyLedger
        from synthscape.privacy.noise import NoiseSource

        if ledger is None:
            ledger = PrivacyLedger(budget, noise=NoiseSource.for_data(df, purpose="schema",
                                                                      seed=seed))
        schema = _infer.infer_dp(df, ledger=ledger, rho=rho, name=name)
        schema._inference_ledger = ledger
        schema._provenance = "dp"
        return schema

    # -- serialisation --------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_defaults=True)

    def to_json(self, path: str | Path | None = None) -> str:
        text = json.dumps(self.to_dict(), indent=2)
        if path is not None:
            Path(path).write_text(text + "\n")
        return text

    def to_yaml(self, path: str | Path | None = None) -> str:
        text = yaml.safe_dump(self.to_dict(), sort_keys=False)
        if path is not None:
            Path(path).write_text(text)
        return text

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "schema") -> TableSchema:
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            problems = [
                f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}" for e in exc.errors()
            ]
            raise SchemaError(f"invalid schema in {source}", problems) from None

    @classmethod
    def from_json(cls, text_or_path: str | Path) -> TableSchema:
        p = Path(text_or_path)
        if p.suffix == ".json" and p.exists():
            return cls.from_dict(json.loads(p.read_text()), source=str(p))
        return cls.from_dict(json.loads(str(text_or_path)))

    @classmethod
    def from_yaml(cls, text_or_path: str | Path) -> TableSchema:
        p = Path(text_or_path)
        if p.suffix in (".yaml", ".yml"):
            if not p.exists():
                raise SchemaError(f"schema file {p} does not exist")
            return cls.from_dict(yaml.safe_load(p.read_text()), source=str(p))
        return cls.from_dict(yaml.safe_load(str(text_or_path)))

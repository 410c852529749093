"""The generator contract: ``Gen(**params)`` stores, ``fit`` learns, ``sample`` generates.

Subclasses write only ``_fit`` and ``_sample`` (plus ``_get_state`` / ``_set_state`` for saving).
The public methods here validate, open the ledger, infer a schema under DP when none is given,
seed, and handle conditions and rebalancing, so every generator behaves the same way.
"""
from __future__ import annotations

import inspect
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from synthscape.errors import ModelFormatError, NotFittedError, ParameterError, SchemaError
from synthscape.generators._params import NONE, SEED, STR, Interval, Options, validate_params
from synthscape.model_files import writing
from synthscape.privacy import Budget, PrivacyLedger
from synthscape.privacy.noise import NoiseSource
from synthscape.random import derive_rng
from synthscape.schema import TableSchema

FORMAT_VERSION = 2
Conditions = Mapping[str, Any]


@runtime_checkable
class SupportsGenerate(Protocol):
    """What the runner and evaluation need; outside code can conform without inheriting."""

    def fit(self, df: pd.DataFrame, schema: TableSchema | None = None) -> SupportsGenerate: ...

    def sample(self, n: int, *, conditions: Conditions | None = None,
               seed: int | None = None) -> pd.DataFrame: ...


class Generator:
    """Base class of every synthscape generator.

    Class attributes a subclass sets:
      ``name``: registry id; ``private``: whether fitting is differentially private;
      ``_parameter_constraints``: ``{param: [rules]}`` checked at fit time.

    Fitted state (after ``fit``): ``schema_``, ``ledger_``, ``encoders_``/``model_`` as needed.
    """

    name: ClassVar[str] = "base"
    private: ClassVar[bool] = True
    _parameter_constraints: ClassVar[dict[str, list]] = {}
    _common_constraints: ClassVar[dict[str, list]] = {
        "epsilon": [Interval(float, 0, None, closed="neither"), NONE],
        "delta": [Interval(float, 0, 1, closed="left")],
        "seed": [SEED, NONE],
        "accountant": [Options(("rdp", "pld", "prv"))],
        "out_of_bounds": [Options(("error", "clip"))],
        "schema_share": [Interval(float, 0, 1, closed="neither")],
        "expected_rows": [Interval(int, 1, None), NONE],
        "device": [STR],
    }

    # ---- parameters ----------------------------------------------------------------------
    @classmethod
    def param_names(cls) -> list[str]:
        """The constructor's named parameters, in signature order (the keys of ``get_params``);
        a pack asks this before passing an optional parameter such as ``out_of_bounds``."""
        sig = inspect.signature(cls.__init__)
        return [p for p in sig.parameters if p != "self" and
                sig.parameters[p].kind not in (inspect.Parameter.VAR_KEYWORD,
                                               inspect.Parameter.VAR_POSITIONAL)]

    @classmethod
    def _param_names(cls) -> list[str]:  # the core's older spelling of param_names
        return cls.param_names()

    def get_params(self) -> dict[str, Any]:
        return {p: getattr(self, p) for p in self.param_names()}

    def set_params(self, **params: Any) -> Generator:
        valid = self.param_names()
        for k, v in params.items():
            if k not in valid:
                raise ParameterError(f"{type(self).__name__} has no parameter {k!r}; "
                                     f"valid: {valid}")
            setattr(self, k, v)
        return self

    def _validate_params(self) -> None:
        constraints = {**self._common_constraints, **self._parameter_constraints}
        validate_params(type(self).__name__, self.get_params(), constraints)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    # ---- fitting -------------------------------------------------------------------------
    def fit(
        self,
        df: pd.DataFrame,
        schema: TableSchema | None = None,
        *,
        ledger: PrivacyLedger | None = None,
    ) -> Generator:
        """Learn from ``df``; every use of the real data is spent in one ledger (``ledger_``).

        Without ``schema``, a DP schema is inferred from ``schema_share`` of the budget
        (non-private generators read it for free and say so). A schema from
        ``TableSchema.infer(df, budget=...)`` brings its inference ledger, whose events are
        composed into this one (the release pays for both); a schema read without DP
        (``TableSchema.infer(df)``) marks the ledger NOT PRIVATE. ``ledger`` lets a caller
        share one ledger across several steps; by default a new one is opened, with noise from
        a secret source (see :mod:`synthscape.privacy.noise`). Fitting again starts a new
        release with a new ledger: releases of both fits together cost the sum."""
        self._validate_params()
        if not isinstance(df, pd.DataFrame):
            raise SchemaError(f"fit expects a pandas DataFrame, got {type(df).__name__}")
        if len(df) == 0:
            raise SchemaError("the training table is empty (0 rows); a generator needs data")
        if hasattr(self, "ledger_"):
            import logging

            logging.getLogger("synthscape").warning(
                "%s.fit was called again: a new release starts with a new ledger; publishing "
                "both fits costs the sum of their ledgers", type(self).__name__)
        if ledger is None:
            ledger = self._new_ledger(df)
        if not self.private:
            ledger.mark_non_private(f"{self.name} is a non-private baseline")
        rng = self._rng(None, purpose="fit")  # public seed: initialisation and post-processing
        policy: Literal["error", "clip"] = getattr(self, "out_of_bounds", "error")
        if schema is not None:
            _take_over(schema, ledger)
            if schema.provenance == "dp":  # noisy bounds and thresholded categories
                policy = "clip"
                df = _drop_unreleased_categories(df, schema)
        elif self.private:
            rho = ledger.remaining_rho(getattr(self, "schema_share", 0.1))
            schema = TableSchema.infer(df, ledger=ledger, rho=rho)
            # Rows outside DP-found bounds are clipped and rows with categories below the
            # release threshold are dropped: both are record-level, so accounting holds.
            policy = "clip"
            df = _drop_unreleased_categories(df, schema)
            if len(df) == 0:
                raise SchemaError("no row survives the DP schema; declare a schema")
        else:
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                schema = TableSchema.infer(df)
        data = schema.validate(df, out_of_bounds=policy, source="training data")
        self.schema_ = schema
        self.ledger_ = ledger
        self._fit(data, schema, ledger, rng)
        self._sample_calls = 0
        return self

    def _new_ledger(self, df: pd.DataFrame) -> PrivacyLedger:
        noise = NoiseSource.for_data(df, purpose=self.name, seed=getattr(self, "seed", None))
        eps = getattr(self, "epsilon", None)
        if not self.private or eps is None:
            return PrivacyLedger(None, noise=noise)
        return PrivacyLedger(Budget(epsilon=eps, delta=getattr(self, "delta", 1e-6)),
                             accountant=getattr(self, "accountant", "rdp"), noise=noise)

    def _rng(self, seed: int | None, purpose: str) -> np.random.Generator:
        base = getattr(self, "seed", None)
        if seed is not None:
            return derive_rng(int(seed), purpose)
        if base is None:
            return derive_rng(None)
        if purpose == "sample":
            self._sample_calls = getattr(self, "_sample_calls", 0) + 1
            return derive_rng(int(base), purpose, self._sample_calls)
        return derive_rng(int(base), purpose)

    # ---- sampling ------------------------------------------------------------------------
    def sample(
        self,
        n: int,
        *,
        conditions: Conditions | None = None,
        seed: int | None = None,
    ) -> pd.DataFrame:
        """Draw ``n`` synthetic rows.

        ``conditions={"col": value}`` fixes categorical/boolean columns; ``conditions={"col":
        {"a": 0.5, "b": 0.5}}`` rebalances ``col`` to the given shares (post-processing: no
        privacy cost). ``seed`` makes the draw reproducible; without it, the generator's own
        ``seed`` gives a reproducible sequence of draws.
        """
        self._check_fitted()
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ParameterError(f"n must be an int >= 0, got {n!r}")
        rng = self._rng(seed, purpose="sample")
        fixed, dist = self._parse_conditions(conditions)
        if n == 0:
            return self._finish(self._sample(1, rng, fixed).iloc[:0], rng)
        if dist is None:
            return self._finish(self._sample(int(n), rng, fixed), rng)
        col, shares = dist
        counts = _largest_remainder(n, shares)
        parts = [self._sample(k, rng, {**fixed, col: v}) for v, k in counts.items() if k > 0]
        out = pd.concat(parts, ignore_index=True)
        out = out.iloc[rng.permutation(len(out))].reset_index(drop=True)
        return self._finish(out, rng)

    def _parse_conditions(self, conditions: Conditions | None):
        fixed: dict[str, Any] = {}
        dist = None
        for col, want in (conditions or {}).items():
            if col not in self.schema_:
                raise ParameterError(f"condition on unknown column {col!r}; columns: "
                                     f"{self.schema_.names}")
            c = self.schema_[col]
            if c.kind not in ("categorical", "boolean"):
                raise ParameterError(f"conditions apply to categorical or boolean columns; "
                                     f"{col!r} is {c.kind}")
            allowed = c.values
            values = list(want) if isinstance(want, Mapping) else [want]
            unknown = [v for v in values if v not in allowed]
            if unknown:
                raise ParameterError(f"condition on {col!r}: unknown value(s) {unknown}; "
                                     f"allowed: {list(allowed)}")
            if isinstance(want, Mapping):
                if dist is not None:
                    raise ParameterError("rebalance one column at a time")
                total = float(sum(want.values()))
                if any(s < 0 for s in want.values()) or not math.isclose(total, 1.0, abs_tol=1e-6):
                    raise ParameterError(f"shares for {col!r} must be >= 0 and sum to 1, "
                                         f"got {dict(want)}")
                dist = (col, {v: float(s) for v, s in want.items()})
            else:
                fixed[col] = want
        return fixed, dist

    def _finish(self, df: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        """Cast to the schema's types and fill id columns with fresh keys."""
        out = {}
        for c in self.schema_.columns:
            if c.kind == "id":
                out[c.name] = [f"syn-{i:08d}" for i in range(len(df))]
            elif c.kind == "numerical":
                lo, hi = c.bounds
                v = np.clip(df[c.name].to_numpy(float), lo, hi)
                if c.integer and (c.nullable or np.isnan(v).any()):
                    out[c.name] = pd.array(np.round(v), dtype="Int64")  # nulls stay integer
                elif c.integer:
                    out[c.name] = np.round(v).astype("int64")
                else:
                    out[c.name] = v
            elif c.kind == "datetime":
                out[c.name] = pd.to_datetime(df[c.name].to_numpy(float), unit="s")
            elif c.kind == "boolean":
                v = df[c.name]
                out[c.name] = v.astype("boolean").array if c.nullable else \
                    v.astype(bool).to_numpy()
            else:
                out[c.name] = df[c.name].to_numpy()
        return pd.DataFrame(out, columns=self.schema_.names)

    def _check_fitted(self) -> None:
        if not hasattr(self, "schema_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted yet; call fit(df) first")

    # ---- the parts a subclass writes -------------------------------------------------------
    def _fit(self, data: pd.DataFrame, schema: TableSchema, ledger: PrivacyLedger,
             rng: np.random.Generator) -> None:
        raise NotImplementedError

    def _sample(self, n: int, rng: np.random.Generator, conditions: dict[str, Any]) -> pd.DataFrame:
        """Return ``n`` rows in *encoded-native* form: numerical and datetime as floats
        (datetime in epoch seconds), categorical and boolean as their values. Every row must
        satisfy ``conditions``; ``_sample_by_rejection`` helps generators without native support."""
        raise NotImplementedError

    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """JSON-able state and named numpy arrays; no pickled objects."""
        raise NotImplementedError

    def _set_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        raise NotImplementedError

    def _save_extra(self, folder: Path) -> None:
        """Hook for generators with more than arrays (e.g. torch weights as safetensors)."""

    def _load_extra(self, folder: Path) -> None:
        """Counterpart of ``_save_extra``."""

    # ---- helpers for subclasses ----------------------------------------------------------
    def _sample_by_rejection(self, n: int, rng: np.random.Generator, conditions: dict[str, Any],
                             draw) -> pd.DataFrame:
        """Draw with ``draw(k, rng)`` until ``n`` rows satisfy ``conditions`` (rounds and the
        stopping rule: :mod:`synthscape.generators._rejection`)."""
        from synthscape.generators._rejection import Rounds

        if not conditions:
            return draw(n, rng)
        got: list[pd.DataFrame] = []
        rounds = Rounds(n, first=64, cap=5_000_000)
        while not rounds.done:
            if rounds.hopeless():
                raise ParameterError(f"the model almost never produces rows with {conditions}; "
                                     f"{rounds.why()}")
            batch = draw(rounds.size(), rng)
            mask = np.ones(len(batch), bool)
            for col, v in conditions.items():
                mask &= (batch[col] == v).to_numpy()
            got.append(batch[mask])
            rounds.record(len(batch), int(mask.sum()))
        return pd.concat(got, ignore_index=True).iloc[:n].reset_index(drop=True)

    # ---- persistence ---------------------------------------------------------------------
    def save(self, folder: str | Path, *, overwrite: bool = False) -> Path:
        """Write ``model.json`` (params, schema, ledger, state), ``arrays.npz``, any extra
        files (weights) and ``checksums.json`` (SHA-256 of each); atomic."""
        self._check_fitted()
        folder = Path(folder)
        if folder.exists() and not overwrite:
            from synthscape.errors import OutputExistsError

            raise OutputExistsError(f"{folder} exists; pass overwrite=True to replace it")
        state, arrays = self._get_state()
        from synthscape import __version__

        meta = {
            "format_version": FORMAT_VERSION,
            "synthscape_version": __version__,
            "generator": self.name,
            "params": self.get_params(),
            "schema": self.schema_.to_dict(),
            "ledger": self.ledger_.to_dict(),
            "state": state,
        }
        with writing(folder) as tmp:
            (tmp / "model.json").write_text(json.dumps(meta, indent=1, sort_keys=True,
                                                       default=_json_default))
            np.savez(tmp / "arrays.npz",  # numpy's stub types **kwds as its bool options
                     **{k: np.asarray(v) for k, v in arrays.items()})  # type: ignore[arg-type]
            self._save_extra(tmp)
        return folder


def load(folder: str | Path) -> Generator:
    """Load a generator saved with ``save``: checks every file against ``checksums.json``, then
    reads JSON and arrays only (no pickle). Any defect raises one ModelFormatError."""
    from synthscape.model_files import load_verified

    return load_verified(folder, _read_model)


def _read_model(folder: Path) -> Generator:
    from synthscape.generators.registry import GENERATORS

    meta_path = folder / "model.json"
    try:
        meta = json.loads(meta_path.read_text())
    except json.JSONDecodeError as exc:
        raise ModelFormatError(f"{meta_path} is not valid JSON: {exc}") from None
    if meta.get("format_version") != FORMAT_VERSION:
        raise ModelFormatError(f"{meta_path}: format version {meta.get('format_version')} is not "
                               f"supported (expected {FORMAT_VERSION}); fit and save the model "
                               f"again with this version")
    cls = GENERATORS.get(meta["generator"])
    gen = cls(**meta["params"])
    gen.schema_ = TableSchema.from_dict(meta["schema"])
    gen.ledger_ = PrivacyLedger.from_dict(meta["ledger"])
    with np.load(folder / "arrays.npz", allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    gen._set_state(meta["state"], arrays)
    gen._load_extra(folder)
    gen._sample_calls = 0
    return gen


def _json_default(o: Any) -> Any:
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (tuple, set)):
        return list(o)
    raise TypeError(f"cannot serialise {type(o).__name__}")


def _largest_remainder(n: int, shares: dict[Any, float]) -> dict[Any, int]:
    raw = {k: n * s for k, s in shares.items()}
    counts = {k: int(math.floor(v)) for k, v in raw.items()}
    rest = n - sum(counts.values())
    for k in sorted(raw, key=lambda k: raw[k] - counts[k], reverse=True)[:rest]:
        counts[k] += 1
    return counts


def _take_over(schema: TableSchema, ledger: PrivacyLedger) -> None:
    """Make ``ledger`` answer for how ``schema`` was obtained (one ledger per release)."""
    if schema.provenance == "free":
        ledger.mark_non_private("the schema was read from the training data without DP "
                                "(TableSchema.infer without a budget): its bounds and "
                                "categories disclose real values")
    inference = schema.inference_ledger
    if inference is not None and inference is not ledger:
        ledger.absorb(inference, label="DP schema inference")


def _drop_unreleased_categories(df: pd.DataFrame, schema: TableSchema) -> pd.DataFrame:
    mask = np.ones(len(df), bool)
    for c in schema.columns:
        if c.kind == "categorical" and c.name in df.columns:
            s = df[c.name]
            allowed = [str(v) for v in c.categories or ()]
            mask &= (s.astype(str).isin(allowed) | s.isna()).to_numpy()
    out = df[mask].copy()
    for c in schema.columns:  # DP inference releases categories as strings
        if c.kind == "categorical" and c.name in out.columns:
            out[c.name] = out[c.name].map(lambda v: v if pd.isna(v) else str(v))
    return out

"""Public conformance kit (scikit-learn's ``check_estimator``, gymnasium's ``check_env``).

>>> from synthscape.testing import check_generator
>>> check_generator("mst")            # raises AssertionError naming the failed check

Every registered generator must pass it; third-party generators can call it in their own tests.
A generator may define a ``_conformance_params()`` classmethod returning small hyper-parameters
(few epochs, small networks) that the kit uses, so the checks stay fast.

Generators of record sets (several linked tables per unit, e.g. the EHR generator) follow
:class:`synthscape.generators.SupportsMultiTable` and have a kit of their own:

>>> check_multitable_generator(lambda: EHRGenerator(schema=schema, epochs=1, seed=0), cohort,
...                            paid_steps=("patient count", "ehr_model"))  # doctest: +SKIP

``noise_key(key)`` runs a block with (or, given None, without) a secret noise key.
"""
from __future__ import annotations

import math
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from synthscape._testing_multitable import (
    MULTITABLE_CHECKS,
    check_multitable_generator,
    multitable_checks,
    noise_key,
)
from synthscape._testing_sequence import (
    SEQUENCE_CHECKS,
    check_sequence_generator,
    sequence_conformance_data,
)
from synthscape.errors import NotFittedError, ParameterError, SchemaError
from synthscape.random import derive_rng
from synthscape.schema import TableSchema
from synthscape.schema.column import Column

if TYPE_CHECKING:
    from synthscape.generators import Generator

__all__ = ["MULTITABLE_CHECKS", "SEQUENCE_CHECKS", "check_generator",
           "check_multitable_generator", "check_sequence_generator", "conformance_data",
           "generator_checks", "multitable_checks", "noise_key", "sequence_conformance_data"]

_COND_COL, _COND_VALUE = "color", "blue"
_SHARES = {"red": 0.5, "blue": 0.5}


def conformance_data(n: int = 300, seed: int = 0) -> tuple[pd.DataFrame, TableSchema]:
    """A small mixed table (categorical, boolean, integer, nullable float, datetime, id)
    with a dependency between ``color`` and ``age``, and its declared schema."""
    rng = derive_rng(seed, "conformance_data")
    color = rng.choice(["red", "green", "blue"], n, p=[0.5, 0.3, 0.2])
    age = np.clip(np.where(color == "red", 30, 60) + rng.normal(0, 8, n).round(), 18, 90)
    income = np.clip(rng.lognormal(10, 0.5, n), 0, 200_000)
    income[rng.random(n) < 0.1] = np.nan
    joined = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1400, n), unit="D")
    df = pd.DataFrame({
        "id": [f"c{i:05d}" for i in range(n)],
        "color": color,
        "flag": rng.random(n) < np.where(color == "blue", 0.8, 0.2),
        "age": age.astype("int64"),
        "income": income,
        "joined": joined,
    })
    schema = TableSchema(columns=(
        Column(name="id", kind="id"),
        Column(name="color", kind="categorical", categories=("red", "green", "blue")),
        Column(name="flag", kind="boolean"),
        Column(name="age", kind="numerical", lower=18, upper=90, integer=True),
        Column(name="income", kind="numerical", lower=0, upper=200_000, nullable=True),
        Column(name="joined", kind="datetime", lower="2020-01-01", upper="2024-01-01"),
    ), name="conformance")
    return df, schema


def _params_for(cls: type[Generator], fast: bool) -> dict[str, Any]:
    names = cls.param_names()
    params: dict[str, Any] = {}
    if "epsilon" in names and getattr(cls, "private", True):
        params["epsilon"] = 2.0
    if "seed" in names:
        params["seed"] = 0
    if fast and hasattr(cls, "_conformance_params"):
        params.update(cls._conformance_params())
    return params


class _Kit:
    def __init__(self, gen, data: pd.DataFrame, schema: TableSchema):
        self.cls, self.params = type(gen), gen.get_params()
        self.data, self.schema = data, schema
        self._fitted = None

    def new(self):
        return self.cls(**self.params)

    def fitted(self):
        if self._fitted is None:
            self._fitted = self.new().fit(self.data, self.schema)
        return self._fitted

    def discrete(self) -> tuple[str, Any, str, dict]:
        """A categorical column, a value of it, and shares over two values, for conditions."""
        if _COND_COL in self.schema and self.schema[_COND_COL].kind == "categorical":
            return _COND_COL, _COND_VALUE, _COND_COL, _SHARES
        for c in self.schema.modelled():
            if c.kind in ("categorical", "boolean"):
                v = list(c.values)
                return c.name, v[-1], c.name, {v[0]: 0.5, v[-1]: 0.5}
        raise AssertionError("the conformance data needs a categorical or boolean column")


# ---- the checks ------------------------------------------------------------------------
def check_constructor_stores_only(k: _Kit) -> None:
    gen = k.new()
    fitted = [a for a in vars(gen) if a.endswith("_") and not a.startswith("_")]
    assert not fitted, f"the constructor set fitted state {fitted}; it must only store parameters"
    got = gen.get_params()
    assert set(got) == set(k.params), f"get_params() keys {sorted(got)} != {sorted(k.params)}"
    for name, value in k.params.items():
        assert got[name] is value or got[name] == value, \
            f"parameter {name!r} was changed by the constructor: {value!r} -> {got[name]!r}"
    again = k.cls(**gen.get_params()).get_params()
    assert again == got, "get_params() does not round-trip through the constructor"
    gen.set_params(**got)
    try:
        gen.set_params(not_a_parameter_xyz=1)
    except ParameterError:
        pass
    else:
        raise AssertionError("set_params accepted an unknown parameter; raise ParameterError")


def check_not_fitted(k: _Kit) -> None:
    gen = k.new()
    for what, call in (("sample", lambda: gen.sample(5)),
                       ("save", lambda: gen.save(Path(tempfile.mkdtemp()) / "m"))):
        try:
            call()
        except NotFittedError:
            continue
        raise AssertionError(f"{what} before fit must raise NotFittedError")


def check_sample_matches_schema(k: _Kit) -> None:
    syn = k.fitted().sample(200, seed=1)
    assert len(syn) == 200, f"asked for 200 rows, got {len(syn)}"
    assert list(syn.columns) == k.schema.names, f"columns {list(syn.columns)} != {k.schema.names}"
    for c in k.schema.columns:
        s = syn[c.name]
        null = s.isna().to_numpy()
        assert c.nullable or c.kind == "id" or not null.any(), \
            f"column {c.name!r} is not nullable but has {int(null.sum())} missing values"
        v = s[~null]
        if c.kind == "numerical":
            assert pd.api.types.is_numeric_dtype(s), f"{c.name!r} must be numeric, is {s.dtype}"
            lo, hi = c.bounds
            assert v.between(lo, hi).all(), f"{c.name!r} leaves its bounds [{lo}, {hi}]"
            if c.integer:
                assert np.all(np.mod(v.to_numpy(float), 1) == 0), f"{c.name!r} must be integers"
        elif c.kind == "datetime":
            assert pd.api.types.is_datetime64_any_dtype(s), f"{c.name!r} must be datetime"
            assert v.between(pd.Timestamp(c.lower), pd.Timestamp(c.upper)).all(), \
                f"{c.name!r} leaves [{c.lower}, {c.upper}]"
        elif c.kind == "boolean":
            assert pd.api.types.is_bool_dtype(s) or set(v) <= {True, False}, \
                f"{c.name!r} must be boolean"
        elif c.kind == "categorical":
            bad = set(v) - set(c.categories or ())
            assert not bad, f"{c.name!r} has values outside its categories: {sorted(map(str, bad))}"
    assert len(k.fitted().sample(0)) == 0, "sample(0) must return an empty table"


def check_seeded(k: _Kit) -> None:
    a = k.fitted().sample(100, seed=7)
    b = k.fitted().sample(100, seed=7)
    pd.testing.assert_frame_equal(a, b, obj="two samples with seed=7")
    if "seed" in k.params and k.params["seed"] is not None:
        c = k.new().fit(k.data, k.schema).sample(100, seed=7)
        pd.testing.assert_frame_equal(a, c, obj="samples of two fits with the same seed")


def check_save_load(k: _Kit) -> None:
    from synthscape.generators import load

    gen = k.fitted()
    with tempfile.TemporaryDirectory() as tmp:
        gen.save(Path(tmp) / "model")
        files = sorted(p.name for p in (Path(tmp) / "model").iterdir())
        assert not any(f.endswith((".pkl", ".pickle")) for f in files), f"pickle files: {files}"
        same = load(Path(tmp) / "model")
    pd.testing.assert_frame_equal(gen.sample(100, seed=3), same.sample(100, seed=3),
                                  obj="samples before and after save/load")
    assert same.ledger_.to_dict() == gen.ledger_.to_dict(), "the ledger changed in save/load"


def check_ledger(k: _Kit) -> None:
    gen = k.fitted()
    led = gen.ledger_
    if gen.private:
        assert led.is_private, "a private generator's ledger must be private"
        budget = led.budget.epsilon
        assert led.epsilon <= budget * (1 + 1e-9), f"spent epsilon {led.epsilon} > budget {budget}"
        assert led.epsilon > 0, "a private generator spent nothing: did it fit on the data?"
    else:
        assert not led.is_private and math.isinf(led.epsilon), \
            "a non-private generator's ledger must say epsilon = inf and is_private False"


def check_conditions(k: _Kit) -> None:
    col, value, _, _ = k.discrete()
    syn = k.fitted().sample(150, conditions={col: value}, seed=2)
    assert len(syn) == 150, f"conditioned sample has {len(syn)} rows, not 150"
    bad = int((syn[col] != value).sum())
    assert bad == 0, f"{bad} of 150 rows break the condition {col} == {value!r}"


def check_rebalancing(k: _Kit) -> None:
    _, _, col, shares = k.discrete()
    n = 101
    syn = k.fitted().sample(n, conditions={col: shares}, seed=4)
    raw = {v: n * s for v, s in shares.items()}
    want = {v: math.floor(x) for v, x in raw.items()}
    for v in sorted(raw, key=lambda v: raw[v] - want[v], reverse=True)[:n - sum(want.values())]:
        want[v] += 1
    got = {v: int((syn[col] == v).sum()) for v in shares}
    assert got == want and len(syn) == n, f"rebalanced counts {got} != {want} (largest remainder)"


def check_unknown_condition(k: _Kit) -> None:
    col, _, _, _ = k.discrete()
    try:
        k.fitted().sample(5, conditions={col: "__no_such_value__"})
    except ParameterError:
        return
    raise AssertionError("an unknown category in conditions must raise ParameterError")


def check_empty_table(k: _Kit) -> None:
    try:
        k.new().fit(k.data.iloc[:0], k.schema)
    except SchemaError:
        return
    raise AssertionError("fitting an empty table must raise SchemaError")


def check_invalid_params(k: _Kit) -> None:
    constraints = {**k.cls._common_constraints, **getattr(k.cls, "_parameter_constraints", {})}
    bad_value = "__invalid__"
    tried = 0
    for name, rules in constraints.items():
        if name not in k.params or any(r.ok(bad_value) for r in rules):
            continue
        tried += 1
        gen = k.cls(**{**k.params, name: bad_value})
        try:
            gen.fit(k.data, k.schema)
        except ParameterError:
            continue
        raise AssertionError(f"fit accepted {name}={bad_value!r}; it must raise ParameterError")
    assert tried, "no constrained parameter to check: declare _parameter_constraints"


CHECKS: tuple[Callable[[_Kit], None], ...] = (
    check_constructor_stores_only, check_not_fitted, check_invalid_params, check_empty_table,
    check_sample_matches_schema, check_seeded, check_save_load, check_ledger, check_conditions,
    check_rebalancing, check_unknown_condition,
)


def generator_checks(name_or_instance, *, data: pd.DataFrame | None = None,
                     schema: TableSchema | None = None, fast: bool = True):
    """Yield ``(check_name, run)`` pairs; ``run()`` raises AssertionError on failure."""
    from synthscape.generators import GENERATORS, Generator

    if isinstance(name_or_instance, str):
        cls = GENERATORS.get(name_or_instance)
        gen = cls(**_params_for(cls, fast))
    elif isinstance(name_or_instance, Generator):
        gen = name_or_instance
    else:
        raise ParameterError(f"check_generator expects a registered name or a Generator, got "
                             f"{type(name_or_instance).__name__}")
    if (data is None) != (schema is None):
        raise ParameterError("pass both data and schema, or neither (the kit's own table)")
    if data is None or schema is None:
        data, schema = conformance_data()
    kit = _Kit(gen, data, schema)
    for check in CHECKS:
        yield check.__name__, (lambda c=check: c(kit))


def check_generator(name_or_instance, *, data: pd.DataFrame | None = None,
                    schema: TableSchema | None = None, fast: bool = True) -> list[str]:
    """Run every conformance check; return the names of the checks that passed.

    Raises AssertionError naming the first failed check. ``fast`` uses the generator's
    ``_conformance_params()`` when it has one.
    """
    passed = []
    for name, run in generator_checks(name_or_instance, data=data, schema=schema, fast=fast):
        try:
            run()
        except AssertionError as exc:
            raise AssertionError(f"{name} failed for {name_or_instance!r}: {exc}") from exc
        passed.append(name)
    return passed

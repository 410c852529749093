"""Input checks for ``evaluate``: every problem named with the table, the column and the fix."""
from __future__ import annotations

import warnings

import pandas as pd

from synthscape.errors import ParameterError, SchemaError
from synthscape.schema import TableSchema


def check_tables(tables: dict[str, pd.DataFrame], schema: TableSchema) -> dict[str, pd.DataFrame]:
    """Validate each named table against ``schema`` and return them in schema order.

    Values outside the declared bounds are clipped (the schema is the contract the synthetic
    data was produced under); anything else that does not match raises one SchemaError."""
    if not isinstance(schema, TableSchema):
        raise SchemaError(f"schema must be a TableSchema, got {type(schema).__name__}; "
                          f"load one with TableSchema.from_json(path)")
    problems: list[str] = []
    for name, df in tables.items():
        if not isinstance(df, pd.DataFrame):
            problems.append(f"{name}: expected a pandas DataFrame, got {type(df).__name__}")
            continue
        if len(df) == 0:
            problems.append(f"{name} is empty (0 rows): evaluation needs rows in every table; "
                            f"sample at least a few hundred synthetic rows")
        missing = [c for c in schema.names if c not in df.columns]
        extra = [c for c in df.columns if c not in schema.names]
        if missing:
            problems.append(f"{name} lacks column(s) {missing} of schema '{schema.name}': "
                            f"all tables must have the schema's columns")
        if extra:
            problems.append(f"{name} has column(s) {extra} not in schema '{schema.name}': "
                            f"drop them or declare them in the schema")
    if problems:
        raise SchemaError("the tables to evaluate do not match the schema", problems)
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for name, df in tables.items():
            valid = schema.validate(df, out_of_bounds="clip", source=name)
            out[name] = valid.reset_index(drop=True)
    return out


def check_target(target: str | None, schema: TableSchema,
                 tables: dict[str, pd.DataFrame]) -> None:
    if target is None:
        return
    if target not in schema.names:
        raise ParameterError(f"target {target!r} is not a column of schema '{schema.name}'; "
                             f"columns: {schema.names}")
    if schema[target].kind in ("id", "datetime"):
        raise ParameterError(f"target {target!r} is a {schema[target].kind} column; choose a "
                             f"numerical, categorical or boolean column")
    for name, df in tables.items():
        if target not in df.columns:
            raise SchemaError(f"target {target!r} is missing from {name}; the generator must "
                              f"produce the target column")
        if df[target].isna().all():
            raise SchemaError(f"target {target!r} has no values in {name}")


def check_sensitive(sensitive: tuple[str, ...], schema: TableSchema,
                    tables: dict[str, pd.DataFrame]) -> None:
    for col in sensitive:
        if col not in schema.names:
            raise ParameterError(f"sensitive column {col!r} is not in schema '{schema.name}'; "
                                 f"columns: {schema.names}")
        if schema[col].kind not in ("categorical", "boolean"):
            raise ParameterError(f"sensitive column {col!r} is {schema[col].kind}; fairness is "
                                 f"measured over groups, so use a categorical or boolean column "
                                 f"(bin a numerical one first)")
        for name in ("real_train", "real_test"):
            groups = tables[name][col].dropna().unique()
            if len(groups) < 2:
                raise ParameterError(
                    f"sensitive column {col!r} has {len(groups)} group(s) in {name} "
                    f"({list(groups)}); fairness needs at least two groups: drop it from "
                    f"'sensitive' or use a larger sample")


def check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ParameterError(f"seed must be an int >= 0, got {seed!r}")
    return seed

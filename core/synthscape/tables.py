"""Output tables: the declared schema of each table a run writes, the dtypes it implies, and a
table writer that streams chunks into one Parquet file.

Every kind declares each output table's schema the same way: one JSON Schema (draft 2020-12) of
a row, built with :func:`row_schema` (a pack's ``schemas.py``) or :func:`row_schema_of` (a
generator's :class:`~synthscape.schema.TableSchema`), and passed to ``ctx.write_table(name, df,
schema=...)`` or ``ctx.table_writer(name, schema=...)``; the run writes it as
``release/schemas/<table>.json`` and writes the table with the dtypes it declares:

========== ============================= ==================================================
type       pandas dtype (and when read)  Parquet / Arrow
========== ============================= ==================================================
integer    ``int64``; nullable ``Int64`` int64 (pandas metadata keeps ``Int64``)
number     ``float64`` (null: NaN)       double
boolean    ``bool``; nullable ``boolean`` bool
string     ``str``; with an enum         string; with an enum dictionary<int32, string>
           ``category`` (enum order)
date,      ``datetime64[us]``            timestamp[us] (JSON: a string with that format)
date-time
========== ============================= ==================================================

A nullable column's JSON type is ``[type, "null"]``; a column that is not nullable holds no
missing value. An id is an integer or a string in every table it appears in.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from synthscape.errors import ParameterError, SchemaError
from synthscape.io import PARQUET_OPTIONS

if TYPE_CHECKING:
    import pyarrow as pa

    from synthscape.schema import TableSchema

COLUMN_TYPES = ("integer", "number", "boolean", "string", "date", "date-time")


@dataclass(frozen=True)
class DeclaredColumn:
    """One column of a row schema, as :func:`declared_columns` reads it."""

    name: str
    type: str
    nullable: bool
    enum: tuple[Any, ...] | None = None

    @property
    def dtype(self) -> Any:
        """The pandas dtype of the column in memory and when read back from Parquet."""
        if self.type == "integer":
            return "Int64" if self.nullable else "int64"
        if self.type == "boolean":
            return "boolean" if self.nullable else "bool"
        if self.type == "number":
            return "float64"
        if self.type in ("date", "date-time"):
            return "datetime64[us]"
        return pd.CategoricalDtype(list(self.enum)) if self.enum is not None else "str"


def row_schema(pack: str, table: str, columns: Mapping[str, Sequence[Any]], *,
               patterns: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The JSON Schema of one row of ``table``: ``columns`` maps each column to ``(type,
    nullable, description[, enum])``; ``patterns`` maps a column-name regex to a description
    (columns that depend on the spec, such as one per scenario parameter)."""
    props: dict[str, Any] = {}
    for name, (typ, nullable, description, *enum) in columns.items():
        if typ not in COLUMN_TYPES:
            raise ParameterError(f"{pack}/{table}: column {name!r} has type {typ!r}; use one "
                                 f"of {', '.join(COLUMN_TYPES)}")
        base = "string" if typ in ("date", "date-time") else typ
        p: dict[str, Any] = {"type": [base, "null"] if nullable else base,
                             "description": description}
        if base != typ:
            p["format"] = typ
        if enum:
            p["enum"] = [*enum[0], None] if nullable else list(enum[0])
        props[name] = p
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://synthscape.dev/schemas/{pack}/{table}.json",
        "title": f"synthscape {pack}: one row of {table}", "type": "object",
        "properties": props, "required": list(props), "additionalProperties": False}
    if patterns:
        schema["patternProperties"] = {k: {"description": v} for k, v in patterns.items()}
    return schema


def row_schema_of(schema: TableSchema, *, table: str = "synthetic",
                  pack: str = "tabular") -> dict[str, Any]:
    """The row schema of a table generated from a :class:`~synthscape.schema.TableSchema`
    (bounds become ``minimum`` / ``maximum``, categories an ``enum``; ids are strings)."""
    cols: dict[str, tuple[Any, ...]] = {}
    bounds: dict[str, tuple[Any, Any]] = {}
    for c in schema.columns:
        if c.kind == "numerical":
            cols[c.name] = ("integer" if c.integer else "number", c.nullable, c.description)
            bounds[c.name] = (c.lower, c.upper)
        elif c.kind == "categorical":
            values = list(c.categories or ())
            typ = ("boolean" if all(isinstance(v, bool) for v in values) else
                   "integer" if all(isinstance(v, int) for v in values) else
                   "number" if all(isinstance(v, (int, float)) for v in values) else "string")
            cols[c.name] = (typ, c.nullable, c.description, values)
        elif c.kind == "datetime":
            cols[c.name] = ("date-time", c.nullable,
                            c.description or f"between {c.lower} and {c.upper}")
        else:
            cols[c.name] = ("boolean" if c.kind == "boolean" else "string", c.nullable,
                            c.description)
    out = row_schema(pack, table, cols)
    for name, (lo, hi) in bounds.items():
        out["properties"][name].update(minimum=lo, maximum=hi)
    return out


def declared_columns(schema: Mapping[str, Any]) -> list[DeclaredColumn]:
    """The columns of a row schema (see :func:`row_schema`)."""
    out = []
    for name, p in schema["properties"].items():
        types = p["type"] if isinstance(p["type"], list) else [p["type"]]
        base = next(t for t in types if t != "null")
        enum = p.get("enum")
        out.append(DeclaredColumn(name, p.get("format", base), "null" in types,
                                  None if enum is None else
                                  tuple(v for v in enum if v is not None)))
    return out


def arrow_schema(schema: Mapping[str, Any]) -> pa.Schema:
    """The Arrow schema of a row schema, with the pandas metadata that reads nullable integers
    back as ``Int64`` (patterned columns are not part of it)."""
    import pyarrow as pa

    fields = []
    for c in declared_columns(schema):
        t = {"integer": pa.int64(), "number": pa.float64(), "boolean": pa.bool_(),
             "date": pa.timestamp("us"), "date-time": pa.timestamp("us")}.get(c.type)
        if t is None:
            t = pa.dictionary(pa.int32(), pa.string()) if c.enum else pa.string()
        fields.append(pa.field(c.name, t))
    empty = pd.DataFrame({c.name: pd.Series([], dtype=c.dtype)
                          for c in declared_columns(schema)})
    meta = pa.Schema.from_pandas(empty, preserve_index=False).metadata
    return pa.schema(fields, metadata=meta)


def conform(df: pd.DataFrame, schema: Mapping[str, Any], *,
            table: str = "table") -> pd.DataFrame:
    """``df`` with the declared columns in order and the declared dtypes (``Int64`` where an
    integer column is nullable, ``datetime64`` for dates, ``category`` for an enum of strings);
    one :class:`SchemaError` lists every column that does not match."""
    cols = declared_columns(schema)
    names = {c.name for c in cols}
    patterns = [re.compile(p) for p in schema.get("patternProperties", {})]
    problems = [f"column {c.name!r} is missing" for c in cols if c.name not in df.columns]
    extra = [c for c in df.columns if c not in names]
    problems += [f"column {c!r} is not declared" for c in extra
                 if not any(p.search(str(c)) for p in patterns)]
    out: dict[str, Any] = {}
    for c in cols:
        if c.name in df.columns:
            value, problem = cast_column(df[c.name].reset_index(drop=True), c)
            if problem:
                problems.append(f"column {c.name!r} ({c.type}"
                                f"{', nullable' if c.nullable else ''}): {problem}")
            out[c.name] = value
    if problems:
        raise SchemaError(f"table {table!r} does not match its declared schema "
                          f"(schemas/{table}.json)", problems)
    for c in extra:
        out[c] = df[c].reset_index(drop=True)
    return pd.DataFrame(out)


def cast_column(s: pd.Series, c: DeclaredColumn) -> tuple[pd.Series, str | None]:
    """``s`` with the dtype ``c`` declares, or ``s`` and what is wrong with it."""
    from pandas.api import types as t

    missing = int(s.isna().sum())
    if missing and not c.nullable:
        return s, f"{missing} missing value(s) in a column that is not nullable"
    if missing == len(s):  # nothing but nulls (or no rows): any dtype holds them
        return s.astype(c.dtype), None
    categorical = isinstance(s.dtype, pd.CategoricalDtype)
    what = pd.api.types.infer_dtype(s.cat.categories if categorical else s, skipna=True)
    values = s.dropna()
    if c.type in ("integer", "number"):
        if t.is_bool_dtype(s) or not t.is_numeric_dtype(s):
            return s, f"holds {what} values, not numbers"
        if c.type == "integer" and t.is_float_dtype(s):
            x = values.to_numpy(float)
            if not (np.isfinite(x) & (x == np.round(x))).all():
                return s, "holds numbers that are not integers"
        values = values.astype("int64" if c.type == "integer" else "float64")
    elif c.type == "boolean":
        if not (t.is_bool_dtype(s) or what == "boolean"):
            return s, f"holds {what} values, not booleans"
    elif c.type in ("date", "date-time"):
        if not t.is_datetime64_dtype(s):  # (a time zone is not declared either)
            return s, f"holds {what} values; write datetime64 values (not strings)"
    elif not (t.is_string_dtype(s) or categorical) or what not in ("string", "empty"):
        return s, f"holds {what} values, not strings"
    if c.enum is not None:
        bad = sorted(map(str, set(pd.unique(values.astype(object))) - set(c.enum)))
        if bad:
            return s, f"values {bad[:5]} are not among the declared values {list(c.enum)}"
    return s.astype(c.dtype), None


def to_arrow(df: pd.DataFrame, schema: Mapping[str, Any], *, table: str = "table") -> pa.Table:
    """:func:`conform` ``df``, then the Arrow table with the declared Arrow types."""
    import pyarrow as pa

    df = conform(df, schema, table=table)
    arrow = pa.Table.from_pandas(df, preserve_index=False)
    declared = arrow_schema(schema)
    fields = [declared.field(f.name) if f.name in declared.names else f for f in arrow.schema]
    return arrow.cast(pa.schema(fields, metadata=arrow.schema.metadata))


def write_table(df: pd.DataFrame, path: str | Path, schema: Mapping[str, Any], *,
                table: str = "table") -> None:
    """One Parquet file of ``df`` with the declared dtypes (the options of
    :func:`synthscape.io.write_parquet`)."""
    import pyarrow.parquet as pq

    pq.write_table(to_arrow(df, schema, table=table), path, **PARQUET_OPTIONS)


class TableWriter:
    """One Parquet file written chunk by chunk with the declared schema, in bounded memory.

    ``write`` takes a DataFrame or an Arrow table with the declared columns; each chunk is cast
    to the declared Arrow types and checked (missing values, enum values), so the file reads
    back with the declared dtypes whatever the chunks held. The file is opened at once: a
    stream of no chunks leaves an empty table with the declared columns. Equal chunks give
    equal bytes."""

    def __init__(self, path: str | Path, schema: Mapping[str, Any], *, table: str = "table"):
        import pyarrow.parquet as pq

        if schema.get("patternProperties"):
            raise ParameterError(f"table {table!r} is streamed, so every column must be "
                                 f"declared by name (no patternProperties)")
        self.path, self.schema, self.table = Path(path), schema, table
        self.columns = declared_columns(schema)
        self.arrow = arrow_schema(schema)
        self.rows = 0
        self._writer: Any = pq.ParquetWriter(self.path, self.arrow, **PARQUET_OPTIONS)

    def write(self, chunk: pd.DataFrame | pa.Table) -> None:
        if isinstance(chunk, pd.DataFrame):
            arrow = to_arrow(chunk, self.schema, table=self.table).cast(self.arrow)
        else:
            arrow = self._cast(chunk)
        self._writer.write_table(arrow)
        self.rows += arrow.num_rows

    def _cast(self, chunk: pa.Table) -> pa.Table:
        import pyarrow as pa
        import pyarrow.compute as pc

        names = [c.name for c in self.columns]
        problems = [f"column {n!r} is missing" for n in names if n not in chunk.column_names]
        problems += [f"column {n!r} is not declared" for n in chunk.column_names
                     if n not in names]
        for c in self.columns:
            if c.name not in chunk.column_names:
                continue
            col = chunk.column(c.name)
            if col.null_count and not c.nullable:
                problems.append(f"column {c.name!r}: {col.null_count} missing value(s) in a "
                                f"column that is not nullable")
            if c.enum is not None:
                if pa.types.is_dictionary(col.type):
                    seen = {v for part in col.chunks for v in part.dictionary.to_pylist()}
                else:
                    seen = set(pc.unique(col).drop_null().to_pylist())
                bad = sorted(map(str, seen - set(c.enum)))
                if bad:
                    problems.append(f"column {c.name!r}: values {bad[:5]} are not among the "
                                    f"declared values {list(c.enum)}")
        if not problems:
            try:
                return chunk.select(names).cast(self.arrow)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                problems.append(f"the chunk cannot be cast to the declared types: {exc}")
        raise SchemaError(f"a chunk of table {self.table!r} does not match its declared schema "
                          f"(schemas/{self.table}.json)", problems)

    def close(self) -> None:
        self._writer.close()

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def export_row_schemas(folder: str | Path, tables: Iterable[str],
                       json_schema: Callable[[str], Mapping[str, Any]]) -> list[Path]:
    """Write ``<folder>/<table>.json`` for each table from ``json_schema(table)`` (how the
    packs export their output schemas to data_schemas/); returns the paths written."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for table in tables:
        path = folder / f"{table}.json"
        path.write_text(json.dumps(json_schema(table), indent=2) + "\n")
        out.append(path)
    return out

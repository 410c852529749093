"""Output tables: declared row schemas, the dtypes they imply end to end (in memory, in the
Parquet files, read back), the streaming writer, and the declarations of the packs."""
from __future__ import annotations

import importlib
import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from synthscape.errors import SchemaError
from synthscape.tables import (
    TableWriter,
    arrow_schema,
    conform,
    declared_columns,
    row_schema,
    row_schema_of,
    write_table,
)

SCHEMA = row_schema("test", "t", {
    "id": ("integer", False, "key"),
    "card_id": ("integer", True, "an id with gaps"),
    "amount": ("number", False, "dollars"),
    "when": ("date-time", False, "time"),
    "day": ("date", True, "a date"),
    "channel": ("string", False, "channel", ["pos", "cnp"]),
    "note": ("string", True, "free text"),
    "flag": ("boolean", True, "a flag"),
})
DECLARED = {c.name: c.dtype for c in declared_columns(SCHEMA)}


def frame(n: int = 3) -> pd.DataFrame:
    return pd.DataFrame({
        "id": np.arange(n), "card_id": [4023552.0, np.nan, 7.0][:n],
        "amount": [1, 2, 3][:n], "when": pd.to_datetime(["2024-01-01 10:00"] * n),
        "day": pd.to_datetime(["2024-01-01", None, "2024-01-03"][:n]),
        "channel": ["cnp", "pos", "cnp"][:n], "note": ["a", None, "c"][:n],
        "flag": [True, None, False][:n]})


def test_the_schema_says_which_columns_may_be_null_and_how_dates_are_written():
    props = SCHEMA["properties"]
    assert props["card_id"]["type"] == ["integer", "null"] and props["id"]["type"] == "integer"
    assert props["when"] == {"type": "string", "description": "time", "format": "date-time"}
    assert props["channel"]["enum"] == ["pos", "cnp"]
    assert SCHEMA["required"] == list(props) and SCHEMA["additionalProperties"] is False
    with pytest.raises(ValueError, match="type 'float'"):
        row_schema("test", "t", {"x": ("float", False, "")})


def test_conform_gives_the_declared_dtypes():
    out = conform(frame(), SCHEMA, table="t")
    assert {c: out[c].dtype for c in out} == DECLARED
    assert out["card_id"].tolist()[0] == 4023552 and out["card_id"].isna().tolist()[1]
    assert list(out["channel"].cat.categories) == ["pos", "cnp"]  # the declared order


def test_conform_collects_every_mismatch():
    bad = frame().assign(id=[1.5, 2, 3], when=["2024-01-01"] * 3, channel=["pos", "atm", "pos"],
                         extra=1)
    bad.loc[0, "amount"] = np.nan
    with pytest.raises(SchemaError) as err:
        conform(bad.drop(columns="flag"), SCHEMA, table="t")
    text = str(err.value)
    for what in ("'id' (integer): holds numbers that are not integers",
                 "'amount' (number): 1 missing value(s)", "'when' (date-time): holds string",
                 "['atm'] are not among", "'flag' is missing", "'extra' is not declared",
                 "schemas/t.json"):
        assert what in text, what


def test_parquet_files_read_back_with_the_declared_dtypes(tmp_path):
    write_table(frame(), tmp_path / "t.parquet", SCHEMA, table="t")
    back = pd.read_parquet(tmp_path / "t.parquet")
    assert {c: back[c].dtype for c in back} == DECLARED
    assert back["card_id"].tolist()[0] == 4023552  # an id with gaps stays an integer


def test_the_writer_streams_frames_and_arrow_chunks_into_one_typed_file(tmp_path):
    arrow = pa.table({
        "id": pa.array([9], pa.int32()), "card_id": pa.array([None], pa.int64()),
        "amount": [2.5], "when": pa.array([0], pa.timestamp("s")),
        "day": pa.array([None], pa.timestamp("s")),
        "channel": pa.DictionaryArray.from_arrays(pa.array([1], pa.int8()),
                                                  pa.array(["pos", "cnp"])),
        "note": pa.array([None], pa.string()), "flag": pa.array([None], pa.bool_())})
    for name in ("a", "b"):
        with TableWriter(tmp_path / f"{name}.parquet", SCHEMA, table="t") as w:
            w.write(arrow)  # an all-null chunk first: the declared types hold, not null types
            w.write(frame())
        assert w.rows == 4
    back = pd.read_parquet(tmp_path / "a.parquet")
    assert {c: back[c].dtype for c in back} == DECLARED and len(back) == 4
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()
    with TableWriter(tmp_path / "empty.parquet", SCHEMA, table="t"):
        pass
    assert list(pd.read_parquet(tmp_path / "empty.parquet").columns) == list(DECLARED)


def test_the_writer_refuses_a_chunk_that_does_not_match(tmp_path):
    chunk = pa.table({"id": pa.array([None], pa.int64())})
    with TableWriter(tmp_path / "t.parquet", SCHEMA, table="t") as w:
        with pytest.raises(SchemaError) as err:
            w.write(chunk)
    assert "'id': 1 missing value(s)" in str(err.value) and "'amount' is missing" in str(
        err.value)
    with pytest.raises(ValueError, match="declared by name"):
        TableWriter(tmp_path / "p.parquet", row_schema("test", "p", {}, patterns={"^x": ""}))


def test_the_arrow_schema_keeps_nullable_integers_integer():
    s = arrow_schema(SCHEMA)
    assert s.field("card_id").type == pa.int64() and s.field("when").type == pa.timestamp("us")
    empty = pa.Table.from_pylist([], schema=s).to_pandas()
    assert empty["card_id"].dtype == "Int64"


def test_a_generators_table_schema_becomes_a_row_schema():
    from synthscape.schema import Column, TableSchema

    schema = TableSchema(columns=(
        Column(name="key", kind="id"),
        Column(name="n", kind="numerical", lower=0, upper=9, integer=True, nullable=True),
        Column(name="x", kind="numerical", lower=-1, upper=1),
        Column(name="g", kind="categorical", categories=("a", "b")),
        Column(name="k", kind="categorical", categories=(1, 2)),
        Column(name="b", kind="boolean"),
        Column(name="t", kind="datetime", lower="2020-01-01", upper="2021-01-01")))
    row = row_schema_of(schema, table="synthetic")
    got = {c.name: (c.type, c.nullable, c.enum) for c in declared_columns(row)}
    assert got == {"key": ("string", False, None), "n": ("integer", True, None),
                   "x": ("number", False, None), "g": ("string", False, ("a", "b")),
                   "k": ("integer", False, (1, 2)), "b": ("boolean", False, None),
                   "t": ("date-time", False, None)}
    assert row["properties"]["n"]["minimum"] == 0 and row["properties"]["n"]["maximum"] == 9


# ---- the run context ---------------------------------------------------------------------------
def _ctx(tmp_path):
    from synthscape.scenarios.context import RunContext

    return RunContext(tmp_path, SimpleNamespace(kind="k", name="n", seed=0), quiet=True,
                      reads_real_data=False)


def test_the_context_writes_each_table_with_its_schema(tmp_path):
    ctx = _ctx(tmp_path)
    ctx.write_table("whole", frame(), schema=SCHEMA)
    with ctx.table_writer("streamed", schema=SCHEMA) as w:
        w.write(frame(2))
        w.write(frame(1))
    assert ctx.tables == {"whole": 3, "streamed": 3}
    for name in ("whole", "streamed"):
        on_disk = json.loads((ctx.release / "schemas" / f"{name}.json").read_text())
        assert on_disk == SCHEMA and list(on_disk["properties"]) == list(DECLARED)  # in order
        back = pd.read_parquet(ctx.release / "data" / f"{name}.parquet")
        assert {c: back[c].dtype for c in back} == DECLARED
    with pytest.raises(SchemaError, match="table 'bad'"):
        ctx.write_table("bad", frame().drop(columns="id"), schema=SCHEMA)


def test_set_schema_declares_the_tables_written_without_one(tmp_path):
    from synthscape.schema import Column, TableSchema

    ctx = _ctx(tmp_path)
    ctx.write_table("synthetic", pd.DataFrame({"n": [1.0, None]}))
    assert ctx.undeclared == ["synthetic"]
    ctx.set_schema(TableSchema(columns=(Column(name="n", kind="numerical", lower=0, upper=5,
                                               integer=True, nullable=True),)))
    assert ctx.undeclared == []
    assert pd.read_parquet(ctx.release / "data" / "synthetic.parquet")["n"].dtype == "Int64"
    assert (ctx.release / "schemas" / "synthetic.json").is_file()


# ---- the packs' declarations -------------------------------------------------------------------
PACKS = ("synthscape_finance", "synthscape_healthcare", "synthscape_autonomy")


@pytest.mark.parametrize("package", PACKS)
def test_a_packs_ids_have_one_type_and_its_dates_are_dates(package):
    schemas = importlib.import_module(f"{package}.schemas")
    ids, dates = set(), []
    for table in schemas.TABLES:
        for c in declared_columns(schemas.json_schema(table)):
            if c.name.endswith("_id") or c.name in ("Id", "PATIENT", "ENCOUNTER"):
                ids.add(c.type)
            if c.name in ("timestamp", "DATE", "START", "STOP", "BIRTHDATE", "DEATHDATE"):
                dates.append(c.type)
    assert len(ids) <= 1, ids
    assert all(t in ("date", "date-time") for t in dates), dates


def test_the_finance_tables_in_memory_have_the_declared_dtypes():
    from synthscape_finance import simulate
    from synthscape_finance.schemas import json_schema
    from synthscape_finance.spec import TransactionsSpec

    tables = simulate(TransactionsSpec(population={"customers": 150, "merchants": 200,
                                                   "days": 3}, seed=2))
    for name, df in tables.items():
        declared = {c.name: c.dtype for c in declared_columns(json_schema(name))}
        assert {c: df[c].dtype for c in df} == declared, name
    tx = tables["transactions"]
    assert tx["card_id"].dtype == "Int64" and tx["card_id"].isna().any()
    assert tables["accounts"]["card_id"].dtype == "int64"

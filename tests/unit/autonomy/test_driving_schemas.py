"""The JSON Schemas in data_schemas/autonomy/ match the pack's column contracts."""
import json
from pathlib import Path

from synthscape_autonomy import schemas

ROOT = Path(__file__).parents[3] / "data_schemas" / "autonomy"


def test_schema_files_in_sync():
    for table in schemas.TABLES:
        on_disk = json.loads((ROOT / f"{table}.schema.json").read_text())
        assert on_disk == schemas.json_schema(table), (
            f"data_schemas/autonomy/{table}.schema.json is stale; regenerate it from "
            f"synthscape_autonomy.schemas.json_schema('{table}')")


def test_every_column_is_typed_and_described():
    for table, cols in schemas.TABLES.items():
        s = schemas.json_schema(table)
        assert set(s["required"]) == set(s["properties"]) == {c[0] for c in cols}
        assert all(p["description"] for p in s["properties"].values())

"""The JSON Schemas in data_schemas/autonomy/ match the pack's column contracts."""
import json
from pathlib import Path

from synthscape.tables import declared_columns
from synthscape_autonomy import schemas

ROOT = Path(__file__).parents[3] / "data_schemas" / "autonomy"
ALL = [*schemas.TABLES, schemas.SEARCH]


def test_schema_files_in_sync():
    for table in ALL:
        on_disk = json.loads((ROOT / f"{table}.json").read_text())
        assert on_disk == schemas.json_schema(table), (
            f"data_schemas/autonomy/{table}.json is stale; run python -m "
            f"synthscape_autonomy.schemas data_schemas/autonomy")
    assert sorted(p.stem for p in ROOT.glob("*.json")) == sorted(ALL)


def test_every_column_is_typed_and_described():
    for table in ALL:
        s = schemas.json_schema(table)
        assert set(s["required"]) == set(s["properties"]) == set(schemas.columns(table))
        assert all(p["description"] for p in s["properties"].values())
        nullable = {c.name for c in declared_columns(s) if c.nullable}
        if table in ("episodes", schemas.SEARCH):
            assert nullable == {"min_ttc", "min_ttc_long", "min_thw", "first_failure_time",
                                "impact_speed"}
            assert "^param_" in s["patternProperties"]
        elif table == "step_labels":
            assert nullable == {"ttc", "ttc_long", "thw"}
        else:
            assert not nullable

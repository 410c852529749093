"""Export JSON Schemas of the spec models and the table schema to ``data_schemas/``.

``python -m synthscape.scenarios.export_schemas data_schemas`` (``make schemas``); a test keeps the
committed files in sync with the pydantic models.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def model_schemas() -> dict[str, dict[str, Any]]:
    from synthscape.scenarios import KINDS
    from synthscape.schema import TableSchema

    out = {"table_schema.schema.json": TableSchema.model_json_schema()}
    for name in KINDS.names():
        out[f"spec_{name}.schema.json"] = KINDS.get(name).model.model_json_schema(by_alias=True)
    return out


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def export(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in model_schemas().items():
        p = folder / name
        p.write_text(render(schema))
        written.append(p)
    return written


if __name__ == "__main__":
    for p in export(sys.argv[1] if len(sys.argv) > 1 else "data_schemas"):
        print(p)

"""Column contracts of the datasets a driving run writes, exported as JSON Schemas
(data_schemas/autonomy/*.schema.json; a test keeps the files in sync with this module)."""
from __future__ import annotations

from typing import Any

_INT, _NUM, _BOOL, _STR = "integer", "number", "boolean", "string"

# table -> [(column, JSON type, unit, description)]
TABLES: dict[str, list[tuple[str, str, str, str]]] = {
    "trajectories": [
        ("episode", _INT, "", "episode index (the key of its random numbers)"),
        ("t", _NUM, "s", "simulation time at the end of the step"),
        ("agent", _INT, "", "agent index within the episode (0 = ego)"),
        ("name", _STR, "", "entity name from the scenario file"),
        ("type", _STR, "", "car, truck, pedestrian or cyclist"),
        ("x", _NUM, "m", "centre, along the road"),
        ("y", _NUM, "m", "centre, across the road (0 = right road edge)"),
        ("heading", _NUM, "rad", "heading, 0 = along +x"),
        ("speed", _NUM, "m/s", "speed along the heading"),
        ("acceleration", _NUM, "m/s^2", "applied longitudinal acceleration"),
    ],
    "step_labels": [
        ("episode", _INT, "", "episode index"),
        ("t", _NUM, "s", "simulation time"),
        ("ttc", _NUM, "s", "ego time-to-collision to the nearest object in its path (NaN: none "
                           "closing in)"),
        ("thw", _NUM, "s", "ego time headway to that object (NaN: none)"),
        ("drac", _NUM, "m/s^2", "deceleration rate to avoid the crash"),
        ("collision", _BOOL, "", "the ego's box overlaps another agent's box"),
        ("near_miss", _BOOL, "", "ttc below labels.near_miss_ttc"),
        ("off_road", _BOOL, "", "the ego's footprint crosses a road edge"),
    ],
    "episodes": [
        ("episode", _INT, "", "episode index"),
        ("family", _STR, "", "scenario family"),
        ("source", _STR, "", "nominal, or edge_case (drawn from the search's proposal)"),
        ("weight", _NUM, "", "importance weight p/q; 1 for nominal-only datasets"),
        ("collision", _BOOL, "", "the ego collided"),
        ("near_miss", _BOOL, "", "the ego's TTC fell below the near-miss threshold"),
        ("failure", _BOOL, "", "collision, or near miss when labels.failure is near_miss"),
        ("off_road", _BOOL, "", "the ego left the road"),
        ("min_ttc", _NUM, "s", "minimum TTC (NaN: never closing in)"),
        ("min_thw", _NUM, "s", "minimum time headway (NaN: nothing ahead)"),
        ("max_drac", _NUM, "m/s^2", "maximum DRAC"),
        ("first_failure_time", _NUM, "s", "time of the first failure (NaN: none)"),
        ("impact_speed", _NUM, "m/s", "ego speed at the collision (NaN: none)"),
        ("weather", _STR, "", "weather of the episode"),
        ("lighting", _STR, "", "lighting of the episode"),
    ],
}


def json_schema(table: str) -> dict[str, Any]:
    """JSON Schema (2020-12) of one row of ``table``."""
    props = {}
    for name, typ, unit, desc in TABLES[table]:
        p: dict[str, Any] = {"type": typ, "description": desc + (f" [{unit}]" if unit else "")}
        props[name] = p
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://synthscape.dev/schemas/autonomy/{table}.schema.json",
        "title": f"synthscape autonomy: {table}",
        "type": "object",
        "properties": props,
        "required": [c[0] for c in TABLES[table]],
        "additionalProperties": False,
    }
    if table == "episodes":
        schema["patternProperties"] = {"^param_": {"description": "a sampled scenario "
                                                   "parameter, one column per declared parameter"}}
    return schema


def columns(table: str) -> list[str]:
    return [c[0] for c in TABLES[table]]

"""The output tables' schemas: one row schema per dataset table a driving run writes
(:func:`synthscape.tables.row_schema`), written by a run as ``release/schemas/<table>.json`` and
exported to ``data_schemas/autonomy/``.

``python -m synthscape_autonomy.schemas data_schemas/autonomy`` rewrites the exports; a test
keeps them in sync with this module. Units are in the descriptions; a quantity that may be
undefined for a step or an episode (no object closing in, no failure) is nullable.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from synthscape.tables import row_schema
from synthscape_autonomy.physics import AGENT_TYPES

_INT, _NUM, _BOOL, _STR = "integer", "number", "boolean", "string"
SOURCES = ["nominal", "edge_case"]
METHODS = ["monte_carlo", "importance_sampling"]
PARAMETERS = {"^param_": "a sampled scenario parameter, one column per declared parameter "
                         "(a number, or a string for a choice)"}

# column: (type, nullable, description[, enum]); types as in synthscape.tables
_EPISODE: dict[str, tuple] = {
    "episode": (_INT, False, "Episode index (the key of its random numbers)."),
    "family": (_STR, False, "Scenario family."),
    "source": (_STR, False, "nominal, or edge_case (drawn from the search's proposal).",
               SOURCES),
    "weight": (_NUM, False, "Importance weight p/q; 1 for nominal-only datasets."),
    "collision": (_BOOL, False, "The ego collided."),
    "near_miss": (_BOOL, False, "The ego's TTC fell below the near-miss threshold."),
    "failure": (_BOOL, False, "Collision, or near miss when labels.failure is near_miss."),
    "off_road": (_BOOL, False, "The ego left the road."),
    "min_ttc": (_NUM, True, "Minimum box TTC (time until the boxes overlap) [s] (null: never "
                            "closing in)."),
    "min_ttc_long": (_NUM, True, "Minimum longitudinal TTC (bumper gap / closing speed to the "
                                 "object in the ego's path) [s] (null: never closing in)."),
    "min_thw": (_NUM, True, "Minimum time headway [s] (null: nothing ahead)."),
    "max_drac": (_NUM, False, "Maximum DRAC [m/s^2]."),
    "drac_conflict": (_BOOL, False, "DRAC exceeded labels.drac_critical at some step."),
    "first_failure_time": (_NUM, True, "Time of the first failure [s] (null: none)."),
    "impact_speed": (_NUM, True, "Relative speed of the ego and the agent it hit, at the first "
                                 "collision [m/s] (null: none)."),
    "speed_reduction": (_NUM, False, "Euro NCAP outcome: the ego's initial speed minus its speed "
                                     "at the collision, or minus its lowest speed when it "
                                     "avoided one [m/s]."),
    "red_light_violation": (_BOOL, False, "The ego's front crossed its stop line on red "
                                          "(signalised junctions; else false)."),
    "red_light_runners": (_INT, False, "Drivers (the ego included) whose front crossed their "
                                       "stop line on red (0 without a signalised junction)."),
    "pedestrian_violations": (_INT, False, "Pedestrians and cyclists who started to cross on "
                                           "don't-walk (0 without a signalised junction)."),
    "junction_conflict": (_BOOL, False, "Two agents collided in the junction area: the box, "
                                        "crosswalks and stop lines (signalised junctions)."),
    "weather": (_STR, False, "Weather of the episode."),
    "lighting": (_STR, False, "Lighting of the episode."),
}

TABLES: dict[str, dict[str, tuple]] = {
    "trajectories": {
        "episode": (_INT, False, "Episode index (the key of its random numbers)."),
        "t": (_NUM, False, "Simulation time at the end of the step [s]."),
        "agent": (_INT, False, "Agent index within the episode (0 = ego)."),
        "name": (_STR, False, "Entity name from the scenario file."),
        "type": (_STR, False, "Kind of road user.", list(AGENT_TYPES)),
        "x": (_NUM, False, "Centre, along the road (lane-frame s) [m]."),
        "y": (_NUM, False, "Centre, across the road (0 = right road edge) [m]."),
        "heading": (_NUM, False, "Heading relative to the road's reference line [rad]."),
        "speed": (_NUM, False, "Speed along the heading [m/s]."),
        "acceleration": (_NUM, False, "Applied longitudinal acceleration [m/s^2]."),
        "world_x": (_NUM, False, "Centre in world coordinates (x = s on a straight road) [m]."),
        "world_y": (_NUM, False, "Centre in world coordinates (y on a straight road) [m]."),
        "world_heading": (_NUM, False, "Heading in world coordinates [rad]."),
    },
    "step_labels": {
        "episode": (_INT, False, "Episode index."),
        "t": (_NUM, False, "Simulation time [s]."),
        "ttc": (_NUM, True, "Ego box TTC: first time its box and any agent's would overlap at "
                            "constant velocities [s] (null: none closing in)."),
        "ttc_long": (_NUM, True, "Ego longitudinal TTC: bumper gap / closing speed to the "
                                 "nearest object in its path [s] (null: none closing in)."),
        "thw": (_NUM, True, "Ego time headway to that object [s] (null: none)."),
        "drac": (_NUM, False, "Deceleration rate to avoid the crash [m/s^2]."),
        "drac_conflict": (_BOOL, False, "DRAC above labels.drac_critical."),
        "collision": (_BOOL, False, "The ego's box overlaps another agent's box."),
        "near_miss": (_BOOL, False, "TTC below labels.near_miss_ttc."),
        "off_road": (_BOOL, False, "The ego's footprint crosses a road edge."),
    },
    "episodes": _EPISODE,
}
# Written only with search: the episodes of both estimators, side by side.
SEARCH = "search_episodes"
_SEARCH_COLUMNS = {**_EPISODE, "method": (_STR, False, "Estimator that drew the episode.",
                                          METHODS)}


def json_schema(table: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one row of ``table``."""
    patterns = PARAMETERS if table in ("episodes", SEARCH) else None
    return row_schema("autonomy", table, _columns(table), patterns=patterns)


def _columns(table: str) -> dict[str, tuple]:
    return _SEARCH_COLUMNS if table == SEARCH else TABLES[table]


def columns(table: str) -> list[str]:
    return list(_columns(table))


def export(folder: str | Path) -> list[Path]:
    from synthscape.tables import export_row_schemas

    return export_row_schemas(folder, [*TABLES, SEARCH], json_schema)


if __name__ == "__main__":  # pragma: no cover
    for p in export(sys.argv[1] if len(sys.argv) > 1 else "data_schemas/autonomy"):
        print(p)

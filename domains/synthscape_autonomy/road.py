"""The road as a lane graph: authored in networkx, compiled to tensors for stepping.

Nodes are lanes (main-road lanes along +x, the crossing road's lanes along +/-y) and the
crosswalk; edges say ``left``/``right`` (lane changes allowed) and ``conflict`` (areas shared
with crossing traffic or pedestrians). The step uses only the compiled tensors: lane centre
offsets, neighbour indices (-1 where none) and the road edges.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import networkx as nx

from synthscape_autonomy.spec import RoadSpec


def lane_graph(road: RoadSpec) -> nx.DiGraph:
    """Author the lane graph of a road spec."""
    g = nx.DiGraph()
    w = road.lane_width
    dirs = road.directions or [1] * road.lanes
    for i in range(road.lanes):
        end = road.merge_end if (i == 0 and road.merge_end is not None) else road.length
        g.add_node(f"main/{i}", kind="lane", index=i, axis="x", center=(i + 0.5) * w, width=w,
                   start=0.0, end=end, heading=0.0 if dirs[i] > 0 else 180.0, direction=dirs[i])
    for i in range(road.lanes - 1):
        if dirs[i] == dirs[i + 1]:  # lane changes only between lanes of one direction
            g.add_edge(f"main/{i}", f"main/{i + 1}", relation="left")
            g.add_edge(f"main/{i + 1}", f"main/{i}", relation="right")
    if road.junction_x is not None:
        half = road.junction_width / 2
        for j, (name, heading, off) in enumerate((("cross/north", 90.0, 0.5),
                                                  ("cross/south", -90.0, -0.5))):
            g.add_node(name, kind="lane", index=road.lanes + j, axis="y",
                       center=road.junction_x + off * half, width=half, heading=heading,
                       start=-50.0, end=road.lanes * w + 50.0)
            for i in range(road.lanes):
                g.add_edge(name, f"main/{i}", relation="conflict")
    if road.crosswalk_x is not None:
        g.add_node("crosswalk", kind="crosswalk", center=road.crosswalk_x, width=4.0)
        for i in range(road.lanes):
            g.add_edge("crosswalk", f"main/{i}", relation="conflict")
    return g


@dataclass(frozen=True)
class RoadTensors:
    """Compiled main-road lanes: ``center[l]`` (y of lane l), ``left[l]``/``right[l]`` (-1 if
    none), road edges ``y_min``/``y_max`` and the lane width."""

    center: Any  # torch.Tensor (L,); torch is imported lazily
    left: Any
    right: Any
    lane_width: float
    y_min: float
    y_max: float
    n_lanes: int
    junction_x: float | None
    crosswalk_x: float | None
    direction: Any = None  # (L,) +1 along s, -1 oncoming
    two_way: bool = False
    merge_end: float | None = None  # lane 0 ends here (an on-ramp)
    frame: Any = None  # frame.RoadFrame of a curved road, None when straight
    curve_accel: float = 2.0  # m/s^2 lateral acceleration drivers accept in bends


def compile_road(g: nx.DiGraph, device, road: RoadSpec | None = None, points=None,
                 dtype=None) -> RoadTensors:
    """Tensors of the lane graph; with ``road``, also lane directions, the on-ramp's end and,
    when ``points`` (a curved reference polyline) are given, the road frame."""
    import torch

    from synthscape_autonomy.frame import resample

    lanes = sorted((d["index"], n, d) for n, d in g.nodes(data=True)
                   if d.get("kind") == "lane" and d["axis"] == "x")
    idx = {n: i for i, n, _ in lanes}
    left = [-1] * len(lanes)
    right = [-1] * len(lanes)
    for u, v, rel in g.edges(data="relation"):
        if u in idx and v in idx:
            if rel == "left":
                left[idx[u]] = idx[v]
            elif rel == "right":
                right[idx[u]] = idx[v]
    centers = [d["center"] for _, _, d in lanes]
    widths = [d["width"] for _, _, d in lanes]
    junction = [d["center"] for n, d in g.nodes(data=True) if n == "cross/north"]
    crosswalk = [d["center"] for n, d in g.nodes(data=True) if n == "crosswalk"]
    return RoadTensors(
        center=torch.tensor(centers, device=device),
        left=torch.tensor(left, device=device),
        right=torch.tensor(right, device=device),
        lane_width=float(widths[0]),
        y_min=centers[0] - widths[0] / 2,
        y_max=centers[-1] + widths[-1] / 2,
        n_lanes=len(lanes),
        junction_x=(junction[0] - g.nodes["cross/north"]["width"] / 2) if junction else None,
        crosswalk_x=crosswalk[0] if crosswalk else None,
        direction=torch.tensor([d.get("direction", 1) for _, _, d in lanes], device=device),
        two_way=any(d.get("direction", 1) < 0 for _, _, d in lanes),
        merge_end=road.merge_end if road is not None else None,
        frame=resample(points, device, dtype or torch.float32) if points is not None else None,
        curve_accel=road.curve_lateral_accel if road is not None else 2.0,
    )

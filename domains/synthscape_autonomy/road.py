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
    for i in range(road.lanes):
        g.add_node(f"main/{i}", kind="lane", index=i, axis="x", center=(i + 0.5) * w, width=w,
                   start=0.0, end=road.length, heading=0.0)
    for i in range(road.lanes - 1):
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


def compile_road(g: nx.DiGraph, device) -> RoadTensors:
    import torch

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
    )

"""The road's reference line and its lane frame (s along the line, d to its left).

Vehicles are simulated in the lane frame (the simulator's x is s, its y is d), which keeps
the batched (worlds, agents) design and the lane index unchanged on curved roads; the
reference line maps lane-frame states to world coordinates for the output and the sensor, and
gives the curvature that limits drivers' speeds in bends. The line is resampled every
``STEP`` metres, so a lookup is one gather.

Sources of a line: arcs and straights (``road.geometry``) or a chain of edges of a SUMO
network (``road.sumo_net``, read with sumolib).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

STEP = 1.0  # m between resampled points of the reference line


@dataclass(frozen=True)
class RoadFrame:
    """Resampled reference line: world position ``x``, ``y``, direction ``theta`` and signed
    curvature ``kappa`` at s = i * STEP (tensors of length n)."""

    x: Any
    y: Any
    theta: Any
    kappa: Any
    n: int

    def _index(self, s):
        import torch

        i = torch.clamp(s / STEP, 0, self.n - 1.001)
        k = i.floor()
        return k.long(), i - k

    def to_world(self, s, d):
        """World (x, y) and the direction of the line at lane-frame (s, d)."""
        import torch

        k, f = self._index(s)
        th = self.theta[k] + f * (self.theta[k + 1] - self.theta[k])
        x = self.x[k] + f * (self.x[k + 1] - self.x[k])
        y = self.y[k] + f * (self.y[k + 1] - self.y[k])
        return x - d * torch.sin(th), y + d * torch.cos(th), th

    def curvature(self, s):
        return self.kappa[self._index(s)[0]]


def polyline_of_segments(segments, length: float) -> np.ndarray:
    """(n, 2) points every STEP metres along straights and arcs from (0, 0) heading +x; the
    last segment is extended to ``length`` when the segments are shorter."""
    total = sum(seg.length for seg in segments)
    pieces = [(seg.length, seg.curvature) for seg in segments]
    if total < length:
        pieces.append((length - total, 0.0))
    pts, x, y, th = [(0.0, 0.0)], 0.0, 0.0, 0.0
    for seg_len, kappa in pieces:
        n = max(1, int(round(seg_len / STEP)))
        ds = seg_len / n
        for _ in range(n):
            if abs(kappa) < 1e-9:
                x, y = x + ds * math.cos(th), y + ds * math.sin(th)
            else:  # exact arc step
                nth = th + kappa * ds
                x += (math.sin(nth) - math.sin(th)) / kappa
                y -= (math.cos(nth) - math.cos(th)) / kappa
                th = nth
            pts.append((x, y))
    return np.asarray(pts)


def sumo_road(net_spec, base: Path | None = None) -> dict:
    """Read a chain of edges of a SUMO network with sumolib: the reference line (the right
    edge of the rightmost lane, from its centre-line shape), the number of lanes and their
    width, and the lane directions when ``opposite`` edges are given."""
    from synthscape.errors import SpecError

    try:
        import sumolib
    except ImportError as exc:  # pragma: no cover - an optional extra
        raise SpecError("road.sumo_net needs sumolib: pip install 'synthscape[sumo]'") from exc
    path = Path(net_spec.file)
    if not path.is_absolute() and base is not None:
        path = base / path
    if not path.exists():
        raise SpecError(f"road.sumo_net.file: {path} does not exist")
    net = sumolib.net.readNet(str(path), withInternal=False)

    def edge(eid):
        if not net.hasEdge(eid):
            raise SpecError(f"road.sumo_net: edge {eid!r} is not in {path.name}; edges are "
                            f"{sorted(e.getID() for e in net.getEdges())[:20]}")
        return net.getEdge(eid)

    chain = [edge(e) for e in net_spec.edges]
    lanes = chain[0].getLanes()
    width = float(lanes[0].getWidth())
    pts: list[tuple[float, float]] = []
    for e in chain:
        shape = e.getLanes()[0].getShape()
        pts += [p for p in shape
                if not pts or np.hypot(p[0] - pts[-1][0], p[1] - pts[-1][1]) > 1e-6]
    line = _offset(np.asarray(pts, dtype=float), -0.5 * width)  # lane 0 centre -> its right edge
    n_fwd = len(lanes)
    n_opp = len(edge(net_spec.opposite[0]).getLanes()) if net_spec.opposite else 0
    return {"points": line, "lanes": n_fwd + n_opp, "lane_width": width,
            "directions": [1] * n_fwd + [-1] * n_opp}


def opendrive_to_sumo(xodr: str | Path, out: str | Path, netconvert: str | None = None) -> Path:
    """Convert an OpenDRIVE file into a SUMO network for ``road.sumo_net`` with SUMO's
    netconvert (shipped by the eclipse-sumo wheel; it is not a dependency of this package):
    ``netconvert`` is its path, else it is looked up on PATH and in $SUMO_HOME/bin. The
    right-hand lanes of OpenDRIVE road ``r`` become SUMO edge ``-r`` (driving along the
    road's s), its left-hand lanes edge ``r`` (the ``opposite`` edge)."""
    import os
    import shutil
    import subprocess

    from synthscape.errors import SpecError

    home = os.environ.get("SUMO_HOME")
    exe = netconvert or shutil.which("netconvert") or (
        str(Path(home) / "bin" / "netconvert") if home else None)
    if not exe or not Path(exe).exists():
        raise SpecError("netconvert not found: install eclipse-sumo (pip install eclipse-sumo) "
                        "and pass its path, put it on PATH or set SUMO_HOME")
    out = Path(out)
    tmp = out.with_name(out.name + ".tmp.net.xml")
    r = subprocess.run([exe, "--opendrive-files", str(xodr), "-o", str(tmp)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise SpecError(f"netconvert could not read {xodr}: "
                        f"{(r.stderr.strip().splitlines() or ['failed'])[-1]}")
    tmp.replace(out)
    return out


def _offset(points: np.ndarray, d: float) -> np.ndarray:
    """Shift a polyline by ``d`` metres to its left (negative: right)."""
    t = np.gradient(points, axis=0)
    t /= np.linalg.norm(t, axis=1, keepdims=True).clip(min=1e-9)
    return points + d * np.stack((-t[:, 1], t[:, 0]), 1)


def resample(points: np.ndarray, device, dtype) -> RoadFrame:
    """The :class:`RoadFrame` of a polyline (any spacing): points every STEP metres of arc
    length, directions and curvatures by finite differences."""
    import torch

    seg = np.hypot(*np.diff(points, axis=0).T)
    s = np.concatenate(([0.0], np.cumsum(seg)))
    grid = np.arange(0.0, s[-1] + STEP, STEP)
    x, y = np.interp(grid, s, points[:, 0]), np.interp(grid, s, points[:, 1])
    theta = np.unwrap(np.arctan2(np.gradient(y), np.gradient(x)))
    kappa = np.gradient(theta) / STEP
    t = lambda a: torch.tensor(a, device=device, dtype=dtype)  # noqa: E731
    return RoadFrame(t(x), t(y), t(theta), t(kappa), len(grid))


def world_state(road, x, y, h):
    """World (x, y, heading) of lane-frame states (tensors); the same for a straight road."""
    if road.frame is None:
        return x, y, h
    wx, wy, th = road.frame.to_world(x, y)
    return wx, wy, h + th

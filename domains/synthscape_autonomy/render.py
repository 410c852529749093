"""Top-down rendering of an episode with matplotlib: PNG frames and a GIF (through Pillow).

A :class:`Painter` draws the road once and moves the agents' boxes frame by frame, following
the ego; ego red, parked/static grey, cars blue, trucks purple, pedestrians orange, cyclists
green; a black outline marks an agent in a collision.
"""
from __future__ import annotations

import io

import numpy as np

_COLORS = {"car": "#4c72b0", "truck": "#8172b2", "pedestrian": "#dd8452", "cyclist": "#55a868"}
_EGO, _STATIC, _HIT = "#c44e52", "#9a9a9a", "#000000"


def _box(x, y, h, length, width):
    c, s = np.cos(h), np.sin(h)
    pts = np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5]]) * [length, width]
    return np.c_[x + pts[:, 0] * c - pts[:, 1] * s, y + pts[:, 0] * s + pts[:, 1] * c]


class Painter:
    """Draws episode ``e`` of recorded arrays ``traj`` (E, T, A) on ``ax``; ``show(k)`` moves
    to step ``k``."""

    def __init__(self, ax, scene, traj: dict, e: int, labels: dict | None = None,
                 window: float = 100.0):
        from matplotlib.patches import Circle, Polygon, Rectangle

        self.ax, self.scene, self.traj, self.e, self.labels = ax, scene, traj, e, labels
        self.window = window
        r = scene.road
        xs = traj["x"][e]
        lo, hi = float(xs.min()) - window, float(xs.max()) + window
        ax.add_patch(Rectangle((lo, r.y_min), hi - lo, r.y_max - r.y_min, color="#e8e8e8",
                               zorder=0))
        for i in range(1, r.n_lanes):
            yy = r.y_min + i * r.lane_width
            ax.plot([lo, hi], [yy, yy], color="white", lw=1.2, ls=(0, (6, 6)), zorder=1)
        for yy in (r.y_min, r.y_max):
            ax.plot([lo, hi], [yy, yy], color="#555555", lw=1.5, zorder=1)
        if r.crosswalk_x is not None:
            for yy in np.arange(r.y_min, r.y_max, 0.9):
                ax.add_patch(Rectangle((r.crosswalk_x - 2, yy), 4, 0.45, color="white", zorder=1))
        if r.junction_x is not None:
            jw = scene.spec.road.junction_width
            ax.add_patch(Rectangle((r.junction_x - jw / 2, r.y_min - 40), jw,
                                   r.y_max - r.y_min + 80, color="#e8e8e8", zorder=0))
        self.patches = []
        for a, slot in enumerate(scene.slots):
            color = _EGO if a == 0 else (_STATIC if slot.controller == "static"
                                         else _COLORS[slot.type])
            p = Polygon(np.zeros((4, 2)), closed=True, fc=color, ec="white", lw=0.8, zorder=3)
            ax.add_patch(p)
            self.patches.append(p)
        # vulnerable road users are small at this scale: a ring marks them
        self.rings = {a: Circle((0, 0), 1.2, fc="none", ec=_COLORS[s.type], lw=1.5, zorder=4)
                      for a, s in enumerate(scene.slots) if s.type in ("pedestrian", "cyclist")}
        for ring in self.rings.values():
            ax.add_patch(ring)
        ys = traj["y"][e]  # show what comes near the road, up to 25 m beside it
        near = ys[(ys > r.y_min - 25) & (ys < r.y_max + 25)]
        ax.set_ylim(min(r.y_min - 6, float(near.min(initial=0.0)) - 3),
                    max(r.y_max + 6, float(near.max(initial=0.0)) + 3))
        ax.set_aspect("equal")
        ax.set_yticks([])
        ax.set_xlabel("x [m]")
        self.title = ax.set_title("", fontsize=9, loc="left")

    def show(self, k: int) -> None:
        tr, e = self.traj, self.e
        hit = tr.get("collided")
        for a, (p, slot) in enumerate(zip(self.patches, self.scene.slots)):
            p.set_xy(_box(tr["x"][e, k, a], tr["y"][e, k, a], tr["h"][e, k, a], slot.length,
                          slot.width))
            crashed = hit is not None and bool(hit[e, k, a])
            p.set_edgecolor(_HIT if crashed else "white")
            p.set_linewidth(2.0 if crashed else 0.8)
        for a, ring in self.rings.items():
            ring.center = (float(tr["x"][e, k, a]), float(tr["y"][e, k, a]))
        x0 = float(tr["x"][e, k, 0])
        self.ax.set_xlim(x0 - 0.15 * self.window, x0 + 0.85 * self.window)
        text = f"t = {(k + 1) * self.scene.spec.dt:4.1f} s   ego {tr['v'][e, k, 0] * 3.6:5.1f} km/h"
        if self.labels is not None:
            ttc = self.labels["ttc"][e, k]
            text += f"   TTC {ttc:4.1f} s" if np.isfinite(ttc) else "   TTC -"
            if self.labels["collision"][e, k]:
                text += "   COLLISION"
        self.title.set_text(text)


def frames_figure(scene, traj, labels, e: int, n: int, episode: int | None = None):
    """One figure with ``n`` frames of row ``e`` of ``traj`` stacked vertically, titled with
    its ``episode`` number (default ``e``: the rollout holds episodes 0, 1, ...)."""
    from synthscape.evaluation.figures import subplots

    T = traj["x"].shape[1]
    ks = np.linspace(0, T - 1, n).round().astype(int)
    fig, axes = subplots(n, 1, figsize=(10, 2.0 * n + 0.5), squeeze=False)
    for ax, k in zip(axes[:, 0], ks):
        Painter(ax, scene, traj, e, labels).show(int(k))
    fig.suptitle(f"{scene.spec.family}: episode {e if episode is None else episode} "
                 f"(ego red, static grey)", fontsize=10)
    fig.tight_layout()
    return fig


def snapshot(scene, traj, e: int = 0, k: int = 0) -> np.ndarray:
    """An RGB image (H, W, 3) of one step."""
    from synthscape.evaluation.figures import subplots

    fig, ax = subplots(figsize=(8, 2.4), dpi=80)
    Painter(ax, scene, traj, e).show(k)
    fig.tight_layout()
    fig.canvas.draw()
    img = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    return img


def gif_bytes(scene, traj, labels, e: int, stride: int = 4, fps: int = 10) -> bytes:
    """An animated GIF of episode ``e`` (every ``stride``-th step)."""
    from PIL import Image

    from synthscape.evaluation.figures import subplots

    fig, ax = subplots(figsize=(9, 2.4), dpi=80)
    painter = Painter(ax, scene, traj, e, labels)
    ax.xaxis.set_visible(False)  # ticks dominate the drawing time; the title carries the facts
    for side in ("top", "right", "bottom", "left"):
        ax.spines[side].set_visible(False)
    painter.show(0)
    fig.tight_layout()
    images = []
    T = traj["x"].shape[1]
    stride = max(stride, -(-T // 30))  # at most 30 frames
    for k in range(0, T, stride):
        painter.show(k)
        fig.canvas.draw()
        rgba = np.asarray(fig.canvas.buffer_rgba())
        images.append(Image.fromarray(rgba[..., :3]).convert("P", palette=Image.Palette.ADAPTIVE,
                                                                colors=64))
    buf = io.BytesIO()
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:],
                   duration=int(1000 / fps), loop=0)
    return buf.getvalue()

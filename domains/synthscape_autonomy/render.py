"""Top-down rendering of an episode with matplotlib: PNG frames and a GIF (through Pillow)."""
from __future__ import annotations

import io

import numpy as np

_COLORS = {"car": "#4c72b0", "truck": "#8172b2", "pedestrian": "#dd8452", "cyclist": "#55a868"}
_EGO, _STATIC, _HIT = "#c44e52", "#9a9a9a", "#000000"


def _box(x, y, h, length, width):
    c, s = np.cos(h), np.sin(h)
    pts = np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5]]) * [length, width]
    return np.c_[x + pts[:, 0] * c - pts[:, 1] * s, y + pts[:, 0] * s + pts[:, 1] * c]


def draw_frame(ax, scene, traj: dict, e: int, k: int, labels: dict | None = None,
               window: float = 100.0) -> None:
    """Draw step ``k`` of episode ``e`` (arrays from a recorded rollout) on ``ax``."""
    from matplotlib.patches import Polygon, Rectangle

    r = scene.road
    x0 = float(traj["x"][e, k, 0])
    lo, hi = x0 - 0.15 * window, x0 + 0.85 * window
    ax.add_patch(Rectangle((lo, r.y_min), hi - lo, r.y_max - r.y_min, color="#e8e8e8", zorder=0))
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
        ax.add_patch(Rectangle((r.junction_x - jw / 2, r.y_min - 40), jw, r.y_max - r.y_min + 80,
                               color="#e8e8e8", zorder=0))
    collided = traj.get("collided")
    for a, slot in enumerate(scene.slots):
        color = _EGO if a == 0 else (_STATIC if slot.controller == "static"
                                     else _COLORS[slot.type])
        hit = collided is not None and bool(collided[e, k, a])
        poly = _box(traj["x"][e, k, a], traj["y"][e, k, a], traj["h"][e, k, a], slot.length,
                    slot.width)
        ax.add_patch(Polygon(poly, closed=True, fc=color, ec=_HIT if hit else "white",
                             lw=2.0 if hit else 0.8, zorder=3))
    ax.set_xlim(lo, hi)
    ax.set_ylim(r.y_min - 6, r.y_max + 6)
    ax.set_aspect("equal")
    ax.set_yticks([])
    t = (k + 1) * scene.spec.dt
    text = f"t = {t:4.1f} s   ego {traj['v'][e, k, 0] * 3.6:5.1f} km/h"
    if labels is not None:
        ttc = labels["ttc"][e, k]
        text += f"   TTC {ttc:4.1f} s" if np.isfinite(ttc) else "   TTC -"
        if labels["collision"][e, k]:
            text += "   COLLISION"
    ax.set_title(text, fontsize=9, loc="left")
    ax.set_xlabel("x [m]")


def frames_figure(scene, traj, labels, e: int, n: int):
    """One figure with ``n`` frames of episode ``e`` stacked vertically."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    T = traj["x"].shape[1]
    ks = np.linspace(0, T - 1, n).round().astype(int)
    fig, axes = plt.subplots(n, 1, figsize=(10, 2.0 * n + 0.5), squeeze=False)
    for ax, k in zip(axes[:, 0], ks):
        draw_frame(ax, scene, traj, e, int(k), labels)
    fig.suptitle(f"{scene.spec.family}: episode {e} (ego red, static grey)", fontsize=10)
    fig.tight_layout()
    return fig


def gif_bytes(scene, traj, labels, e: int, stride: int = 4, fps: int = 10) -> bytes:
    """An animated GIF of episode ``e`` (every ``stride``-th step)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from PIL import Image

    images = []
    fig, ax = plt.subplots(figsize=(9, 2.4), dpi=80)
    for k in range(0, traj["x"].shape[1], stride):
        ax.clear()
        draw_frame(ax, scene, traj, e, k, labels)
        fig.tight_layout()
        fig.canvas.draw()
        rgba = np.asarray(fig.canvas.buffer_rgba())
        images.append(Image.fromarray(rgba[..., :3]).convert("P", palette=Image.ADAPTIVE,
                                                                colors=64))
    plt.close(fig)
    buf = io.BytesIO()
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:],
                   duration=int(1000 / fps), loop=0)
    return buf.getvalue()

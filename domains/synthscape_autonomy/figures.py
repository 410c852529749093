"""The report's figures for a driving run (matplotlib, imported lazily)."""
from __future__ import annotations

import numpy as np


def figure_episodes(spec, eps) -> list[int]:
    """The episodes drawn in frames: the render's episodes that ran, then the first failure."""
    ids = eps["episode"].to_numpy()
    have = set(ids.tolist())
    chosen = [int(e) for e in spec.render.episodes if e in have]
    fail = eps["failure"].to_numpy()
    if fail.any():  # also show the first failure
        first = int(ids[np.flatnonzero(fail)[0]])
        if first not in chosen:
            chosen.append(first)
    return chosen


def run_figures(scene, r, eps, ctx) -> list[str]:
    """Frames (and GIFs) of :func:`figure_episodes`, the TTC trace and the failure map. ``r``
    is a recorded rollout holding at least those episodes; ``eps`` the table of every episode
    of the run."""
    from synthscape.evaluation.figures import subplots
    from synthscape_autonomy.render import frames_figure, gif_bytes

    spec = scene.spec
    out = []
    ids = [d.episode for d in r.draws]
    chosen = figure_episodes(spec, eps)
    for e in chosen:
        i = ids.index(e)
        out.append(ctx.save_figure(f"episode_{e}_frames",
                                   frames_figure(scene, r.traj, r.steps, i, spec.render.frames,
                                                 episode=e)))
        if spec.render.gif:
            p = ctx.path(f"figures/episode_{e}.gif")
            p.write_bytes(gif_bytes(scene, r.traj, r.steps, i, spec.render.gif_stride))
    fig, axes = subplots(1, 2, figsize=(10, 3.4))
    T = r.steps["ttc"].shape[1]
    t = (np.arange(T) + 1) * spec.dt
    for e in chosen[:4]:
        i = ids.index(e)
        ttc = np.where(np.isfinite(r.steps["ttc"][i]), r.steps["ttc"][i], np.nan)
        axes[0].plot(t, ttc, label=f"episode {e}")
    axes[0].axhline(spec.labels.near_miss_ttc, color="k", ls="--", lw=1, label="near-miss TTC")
    axes[0].set(xlabel="t [s]", ylabel="ego TTC [s]", ylim=(0, 10), title="Time-to-collision")
    axes[0].legend(fontsize=7)
    _param_map(axes[1], scene, eps)
    fig.tight_layout()
    out.append(ctx.save_figure("ttc_and_failure_map", fig))
    return out


def _telling(scene, eps) -> list[str]:
    """Continuous parameters ordered by how far failures sit from the rest (in std units)."""
    fail = eps["failure"].to_numpy()
    names = list(scene.space.continuous)
    if not fail.any() or fail.all():
        return names
    def shift(k):
        v = eps[f"param_{k}"].to_numpy(dtype=float)
        return abs(v[fail].mean() - v[~fail].mean()) / (v.std() + 1e-12)
    return sorted(names, key=shift, reverse=True)


def _param_map(ax, scene, eps) -> None:
    cont = _telling(scene, eps)
    fail = eps["failure"].to_numpy()
    if len(cont) >= 2:
        x, y = eps[f"param_{cont[0]}"], eps[f"param_{cont[1]}"]
        ax.scatter(x[~fail], y[~fail], s=10, c="#4c72b0", label="no failure")
        ax.scatter(x[fail], y[fail], s=16, c="#c44e52", marker="x", label="failure")
        ax.set(xlabel=cont[0], ylabel=cont[1], title="Failures over sampled parameters")
        ax.legend(fontsize=7)
    else:
        v = eps["min_ttc"].dropna().clip(upper=15)
        ax.hist(v, bins=20, color="#4c72b0")
        ax.set(xlabel="episode minimum TTC [s] (clipped at 15)", ylabel="episodes",
               title="Minimum TTC per episode")


def search_figure(scene, res):
    from synthscape.evaluation.figures import subplots

    fig, axes = subplots(1, 2, figsize=(10, 3.6))
    rr = res["importance_sampling"]["rollout"]
    idx = {k: i for i, k in enumerate(scene.space.continuous)}
    shift = np.abs(res["proposal"].mean)  # the dimensions the search moved most
    cont = sorted(idx, key=lambda k: -shift[idx[k]])
    for label, key, c in (("Monte Carlo", "monte_carlo", "#4c72b0"),
                          ("CE proposal", "importance_sampling", "#dd8452")):
        rr = res[key]["rollout"]
        if len(cont) >= 2:
            z = np.stack([d.z for d in rr.draws])[:, [idx[cont[0]], idx[cont[1]]]]
            f = rr.episodes["failure"]
            axes[0].scatter(z[~f, 0], z[~f, 1], s=6, c=c, alpha=0.4, label=f"{label}")
            axes[0].scatter(z[f, 0], z[f, 1], s=14, c=c, marker="x", label=f"{label} failure")
    axes[0].set(xlabel=f"z({cont[0]})" if cont else "", ylabel=f"z({cont[1]})"
                if len(cont) > 1 else "", title="Samples in standard space (x = failure)")
    axes[0].legend(fontsize=7)
    mc, imp = res["monte_carlo"], res["importance_sampling"]
    names = ["Monte Carlo", "CE-IS"]
    est = [mc["estimate"], imp["estimate"]]
    lo = [mc["estimate"] - mc["ci_low"], imp["estimate"] - imp["ci_low"]]
    hi = [mc["ci_high"] - mc["estimate"], imp["ci_high"] - imp["estimate"]]
    axes[1].errorbar([0, 1], est, yerr=[lo, hi], fmt="o", capsize=6, color="#333333")
    axes[1].set_xticks([0, 1], names)
    axes[1].set(ylabel="failure rate", title="Estimates with 95% CIs", xlim=(-0.6, 1.6))
    axes[1].ticklabel_format(axis="y", style="sci", scilimits=(-3, 3))
    fig.tight_layout()
    return fig

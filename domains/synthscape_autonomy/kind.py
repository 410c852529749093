"""``kind: driving``: ``run_driving(spec, ctx)`` simulates a logical scenario into a labelled
dataset and a report; ``register()`` adds the kind.

Everything goes to the run's release folder: the kind reads no real data (it is registered
with ``reads_real_data=False``), so there is no internal evaluation and the release states that
no real data was read. Tables (release/data/*.parquet, one row schema per table in
release/schemas/<table>.json from schemas.py, also in data_schemas/autonomy/): ``trajectories``,
``step_labels``, ``episodes``; with ``search:`` also ``search_episodes``. Figures: top-down
frames and a GIF of the rendered episodes, the TTC trace, failure maps over the sampled
parameters.
"""
from __future__ import annotations

import math
from contextlib import ExitStack
from typing import Any

import numpy as np
import pandas as pd

from synthscape import compute
from synthscape_autonomy.junction import JUNCTION_COLUMNS
from synthscape_autonomy.physics import TYPE_NAMES


def _nan(a):
    a = np.asarray(a, dtype=float)
    return np.where(np.isfinite(a), a, np.nan)


def episode_table(scene, rollout, weights=None, sources=None) -> pd.DataFrame:
    from synthscape_autonomy.scenario import _val

    ep = rollout.episodes
    n = len(rollout.draws)
    env = scene.spec.environment
    df = pd.DataFrame({
        "episode": np.array([d.episode for d in rollout.draws], dtype=np.int64),
        "family": scene.spec.family,
        "source": sources if sources is not None else ["nominal"] * n,
        "weight": np.ones(n) if weights is None else np.asarray(weights, float),
        "collision": ep["collision"].astype(bool), "near_miss": ep["near_miss"].astype(bool),
        "failure": ep["failure"].astype(bool), "off_road": ep["off_road"].astype(bool),
        "min_ttc": _nan(ep["min_ttc"]), "min_ttc_long": _nan(ep["min_ttc_long"]),
        "min_thw": _nan(ep["min_thw"]), "max_drac": _nan(ep["max_drac"]),
        "drac_conflict": ep["drac_conflict"].astype(bool),
        "first_failure_time": _nan(ep["first_failure_time"]),
        "impact_speed": _nan(ep["impact_speed"]),
        "speed_reduction": ep["speed_reduction"].astype(float),
        "weather": [str(_val(env.weather, d.values)) for d in rollout.draws],
        "lighting": [str(_val(env.lighting, d.values)) for d in rollout.draws],
    })
    for k in JUNCTION_COLUMNS:  # signalised junctions (False / 0 elsewhere)
        df[k] = ep[k].astype(bool if ep[k].dtype == bool else np.int64)
    for name in scene.spec.parameters:
        vals = [d.values[name] for d in rollout.draws]
        df[f"param_{name}"] = vals if isinstance(vals[0], str) else np.asarray(vals, float)
    return df


def step_table(scene, rollout) -> pd.DataFrame:
    st = rollout.steps
    E, T = st["ttc"].shape
    t = (np.arange(T) + 1) * scene.spec.dt
    return pd.DataFrame({
        "episode": np.repeat([d.episode for d in rollout.draws], T).astype(np.int64),
        "t": np.tile(t, E).round(6),
        "ttc": _nan(st["ttc"]).ravel(), "ttc_long": _nan(st["ttc_long"]).ravel(),
        "thw": _nan(st["thw"]).ravel(), "drac": st["drac"].astype(float).ravel(),
        "drac_conflict": st["drac_conflict"].ravel(),
        "collision": st["collision"].ravel(), "near_miss": st["near_miss"].ravel(),
        "off_road": st["off_road"].ravel()})


def trajectory_table(scene, rollout) -> pd.DataFrame:
    tr = rollout.traj
    E, T, A = tr["x"].shape
    t = (np.arange(T) + 1) * scene.spec.dt
    types = [TYPE_NAMES[int(c)] for c in scene.type_code.cpu().tolist()]
    return pd.DataFrame({
        "episode": np.repeat([d.episode for d in rollout.draws], T * A).astype(np.int64),
        "t": np.tile(np.repeat(t, A), E).round(6),
        "agent": np.tile(np.arange(A), E * T).astype(np.int64),
        "name": np.tile(np.array(scene.names, dtype=object), E * T),
        "type": np.tile(np.array(types, dtype=object), E * T),
        "x": tr["x"].astype(float).ravel(), "y": tr["y"].astype(float).ravel(),
        "heading": tr["h"].astype(float).ravel(), "speed": tr["v"].astype(float).ravel(),
        "acceleration": tr["acc"].astype(float).ravel(),
        **_world_columns(scene, tr)})


def _world_columns(scene, tr) -> dict:
    """World coordinates of the lane-frame states (equal to them on a straight road)."""
    import torch

    from synthscape_autonomy.frame import world_state

    x, y, h = (torch.as_tensor(tr[k]) for k in ("x", "y", "h"))
    wx, wy, wh = world_state(scene.road, x.to(scene.dtype), y.to(scene.dtype), h.to(scene.dtype))
    return {"world_x": wx.numpy().astype(float).ravel(),
            "world_y": wy.numpy().astype(float).ravel(),
            "world_heading": wh.numpy().astype(float).ravel()}


def _episodes(scene, ctx):
    """Nominal draws, or (augment) a mixture of nominal and the search's proposal."""
    spec = scene.spec
    n = spec.episodes
    if spec.augment is None:
        return scene.draws(range(n)), None, None, {}
    from synthscape_autonomy.augment import mixture_draws

    return mixture_draws(scene, n, spec.augment.edge_share)


def run_driving(spec, ctx) -> None:
    """Run a driving scenario with ``spec.threads`` torch threads (restored afterwards)."""
    from synthscape.device import torch_threads

    with torch_threads(spec.threads):
        _run(spec, ctx)


def _run(spec, ctx) -> None:
    from synthscape.device import resolve_device
    from synthscape_autonomy import figures, schemas
    from synthscape_autonomy.rollout import n_steps, simulate
    from synthscape_autonomy.scenario import Scene

    scene = Scene(spec, resolve_device(spec.device))
    draws, weights, sources, aug_info = _episodes(scene, ctx)
    with ctx.step(f"simulating {len(draws)} episodes of {spec.family} "
                  f"({scene.n_agents} agents, {spec.duration:g} s)"):
        if compute.sharded(spec):
            eps, r = _sharded(scene, ctx, draws, weights, sources)
        else:
            r = simulate(scene, draws, record=True)
            eps = episode_table(scene, r, weights, sources)
            ctx.write_table("episodes", eps, schema=schemas.json_schema("episodes"))
            ctx.write_table("step_labels", step_table(scene, r),
                            schema=schemas.json_schema("step_labels"))
            ctx.write_table("trajectories", trajectory_table(scene, r),
                            schema=schemas.json_schema("trajectories"))
    w = eps["weight"].to_numpy()
    seconds = len(eps) * n_steps(spec) * spec.dt  # as Rollout.sim_seconds
    scores: dict[str, Any] = {
        "episodes": len(eps), "agents_per_episode": scene.n_agents,
        "simulated_seconds": round(seconds, 6),
        "vehicle_seconds": round(seconds * scene.n_agents, 6),
        "collision_rate": float(np.average(eps["collision"], weights=w)),
        "near_miss_rate": float(np.average(eps["near_miss"], weights=w)),
        "failure_rate": float(np.average(eps["failure"], weights=w)),
        "off_road_rate": float(np.average(eps["off_road"], weights=w)),
        "median_min_ttc": float(np.nanmedian(eps["min_ttc"])) if eps["min_ttc"].notna().any()
        else math.nan,
    }
    notes = [f"Family {spec.family}: {spec.description}".strip(),
             f"Failure = {spec.labels.failure.replace('_', ' ')} (near miss: TTC < "
             f"{spec.labels.near_miss_ttc:g} s). Rates are weighted by the importance weights.",
             f"Ego policy: {spec.ego.policy}."]
    if aug_info:
        scores.update({k: v for k, v in aug_info.items() if isinstance(v, (int, float))})
        notes.append("Augmented: edge cases drawn from the cross-entropy proposal; each "
                     "episode stores its weight p/q_mix so weighted statistics stay unbiased.")
    figs = figures.run_figures(scene, r, eps, ctx)
    ctx.report.add_section("driving", title=f"Driving scenario: {spec.family}", scores=scores,
                           tables={"failures (first 20)": eps[eps["failure"]].head(20)
                                   .replace({np.nan: None})},
                           figures=figs, notes=notes)
    if spec.search is not None:
        _search_section(scene, ctx)
    ctx.meta["autonomy"] = {"family": spec.family, "agents": scene.n_agents,
                            "steps_per_episode": int(round(spec.duration / spec.dt))}


def _sharded(scene, ctx, draws, weights, sources):
    """``data/<table>/part-<shard>.parquet`` for every table, simulated by the workers
    (:func:`synthscape_autonomy.sharded.run_shards`: the rows of one process, the same bytes
    for any number of workers); shards: ``execution.partitions`` (at most one per episode) or
    one per ``batch`` episodes. Returns the episode table and a recorded rollout of the
    episodes the figures draw (simulated again here: an episode depends only on its draw)."""
    from synthscape_autonomy import figures, schemas
    from synthscape_autonomy.rollout import simulate
    from synthscape_autonomy.sharded import default_shards, run_shards, shard_jobs

    spec, n = scene.spec, len(draws)
    asked = compute.partitions_of(spec)
    parts = default_shards(spec, n, None if asked is None else min(asked, max(n, 1)))
    mix = None if weights is None else (draws, weights, sources)
    with ExitStack() as stack:
        folders = {name: stack.enter_context(
            ctx.table_folder(name, schema=schemas.json_schema(name))) for name in schemas.TABLES}
        eps = run_shards(spec, folders, shard_jobs(n, parts, mix), keep=True)["table"]
    shown = figures.figure_episodes(spec, eps)
    return eps, simulate(scene, [draws[e] for e in shown], record=True)


def _search_section(scene, ctx) -> None:
    from synthscape_autonomy import figures, schemas
    from synthscape_autonomy.search import compare, summary

    res = compare(scene)
    s = summary(res)
    rows = []
    for m in ("monte_carlo", "importance_sampling"):
        rr = res[m]["rollout"]
        df = episode_table(scene, rr)
        df["method"] = m
        if m == "importance_sampling":
            df["weight"] = np.exp([d.log_weight for d in rr.draws])
        rows.append(df)
    ctx.write_table(schemas.SEARCH, pd.concat(rows, ignore_index=True),
                    schema=schemas.json_schema(schemas.SEARCH))
    fig = figures.search_figure(scene, res)
    rel = ctx.save_figure("search_failure_map", fig)
    ctx.report.add_section(
        "search", title="Edge-case search: Monte Carlo vs cross-entropy importance sampling",
        scores=s, figures=[rel],
        tables={"proposal (standard space)": [{"parameter": k, **v} if isinstance(v, dict) else
                                              {"parameter": k, "value": v} for k, v in
                                              res["proposal"].to_dict(scene.space).items()]},
        notes=["Importance-sampling estimate: mean of w * 1[failure] over a fresh sample from the "
               "final proposal (unbiased); CI from its standard error. Monte Carlo CI: Wilson.",
               "Acceleration with search cost: Monte Carlo episodes needed for the relative "
               "error importance sampling reached, over all episodes the search simulated.",
               *([] if s["ce_reached_failure"] else [
                   "WARNING: the last cross-entropy stage's elite level did not reach the "
                   "failure level, so the proposal may miss part of the failure region and the "
                   "importance-sampling interval may understate the rate; raise "
                   "search.ce_iterations or search.ce_episodes."])])


def register() -> None:
    """Add ``kind: driving`` (registering it again returns the same kind)."""
    from synthscape.scenarios import register_kind
    from synthscape_autonomy.spec import DrivingSpec

    register_kind("driving", DrivingSpec, run_driving,
                  "Simulate a logical driving scenario into labelled trajectories",
                  reads_real_data=False)

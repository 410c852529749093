"""Augmentation: oversample edge cases to a requested share of the episodes, unbiasedly.

Each episode comes from the nominal distribution p with probability 1 - s or from the
cross-entropy proposal q with probability s; its weight is p / ((1 - s) p + s q), the
mixture ("defensive") importance weight (Hesterberg 1995, Technometrics 37(2)), so weighted
statistics over the dataset estimate nominal ones. s is set from the failure shares the search
observed so that about ``edge_share`` of the episodes fail.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from synthscape_autonomy import _rng
from synthscape_autonomy.rollout import simulate
from synthscape_autonomy.scenario import Draw, Scene

PILOT_BASE = 30_000_000  # episode ids of the pilot run, apart from the search's


def mixture_draws(scene: Scene, n: int, edge_share: float):
    from synthscape_autonomy.search import cross_entropy

    spec = scene.spec
    if spec.search is None:
        from synthscape.errors import SpecError

        raise SpecError(f"scenario '{spec.name}': 'augment' needs a 'search' block (it learns "
                        f"the edge-case proposal with the cross-entropy search); "
                        f"add 'search: {{}}'")
    q, stages = cross_entropy(scene)
    pilot = simulate(scene, scene.draws(range(PILOT_BASE, PILOT_BASE + spec.search.ce_episodes),
                                        q))  # how often the final proposal fails
    share_q = float(pilot.episodes["failure"].mean())
    share_p = float(np.mean(np.concatenate([s["rollout"].episodes["failure"]
                                            for s in stages[:1]])))
    s = 1.0 if share_q <= share_p else float(np.clip((edge_share - share_p) /
                                                     (share_q - share_p), 0.0, 1.0))
    draws: list[Draw] = []
    weights, sources = [], []
    for e in range(n):
        u = _rng.episode_rng(spec.seed, spec.family, e, "mixture").random()
        d = scene.draw(e, q if u < s else None)
        lw_pq = scene.space.log_weight(d.z, d.idx, q)  # type: ignore[arg-type]  # log p/q
        weights.append(1.0 / ((1 - s) + s * np.exp(-lw_pq)))
        sources.append("edge_case" if u < s else "nominal")
        d.log_weight = float(np.log(weights[-1]))
        draws.append(d)
    info: dict[str, Any] = {"mixture_share_from_proposal": s,
                            "failing_share_under_proposal": share_q,
                            "requested_edge_share": edge_share}
    return draws, weights, sources, info

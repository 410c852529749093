"""Local-DP federation: every record is randomised before it leaves its site.

For contributors who are individuals rather than institutions: nobody, the site included, is
trusted with a record. Each record answers every marginal of a declared workload (and every
one-way marginal) by k-ary randomised response (:meth:`Site._ldp`); the coordinator debiases
the histogram of reports, ``c = (r - n q) / (p - q)`` with ``p = e^e / (e^e + k - 1)`` and
``q = 1 / (e^e + k - 1)``, whose per-cell variance is about ``n q (1 - q) / (p - q)^2``
(Wang et al. 2017, "Locally differentially private protocols for frequency estimation", Sec. 4),
and fits the same graphical model as the central protocol. The noise is far larger: compare
both side by side in docs/federated.md.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from synthscape.errors import ParameterError
from synthscape.federated.coordinator import FederatedFit, _Pool, finish
from synthscape.federated.transport import Transport, broadcast
from synthscape.generators._marginal_pgm import Measurement
from synthscape.schema import TableSchema
from synthscape.transforms.discretizer import Discretizer


def debias(reports: np.ndarray, eps: float) -> tuple[np.ndarray, float]:
    """Unbiased counts from a histogram of k-RR reports at ``eps``, and their per-cell std."""
    k = reports.size
    n = float(reports.sum())
    p = math.exp(eps) / (math.exp(eps) + k - 1)
    q = 1.0 / (math.exp(eps) + k - 1)
    return (reports - n * q) / (p - q), math.sqrt(max(n * q * (1 - q), 1e-12)) / (p - q)


def fit_local_dp(transport: Transport, schema: TableSchema, *,
                 workload: list[tuple[str, ...]], bins: int = 8, iters: int = 100,
                 seed: int | None = None, **_: object) -> FederatedFit:
    """Fit the ``aim`` model from k-RR reports of every one-way and ``workload`` marginal."""
    broadcast(transport, {"op": "setup", "schema": schema.to_dict(), "bins": bins})
    disc = Discretizer.fit(pd.DataFrame(), schema, bins=bins, method="uniform")
    names = disc.names
    unknown = [c for w in workload for c in w if c not in names]
    if unknown or not workload:
        raise ParameterError(f"local DP needs a workload of known columns; unknown: {unknown}, "
                             f"columns: {names}")
    d = len(names)
    cliques = [(j,) for j in range(d)] + [tuple(names.index(c) for c in w) for w in workload]
    answers = broadcast(transport, {"op": "ldp", "cliques": cliques})
    pool = _Pool(disc.sizes, iters)
    for i, cl in enumerate(cliques):
        parts = [debias(a["reports"][i], float(a["epsilon"])) for a in answers.values()]
        y = np.sum([c for c, _ in parts], axis=0)
        sigma = math.sqrt(sum(s * s for _, s in parts))
        pool.measurements.append(Measurement(cl, y, sigma))
    pool.refit(cliques[d:], 5 * iters)
    return finish(transport, pool.model, disc, schema, 1, seed=seed, local=True,
                  params=dict(bins=bins, iters=iters))

"""``mst``: McKenna, Miklau and Sheldon 2021, "Winning the NIST Contest" (J. Privacy and
Confidentiality 11(3)), Algorithm 1, in zCDP:

1. noisy one-way marginals (rho / 3, Gaussian);
2. a maximum spanning tree over the two-way marginals, chosen edge by edge with the exponential
   mechanism on the L1 gap between each true two-way marginal and the independent estimate from
   step 1 (sensitivity 1; rho / 3 over d - 1 rounds, each epsilon = sqrt(8 rho_round));
3. noisy two-way marginals on the tree edges (the remaining rho, Gaussian);
4. a consistent tree model: node marginals from inverse-variance weighted measurements projected
   onto the simplex, edge tables projected and fitted to those node marginals by iterative
   proportional fitting; P(x) = prod_edges P(x_a, x_b) / prod_nodes P(x_v)^(deg v - 1).

Sampling is ancestral and vectorised; ``conditions`` enter as evidence (one upward message pass,
then sampling from the exact posterior), so conditioned draws are exact, not rejected.
Everything after the measurements is post-processing of noisy statistics.
"""
from __future__ import annotations

from itertools import combinations
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from synthscape.errors import ParameterError
from synthscape.generators._marginal import (
    MarginalGenerator,
    project_simplex,
    sample_codes,
    sample_conditional,
    sigma_for,
    to_probs,
)
from synthscape.generators._params import Options
from synthscape.generators.registry import register
from synthscape.privacy.ledger import PrivacyLedger
from synthscape.privacy.mechanisms import exponential_mechanism
from synthscape.schema import TableSchema


def ipf(table: np.ndarray, row: np.ndarray, col: np.ndarray, iters: int = 200) -> np.ndarray:
    """Iterative proportional fitting of a positive table to the given margins (Deming and
    Stephan 1940)."""
    t = table.copy()
    for _ in range(iters):
        t *= (row / t.sum(axis=1))[:, None]
        t *= (col / t.sum(axis=0))[None, :]
        if np.abs(t.sum(axis=1) - row).max() <= 1e-9 * row.sum():
            break
    return t


@register("mst")
class MSTGenerator(MarginalGenerator):
    """Maximum-spanning-tree synthesizer (DP); see the module docstring for the algorithm.

    >>> from synthscape.generators import make
    >>> gen = make("mst", epsilon=1.0, delta=1e-6, seed=0)
    """

    name: ClassVar[str] = "mst"
    # The exponential-mechanism rounds need an accountant for pure-DP events under add/remove:
    # the RDP one (bounded range, Cesar and Rogers 2021); PLD and PRV do not take them here.
    _parameter_constraints: ClassVar[dict[str, list]] = {
        **MarginalGenerator._parameter_constraints, "accountant": [Options(("rdp",))]}

    # ---- fitting -----------------------------------------------------------------------
    def _fit(self, data: pd.DataFrame, schema: TableSchema, ledger: PrivacyLedger,
             rng: np.random.Generator) -> None:
        marg = self._marginals(data, schema, ledger)
        sizes = self.disc_.sizes
        names = self.disc_.names
        d = len(sizes)
        marg.prepare(list(combinations(range(d), 2)) if d > 1 else [(0,)])
        sigma1 = sigma_for(ledger.remaining_rho(1 / 3 if d > 1 else 1.0), d)
        y1 = [self._measure(marg.counts((j,)), sigma1, ledger,
                            f"one-way marginal of {names[j]}") for j in range(d)]
        edges: list[tuple[int, int]] = []
        y2: dict[tuple[int, int], np.ndarray] = {}
        sigma2 = 1.0
        if d > 1:
            edges = self._select_tree(marg, sizes, y1, ledger.remaining_rho(0.5), ledger)
            sigma2 = sigma_for(ledger.remaining_rho() * (1 - 1e-6), len(edges))
            for a, b in edges:
                y2[(a, b)] = self._measure(marg.counts((a, b)).astype(float), sigma2, ledger,
                                           f"two-way marginal of ({names[a]}, {names[b]})")
        self.tree_ = [(names[a], names[b]) for a, b in edges]
        self._estimate(sizes, y1, sigma1, y2, sigma2)

    def _select_tree(self, marg, sizes, y1, rho, ledger) -> list[tuple[int, int]]:
        d = len(sizes)
        n_hat = max(float(np.mean([y.sum() for y in y1])), 1.0)
        p = [to_probs(project_simplex(y, n_hat)) for y in y1]
        pairs = list(combinations(range(d), 2))
        score = np.array([np.abs(marg.counts((a, b)).astype(float)
                                 - n_hat * np.outer(p[a], p[b])).sum() for a, b in pairs])
        eps = float(np.sqrt(8 * rho / (d - 1)))  # epsilon-BR is eps^2/8-zCDP (Cesar, Rogers 2021)
        comp = list(range(d))

        def find(i: int) -> int:
            while comp[i] != i:
                comp[i] = comp[comp[i]]
                i = comp[i]
            return i

        chosen = []
        for r in range(d - 1):
            cand = [k for k, (a, b) in enumerate(pairs) if find(a) != find(b)]
            pick = cand[exponential_mechanism(score[cand], epsilon=eps, sensitivity=1.0,
                                              ledger=ledger,
                                              label=f"spanning-tree edge {r + 1} of {d - 1}")]
            a, b = pairs[pick]
            comp[find(a)] = find(b)
            chosen.append((a, b))
        return chosen

    def _estimate(self, sizes, y1, sigma1, y2, sigma2) -> None:
        """Consistent tree model from the noisy measurements (post-processing only)."""
        d = len(sizes)
        # total: inverse-variance weighted mean of every measurement's sum
        tots = [(y.sum(), sizes[j] * sigma1**2) for j, y in enumerate(y1)]
        tots += [(y.sum(), y.size * sigma2**2) for y in y2.values()]
        w = np.array([1 / v for _, v in tots])
        n_hat = max(float(np.dot(w, [t for t, _ in tots]) / w.sum()), 1.0)
        # node marginals: the one-way measurement and each incident edge's margin
        marg = []
        for j in range(d):
            est, wts = [y1[j]], [1 / sigma1**2]
            for (a, b), y in y2.items():
                if j in (a, b):
                    est.append(y.sum(axis=1 if j == a else 0))
                    wts.append(1 / (sizes[b if j == a else a] * sigma2**2))
            avg = np.average(np.stack(est), axis=0, weights=wts)
            marg.append(to_probs(project_simplex(avg, n_hat)))
        adj: dict[int, list[int]] = {j: [] for j in range(d)}
        for a, b in y2:
            adj[a].append(b)
            adj[b].append(a)
        order, parent, seen = [], [-1] * d, set()
        for start in range(d):  # BFS; a forest when d == 1
            if start in seen:
                continue
            queue = [start]
            seen.add(start)
            while queue:
                v = queue.pop(0)
                order.append(v)
                for u in sorted(adj[v]):
                    if u not in seen:
                        seen.add(u)
                        parent[u] = v
                        queue.append(u)
        tables: dict[int, np.ndarray] = {}
        for v in order:
            pa = parent[v]
            if pa < 0:
                tables[v] = marg[v]
                continue
            y = y2[(pa, v)] if (pa, v) in y2 else y2[(v, pa)].T
            joint = project_simplex(y, n_hat).reshape(y.shape) / n_hat
            joint = joint + 1e-6 * np.outer(marg[pa], marg[v])
            joint = ipf(joint, marg[pa], marg[v])
            tables[v] = joint / joint.sum(axis=1, keepdims=True)  # P(x_v | x_parent)
        self.order_, self.parent_, self.tables_ = order, parent, tables

    # ---- sampling ----------------------------------------------------------------------
    def _sample(self, n: int, rng: np.random.Generator, conditions: dict[str, Any]) -> pd.DataFrame:
        d = len(self.order_)
        beta = [np.ones(len(self.tables_[v]) if self.parent_[v] < 0 else self.tables_[v].shape[1])
                for v in range(d)]
        for j, code in self._codes_of(conditions).items():
            ev = np.zeros_like(beta[j])
            ev[code] = 1.0
            beta[j] = ev
        for v in reversed(self.order_):  # upward pass: children precede parents in reverse BFS
            pa = self.parent_[v]
            if pa >= 0:
                msg = self.tables_[v] @ beta[v]
                beta[pa] = beta[pa] * msg / max(msg.max(), 1e-300)
        codes = np.empty((n, d), dtype=np.int64, order="F")
        for v in self.order_:
            pa = self.parent_[v]
            if pa < 0:
                post = self.tables_[v] * beta[v]
                if post.sum() <= 0:
                    raise ParameterError(f"the model gives probability 0 to conditions "
                                         f"{conditions}; relax them")
                codes[:, v] = sample_codes(post / post.sum(), n, rng)
            else:
                codes[:, v] = sample_conditional(self.tables_[v] * beta[v][None, :],
                                                 codes[:, pa], rng)
        return self.disc_.decode(codes, rng)

    # ---- persistence -------------------------------------------------------------------
    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        state, arrays = self._disc_state()
        arrays.update({f"table_{v}": t for v, t in self.tables_.items()})
        return {"disc": state, "order": self.order_, "parent": self.parent_,
                "tree": [list(e) for e in self.tree_]}, arrays

    def _set_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self._set_disc_state(state, arrays)
        self.order_ = [int(v) for v in state["order"]]
        self.parent_ = [int(v) for v in state["parent"]]
        self.tree_ = [tuple(e) for e in state["tree"]]
        self.tables_ = {v: arrays[f"table_{v}"] for v in self.order_}

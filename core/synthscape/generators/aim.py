"""``aim``: McKenna, Mullins, Sheldon and Miklau 2022, "AIM: An Adaptive and Iterative Mechanism
for Differentially Private Synthetic Data" (PVLDB 15(11)), Algorithm 1, in zCDP.

Workload: every two-way marginal (``degree=3``: every three-way one). Candidates: the workload's
downward closure. After noisy one-way marginals, each round picks the worst-approximated
candidate with the exponential mechanism (score ``w_r (||M_r(D) - M_r(model)||_1 -
sqrt(2/pi) sigma n_r)``, sensitivity ``max w_r``), measures it with Gaussian noise, re-estimates the
graphical model (mirror descent, warm-started: ``_marginal_pgm``) and halves sigma when the new
measurement barely moved the model (Sec. 4.3, budget annealing). Candidates whose junction tree
(``mbi``'s, the method author's library: an optional extra) would outgrow ``max_model_size`` MB,
scaled by the budget used so far, are skipped.

``coarsen`` (default on): after the one-way measurements, adjacent bins of each numerical column
are merged until each holds about ten noise sds of rows (``_coarsen``: post-processing of the
noisy one-way marginals). Without it, at small budgets the noise penalty of AIM's score made every
pair with a 32-bin column lose to tiny categorical pairs, and whether the pair carrying the
target's signal was measured became a lottery (TSTR/TRTR 0.68 +- 0.27 over 8 seeds on
ISLR/Default at epsilon 0.5; 0.98 +- 0.02 with it: docs/benchmarks/suite.md).

After fitting, sampling needs only numpy: the model's junction-tree marginals become one
conditional table per column in reverse elimination order. Conditions use rejection sampling
(a clear error when the model almost never meets them).
"""
from __future__ import annotations

import math
from itertools import combinations
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from synthscape.errors import require
from synthscape.generators._coarsen import coarsen as coarsen_numerical
from synthscape.generators._marginal import MarginalGenerator, sample_codes, sample_conditional
from synthscape.generators._marginal_pgm import CliqueModel, Measurement, estimate_total
from synthscape.generators._params import BOOL, NONE, Interval, Options
from synthscape.generators.registry import register
from synthscape.privacy.ledger import PrivacyLedger
from synthscape.privacy.mechanisms import exponential_mechanism
from synthscape.schema import TableSchema

_ALPHA = 0.9  # share of each round's rho for measuring (AIM, Sec. 4)


def _mbi():
    jax = require("jax", "aim", "the 'aim' generator")
    jax.config.update("jax_enable_x64", True)  # mbi needs float64 for stable estimation
    import warnings

    with warnings.catch_warnings():  # mbi's advice on JAX's compilation cache, at its import
        warnings.filterwarnings("ignore", message="JAX persistent compilation cache")
        return require("mbi", "aim", "the 'aim' generator")


@register("aim")
class AIMGenerator(MarginalGenerator):
    """Adaptive and iterative marginal selection with a graphical model (DP).

    >>> from synthscape.generators import make
    >>> gen = make("aim", epsilon=1.0, seed=0)   # needs: pip install 'synthscape[aim]'
    """

    name: ClassVar[str] = "aim"
    _parameter_constraints: ClassVar[dict[str, list]] = {
        **MarginalGenerator._parameter_constraints,
        "accountant": [Options(("rdp",))],  # exponential-mechanism rounds: see mst.py
        "degree": [Options((2, 3))],
        "rounds": [Interval(int, 1, None, closed="left"), NONE],
        "max_model_size": [Interval(float, 0, None, closed="neither")],
        "iters": [Interval(int, 1, None, closed="left")],
        "coarsen": [BOOL],
    }

    def __init__(self, epsilon: float | None = 1.0, delta: float = 1e-6, *, degree: int = 2,
                 rounds: int | None = None, max_model_size: float = 80.0, iters: int = 100,
                 bins: int = 32, binning: str = "uniform", binning_share: float = 0.1,
                 accountant: str = "rdp", out_of_bounds: str = "error",
                 schema_share: float = 0.1, coarsen: bool = True, seed: int | None = None):
        super().__init__(epsilon, delta, bins=bins, binning=binning, binning_share=binning_share,
                         accountant=accountant, out_of_bounds=out_of_bounds,
                         schema_share=schema_share, seed=seed)
        self.degree = degree
        self.rounds = rounds
        self.max_model_size = max_model_size
        self.iters = iters
        self.coarsen = coarsen

    @classmethod
    def _conformance_params(cls) -> dict[str, Any]:
        return {"rounds": 6, "iters": 50, "bins": 8}

    # ---- fitting -----------------------------------------------------------------------
    def _fit(self, data: pd.DataFrame, schema: TableSchema, ledger: PrivacyLedger,
             rng: np.random.Generator) -> None:
        mbi = _mbi()
        marg = self._marginals(data, schema, ledger)
        names = self.disc_.names
        d = len(names)
        marg.prepare(combinations(range(d), min(self.degree, d)))
        rho = ledger.remaining_rho() * (1 - 1e-6)
        rounds = self.rounds or 16 * d
        if rounds <= d:  # the d one-way measurements alone take d / rounds of rho / alpha
            from synthscape.errors import ParameterError

            raise ParameterError(f"aim: rounds={rounds} must exceed the number of modelled "
                                 f"columns ({d}); leave rounds unset for AIM's 16 x columns")
        sigma = math.sqrt(rounds / (2 * _ALPHA * rho))
        eps = math.sqrt(8 * (1 - _ALPHA) * rho / rounds)
        ys = [self._measure(marg.counts((j,)).astype(float), sigma, ledger,
                            f"one-way marginal of {names[j]}") for j in range(d)]
        used = d * 0.5 / sigma**2
        if self.coarsen:  # resolution fitted to the noise (_coarsen.py): post-processing
            fine = self.disc_
            self.disc_, codes, ys, sds = coarsen_numerical(fine, marg.codes, ys, sigma, self.bins)
            marg = marg.recoded(codes, fine, self.disc_)
        else:
            sds = [np.full(y.size, sigma) for y in ys]
        sizes = self.disc_.sizes
        domain = mbi.Domain(names, sizes)
        measurements = [Measurement((j,), y, sd) for j, (y, sd) in enumerate(zip(ys, sds))]
        workload = list(combinations(range(d), min(self.degree, d)))
        cands = {c: sum(len(set(c) & set(w)) for w in workload)
                 for w in workload for k in range(1, len(w) + 1) for c in combinations(w, k)}

        def answer(cl: tuple) -> np.ndarray:
            return marg.counts(cl).ravel().astype(float)

        def size_mb(cliques) -> float:
            return mbi.junction_tree.hypothetical_model_size(
                domain, [tuple(names[a] for a in c) for c in cliques])

        model = CliqueModel(sizes, [(j,) for j in range(d)], total=estimate_total(measurements))
        model.fit(measurements, self.iters)
        done, r = d == 1, 0
        while not done:
            r += 1
            left = rho - used
            if left < 2 * (0.5 / sigma**2 + eps**2 / 8):  # the last round takes what is left
                sigma = math.sqrt(1 / (2 * _ALPHA * left))
                eps = math.sqrt(8 * (1 - _ALPHA) * left)
                done = True
            limit = self.max_model_size * (used + 0.5 / sigma**2 + eps**2 / 8) / rho
            small = [c for c in cands if size_mb([*model.cliques, c]) <= limit]
            if not small:  # nothing more fits the model-size limit: stop, leaving budget unspent
                break
            used += 0.5 / sigma**2 + eps**2 / 8
            args = model._operands(model.theta)
            score = [cands[c] * (np.abs(answer(c) - model.marginal(c, args=args).ravel()).sum()
                                 - math.sqrt(2 / math.pi) * sigma * answer(c).size) for c in small]
            pick = small[exponential_mechanism(
                score, epsilon=eps, sensitivity=float(max(cands[c] for c in small)),
                ledger=ledger, label=f"AIM round {r} selection")]
            label = "(" + ", ".join(names[a] for a in pick) + ")"
            y = self._measure(answer(pick), sigma, ledger, f"AIM round {r}: marginal of {label}")
            measurements.append(Measurement(pick, y, sigma))
            before = model.marginal(pick)
            model = CliqueModel(sizes, [*model.cliques, pick], model.theta,
                                total=estimate_total(measurements)).fit(measurements, self.iters)
            if np.abs(model.marginal(pick) - before).sum() <= \
                    math.sqrt(2 / math.pi) * sigma * y.size:  # annealing (AIM, Sec. 4.3)
                sigma, eps = sigma / 2, eps * 2
        model.fit(measurements, 5 * self.iters)
        self.cliques_ = [[names[a] for a in c] for c in model.cliques]
        self._plan(mbi, model, domain)

    # Hidden columns sampled with the others and dropped from the output: (name, size) pairs
    # after the discretizer's columns. Federated aim models the site of each record this way
    # (synthscape.federated.coordinator); a central fit has none.
    latent_: list[tuple[str, int]] = []

    def _names_sizes(self) -> tuple[list[str], list[int]]:
        return ([*self.disc_.names, *(n for n, _ in self.latent_)],
                [*self.disc_.sizes, *(k for _, k in self.latent_)])

    def _plan(self, mbi, model: CliqueModel, domain) -> None:
        """One conditional table per column, in reverse elimination order of a junction tree."""
        names = self._names_sizes()[0]
        jtree, elim = mbi.junction_tree.make_junction_tree(domain,
                                                           [tuple(c) for c in self.cliques_])
        maximal = [set(c) for c in jtree.nodes]
        args = model._operands(model.theta)
        self.order_, self.parents_, self.tables_ = [], [], []
        used: set[str] = set()
        for c in elim[::-1]:
            near = set().union(*[m for m in maximal if c in m]) & used
            parents = [names.index(n) for n in names if n in near]
            table = model.marginal((*parents, names.index(c)), args=args) / model.total
            self.order_.append(names.index(c))
            self.parents_.append(parents)
            self.tables_.append(table.reshape(-1, domain[c]))
            used.add(c)

    # ---- sampling ----------------------------------------------------------------------
    def _draw(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        sizes = self._names_sizes()[1]
        codes = np.zeros((n, len(sizes)), dtype=np.int64, order="F")
        for v, parents, table in zip(self.order_, self.parents_, self.tables_):
            if not parents:
                codes[:, v] = sample_codes(table[0] / max(table[0].sum(), 1e-300), n, rng)
            else:
                idx = np.ravel_multi_index([codes[:, p] for p in parents],
                                           [sizes[p] for p in parents])
                codes[:, v] = sample_conditional(table, idx, rng)
        return self.disc_.decode(codes[:, :len(self.disc_.sizes)], rng)

    def _sample(self, n: int, rng: np.random.Generator, conditions: dict[str, Any]) -> pd.DataFrame:
        return self._sample_by_rejection(n, rng, conditions, self._draw)

    # ---- persistence -------------------------------------------------------------------
    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        state, arrays = self._disc_state()
        arrays.update({f"table_{i}": t for i, t in enumerate(self.tables_)})
        return {"disc": state, "order": self.order_, "parents": self.parents_,
                "cliques": self.cliques_, "latent": [list(x) for x in self.latent_]}, arrays

    def _set_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self._set_disc_state(state, arrays)
        self.order_ = [int(v) for v in state["order"]]
        self.parents_ = [[int(p) for p in ps] for ps in state["parents"]]
        self.cliques_ = [list(c) for c in state["cliques"]]
        self.latent_ = [(str(n), int(k)) for n, k in state.get("latent", [])]
        self.tables_ = [arrays[f"table_{i}"] for i in range(len(self.order_))]

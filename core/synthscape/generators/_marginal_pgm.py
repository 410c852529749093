"""A small graphical model over discretised columns, estimated from noisy marginals.

Mirror descent in the log-potentials (McKenna, Sheldon, Miklau 2019, "Graphical-model based
estimation and inference for differential privacy", Alg. 1, with Armijo step sizes as in mbi)
on the loss sum_m ||mu_{c_m} - y_m||^2 / (2 sigma_m^2). Marginals are exact: the factors
exp(theta_c) are contracted on a cached ``opt_einsum`` contraction (variable elimination,
Koller and Friedman 2009, Alg. 9.1). Plain numpy, no compilation per clique set, so AIM's many
small re-estimations stay cheap.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Measurement:
    """A noisy marginal ``y`` (flattened) of the columns ``clique`` with noise std ``sigma``
    (one for every cell, or one per cell: merged cells of a coarsened measurement)."""

    clique: tuple[int, ...]
    y: np.ndarray
    sigma: float | np.ndarray

    @property
    def var(self) -> np.ndarray:
        """Per-cell noise variance, shaped like ``y``."""
        return np.broadcast_to(np.asarray(self.sigma, float) ** 2, self.y.shape)


class CliqueModel:
    """P(x) proportional to exp(sum_c theta_c(x_c)) over integer columns of sizes ``sizes``."""

    def __init__(self, sizes: list[int], cliques: list[tuple[int, ...]],
                 theta: dict[tuple[int, ...], np.ndarray] | None = None, total: float = 1.0):
        self.sizes = list(sizes)
        given = [tuple(sorted(c)) for c in dict.fromkeys(cliques)]
        # potentials live on the maximal cliques only; a sub-clique's potential is folded in
        self.cliques = [c for c in given if not any(set(c) < set(o) for o in given)]
        theta = theta or {}
        self.theta = {c: np.zeros([self.sizes[a] for a in c]) for c in self.cliques}
        for c, t in theta.items():
            p = self.parent(c)
            self.theta[p] = self.theta[p] + _expand(np.asarray(t, float), c, p)
        self.total = float(total)
        self._paths: dict[tuple, Any] = {}  # opt_einsum expressions

    def parent(self, clique: tuple[int, ...]) -> tuple[int, ...]:
        """The first maximal clique that contains ``clique``."""
        return next(c for c in self.cliques if set(clique) <= set(c))

    # ---- inference ---------------------------------------------------------------------
    def _operands(self, theta) -> list[np.ndarray]:
        ops = [np.exp(theta[c] - theta[c].max()) for c in self.cliques]
        return ops + [np.ones(self.sizes[a]) for a in self._uncovered()]

    def _uncovered(self) -> list[int]:
        covered = {a for c in self.cliques for a in c}
        return [a for a in range(len(self.sizes)) if a not in covered]

    def marginal(self, query: tuple[int, ...], theta=None, args=None) -> np.ndarray:
        """Marginal of ``query`` (axes in the given order), summing to ``total``."""
        import opt_einsum  # installed with jax, part of the aim extra

        args = self._operands(theta or self.theta) if args is None else args
        key = tuple(query)
        if key not in self._paths:  # a reusable contraction for this query
            sym = opt_einsum.get_symbol
            terms = [c for c in self.cliques] + [(a,) for a in self._uncovered()]
            eq = ",".join("".join(sym(a) for a in t) for t in terms) + "->" + \
                "".join(sym(a) for a in key)
            self._paths[key] = opt_einsum.contract_expression(eq, *[a.shape for a in args])
        out = self._paths[key](*args)
        return out / out.sum() * self.total

    def marginals(self, theta) -> dict[tuple[int, ...], np.ndarray]:
        args = self._operands(theta)
        return {c: self.marginal(c, args=args) for c in self.cliques}

    # ---- estimation --------------------------------------------------------------------
    def fit(self, measurements: list[Measurement], iters: int) -> CliqueModel:
        """Mirror descent from the current potentials (warm start)."""
        def loss_grad(mu):
            loss, grad = 0.0, {c: np.zeros_like(m) for c, m in mu.items()}
            for m, p in zip(measurements, parents):
                r = _project(mu[p], p, m.clique).ravel() - m.y
                loss += 0.5 * float(np.sum(r * r / m.var))
                grad[p] += _expand((r / m.var).reshape([self.sizes[a] for a in m.clique]),
                                   m.clique, p)
            return loss, grad

        parents = [self.parent(tuple(sorted(m.clique))) for m in measurements]
        lipschitz = sum(1.0 / float(m.var.min()) for m in measurements)
        alpha = 2.0 / (lipschitz * self.total)
        theta = self.theta
        mu = self.marginals(theta)
        loss, grad = loss_grad(mu)
        for _ in range(iters):
            theta2 = {c: theta[c] - alpha * grad[c] for c in self.cliques}
            mu2 = self.marginals(theta2)
            loss2, grad2 = loss_grad(mu2)
            gain = sum(float(np.sum(grad[c] * (mu[c] - mu2[c]))) for c in self.cliques)
            if loss - loss2 >= 0.5 * alpha * gain:
                theta, mu, loss, grad = theta2, mu2, loss2, grad2
                alpha *= 1.01
            else:
                alpha *= 0.5
        self.theta = theta
        return self


def estimate_total(measurements: list[Measurement]) -> float:
    """Inverse-variance weighted mean of the measurements' sums (at least 1)."""
    w = np.array([1.0 / float(m.var.sum()) for m in measurements])
    s = np.array([m.y.sum() for m in measurements])
    return max(float(w @ s / w.sum()), 1.0)


def _project(mu: np.ndarray, clique: tuple[int, ...], sub: tuple[int, ...]) -> np.ndarray:
    """Sum ``mu`` (axes ``clique``, sorted) down to the axes ``sub`` in ``sub``'s order."""
    keep = [a for a in clique if a in sub]
    out = mu.sum(axis=tuple(i for i, a in enumerate(clique) if a not in sub))
    return np.transpose(out, [keep.index(a) for a in sub])


def _expand(t: np.ndarray, sub: tuple[int, ...], clique: tuple[int, ...]) -> np.ndarray:
    """Broadcast ``t`` (axes ``sub``) to the axes of ``clique`` (sorted)."""
    order = sorted(sub)
    t = np.transpose(t, [list(sub).index(a) for a in order])
    shape = [t.shape[order.index(a)] if a in sub else 1 for a in clique]
    return t.reshape(shape)

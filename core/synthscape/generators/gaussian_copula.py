"""``gaussian_copula``: a NON-PRIVATE baseline (Sklar 1959; the Gaussian copula as in
Patki et al. 2016, "The Synthetic Data Vault", Sec. 4.1).

Each column is mapped to a standard normal score through its empirical CDF (numerical and
datetime: a stored quantile grid; discrete columns, missing values included: the midpoint of the
value's CDF interval, spread uniformly inside it), the scores' correlation matrix is estimated,
and sampling inverts the marginals of correlated normal draws. It reads the data without any
privacy protection: its ledger says epsilon = infinity and every report says "not private".
Conditions are met by rejection sampling.
"""
from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from synthscape.generators._params import Interval
from synthscape.generators.base import Generator
from synthscape.generators.registry import register
from synthscape.privacy.ledger import PrivacyLedger
from synthscape.schema import TableSchema
from synthscape.transforms.discretizer import column_as_float

_EPS = 1e-6


@register("gaussian_copula")
class GaussianCopulaGenerator(Generator):
    """Non-private Gaussian copula baseline; fit reads the data for free (epsilon = inf).

    >>> from synthscape.generators import make
    >>> gen = make("gaussian_copula", seed=0)
    """

    name: ClassVar[str] = "gaussian_copula"
    private: ClassVar[bool] = False
    _parameter_constraints: ClassVar[dict[str, list]] = {
        "n_quantiles": [Interval(int, 2, 100_000, closed="both")],
    }

    def __init__(self, *, n_quantiles: int = 1000, out_of_bounds: str = "error",
                 seed: int | None = None):
        self.n_quantiles = n_quantiles
        self.out_of_bounds = out_of_bounds
        self.seed = seed

    def _fit(self, data: pd.DataFrame, schema: TableSchema, ledger: PrivacyLedger,
             rng: np.random.Generator) -> None:
        cols = schema.modelled()
        self.names_ = [c.name for c in cols]
        self.kinds_ = [c.kind for c in cols]
        self.values_: list[list | None] = []
        self.params_: dict[str, np.ndarray] = {}
        n = len(data)
        z = np.empty((n, len(cols)))
        grid = np.linspace(0, 1, self.n_quantiles)
        for j, c in enumerate(cols):
            s = data[c.name]
            miss = s.isna().to_numpy()
            self.params_[f"null_{j}"] = np.array([miss.mean()])
            if c.kind in ("numerical", "datetime"):
                x = column_as_float(c.kind, s)
                obs = x[~miss]
                q = np.quantile(obs, grid) if obs.size else np.full(len(grid), c.bounds[0])
                self.params_[f"quantiles_{j}"] = q
                u = np.interp(np.nan_to_num(x, nan=q[0]), q, grid)
                u = np.where(miss, rng.random(n), u)
                self.values_.append(None)
            else:
                values = list(c.values)
                lookup = {v: i for i, v in enumerate(values)}
                code = np.array([len(values) if pd.isna(v) else lookup[v] for v in s])
                freq = np.bincount(code, minlength=len(values) + 1) / n
                cdf = np.concatenate([[0.0], np.cumsum(freq)])
                self.params_[f"cdf_{j}"] = cdf
                u = cdf[code] + rng.random(n) * freq[code]
                self.values_.append(values)
            z[:, j] = ndtri(np.clip(u, _EPS, 1 - _EPS))
        corr = np.corrcoef(z, rowvar=False) if len(cols) > 1 else np.ones((1, 1))
        corr = np.nan_to_num(np.atleast_2d(corr), nan=0.0)
        np.fill_diagonal(corr, 1.0)
        w, v = np.linalg.eigh(corr)  # keep it positive definite
        self.params_["chol"] = np.linalg.cholesky((v * np.maximum(w, 1e-6)) @ v.T)

    def _draw(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        d = len(self.names_)
        u = ndtr(rng.standard_normal((n, d)) @ self.params_["chol"].T)
        grid = None
        out = {}
        for j, name in enumerate(self.names_):
            if self.values_[j] is None:
                q = self.params_[f"quantiles_{j}"]
                grid = np.linspace(0, 1, len(q)) if grid is None or len(grid) != len(q) else grid
                x = np.interp(u[:, j], grid, q)
                miss = rng.random(n) < self.params_[f"null_{j}"][0]
                out[name] = np.where(miss, np.nan, x)
            else:
                cdf = self.params_[f"cdf_{j}"]
                code = np.clip(np.searchsorted(cdf, u[:, j], side="right") - 1, 0, len(cdf) - 2)
                vals = np.array([*(self.values_[j] or ()), None], dtype=object)
                out[name] = vals[code]
        return pd.DataFrame(out, columns=self.names_)

    def _sample(self, n: int, rng: np.random.Generator, conditions: dict[str, Any]) -> pd.DataFrame:
        return self._sample_by_rejection(n, rng, conditions, self._draw)

    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {"names": self.names_, "kinds": self.kinds_, "values": self.values_}, \
            dict(self.params_)

    def _set_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.names_, self.kinds_ = list(state["names"]), list(state["kinds"])
        self.values_ = [None if v is None else list(v) for v in state["values"]]
        self.params_ = dict(arrays)

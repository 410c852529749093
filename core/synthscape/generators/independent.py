"""``independent``: DP one-way marginals, columns sampled independently.

Every column's histogram (bins from the schema, missing values as their own code) is measured
once with the Gaussian mechanism; the zCDP budget is split evenly across columns. It keeps each
column's distribution and none of the dependencies: the baseline the other generators must beat.
"""
from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from synthscape.generators._marginal import (
    MarginalGenerator,
    project_simplex,
    sample_codes,
    sigma_for,
    to_probs,
)
from synthscape.generators.registry import register
from synthscape.privacy.ledger import PrivacyLedger
from synthscape.schema import TableSchema


@register("independent")
class IndependentGenerator(MarginalGenerator):
    """DP one-way marginals (Gaussian noise, zCDP split evenly); columns independent.

    >>> from synthscape.generators import make
    >>> gen = make("independent", epsilon=1.0, seed=0)
    """

    name: ClassVar[str] = "independent"

    def _fit(self, data: pd.DataFrame, schema: TableSchema, ledger: PrivacyLedger,
             rng: np.random.Generator) -> None:
        marg = self._marginals(data, schema, ledger)
        sizes = self.disc_.sizes
        marg.prepare([(j,) for j in range(len(sizes))])
        sigma = sigma_for(ledger.remaining_rho(), len(sizes))
        self.marginals_ = []
        for j, name in enumerate(self.disc_.names):
            noisy = self._measure(marg.counts((j,)), sigma, ledger,
                                  f"one-way marginal of {name}")
            self.marginals_.append(to_probs(project_simplex(noisy, max(noisy.sum(), 1.0))))

    def _sample(self, n: int, rng: np.random.Generator, conditions: dict[str, Any]) -> pd.DataFrame:
        fixed = self._codes_of(conditions)
        codes = np.empty((n, len(self.marginals_)), dtype=np.int64, order="F")
        for j, p in enumerate(self.marginals_):
            codes[:, j] = fixed[j] if j in fixed else sample_codes(p, n, rng)
        return self.disc_.decode(codes, rng)

    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        state, arrays = self._disc_state()
        arrays.update({f"marginal_{j}": p for j, p in enumerate(self.marginals_)})
        return {"disc": state}, arrays

    def _set_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self._set_disc_state(state, arrays)
        self.marginals_ = [arrays[f"marginal_{j}"] for j in range(len(self.disc_.columns))]

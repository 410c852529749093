"""One-way marginal calibration of a neural generator's samples to DP counts (paid in the ledger).

Why: a DP-SGD generator learns the joint structure slowly and its one-way marginals drift: at
the defaults on real tables dp_ctgan's synthetic target rate was 0.81 against 0.55, and columns
were off by 0.1-0.5 in total variation. The noisy gradient signal of one column's frequencies
is small against the clipping noise, and the GAN objective gives it no special weight.

What: at fit time, the encoder releases one noisy histogram per modelled column (numerical and
datetime: 20 equal-width bins over the declared bounds; categorical and boolean: their values; a
missing-value cell for nullable columns) with one Gaussian event (``TabularEncoder``: each record
adds one count to one cell of every column, so the L2 sensitivity of all of them together is
sqrt(columns)); the same release shapes the quantile encoding and CTGAN's condition frequencies,
so it is paid once. The noisy counts are projected onto the simplex (least squares,
non-negative: Duchi et al. 2008) to give target frequencies. At sampling, ``OVERSAMPLE`` times the
rows are drawn from the generator and weighted by raking (iterative proportional fitting,
Deming and Stephan 1940) so that every column's weighted histogram matches its target; ``n``
rows are then drawn by systematic resampling. The weights are the minimum-KL change of the
generator's distribution that meets the targets, so the dependence the generator learned is kept
within each cell. Raking cannot put mass in bins the generator (nearly) never emits, so each
numerical column is then mapped onto its target by quantiles (``quantile_map``: the value at
rank r becomes the target's quantile at r), which keeps the order of the values and so every
rank dependence. Sampling is post-processing of released quantities: it costs nothing more.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthscape.generators._marginal import project_simplex
from synthscape.transforms.discretizer import ColumnBins, Discretizer

OVERSAMPLE = 4
RAKING_ITERS = 30
MAX_WEIGHT = 30.0  # relative to the mean: bounds how few generated rows one target cell leans on


class MarginalCalibration:
    """Target one-way frequencies (DP) and the binning that reads them off a frame."""

    def __init__(self, disc: Discretizer, targets: list[np.ndarray],
                 integer: tuple[str, ...] = (), map_numerical: bool = True):
        self.disc = disc
        self.targets = targets
        self.integer = integer  # columns rounded on output: read after the same rounding
        self.map_numerical = map_numerical

    @classmethod
    def from_encoder(cls, enc) -> MarginalCalibration:
        """Targets from a fitted ``TabularEncoder`` whose release covers every modelled column
        (its ``hists_``: ``_HIST_BINS`` bins over the bounds plus a missing bin per numerical
        column, one cell per value plus a missing one per nullable discrete column)."""
        from synthscape.transforms.tabular_encoder import grid

        cols, targets = [], []
        integer = tuple(c.name for c in enc.columns if c.kind == "numerical" and c.integer)
        for c in enc.columns:
            h = np.asarray(enc.hists_[c.name], float)
            if c.kind in ("numerical", "datetime"):
                edges = grid(c, enc.hist_bins)
                k = len(edges) - 1
                h = h if c.nullable else h[:k]
                cols.append(ColumnBins(c.name, c.kind, c.nullable, edges=edges))
            else:
                cols.append(ColumnBins(c.name, c.kind, c.nullable, values=tuple(c.values)))
            total = max(float(h.sum()), 1.0)
            targets.append(project_simplex(h, total) / total)
        return cls(Discretizer(cols), targets, integer)

    # ---- sampling ------------------------------------------------------------------------
    def weights(self, frame: pd.DataFrame) -> np.ndarray:
        """Raking weights (mean 1, in [1 / ``MAX_WEIGHT``, ``MAX_WEIGHT``]) that bring
        ``frame``'s one-way histograms to the targets."""
        if self.integer:
            frame = frame.assign(**{c: np.round(pd.to_numeric(frame[c])) for c in self.integer})
        codes = self.disc.encode(frame)
        m = len(frame)
        w = np.ones(m)
        # discrete columns last in each sweep: their margins are met exactly after it, while a
        # numerical one the weights cannot reach is then fixed by ``quantile_map``
        order = sorted(range(len(self.targets)),
                       key=lambda j: self.disc.columns[j].values is not None)
        for _ in range(RAKING_ITERS):
            for j in order:
                have = np.bincount(codes[:, j], weights=w,
                                   minlength=len(self.targets[j])).astype(float)
                have = have / max(have.sum(), 1e-300)
                ratio = np.where(have > 0, self.targets[j] / np.maximum(have, 1e-300), 1.0)
                w *= ratio[codes[:, j]]
                w *= m / max(w.sum(), 1e-300)
            np.clip(w, 1.0 / MAX_WEIGHT, MAX_WEIGHT, out=w)  # no row weighted out entirely
        return w

    def resample(self, frame: pd.DataFrame, n: int, rng: np.random.Generator) -> pd.DataFrame:
        """``n`` rows of ``frame`` drawn in proportion to the raking weights (systematic
        resampling, then shuffled), numerical columns then mapped onto their targets
        (:meth:`quantile_map`)."""
        w = self.weights(frame)
        cdf = np.cumsum(w)
        idx = np.searchsorted(cdf / cdf[-1], (rng.random() + np.arange(n)) / n, side="right")
        idx = np.minimum(idx, len(frame) - 1)
        out = frame.iloc[rng.permutation(idx)].reset_index(drop=True)
        return self.quantile_map(out, rng) if self.map_numerical else out

    def quantile_map(self, frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        """Each numerical column's non-missing values replaced by the target distribution's
        quantiles at their ranks (ties broken at random): the one-way histogram then equals
        the DP target and the order of the values, hence every rank dependence the generator
        learned, is kept. Raking alone cannot move mass into bins the generator (nearly) never
        emits; this can. Values are uniform within a target bin (the targets' resolution)."""
        out = frame.copy()
        for j, c in enumerate(self.disc.columns):
            if c.kind != "numerical" or c.edges is None:
                continue
            x = np.array(pd.to_numeric(out[c.name], errors="coerce"), dtype=float)
            ok = ~np.isnan(x)
            m, k = int(ok.sum()), len(c.edges) - 1
            t = np.clip(np.asarray(self.targets[j][:k], float), 0, None)
            if m == 0 or t.sum() <= 0:
                continue
            cdf = np.concatenate([[0.0], np.cumsum(t / t.sum())])
            order = np.lexsort((rng.random(m), x[ok]))
            u = np.empty(m)
            u[order] = (np.arange(m) + 0.5) / m
            b = np.clip(np.searchsorted(cdf, u, side="right") - 1, 0, k - 1)
            while np.any(t[b] <= 0):  # a u on an empty bin's edge: the next bin with mass
                b = np.where(t[b] <= 0, np.minimum(b + 1, k - 1), b)
                if np.all(t[b] <= 0):
                    break
            pos = np.clip((u - cdf[b]) / np.maximum(t[b] / t.sum(), 1e-300), 0, 1)
            y = c.edges[b] + pos * (c.edges[b + 1] - c.edges[b])
            if c.name in self.integer:  # the integers inside the bin (rounding would spill)
                lo = np.ceil(c.edges[b])
                hi = np.where(b == k - 1, np.floor(c.edges[b + 1]), np.ceil(c.edges[b + 1]) - 1)
                pick = lo + np.floor(pos * (hi - lo + 1))
                y = np.where(hi >= lo, np.minimum(pick, hi), np.round(y))
                y = np.clip(y, np.ceil(c.edges[0]), np.floor(c.edges[-1]))
            x[ok] = y
            out[c.name] = x
        return out

    # ---- persistence ---------------------------------------------------------------------
    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        state, arrays = self.disc.get_state(prefix="calib")
        state["integer"] = list(self.integer)
        arrays.update({f"calib_target_{j}": t for j, t in enumerate(self.targets)})
        return state, arrays

    @classmethod
    def from_state(cls, state: dict[str, Any], arrays: dict[str, np.ndarray]
                   ) -> MarginalCalibration:
        disc = Discretizer.from_state(state, arrays, prefix="calib")
        return cls(disc, [arrays[f"calib_target_{j}"] for j in range(len(disc.columns))],
                   tuple(state.get("integer", ())))

"""Reversible encoding of a table for neural generators, driven by the schema.

- numerical / datetime: ``"minmax"`` scales the schema's bounds to [-1, 1] (free: bounds are
  declared); ``"modes"`` is CTGAN's mode-specific normalisation (Xu et al. 2019, Sec. 4.2) with
  the modes fitted to a *DP histogram* on the schema bounds (a Gaussian release in the ledger);
  ``"quantile"`` maps a value through the CDF of that DP histogram (piecewise linear) to [-1, 1],
  so a column crowded into a corner of its declared bounds (a skewed lab value, a price) spreads
  over the whole range the network outputs, instead of asking tanh to saturate.
- categorical / boolean: one-hot over the declared values (a missing value is one more slot).
- nullable numerical columns get a two-way [present, missing] indicator.

Category frequencies for CTGAN's training-by-sampling come from the same DP release: every
record adds one count to one bin of every column, so the L2 sensitivity of all the histograms
together is sqrt(number of columns) and one Gaussian event pays for them all.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from synthscape.errors import BudgetExceededError, ParameterError
from synthscape.privacy import PrivacyLedger
from synthscape.privacy.mechanisms import gaussian_mechanism
from synthscape.schema import TableSchema

_HIST_BINS = 50
_QUANTILE_BINS = 20
NUMERICAL = ("minmax", "modes", "quantile")
_CDF_FLOOR = 1e-3  # share of a column's mass spread evenly, so the CDF is strictly increasing
_MIN_MODE_WEIGHT = 0.01


@dataclass(frozen=True)
class Span:
    """Columns ``start:end`` of the encoded matrix: one continuous value or one softmax group."""

    column: str
    role: str  # "value" (tanh scalar), "mode", "category", "null" (softmax groups)
    start: int
    end: int

    @property
    def is_softmax(self) -> bool:
        return self.role != "value"


class TabularEncoder:
    """Schema-driven encoder; ``fit`` spends at most one Gaussian event in the ledger.

    >>> enc = TabularEncoder(schema, numerical="modes").fit(df, ledger=ledger, noise_multiplier=4.0)
    >>> x = enc.transform(df); back = enc.inverse(x)
    """

    def __init__(self, schema: TableSchema, *, numerical: str = "minmax", n_modes: int = 5,
                 frequencies: bool = False, all_columns: bool = False):
        if numerical not in NUMERICAL:
            raise ParameterError(f"numerical encoding must be one of {NUMERICAL}, got "
                                 f"{numerical!r}")
        if not (isinstance(n_modes, int) and 1 <= n_modes <= 20):
            raise ParameterError(f"n_modes must be an int in [1, 20], got {n_modes!r}")
        self.schema = schema
        self.numerical = numerical
        self.n_modes = n_modes
        self.frequencies = frequencies
        self.all_columns = all_columns  # release every column's histogram (for calibration)
        # bins per numerical histogram: fine for fitting modes; coarse (less noise per bin)
        # for the quantile CDF and one-way calibration targets
        self.hist_bins = _HIST_BINS if numerical == "modes" else _QUANTILE_BINS
        self.columns = schema.modelled()

    # ---- fitting -------------------------------------------------------------------------
    @property
    def needs_budget(self) -> bool:
        return self.frequencies or self.all_columns or (self.numerical != "minmax" and any(
            c.kind in ("numerical", "datetime") for c in self.columns))

    def fit(self, data: pd.DataFrame, *, ledger: PrivacyLedger,
            noise_multiplier: float | None = None) -> TabularEncoder:
        """Release the DP histograms this encoding needs (if any), then build the layout.

        ``noise_multiplier`` is the Gaussian noise of the release relative to its sensitivity
        (see ``calibrate``); a ledger without a budget uses exact counts (the ledger already says
        the run is not private)."""
        if self.needs_budget:
            return self.fit_released(self._noisy_histograms(data, ledger, noise_multiplier))
        return self.fit_released({})

    def fit_released(self, noisy: dict[str, np.ndarray]) -> TabularEncoder:
        """Build the encoding from already released noisy histograms, one per column of
        ``released()`` (post-processing only: no data, no ledger). ``fit`` calls it with its
        own release; a federation calls it with the sum of the sites' releases."""
        missing = [c.name for c in self.released() if c.name not in noisy]
        if missing:
            raise ParameterError(f"no released histogram for column(s) {missing}")
        self.modes_: dict[str, list[tuple[float, float]]] = {}
        self.freqs_: dict[str, np.ndarray] = {}
        self.cdfs_: dict[str, np.ndarray] = {}
        self.hists_: dict[str, np.ndarray] = {  # the noisy release, before post-processing
            c.name: np.asarray(noisy[c.name], float) for c in self.released()}
        if self.hists_:
            # Post-processing: non-negative, at least a little mass everywhere.
            hists = {k: np.maximum(v, 0.0) + 1e-3 for k, v in self.hists_.items()}
            for c in self.released():
                h = hists[c.name]
                if c.kind in ("numerical", "datetime") and self.numerical == "modes":
                    self.modes_[c.name] = _fit_modes(h[:_HIST_BINS], c.bounds, self.n_modes)
                elif c.kind in ("numerical", "datetime"):
                    self.cdfs_[c.name] = _cdf(h[:self.hist_bins])
                else:
                    self.freqs_[c.name] = h / h.sum()
        self._layout()
        return self

    @staticmethod
    def calibrate(ledger: PrivacyLedger, share: float) -> float:
        """Noise multiplier whose release takes about ``share`` of the remaining epsilon
        (5% bisection on the ledger's own accountant; never above the share)."""
        from synthscape.privacy import GaussianEvent
        from synthscape.privacy.analysis.calibration import bisect_decreasing

        target = ledger.epsilon + share * ledger.remaining_epsilon

        def cost(sigma: float) -> float:
            return ledger.cost_with(GaussianEvent(noise_multiplier=sigma, label="encoder"))

        hi = 1.0
        while cost(hi) > target:
            hi *= 4
            if hi > 1e6:
                raise BudgetExceededError(f"no noise level fits {share:.0%} of the remaining "
                                          f"budget ({ledger.describe()})")
        return bisect_decreasing(cost, target, hi / 4, hi, rel_tol=0.05)

    def released(self) -> list:
        """The columns whose histograms this encoding uses (and only those are released: each
        one more would raise the sensitivity, hence the noise, of all the others)."""
        numeric = ("numerical", "datetime")
        return [c for c in self.columns
                if self.all_columns
                or (c.kind in numeric and self.numerical != "minmax")
                or (c.kind not in numeric and self.frequencies)]

    def _noisy_histograms(self, data, ledger, sigma) -> dict[str, np.ndarray]:
        exact = {c.name: self._histogram(data[c.name], c) for c in self.released()}
        if ledger.budget is None:
            noisy = exact
        else:
            if sigma is None or not sigma > 0:
                raise ParameterError("a DP encoder fit needs noise_multiplier > 0 "
                                     "(see TabularEncoder.calibrate)")
            flat = np.concatenate(list(exact.values()))
            released = gaussian_mechanism(flat, noise_multiplier=sigma,
                                          sensitivity=math.sqrt(len(exact)), ledger=ledger,
                                          label="encoder histograms")
            noisy, i = {}, 0
            for name, h in exact.items():
                noisy[name] = released[i:i + len(h)]
                i += len(h)
        return noisy

    def _histogram(self, s: pd.Series, c) -> np.ndarray:
        """One count per record per column: bins (+ a missing bin) or values (+ missing)."""
        if c.kind in ("numerical", "datetime"):
            x = _as_float(s, c)
            lo, hi = c.bounds
            k = self.hist_bins
            codes = np.clip(((x - lo) / (hi - lo) * k), 0, k - 1)
            codes = np.where(np.isnan(x), k, np.nan_to_num(codes)).astype(int)
            return np.bincount(codes, minlength=k + 1).astype(float)
        return np.bincount(self._category_codes(s, c), minlength=self._n_slots(c)).astype(float)

    # ---- layout --------------------------------------------------------------------------
    def _n_slots(self, c) -> int:
        return len(c.values) + (1 if c.nullable else 0)

    def _category_codes(self, s: pd.Series, c) -> np.ndarray:
        lookup = {v: i for i, v in enumerate(c.values)}
        missing = len(c.values)
        codes = np.array([missing if _isna(v) else lookup[v] for v in s], dtype=np.int64)
        if not c.nullable and (codes == missing).any():
            raise ParameterError(f"column {c.name!r} has missing values but is not nullable")
        return codes

    def _layout(self) -> None:
        spans, pos = [], 0

        def add(name, role, width):
            nonlocal pos
            spans.append(Span(name, role, pos, pos + width))
            pos += width

        for c in self.columns:
            if c.kind in ("numerical", "datetime"):
                add(c.name, "value", 1)
                if self.numerical == "modes":
                    add(c.name, "mode", len(self.modes_[c.name]))
                if c.nullable:
                    add(c.name, "null", 2)
            else:
                add(c.name, "category", self._n_slots(c))
        self.spans = spans
        self.output_dim = pos

    @property
    def discrete_spans(self) -> list[Span]:
        """The categorical/boolean groups (the ones a conditional vector can fix)."""
        return [s for s in self.spans if s.role == "category"]

    def slot(self, column: str, value: Any) -> int:
        """Index inside the column's category group of ``value``."""
        c = self.schema[column]
        return len(c.values) if _isna(value) else list(c.values).index(value)

    # ---- transform -----------------------------------------------------------------------
    def transform(self, data: pd.DataFrame) -> np.ndarray:
        out = np.zeros((len(data), self.output_dim), dtype=np.float32)
        spans = {(s.column, s.role): s for s in self.spans}
        rows = np.arange(len(data))
        for c in self.columns:
            s = data[c.name]
            if c.kind in ("numerical", "datetime"):
                x = _as_float(s, c)
                miss = np.isnan(x)
                v = spans[(c.name, "value")].start
                if self.numerical == "modes":
                    k, alpha = _assign_modes(np.nan_to_num(x, nan=c.bounds[0]),
                                             self.modes_[c.name])
                    out[rows, spans[(c.name, "mode")].start + k] = 1.0
                    out[:, v] = np.where(miss, 0.0, alpha)
                elif self.numerical == "quantile":
                    u = np.interp(x, grid(c, self.hist_bins), self.cdfs_[c.name])
                    out[:, v] = np.where(miss, 0.0, 2 * u - 1)
                else:
                    lo, hi = c.bounds
                    out[:, v] = np.where(miss, 0.0, np.clip(2 * (x - lo) / (hi - lo) - 1, -1, 1))
                if c.nullable:
                    out[rows, spans[(c.name, "null")].start + miss.astype(int)] = 1.0
            else:
                out[rows, spans[(c.name, "category")].start + self._category_codes(s, c)] = 1.0
        return out

    def inverse(self, x: np.ndarray) -> pd.DataFrame:
        """Activated outputs (tanh values, softmax or one-hot groups) back to a table in the
        generators' encoded-native form (numerical/datetime as floats)."""
        x = np.asarray(x, dtype=np.float64)
        spans = {(s.column, s.role): s for s in self.spans}
        out: dict[str, Any] = {}
        for c in self.columns:
            if c.kind in ("numerical", "datetime"):
                lo, hi = c.bounds
                a = np.clip(x[:, spans[(c.name, "value")].start], -1, 1)
                if self.numerical == "modes":
                    sp = spans[(c.name, "mode")]
                    k = x[:, sp.start:sp.end].argmax(axis=1)
                    mu = np.array([m for m, _ in self.modes_[c.name]])[k]
                    sd = np.array([s for _, s in self.modes_[c.name]])[k]
                    v = a * 4 * sd + mu
                elif self.numerical == "quantile":
                    v = np.interp((a + 1) / 2, self.cdfs_[c.name], grid(c, self.hist_bins))
                else:
                    v = (a + 1) / 2 * (hi - lo) + lo
                v = np.clip(v, lo, hi)
                if c.nullable:
                    sp = spans[(c.name, "null")]
                    v = np.where(x[:, sp.start + 1] > x[:, sp.start], np.nan, v)
                out[c.name] = v
            else:
                sp = spans[(c.name, "category")]
                codes = x[:, sp.start:sp.end].argmax(axis=1)
                values = np.array(list(c.values) + [None], dtype=object)
                out[c.name] = values[codes]
        return pd.DataFrame(out)

    # ---- persistence ---------------------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        return {"numerical": self.numerical, "n_modes": self.n_modes,
                "frequencies": self.frequencies, "all_columns": self.all_columns,
                "modes": {k: [list(m) for m in v] for k, v in self.modes_.items()},
                "freqs": {k: v.tolist() for k, v in self.freqs_.items()},
                "cdfs": {k: v.tolist() for k, v in self.cdfs_.items()},
                "spans": [asdict(s) for s in self.spans]}

    @classmethod
    def from_state(cls, schema: TableSchema, state: dict[str, Any]) -> TabularEncoder:
        enc = cls(schema, numerical=state["numerical"], n_modes=state["n_modes"],
                  frequencies=state["frequencies"], all_columns=state.get("all_columns", False))
        enc.modes_ = {k: [tuple(m) for m in v] for k, v in state["modes"].items()}
        enc.freqs_ = {k: np.asarray(v, float) for k, v in state["freqs"].items()}
        enc.cdfs_ = {k: np.asarray(v, float) for k, v in state.get("cdfs", {}).items()}
        enc._layout()
        return enc


def _isna(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA or v is pd.NaT


def _as_float(s: pd.Series, c) -> np.ndarray:
    if c.kind == "datetime":
        ts = pd.to_datetime(s)  # resolution-independent seconds since the epoch
        return (ts - pd.Timestamp(0)).dt.total_seconds().to_numpy(float)
    return pd.to_numeric(s, errors="coerce").to_numpy(float)


def grid(c, bins: int) -> np.ndarray:
    """The edges of a histogram's ``bins`` equal bins over ``c``'s declared bounds."""
    return np.linspace(c.bounds[0], c.bounds[1], bins + 1)


def _cdf(hist: np.ndarray) -> np.ndarray:
    """CDF at the bin edges of a noisy histogram: simplex projection (least squares, so noise
    puts no mass in empty bins), plus a floor that keeps it strictly increasing (invertible)."""
    from synthscape.generators._marginal import project_simplex

    p = project_simplex(hist, max(float(np.sum(hist)), 1.0))
    p = p / max(p.sum(), 1e-300)
    p = (1 - _CDF_FLOOR) * p + _CDF_FLOOR / len(p)
    return np.concatenate([[0.0], np.cumsum(p)])


def _fit_modes(hist: np.ndarray, bounds: tuple[float, float], k: int,
               iters: int = 100) -> list[tuple[float, float]]:
    """Weighted 1-D Gaussian mixture (EM) on the histogram's bin centres; modes below 1% of
    the mass are dropped. Post-processing of the DP histogram: no further privacy cost."""
    lo, hi = bounds
    width = (hi - lo) / len(hist)
    centres = lo + (np.arange(len(hist)) + 0.5) * width
    w = hist / hist.sum()
    cdf = np.cumsum(w)
    mu = np.interp((np.arange(k) + 0.5) / k, cdf, centres)
    sd = np.full(k, (hi - lo) / (2 * k))
    pi = np.full(k, 1.0 / k)
    floor = width / 2
    for _ in range(iters):
        logp = (-0.5 * ((centres[:, None] - mu) / sd) ** 2 - np.log(sd) + np.log(pi + 1e-300))
        logp -= logp.max(axis=1, keepdims=True)
        r = np.exp(logp)
        r /= r.sum(axis=1, keepdims=True)
        rw = r * w[:, None]
        nk = rw.sum(axis=0) + 1e-12
        pi = nk / nk.sum()
        mu = (rw * centres[:, None]).sum(axis=0) / nk
        sd = np.sqrt((rw * (centres[:, None] - mu) ** 2).sum(axis=0) / nk + floor**2)
    keep = pi >= _MIN_MODE_WEIGHT
    if not keep.any():
        keep = pi == pi.max()
    order = np.argsort(mu[keep])
    return [(float(m), float(s)) for m, s in zip(mu[keep][order], sd[keep][order])]


def _assign_modes(x: np.ndarray, modes: list[tuple[float, float]]):
    """Most likely mode of each value and its normalised offset in [-1, 1] (4 sigma)."""
    mu = np.array([m for m, _ in modes])
    sd = np.array([s for _, s in modes])
    z = (x[:, None] - mu) / sd
    k = np.argmin(np.abs(z), axis=1)
    alpha = np.clip(z[np.arange(len(x)), k] / 4, -1, 1)
    return k, alpha

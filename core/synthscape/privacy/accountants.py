"""Accountants interpret a sequence of events as one (epsilon, delta) guarantee.

- ``rdp`` (default): Renyi DP over every event kind; DP-SGD steps use opacus' RDP analysis of the
  Poisson-subsampled Gaussian (Mironov, Talwar, Zhang 2019).
- ``pld``: Google's dp-accounting privacy-loss distributions (tighter for many compositions);
  ledgers with exponential-mechanism or bare zCDP events are accounted with RDP as a whole.
- ``prv``: opacus' PRV accountant (Gopi, Lee, Wutschitz 2021) for Gaussian and DP-SGD events.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from synthscape.errors import OptionalDependencyError, ParameterError
from synthscape.privacy.analysis import rdp as rdp_maths
from synthscape.privacy.events import (
    DpEvent,
    ExponentialEvent,
    GaussianEvent,
    LaplaceEvent,
    NonPrivateEvent,
    SkellamEvent,
    SubsampledGaussianEvent,
    ThresholdGaussianEvent,
    ZCdpEvent,
)


class Accountant:
    name = "base"

    def epsilon(self, events: Sequence[DpEvent], delta: float) -> float:
        if any(not e.is_private for e in events):
            return math.inf
        if not events:
            return 0.0
        if delta == 0:
            return _pure_epsilon(events)
        # Thresholded releases cost part of delta outright; the rest is left for conversion.
        spent = sum(e.delta for e in events if isinstance(e, ThresholdGaussianEvent))
        if spent >= delta:
            return math.inf
        eps = self._epsilon(events, delta - spent)
        # Pure mechanisms alone also compose by summation (Dwork et al. 2006); take the tighter.
        return min(eps, _pure_epsilon(events))

    def _epsilon(self, events: Sequence[DpEvent], delta: float) -> float:
        raise NotImplementedError

    def method(self, events: Sequence[DpEvent]) -> str:
        """The analysis that accounts ``events`` (an accountant that cannot represent every
        event kind hands the whole ledger to RDP)."""
        return self.name


def _pure_epsilon(events: Sequence[DpEvent]) -> float:
    """Basic composition for pure DP (delta = 0); Gaussian events have no pure guarantee."""
    total = 0.0
    for e in events:
        if isinstance(e, (LaplaceEvent, ExponentialEvent)):
            total += e.epsilon * e.count
        else:
            return math.inf
    return total


SGD_MAX_ORDER = 256.0


@lru_cache(maxsize=4096)
def event_rdp(event: DpEvent) -> tuple[float, ...]:
    """RDP curve of one event over ``ORDERS`` (cached: events are immutable)."""
    o = rdp_maths.ORDERS
    if isinstance(event, ThresholdGaussianEvent):
        curve = rdp_maths.gaussian_rdp(event.noise_multiplier, o)
    elif isinstance(event, GaussianEvent):
        curve = event.count * rdp_maths.gaussian_rdp(event.noise_multiplier, o)
    elif isinstance(event, LaplaceEvent):
        curve = event.count * rdp_maths.laplace_rdp(event.epsilon, o)
    elif isinstance(event, ExponentialEvent):
        curve = event.count * rdp_maths.exponential_rdp(event.epsilon, o)
    elif isinstance(event, ZCdpEvent):
        curve = rdp_maths.zcdp_rdp(event.rho, o)
    elif isinstance(event, SubsampledGaussianEvent):
        if event.sample_rate == 1.0:
            curve = event.steps * rdp_maths.gaussian_rdp(event.noise_multiplier, o)
        else:
            from opacus.accountants.analysis.rdp import compute_rdp

            # Orders above SGD_MAX_ORDER are left at inf (never used): opacus' series is slow
            # there and DP-SGD's optimal order lies far below it for any useful epsilon.
            small = o <= SGD_MAX_ORDER
            curve = np.full_like(o, np.inf)
            curve[small] = _valid_prefix(np.asarray(
                compute_rdp(
                    q=event.sample_rate,
                    noise_multiplier=event.noise_multiplier,
                    steps=event.steps,
                    orders=list(o[small]),
                ),
                dtype=float,
            ))
    elif isinstance(event, SkellamEvent):
        curve = event.count * rdp_maths.skellam_rdp(event.mu, event.l1, event.l2, o)
    elif isinstance(event, NonPrivateEvent):
        curve = np.full_like(o, np.inf)
    else:
        raise ParameterError(f"the RDP accountant does not know event kind {event.kind!r}")
    return tuple(float(x) for x in curve)


def _valid_prefix(curve: np.ndarray) -> np.ndarray:
    """RDP is >= 0 and non-decreasing in the order; opacus' series for large fractional orders
    can lose precision (NaN, negative or decreasing values). Such orders, and all larger ones,
    are dropped (set to inf) so they can never lower the epsilon."""
    curve = curve.copy()
    running = 0.0
    for i, v in enumerate(curve):
        if not np.isfinite(v) or v < running * (1 - 1e-9) or v < 0:
            curve[i:] = np.inf
            break
        running = max(running, v)
    return curve


class RdpAccountant(Accountant):
    name = "rdp"

    def rdp(self, events: Sequence[DpEvent]) -> np.ndarray:
        total = np.zeros_like(rdp_maths.ORDERS)
        for e in events:
            total = total + np.asarray(event_rdp(e))
        return total

    def _epsilon(self, events: Sequence[DpEvent], delta: float) -> float:
        return rdp_maths.eps_from_rdp(self.rdp(events), delta)


class PldAccountant(Accountant):
    name = "pld"

    def __init__(self, value_discretization_interval: float = 1e-3):
        self.interval = value_discretization_interval

    def _to_dp_accounting(self, event: DpEvent):
        try:
            from dp_accounting import dp_event as de
        except ImportError as exc:
            raise OptionalDependencyError(
                "the 'pld' accountant needs dp-accounting: pip install 'synthscape[accounting]'"
            ) from exc
        if isinstance(event, ThresholdGaussianEvent):
            return de.GaussianDpEvent(event.noise_multiplier)
        if isinstance(event, GaussianEvent):
            return de.SelfComposedDpEvent(de.GaussianDpEvent(event.noise_multiplier), event.count)
        if isinstance(event, LaplaceEvent):
            return de.SelfComposedDpEvent(de.LaplaceDpEvent(1.0 / event.epsilon), event.count)
        if isinstance(event, ZCdpEvent):
            return de.ZCDpEvent(event.rho)
        if isinstance(event, SubsampledGaussianEvent):
            inner = de.PoissonSampledDpEvent(
                event.sample_rate, de.GaussianDpEvent(event.noise_multiplier)
            )
            return de.SelfComposedDpEvent(inner, event.steps)
        raise ParameterError(f"the PLD accountant does not know event kind {event.kind!r}")

    def method(self, events: Sequence[DpEvent]) -> str:
        # PLD under add/remove cannot represent a bare zCDP or bounded-range guarantee, nor the
        # Skellam mechanism's RDP bound; the RDP accountant handles such ledgers whole.
        bare = any(isinstance(e, (ZCdpEvent, ExponentialEvent, SkellamEvent)) for e in events)
        return "rdp" if bare else self.name

    def _epsilon(self, events: Sequence[DpEvent], delta: float) -> float:
        if self.method(events) == "rdp":
            return RdpAccountant()._epsilon(events, delta)
        from dp_accounting import dp_event as de
        from dp_accounting.pld import pld_privacy_accountant as pa

        acc = pa.PLDAccountant(value_discretization_interval=self.interval)
        acc.compose(de.ComposedDpEvent([self._to_dp_accounting(e) for e in events]))
        return float(acc.get_epsilon(delta))


class PrvAccountant(Accountant):
    name = "prv"

    def __init__(self, eps_error: float = 0.01):
        self.eps_error = eps_error

    def method(self, events: Sequence[DpEvent]) -> str:
        # opacus' PRV composes Gaussian mechanisms only: ledgers with other events (schema
        # inference's zCDP and Laplace releases, the exponential mechanism) are accounted whole
        # by RDP, which is sound for every event kind.
        gaussian = (SubsampledGaussianEvent, GaussianEvent, ThresholdGaussianEvent)
        return self.name if all(isinstance(e, gaussian) for e in events) else "rdp"

    def _epsilon(self, events: Sequence[DpEvent], delta: float) -> float:
        from opacus.accountants import PRVAccountant

        if self.method(events) == "rdp":
            return RdpAccountant()._epsilon(events, delta)
        acc = PRVAccountant()
        for e in events:
            if isinstance(e, SubsampledGaussianEvent):
                acc.history.append((e.noise_multiplier, e.sample_rate, e.steps))
            else:  # GaussianEvent, ThresholdGaussianEvent (its delta is spent outright above)
                acc.history.append((e.noise_multiplier, 1.0,  # type: ignore[attr-defined]
                                    getattr(e, "count", 1)))
        # opacus returns the upper end of its error-bounded estimate: a guarantee. Its grid
        # sizing runs an RDP bound over opacus' own small order range (which warns when the best
        # order is its largest: that only widens the grid) and takes log(0) on the PRV's
        # support edge (mapped to -inf on purpose); neither reaches the user.
        import warnings

        with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
            warnings.filterwarnings("ignore", message="Optimal order is the largest alpha")
            return float(acc.get_epsilon(delta=delta, eps_error=self.eps_error))


ACCOUNTANTS = {"rdp": RdpAccountant, "pld": PldAccountant, "prv": PrvAccountant}


def make_accountant(name: str) -> Accountant:
    try:
        return ACCOUNTANTS[name]()
    except KeyError:
        raise ParameterError(
            f"unknown accountant {name!r}; choose one of {sorted(ACCOUNTANTS)}"
        ) from None

"""Immutable privacy events. Mechanisms emit them; accountants interpret them.

Noise parameters are normalised by sensitivity (``noise_multiplier = std / sensitivity``), as in
dp_accounting's DpEvent algebra and opacus.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True)
class DpEvent:
    kind: ClassVar[str] = "event"
    label: str = field(default="", kw_only=True)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **asdict(self)}

    @property
    def is_private(self) -> bool:
        return True


def _positive(name: str, value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")


def _count(value: int) -> None:
    if not (isinstance(value, int) and value >= 1):
        raise ValueError(f"count must be an integer >= 1, got {value!r}")


@dataclass(frozen=True)
class GaussianEvent(DpEvent):
    """``count`` releases with Gaussian noise of std ``noise_multiplier`` x L2 sensitivity."""

    kind: ClassVar[str] = "gaussian"
    noise_multiplier: float
    count: int = 1

    def __post_init__(self) -> None:
        _positive("noise_multiplier", self.noise_multiplier)
        _count(self.count)


@dataclass(frozen=True)
class LaplaceEvent(DpEvent):
    """``count`` releases with Laplace noise of scale L1 sensitivity / ``epsilon``."""

    kind: ClassVar[str] = "laplace"
    epsilon: float
    count: int = 1

    def __post_init__(self) -> None:
        _positive("epsilon", self.epsilon)
        _count(self.count)


@dataclass(frozen=True)
class ExponentialEvent(DpEvent):
    """``count`` runs of the exponential mechanism, each epsilon-DP and epsilon-bounded-range."""

    kind: ClassVar[str] = "exponential"
    epsilon: float
    count: int = 1

    def __post_init__(self) -> None:
        _positive("epsilon", self.epsilon)
        _count(self.count)


@dataclass(frozen=True)
class ZCdpEvent(DpEvent):
    """A mechanism known to satisfy rho-zCDP (Bun and Steinke 2016)."""

    kind: ClassVar[str] = "zcdp"
    rho: float

    def __post_init__(self) -> None:
        _positive("rho", self.rho)


@dataclass(frozen=True)
class SubsampledGaussianEvent(DpEvent):
    """``steps`` DP-SGD steps: Poisson sampling at ``sample_rate``, Gaussian noise on clipped
    sums."""

    kind: ClassVar[str] = "subsampled_gaussian"
    noise_multiplier: float
    sample_rate: float
    steps: int

    def __post_init__(self) -> None:
        _positive("noise_multiplier", self.noise_multiplier)
        if not (0 < self.sample_rate <= 1):
            raise ValueError(f"sample_rate must be in (0, 1], got {self.sample_rate!r}")
        if not (isinstance(self.steps, int) and self.steps >= 1):
            raise ValueError(f"steps must be an integer >= 1, got {self.steps!r}")


@dataclass(frozen=True)
class ThresholdGaussianEvent(DpEvent):
    """Gaussian noisy counts of a data-dependent key set, released only above a threshold.

    Costs the Gaussian's RDP plus ``delta`` outright: the chance that a key held by one record
    clears the threshold (Korolova et al. 2009; Gopi et al. 2020 for the Gaussian version).
    """

    kind: ClassVar[str] = "threshold_gaussian"
    noise_multiplier: float
    delta: float

    def __post_init__(self) -> None:
        _positive("noise_multiplier", self.noise_multiplier)
        if not 0 < self.delta < 1:
            raise ValueError(f"delta must be in (0, 1), got {self.delta!r}")


@dataclass(frozen=True)
class SkellamEvent(DpEvent):
    """``count`` releases of an integer query with Skellam noise Poisson(``mu``) -
    Poisson(``mu``) (variance 2 ``mu``), the query moving by at most ``l1`` in L1 and ``l2`` in
    L2 norm per record. Sums of Skellam noises are Skellam, which is what distributed noise
    under secure aggregation needs (:mod:`synthscape.federated.secagg`)."""

    kind: ClassVar[str] = "skellam"
    mu: float
    l1: float = 1.0
    l2: float = 1.0
    count: int = 1

    def __post_init__(self) -> None:
        _positive("mu", self.mu)
        _positive("l1", self.l1)
        _positive("l2", self.l2)
        if self.l2 > self.l1 * (1 + 1e-12):
            raise ValueError(f"l2 sensitivity {self.l2!r} cannot exceed l1 {self.l1!r}")
        _count(self.count)


@dataclass(frozen=True)
class NonPrivateEvent(DpEvent):
    """Real data was used without a privacy guarantee; the ledger's epsilon becomes infinite."""

    kind: ClassVar[str] = "non_private"
    reason: str = "non-private computation on the real data"

    @property
    def is_private(self) -> bool:
        return False


EVENT_TYPES: dict[str, type[DpEvent]] = {
    cls.kind: cls
    for cls in (
        GaussianEvent,
        LaplaceEvent,
        ExponentialEvent,
        ZCdpEvent,
        SubsampledGaussianEvent,
        ThresholdGaussianEvent,
        SkellamEvent,
        NonPrivateEvent,
    )
}


def event_from_dict(data: dict[str, Any]) -> DpEvent:
    data = dict(data)
    kind = data.pop("kind")
    try:
        cls = EVENT_TYPES[kind]
    except KeyError:
        raise ValueError(f"unknown privacy event kind {kind!r}; "
                         f"known: {sorted(EVENT_TYPES)}") from None
    return cls(**data)

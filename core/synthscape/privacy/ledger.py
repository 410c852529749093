"""The privacy ledger: append-only, checks the budget before an event is spent."""
from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from synthscape.errors import BudgetExceededError
from synthscape.privacy.accountants import Accountant, make_accountant
from synthscape.privacy.analysis.calibration import bisect_decreasing, bisect_increasing
from synthscape.privacy.budget import Budget
from synthscape.privacy.events import DpEvent, NonPrivateEvent, ZCdpEvent, event_from_dict
from synthscape.privacy.noise import NoiseSource

_TOL = 1e-9


class PrivacyLedger:
    """Every privacy-relevant use of the real data, and what it cost.

    ``spend(event)`` refuses with :class:`BudgetExceededError` *before* recording an event that
    would take the composed epsilon (at the budget's delta) past the budget. A ledger without a
    budget is non-private: its epsilon is infinite and every report says so.

    ``ledger.noise`` is the secret :class:`NoiseSource` every mechanism that spends here draws
    from (fresh OS randomness unless given; it is never serialised).

    >>> led = PrivacyLedger(Budget(epsilon=1.0, delta=1e-6))
    >>> from synthscape.privacy.events import GaussianEvent
    >>> _ = led.spend(GaussianEvent(noise_multiplier=5.0, label="counts"))
    >>> led.epsilon < 1.0
    True
    """

    def __init__(self, budget: Budget | None, accountant: str = "rdp", *,
                 noise: NoiseSource | None = None):
        self.budget = budget
        self.noise = noise if noise is not None else NoiseSource()
        self.accountant_name = accountant
        self._accountant: Accountant = make_accountant(accountant)
        self._events: list[DpEvent] = []
        self._memo: dict[tuple, float] = {}  # (events, delta) -> epsilon; events are immutable
        if budget is None:
            self._events.append(NonPrivateEvent(reason="no privacy budget was given"))

    # ---- reading -------------------------------------------------------------------------
    @property
    def events(self) -> tuple[DpEvent, ...]:
        return tuple(self._events)

    @property
    def delta(self) -> float:
        return self.budget.delta if self.budget is not None else 0.0

    @property
    def is_private(self) -> bool:
        return self.budget is not None and all(e.is_private for e in self._events)

    @property
    def epsilon(self) -> float:
        """Epsilon spent so far, at the budget's delta (infinite when not private)."""
        return self.epsilon_at(self.delta)

    def epsilon_at(self, delta: float) -> float:
        if not self.is_private:
            return math.inf
        return self._account(self._events, delta)

    def _account(self, events, delta: float) -> float:
        """The accountant's epsilon of the DP events, remembered: PLD and PRV take ~0.1 s per
        call, and a spend reads the same composition several times (check, spend, report).
        Non-private events are left out here (``epsilon`` is infinite once there is one), so a
        release marked NOT PRIVATE still calibrates its noise against its budget."""
        events = [e for e in events if e.is_private]
        key = (tuple(events), float(delta))
        try:
            hash(key)
        except TypeError:  # an event with unhashable fields: no memo
            return self._accountant.epsilon(list(events), delta)
        if key not in self._memo:
            if len(self._memo) > 256:
                self._memo.clear()
            self._memo[key] = self._accountant.epsilon(list(events), delta)
        return self._memo[key]

    @property
    def remaining_epsilon(self) -> float:
        if self.budget is None:
            return math.inf
        return max(self.budget.epsilon - self._account(self._events, self.delta), 0.0)

    def describe(self) -> str:
        if not self.is_private:
            return "NOT PRIVATE: epsilon = inf (" + "; ".join(
                e.reason for e in self._events if isinstance(e, NonPrivateEvent)
            ) + ")"
        used = self.accountant_method
        how = f"{used} accountant" if used == self.accountant_name else (
            f"{used} accountant: the {self.accountant_name} accountant does not represent "
            f"every event kind here")
        return (
            f"epsilon = {self.epsilon:.4g} at delta = {self.delta:g} "
            f"(budget {self.budget}, {how}, {len(self._events)} events)"
        )

    @property
    def accountant_method(self) -> str:
        """The analysis that accounts the ledger's events now (``accountant_name``, or ``rdp``
        where that accountant cannot represent an event kind and RDP accounts the whole)."""
        return self._accountant.method(self._events)

    # ---- spending ------------------------------------------------------------------------
    def cost_with(self, event: DpEvent) -> float:
        """Epsilon the ledger would show after ``event``, without spending it."""
        return self._account([*self._events, event], self.delta)

    def would_exceed(self, event: DpEvent) -> bool:
        if self.budget is None:
            return False
        return self.cost_with(event) > self.budget.epsilon * (1 + _TOL)

    def spend(self, event: DpEvent) -> DpEvent:
        if not event.is_private:
            self._events.append(event)
            return event
        if self.budget is None:
            self._events.append(event)
            return event
        after = self.cost_with(event)
        if after > self.budget.epsilon * (1 + _TOL):
            raise BudgetExceededError(
                f"spending {event.kind} event '{event.label}' would raise epsilon to {after:.4g} "
                f"> budget {self.budget.epsilon:g} (delta {self.delta:g}); nothing was spent. "
                f"Raise the budget or lower the cost (more noise, fewer steps or measurements)."
            )
        self._events.append(event)
        return event

    def mark_non_private(self, reason: str) -> None:
        self._events.append(NonPrivateEvent(reason=reason))

    def absorb(self, other: PrivacyLedger, *, label: str) -> None:
        """Compose every event of ``other`` (an earlier step of the same release, e.g. DP schema
        inference) into this ledger, checking the budget first: one ledger per release."""
        events = list(other.events)
        if other.budget is None:
            events = [e for e in events if e.is_private or getattr(e, "reason", None) !=
                      "no privacy budget was given"] or [
                          NonPrivateEvent(reason=f"{label}: read without a budget")]
        private = [e for e in events if e.is_private]
        if self.budget is not None and private:
            after = self._account([*self._events, *private], self.delta)
            if after > self.budget.epsilon * (1 + _TOL):
                raise BudgetExceededError(
                    f"{label} already spent epsilon {other.epsilon:.4g}; with it this release "
                    f"would reach {after:.4g} > budget {self.budget.epsilon:g} (delta "
                    f"{self.delta:g}); nothing was spent. Raise the budget, declare the schema, "
                    f"or give the inference a smaller share.")
        self._events.extend(events)

    # ---- calibration ---------------------------------------------------------------------
    def remaining_rho(self, fraction: float = 1.0) -> float:
        """Largest zCDP rho that still fits, times ``fraction`` (for splitting a budget)."""
        if self.budget is None:
            raise BudgetExceededError("a non-private ledger has no privacy budget to calibrate")
        if not 0 < fraction <= 1:
            raise ValueError(f"fraction must be in (0, 1], got {fraction}")

        events = [e for e in self._events if e.is_private]

        def cost(rho: float) -> float:
            return self._accountant.epsilon([*events, ZCdpEvent(rho=rho)], self.delta)

        if cost(1e-12) > self.budget.epsilon:
            raise BudgetExceededError(
                f"the budget {self.budget} is already spent "
                f"({self._account(self._events, self.delta):.4g}); nothing is left"
            )
        rho = bisect_increasing(cost, self.budget.epsilon, 1e-12, 1e4)
        return rho * fraction

    def calibrate(
        self,
        make_event: Callable[[float], DpEvent],
        *,
        lo: float = 1e-3,
        hi: float = 1e4,
        epsilon: float | None = None,
    ) -> float:
        """Least noise parameter ``x`` such that spending ``make_event(x)`` fits the budget.

        ``epsilon`` caps the total after the event (defaults to the whole budget).
        """
        if self.budget is None:
            raise BudgetExceededError("a non-private ledger has no privacy budget to calibrate")
        target = self.budget.epsilon if epsilon is None else min(epsilon, self.budget.epsilon)
        try:
            if self.accountant_name != "rdp":
                # Bracket with the cheap RDP bound first: PLD/PRV at tiny noise levels would
                # build enormous privacy-loss distributions. Tighter accountants need no more
                # noise than RDP's answer, and never less than a fraction of it in practice.
                rdp = make_accountant("rdp")
                events = [e for e in self._events if e.is_private]
                x_rdp = bisect_decreasing(
                    lambda x: rdp.epsilon([*events, make_event(x)], self.delta),
                    target * (1 - 1e-6), lo, hi)
                lo = max(lo, x_rdp / 4)
                hi = min(hi, x_rdp * 1.05)
                while self.cost_with(make_event(hi)) > target * (1 - 1e-6) and hi < 1e4:
                    hi *= 2
            return bisect_decreasing(
                lambda x: self.cost_with(make_event(x)), target * (1 - 1e-6), lo, hi
            )
        except ValueError as exc:
            raise BudgetExceededError(
                f"no noise level up to {hi:g} fits the remaining budget: {exc}"
            ) from None

    # ---- serialisation -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        eps = self.epsilon
        return {
            "budget": None if self.budget is None else self.budget.model_dump(),
            "accountant": self.accountant_name,
            "accounted_by": self.accountant_method,
            "private": self.is_private,
            "epsilon": None if math.isinf(eps) else eps,
            "delta": self.delta,
            "summary": self.describe(),
            "events": [e.to_dict() for e in self._events],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PrivacyLedger:
        budget = None if data.get("budget") is None else Budget(**data["budget"])
        led = cls(budget, accountant=data.get("accountant", "rdp"))
        led._events = [event_from_dict(e) for e in data["events"]]
        return led

    def to_json(self, path: str | Path | None = None) -> str:
        text = json.dumps(self.to_dict(), indent=2, sort_keys=True)
        if path is not None:
            Path(path).write_text(text + "\n")
        return text

    @classmethod
    def from_json(cls, text_or_path: str | Path) -> PrivacyLedger:
        p = Path(text_or_path)
        text = p.read_text() if p.suffix == ".json" and p.exists() else str(text_or_path)
        return cls.from_dict(json.loads(text))

    def __repr__(self) -> str:
        return f"PrivacyLedger({self.describe()})"

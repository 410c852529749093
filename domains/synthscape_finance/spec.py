"""``kind: transactions``: the scenario spec of the transaction simulator.

Every typology carries a ``rate``: the share of accounts drawn into it (as victim, fraudster or
member of a laundering pattern). Each account is drawn into at most one typology, look-alike or
lone event by one categorical draw, so the rates of all of them together must not exceed 1.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from synthscape.scenarios import SpecBase, StrictModel
from synthscape.scenarios.spec import PrivacySpec, Problem
from synthscape_finance.mcc import N_MCC

CARD_TYPOLOGIES = ("card_testing", "cnp_burst", "lost_stolen", "account_takeover",
                   "merchant_compromise", "bust_out")
AML_TYPOLOGIES = ("fan_in", "fan_out", "cycle", "scatter_gather", "gather_scatter", "bipartite",
                  "stack", "structuring")
NOISE = ("lone_fraud", "lone_laundering", "small_burst", "payroll", "cash_business")
TYPOLOGIES = CARD_TYPOLOGIES + AML_TYPOLOGIES


class Rate(StrictModel):
    """A typology's rate (share of accounts drawn into it)."""

    rate: float = Field(default=0.0, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _ranges(self) -> Rate:
        for name, value in self:
            if isinstance(value, tuple) and not 0 <= value[0] <= value[1]:
                raise ValueError(f"'{name}' must be a range [low, high] with 0 <= low <= high, "
                                 f"got {list(value)}")
        return self


class CardTesting(Rate):
    """Small card-not-present probes, then large purchases (Visa PAN enumeration notes)."""

    probes: tuple[int, int] = (3, 10)
    probe_amount: tuple[float, float] = (0.5, 5.0)
    cashouts: tuple[int, int] = (1, 3)
    declined_share: float = Field(default=0.4, ge=0, le=1,
                                  description="share of probes the issuer declines (wrong "
                                              "expiry or CVV guessed); they stay in the log "
                                              "with status declined_card")


class CnpBurst(Rate):
    """Many card-not-present purchases within ``window_hours``."""

    size: tuple[int, int] = (5, 15)
    window_hours: float = Field(default=2.0, gt=0)


class LostStolen(Rate):
    """A spree of card-present purchases away from home right after the card is lost."""

    size: tuple[int, int] = (3, 8)
    window_hours: float = Field(default=6.0, gt=0)


class AccountTakeover(Rate):
    """A login from a new device and location, then a transfer draining the balance."""

    drain_share: tuple[float, float] = (0.8, 1.0)


class MerchantCompromise(Rate):
    """Cards seen at one breached merchant are used elsewhere ``delay_days`` later.
    The rate counts the exposed cards; ``cards_per_breach`` of them share one merchant."""

    cards_per_breach: tuple[int, int] = (10, 40)
    delay_days: tuple[float, float] = (2.0, 10.0)
    misuse_share: float = Field(default=0.5, gt=0, le=1)


class BustOut(Rate):
    """A synthetic identity builds a history, then maxes out its credit in a few days."""

    build_purchases: tuple[int, int] = (8, 20)
    bust_purchases: tuple[int, int] = (5, 12)


class Pattern(Rate):
    """A laundering pattern of ``size`` accounts (AMLSim, Altman et al. 2023 AMLworld)."""

    size: tuple[int, int] = (4, 10)
    amount: tuple[float, float] = (2_000.0, 20_000.0)
    window_days: float = Field(default=5.0, gt=0)


class Structuring(Rate):
    """Cash deposits just under the reporting ``threshold`` (31 CFR 1010.311: USD 10,000)."""

    threshold: float = Field(default=10_000.0, gt=0)
    deposits: tuple[int, int] = (3, 8)
    margin: float = Field(default=0.12, gt=0, lt=1)


class Typologies(StrictModel):
    """Illicit patterns, each with its rate; unknown names are rejected."""

    card_testing: CardTesting = CardTesting()
    cnp_burst: CnpBurst = CnpBurst()
    lost_stolen: LostStolen = LostStolen()
    account_takeover: AccountTakeover = AccountTakeover()
    merchant_compromise: MerchantCompromise = MerchantCompromise()
    bust_out: BustOut = BustOut()
    fan_in: Pattern = Pattern()
    fan_out: Pattern = Pattern()
    cycle: Pattern = Pattern(size=(3, 7))
    scatter_gather: Pattern = Pattern(size=(4, 10))
    gather_scatter: Pattern = Pattern(size=(5, 11))
    bipartite: Pattern = Pattern(size=(4, 10))
    stack: Pattern = Pattern(size=(6, 12))
    structuring: Structuring = Structuring()


class Noise(StrictModel):
    """What keeps detection from being trivial: lone illicit events outside any pattern and
    legitimate look-alikes (a real burst of small purchases, payroll fan-out, cash businesses
    depositing just under the threshold)."""

    lone_fraud: Rate = Rate(rate=0.0005)
    lone_laundering: Rate = Rate(rate=0.0005)
    small_burst: Rate = Rate(rate=0.003)
    payroll: Rate = Rate(rate=0.001)
    cash_business: Rate = Rate(rate=0.001)


class Population(StrictModel):
    customers: int = Field(default=10_000, ge=10)
    accounts_per_customer: float = Field(default=1.3, ge=1.0, le=5.0)
    merchants: int = Field(default=2_000, ge=20)
    days: int = Field(default=30, ge=1, le=3660)
    start: str = "2025-01-06"
    regions: int = Field(default=8, ge=2, le=200)

    @model_validator(mode="after")
    def _every_block(self) -> Population:
        # every (merchant category, region) block needs a merchant: events pick one in it
        need = N_MCC * self.regions
        if self.merchants < need:
            raise ValueError(f"merchants {self.merchants} is too few for {self.regions} regions: "
                             f"each region needs a merchant of each of the {N_MCC} merchant "
                             f"categories, so merchants >= {N_MCC} x regions = {need}; raise "
                             f"merchants or lower regions")
        return self

    @field_validator("start")
    @classmethod
    def _date(cls, v: str) -> str:
        import datetime as dt

        try:
            dt.date.fromisoformat(v)
        except ValueError:
            raise ValueError(f"start must be a date like '2025-01-06', got {v!r}") from None
        return v


class Activity(StrictModel):
    """Mean events per account per day; degree exponent of the transfer graph."""

    purchases_per_day: float = Field(default=1.5, gt=0)
    transfers_per_day: float = Field(default=0.15, ge=0)
    degree_exponent: float = Field(default=2.2, gt=1.5, le=4.0)
    new_device_share: float = Field(default=0.02, ge=0, le=1)
    travel_share: float = Field(default=0.05, ge=0, le=1)


class Overdraft(StrictModel):
    """Overdraft limit of each product, in dollars: a debit that would take the balance below
    minus the limit is declined (kept in the log with status ``declined_funds``, posting
    nothing). Defaults: a checking account may go $500 overdrawn (a common US overdraft
    coverage limit), a savings account not at all, a business account $5,000 (a small
    overdraft line)."""

    checking: float = Field(default=500.0, ge=0)
    savings: float = Field(default=0.0, ge=0)
    business: float = Field(default=5_000.0, ge=0)


class Shock(StrictModel):
    """A macro shock over ``[start_day, end_day)``: spending multiplied by ``spending``,
    defaults (accounts going dormant) multiplied by ``defaults``."""

    start_day: int = Field(ge=0)
    end_day: int = Field(gt=0)
    spending: float = Field(default=1.0, gt=0)
    defaults: float = Field(default=1.0, ge=0)

    @model_validator(mode="after")
    def _order(self) -> Shock:
        if self.end_day <= self.start_day:
            raise ValueError("end_day must be after start_day")
        return self


class Observation(StrictModel):
    """How the observed ``alerted`` label departs from the ground truth."""

    fraud_reported: float = Field(default=0.8, ge=0, le=1)
    laundering_alerted: float = Field(default=0.3, ge=0, le=1)
    false_alert_rate: float = Field(default=0.0005, ge=0, le=1)


class Checks(StrictModel):
    """Realism figures and the leakage check. ``max_leak_lift`` is the largest allowed gain in
    ROC AUC of a shallow tree on identifiers, timestamps and balance residuals over a tree on the
    channel alone. ``inject_artefact`` plants a known leak (a negative control)."""

    realism: bool = True
    leakage: bool = True
    max_leak_lift: float = Field(default=0.1, gt=0, lt=0.5)
    sample_rows: int = Field(default=200_000, ge=1_000)
    inject_artefact: Literal["none", "id_prefix", "balance"] = "none"


class LearnedData(StrictModel):
    """Files of a real transaction log (Parquet or CSV) in the simulator's layout (the
    columns are listed in :mod:`synthscape_finance.sources`); paths are relative to the
    scenario file. ``labels`` (tx_id, is_fraud, typology) may instead be columns of the
    transactions file; without ``accounts`` the transactions carry ``customer_id``."""

    transactions: str
    customers: str
    labels: str | None = None
    accounts: str | None = None


class Learned(StrictModel):
    """Fit the core's DP event-sequence generator (``dp_sequence``) to a transaction log with
    the customer as the unit of privacy (all their transactions, the first ``max_events`` in
    time order), and release a synthetic log in the simulator's layout (customers, accounts,
    transactions, tx_labels) in which ``fraud_share`` of the ``customers`` are fraud victims.

    The log is ``data`` (real files: the run then reads real data and its evaluation goes to
    the internal folder) or, without ``data``, the simulator's own output for this spec,
    treated as if it were private. ``time_bounds`` is the public time range of a real log
    (the simulated one is ``population.start`` plus ``days``); ``schema`` a sequence schema
    file (YAML or JSON) that replaces the declared default; ``generator`` passes
    hyper-parameters to ``dp_sequence`` (e.g. ``{epochs: 2}``). ``epsilon`` and ``delta``
    written directly under ``learned`` are read as ``privacy``."""

    model_config = {**StrictModel.model_config, "populate_by_name": True}

    data: LearnedData | None = None
    schema_: str | None = Field(default=None, alias="schema")
    time_bounds: tuple[str, str] | None = None
    privacy: PrivacySpec = PrivacySpec(epsilon=1.0)
    fraud_share: float | None = Field(default=0.2, gt=0, lt=1)
    customers: int = Field(default=1_000, ge=1)
    max_events: int = Field(default=256, ge=1, le=100_000)
    test_fraction: float = Field(default=0.3, ge=0, lt=1)
    generator: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _flat_budget(cls, data: Any) -> Any:
        if isinstance(data, dict) and ("epsilon" in data or "delta" in data):
            data = dict(data)
            if "privacy" in data:
                raise ValueError("give the budget once: in 'privacy' or as epsilon/delta "
                                 "directly under 'learned', not both")
            data["privacy"] = {k: data.pop(k) for k in ("epsilon", "delta") if k in data}
        return data

    @field_validator("generator")
    @classmethod
    def _known_params(cls, v: dict[str, Any]) -> dict[str, Any]:
        from synthscape.generators import SEQUENCE_GENERATORS
        from synthscape.scenarios.validate import unknown_name

        if not v or "dp_sequence" not in SEQUENCE_GENERATORS.names():
            return v
        set_here = ("epsilon", "delta", "seed", "schema", "expected_entities", "max_events")
        names = [p for p in SEQUENCE_GENERATORS.get("dp_sequence").param_names()
                 if p not in set_here]
        for key in v:
            if key not in names:
                raise ValueError(unknown_name("dp_sequence parameter", key, names) +
                                 " (epsilon, delta, max_events and the seed are set by the "
                                 "spec itself)")
        return v

    @field_validator("time_bounds")
    @classmethod
    def _bounds(cls, v: tuple[str, str] | None) -> tuple[str, str] | None:
        import pandas as pd

        if v is None:
            return v
        try:
            lo, hi = pd.Timestamp(v[0]), pd.Timestamp(v[1])
        except ValueError:
            raise ValueError(f"time_bounds must be two ISO timestamps like ['2025-01-01', "
                             f"'2025-04-01'], got {list(v)}") from None
        if lo >= hi:
            raise ValueError(f"time_bounds: start {v[0]} must be before end {v[1]}")
        return v

    @property
    def epsilon(self) -> float:
        """The customer-level epsilon."""
        return self.privacy.epsilon

    @property
    def delta(self) -> float:
        return self.privacy.delta


class TransactionsSpec(SpecBase):
    """Simulate customers, accounts, merchants and labelled transactions."""

    kind: Literal["transactions"] = "transactions"
    population: Population = Population()
    activity: Activity = Activity()
    overdraft: Overdraft = Overdraft()
    noise: Noise = Noise()
    typologies: Typologies = Typologies()
    shocks: list[Shock] = Field(default_factory=list)
    observation: Observation = Observation()
    checks: Checks = Checks()
    learned: Learned | None = None
    chunk_days: int = Field(default=7, ge=1)

    @field_validator("typologies")
    @classmethod
    def _total_rate(cls, v: Typologies, info: ValidationInfo) -> Typologies:
        noise = info.data.get("noise") or Noise()
        rates = {**{t: getattr(v, t).rate for t in TYPOLOGIES},
                 **{n: getattr(noise, n).rate for n in NOISE}}
        total = sum(rates.values())
        if total > 1.0 + 1e-12:
            top = ", ".join(f"{k}={r:g}" for k, r in rates.items() if r > 0)
            raise ValueError(f"typology and noise rates sum to {total:g} > 1 (each account joins "
                             f"at most one); lower some of: {top}")
        return v

    def unsharded(self) -> str | None:
        """Simulation runs in customer shards on the workers; the learned path does not."""
        return ("a 'transactions' run with learned: fits and samples the event-sequence "
                "generator in one process") if self.learned is not None else None

    def reads_real_data(self) -> bool:
        """A learned source with files reads real data (the run must then set a ledger)."""
        return self.learned is not None and self.learned.data is not None

    def problems(self) -> Iterator[Problem]:
        """The learned source's files exist and name the columns the layout needs."""
        from synthscape_finance.spec_checks import learned_problems

        yield from learned_problems(self)

    @model_validator(mode="after")
    def _shocks(self) -> TransactionsSpec:
        for s in self.shocks:
            if s.start_day >= self.population.days:
                raise ValueError(f"shock start_day {s.start_day} is past the last day "
                                 f"({self.population.days - 1})")
        return self


def typology_rates(spec: TransactionsSpec) -> dict[str, float]:
    """Rates of every typology and noise event, in a fixed order."""
    out = {t: getattr(spec.typologies, t).rate for t in TYPOLOGIES}
    out.update({n: getattr(spec.noise, n).rate for n in NOISE})
    return out

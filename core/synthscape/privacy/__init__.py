"""Privacy accounting: budgets, events, the ledger, accountants and noise mechanisms."""
from synthscape.errors import BudgetExceededError
from synthscape.privacy.accountants import (
    Accountant,
    PldAccountant,
    PrvAccountant,
    RdpAccountant,
    make_accountant,
)
from synthscape.privacy.budget import Budget
from synthscape.privacy.events import (
    DpEvent,
    ExponentialEvent,
    GaussianEvent,
    LaplaceEvent,
    NonPrivateEvent,
    SubsampledGaussianEvent,
    ThresholdGaussianEvent,
    ZCdpEvent,
)
from synthscape.privacy.ledger import PrivacyLedger

__all__ = [
    "Accountant",
    "Budget",
    "BudgetExceededError",
    "DpEvent",
    "ExponentialEvent",
    "GaussianEvent",
    "LaplaceEvent",
    "NonPrivateEvent",
    "PldAccountant",
    "PrivacyLedger",
    "PrvAccountant",
    "RdpAccountant",
    "SubsampledGaussianEvent",
    "ThresholdGaussianEvent",
    "ZCdpEvent",
    "make_accountant",
]

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
    SkellamEvent,
    SubsampledGaussianEvent,
    ThresholdGaussianEvent,
    ZCdpEvent,
)
from synthscape.privacy.ledger import PrivacyLedger
from synthscape.privacy.mechanisms import noisy_count
from synthscape.privacy.noise import NoiseSource

__all__ = [
    "Accountant",
    "Budget",
    "BudgetExceededError",
    "DpEvent",
    "ExponentialEvent",
    "GaussianEvent",
    "LaplaceEvent",
    "NoiseSource",
    "NonPrivateEvent",
    "PldAccountant",
    "PrivacyLedger",
    "PrvAccountant",
    "RdpAccountant",
    "SkellamEvent",
    "SubsampledGaussianEvent",
    "ThresholdGaussianEvent",
    "ZCdpEvent",
    "make_accountant",
    "noisy_count",
]

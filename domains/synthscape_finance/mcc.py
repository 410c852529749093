"""Merchant category codes (ISO 18245) the simulator uses, with purchase frequency, amount and
card-not-present share per category.

Amounts are lognormal in US dollars; their scale follows the Federal Reserve Payments Study 2022
(average debit card payment about USD 40, credit about USD 90); spreads are illustrative.
"""
from __future__ import annotations

import numpy as np

# mcc, name, relative frequency, lognormal mu, sigma (of dollars), card-not-present share
MCC_TABLE: tuple[tuple[int, str, float, float, float, float], ...] = (
    (5411, "grocery", 0.22, 3.6, 0.7, 0.05),
    (5812, "restaurants", 0.12, 3.4, 0.6, 0.05),
    (5814, "fast_food", 0.14, 2.4, 0.5, 0.10),
    (5541, "fuel", 0.09, 3.7, 0.4, 0.02),
    (5311, "department_store", 0.07, 4.0, 0.8, 0.25),
    (5732, "electronics", 0.03, 5.0, 0.9, 0.45),
    (5964, "online_retail", 0.10, 3.7, 0.9, 1.00),
    (5816, "digital_goods", 0.05, 2.3, 0.9, 1.00),
    (4111, "transit", 0.07, 1.0, 0.5, 0.20),
    (5912, "pharmacy", 0.05, 3.0, 0.7, 0.05),
    (7011, "hotels", 0.02, 5.3, 0.6, 0.60),
    (4511, "airlines", 0.01, 5.8, 0.6, 0.90),
    (5944, "jewelry", 0.01, 5.5, 1.0, 0.20),
    (6011, "atm_cash", 0.02, 4.4, 0.6, 0.00),
)

CODES = np.array([r[0] for r in MCC_TABLE], dtype=np.int32)
NAMES = tuple(r[1] for r in MCC_TABLE)
FREQ = np.array([r[2] for r in MCC_TABLE]) / sum(r[2] for r in MCC_TABLE)
MU = np.array([r[3] for r in MCC_TABLE])
SIGMA = np.array([r[4] for r in MCC_TABLE])
CNP = np.array([r[5] for r in MCC_TABLE])
N_MCC = len(MCC_TABLE)


def index_of(name: str) -> int:
    return NAMES.index(name)


# Hour-of-day and day-of-week profiles of card purchases (shape after the hourly curves in
# Lopez-Rojas et al. 2016, PaySim/BankSim; Monday = 0).
HOUR_WEIGHTS = np.array([0.6, 0.35, 0.25, 0.2, 0.25, 0.5, 1.2, 2.5, 3.5, 4.0, 4.6, 5.4, 6.4, 6.0,
                         5.5, 5.4, 5.8, 6.6, 7.0, 6.4, 5.2, 4.0, 2.6, 1.4])
HOUR_P = HOUR_WEIGHTS / HOUR_WEIGHTS.sum()
DOW_FACTOR = np.array([0.92, 0.95, 0.97, 1.0, 1.12, 1.18, 0.86])

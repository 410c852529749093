"""Pure privacy maths: RDP curves of each mechanism, conversions and calibration."""
from synthscape.privacy.analysis.calibration import bisect_decreasing
from synthscape.privacy.analysis.rdp import (
    ORDERS,
    eps_from_rdp,
    exponential_rdp,
    gaussian_rdp,
    laplace_rdp,
    zcdp_rdp,
)

__all__ = [
    "ORDERS",
    "eps_from_rdp",
    "gaussian_rdp",
    "laplace_rdp",
    "exponential_rdp",
    "zcdp_rdp",
    "bisect_decreasing",
]

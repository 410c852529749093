"""Driver models on tensors: IDM for following, MOBIL for lane changes. Shapes broadcast."""
from __future__ import annotations

NO_GAP = 1.0e4  # m, the gap used when there is no leader


def idm(v, v0, T, s0, a, b, gap, dv, delta: float = 4.0):
    """IDM acceleration, Treiber, Hennecke & Helbing 2000, Phys. Rev. E 62:1805, eqs. (1)-(2).

    ``gap``: bumper-to-bumper distance to the leader; ``dv``: approach rate v - v_leader."""
    import torch

    return idm_scaled(v, v0, T, s0, a, 2.0 * torch.sqrt(a * b), gap, dv, delta)


def idm_scaled(v, v0, T, s0, a, two_sqrt_ab, gap, dv, delta: float = 4.0):
    """:func:`idm` with the per-driver constant 2 sqrt(a b) given (computed once per episode)."""
    import torch

    s_star = s0 + torch.clamp(v * T + v * dv / two_sqrt_ab, min=0.0)
    r = torch.clamp(v / v0, min=0.0)
    if delta == 4.0:  # the usual exponent: two squarings, an order of magnitude faster than pow
        r = r * r
        r = r * r
    else:
        r = torch.pow(r, delta)
    q = s_star / torch.clamp(gap, min=0.1)
    return a * ((1.0 - r) - q * q)


def mobil_gain(acc_self_new, acc_self, acc_newf_new, acc_newf, acc_oldf_new, acc_oldf, p, a_th,
               bias=0.0):
    """MOBIL incentive criterion, Kesting, Treiber & Helbing 2007, TRR 1999, eq. (2):
    (a~_c - a_c) + p[(a~_n - a_n) + (a~_o - a_o)] - (a_th + bias); a change pays when > 0."""
    return (acc_self_new - acc_self) + p * ((acc_newf_new - acc_newf) + (acc_oldf_new - acc_oldf)) \
        - (a_th + bias)


def mobil_safe(acc_newf_new, b_safe):
    """MOBIL safety criterion, Kesting et al. 2007, eq. (1): the new follower's deceleration
    stays below b_safe."""
    return acc_newf_new >= -b_safe

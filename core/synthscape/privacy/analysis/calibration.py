"""Calibration of noise parameters by bisection on a monotone privacy cost."""
from __future__ import annotations

from collections.abc import Callable


def bisect_decreasing(
    cost: Callable[[float], float],
    target: float,
    lo: float,
    hi: float,
    *,
    rel_tol: float = 1e-4,
    max_iter: int = 200,
) -> float:
    """Smallest ``x`` in [lo, hi] with ``cost(x) <= target`` for a cost decreasing in ``x``.

    Used to find the least noise that fits the budget. Returns a point that satisfies the
    target (never one that slightly overshoots it).
    """
    if cost(hi) > target:
        raise ValueError(
            f"even the largest value tried ({hi:g}) costs {cost(hi):.4g} > {target:.4g}"
        )
    if cost(lo) <= target:
        return lo
    for _ in range(max_iter):
        mid = (lo + hi) / 2
        if cost(mid) <= target:
            hi = mid
        else:
            lo = mid
        if hi - lo <= rel_tol * hi:
            break
    return hi


def bisect_increasing(
    cost: Callable[[float], float],
    target: float,
    lo: float,
    hi: float,
    *,
    rel_tol: float = 1e-6,
    max_iter: int = 200,
) -> float:
    """Largest ``x`` in [lo, hi] with ``cost(x) <= target`` for a cost increasing in ``x``."""
    if cost(lo) > target:
        raise ValueError(f"even the smallest value tried ({lo:g}) costs more than {target:.4g}")
    if cost(hi) <= target:
        return hi
    for _ in range(max_iter):
        mid = (lo + hi) / 2
        if cost(mid) <= target:
            lo = mid
        else:
            hi = mid
        if hi - lo <= rel_tol * max(hi, 1e-12):
            break
    return lo

"""Calibration of noise parameters on a monotone privacy cost.

Each cost evaluation can be expensive (an RDP curve of a subsampled Gaussian over a hundred
orders), so :func:`bisect_decreasing` brackets the answer and closes the bracket by the Illinois
variant of false position on (log x, log cost): a handful of evaluations instead of the ~27 of
plain bisection, with the same guarantee (the returned point satisfies the target and lies within
``rel_tol`` of the boundary).
"""
from __future__ import annotations

import math
from collections.abc import Callable


def _gap(cost: float, target: float) -> float:
    """log(cost / target): positive over the target, -inf for a free point."""
    if cost <= 0:
        return -math.inf
    if math.isinf(cost):
        return math.inf
    return math.log(cost) - math.log(target)


def bisect_decreasing(
    cost: Callable[[float], float],
    target: float,
    lo: float,
    hi: float,
    *,
    rel_tol: float = 1e-4,
    max_iter: int = 200,
) -> float:
    """Smallest ``x`` in [lo, hi] with ``cost(x) <= target`` for a cost decreasing in ``x``,
    to within ``rel_tol`` of ``x``.

    Used to find the least noise that fits the budget. Returns a point that satisfies the
    target (never one that slightly overshoots it).
    """
    c_hi = cost(hi)
    if c_hi > target:
        raise ValueError(
            f"even the largest value tried ({hi:g}) costs {c_hi:.4g} > {target:.4g}"
        )
    c_lo = cost(lo)
    if c_lo <= target:
        return lo
    if lo <= 0 or target <= 0:  # no log scale: plain bisection
        return _halve(lambda x: cost(x) > target, lo, hi, rel_tol, max_iter)[1]
    # invariant: cost(e^a) > target >= cost(e^b); stop when 1 - e^(a-b) <= rel_tol
    a, b = math.log(lo), math.log(hi)
    fa, fb = _gap(c_lo, target), _gap(c_hi, target)
    width = -math.log1p(-min(rel_tol, 0.5))
    side = 0
    for _ in range(max_iter):
        if b - a <= width:
            break
        if math.isfinite(fa) and math.isfinite(fb) and fa > fb:
            m = b - fb * (b - a) / (fb - fa)
        else:
            m = (a + b) / 2
        step = min(0.25 * (b - a), 0.45 * width)  # never on an end, and a bracket can close
        m = min(max(m, a + step), b - step)
        cm = cost(math.exp(m))
        if cm <= target:
            b, fb = m, _gap(cm, target)
            if side == -1:
                fa /= 2
            side = -1
        else:
            a, fa = m, _gap(cm, target)
            if side == 1:
                fb /= 2
            side = 1
    return math.exp(b)


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
    return _halve(lambda x: cost(x) <= target, lo, hi, rel_tol, max_iter)[0]


def _halve(below: Callable[[float], bool], lo: float, hi: float, rel_tol: float,
           max_iter: int) -> tuple[float, float]:
    """Bisection of [lo, hi] on a predicate true below a boundary and false above it."""
    for _ in range(max_iter):
        mid = (lo + hi) / 2
        if below(mid):
            lo = mid
        else:
            hi = mid
        if hi - lo <= rel_tol * max(hi, 1e-12):
            break
    return lo, hi

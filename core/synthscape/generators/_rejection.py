"""The rounds of rejection sampling for conditions (post-processing of a fitted model).

Draw until ``n`` draws meet the conditions, each round sized from the acceptance rate so far
(capped per round), and give up with one error only once the acceptance rate is shown to be
below ``MIN_RATE``: the one-sided 99.9% Clopper-Pearson upper bound of the rate, from the draws
so far, under ``MIN_RATE``. A fixed number of rounds would call a rare but reachable condition
unreachable (a code one patient in 130 carries, asked of 74,000 patients, needs about 10M
draws, 50 rounds of the largest batch); a condition met at a rate of at least ``MIN_RATE``
always finishes, after about ``n / rate`` draws.
"""
from __future__ import annotations

from scipy.stats import beta

MIN_RATE = 1e-4  # acceptance rate below which a condition counts as (almost) never met
CONFIDENCE = 0.999  # checked after every round: a rate at MIN_RATE seldom trips it
MARGIN = 1.2  # a round asks for this many times the draws the rate so far says are missing


class Rounds:
    """Sizes and the stopping rule of rejection rounds for ``n`` accepted draws.

    >>> r = Rounds(100, first=64, cap=10_000)
    >>> r.size()
    100
    >>> r.record(100, 10); r.size(), r.done
    (1080, False)
    """

    def __init__(self, n: int, *, first: int, cap: int, min_rate: float = MIN_RATE):
        self.n, self.first, self.cap, self.min_rate = int(n), int(first), int(cap), min_rate
        self.tried = self.have = 0

    @property
    def done(self) -> bool:
        return self.have >= self.n

    def size(self) -> int:
        """Draws for the next round."""
        if not self.tried:
            return min(max(self.n, self.first), self.cap)
        rate = max(self.have / self.tried, self.min_rate)
        return int(min(max((self.n - self.have) / rate * MARGIN, self.first), self.cap))

    def record(self, tried: int, accepted: int) -> None:
        self.tried += int(tried)
        self.have += int(accepted)

    def upper_rate(self) -> float:
        """One-sided upper confidence bound of the acceptance rate (Clopper-Pearson)."""
        if not self.tried:
            return 1.0
        if self.have >= self.tried:
            return 1.0
        return float(beta.ppf(CONFIDENCE, self.have + 1, self.tried - self.have))

    def hopeless(self) -> bool:
        """Whether the rate is below ``min_rate`` at the confidence ``CONFIDENCE``."""
        return not self.done and self.upper_rate() < self.min_rate

    def why(self) -> str:
        return (f"got {self.have} of {self.n} requested from {self.tried} drawn (acceptance "
                f"rate below {self.min_rate:g} with {CONFIDENCE:.1%} confidence)")

"""Budgets, events and accountants: compose mechanisms and watch the ledger refuse an overspend.

    python examples/privacy_ledger.py
"""
from synthscape import Budget, BudgetExceededError, PrivacyLedger
from synthscape.privacy import GaussianEvent, LaplaceEvent, SubsampledGaussianEvent


def main() -> None:
    for accountant in ("rdp", "pld"):
        led = PrivacyLedger(Budget(epsilon=3.0, delta=1e-6), accountant=accountant)
        led.spend(LaplaceEvent(epsilon=0.2, label="row count"))
        led.spend(GaussianEvent(noise_multiplier=8.0, count=10, label="one-way marginals"))
        sigma = led.calibrate(lambda s: SubsampledGaussianEvent(
            noise_multiplier=s, sample_rate=0.01, steps=2_000, label="DP-SGD"))
        led.spend(SubsampledGaussianEvent(noise_multiplier=sigma, sample_rate=0.01, steps=2_000,
                                          label="DP-SGD"))
        print(f"{accountant}: sigma for the rest of the budget = {sigma:.3f}; {led.describe()}")
        try:
            led.spend(LaplaceEvent(epsilon=0.5, label="one more query"))
        except BudgetExceededError as exc:
            print("  refused:", str(exc).split(";")[0])


if __name__ == "__main__":
    main()

"""Hand a transaction log to synthscape and get a DP synthetic log back with fraud oversampled.

A small simulated bank stands in for the private log here (written to Parquet and CSV files,
as a bank would export its own); the synthetic log has the same tables and columns.

    python examples/finance_learned_log.py
"""
import tempfile
from pathlib import Path


def main(customers: int = 600, days: int = 14) -> None:
    from synthscape_finance import learn, simulate
    from synthscape_finance.spec import TransactionsSpec

    spec = TransactionsSpec(population={"customers": customers, "merchants": 400, "days": days},
                            typologies={"card_testing": {"rate": 0.02},
                                        "cnp_burst": {"rate": 0.02},
                                        "account_takeover": {"rate": 0.01}}, seed=1)
    private = simulate(spec)
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        private["transactions"].to_parquet(folder / "transactions.parquet")
        private["tx_labels"].to_csv(folder / "tx_labels.csv", index=False)
        private["customers"].to_csv(folder / "customers.csv", index=False)
        private["accounts"].to_parquet(folder / "accounts.parquet")
        out = learn(folder / "transactions.parquet", folder / "customers.csv",
                    labels=folder / "tx_labels.csv", accounts=folder / "accounts.parquet",
                    epsilon=1.0, customers_out=400, fraud_share=0.2,
                    time_bounds=(spec.population.start, "2025-01-20"), max_events=64, seed=0,
                    generator={"epochs": 1})
    tx, labels = out.tables["transactions"], out.tables["tx_labels"]
    print(out.ledger.describe())
    print(f"{len(out.tables['customers'])} synthetic customers, {len(tx):,} transactions, "
          f"{labels['is_fraud'].mean():.1%} of them fraudulent")
    print(tx["status"].value_counts().to_string())


if __name__ == "__main__":
    main()

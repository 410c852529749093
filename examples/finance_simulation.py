"""Simulate labelled card transactions from the packaged retail scenario and look at the labels.

    python examples/finance_simulation.py
"""
from pathlib import Path

from synthscape.scenarios import load_spec

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    from synthscape_finance import simulate

    spec = load_spec(ROOT / "scenarios/finance/retail_card_fraud.yaml")
    tables = simulate(spec)
    tx, labels = tables["transactions"], tables["tx_labels"]
    print(f"{len(tx):,} transactions, {int(labels['is_fraud'].sum()):,} fraudulent")
    print(labels[labels["is_fraud"]].groupby("typology").size().to_string())


if __name__ == "__main__":
    main()

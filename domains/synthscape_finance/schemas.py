"""The output tables' schemas: one row schema per table (:func:`synthscape.tables.row_schema`),
written by a run as ``release/schemas/<table>.json`` and exported to ``data_schemas/finance/``.

``python -m synthscape_finance.schemas data_schemas/finance`` rewrites the exports; a test keeps
the files, this module and the Parquet files of a run in step. Ids are integers in every table;
a column that may be null says so (nullable integers are ``Int64`` in pandas).
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from synthscape.tables import row_schema
from synthscape_finance import events as E
from synthscape_finance import mcc, population

# column: (type, nullable, description[, enum]); types as in synthscape.tables
TABLES: dict[str, dict[str, tuple]] = {
    "transactions": {
        "tx_id": ("integer", False, "Row id in time order (unique)."),
        "timestamp": ("date-time", False, "Time of the transaction (to the second)."),
        "account_id": ("integer", False, "Account debited (credited for deposits)."),
        "card_id": ("integer", True, "Card used (card-present, card-not-present and ATM)."),
        "merchant_id": ("integer", True, "Merchant of a card transaction."),
        "mcc": ("integer", True, "ISO 18245 merchant category code.",
                sorted(mcc.CODES.tolist())),
        "counterparty_id": ("integer", True, "Receiving account of a transfer (null: none "
                                             "or outside the bank)."),
        "channel": ("string", False, "How the money moved.", list(E.CHANNELS)),
        "amount": ("number", False, "US dollars, > 0 (the amount attempted)."),
        "status": ("string", False, "approved, or declined: over the product's overdraft "
                                    "limit (declined_funds) or wrong card details "
                                    "(declined_card); a declined row posts nothing.",
                   list(E.STATUSES)),
        "device_id": ("integer", True, "Device of a card-not-present purchase or transfer."),
        "region": ("integer", False, "Region where the transaction happened."),
        "balance_before": ("number", False, "Account balance before (dollars)."),
        "balance_after": ("number", False, "Account balance after (dollars)."),
        "cp_balance_before": ("number", True, "Counterparty balance before a transfer."),
        "cp_balance_after": ("number", True, "Counterparty balance after a transfer."),
        "alerted": ("boolean", False, "Observed label: reported or alerted (not the truth)."),
    },
    "tx_labels": {
        "tx_id": ("integer", False, "Joins transactions.tx_id."),
        "is_fraud": ("boolean", False, "Ground truth: fraudulent card or account use."),
        "is_laundering": ("boolean", False, "Ground truth: part of money laundering."),
        "typology": ("string", False, "Pattern the row belongs to ('none': background).",
                     list(E.TYPOLOGY_NAMES)),
        "pattern_id": ("integer", True, "Instance of the pattern (null: background)."),
        "stage": ("string", False, "Step within the pattern.", list(E.STAGES)),
    },
    "accounts": {
        "account_id": ("integer", False, "Account id (a random permutation)."),
        "customer_id": ("integer", False, "Owner."),
        "card_id": ("integer", False, "The account's card."),
        "account_kind": ("string", False, "Kind of account.", list(population.ACCOUNT_KINDS)),
        "opening_balance": ("number", False, "Balance at the start (dollars)."),
        "closing_balance": ("number", False, "Balance at the end (dollars)."),
        "default_day": ("integer", True, "Day the account defaulted and went dormant."),
        "alerted": ("boolean", False, "Observed label: the account was alerted."),
    },
    "account_labels": {
        "account_id": ("integer", False, "Joins accounts.account_id."),
        "is_laundering": ("boolean", False, "Ground truth: the account launders money."),
        "role": ("string", False, "Role in its laundering pattern.", list(E.ROLES)),
        "typology": ("string", False, "Laundering pattern of the account.",
                     list(E.TYPOLOGY_NAMES)),
        "pattern_id": ("integer", True, "Pattern instance (null: none)."),
    },
    "customers": {
        "customer_id": ("integer", False, "Customer id (a random permutation)."),
        "age_band": ("string", False, "Age band.", list(population.AGE_BANDS)),
        "income": ("number", False, "Annual income (dollars)."),
        "region": ("integer", False, "Home region."),
        "segment": ("string", False, "Customer segment.", list(population.SEGMENTS)),
        "sensitive_group": ("string", False, "Protected attribute for fairness reports.",
                            ["A", "B"]),
    },
    "merchants": {
        "merchant_id": ("integer", False, "Merchant id (a random permutation)."),
        "mcc": ("integer", False, "ISO 18245 merchant category code.",
                sorted(mcc.CODES.tolist())),
        "category": ("string", False, "Category name.", list(mcc.NAMES)),
        "region": ("integer", False, "Region."),
        "lat": ("number", False, "Latitude."),
        "lon": ("number", False, "Longitude."),
    },
    "transfer_edges": {
        "src_account_id": ("integer", False, "Sender in the legitimate transfer graph."),
        "dst_account_id": ("integer", False, "Receiver."),
    },
}


def json_schema(table: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one row of ``table`` (the learned path writes its
    synthetic customers, accounts, transactions and tx_labels with these same schemas)."""
    return row_schema("finance", table, TABLES[table])


def export(folder: str | Path) -> list[Path]:
    from synthscape.tables import export_row_schemas

    return export_row_schemas(folder, list(TABLES), json_schema)


if __name__ == "__main__":
    for p in export(sys.argv[1] if len(sys.argv) > 1 else "data_schemas/finance"):
        print(p)

import pytest

from synthscape_finance.spec import AML_TYPOLOGIES, CARD_TYPOLOGIES, TransactionsSpec


def small_spec(**over) -> TransactionsSpec:
    """Every typology on, at rates high enough for a few patterns of each in a small world."""
    typ = {t: {"rate": 0.02} for t in CARD_TYPOLOGIES + AML_TYPOLOGIES}
    typ["merchant_compromise"] = {"rate": 0.05, "cards_per_breach": [5, 10]}
    doc = {"population": {"customers": 1500, "merchants": 400, "days": 21},
           "typologies": typ,
           "noise": {"lone_fraud": {"rate": 0.01}, "lone_laundering": {"rate": 0.01},
                     "small_burst": {"rate": 0.01}, "payroll": {"rate": 0.01},
                     "cash_business": {"rate": 0.01}},
           "chunk_days": 5, "seed": 3}
    doc.update(over)
    return TransactionsSpec.model_validate(doc)


@pytest.fixture(scope="session")
def tables():
    from synthscape_finance import simulate

    t = simulate(small_spec())
    t["joined"] = t["transactions"].merge(t["tx_labels"], on="tx_id", validate="1:1")
    return t

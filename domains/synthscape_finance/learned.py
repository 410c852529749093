"""The learned path: a core DP generator fitted to one summarised row per customer, and
rare-event oversampling by conditional sampling from it.

Privacy unit. Each customer contributes exactly one row (their transactions summarised into
bounded features, clipped to declared bounds), so the generator's add/remove-one-row guarantee
is an add/remove-one-customer-with-all-their-transactions guarantee; the ledger's budget says
``unit="customer"``. Real rows are never duplicated before training: oversampling draws extra
minority rows from the fitted generator (post-processing, free), for the training split only.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthscape.random import train_test_split

# Declared bounds (not read from the data, so they cost no budget): (name, lower, upper).
NUMERIC = (("n_tx", 0, 400), ("mean_amount", 0, 2_000), ("max_amount", 0, 20_000),
           ("cnp_share", 0, 1), ("night_share", 0, 1), ("transfer_share", 0, 1),
           ("n_devices", 0, 20), ("n_cash_deposits", 0, 30))


def customer_schema():
    from synthscape.schema import Column, TableSchema

    cols = [Column(name=n, kind="numerical", lower=lo, upper=hi) for n, lo, hi in NUMERIC]
    cols += [Column(name="age_band", kind="categorical",
                    categories=("18-25", "26-40", "41-60", "61+")),
             Column(name="sensitive_group", kind="categorical", categories=("A", "B")),
             Column(name="is_fraud", kind="categorical", categories=("no", "yes"),
                    description="any fraudulent transaction on the customer's accounts")]
    return TableSchema(columns=tuple(cols), name="customer_features")


def customer_features(tx: pd.DataFrame, accounts: pd.DataFrame,
                      customers: pd.DataFrame) -> pd.DataFrame:
    """One row per customer from transactions joined with their labels (``is_fraud``)."""
    owner = accounts.set_index("account_id")["customer_id"]
    d = pd.DataFrame({
        "customer_id": owner.reindex(tx["account_id"]).to_numpy(),
        "amount": tx["amount"].to_numpy(),
        "cnp": (tx["channel"].astype(str) == "cnp").to_numpy(),
        "night": (tx["timestamp"].dt.hour < 6).to_numpy(),
        "transfer": (tx["channel"].astype(str) == "transfer").to_numpy(),
        "cash": (tx["channel"].astype(str) == "cash_deposit").to_numpy(),
        "device": tx["device_id"].to_numpy(),
        "fraud": tx["is_fraud"].to_numpy(),
    })
    g = d.groupby("customer_id")
    out = pd.DataFrame({
        "n_tx": g.size(), "mean_amount": g["amount"].mean(), "max_amount": g["amount"].max(),
        "cnp_share": g["cnp"].mean(), "night_share": g["night"].mean(),
        "transfer_share": g["transfer"].mean(), "n_devices": g["device"].nunique(),
        "n_cash_deposits": g["cash"].sum(), "fraud": g["fraud"].any()})
    c = customers.set_index("customer_id")
    out["age_band"] = c.loc[out.index, "age_band"].to_numpy()
    out["sensitive_group"] = c.loc[out.index, "sensitive_group"].to_numpy()
    out["is_fraud"] = np.where(out.pop("fraud"), "yes", "no")
    for n, lo, hi in NUMERIC:  # bound each customer's contribution
        out[n] = out[n].astype(float).clip(lo, hi)
    return out.reset_index(drop=True)


def fit_generator(train: pd.DataFrame, schema, *, generator: str = "mst",
                  epsilon: float | None = 1.0, delta: float = 1e-6, seed: int = 0):
    """Fit a registered core generator with a customer-level ledger (``epsilon=None``: the
    generator's non-private baseline, e.g. ``gaussian_copula``)."""
    from synthscape.generators import GENERATORS, make
    from synthscape.privacy import Budget, NoiseSource, PrivacyLedger

    cls = GENERATORS.get(generator)
    if cls.private and epsilon is not None:
        gen = make(generator, epsilon=epsilon, delta=delta, seed=seed, out_of_bounds="clip")
        ledger = PrivacyLedger(Budget(epsilon=epsilon, delta=delta, unit="customer"),
                               accountant=gen.accountant,
                               noise=NoiseSource.for_data(train, purpose=generator, seed=seed))
        return gen.fit(train, schema, ledger=ledger)
    params: dict[str, Any] = {"seed": seed}
    if "out_of_bounds" in cls.param_names():
        params["out_of_bounds"] = "clip"
    return make(generator, **params).fit(train, schema)


def augment(gen, n: int, target: str, positive, seed: int = 0) -> pd.DataFrame:
    """``n`` synthetic rows of the positive class (conditional sampling: post-processing)."""
    if n <= 0:
        return gen.sample(0, seed=seed)
    return gen.sample(int(n), conditions={target: positive}, seed=seed)


def rows_to_reach(n_pos: int, n_total: int, share: float) -> int:
    """Synthetic positives to add so the positive share becomes ``share``."""
    return max(int(np.ceil((share * n_total - n_pos) / (1.0 - share))), 0)


def learned_section(ctx, spec, sim, sample: pd.DataFrame) -> None:
    """Fit on a training split of the sampled customers, augment, and compare a detector
    trained without and with the synthetic minority rows on the held-out customers."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    from synthscape_finance.metrics import detection_scores

    cfg = spec.learned
    tables = sim.account_tables()
    statics = sim.static_tables()
    rows = sample[sample["in_sample"]]
    feats = customer_features(rows, tables["accounts"], statics["customers"])
    train, test = train_test_split(feats, cfg.test_fraction, spec.seed, "finance.customers")
    schema = customer_schema()
    gen = fit_generator(train, schema, generator=cfg.generator, epsilon=cfg.epsilon,
                        delta=cfg.delta, seed=spec.seed)
    ctx.set_ledger(gen.ledger_)
    n_pos = int((train["is_fraud"] == "yes").sum())
    extra = augment(gen, rows_to_reach(n_pos, len(train), cfg.fraud_share), "is_fraud", "yes",
                    seed=spec.seed)
    released = gen.sample(cfg.rows, conditions={"is_fraud": {"yes": cfg.fraud_share,
                                                             "no": 1 - cfg.fraud_share}},
                          seed=spec.seed + 1)
    from synthscape_finance.schemas import json_schema

    ctx.write_table("customer_features_synthetic", released,
                    schema=json_schema("customer_features_synthetic"))

    def fit_score(df: pd.DataFrame) -> dict:
        X, y = _design(df), (df["is_fraud"] == "yes").to_numpy()
        m = HistGradientBoostingClassifier(random_state=spec.seed).fit(X, y)
        return detection_scores((test["is_fraud"] == "yes").to_numpy(),
                                m.predict_proba(_design(test))[:, 1])

    table = []
    if n_pos >= 2 and (test["is_fraud"] == "yes").sum() >= 2:
        table.append({"arm": "real training split", **fit_score(train)})
        table.append({"arm": f"+ {len(extra)} synthetic fraud rows",
                      **fit_score(pd.concat([train, extra], ignore_index=True))})
    ctx.report.add_section(
        "learned", title="Learned generator with the customer as the unit of privacy",
        scores={"generator": cfg.generator, "epsilon_spent": _eps(gen.ledger_),
                "train_customers": len(train), "test_customers": len(test),
                "train_fraud_customers": n_pos, "synthetic_fraud_rows": len(extra)},
        tables={"detector_on_held_out_customers": table},
        notes=[gen.ledger_.describe(),
               "One bounded summary row per customer: adding or removing a customer with all "
               "their transactions changes one row, so the row-level ledger is a "
               "customer-level guarantee. Synthetic fraud rows come from conditional sampling "
               "of the generator fitted on the training split only; no real row is duplicated.",
               "Customers are those of the analysis sample; with few fraud customers the "
               "detector comparison is noisy (see benchmarks/finance.py for a paired study)."])


def _eps(ledger) -> float | None:
    e = ledger.epsilon
    return None if not np.isfinite(e) else float(e)


def _design(df: pd.DataFrame) -> pd.DataFrame:
    X = df[[n for n, _, _ in NUMERIC]].astype(float).copy()
    X["age_band"] = pd.Categorical(df["age_band"], categories=("18-25", "26-40", "41-60",
                                                               "61+")).codes
    X["sensitive_group"] = (df["sensitive_group"] == "B").astype(int)
    return X

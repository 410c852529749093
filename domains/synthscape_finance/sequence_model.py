"""The one place the finance pack calls the core's DP event-sequence generator (``dp_sequence``)
and its sequence metrics, so that the rest of the pack depends on four small functions.

The customer is the unit of privacy: one entity with its whole transaction history.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

GENERATOR = "dp_sequence"
LENGTH_BY = "is_fraud"  # victims' histories are longer: their own DP length histogram


def available() -> bool:
    """Whether the core registers the sequence generator."""
    from synthscape.generators import SEQUENCE_GENERATORS

    return GENERATOR in SEQUENCE_GENERATORS.names()


def make(schema, *, epsilon: float, delta: float, seed: int, expected_entities: int | None,
         params: dict[str, Any] | None = None):
    """An unfitted generator with the declared ``schema`` and a customer-level budget; the
    number of transactions per customer is drawn from a DP histogram per value of the customer
    label (``length_by``, unless ``params`` says otherwise)."""
    from synthscape.errors import UnknownNameError
    from synthscape.generators import make as make_generator

    labelled = schema.entities is not None and LENGTH_BY in schema.entities.names
    params = {**({"length_by": LENGTH_BY} if labelled else {}), **(params or {})}
    try:
        return make_generator(GENERATOR, epsilon=float(epsilon), delta=float(delta),
                              seed=int(seed), schema=schema,
                              expected_entities=expected_entities, **params)
    except UnknownNameError:
        raise UnknownNameError(
            f"the finance learned path needs the core generator '{GENERATOR}', which this "
            f"installation of synthscape does not register; upgrade synthscape") from None


def fit(gen, entities: pd.DataFrame, events: pd.DataFrame, schema):
    """Fit on the customers (entities) and their transactions (events): one customer with
    their whole history is one unit of privacy. dp_sequence's record is the entity, and its
    ledger names the unit ``record``; the budget is relabelled ``unit="customer"`` (same
    epsilon and delta: only the name of the neighbouring relation changes)."""
    from synthscape.privacy import Budget

    gen.fit(events, entities, entity_key=schema.entity_key, time_key=schema.time_key)
    b = gen.ledger_.budget
    if b is not None and b.unit == "record":
        gen.ledger_.budget = Budget(epsilon=b.epsilon, delta=b.delta, unit="customer")
    return gen


def sample(gen, n_customers: int, *, fraud_share: float | None, seed: int,
           rounds: int = 8) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``n_customers`` synthetic customers with their transactions, ``fraud_share`` of them
    fraud victims (None: as the generator draws them). All post-processing (free):

    - a victim is drawn conditioned on its label and on at least one fraudulent transaction;
    - a customer labelled ``no`` is drawn until its history has no fraudulent transaction (at
      most ``rounds`` rounds; the rest keep their rows with the fraud flag cleared);
    - without a share, the label is made to agree with the history.

    The customer's label and its transactions' labels then agree everywhere."""
    seed = int(seed)
    if fraud_share is None:
        ents, evs = gen.sample(int(n_customers), seed=seed)
        victims = set(evs.loc[evs["is_fraud"].astype(bool), KEY])
        ents["is_fraud"] = np.where(ents[KEY].isin(victims), "yes", "no")
        return ents, evs
    n_yes = int(round(n_customers * float(fraud_share)))
    parts = []
    if n_yes:
        parts.append(gen.sample(n_yes, conditions={"is_fraud": "yes",
                                                   "events": {"is_fraud": True}}, seed=seed))
    need, r = int(n_customers) - n_yes, 0
    while need > 0:
        ents, evs = gen.sample(need if r == rounds else max(2 * need, 16),
                               conditions={"is_fraud": "no"}, seed=seed + 1 + r)
        if r < rounds:
            clean = ~ents[KEY].isin(set(evs.loc[evs["is_fraud"].astype(bool), KEY]))
            ents = ents[clean].head(need)
            evs = evs[evs[KEY].isin(set(ents[KEY]))]
        else:
            evs = evs.assign(is_fraud=False)
        parts.append((ents, evs))
        need -= len(ents)
        r += 1
    return _concat(parts)


KEY = "customer_id"


def _concat(parts: list[tuple[pd.DataFrame, pd.DataFrame]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One (entities, events) pair from several draws, with fresh distinct entity keys."""
    ents, evs = [], []
    for i, (e, v) in enumerate(parts):
        ids = {k: f"{i}-{k}" for k in e[KEY]}
        ents.append(e.assign(**{KEY: e[KEY].map(ids)}))
        evs.append(v.assign(**{KEY: v[KEY].map(ids)}))
    return (pd.concat(ents, ignore_index=True),
            pd.concat(evs, ignore_index=True).sort_values([KEY, "timestamp"], kind="stable")
            .reset_index(drop=True))


def report(real_entities: pd.DataFrame, real_events: pd.DataFrame, syn_entities: pd.DataFrame,
           syn_events: pd.DataFrame, schema) -> dict[str, Any]:
    """The core's sequence metrics (event-column TVDs, per-customer count and inter-event
    time KS, hour-of-day and day-of-week TVD, bigram distance) of the synthetic log against
    real customers (internal evaluation), whose transactions are first cut as the generator
    cuts its training histories: inside ``schema``'s time range, the first ``max_events`` of
    each customer in time order (what the generator can represent)."""
    from synthscape.evaluation.sequences import sequence_report

    t = pd.to_datetime(real_events[schema.time_key])
    inside = real_events[(t >= schema.start) & (t < schema.end)]
    cut = (inside.sort_values([schema.entity_key, schema.time_key], kind="stable")
           .groupby(schema.entity_key, sort=False).head(schema.max_events))
    return sequence_report(real_entities, cut, syn_entities, syn_events, schema)

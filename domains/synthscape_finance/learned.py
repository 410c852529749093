"""The learned path: fit the core's DP event-sequence generator to a transaction log with the
customer as the unit of privacy, and sample a synthetic log in the simulator's table layout
with the fraud share asked for.

>>> from synthscape_finance import learn            # doctest: +SKIP
>>> out = learn("tx.parquet", "customers.parquet", labels="tx_labels.parquet",
...             accounts="accounts.parquet", epsilon=1.0, customers_out=5000, fraud_share=0.2,
...             time_bounds=("2025-01-01", "2025-04-01"))
>>> out.tables["transactions"], out.ledger.describe()

Privacy. Each customer is one entity with all their transactions (the first ``max_events``
in time order; the ledger says so), so the generator's add/remove-one-entity guarantee is an
add/remove-one-customer guarantee. The fraud share is reached by conditional sampling on the
customer's label (post-processing, free); no real customer is duplicated.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from synthscape_finance import sequence_log, sequence_model


@dataclass
class LearnedLog:
    """A synthetic log: ``tables`` (customers, accounts, transactions, tx_labels), the fitted
    ``generator``, its ``ledger`` and the declared ``schema``."""

    tables: dict[str, pd.DataFrame]
    generator: Any
    schema: Any

    @property
    def ledger(self):
        return self.generator.ledger_


def learn(transactions: Any, customers: Any, *, labels: Any = None, accounts: Any = None,
          epsilon: float = 1.0, delta: float = 1e-6, customers_out: int = 1_000,
          fraud_share: float | None = 0.2, time_bounds: tuple[str, str] | None = None,
          max_events: int = 256, regions: int = 8, schema: Any = None, seed: int = 0,
          generator: dict[str, Any] | None = None) -> LearnedLog:
    """Fit on a log (paths or DataFrames in the simulator's layout: see
    :mod:`synthscape_finance.sources`) and sample ``customers_out`` synthetic customers, a
    ``fraud_share`` of them fraud victims (None: as the generator draws them).

    ``time_bounds`` (ISO start and end) are the public time range of the log; ``schema`` a
    :class:`~synthscape.schema.SequenceSchema` (or a YAML/JSON file of one) that replaces the
    declared default; ``generator`` extra hyper-parameters of ``dp_sequence``."""
    from synthscape_finance.sources import read_log

    log = read_log(transactions, customers, labels=labels, accounts=accounts)
    schema = resolve_schema(schema, time_bounds=time_bounds, max_events=max_events,
                            regions=regions)
    ents, evs = sequence_log.to_sequences(log["transactions"], log["labels"], log["accounts"],
                                          log["customers"])
    return fit_and_sample(ents, evs, schema, epsilon=epsilon, delta=delta,
                          customers_out=customers_out, fraud_share=fraud_share, seed=seed,
                          regions=regions, generator=generator)


def resolve_schema(schema: Any, *, time_bounds, max_events: int, regions: int):
    """A given schema (object or file), or the declared default over ``time_bounds``."""
    from pathlib import Path

    from synthscape.errors import SchemaError
    from synthscape.schema import SequenceSchema

    if isinstance(schema, SequenceSchema):
        return schema
    if schema is not None:
        p = Path(schema)
        return SequenceSchema.from_json(p) if p.suffix == ".json" else \
            SequenceSchema.from_yaml(p)
    if time_bounds is None:
        raise SchemaError("the learned path needs the public time range of the log: give "
                          "time_bounds=(start, end) as ISO timestamps (learned.time_bounds in "
                          "YAML), or a sequence schema file that declares it")
    return sequence_log.sequence_schema(start=time_bounds[0], end=time_bounds[1],
                                        max_events=max_events, regions=regions)


def fit_and_sample(entities: pd.DataFrame, events: pd.DataFrame, schema, *, epsilon: float,
                   delta: float, customers_out: int, fraud_share: float | None, seed: int,
                   regions: int = 8, generator: dict[str, Any] | None = None,
                   expected_entities: int | None = None) -> LearnedLog:
    """Fit ``dp_sequence`` to customer sequences and sample the synthetic tables."""
    gen = sequence_model.make(schema, epsilon=epsilon, delta=delta, seed=seed,
                              expected_entities=expected_entities, params=generator)
    sequence_model.fit(gen, entities, events, schema)
    ents, evs = sequence_model.sample(gen, customers_out, fraud_share=fraud_share, seed=seed)
    tables = sequence_log.to_tables(ents, evs, seed=seed, regions=regions)
    return LearnedLog(tables=tables, generator=gen, schema=schema)

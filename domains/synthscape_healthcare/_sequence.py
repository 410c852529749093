"""The one place the healthcare pack reaches the core ``dp_sequence`` generator.

Everything the pack needs from it goes through these functions, so a change of the core API
touches only this file: the schema type, making a generator, fitting it under the pack's ledger,
sampling, saving and loading.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from synthscape.errors import ParameterError
from synthscape.schema import TableSchema

ENTITY_KEY = "patient_id"
TIME_KEY = "time"


def sequence_schema(entities: TableSchema, events: TableSchema, *, max_events: int,
                    time_bounds: tuple[str, str], max_gap_seconds: float | None = None):
    """The core ``SequenceSchema`` of a cohort (keys ``patient_id`` and ``time``)."""
    from synthscape.schema import SequenceSchema

    return SequenceSchema(entities=entities, events=events, entity_key=ENTITY_KEY,
                          time_key=TIME_KEY, max_events=max_events, time_bounds=time_bounds,
                          max_gap_seconds=max_gap_seconds)


def fit(schema, entities: pd.DataFrame, events: pd.DataFrame, *, ledger, seed: int | None,
        expected_entities: int | None, params: dict[str, Any]):
    """A ``dp_sequence`` model fitted under what is left of ``ledger``'s budget, whose events
    are then composed into ``ledger`` (one ledger per release: the vocabulary release and the
    training sit in it together). A non-private ``ledger`` trains without DP."""
    from synthscape.generators import make as make_generator

    if ledger.budget is None:
        epsilon, delta = None, ledger.delta
    else:
        # RDP composition of the two parts is no worse than the sum of their epsilons at the
        # same delta; a small margin covers the delta the thresholded release holds
        epsilon, delta = ledger.remaining_epsilon * 0.97, ledger.delta
        if not epsilon > 0:
            raise ParameterError("the vocabulary release left no budget for training; lower "
                                 "vocabulary_share or declare the vocabulary")
    try:
        gen = make_generator("dp_sequence", epsilon=epsilon, delta=delta, seed=seed,
                             schema=schema, expected_entities=expected_entities,
                             accountant=ledger.accountant_name, **params)
    except TypeError as exc:
        raise ParameterError(f"the sequence parameters hold one dp_sequence does not take: "
                             f"{exc}") from None
    gen.fit(events, entities, entity_key=ENTITY_KEY, time_key=TIME_KEY)
    ledger.absorb(gen.ledger_, label="dp_sequence training")
    return gen


def sample(gen, n: int, *, conditions: dict | None, seed: int | None
           ) -> tuple[pd.DataFrame, pd.DataFrame]:
    return gen.sample(n, conditions=conditions or None, seed=seed)


def save(gen, folder: Path) -> None:
    gen.save(folder)


def load(folder: Path):
    from synthscape.generators import load as load_generator

    return load_generator(folder)

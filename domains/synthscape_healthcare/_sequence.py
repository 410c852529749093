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
# a record's codes repeat (labs at every visit): which patients carry a code (prevalence) is
# what the margin release and its calibration hold, not each code's share of events
MARGIN_EVENTS = "presence"
# histories follow age: how many events a patient has, which codes and whether the record ends
# in a death are released and calibrated per run of birth years (on NAFLD at epsilon 1, one
# release for the whole cohort gave the same 9% of deaths and 17-18 events to patients aged 20
# and 80 at the index date; real: 0.4% and 8 events against 43% and 42 events)
GROUP_BY = {"length_by": "birth_year", "margin_by": "birth_year"}
# visits come days to years apart: a narrow gap kernel around the expected gap (years, for a
# short record over decades) left almost no gaps under three weeks (NAFLD: 1% against 15%)
GAP_SPREAD = 2.0
# the kernel still puts too many visits days apart in long records and too few in short ones
# (NAFLD, 64 events: 2.6% of gaps of one day against 1.1% real); a small release of the gap
# profile that sampling is calibrated to (dp_sequence's gap_share) pulls them back
GAP_SHARE = 0.02
TIME_KEY = "time"


def sequence_schema(entities: TableSchema, events: TableSchema, *, max_events: int,
                    time_bounds: tuple[str, str], max_gap_seconds: float | None = None,
                    anchor: str | None = None):
    """The core ``SequenceSchema`` of a cohort (keys ``patient_id`` and ``time``)."""
    from synthscape.schema import SequenceSchema

    return SequenceSchema(entities=entities, events=events, entity_key=ENTITY_KEY,
                          time_key=TIME_KEY, max_events=max_events, time_bounds=time_bounds,
                          max_gap_seconds=max_gap_seconds, anchor=anchor)


def fit(schema, entities: pd.DataFrame, events: pd.DataFrame, *, ledger, seed: int | None,
        expected_entities: int | None, params: dict[str, Any]):
    """A ``dp_sequence`` model fitted under what is left of ``ledger``'s budget, whose events
    are then composed into ``ledger`` (one ledger per release: the vocabulary release and the
    training sit in it together). A non-private ``ledger`` trains without DP."""
    from synthscape.errors import BudgetExceededError

    if ledger.budget is None:
        gen = _fit_at(None, schema, entities, events, ledger=ledger, seed=seed,
                      expected_entities=expected_entities, params=params)
        ledger.absorb(gen.ledger_, label="dp_sequence training")
        return gen
    # the sum of the parts' epsilons bounds their composition, but wastes what the releases
    # before the training cost alone beyond their share of the composition; so the training
    # first takes the epsilon of a Gaussian mechanism holding all the zCDP rho left (DP-SGD
    # over many steps composes much like one), and falls back to the sum rule when the
    # composition checked on absorbing would pass the budget (nothing is spent then)
    safe = ledger.remaining_epsilon * 0.97  # the margin covers the thresholded release's delta
    if not safe > 0:
        raise ParameterError("the releases before training left no budget for it; lower "
                             "vocabulary_share or subgroup_share, or declare the vocabulary")
    for epsilon in sorted({max(_gaussian_epsilon(ledger) * 0.97, safe), safe}, reverse=True):
        gen = _fit_at(epsilon, schema, entities, events, ledger=ledger, seed=seed,
                      expected_entities=expected_entities, params=params)
        try:
            ledger.absorb(gen.ledger_, label="dp_sequence training")
            return gen
        except BudgetExceededError:
            if epsilon == safe:
                raise
    raise AssertionError("unreachable: the sum rule's epsilon is always tried")


def _gaussian_epsilon(ledger) -> float:
    """The epsilon, alone, of a Gaussian mechanism with all the zCDP rho ``ledger`` has left."""
    from synthscape.privacy import Budget, PrivacyLedger
    from synthscape.privacy.events import ZCdpEvent

    alone = PrivacyLedger(Budget(epsilon=1e6, delta=ledger.delta),
                          accountant=ledger.accountant_name)
    alone.spend(ZCdpEvent(rho=ledger.remaining_rho(1.0)))
    return alone.epsilon


def _fit_at(epsilon: float | None, schema, entities: pd.DataFrame, events: pd.DataFrame, *,
            ledger, seed: int | None, expected_entities: int | None, params: dict[str, Any]):
    from synthscape.generators import make as make_generator

    try:
        gen = make_generator("dp_sequence", epsilon=epsilon, delta=ledger.delta, seed=seed,
                             schema=schema, expected_entities=expected_entities,
                             accountant=ledger.accountant_name,
                             **{"margin_events": MARGIN_EVENTS, "gap_spread": GAP_SPREAD,
                                "gap_share": GAP_SHARE,
                                **GROUP_BY, **params})
    except TypeError as exc:
        raise ParameterError(f"the sequence parameters hold one dp_sequence does not take: "
                             f"{exc}") from None
    return gen.fit(events, entities, entity_key=ENTITY_KEY, time_key=TIME_KEY)


def sample(gen, n: int, *, conditions: dict | None, seed: int | None
           ) -> tuple[pd.DataFrame, pd.DataFrame]:
    return gen.sample(n, conditions=conditions or None, seed=seed)


def save(gen, folder: Path) -> None:
    gen.save(folder)


def load(folder: Path):
    from synthscape.generators import load as load_generator

    return load_generator(folder)

"""Typologies: which accounts join which pattern, and the labelled events each pattern adds."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from synthscape_finance import events as E
from synthscape_finance.spec import NOISE, TYPOLOGIES, typology_rates
from synthscape_finance.typologies._common import Builder
from synthscape_finance.typologies.aml import BUILDERS as AML
from synthscape_finance.typologies.card import BUILDERS as CARD
from synthscape_finance.typologies.noise import BUILDERS as NOISE_BUILDERS

BUILDERS: dict[str, Callable[..., None]] = {**CARD, **AML, **NOISE_BUILDERS}


def assign(spec, n_accounts: int, rng: np.random.Generator) -> np.ndarray:
    """One categorical draw per account: 0 = background, i = the i-th name of
    ``TYPOLOGIES + NOISE`` (so an account joins at most one typology)."""
    rates = typology_rates(spec)
    p = np.array([rates[n] for n in (*TYPOLOGIES, *NOISE)])
    probs = np.r_[max(1.0 - p.sum(), 0.0), p]
    return rng.choice(len(probs), size=n_accounts, p=probs / probs.sum()).astype(np.int8)


def build(spec, world, rng: np.random.Generator) -> tuple[Builder, dict[str, np.ndarray]]:
    """All typology, lone and look-alike events of the whole horizon, unsorted."""
    horizon = spec.population.days * 86_400
    b = Builder(world=world, horizon=horizon, rng=rng)
    drawn = assign(spec, world.n_accounts, rng)
    names = (*TYPOLOGIES, *NOISE)
    for code, name in enumerate(names, start=1):
        acc = np.flatnonzero(drawn == code).astype(np.int32)
        params = getattr(spec.typologies, name) if name in TYPOLOGIES else \
            getattr(spec.noise, name)
        if name == "cash_business":
            BUILDERS[name](b, acc, params, threshold=spec.typologies.structuring.threshold)
        else:
            BUILDERS[name](b, acc, params)
    return b, E.concat(b.blocks)


__all__ = ["BUILDERS", "Builder", "assign", "build"]

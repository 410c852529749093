"""The balance pass split in two (``settle`` on the ledger columns, ``postings`` from the
balances before) gives what ``apply`` gives in one: statuses, drain amounts, carried balances
and every row's balances, whatever the events."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("synthscape_finance")
from synthscape_finance import balances  # noqa: E402
from synthscape_finance import events as E  # noqa: E402


def _events(seed: int, n: int, accounts: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    channel = rng.integers(0, len(E.CHANNELS), n).astype(np.int8)
    transfer = channel == E.TRANSFER
    cp = np.where(transfer & (rng.random(n) < 0.8), rng.integers(0, accounts, n), -1)
    status = np.where(rng.random(n) < 0.05, E.DECLINED_CARD, E.APPROVED).astype(np.int8)
    drain = ~np.isin(channel, E.CREDIT_CHANNELS) & (rng.random(n) < 0.05)
    amount = np.where(drain, rng.integers(1, 1001, n), rng.integers(1, 50_000, n))
    return E.make(n, t=np.sort(rng.integers(0, 86_400, n)), acc=rng.integers(0, accounts, n),
                  cp=cp, channel=channel, amount=amount, status=status, drain=drain)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 400), accounts=st.integers(1, 30),
       limited=st.booleans())
def test_settle_then_postings_is_apply(seed, n, accounts, limited):
    rng = np.random.default_rng(seed ^ 0x5EED)
    opening = rng.integers(-20_000, 60_000, accounts)
    limit = rng.integers(0, 30_000, accounts) if limited else None

    whole = _events(seed, n, accounts)
    carry_whole = opening.copy()
    want = balances.apply(whole, carry_whole, limit)

    full = _events(seed, n, accounts)
    ledger = {k: full[k].copy() for k in balances.LEDGER}
    drains = np.flatnonzero(ledger["drain"])
    carry = opening.copy()
    balances.settle(ledger, carry, limit)
    np.testing.assert_array_equal(carry, carry_whole)
    np.testing.assert_array_equal(ledger["status"], whole["status"])

    # what a worker does with the decisions: the drain amounts, the statuses, the balances
    full["amount"][drains] = ledger["amount"][drains]
    full["drain"][drains] = False
    full["status"] = ledger["status"]
    before = opening.copy()
    got = balances.postings(full, before)
    np.testing.assert_array_equal(before, carry_whole)
    np.testing.assert_array_equal(full["amount"], whole["amount"])
    for key, value in want.items():
        np.testing.assert_array_equal(got[key], value, err_msg=key)
    if limited and n:
        after = want["after"]
        debit = ~np.isin(whole["channel"], E.CREDIT_CHANNELS) & (whole["status"] == E.APPROVED)
        assert np.all(after[debit] >= -limit[whole["acc"][debit]])

"""Running balances that add up exactly: every debit, credit and both sides of a transfer are
postings in integer cents, applied in time order per account and carried across chunks.

A debit that would take its account below minus the overdraft limit of the account's product
is declined: it stays in the log as an attempt (status ``declined_funds``) and posts nothing.
Declines are found in time order per account; declining one debit leaves more money for the
next, so each round declines, per account, the longest run of violating debits that stay
violating once the earlier ones of the run are declined (exactly what a row-by-row pass would
decline), and the rounds repeat until no approved debit breaches its limit."""
from __future__ import annotations

import numpy as np

from synthscape_finance import events as E

_BITS = 24
_MASK = (1 << _BITS) - 1
LEDGER = ("acc", "cp", "channel", "amount", "status", "drain")  # the columns balances read


def sort_perm(major: np.ndarray) -> np.ndarray:
    """Stable permutation sorting non-negative ``major``: one sort of packed int64 keys
    (value, position), about twice as fast as ``argsort`` on this machine."""
    if len(major) > _MASK:
        raise ValueError("a chunk holds at most 16.7M rows; lower chunk_days")
    key = (major.astype(np.int64) << _BITS) | np.arange(len(major), dtype=np.int64)
    key.sort()
    return key & _MASK


def _running(acc: np.ndarray, delta: np.ndarray, carry: np.ndarray) -> np.ndarray:
    """Balance after each posting; postings of one account apply in their given order, which
    is time order. Updates ``carry`` (balance of every account at the end)."""
    if not len(acc):
        return np.empty(0, np.int64)
    o = sort_perm(acc)
    a, d = acc[o], delta[o]
    cs = np.cumsum(d)
    first = np.flatnonzero(np.r_[True, a[1:] != a[:-1]])
    sizes = np.diff(np.r_[first, len(a)])
    after = carry[a] + cs - np.repeat(cs[first] - d[first], sizes)
    last = np.r_[first[1:] - 1, len(a) - 1]
    carry[a[last]] = after[last]
    out = np.empty_like(after)
    out[o] = after
    return out


def apply(ev: dict[str, np.ndarray], carry: np.ndarray,
          limit: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Balances for time-sorted events ``ev``; fills drain amounts from the balance first and
    declines debits over ``limit`` (cents per account; None: no limit), setting
    ``ev["status"]``.

    Returns ``before``/``after`` of the account and ``cp_before``/``cp_after`` of the
    counterparty (equal to -1 sentinel rows where there is none; see ``has_cp``)."""
    n = len(ev["acc"])
    _resolve(ev, carry, limit)
    out = postings(ev, carry)
    assert len(out["after"]) == n
    return out


def settle(ev: dict[str, np.ndarray], carry: np.ndarray,
           limit: np.ndarray | None = None) -> None:
    """:func:`apply` without the per-row balances: fills the drain amounts, sets
    ``ev["status"]`` and moves ``carry`` to the end of the events. ``ev`` needs only the
    :data:`LEDGER` columns. ``postings(ev, carry_before)`` afterwards gives the rows' balances
    that :func:`apply` returns."""
    _resolve(ev, carry, limit)
    amount = _posted(ev)
    credit = np.isin(ev["channel"], E.CREDIT_CHANNELS)
    np.add.at(carry, ev["acc"], np.where(credit, amount, -amount))
    to = np.flatnonzero(ev["cp"] >= 0)
    np.add.at(carry, ev["cp"][to], amount[to])


def postings(ev: dict[str, np.ndarray], carry: np.ndarray) -> dict[str, np.ndarray]:
    """Per-row balances of settled events (drains filled, statuses set) from ``carry`` (the
    balances before them; moved to the end)."""
    return _postings(ev, _posted(ev), carry)


def _resolve(ev: dict[str, np.ndarray], carry: np.ndarray, limit: np.ndarray | None) -> None:
    """Fill the drain amounts and decline over ``limit``; ``carry`` is left as it was."""
    drains = np.flatnonzero(ev["drain"])
    if len(drains):
        # Balances of the drained accounts only, with the drains at zero, give the balance
        # each drain empties; then one full pass with the real amounts.
        amount = _posted(ev)
        amount[drains] = 0
        touched = np.zeros(len(carry), bool)
        touched[ev["acc"][drains]] = True
        sub = touched[ev["acc"]] | (touched[np.maximum(ev["cp"], 0)] & (ev["cp"] >= 0))
        rows = np.flatnonzero(sub)
        part = {k: v[rows] for k, v in ev.items()}
        bal = _postings(part, amount[rows], carry.copy())
        pos = np.searchsorted(rows, drains)
        before = bal["after"][pos]  # the drain posts zero here, so before == after
        share = ev["amount"][drains]
        ev["amount"][drains] = np.maximum(np.maximum(before, 0) * share // 1000, 1)
        ev["drain"][drains] = False
    if limit is not None:
        _decline(ev, carry, limit)


def _posted(ev: dict[str, np.ndarray]) -> np.ndarray:
    """The amount each row posts: its amount if approved, zero if declined."""
    return np.where(ev["status"] == E.APPROVED, ev["amount"], 0)


def _decline(ev: dict[str, np.ndarray], carry: np.ndarray, limit: np.ndarray) -> None:
    """Mark the debits that would breach their account's limit as ``declined_funds``.

    The first round checks every account; a later round only the accounts whose postings the
    last round changed (those that declined a debit, and the counterparties of declined
    transfers, which lost a credit), over every row that touches them, so their balances are
    exact. Any other account's postings did not change, so it still breaches nothing."""
    rows = np.arange(len(ev["acc"]))
    check = None
    while True:
        new = _decline_round(ev, carry, limit, rows, check)
        if not len(new):
            return
        check = np.zeros(len(carry), bool)
        check[ev["acc"][new]] = True
        cp = ev["cp"][new]
        check[cp[cp >= 0]] = True
        rows = np.flatnonzero(check[ev["acc"]] | ((ev["cp"] >= 0)
                                                 & check[np.maximum(ev["cp"], 0)]))


def _decline_round(ev: dict[str, np.ndarray], carry: np.ndarray, limit: np.ndarray,
                   rows: np.ndarray, check: np.ndarray | None = None) -> np.ndarray:
    """One round over ``rows`` (all postings of the accounts in ``check``; None: all rows and
    accounts); returns the rows it declined."""
    part = {k: ev[k][rows] for k in ("acc", "cp", "channel", "amount", "status")}
    acc = part["acc"]
    bal = _postings(part, _posted(part), carry.copy())
    viol = ~np.isin(part["channel"], E.CREDIT_CHANNELS) & (part["status"] == E.APPROVED) \
        & (bal["after"] < -limit[acc])
    if check is not None:
        viol &= check[acc]
    bad = np.flatnonzero(viol)
    if not len(bad):
        return bad
    # per account, in time order: declining earlier violations raises the later balances
    o = np.argsort(acc[bad], kind="stable")
    idx, a = bad[o], acc[bad][o]
    amt = part["amount"][idx]
    start = np.flatnonzero(np.r_[True, a[1:] != a[:-1]])
    sizes = np.diff(np.r_[start, len(a)])
    cs = np.cumsum(amt)
    raised = cs - amt - np.repeat(cs[start] - amt[start], sizes)
    still = bal["after"][idx] + raised < -limit[a]
    broken = np.cumsum(~still)
    broken -= np.repeat(broken[start] - (~still[start]), sizes)
    new = rows[idx[still & (broken == 0)]]
    ev["status"][new] = E.DECLINED_FUNDS
    return new


def _postings(ev, amount, carry) -> dict[str, np.ndarray]:
    n = len(amount)
    credit = np.isin(ev["channel"], E.CREDIT_CHANNELS)
    sign = np.where(credit, 1, -1).astype(np.int64)
    has_cp = ev["cp"] >= 0
    # Postings in time order: row i posts to its account, then (transfers) to its counterparty.
    acc = np.stack([ev["acc"], ev["cp"]], axis=1).ravel()
    delta = np.stack([sign * amount, np.where(has_cp, amount, 0)], axis=1).ravel()
    keep = acc >= 0
    after_all = np.zeros(2 * n, np.int64)
    after_all[keep] = _running(acc[keep], delta[keep], carry)
    after = after_all[0::2]
    cp_after = after_all[1::2]
    cp_rows = np.flatnonzero(has_cp)
    cp_before = cp_after.copy()
    cp_before[cp_rows] -= amount[cp_rows]  # a declined transfer posts 0 on either side
    return {"before": after - sign * amount, "after": after, "cp_before": cp_before,
            "cp_after": cp_after, "has_cp": has_cp}

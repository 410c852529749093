"""Money-laundering patterns as in AMLSim (IBM, Suzumura & Kanezashi 2021) and AMLworld
(Altman et al., NeurIPS 2023): fan-in, fan-out, cycle, scatter-gather, gather-scatter,
bipartite, stack, and structuring below the cash reporting threshold (31 CFR 1010.311).

Each group of accounts becomes one pattern: its edges are built as numpy arrays
(source, target, hop position), then turned into transfer events labelled is_laundering.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from synthscape_finance import events as E
from synthscape_finance.typologies._common import DAY, Builder, groups


def pattern_edges(name: str, k: int, rng: np.random.Generator):
    """Edges of one pattern over nodes 0..k-1 as ``(src, dst, hop, roles)``; ``hop`` orders
    the transfers in time and ``roles`` gives each node's role name."""
    r = np.arange(k)
    if name == "fan_in":
        return r[1:], np.zeros(k - 1, int), np.zeros(k - 1, int), ["target"] + ["source"] * (k - 1)
    if name == "fan_out":
        return np.zeros(k - 1, int), r[1:], np.zeros(k - 1, int), ["source"] + ["target"] * (k - 1)
    if name == "cycle":
        return r, (r + 1) % k, r, ["member"] * k
    if name == "scatter_gather":
        mid = r[1:-1]
        src = np.r_[np.zeros(len(mid), int), mid]
        dst = np.r_[mid, np.full(len(mid), k - 1)]
        hop = np.r_[np.zeros(len(mid), int), np.ones(len(mid), int)]
        return src, dst, hop, ["source"] + ["intermediate"] * len(mid) + ["target"]
    if name == "gather_scatter":
        h = (k - 1) // 2
        srcs, tgts = r[:h], r[h + 1:]
        src = np.r_[srcs, np.full(len(tgts), h)]
        dst = np.r_[np.full(len(srcs), h), tgts]
        hop = np.r_[np.zeros(len(srcs), int), np.ones(len(tgts), int)]
        return src, dst, hop, ["source"] * h + ["hub"] + ["target"] * len(tgts)
    if name == "bipartite":
        h = k // 2
        s, t = np.meshgrid(r[:h], r[h:], indexing="ij")
        keep = rng.random(s.shape) < 0.6
        keep[np.arange(h), rng.integers(0, k - h, h)] = True  # every source sends
        keep[rng.integers(0, h, k - h), np.arange(k - h)] = True  # every target receives
        roles = ["source"] * h + ["target"] * (k - h)
        return s[keep], t[keep], np.zeros(int(keep.sum()), int), roles
    if name == "stack":
        layers = np.array_split(r, 3)
        src, dst, hop = [], [], []
        for li in range(2):
            s, t = np.meshgrid(layers[li], layers[li + 1], indexing="ij")
            src.append(s.ravel())
            dst.append(t.ravel())
            hop.append(np.full(s.size, li))
        roles = ["source"] * len(layers[0]) + ["intermediate"] * len(layers[1]) + \
            ["target"] * len(layers[2])
        return np.concatenate(src), np.concatenate(dst), np.concatenate(hop), roles
    raise KeyError(f"unknown laundering pattern {name!r}")


def pattern_graph(name: str, k: int, seed: int = 0):
    """One pattern as a networkx DiGraph (for authoring, plots and tests; generation at scale
    uses the edge arrays of :func:`pattern_edges`). Node attribute ``role``, edge ``hop``."""
    import networkx as nx

    src, dst, hop, roles = pattern_edges(name, k, np.random.default_rng(seed))
    g = nx.DiGraph()
    g.add_nodes_from((i, {"role": r}) for i, r in enumerate(roles))
    g.add_edges_from((int(s), int(d), {"hop": int(h)}) for s, d, h in zip(src, dst, hop))
    return g


MIN_SIZE = {"fan_in": 2, "fan_out": 2, "cycle": 2, "scatter_gather": 3, "gather_scatter": 3,
            "bipartite": 2, "stack": 3}


def transfer_pattern(name: str, b: Builder, acc: np.ndarray, p) -> None:
    typ = E.typ_code(name)
    lo = max(int(p.size[0]), MIN_SIZE[name])
    for g in groups(b.rng.permutation(acc), (lo, max(int(p.size[1]), lo)), b.rng):
        k = len(g)
        pid = b.pids(1)[0]
        src, dst, hop, roles = pattern_edges(name, k, b.rng)
        n_hops = int(hop.max()) + 1
        t0 = b.start_times(1, p.window_days * DAY)[0]
        slot = p.window_days * DAY / n_hops
        t = t0 + ((hop + b.rng.random(len(hop))) * slot).astype(np.int64)
        base = b.rng.uniform(p.amount[0], p.amount[1])
        # each hop keeps most of the money (fees of 1-5% per hop; AMLSim's default margin)
        amount = base * (0.97 ** hop) * b.rng.uniform(0.95, 1.0, len(hop))
        stage = np.full(len(hop), E.stage_code("layering"))
        if n_hops > 1:
            stage[hop == n_hops - 1] = E.stage_code("integration")
        b.add(t=t, acc=g[src], cp=g[dst], channel=E.TRANSFER, amount=E.dollars(amount),
              device=b.world.device[g[src]], region=b.home(g[src]), laund=True, typ=typ,
              pid=pid, stage=stage)
        # Placement: money enters each first-hop sender from outside shortly before it moves.
        first = hop == 0
        senders, inv = np.unique(src[first], return_inverse=True)
        need = np.bincount(inv, weights=amount[first]) * b.rng.uniform(1.0, 1.05, len(senders))
        lead = np.full(len(senders), np.iinfo(np.int64).max)
        np.minimum.at(lead, inv, t[first])
        b.add(t=lead - (b.rng.uniform(1, 24, len(senders)) * 3600).astype(np.int64),
              acc=g[senders], channel=E.DEPOSIT, amount=E.dollars(need),
              region=b.home(g[senders]), laund=True, typ=typ, pid=pid,
              stage=E.stage_code("placement"))
        for role in set(roles):
            sel = np.array([r == role for r in roles])
            b.label_accounts(g[sel], role, pid, name)


def structuring(b: Builder, acc: np.ndarray, p) -> None:
    """Several cash deposits each just under the threshold, over a few days."""
    k = len(acc)
    if not k:
        return
    pid = b.pids(k)
    n = b.uniform_int(p.deposits, k)
    i = np.repeat(np.arange(k), n)
    t0 = b.start_times(k, 7 * DAY)
    t = t0[i] + (b.rng.random(len(i)) * 7 * DAY).astype(np.int64)
    amt = b.rng.uniform(p.threshold * (1 - p.margin), p.threshold - 1.0, len(i))
    b.add(t=t, acc=acc[i], channel=E.CASH_DEPOSIT, amount=E.dollars(amt), region=b.home(acc)[i],
          laund=True, typ=E.typ_code("structuring"), pid=pid[i], stage=E.stage_code("placement"))
    b.label_accounts(acc, "structurer", pid, "structuring")


BUILDERS: dict[str, Callable[..., None]] = {
    name: (lambda b, acc, p, _n=name: transfer_pattern(_n, b, acc, p))
            for name in MIN_SIZE}
BUILDERS["structuring"] = structuring

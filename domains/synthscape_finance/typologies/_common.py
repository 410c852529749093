"""What every typology builder shares: the world, the clock, pattern ids and the rng."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from synthscape_finance import events as E
from synthscape_finance import mcc
from synthscape_finance.population import World, pick_merchants

DAY = 86_400
HOUR = 3_600


@dataclass
class Builder:
    world: World
    horizon: int                      # seconds
    rng: np.random.Generator
    next_pid: int = 0
    blocks: list = field(default_factory=list)
    # per-account labels: role code, pattern id, typology code
    role: np.ndarray = field(init=False)
    acc_pid: np.ndarray = field(init=False)
    acc_typ: np.ndarray = field(init=False)
    bust_day: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = self.world.n_accounts
        self.role = np.zeros(n, np.int8)
        self.acc_pid = np.full(n, -1, np.int64)
        self.acc_typ = np.zeros(n, np.int8)

    def pids(self, k: int) -> np.ndarray:
        out = np.arange(self.next_pid, self.next_pid + k, dtype=np.int64)
        self.next_pid += k
        return out

    def add(self, **cols) -> None:
        n = len(cols["t"])
        cols["t"] = np.clip(np.asarray(cols["t"], np.int64), 0, self.horizon - 1)
        self.blocks.append(E.make(n, **cols))

    def start_times(self, k: int, span: float) -> np.ndarray:
        """Pattern start times, uniform so that a pattern of length ``span`` fits."""
        hi = max(self.horizon - span, 1.0)
        return (self.rng.random(k) * hi).astype(np.int64)

    def uniform_int(self, lo_hi, k: int) -> np.ndarray:
        return self.rng.integers(int(lo_hi[0]), int(lo_hi[1]) + 1, k)

    def merchants(self, names: tuple[str, ...],
                  region: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        m = np.array([mcc.index_of(x) for x in names], np.int8)[
            self.rng.integers(0, len(names), len(region))]
        return pick_merchants(self.world, m, region, self.rng), m

    def new_devices(self, k: int) -> np.ndarray:
        return self.rng.integers(0, self.world.device_pool, k)

    def home(self, acc: np.ndarray) -> np.ndarray:
        return self.world.region[self.world.owner[acc]]

    def label_accounts(self, acc: np.ndarray, role: str, pid: np.ndarray, typ: str) -> None:
        self.role[acc] = E.ROLES.index(role)
        self.acc_pid[acc] = pid
        self.acc_typ[acc] = E.typ_code(typ)


def groups(acc: np.ndarray, size_range, rng: np.random.Generator) -> list[np.ndarray]:
    """Partition ``acc`` into groups with sizes in ``size_range``; leftovers too small for a
    group are dropped (they stay legitimate)."""
    lo, hi = int(size_range[0]), int(size_range[1])
    out, i = [], 0
    while len(acc) - i >= max(lo, 1):
        k = int(rng.integers(lo, hi + 1))
        k = min(k, len(acc) - i)
        if k < lo:
            break
        out.append(acc[i:i + k])
        i += k
    return out

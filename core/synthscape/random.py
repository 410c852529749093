"""Public-seed randomness and the train/test split: one definition each for the core and the packs.

``derive_rng(seed, *purpose)`` turns the public ``seed`` of a spec or a generator and a purpose
("split", "finance.simulator", "world", a chunk number, ...) into its own
``numpy.random.Generator``. Streams of different purposes are independent, and the same seed and
purpose give the same draws on every machine and every Python process: the purpose is hashed
with SHA-256, never with Python's ``hash()``, which is salted per process.

It is for post-processing and simulation only: shuffling, splitting, subsampling for
evaluation, simulated worlds, weight initialisation, sampling from a released model. The seed is
public (it is written into every release), so nothing drawn from it protects anything.
Mechanism randomness (DP noise, Poisson subsampling masks, private selections) never comes from
here: it comes from :class:`synthscape.privacy.NoiseSource`, a CSPRNG that nothing released can
reproduce (DESIGN.md, privacy rule 2).

The driving simulator (``synthscape_autonomy._rng``) keeps its own counter-based hashing on
purpose: it draws per (episode, step, entity) in any order and batch shape and must give the
same value regardless, which sequential streams cannot do.

>>> from synthscape.random import derive_rng, train_test_split
>>> a, b = derive_rng(7, "split").random(), derive_rng(7, "split").random()
>>> a == b
True
>>> train, test = train_test_split(10, 0.3, seed=7)
>>> len(train), len(test)
(7, 3)
"""
from __future__ import annotations

import hashlib
import json
import numbers
from typing import TYPE_CHECKING, overload

import numpy as np

from synthscape.errors import ParameterError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["derive_rng", "train_test_split"]


def _purpose_words(purpose: tuple) -> tuple[int, ...]:
    parts = []
    for p in purpose:
        if isinstance(p, str):
            parts.append(p)
        elif isinstance(p, numbers.Integral) and not isinstance(p, bool) and p >= 0:
            parts.append(int(p))  # ints and their digits as strings stay distinct
        else:
            raise ParameterError(f"a purpose part must be a str or an int >= 0, got {p!r}")
    digest = hashlib.sha256(json.dumps(parts).encode()).digest()
    return tuple(int.from_bytes(digest[i:i + 4], "little") for i in range(0, 16, 4))


def derive_rng(seed: int | None, *purpose: str | int) -> np.random.Generator:
    """A ``numpy.random.Generator`` for ``purpose`` under the public ``seed``.

    ``purpose``: one or more strings (or ints >= 0, such as a chunk or call counter) naming what
    the draws are for; different purposes give independent streams. ``seed``: an int >= 0, or
    None for fresh operating-system entropy (not reproducible).

    Public randomness only (post-processing and simulation); DP noise comes from
    :class:`synthscape.privacy.NoiseSource`.
    """
    words = _purpose_words(purpose)
    if seed is None:
        return np.random.default_rng()
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ParameterError(f"seed must be an int >= 0 or None, got {seed!r}")
    # the seed is the entropy; the purpose is the spawn key, mixed in after the (padded) seed
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=words))


@overload
def train_test_split(data: int, test_fraction: float, seed: int | None,
                     *purpose: str | int) -> tuple[np.ndarray, np.ndarray]: ...


@overload
def train_test_split(data: pd.DataFrame, test_fraction: float, seed: int | None,
                     *purpose: str | int) -> tuple[pd.DataFrame, pd.DataFrame]: ...


def train_test_split(data, test_fraction, seed, *purpose):
    """Split rows at random into a training part and a held-out test part.

    ``data``: a row count ``n`` (returns two int64 index arrays ``(train, test)``) or a
    DataFrame / Series (returns ``(train, test)`` frames with a fresh 0..k-1 index). The test
    part has ``round(n * test_fraction)`` rows, the training part the rest; the two are
    disjoint, cover every row, and come in shuffled order. ``test_fraction`` lies in [0, 1).

    The order comes from ``derive_rng(seed, "train_test_split", *purpose)``: the same seed
    gives the same split; pass a ``purpose`` to split another table independently. To split
    groups (every row of a patient or customer on one side), split the group ids and select.
    """
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, numbers.Real) or \
            not 0.0 <= float(test_fraction) < 1.0:
        raise ParameterError(f"test_fraction must be a float in [0, 1), got {test_fraction!r}")
    if isinstance(data, numbers.Integral) and not isinstance(data, bool):
        n = int(data)
        if n < 0:
            raise ParameterError(f"the row count must be >= 0, got {n}")
    elif hasattr(data, "iloc"):
        n = len(data)
    else:
        raise ParameterError(f"train_test_split takes a row count or a pandas DataFrame/Series, "
                             f"got {type(data).__name__}")
    order = derive_rng(seed, "train_test_split", *purpose).permutation(n).astype(np.int64)
    k = int(round(n * float(test_fraction)))
    train, test = order[k:], order[:k]
    if not hasattr(data, "iloc"):
        return train, test
    return data.iloc[train].reset_index(drop=True), data.iloc[test].reset_index(drop=True)

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
>>> train, test = train_test_split(1000, 0.3, seed=7)
>>> len(train) + len(test), 250 < len(test) < 350
(1000, True)
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

__all__ = ["derive_rng", "row_uniforms", "train_test_split"]


def _purpose_words(purpose: tuple) -> tuple[int, ...]:
    parts: list[str | int] = []
    for p in purpose:
        if isinstance(p, str):
            parts.append(p)
        elif isinstance(p, numbers.Integral) and not isinstance(p, bool) and int(p) >= 0:
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
    """Split rows into a training part and a held-out test part, row by row.

    ``data``: a DataFrame / Series (returns ``(train, test)`` frames with a fresh 0..k-1 index,
    rows in their original order) or a row count ``n`` (returns two int64 index arrays). Each
    row goes to the test part with probability ``test_fraction`` (in [0, 1)), decided by a hash
    of the public ``seed``, ``purpose`` and the row's own content (its position, for a count):
    the same seed gives the same split, and adding or removing one row never moves another row
    from one part to the other. That keeps neighbouring tables neighbours after the split, so a
    DP fit on the training part is DP for the whole table (a permutation of all rows would move
    many rows when one is added). Identical rows land on the same side; the test part has about
    ``n * test_fraction`` rows (binomial). To split groups (every row of a patient or customer on
    one side), split the group ids and select.
    """
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, numbers.Real) or \
            not 0.0 <= float(test_fraction) < 1.0:
        raise ParameterError(f"test_fraction must be a float in [0, 1), got {test_fraction!r}")
    import pandas as pd

    if isinstance(data, numbers.Integral) and not isinstance(data, bool):
        n = int(data)
        if n < 0:
            raise ParameterError(f"the row count must be >= 0, got {n}")
        content = pd.Series(np.arange(n, dtype=np.int64))
    elif isinstance(data, (pd.DataFrame, pd.Series)):
        content = data
    else:
        raise ParameterError(f"train_test_split takes a row count or a pandas DataFrame/Series, "
                             f"got {type(data).__name__}")
    in_test = _row_uniforms(content, seed, purpose) < float(test_fraction)
    test = np.flatnonzero(in_test).astype(np.int64)
    train = np.flatnonzero(~in_test).astype(np.int64)
    if not hasattr(data, "iloc"):
        return train, test
    return data.iloc[train].reset_index(drop=True), data.iloc[test].reset_index(drop=True)


_M64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def row_uniforms(content, seed: int | None, *purpose: str | int) -> np.ndarray:
    """One number in [0, 1) per row of a DataFrame / Series, from the row's content keyed by
    the public ``seed`` and ``purpose``: a row keeps its number when others are added or
    removed. Taking the rows with the k smallest numbers caps a table at k rows so that adding
    one row changes the selection by at most that row and the one it displaces."""
    return _row_uniforms(content, seed, purpose)


def _row_uniforms(content, seed, purpose) -> np.ndarray:
    """One uniform in [0, 1) per row from its content, keyed by (seed, purpose)."""
    import pandas as pd

    words = _purpose_words(("train_test_split", *purpose))
    if seed is None:
        key = int.from_bytes(np.random.SeedSequence().generate_state(2, np.uint32).tobytes(),
                             "little")
    else:
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
            raise ParameterError(f"seed must be an int >= 0 or None, got {seed!r}")
        key = int.from_bytes(hashlib.sha256(repr((int(seed), words)).encode()).digest()[:8],
                             "little")
    h = pd.util.hash_pandas_object(content, index=False).to_numpy(np.uint64)
    with np.errstate(over="ignore"):  # SplitMix64's finaliser over the keyed row hash
        z = (h ^ np.uint64(key)) + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = (z ^ (z >> np.uint64(31))) & _M64
    return (z >> np.uint64(11)).astype(np.float64) / float(1 << 53)

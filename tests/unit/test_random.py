"""synthscape.random: public-seed streams keyed by purpose, and the one train/test split."""
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from synthscape.errors import ParameterError
from synthscape.random import derive_rng, train_test_split


def test_same_seed_and_purpose_give_the_same_draws():
    a = derive_rng(5, "finance.simulator", "chunk", 3).random(20)
    b = derive_rng(5, "finance.simulator", "chunk", 3).random(20)
    assert np.array_equal(a, b)


def test_draws_are_stable_across_processes():
    """The purpose hash is not Python's salted hash(): another interpreter draws the same."""
    code = ("from synthscape.random import derive_rng; "
            "print(repr(derive_rng(11, 'split', 2).random()))")
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env={**os.environ, "PYTHONHASHSEED": str(h)},
                           check=True).stdout.strip()
            for h in (1, 2)}
    assert outs == {repr(derive_rng(11, "split", 2).random())}


@pytest.mark.parametrize("a,b", [
    ((1, "split"), (1, "sample")),      # purposes
    ((1, "split"), (2, "split")),       # seeds
    ((1, "chunk", 1), (1, "chunk", 2)),  # counters
    ((1, "chunk", 1), (1, "chunk", "1")),  # an int and its digits
    ((1, "ab", "c"), (1, "a", "bc")),   # the parts, not their concatenation
    ((0, "x"), (0, "x", 0)),            # a trailing zero counter
])
def test_different_keys_give_independent_streams(a, b):
    x, y = derive_rng(*a).random(4000), derive_rng(*b).random(4000)
    assert not np.array_equal(x, y)
    assert abs(np.corrcoef(x, y)[0, 1]) < 0.06  # ~4 standard errors of zero correlation


def test_none_seed_is_fresh_entropy_and_bad_input_is_refused():
    assert derive_rng(None, "x").random() != derive_rng(None, "x").random()
    for seed in (-1, 1.5, True, "3"):
        with pytest.raises(ParameterError, match="seed"):
            derive_rng(seed, "x")
    with pytest.raises(ParameterError, match="purpose"):
        derive_rng(0, 1.5)


@pytest.mark.parametrize("n,frac", [(10, 0.3), (7, 0.5), (100, 0.0), (0, 0.2), (1, 0.2),
                                    (20_000, 0.2)])
def test_split_indices_disjoint_covering_and_about_the_fraction(n, frac):
    train, test = train_test_split(n, frac, 3)
    assert train.dtype == np.int64 and test.dtype == np.int64
    assert not set(train) & set(test)
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(n))
    sd = np.sqrt(n * frac * (1 - frac))
    assert abs(len(test) - n * frac) <= 4 * sd + 1e-9  # binomial size


def test_split_is_deterministic_and_keyed():
    a = train_test_split(500, 0.2, 9)
    b = train_test_split(500, 0.2, 9)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[1], train_test_split(500, 0.2, 10)[1])
    assert not np.array_equal(a[1], train_test_split(500, 0.2, 9, "customers")[1])


def test_split_keeps_neighbouring_tables_neighbours():
    # adding one row moves no other row between the parts: train(D + x) = train(D) (+ x)
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.normal(size=2000), "g": rng.choice(list("xyz"), 2000)})
    extra = pd.DataFrame({"a": [123.456], "g": ["x"]})
    for at in (0, 1000, 2000):
        bigger = pd.concat([df.iloc[:at], extra, df.iloc[at:]], ignore_index=True)
        tr, te = train_test_split(df, 0.2, 5)
        tr2, te2 = train_test_split(bigger, 0.2, 5)
        def key(f):
            return set(map(tuple, f.itertuples(index=False)))

        assert key(tr) <= key(tr2) and key(te) <= key(te2)
        assert len(tr2) + len(te2) == len(tr) + len(te) + 1


def test_split_of_a_frame_keeps_row_order_and_a_fresh_index():
    df = pd.DataFrame({"a": np.arange(50), "b": list("xy") * 25}, index=np.arange(50) * 7)
    train, test = train_test_split(df, 0.25, 4)
    assert list(train.index) == list(range(len(train)))
    assert list(test.index) == list(range(len(test)))
    assert train["a"].is_monotonic_increasing and test["a"].is_monotonic_increasing
    s_train, s_test = train_test_split(df["a"], 0.25, 4)
    assert len(s_test) + len(s_train) == 50


@pytest.mark.parametrize("frac", [-0.1, 1.0, 1.5, True, "0.2", float("nan")])
def test_split_refuses_a_bad_fraction(frac):
    with pytest.raises(ParameterError, match="test_fraction"):
        train_test_split(10, frac, 0)


def test_split_refuses_what_is_not_rows():
    with pytest.raises(ParameterError, match="row count"):
        train_test_split([1, 2, 3], 0.2, 0)
    with pytest.raises(ParameterError, match=">= 0"):
        train_test_split(-1, 0.2, 0)

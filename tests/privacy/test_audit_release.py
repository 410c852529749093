"""Releases as published resist a replay attack (DESIGN.md, rule 3.6).

A recipient holds the model folder or the run's release (public seed, ledger, schema, data) and
knows the training table up to one canary row. A deliberately broken generator, whose noise is
drawn from its public seed, must be FLAGGED; the real generators must not be: their noise comes
from a secret source, so no replay reproduces a release.

Every test removes SYNTHSCAPE_NOISE_KEY (the suite's ``no_noise_key``): with the owner's key in
the process, the replays would use it and the audit would model an attacker who holds the key.
"""
import math

import numpy as np
import pandas as pd
import pytest
import yaml

from synthscape.evaluation.audit_release import DEFAULT_TRIALS, audit_release, audit_run_folder
from synthscape.generators import GENERATORS, Generator
from synthscape.privacy import GaussianEvent
from synthscape.schema import Column, TableSchema

SCHEMA = TableSchema(name="small", columns=[
    Column(name="age", kind="numerical", lower=18, upper=90),
    Column(name="region", kind="categorical", categories=("north", "south", "east", "west")),
    Column(name="smoker", kind="boolean"),
])
LEAKY = "_test_leaky_histogram"
BINS = 8


def table(n: int = 300, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"age": rng.uniform(18, 60, n).round(),
                         "region": rng.choice(["north", "south", "east"], n),
                         "smoker": rng.random(n) < 0.3})


class LeakyHistogram(Generator):
    """``independent``-like one-way histograms, BROKEN on purpose: the Gaussian noise comes
    from ``np.random.default_rng(self.seed)``, a published value, while the ledger is charged
    as if it were secret."""

    name = LEAKY

    def __init__(self, epsilon: float | None = 1.0, delta: float = 1e-6, *,
                 accountant: str = "rdp", seed: int | None = None):
        self.epsilon, self.delta, self.accountant, self.seed = epsilon, delta, accountant, seed

    def _fit(self, data, schema, ledger, rng):
        public = np.random.default_rng(self.seed)  # the bug the audit must catch
        cols = schema.modelled()
        sigma = math.sqrt(len(cols) / (2 * ledger.remaining_rho()))
        self.probs_ = []
        for c in cols:
            counts = np.bincount(_codes(data[c.name], c), minlength=_size(c)).astype(float)
            ledger.spend(GaussianEvent(noise_multiplier=sigma, label=f"histogram of {c.name}"))
            noisy = np.clip(counts + sigma * public.standard_normal(len(counts)), 0, None)
            self.probs_.append((noisy + 1e-9) / (noisy + 1e-9).sum())

    def _sample(self, n, rng, conditions):
        out = {}
        for c, p in zip(self.schema_.modelled(), self.probs_):
            k = rng.choice(len(p), size=n, p=p)
            if c.kind == "numerical":
                lo, hi = c.bounds
                out[c.name] = lo + (k + rng.random(n)) * (hi - lo) / BINS
            else:
                out[c.name] = np.array(c.values, dtype=object)[k]
        return pd.DataFrame(out)

    def _get_state(self):
        return {}, {f"p{j}": p for j, p in enumerate(self.probs_)}

    def _set_state(self, state, arrays):
        self.probs_ = [arrays[f"p{j}"] for j in range(len(arrays))]


def _size(c) -> int:
    return BINS if c.kind == "numerical" else len(c.values)


def _codes(s: pd.Series, c) -> np.ndarray:
    if c.kind == "numerical":
        lo, hi = c.bounds
        return np.clip(((s.to_numpy(float) - lo) / (hi - lo) * BINS).astype(int), 0, BINS - 1)
    return s.map({v: i for i, v in enumerate(c.values)}).to_numpy(int)


@pytest.fixture(autouse=True)
def attack_the_default(no_noise_key):
    GENERATORS.register(LEAKY, LeakyHistogram, replace=True)
    yield
    GENERATORS._items.pop(LEAKY, None)  # test-only name: gone after each test


def test_flags_noise_drawn_from_the_public_seed():
    res = audit_release(LEAKY, table(), SCHEMA, params={"epsilon": 1.0, "seed": 7}, seed=0)
    assert res.trials == DEFAULT_TRIALS and res.claimed_epsilon == pytest.approx(1.0, rel=1e-3)
    assert res.exact_replays == res.trials and res.accuracy == 1.0
    assert res.epsilon_lower_bound > res.claimed_epsilon and res.flagged
    assert res.epsilon_lower_bound == pytest.approx(res.max_lower_bound)
    assert res.verdict.startswith("VIOLATION") and "reproduced exactly" in res.verdict


@pytest.mark.parametrize("generator, params", [
    ("independent", {}),
    ("mst", {}),
    ("dp_tvae", {"epochs": 1, "batch_size": 64, "hidden_dim": 8, "latent_dim": 2, "depth": 1,
                 "accountant": "rdp", "device": "cpu"}),
])
def test_real_generators_are_not_reproducible_from_their_release(generator, params):
    res = audit_release(generator, table(), SCHEMA,
                        params={"epsilon": 1.0, "seed": 7, **params}, seed=0)
    assert res.max_lower_bound > res.claimed_epsilon  # the trials could have flagged it
    assert res.exact_replays == 0, res.verdict
    assert res.epsilon_lower_bound <= res.claimed_epsilon and not res.flagged, res.verdict


def _run(tmp_path, generator: str, trials: int):
    from synthscape.scenarios.loader import load_spec
    from synthscape.scenarios.runner import run

    d = table()
    d.to_csv(tmp_path / "data.csv", index=False)
    spec = {"kind": "tabular", "name": "r", "seed": 3, "data": {"path": "data.csv",
                                                                  "test_fraction": 0.0},
            "schema": {"columns": [c.model_dump(mode="json", exclude_none=True)
                                   for c in SCHEMA.columns]},
            "generator": {"type": generator}, "privacy": {"epsilon": 1.0}, "rows": 3000,
            "evaluation": {"full": False}, "output": str(tmp_path / "out")}
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    # 3000 synthetic rows: one more training row moves some sampled row almost surely, so a
    # table released alone still tells D from D' when its generator is replayable
    folder = run(load_spec(tmp_path / "s.yaml"))
    return audit_run_folder(folder, d, trials=trials, seed=1)


def test_run_folder_of_the_broken_generator_is_flagged_and_matched(tmp_path):
    res = _run(tmp_path, LEAKY, DEFAULT_TRIALS)
    assert res.mode == "run" and res.flagged and res.exact_replays == res.trials
    assert res.release_match == "D"  # the run was fitted on D, and its release says so


def test_run_folder_of_a_real_generator_is_not_flagged(tmp_path):
    res = _run(tmp_path, "mst", DEFAULT_TRIALS)
    assert res.max_lower_bound > res.claimed_epsilon
    assert res.exact_replays == 0 and res.release_match is None, res.verdict
    assert not res.flagged, res.verdict

"""No mechanism draws from a generator a recipient could re-seed.

The modules that release DP values (mechanisms, schema inference, the DP-SGD loop and its
optimizer, the encoders' and discretizer's measurements) may take randomness only from the
ledger's NoiseSource; a seeded numpy or torch generator there is a replayable noise source.
"""
from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

CORE = Path(__file__).resolve().parents[2] / "core" / "synthscape"
MECHANISM_MODULES = [
    "privacy/mechanisms.py", "privacy/noise.py", "schema/_infer.py",
    "generators/_training.py", "generators/_dp_optimizers.py",
]
SEEDED = {"default_rng", "RandomState", "Generator", "manual_seed", "seed", "SeedSequence",
          "rand", "randn", "randint", "normal", "random", "uniform", "laplace", "gumbel",
          "multinomial", "bernoulli", "permutation", "choice", "integers"}


@pytest.mark.parametrize("rel", MECHANISM_MODULES)
def test_mechanism_modules_use_no_seeded_generator(rel):
    tree = ast.parse((CORE / rel).read_text())
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            root = owner
            while isinstance(root, ast.Attribute):
                root = root.value
            name = getattr(root, "id", "")
            if name in ("np", "numpy", "torch", "random") and node.func.attr in SEEDED:
                bad.append(f"line {node.lineno}: {ast.unparse(node.func)}")
    assert not bad, f"{rel} draws from a generator outside the NoiseSource: {bad}"


def test_schema_inference_noise_comes_from_the_ledger(monkeypatch, no_noise_key):
    import pandas as pd

    from synthscape.privacy import Budget
    from synthscape.privacy.noise import NoiseSource
    from synthscape.schema import TableSchema

    calls = []
    real = NoiseSource.standard_normal
    monkeypatch.setattr(NoiseSource, "standard_normal",
                        lambda self, shape: calls.append(shape) or real(self, shape))
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.normal(50, 10, 5000), "c": rng.choice(list("abc"), 5000)})
    TableSchema.infer(df, Budget(epsilon=2.0, delta=1e-6), seed=1)
    assert len(calls) == 2  # one noisy histogram for x, one set of noisy counts for c

"""What a recipient holds, and how it replays: shared by the adversarial tests.

A recipient has every released file (saved model folder, run release folder) and the code. It
replays a fit with every published value (the public seed and parameters in model.json) on the
candidate tables it suspects, and compares the replay with what it holds.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from synthscape.schema import TableSchema
from synthscape.schema.column import Column

OUTLIER = 987_654.321  # a real extreme value that must never appear in a DP release
N_ROWS = 1_237         # a row count that must never appear in a DP release


def table(n: int = N_ROWS, seed: int = 0) -> pd.DataFrame:
    """A small mixed table with one outlier in ``income``."""
    rng = np.random.default_rng(seed)
    g = rng.choice(["north", "south", "east"], n, p=[0.5, 0.3, 0.2])
    age = rng.integers(18, 90, n)
    income = np.round(rng.gamma(3.0, 15_000.0, n), 2)
    income[0] = OUTLIER
    y = rng.random(n) < np.where(g == "north", 0.2, 0.5)
    return pd.DataFrame({"region": g, "age": age, "income": income, "default": y})


SCHEMA = TableSchema(columns=(
    Column(name="region", kind="categorical", categories=("east", "north", "south")),
    Column(name="age", kind="numerical", lower=0, upper=120, integer=True),
    Column(name="income", kind="numerical", lower=0, upper=1_000_000),
    Column(name="default", kind="boolean"),
), name="credit")

# Registered DP generators with settings that fit in about a second on one core.
FAST = {
    "independent": {},
    "mst": {},
    "aim": {"rounds": 6, "iters": 20, "bins": 8},
    "dp_ctgan": {"epochs": 1, "batch_size": 200, "noise_dim": 8, "generator_dim": 16,
                 "discriminator_dim": 16, "depth": 1, "device": "cpu"},
    "dp_tvae": {"epochs": 1, "batch_size": 200, "latent_dim": 4, "hidden_dim": 16, "depth": 1,
                "device": "cpu"},
}


def folder_arrays(folder: Path) -> dict[str, np.ndarray]:
    """Every numeric value a saved model folder holds: arrays, weights and JSON numbers."""
    out: dict[str, np.ndarray] = {}
    if (folder / "arrays.npz").exists():
        with np.load(folder / "arrays.npz", allow_pickle=False) as z:
            out.update({f"npz:{k}": np.asarray(z[k], float) for k in z.files
                        if z[k].dtype.kind in "biuf"})
    for w in folder.glob("*.safetensors"):
        from safetensors.numpy import load_file

        out.update({f"{w.name}:{k}": v.astype(float) for k, v in load_file(str(w)).items()})
    state = json.loads((folder / "model.json").read_text()).get("state", {})
    out["json:state"] = np.asarray(_numbers(state), float)
    return out


def _numbers(obj) -> list[float]:
    if isinstance(obj, bool):
        return []
    if isinstance(obj, (int, float)):
        return [float(obj)]
    if isinstance(obj, dict):
        return [x for v in obj.values() for x in _numbers(v)]
    if isinstance(obj, (list, tuple)):
        return [x for v in obj for x in _numbers(v)]
    return []


def same_release(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    return a.keys() == b.keys() and all(a[k].shape == b[k].shape and np.array_equal(a[k], b[k])
                                        for k in a)


def text_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and p.suffix in
            (".json", ".yaml", ".yml", ".html", ".txt", ".csv", ".md")]


_EMBEDDED = re.compile(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=]+")


def numbers_in_text(text: str) -> set[float]:
    """Every number written in a text file (JSON, YAML, HTML).

    Embedded images (base64 data URIs in the HTML report) are binary, not text: digit runs
    inside their encoding are no published value, so they are dropped before the scan.
    """
    text = _EMBEDDED.sub(" ", text)
    return {float(m.replace(",", "")) for m in
            re.findall(r"(?<![\w.])-?\d[\d,]*\.?\d*(?:[eE][-+]?\d+)?", text)
            if _parses(m.replace(",", ""))}


def _parses(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False

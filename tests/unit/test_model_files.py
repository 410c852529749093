"""Saved model folders: every defect is one ModelFormatError that names the file and the fix."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from synthscape.errors import ModelFormatError
from synthscape.generators import load, make
from synthscape.model_files import write_checksums
from synthscape.schema import TableSchema


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.uniform(0, 10, 500), "c": rng.choice(["a", "b"], 500)})
    schema = TableSchema.from_dict({"columns": [
        {"name": "x", "kind": "numerical", "lower": 0, "upper": 10},
        {"name": "c", "kind": "categorical", "categories": ["a", "b"]}]})
    folder = tmp_path_factory.mktemp("models") / "independent"
    make("independent", epsilon=1.0, seed=0).fit(df, schema).save(folder)
    return folder


@pytest.fixture
def copy(saved, tmp_path):
    out = tmp_path / "model"
    shutil.copytree(saved, out)
    return out


def _edit_json(path, change):
    meta = json.loads(path.read_text())
    change(meta)
    path.write_text(json.dumps(meta))


@pytest.mark.parametrize("change, what", [
    (lambda m: m["ledger"].update(epsilon=0.01), "ledger"),
    (lambda m: m["schema"]["columns"][0].update(upper=1e6), "bounds"),
    (lambda m: m["schema"]["columns"][1].update(categories=["a", "z"]), "categories"),
])
def test_tampered_json_is_refused(copy, change, what):
    _edit_json(copy / "model.json", change)
    with pytest.raises(ModelFormatError, match="model.json does not match its checksum"):
        load(copy)


def test_tampered_array_is_refused(copy):
    with np.load(copy / "arrays.npz") as z:
        arrays = {k: z[k] for k in z.files}
    first = sorted(arrays)[0]
    arrays[first] = arrays[first] * 0 + 1
    np.savez(copy / "arrays.npz", **arrays)
    with pytest.raises(ModelFormatError, match="arrays.npz does not match"):
        load(copy)


def test_truncated_missing_and_extra_files_are_refused(copy, tmp_path):
    data = (copy / "arrays.npz").read_bytes()
    (copy / "arrays.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFormatError, match="changed or truncated"):
        load(copy)
    (copy / "arrays.npz").unlink()
    with pytest.raises(ModelFormatError, match="arrays.npz is missing"):
        load(copy)
    with pytest.raises(ModelFormatError, match="not a folder"):
        load(tmp_path / "nowhere")


def test_unlisted_file_and_missing_checksums(copy):
    (copy / "notes.txt").write_text("x")
    with pytest.raises(ModelFormatError, match="notes.txt"):
        load(copy)
    (copy / "notes.txt").unlink()
    (copy / "checksums.json").unlink()
    with pytest.raises(ModelFormatError, match="checksums.json is missing"):
        load(copy)


def test_defects_behind_valid_checksums_are_model_format_errors(copy):
    # a folder rewritten with matching hashes but broken content still gives one clear error
    _edit_json(copy / "model.json", lambda m: m.pop("schema"))
    write_checksums(copy)
    with pytest.raises(ModelFormatError, match="not valid"):
        load(copy)
    (copy / "model.json").write_text("{not json")
    write_checksums(copy)
    with pytest.raises(ModelFormatError, match="not valid JSON"):
        load(copy)


def test_round_trip_still_loads(saved):
    assert load(saved).sample(5, seed=1).shape == (5, 2)

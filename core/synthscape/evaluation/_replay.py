"""What a recipient of a release holds, and how it replays it: the published values of a saved
model folder or a run's ``release/`` folder, refits from them, and the comparisons the replay
attack of :mod:`synthscape.evaluation.audit_release` uses (exact match, distance)."""
from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthscape.errors import ParameterError
from synthscape.schema import TableSchema


@dataclass
class Release:
    """What a recipient holds: ``public`` (the published values a replay needs), ``meta``
    (published JSON), model ``arrays``, released ``tables``, sha256 of other model ``files``."""

    public: dict[str, Any]
    meta: dict[str, Any]
    arrays: dict[str, np.ndarray]
    tables: dict[str, pd.DataFrame]
    files: dict[str, str]
    schema: TableSchema
    ledger: dict[str, Any]


def read_model_release(folder: str | Path, synthetic: pd.DataFrame | None = None) -> Release:
    """A saved model folder (``Generator.save``) and, if released with it, its synthetic table."""
    folder = Path(folder)
    if not (folder / "model.json").exists():
        raise ParameterError(f"{folder} is not a saved model folder (no model.json)")
    from synthscape.io import sha256

    docs: dict[str, Any] = {}  # every JSON file (model.json, checksums.json, ...), parsed
    arrays: dict[str, np.ndarray] = {}
    files = {}  # sha256 of the other files
    for p in sorted(q for q in folder.iterdir() if q.is_file()):
        if p.suffix == ".json":
            docs[p.name] = json.loads(p.read_text())
        elif p.name == "arrays.npz":  # compared by value: the zip's bytes hold a timestamp
            with np.load(p, allow_pickle=False) as z:
                arrays.update({f"arrays/{k}": z[k] for k in z.files})
        else:
            files[p.name] = sha256(p)
        if p.suffix == ".safetensors":  # weights: compared as arrays too, for the distance
            from safetensors.numpy import load_file

            arrays.update({f"{p.name}/{k}": v for k, v in load_file(str(p)).items()})
    meta = docs["model.json"]
    public = {"generator": meta["generator"], "params": meta["params"], "schema": meta["schema"],
              "rows": None if synthetic is None else len(synthetic)}
    tables = {} if synthetic is None else {"synthetic": synthetic.reset_index(drop=True)}
    return Release(public, docs, arrays, tables, files, TableSchema.from_dict(meta["schema"]),
                   meta["ledger"])


def release_folder(run: str | Path) -> Path:
    """The published part of a run folder: ``<run>/release``, or ``<run>`` itself for runs
    written before the release/internal split (or when ``run`` is the release folder)."""
    run = Path(run)
    if (run / "release" / "spec.resolved.yaml").exists():
        return run / "release"
    if (run / "spec.resolved.yaml").exists():
        return run
    raise ParameterError(f"{run} is not a run folder: neither {run}/release/spec.resolved.yaml "
                         f"nor {run}/spec.resolved.yaml exists")


def read_run_release(run: str | Path) -> Release:
    """A run's release: data/*.parquet (or data/<table>/ partitions), spec.resolved.yaml,
    ledger.json and schema.json."""
    from synthscape.scenarios.loader import load_spec

    rel = release_folder(run)
    if not (rel / "schema.json").exists():
        raise ParameterError(f"{rel} has no schema.json: the run-folder audit replays tabular "
                             f"runs (one synthetic table and its schema)")
    spec = load_spec(rel / "spec.resolved.yaml").model_dump(mode="json", by_alias=True)
    spec.pop("output", None)  # where the data came from and went is not a replayed value
    spec["data"] = {k: v for k, v in spec["data"].items() if k not in ("path", "dataset")}
    ledger = json.loads((rel / "ledger.json").read_text())
    schema = TableSchema.from_json(rel / "schema.json")
    from synthscape.compute.sampling import read_folder

    data = rel / "data"  # a table is a file, or a folder of partitions (a sharded run)
    tables = {p.stem: pd.read_parquet(p) for p in sorted(data.glob("*.parquet"))}
    tables.update({p.name: read_folder(p) for p in sorted(data.iterdir()) if p.is_dir()})
    return Release({"spec": spec, "schema": schema.to_dict()},
                   {"ledger": ledger, "schema": schema.to_dict()}, {}, tables, {}, schema, ledger)


def _fit_model(public: Mapping[str, Any], table: pd.DataFrame, where: Path) -> Release:
    """Fit, save and sample as the release was made; the challenger and the replays both run it."""
    from synthscape.generators import make

    gen = make(public["generator"], **public["params"])
    gen.fit(table, TableSchema.from_dict(public["schema"]))
    gen.save(where)
    rows = public["rows"]
    syn = None if rows is None else gen.sample(rows, seed=public["params"].get("seed"))
    return read_model_release(where, syn)


def _run_spec(public: Mapping[str, Any], table: pd.DataFrame, where: Path) -> Release:
    """Run the published spec on ``table`` (evaluation off: it never touches the release)."""
    from synthscape.io import write_parquet
    from synthscape.scenarios.kinds import KINDS
    from synthscape.scenarios.runner import run

    spec = json.loads(_json(public["spec"]))  # a deep copy
    if spec.get("kind") != "tabular":
        raise ParameterError(f"the run-folder audit replays tabular runs; this run is "
                             f"{spec.get('kind')!r}")
    where.mkdir(parents=True, exist_ok=True)
    write_parquet(table, where / "data.parquet")
    spec["data"].update(path=str(where / "data.parquet"), dataset=None)
    spec["evaluation"] = {**spec.get("evaluation", {}), "full": False, "gates": {}}
    if spec["schema"].get("file") is not None:  # the declared schema, as published
        TableSchema.from_dict(public["schema"]).to_json(where / "schema.json")
        spec["schema"]["file"] = str(where / "schema.json")
    parsed = KINDS.get("tabular").model.model_validate(spec, context={"base_dir": str(where)})
    return read_run_release(run(parsed, output=where / "out", quiet=True))


def _json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, default=str)


def _leaves(obj: Any, path: str = "") -> dict[str, str]:
    """Flattened JSON: ``{"/state/training/sample_rate": "0.2133", ...}``."""
    if isinstance(obj, Mapping):
        return {k: v for key, val in obj.items() for k, v in _leaves(val, f"{path}/{key}").items()}
    if isinstance(obj, list):
        return {k: v for i, val in enumerate(obj) for k, v in _leaves(val, f"{path}/{i}").items()}
    return {path: _json(obj)}


def same(a: Release, b: Release) -> bool:
    """Whether ``b`` reproduces every array, file and table ``a`` published, value for value
    (published JSON is weighed leaf by leaf instead: it may hold a timing)."""
    if a.files != {k: b.files.get(k) for k in a.files} or set(a.arrays) != set(b.arrays):
        return False
    for k, x in a.arrays.items():
        y = b.arrays[k]
        numeric = np.issubdtype(x.dtype, np.floating) and np.issubdtype(y.dtype, np.floating)
        if x.shape != y.shape or not np.array_equal(x, y, equal_nan=numeric):
            return False
    return all(k in b.tables and df.equals(b.tables[k]) for k, df in a.tables.items())


def distance(a: Release, b: Release) -> float:
    """L2 over the model arrays (an array ``b`` lacks, or shaped otherwise, counts in full)
    plus the summed one-way total-variation distance of each released table."""
    from synthscape.evaluation.marginals import one_way_tvd

    sq = 0.0
    for k, x in a.arrays.items():
        y = b.arrays.get(k)
        if not np.issubdtype(x.dtype, np.number):
            sq += float(y is None or x.shape != y.shape or not np.array_equal(x, y))
        elif y is None or y.shape != x.shape or not np.issubdtype(y.dtype, np.number):
            sq += float(np.nansum(np.square(x.astype(float))))
        else:
            sq += float(np.nansum(np.square(x.astype(float) - y.astype(float))))
    total = math.sqrt(sq)
    cols = [c.name for c in a.schema.modelled()]
    for k, df in a.tables.items():
        other = b.tables.get(k)
        if other is None or not set(cols) <= set(other.columns) or not set(cols) <= set(df):
            total += len(cols)
        else:
            total += sum(one_way_tvd(df, other, a.schema).values())
    return total

"""Run a scenario: spec -> kind's run function -> one run folder, written atomically.

Layout of a run folder::

    data/*.parquet  schema.json  ledger.json  report.json  report.html  figures/*.png
    spec.resolved.yaml  manifest.json
"""
from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import Any

import yaml

from synthscape.io import atomic_folder, sha256
from synthscape.scenarios.context import RunContext
from synthscape.scenarios.kinds import KINDS
from synthscape.scenarios.loader import load_spec


def run_folder_of(spec: Any, output: str | Path | None = None) -> Path:
    return Path(output if output is not None else spec.output) / spec.name


def run(spec_or_path: Any, *, output: str | Path | None = None, overwrite: bool = False,
        quiet: bool = True) -> Path:
    """Run a spec (object or YAML path) and return its run folder."""
    spec = load_spec(spec_or_path) if isinstance(spec_or_path, (str, Path)) else spec_or_path
    kind = KINDS.get(spec.kind)
    final = run_folder_of(spec, output)
    with atomic_folder(final, overwrite=overwrite) as tmp:
        ctx = RunContext(tmp, spec, quiet=quiet)
        kind.run(spec, ctx)
        _finish(ctx)
    return final


def _finish(ctx: RunContext) -> None:

    spec = ctx.spec
    root = ctx.root
    (root / "spec.resolved.yaml").write_text(
        yaml.safe_dump(spec.model_dump(mode="json"), sort_keys=False))
    if ctx.schema is not None:
        ctx.schema.to_json(root / "schema.json")
    if ctx.ledger is not None:
        ledger = ctx.ledger.to_dict()
    else:
        ledger = {"private": True, "epsilon": 0.0, "events": [],
                  "summary": "no real data was read: the outputs are simulated"}
    (root / "ledger.json").write_text(json.dumps(ledger, indent=2, sort_keys=True) + "\n")
    report = ctx.report
    report.meta.setdefault("privacy", ledger["summary"])
    report.meta.setdefault("ledger", ledger)
    report.meta.setdefault("versions", versions())
    report.meta.setdefault("spec", spec.model_dump(mode="json"))
    report.write(root)
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.name != "manifest.json")
    manifest = {
        "kind": spec.kind,
        "name": spec.name,
        "seed": spec.seed,
        "versions": versions(),
        "rows": dict(sorted(ctx.tables.items())),
        "privacy": ledger["summary"],
        "gates_passed": report.passed,
        "files": {str(p.relative_to(root)): sha256(p) for p in files},
        **ctx.meta,
    }
    (root / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True,
                                                   default=str) + "\n")


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for pkg in ("synthscape", "numpy", "pandas", "pyarrow", "pydantic", "scikit-learn", "torch",
                "opacus"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return out

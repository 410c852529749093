"""Run a scenario: spec -> kind's run function -> one run folder, written atomically.

Layout of a run folder ``<output>/<name>/`` (both folders are written inside one temporary
folder that is renamed into place, so a failed run leaves nothing)::

    manifest.json   index: kind, name, public seed, folders, reads_real_data, privacy summary,
                    gates (name -> passed), which folders the privacy guarantee covers
    release/        data/*.parquet (sharded: data/<table>/part-*.parquet, synthscape.compute)
                    schemas/<table>.json (tabular also schema.json)  ledger.json
                    report.json  report.html  figures/*.png  spec.resolved.yaml
                    manifest.json (versions, public seed, synthetic row counts, sha256 of files)
    internal/       README.txt  report.json  report.html  figures/*.png  manifest.json
                    (evaluation against the real data; NOT covered by the privacy guarantee)

A kind that reads no real data writes no internal folder unless it evaluates something there.
"""
from __future__ import annotations

import json
import platform
import textwrap
from pathlib import Path
from typing import Any

import yaml

from synthscape.errors import SynthscapeError
from synthscape.io import atomic_folder, sha256
from synthscape.scenarios.context import INTERNAL, INTERNAL_NOTICE, RELEASE, RunContext
from synthscape.scenarios.kinds import KINDS, Kind
from synthscape.scenarios.loader import load_spec
from synthscape.scenarios.validate import check_spec

_PATH_KEYS = ("path", "file")
_PATH_SUFFIXES = (".csv", ".tsv", ".txt", ".gz", ".parquet", ".pq", ".json", ".yaml", ".yml")
NO_REAL_DATA = "no real data was read: the outputs are simulated"
README = """\
NOT COVERED BY THE PRIVACY GUARANTEE.
This folder contains statistics of the real data (the data the generator was fitted on) and
is not covered by the privacy guarantee of the release (../release/ledger.json). Keep it
internal: do not share it with the recipients of the release.

It holds the evaluation against that data:
{what}.
report.json (its first key says the same), report.html (red banner), figures/*.png and
manifest.json (sha256 of every file here).
"""


class MissingLedgerError(SynthscapeError, RuntimeError):
    """A kind that reads real data finished without a ledger: the run fails closed."""


def run_folder_of(spec: Any, output: str | Path | None = None) -> Path:
    return Path(output if output is not None else spec.output) / spec.name


def run(spec_or_path: Any, *, output: str | Path | None = None, overwrite: bool = False,
        quiet: bool = True) -> Path:
    """Run a spec (object or YAML path) and return its run folder ``<output>/<name>``.

    Every check of :func:`~synthscape.scenarios.validate.check_spec` runs first, so a bad
    spec fails before anything is fitted. The gates the spec asks for are applied after the
    kind has run; their results are in the run's manifest.json (see :func:`failed_gates`)."""
    spec = load_spec(spec_or_path) if isinstance(spec_or_path, (str, Path)) else spec_or_path
    kind = KINDS.get(spec.kind)
    check_spec(spec, kind=kind)
    final = run_folder_of(spec, output)
    from synthscape.compute import for_spec

    with atomic_folder(final, overwrite=overwrite) as tmp, for_spec(spec):
        ctx = RunContext(tmp, spec, quiet=quiet, reads_real_data=kind.reads(spec))
        kind.run(spec, ctx)
        _apply_gates(ctx)
        _finish(ctx, kind)
    return final


def failed_gates(folder: str | Path) -> list[str]:
    """The gates that failed in a run folder (read from its manifest.json)."""
    top = json.loads((Path(folder) / "manifest.json").read_text())
    return [name for name, ok in top.get("gates", {}).items() if not ok]


def _apply_gates(ctx: RunContext) -> None:
    """The spec's gates on the internal evaluation, unless the kind applied them itself."""
    applied = {g.metric for g in [*ctx.internal_report.gates, *ctx.report.gates]}
    for metric, gate in ctx.spec.gate_specs().items():
        if metric not in applied:
            ctx.gate(metric, min=gate.min, max=gate.max)


def _finish(ctx: RunContext, kind: Kind) -> None:
    spec = ctx.spec
    ledger = _ledger(ctx, kind)
    internal = ctx.has_internal
    release = ctx.release
    (release / "spec.resolved.yaml").write_text(
        yaml.safe_dump(resolved_spec(spec), sort_keys=False))
    if ctx.schema is not None:
        ctx.schema.to_json(release / "schema.json")
    _dump(release / "ledger.json", ledger)
    _release_report(ctx, ledger, internal)
    _dump(release / "manifest.json", {
        "kind": spec.kind, "name": spec.name, "seed": spec.seed, "versions": versions(),
        "reads_real_data": ctx.reads_real_data, "privacy": ledger["summary"],
        "rows": dict(sorted(ctx.tables.items())), **ctx.meta, "files": _hashes(release)})
    if internal:
        _internal(ctx, ledger)
    gates: dict[str, bool] = {}
    for g in [*ctx.internal_report.gates, *ctx.report.gates]:
        gates[g.metric] = gates.get(g.metric, True) and g.passed
    privacy = {k: ledger[k] for k in ("summary", "private", "epsilon", "delta") if k in ledger}
    _dump(ctx.root / "manifest.json", {
        "kind": spec.kind, "name": spec.name, "seed": spec.seed,
        "folders": {"release": RELEASE, "internal": INTERNAL if internal else None},
        "reads_real_data": ctx.reads_real_data, "privacy": privacy, "gates": gates,
        "covered_by_privacy_guarantee": {RELEASE: True, **({INTERNAL: False} if internal
                                                            else {})}})


def _ledger(ctx: RunContext, kind: Kind) -> dict[str, Any]:
    if ctx.ledger is None:
        if ctx.reads_real_data:
            raise MissingLedgerError(
                f"kind '{kind.name}' reads real data but its run set no ledger "
                f"(ctx.set_ledger): nothing is released without one. A kind that reads no "
                f"real data is registered with reads_real_data=False.")
        return {"reads_real_data": False, "summary": NO_REAL_DATA, "events": []}
    ledger = ctx.ledger.to_dict()
    ledger["reads_real_data"] = ctx.reads_real_data
    if not ctx.reads_real_data:  # a generator fitted to simulated data: its own accounting
        ledger["summary"] = (f"{NO_REAL_DATA}; the generator fitted to simulated data "
                             f"accounts for it as if it were private: {ledger['summary']}")
    return ledger


def _release_report(ctx: RunContext, ledger: dict[str, Any], internal: bool) -> None:
    from synthscape.evaluation.release_report import overview_section

    report = ctx.report
    overview_section(report, rows=ctx.tables, ledger=ledger,
                     reads_real_data=ctx.reads_real_data, has_internal=internal)
    report.meta.update(privacy=ledger["summary"], rows=dict(sorted(ctx.tables.items())),
                       seed=ctx.seed, versions=versions(),
                       spec=ctx.spec.model_dump(mode="json", by_alias=True))
    report.write(ctx.release)


def _internal(ctx: RunContext, ledger: dict[str, Any]) -> None:
    folder = ctx.internal
    report = ctx.internal_report
    what = "\n".join(textwrap.wrap(", ".join(s.title for s in report.sections.values())
                                    or "no sections", 92))
    (folder / "README.txt").write_text(README.format(what=what))
    report.meta.update(privacy=f"release: {ledger['summary']}", seed=ctx.seed,
                       versions=versions())
    report.write(folder)
    _dump(folder / "manifest.json", {
        "notice": INTERNAL_NOTICE, "covered_by_privacy_guarantee": False,
        "kind": ctx.spec.kind, "name": ctx.spec.name, "seed": ctx.seed,
        **ctx.internal_meta, "files": _hashes(folder)})


def _hashes(folder: Path) -> dict[str, str]:
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != "manifest.json")
    return {p.relative_to(folder).as_posix(): sha256(p) for p in files}


def _dump(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def resolved_spec(spec: Any) -> dict[str, Any]:
    """The spec as YAML-ready data that runs again as it is: keys by their YAML alias (e.g.
    ``schema``) and data, schema and other file paths made absolute."""
    return _absolute(spec.model_dump(mode="json", by_alias=True), spec, None)


def _absolute(obj: Any, spec: Any, key: str | None) -> Any:
    if isinstance(obj, dict):
        return {k: _absolute(v, spec, k) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_absolute(v, spec, key) for v in obj]
    if isinstance(obj, str) and key != "output" and (
            key in _PATH_KEYS or obj.lower().endswith(_PATH_SUFFIXES)):
        p = spec.resolve(obj)
        if p.exists():
            return str(p.resolve())
    return obj


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

"""``synthscape evaluate``, ``synthscape audit`` and ``synthscape audit-release``: plain
functions plus a typer layer.

``evaluate_command``, ``audit_command`` and ``audit_release_command`` are the Python calls;
``app`` exposes them as commands (the main CLI mounts them). Each writes one folder atomically:
report.json (the certificate), report.html and figures/*.png; the audits also write audit.json
(``audit-release`` only with ``--out``). The audits exit with 1 when they flag.
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import typer

from synthscape.errors import ParameterError, SynthscapeError

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="Evaluate synthetic tables and audit generators.")


def _schema(path: str | Path):
    from synthscape.schema import TableSchema

    p = Path(path)
    return TableSchema.from_json(p) if p.suffix == ".json" else TableSchema.from_yaml(p)


def evaluate_command(real: str | Path, synthetic: str | Path, schema: str | Path,
                     target: str | None, out: str | Path, *, test: str | Path | None = None,
                     test_fraction: float = 0.2, sensitive: Sequence[str] = (),
                     ledger: str | Path | None = None, seed: int = 0,
                     overwrite: bool = False) -> Path:
    """Evaluate the table at ``synthetic`` against ``real`` (CSV or Parquet) and write a report
    folder at ``out``. ``test`` is a held-out real table; without it ``real`` is split row by
    row with :func:`synthscape.random.train_test_split` under ``seed`` (the split a tabular
    scenario with that seed makes), which is only sound when the generator was fitted on the
    training part of that same split."""
    from synthscape.evaluation.api import evaluate
    from synthscape.io import atomic_folder, read_table
    from synthscape.privacy import PrivacyLedger
    from synthscape.random import train_test_split

    sch = _schema(schema)
    real_df, syn_df = read_table(real), read_table(synthetic)
    led = PrivacyLedger.from_json(Path(ledger)) if ledger is not None else None
    notes = []
    if test is not None:
        train_df, test_df = real_df, read_table(test)
    else:
        if not 0 < test_fraction < 1:
            raise ParameterError(f"test_fraction must be in (0, 1), got {test_fraction}")
        # row by row, keyed by the public seed: the split the tabular kind makes
        train_df, test_df = train_test_split(real_df, test_fraction, seed)
        if len(train_df) == 0 or len(test_df) == 0:
            raise ParameterError(f"splitting {real} ({len(real_df)} rows) at test_fraction "
                                 f"{test_fraction:g} left an empty part; give a held-out table "
                                 f"with --test or use more rows")
        notes.append(f"no test table was given: {real} was split ({test_fraction:g} held out, "
                     f"seed {seed}); privacy attacks are meaningful only if the generator never "
                     f"saw the held-out rows")
    with atomic_folder(out, overwrite=overwrite) as tmp:
        report = evaluate(train_df, test_df, syn_df, sch, target=target,
                          sensitive=tuple(sensitive), ledger=led, figures_dir=tmp, seed=seed)
        report.meta["inputs"] = {"real": str(real), "synthetic": str(synthetic),
                                 "test": None if test is None else str(test)}
        if notes:
            report.section("privacy_attacks").notes.extend(notes)
        report.write(tmp)
    return Path(out)


def audit_command(generator: str, data: str | Path, schema: str | Path, trials: int,
                  out: str | Path, *, params: Mapping[str, Any] | None = None,
                  n_synthetic: int | None = None, confidence: float = 0.95, seed: int = 0,
                  overwrite: bool = False) -> Path:
    """Audit the registered ``generator`` (with ``params``) on the table at ``data`` and write a
    report folder with audit.json at ``out``."""
    from synthscape.evaluation.audit import audit
    from synthscape.evaluation.report import Report
    from synthscape.io import atomic_folder, read_table
    from synthscape.scenarios.runner import versions

    sch = _schema(schema)
    df = read_table(data)
    with atomic_folder(out, overwrite=overwrite) as tmp:
        res = audit(generator, df, sch, trials, params=params, n_synthetic=n_synthetic,
                    confidence=confidence, seed=seed)
        report = Report(title=f"Empirical DP audit: {generator}")
        report.meta.update({
            "privacy": (f"ledger epsilon = {res.claimed_epsilon:.4g} at delta = {res.delta:g}"
                        if res.private else "NOT PRIVATE: the generator's ledger claims no "
                                            "epsilon"),
            "generator": generator, "params": dict(params or {}), "seed": seed,
            "rows": {"data": len(df)}, "versions": versions()})
        res.add_to(report, figures_dir=tmp)
        (tmp / "audit.json").write_text(json.dumps(res.to_dict(), indent=2, default=str) + "\n")
        report.write(tmp)
    return Path(out)


def audit_release_command(release: str | Path, data: str | Path, *,
                          data_prime: str | Path | None = None,
                          synthetic: str | Path | None = None,
                          canary: Mapping[str, Any] | None = None, trials: int = 40,
                          confidence: float = 0.95, seed: int = 0, out: str | Path | None = None,
                          overwrite: bool = False):
    """Replay audit of a published release: a saved model folder (model.json; ``synthetic`` is
    the table released beside it) or a run folder (``<run>/release``, or an older run). D is
    the table at ``data``; D' the table at ``data_prime``, or D plus a canary row (``canary``
    sets some of its columns). Returns the :class:`ReleaseAuditResult`; with ``out``, also
    writes a report folder with audit.json."""
    from contextlib import nullcontext

    from synthscape.evaluation.audit_release import audit_model_folder, audit_run_folder
    from synthscape.evaluation.report import Report
    from synthscape.io import atomic_folder, read_table
    from synthscape.scenarios.runner import versions

    path = Path(release)
    if not path.is_dir():
        raise ParameterError(f"{path} is not a folder: give a saved model folder (with "
                             f"model.json) or a run folder")
    d = read_table(data)
    dp = read_table(data_prime) if data_prime is not None else None
    kw: dict[str, Any] = {"canary": canary, "confidence": confidence, "seed": seed}
    folder = atomic_folder(out, overwrite=overwrite) if out is not None else nullcontext(None)
    with folder as tmp:
        if (path / "model.json").exists():
            syn = read_table(synthetic) if synthetic is not None else None
            res = audit_model_folder(path, d, dp, trials, synthetic=syn, **kw)
        elif synthetic is not None:
            raise ParameterError("--synthetic goes with a saved model folder; a run folder's "
                                 "release holds its own synthetic table")
        else:
            res = audit_run_folder(path, d, dp, trials, **kw)
        if tmp is not None:
            report = Report(title=f"Replay audit of a published release: {path.name}")
            report.meta.update({
                "privacy": (f"ledger epsilon = {res.claimed_epsilon:.4g} at delta = "
                            f"{res.delta:g}" if res.private else "NOT PRIVATE"),
                "release": str(path), "seed": seed, "rows": {"data": len(d)},
                "versions": versions()})
            res.add_to(report)
            (tmp / "audit.json").write_text(json.dumps(res.to_dict(), indent=2, default=str)
                                            + "\n")
            report.write(tmp)
    return res


def _parse_params(items: list[str], flag: str = "--param",
                  example: str = "epsilon=1.0") -> dict[str, Any]:
    import yaml

    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ParameterError(f"{flag} expects key=value (e.g. {flag} {example}), "
                                 f"got {item!r}")
        out[key.strip()] = yaml.safe_load(value)
    return out


def _fail(exc: Exception) -> None:
    """One message on stderr, its text printed as is (no markup: ``[low, high]`` stays)."""
    from rich.console import Console
    from rich.text import Text

    Console(stderr=True, soft_wrap=True, highlight=False).print(
        Text.assemble(("error: ", "bold red"), str(exc)))
    raise typer.Exit(code=2)


_SCHEMA = typer.Option(..., "--schema", "-s", help="Schema file (JSON or YAML).")
_OUT = typer.Option(..., "--out", "-o", help="Report folder to write.")
_SEED = typer.Option(0, "--seed")
_OVERWRITE = typer.Option(False, "--overwrite", help="Replace an existing folder.")


@app.command("evaluate")
def evaluate_cli(
    real: Path = typer.Argument(..., help="Real table (CSV or Parquet) the generator saw."),
    synthetic: Path = typer.Argument(..., help="Synthetic table (CSV or Parquet)."),
    schema: Path = _SCHEMA,
    out: Path = _OUT,
    target: str | None = typer.Option(None, "--target", "-t", help="Column to predict."),
    test: Path | None = typer.Option(None, "--test", help="Held-out real table."),
    test_fraction: float = typer.Option(0.2, help="Split of REAL held out when no --test."),
    sensitive: list[str] = typer.Option([], "--sensitive", help="Group column (repeatable)."),
    ledger: Path | None = typer.Option(None, "--ledger", help="ledger.json of the release."),
    seed: int = _SEED,
    overwrite: bool = _OVERWRITE,
) -> None:
    """Fidelity, utility, privacy attacks and fairness of a synthetic table: one report."""
    try:
        folder = evaluate_command(real, synthetic, schema, target, out, test=test,
                                  test_fraction=test_fraction, sensitive=sensitive,
                                  ledger=ledger, seed=seed, overwrite=overwrite)
    except SynthscapeError as exc:
        _fail(exc)
        return
    data = json.loads((folder / "report.json").read_text())
    typer.echo(f"wrote {folder}/report.html")
    typer.echo(f"  privacy: {data['meta']['privacy']}")
    typer.echo(f"  quality score: {data['sections']['fidelity']['scores']['quality_score']:.3f}")


@app.command("audit")
def audit_cli(
    generator: str = typer.Argument(..., help="Registered generator name, e.g. mst."),
    data: Path = typer.Argument(..., help="Table to fit on (CSV or Parquet)."),
    schema: Path = _SCHEMA,
    out: Path = _OUT,
    trials: int = typer.Option(20, "--trials", help="Fits with and fits without the canary."),
    param: list[str] = typer.Option([], "--param", "-p", help="key=value generator parameter "
                                                             "(repeatable), e.g. epsilon=1.0"),
    seed: int = _SEED,
    overwrite: bool = _OVERWRITE,
) -> None:
    """Empirical DP audit: canary in or out over repeated fits, epsilon lower bound."""
    try:
        folder = audit_command(generator, data, schema, trials, out,
                               params=_parse_params(param), seed=seed, overwrite=overwrite)
    except SynthscapeError as exc:
        _fail(exc)
        return
    res = json.loads((folder / "audit.json").read_text())
    typer.echo(f"wrote {folder}/report.html")
    typer.echo(f"  {res['verdict']}")
    if res["flagged"]:
        raise typer.Exit(code=1)


@app.command("audit-release")
def audit_release_cli(
    release: Path = typer.Argument(..., help="Released model folder (model.json) or run folder "
                                             "(<run>/release, or an older run folder)."),
    data: Path = typer.Argument(..., help="Candidate training table D (CSV or Parquet)."),
    data_prime: Path | None = typer.Option(None, "--with", help="D' (CSV or Parquet), D plus "
                                              "one row; default: D plus a canary row."),
    canary: list[str] = typer.Option([], "--canary", "-c", help="column=value of the canary "
                                                                "row (repeatable)."),
    synthetic: Path | None = typer.Option(None, "--synthetic", help="Synthetic table "
                                             "released beside a model folder."),
    trials: int = typer.Option(40, "--trials", help="Releases in the game, each fitted on D or "
                                                    "D' by a fair coin (audit_release's "
                                                    "DEFAULT_TRIALS)."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Report folder to write."),
    seed: int = _SEED,
    overwrite: bool = _OVERWRITE,
) -> None:
    """Replay audit of a published release: replays its public values on D and D' to bound
    epsilon from below; exit code 1 when the bound exceeds the ledger's claim."""
    try:
        res = audit_release_command(release, data, data_prime=data_prime, synthetic=synthetic,
                                    canary=_parse_params(canary, "--canary", "age=90") or None,
                                    trials=trials, seed=seed, out=out, overwrite=overwrite)
    except SynthscapeError as exc:
        _fail(exc)
        return
    if out is not None:
        typer.echo(f"wrote {out}/report.html")
    typer.echo(res.summary())
    if res.flagged:
        raise typer.Exit(code=1)

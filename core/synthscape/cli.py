"""The ``synthscape`` command: a thin typer layer over the scenarios runner.

Everything here is also one Python call (``synthscape.scenarios.run``, ``load_spec``, ...).
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from synthscape.errors import SynthscapeError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Privacy-preserving synthetic data: run YAML scenarios, list generators, "
                       "evaluate and audit synthetic tables.")
list_app = typer.Typer(no_args_is_help=True, help="List registered generators, scenario kinds, "
                                                  "environments.")
app.add_typer(list_app, name="list")


def _fail(exc: Exception) -> None:
    from rich.console import Console

    Console(stderr=True, soft_wrap=True).print(f"[bold red]error:[/] {exc}", markup=True,
                                               highlight=False)
    raise typer.Exit(code=2)


@app.command()
def run(
    spec: Path = typer.Argument(..., help="Scenario YAML file."),
    output: Optional[Path] = typer.Option(None, "--output", "-o",
                                          help="Parent folder: the run lands in "
                                               "<output>/<name>/ (default: the spec's "
                                               "'output')."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing run folder."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress output."),
) -> None:
    """Run a scenario into <output>/<name>/: release/ (data, schema, ledger, report) and
    internal/ (evaluation against the real data, not covered by the privacy guarantee)."""
    from synthscape.scenarios import load_spec
    from synthscape.scenarios import run as run_spec

    try:
        s = load_spec(spec)
        folder = run_spec(s, output=output, overwrite=overwrite, quiet=quiet)
    except SynthscapeError as exc:
        _fail(exc)
        return
    _summary(folder)


def _summary(folder: Path) -> None:
    import json

    from rich.console import Console
    from rich.markup import escape

    top = json.loads((folder / "manifest.json").read_text())
    release = folder / top["folders"]["release"]
    internal = folder / top["folders"]["internal"] if top["folders"].get("internal") else None
    rows = json.loads((release / "manifest.json").read_text()).get("rows", {})
    c = Console(soft_wrap=True, highlight=False)
    c.print(f"[green]wrote[/] {escape(str(folder))}")
    c.print(f"  release:  {escape(str(release))}  (may be shared; covered by its ledger.json)")
    if internal is not None:
        c.print(f"  internal: {escape(str(internal))}  (evaluation against the real data; NOT "
                f"covered by the privacy guarantee: keep it internal)")
    else:
        c.print("  internal: none" + ("" if top["reads_real_data"] else
                                      " (no real data was read)"))
    c.print(f"  privacy: {escape(top['privacy']['summary'])}")
    for name, n in rows.items():
        c.print(f"  release/data/{escape(name)}.parquet: {n} rows")
    c.print(f"  report: {escape(str(release / 'report.html'))}")
    if internal is not None:
        c.print(f"  evaluation: {escape(str(internal / 'report.html'))}")
    failed = [g for g, ok in top.get("gates", {}).items() if not ok]
    if failed:
        where = internal / "report.json" if internal is not None else folder / "manifest.json"
        c.print(f"[bold red]  evaluation gates FAILED: {escape(', '.join(failed))} (see "
                f"{escape(str(where))})[/]")


@app.command()
def validate(spec: Path = typer.Argument(..., help="Scenario YAML file.")) -> None:
    """Check a scenario file without running it; errors give file, line and field."""
    from synthscape.scenarios import load_spec

    try:
        s = load_spec(spec)
    except SynthscapeError as exc:
        _fail(exc)
        return
    typer.echo(f"{spec}: valid {s.kind} scenario '{s.name}'")


@list_app.command("generators")
def list_generators() -> None:
    """Registered generators and whether they are differentially private."""
    from synthscape.generators import GENERATORS

    for name in GENERATORS.names():
        cls = GENERATORS.get(name)
        tag = "DP" if getattr(cls, "private", True) else "not private"
        doc = (cls.__doc__ or "").strip().split("\n")[0]
        typer.echo(f"{name:18s} {tag:12s} {doc}")


@list_app.command("kinds")
def list_kinds() -> None:
    """Registered scenario kinds."""
    from synthscape.scenarios import KINDS

    for name in KINDS.names():
        typer.echo(f"{name:14s} {KINDS.get(name).description}")


@list_app.command("envs")
def list_envs() -> None:
    """Registered gymnasium environment ids of installed packs."""
    try:
        import gymnasium
    except ImportError:
        _fail(SynthscapeError("gymnasium is not installed: pip install 'synthscape[autonomy]'"))
        return
    from synthscape.plugins import load_plugins

    load_plugins()
    for env_id in sorted(gymnasium.registry):
        if env_id.startswith("synthscape"):
            typer.echo(env_id)


def _mount_optional() -> None:
    """Sub-commands that live beside their feature (evaluation: ``evaluate`` and ``audit``)."""
    try:
        from synthscape.evaluation import cli as eval_cli
    except ImportError:
        return
    for cmd in eval_cli.app.registered_commands:
        app.registered_commands.append(cmd)


_mount_optional()


def main() -> None:
    try:
        app()
    except SynthscapeError as exc:  # pragma: no cover - commands catch their own
        _fail(exc)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

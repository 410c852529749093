"""The ``synthscape`` command: a thin typer layer over the scenarios runner.

Everything here is also one Python call (``synthscape.scenarios.run``, ``load_spec``,
``validate.check_spec``, ...). Exit codes, for CI:

- 0: done; every gate passed.
- 1: an evaluation gate failed (``run``), or an audit flagged (``audit``, ``audit-release``).
- 2: bad input: the scenario, data, schema, parameters or paths (the message names the file,
  the field and the fix); also a command line that does not parse.
- 130: interrupted (Ctrl-C or SIGTERM); nothing is left behind.
- 3: an internal error, that is a bug: the traceback is printed; please report it.
"""
from __future__ import annotations

import logging
import os
import signal
import sys
from enum import Enum
from pathlib import Path

import typer

from synthscape.errors import SpecError, SynthscapeError

EXIT_OK, EXIT_GATE_FAILED, EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
EXIT_CODES = """\b
Exit codes:
  0    done; every gate passed
  1    an evaluation gate failed (run), or an audit flagged (audit, audit-release)
  2    bad input: scenario, data, schema, parameters or paths (the message names the
       file, the field and the fix)
  130  interrupted (Ctrl-C or SIGTERM); no run folder or temporary folder is left
  3    internal error (a bug): the traceback is printed; please report it"""
# errors of the user's files and paths (not of synthscape's own code)
_PATH_ERRORS = (PermissionError, FileNotFoundError, NotADirectoryError, IsADirectoryError,
                FileExistsError)

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  pretty_exceptions_enable=False, epilog=EXIT_CODES,
                  help="Privacy-preserving synthetic data: run YAML scenarios, list generators, "
                       "evaluate and audit synthetic tables.")


def _console(stderr: bool = False):
    from rich.console import Console

    # soft_wrap: long lines are never broken (logs keep one message per line)
    return Console(stderr=stderr, soft_wrap=True, highlight=False)


def _fail(exc: BaseException, code: int = EXIT_BAD_INPUT) -> None:
    """One clear message on stderr (its text printed as is: no markup), then exit."""
    from rich.text import Text

    text = str(exc) if not isinstance(exc, OSError) or not exc.filename else \
        f"{exc.filename}: {exc.strerror}"
    _console(stderr=True).print(Text.assemble(("error: ", "bold red"), text))
    raise typer.Exit(code=code)


class _StderrHandler(logging.Handler):
    """Warnings of the ``synthscape`` logger, one line each on the current stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(f"{record.levelname.lower()}: {record.getMessage()}\n")
        except Exception:  # pragma: no cover - logging must never fail the run
            self.handleError(record)


def _setup_logging() -> None:
    log = logging.getLogger("synthscape")
    if not any(isinstance(h, _StderrHandler) for h in log.handlers):
        log.addHandler(_StderrHandler(logging.WARNING))


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            v = version("synthscape")
        except PackageNotFoundError:  # pragma: no cover - a source tree without metadata
            from synthscape import __version__ as v
        typer.echo(f"synthscape {v}")
        raise typer.Exit()


@app.callback(epilog=EXIT_CODES)
def _main(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Print the version and exit.")) -> None:
    """Privacy-preserving synthetic data: run YAML scenarios, list generators, evaluate and
    audit synthetic tables."""
    _setup_logging()


@app.command(epilog=EXIT_CODES)
def run(
    spec: Path = typer.Argument(..., help="Scenario YAML file."),
    output: Path | None = typer.Option(None, "--output", "-o",
                                          help="Parent folder: the run lands in "
                                               "<output>/<name>/ (default: the spec's "
                                               "'output')."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing run folder."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress output."),
    scheduler: str | None = typer.Option(None, "--scheduler",
                                         help="Where the work runs: local, local:N (a Dask "
                                              "LocalCluster of N workers) or tcp://host:port; "
                                              "overrides the spec's execution.scheduler."),
) -> None:
    """Run a scenario into <output>/<name>/: release/ (data, schema, ledger, report) and
    internal/ (evaluation against the real data, not covered by the privacy guarantee).
    Every check of `validate` runs first. Exit code 1 when a gate fails."""
    from synthscape.scenarios import load_spec
    from synthscape.scenarios import run as run_spec

    try:
        s = load_spec(spec)
        from synthscape import compute

        if scheduler and (why := s.unsharded()) is not None:
            raise SpecError(f"--scheduler {scheduler}: {why}, so the scheduler would have no "
                            f"effect; run without --scheduler")
        with compute.use(scheduler) if scheduler else compute.for_spec(s):
            folder = run_spec(s, output=output, overwrite=overwrite, quiet=quiet)
    except (SynthscapeError, *_PATH_ERRORS) as exc:
        _fail(exc)
        return
    except Exception as exc:
        if not _interrupted(exc):
            raise
        _interrupt_exit()
    except KeyboardInterrupt:
        _interrupt_exit()
    if _summary(folder):
        raise typer.Exit(code=EXIT_GATE_FAILED)


def _interrupt_exit() -> None:
    _console(stderr=True).print("interrupted: no run folder was written", markup=False)
    raise typer.Exit(code=EXIT_INTERRUPTED) from None


def _interrupted(exc: BaseException) -> bool:
    """Whether ``exc`` comes from an interrupt: a signal arrived (see :func:`main`), or a
    KeyboardInterrupt is in its chain (Python wraps one raised while a class is being created,
    e.g. during an import, in a RuntimeError)."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        if isinstance(e, KeyboardInterrupt):
            return True
        seen.add(id(e))
        e = e.__cause__ or e.__context__
    return _SIGNALLED


def _summary(folder: Path) -> list[str]:
    """Print where everything went; return the gates that failed."""
    import json

    from synthscape.scenarios.runner import failed_gates

    top = json.loads((folder / "manifest.json").read_text())
    release = folder / top["folders"]["release"]
    internal = folder / top["folders"]["internal"] if top["folders"].get("internal") else None
    rows = json.loads((release / "manifest.json").read_text()).get("rows", {})
    c = _console()
    say = lambda text, style=None: c.print(text, style=style, markup=False)  # noqa: E731
    say(f"wrote {folder}", "green")
    say(f"  release:  {release}  (may be shared; covered by its ledger.json)")
    if internal is not None:
        say(f"  internal: {internal}  (evaluation against the real data; NOT covered by the "
            f"privacy guarantee: keep it internal)")
    else:
        say("  internal: none" + ("" if top["reads_real_data"] else " (no real data was read)"))
    say(f"  privacy: {top['privacy']['summary']}")
    for name, n in rows.items():
        table = f"{name}/" if (release / "data" / name).is_dir() else f"{name}.parquet"
        say(f"  release/data/{table}: {n} rows")
    say(f"  report: {release / 'report.html'}")
    if internal is not None:
        say(f"  evaluation: {internal / 'report.html'}")
    failed = failed_gates(folder)
    if failed:
        where = internal / "report.json" if internal is not None else folder / "manifest.json"
        _console(stderr=True).print(f"evaluation gates FAILED: {', '.join(failed)} (see {where})",
                                    style="bold red", markup=False)
    return failed


@app.command(epilog=EXIT_CODES)
def validate(spec: Path = typer.Argument(..., help="Scenario YAML file.")) -> None:
    """Check a scenario without running it: every check that needs no real data (the spec's
    fields; data and schema files exist and parse; column, code, weather and actor names exist;
    gates name metrics the run computes; parameters are physical). Errors give file, line and
    field; warnings do not fail."""
    from synthscape.scenarios import load_spec
    from synthscape.scenarios.validate import check_spec

    try:
        s = load_spec(spec)
        warnings = check_spec(s)
    except (SynthscapeError, *_PATH_ERRORS) as exc:
        _fail(exc)
        return
    note = f" ({len(warnings)} warning{'s' if len(warnings) != 1 else ''})" if warnings else ""
    typer.echo(f"{spec}: valid {s.kind} scenario '{s.name}'{note}")


class Listing(str, Enum):
    generators = "generators"
    kinds = "kinds"
    envs = "envs"


@app.command("list")
def list_(what: Listing = typer.Argument(..., help="What to list: generators (and whether "
                                                    "each is DP), kinds (scenario kinds), envs "
                                                    "(gymnasium ids of installed packs).")) -> None:
    """List registered generators, scenario kinds or environments."""
    {"generators": _list_generators, "kinds": _list_kinds, "envs": _list_envs}[what.value]()


def _list_generators() -> None:
    from synthscape.generators import GENERATORS

    for name in GENERATORS.names():
        cls = GENERATORS.get(name)
        tag = "DP" if getattr(cls, "private", True) else "not private"
        doc = (cls.__doc__ or "").strip().split("\n")[0]
        typer.echo(f"{name:18s} {tag:12s} {doc}")


def _list_kinds() -> None:
    from synthscape.scenarios import KINDS

    for name in KINDS.names():
        typer.echo(f"{name:14s} {KINDS.get(name).description}")


def _list_envs() -> None:
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
    """Sub-commands that live beside their feature (evaluation: ``evaluate``, ``audit`` and
    ``audit-release``)."""
    try:
        from synthscape.evaluation import cli as eval_cli
    except ImportError:
        return
    for cmd in eval_cli.app.registered_commands:
        app.registered_commands.append(cmd)


_mount_optional()


_SIGNALLED = False


def _on_signal(signum, frame) -> None:
    """SIGTERM (and SIGINT) unwind as Ctrl-C does, so temporary folders are removed on the
    way out; the flag keeps the exit code 130 whatever the exception becomes on its way."""
    global _SIGNALLED
    from synthscape.io import request_interrupt

    _SIGNALLED = True
    request_interrupt()
    raise KeyboardInterrupt


def main() -> None:
    """The console script: installs the signal handlers and maps every outcome to an exit
    code (see the module docstring)."""
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    code = _run_app()
    if code == EXIT_INTERRUPTED:
        # A signal can land inside a native import or while library threads (BLAS, torch,
        # dask) are live; finalizing the interpreter then can abort the process (SIGABRT)
        # after the cleanup already ran. Temporary folders are gone by now, so leave at once
        # (a second signal on the way out is ignored).
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, signal.SIG_IGN)
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001 - a closed pipe must not change the exit code
                pass
        os._exit(EXIT_INTERRUPTED)
    sys.exit(code)


def _run_app() -> int:
    """Run the typer app; return the exit code it ends with."""
    try:
        app()
    except SystemExit as exc:
        return _exit_code(exc.code)
    except SynthscapeError as exc:  # commands catch their own; this is a last resort
        try:
            _fail(exc)
        except typer.Exit:
            return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Exception as exc:
        if _interrupted(exc):
            return EXIT_INTERRUPTED
        import traceback

        traceback.print_exc()
        sys.stderr.write("internal error: this is a bug in synthscape or one of its packs; "
                         "please report it with the traceback above\n")
        return EXIT_INTERNAL
    return EXIT_OK


def _exit_code(code: object) -> int:
    """SystemExit's code as the process would report it (None is 0; a message is 1)."""
    if code is None:
        return EXIT_OK
    if isinstance(code, int):
        return EXIT_INTERRUPTED if _SIGNALLED and code != EXIT_OK else code
    print(code, file=sys.stderr)
    return 1


if __name__ == "__main__":  # pragma: no cover
    main()

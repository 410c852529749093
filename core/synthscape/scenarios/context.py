"""RunContext: what a kind's run function writes through. It writes into a temporary folder
that the runner renames into place only when everything succeeded."""
from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from synthscape.evaluation.report import Report
    from synthscape.privacy import PrivacyLedger
    from synthscape.schema import TableSchema


class RunContext:
    """Handed to ``run(spec, ctx)``.

    - ``ctx.rng("purpose")``: a numpy Generator keyed by (spec seed, purpose).
    - ``ctx.write_table(name, df)``: ``data/<name>.parquet`` (deterministic bytes).
    - ``ctx.write_json(relpath, obj)``: any JSON file inside the run folder.
    - ``ctx.save_figure(name, fig)``: ``figures/<name>.png``; returns the relative path.
    - ``ctx.ledger``: set it (``ctx.set_ledger``) when real data was used; ledger.json is written
      from it. Simulators that read no real data leave it unset: the ledger then records that
      no real data was used.
    - ``ctx.schema``: set it (``ctx.set_schema``) for table outputs; written as schema.json.
    - ``ctx.report``: a :class:`~synthscape.evaluation.report.Report` to add sections to.
    - ``with ctx.step("fitting"):`` shows a progress line while a long step runs.
    - ``ctx.meta``: extra facts for manifest.json (row counts are added automatically).
    """

    def __init__(self, root: Path, spec: Any, *, quiet: bool = False):
        from synthscape.evaluation.report import Report

        self.root = Path(root)
        self.spec = spec
        self.seed = int(getattr(spec, "seed", 0))
        self.quiet = quiet
        self.ledger: PrivacyLedger | None = None
        self.schema: TableSchema | None = None
        self.report: Report = Report(title=f"{spec.kind}: {getattr(spec, 'name', 'run')}")
        self.meta: dict[str, Any] = {}
        self.tables: dict[str, int] = {}
        (self.root / "data").mkdir(parents=True, exist_ok=True)

    def rng(self, purpose: str) -> np.random.Generator:
        tag = int.from_bytes(purpose.encode()[:8].ljust(8, b"\0"), "little")
        return np.random.default_rng(np.random.SeedSequence([self.seed, tag, len(purpose)]))

    def path(self, relpath: str) -> Path:
        p = self.root / relpath
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def write_table(self, name: str, df: pd.DataFrame) -> Path:
        from synthscape.io import write_parquet

        p = self.path(f"data/{name}.parquet")
        write_parquet(df, p)
        self.tables[name] = len(df)
        return p

    def write_json(self, relpath: str, obj: Any) -> Path:
        p = self.path(relpath)
        p.write_text(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")
        return p

    def save_figure(self, name: str, fig) -> str:
        import matplotlib.pyplot as plt

        rel = f"figures/{name}.png"
        fig.savefig(self.path(rel), dpi=100, metadata={"Software": None})
        plt.close(fig)
        return rel

    def set_ledger(self, ledger: "PrivacyLedger") -> None:
        self.ledger = ledger

    def set_schema(self, schema: "TableSchema") -> None:
        self.schema = schema

    @contextmanager
    def step(self, description: str) -> Iterator[None]:
        """Show a live progress line (spinner and elapsed time) while a long step runs."""
        if self.quiet:
            yield
            return
        from rich.console import Console
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                      console=Console(stderr=True), transient=False) as bar:
            task = bar.add_task(description, total=1)
            yield
            bar.update(task, completed=1)

    def log(self, message: str) -> None:
        if not self.quiet:
            from rich.console import Console

            Console(stderr=True).print(message)

"""RunContext: what a kind's run function writes through. It writes into a temporary folder
that the runner renames into place only when everything succeeded."""
from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from synthscape.evaluation.report import Gate, Report
    from synthscape.privacy import PrivacyLedger
    from synthscape.schema import TableSchema
    from synthscape.tables import TableWriter

    # The schema of an output table: a row schema (synthscape.tables.row_schema) or a
    # TableSchema.
    Declared = Mapping[str, Any] | TableSchema

RELEASE = "release"
INTERNAL = "internal"
INTERNAL_NOTICE = ("NOT COVERED BY THE PRIVACY GUARANTEE: this contains statistics of the real "
                   "data (evaluation against the data the generator was fitted on). Keep it "
                   "internal; do not share it with the recipients of the release.")


class RunContext:
    """Handed to ``run(spec, ctx)``. A run has two folders under one temporary root:

    ``release/`` (``ctx.release``): what may be shown to recipients; everything in it is
    covered by its ledger.json. Only the synthetic outputs, public metadata (the declared
    schema, the spec) and DP statistics already covered by the ledger go here.

    - ``ctx.write_table(name, df, schema=...)``: ``release/data/<name>.parquet`` (deterministic
      bytes, the declared dtypes) and its schema, ``release/schemas/<name>.json``: one JSON
      Schema of a row, from :func:`synthscape.tables.row_schema` (a pack's schemas.py) or a
      :class:`~synthscape.schema.TableSchema`. A table that does not match it fails the run.
    - ``with ctx.table_writer(name, schema=...) as w: w.write(chunk)``: the same, streamed in
      chunks (DataFrames or Arrow tables) in bounded memory.
    - ``with ctx.table_folder(name, schema=...) as folder:``: ``release/data/<name>/`` as a
      folder of Parquet partitions (a sharded run writes them from the workers).
    - ``ctx.set_ledger(ledger)``: the ledger of every accounted event; written as ledger.json.
      A kind registered with ``reads_real_data=True`` must set it, or the run fails.
    - ``ctx.set_schema(schema)``: the :class:`~synthscape.schema.TableSchema` a generator was
      fitted with, released as schema.json (a single-table kind); it also declares the tables
      written without a schema (``schemas/<table>.json``). ``ctx.undeclared`` lists the
      tables that still have none.
    - ``ctx.report``: the release :class:`~synthscape.evaluation.report.Report`. Add only
      sections computed from released outputs; the runner adds the overview (synthetic rows,
      privacy read from the ledger). Gates evaluated on it are recorded in the top
      manifest.json, never written into release/.
    - ``ctx.meta``: public facts for release/manifest.json (synthetic row counts are added).

    ``internal/`` (``ctx.internal``): the evaluation against the real data (fidelity,
    utility, attacks, fairness, audits, gates). It is NOT covered by the privacy guarantee and
    is labelled so (README.txt, the first key of report.json, a red banner in report.html).
    Kinds that read real data always get one; simulators get one only when they write to it.

    - ``ctx.internal_report``: the evaluation :class:`Report`.
    - ``ctx.gate(metric, min=..., max=...)``: a gate on the internal report ("section/score").
    - ``ctx.internal_meta``: facts for internal/manifest.json (e.g. real row counts).

    Both folders:

    - ``ctx.save_figure(name, fig, internal=False)``: ``figures/<name>.png`` in the release
      (or, with ``internal=True``, the internal folder); returns the path relative to it.
    - ``ctx.write_json(relpath, obj, internal=False)`` and ``ctx.path(relpath, internal=False)``.
    - ``ctx.rng("purpose")``: a numpy Generator keyed by (spec seed, purpose): public
      randomness, for simulation and post-processing only.
    - ``with ctx.step("fitting"):`` shows a progress line while a long step runs.
    """

    def __init__(self, root: Path, spec: Any, *, quiet: bool = False,
                 reads_real_data: bool = True):
        from synthscape.evaluation.report import Report

        self.root = Path(root)
        self.spec = spec
        self.seed = int(getattr(spec, "seed", 0))
        self.quiet = quiet
        self.reads_real_data = reads_real_data
        self.ledger: PrivacyLedger | None = None
        self.schema: TableSchema | None = None
        title = f"{spec.kind}: {getattr(spec, 'name', 'run')}"
        self.report: Report = Report(title=title, show_gates=False)
        self.internal_report: Report = Report(title=f"{title} (internal evaluation)",
                                              notice=INTERNAL_NOTICE)
        self.meta: dict[str, Any] = {}
        self.internal_meta: dict[str, Any] = {}
        self.tables: dict[str, int] = {}
        self.schemas: dict[str, dict[str, Any]] = {}  # table -> its row schema
        self._undeclared: dict[str, pd.DataFrame] = {}
        self._internal_used = reads_real_data
        (self.release / "data").mkdir(parents=True, exist_ok=True)

    # ---- the two folders -------------------------------------------------------------------
    @property
    def release(self) -> Path:
        return self.root / RELEASE

    @property
    def internal(self) -> Path:
        """The internal folder (created, and so written, once asked for)."""
        self._internal_used = True
        p = self.root / INTERNAL
        p.mkdir(parents=True, exist_ok=True)
        return p

    @property
    def has_internal(self) -> bool:
        """Whether the run writes an internal folder."""
        r = self.internal_report
        return self._internal_used or bool(r.sections or r.gates)

    def path(self, relpath: str, *, internal: bool = False) -> Path:
        p = (self.internal if internal else self.release) / relpath
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    # ---- writing -------------------------------------------------------------------------------
    def rng(self, *purpose: str | int) -> np.random.Generator:
        """Public randomness keyed by (spec seed, purpose): :func:`synthscape.random.derive_rng`."""
        from synthscape.random import derive_rng

        return derive_rng(self.seed, *purpose)

    def write_table(self, name: str, df: pd.DataFrame, *,
                    schema: Declared | None = None) -> Path:
        """``data/<name>.parquet`` with the dtypes ``schema`` declares, and
        ``schemas/<name>.json``. Without a schema the table waits for :meth:`set_schema`."""
        from synthscape.io import write_parquet
        from synthscape.tables import write_table

        p = self.path(f"data/{name}.parquet")
        if schema is None:
            write_parquet(df, p)
            self._undeclared[name] = df
        else:
            write_table(df, p, self._declare(name, schema), table=name)
        self.tables[name] = len(df)
        return p

    @contextmanager
    def table_writer(self, name: str, *, schema: Declared) -> Iterator[TableWriter]:
        """Stream ``data/<name>.parquet`` chunk by chunk (``w.write(chunk)``), with the
        declared schema written as ``schemas/<name>.json``; the row count is recorded when
        the block ends."""
        from synthscape.tables import TableWriter

        writer = TableWriter(self.path(f"data/{name}.parquet"), self._declare(name, schema),
                             table=name)
        try:
            yield writer
        finally:
            writer.close()
        self.tables[name] = writer.rows

    @contextmanager
    def table_folder(self, name: str, *, schema: Declared) -> Iterator[Path]:
        """``data/<name>/``: a table written as Parquet partitions (``*.parquet`` files, by
        the sharded paths of :mod:`synthscape.compute`), with its declared schema written as
        ``schemas/<name>.json``. The folder is given empty; its row count is read from the
        files' footers when the block ends."""
        import pyarrow.parquet as pq

        folder = self.release / "data" / name
        folder.mkdir(parents=True)
        self._declare(name, schema)
        yield folder
        self.tables[name] = sum(pq.ParquetFile(p).metadata.num_rows
                                for p in sorted(folder.rglob("*.parquet")))

    def _declare(self, name: str, schema: Declared) -> dict[str, Any]:
        from synthscape.schema import TableSchema
        from synthscape.tables import row_schema_of

        row = row_schema_of(schema, table=name) if isinstance(schema, TableSchema) \
            else dict(schema)
        self.schemas[name] = row
        self._undeclared.pop(name, None)
        # (not write_json: the columns keep their declared order)
        self.path(f"schemas/{name}.json").write_text(json.dumps(row, indent=2) + "\n")
        return row

    @property
    def undeclared(self) -> list[str]:
        """Tables written without a schema (none, once the run is complete)."""
        return sorted(self._undeclared)

    def write_json(self, relpath: str, obj: Any, *, internal: bool = False) -> Path:
        p = self.path(relpath, internal=internal)
        p.write_text(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")
        return p

    def save_figure(self, name: str, fig, *, internal: bool = False) -> str:
        import matplotlib.pyplot as plt

        rel = f"figures/{name}.png"
        fig.savefig(self.path(rel, internal=internal), dpi=100, metadata={"Software": None})
        plt.close(fig)
        return rel

    def set_ledger(self, ledger: PrivacyLedger) -> None:
        self.ledger = ledger

    def set_schema(self, schema: TableSchema) -> None:
        """The generator's table schema (schema.json); it declares the tables written without
        one, which are written again with its dtypes."""
        self.schema = schema
        for name, df in list(self._undeclared.items()):
            self.write_table(name, df, schema=schema)

    def gate(self, metric: str, *, min: float | None = None,  # noqa: A002 - YAML's words
             max: float | None = None) -> list[Gate]:  # noqa: A002
        """Gates on the internal report: ``min`` (score >= min) and/or ``max``."""
        out = []
        if min is not None:
            out.append(self.internal_report.add_gate(metric, min, "min"))
        if max is not None:
            out.append(self.internal_report.add_gate(metric, max, "max"))
        return out

    # ---- progress ------------------------------------------------------------------------------
    @contextmanager
    def step(self, description: str) -> Iterator[None]:
        """Show a live progress line (spinner and elapsed time) while a long step runs."""
        if self.quiet:
            yield
            return
        from rich.console import Console
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        with Progress(SpinnerColumn(), TextColumn("{task.description}", markup=False),
                      TimeElapsedColumn(), console=Console(stderr=True, soft_wrap=True),
                      transient=False) as bar:
            task = bar.add_task(description, total=1)
            yield
            bar.update(task, completed=1)

    def log(self, message: str) -> None:
        if not self.quiet:
            from rich.console import Console

            Console(stderr=True, soft_wrap=True).print(message, markup=False, highlight=False)

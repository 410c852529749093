"""``kind: tabular``: fit a generator to a table and release synthetic data with a report."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import Field, model_validator

from synthscape.errors import SynthscapeError
from synthscape.random import train_test_split
from synthscape.scenarios.generator_spec import GeneratorSpec
from synthscape.scenarios.kinds import register_kind
from synthscape.scenarios.spec import GateSpec, PrivacySpec, Problem, SpecBase, StrictModel

DATA_SUFFIXES = (".csv", ".gz", ".txt", ".parquet", ".pq")


class DataSpec(StrictModel):
    """Where the real table comes from: a file ``path`` or a built-in ``dataset`` name."""

    path: str | None = None
    dataset: str | None = None
    drop: list[str] = Field(default_factory=list)
    test_fraction: float = Field(default=0.2, ge=0.0, lt=1.0)

    @model_validator(mode="after")
    def _one_source(self) -> DataSpec:
        if (self.path is None) == (self.dataset is None):
            raise ValueError("give exactly one of 'path' (CSV/Parquet file) or 'dataset' "
                             "(e.g. 'ISLR/Default')")
        return self


class SchemaSpec(StrictModel):
    """``file`` (YAML/JSON), inline ``columns``, or ``infer: dp`` (spends budget) / ``free``."""

    file: str | None = None
    columns: list[dict[str, Any]] | None = None
    infer: Literal["dp", "free"] | None = None
    out_of_bounds: Literal["error", "clip"] = "error"

    @model_validator(mode="after")
    def _one(self) -> SchemaSpec:
        if sum(x is not None for x in (self.file, self.columns, self.infer)) != 1:
            raise ValueError("give exactly one of 'file', 'columns' or 'infer'")
        return self


class EvaluationSpec(StrictModel):
    """What ``evaluate`` measures; ``gates`` maps "section/score" to a min and/or max."""

    target: str | None = None
    sensitive: list[str] = Field(default_factory=list)
    full: bool = True
    max_rows: int = Field(default=5000, ge=10)
    n_attacks: int = Field(default=500, ge=10)
    gates: dict[str, GateSpec] = Field(default_factory=dict)


class TabularSpec(SpecBase):
    """Fit a generator to a real table and release synthetic rows with a report."""

    kind: Literal["tabular"] = "tabular"

    def unsharded(self) -> str | None:
        return None  # sampled in shards on the workers (write_shards)
    data: DataSpec
    schema_: SchemaSpec = Field(alias="schema")
    privacy: PrivacySpec | None = None  # before generator: it fills epsilon, delta, accountant
    generator: GeneratorSpec
    rows: int = Field(default=10_000, ge=1)
    conditions: dict[str, Any] | None = None
    evaluation: EvaluationSpec = Field(default_factory=EvaluationSpec)

    model_config = {**SpecBase.model_config, "populate_by_name": True}

    # ---- the checks of ``synthscape validate`` (no real data is read) -----------------------
    def declared_metrics(self) -> dict[str, str | None]:
        from synthscape.scenarios.validate import MARGINALS, evaluation_metrics

        ev = self.evaluation
        why = ("computed only with evaluation.full: true" if not ev.full else
               "needs held-out rows: set data.test_fraction > 0"
               if self.data.test_fraction == 0 else None)
        tasks: tuple[str, ...] = ()
        if ev.target is not None:
            schema = self._declared()[0]
            col = schema[ev.target] if schema is not None and ev.target in schema else None
            tasks = ("classification", "regression") if col is None else \
                ("classification",) if col.kind in ("categorical", "boolean") else ("regression",)
        out: dict[str, str | None] = {f"marginals/{m}": None for m in MARGINALS}
        out.update(evaluation_metrics(
            tasks=tasks, sensitive=ev.sensitive, why_not=why,
            no_target="computed only with evaluation.target set",
            no_sensitive="computed only for the columns listed in evaluation.sensitive"))
        return out

    def _declared(self) -> tuple[Any, Problem | None]:
        """The declared schema (file or columns) and the problem that stopped its loading."""
        from synthscape.scenarios.validate import load_schema_file
        from synthscape.schema import TableSchema

        s = self.schema_
        try:
            if s.file is not None:
                return load_schema_file(self.resolve(s.file)), None
            if s.columns is not None:
                return TableSchema.from_dict({"columns": s.columns, "name": self.name},
                                             source="the scenario's schema.columns"), None
        except SynthscapeError as exc:
            return None, Problem(("schema", "file" if s.file else "columns"), str(exc))
        return None, None

    def problems(self) -> Iterator[Problem]:
        from synthscape.datasets import dataset_problem
        from synthscape.scenarios import validate as v

        d, s, header = self.data, self.schema_, None
        if self.privacy is not None and not _private(self.generator.type):
            yield Problem(("privacy",), f"generator '{self.generator.type}' is not differentially "
                          f"private, so this budget would be ignored: remove 'privacy' for a "
                          f"non-private baseline, or choose a DP generator (`synthscape list "
                          f"generators` marks them DP)")
        if d.path is not None:
            bad = v.file_problem(self, ("data", "path"), d.path, what="data file",
                                 suffixes=DATA_SUFFIXES)
            if bad is None:
                try:
                    header = v.table_columns(self.resolve(d.path))
                except SynthscapeError as exc:
                    bad = Problem(("data", "path"), str(exc))
            if bad is not None:
                yield bad
        elif (msg := dataset_problem(str(d.dataset))) is not None:
            yield Problem(("data", "dataset"), msg)
        for i, c in enumerate(d.drop):
            if header is not None and c not in header:
                yield Problem(("data", "drop", i), v.unknown_name("column", c, header) +
                              " in the data file")
        bad = v.file_problem(self, ("schema", "file"), s.file, what="schema file",
                             suffixes=(".yaml", ".yml", ".json"))
        schema, bad = (None, bad) if bad is not None else self._declared()
        if bad is not None:
            yield bad
        kept = None if header is None else [c for c in header if c not in d.drop]
        if schema is not None and kept is not None:
            yield from _header_problems(schema, kept, self.resolve(str(d.path)))
        names = list(schema.names) if schema is not None else kept
        if names is not None:
            yield from _name_problems(self, names, schema)


def _header_problems(schema, kept: list[str], path: Path) -> Iterator[Problem]:
    missing = [n for n in schema.names if n not in kept]
    extra = [c for c in kept if c not in schema.names]
    if missing:
        yield Problem(("schema",), f"column(s) {missing} of the schema are not in the data file "
                                   f"{path}: add them to the data or remove them from the schema")
    if extra:
        yield Problem(("data", "path"), f"column(s) {extra} of the data file {path} are not in "
                                        f"the schema: declare them or list them in data.drop")


def _name_problems(spec: TabularSpec, names: list[str], schema) -> Iterator[Problem]:
    """Target, sensitive and condition columns exist (and condition values are declared)."""
    from synthscape.scenarios.validate import unknown_name

    ev = spec.evaluation
    if ev.target is not None and ev.target not in names:
        yield Problem(("evaluation", "target"), unknown_name("column", ev.target, names))
    for i, c in enumerate(ev.sensitive):
        if c not in names:
            yield Problem(("evaluation", "sensitive", i), unknown_name("column", c, names))
    for c, want in (spec.conditions or {}).items():
        if c not in names:
            yield Problem(("conditions", c), unknown_name("column", c, names))
            continue
        col = schema[c] if schema is not None else None
        if col is None:
            continue
        if col.kind not in ("categorical", "boolean"):
            yield Problem(("conditions", c), f"conditions apply to categorical or boolean "
                                             f"columns; {c!r} is {col.kind}")
            continue
        values = list(want) if isinstance(want, dict) else [want]
        unknown = [x for x in values if x not in col.values]
        if unknown:
            yield Problem(("conditions", c), f"condition on {c!r}: unknown value(s) {unknown}; "
                                             f"allowed: {list(col.values)}")


def _private(generator: str) -> bool:
    from synthscape.generators import GENERATORS

    return bool(getattr(GENERATORS.get(generator), "private", True))


def _load_data(spec: TabularSpec) -> pd.DataFrame:
    from synthscape.datasets import load_dataset
    from synthscape.io import read_table

    df = load_dataset(spec.data.dataset) if spec.data.dataset else \
        read_table(spec.resolve(str(spec.data.path)))  # DataSpec: path when no dataset
    if spec.data.drop:
        missing = [c for c in spec.data.drop if c not in df.columns]
        if missing:
            from synthscape.errors import SpecError

            raise SpecError(f"data.drop names unknown column(s) {missing}")
        df = df.drop(columns=spec.data.drop)
    return df


def _schema(spec: TabularSpec, df: pd.DataFrame):
    from synthscape.scenarios.validate import load_schema_file
    from synthscape.schema import TableSchema

    s = spec.schema_
    if s.file:
        return load_schema_file(spec.resolve(s.file))
    if s.columns is not None:
        return TableSchema.from_dict({"columns": s.columns, "name": spec.name},
                                     source="the scenario's schema.columns")
    if s.infer == "free":
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return TableSchema.infer(df, name=spec.name)
    return None  # "dp": the generator infers it and pays from the same budget


def run_tabular(spec: TabularSpec, ctx) -> None:
    """Release: the synthetic table, its schema and ledger and a report computed from them.
    Internal: the evaluation against the real training and test rows, and the gates."""
    from synthscape.generators import make

    df = _load_data(spec)
    schema = _schema(spec, df)
    if schema is not None:  # report problems against the input file's own rows
        source = spec.data.dataset or str(spec.resolve(str(spec.data.path)))
        df = schema.validate(df, out_of_bounds=spec.schema_.out_of_bounds, source=source)
    train, test = train_test_split(df, spec.data.test_fraction, spec.seed)
    if spec.privacy is not None and _private(spec.generator.type):
        from synthscape.scenarios.validate import warn_delta

        warn_delta(spec.privacy, len(train), "rows")  # to the terminal only
    # every effective parameter, as spec.resolved.yaml shows it (privacy and seed filled in)
    gen = make(spec.generator.type, **spec.generator.params)
    with ctx.step(f"fitting {spec.generator.type}"):
        gen.fit(train, schema)
    with ctx.step(f"sampling {spec.rows} rows"):
        syn = _sample(spec, ctx, gen)
    ctx.set_schema(gen.schema_)
    ctx.set_ledger(gen.ledger_)
    _release(spec, ctx, syn, gen.schema_)
    with ctx.step("evaluating (fidelity, utility, privacy attacks, fairness)"):
        _evaluate(spec, ctx, train, test, syn, gen)


def _sample(spec: TabularSpec, ctx, gen) -> pd.DataFrame:
    """The synthetic table, written to the release: ``data/synthetic.parquet`` from one call
    of ``gen.sample`` in this process, or, when the run is sharded (``execution.partitions``
    or a cluster), ``data/synthetic/part-*.parquet`` written by the workers from the shards
    of :func:`~synthscape.compute.sampling.write_shards` (the same bytes for any number of
    workers). Returns the table for the report and the evaluation."""
    from synthscape import compute

    if not compute.sharded(spec):
        syn = gen.sample(spec.rows, conditions=spec.conditions, seed=spec.seed)
        ctx.write_table("synthetic", syn, schema=gen.schema_)
        return syn
    from synthscape.compute.sampling import read_folder, write_shards

    with ctx.table_folder("synthetic", schema=gen.schema_) as folder:
        write_shards(gen, spec.rows, folder, partitions=compute.partitions_of(spec),
                     seed=spec.seed, table="synthetic", conditions=spec.conditions)
    return read_folder(folder)


def _release(spec: TabularSpec, ctx, syn: pd.DataFrame, schema) -> None:
    """The release report's table section: synthetic summaries, marginals and provenance."""
    from synthscape.evaluation.release_report import describe_table, provenance_text

    s = spec.schema_
    declared = (f"the file {Path(s.file).name}" if s.file else
                "the scenario (schema.columns)" if s.columns is not None else None)
    how = s.infer or getattr(schema, "provenance", None) or "declared"
    text = provenance_text(how, declared)
    describe_table(ctx.report, "synthetic", syn, schema=schema, save_figure=ctx.save_figure,
                   provenance=text, title="Synthetic data")


def _evaluate(spec: TabularSpec, ctx, train, test, syn, gen) -> None:
    """Marginals always; the full evaluation suite (fidelity, utility, attacks, fairness and
    figures) when ``evaluation.full`` and a test split exist; then the gates. All of it goes
    to the internal folder: it compares with the real rows."""
    import warnings

    from synthscape.evaluation import evaluate
    from synthscape.evaluation.marginals import marginal_scores
    from synthscape.generators.base import _drop_unreleased_categories

    schema = gen.schema_
    report = ctx.internal_report
    if spec.schema_.infer == "dp":
        # a DP-inferred schema may not release rare categories: rows holding them are left out
        # of the evaluation exactly as they were left out of the fit
        train, test = (_drop_unreleased_categories(d, schema) for d in (train, test))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # clipping was decided by the schema
        real = schema.validate(train, out_of_bounds="clip", source="training data")
    report.add_section("marginals", title="Marginal similarity",
                       scores=marginal_scores(real, syn, schema))
    report.meta["rows"] = {"real_train": len(real), "real_test": len(test),
                           "synthetic": len(syn)}
    ctx.internal_meta["rows"] = dict(report.meta["rows"])
    ev = spec.evaluation
    if not ev.full:
        report.section("marginals").notes.append(
            "evaluation.full is false: only marginal similarity was computed")
    elif len(test) == 0:
        report.section("marginals").notes.append(
            "data.test_fraction is 0, so there is no held-out test set: utility and privacy "
            "attacks need one and were not computed")
    else:
        full = evaluate(real, test, syn, schema, target=ev.target,
                        sensitive=tuple(ev.sensitive), ledger=gen.ledger_,
                        figures_dir=ctx.internal, seed=spec.seed, max_rows=ev.max_rows,
                        n_attacks=ev.n_attacks)
        report.sections.update(full.sections)
        for key in ("rows", "target", "sensitive", "epsilon"):
            report.meta[key] = full.meta[key]
    # the gates (evaluation.gates) are applied by the runner, as for every kind


register_kind("tabular", TabularSpec, run_tabular, reads_real_data=True)

"""The run function of ``kind: federated`` and its registration.

Release: ``data/synthetic.parquet`` (with ``dp_sequence``: ``data/entities.parquet`` and
``data/events.parquet``, ``rows`` entities), the schema, ``ledger.json`` (the ledger of the
site with the largest epsilon: parallel composition over disjoint sites), ``ledgers/<site>.json``
for every site and ``federation.json`` with the combined guarantee in words. Internal: only
with ``evaluation.pooled: true`` (a test harness that may read every site), the comparison with
the pooled records, labelled as such.
"""
from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from synthscape.federated.spec import FederatedSpec, SiteSpec

if TYPE_CHECKING:
    from synthscape.federated.coordinator import FederatedFit


def _site_data(spec: FederatedSpec, site: SiteSpec) -> pd.DataFrame:
    from synthscape.errors import SpecError

    if site.path is not None:
        from synthscape.io import read_table

        return read_table(spec.resolve(site.path))
    from synthscape.datasets import load_dataset

    df = load_dataset(str(site.dataset))
    for col, values in (site.where or {}).items():
        if col not in df.columns:
            raise SpecError(f"site {site.name!r}: 'where' names unknown column {col!r}")
        df = df[df[col].isin(values)]
    if len(df) == 0:
        raise SpecError(f"site {site.name!r}: no row of {site.dataset} matches {site.where}")
    return df.reset_index(drop=True)


def _sequential(spec: FederatedSpec) -> bool:
    return spec.protocol.type == "neural" and spec.protocol.generator == "dp_sequence"


def _schema(spec: FederatedSpec):
    from synthscape.scenarios.validate import load_schema_file
    from synthscape.schema import SequenceSchema, TableSchema

    if _sequential(spec):
        return SequenceSchema.from_yaml(spec.resolve(str(spec.schema_.file)))
    if spec.schema_.file:
        return load_schema_file(spec.resolve(spec.schema_.file))
    return TableSchema.from_dict({"columns": spec.schema_.columns, "name": spec.name},
                                 source="the scenario's schema.columns")


def _fit(spec: FederatedSpec, schema, data: dict[str, pd.DataFrame], tmp: Path):
    from synthscape.federated.coordinator import fit_federated
    from synthscape.federated.gan import fit_gan
    from synthscape.federated.local import fit_local_dp
    from synthscape.federated.neural import fit_neural
    from synthscape.privacy import Budget

    p = spec.protocol
    fits: dict[str, Callable[..., FederatedFit]] = {
        "marginal": fit_federated, "local_dp": fit_local_dp, "neural": fit_neural}
    fit = fit_gan if p.type == "neural" and p.generator == "dp_ctgan" else fits[p.type]
    kw: dict[str, Any] = dict(
        workload=None if p.workload is None else [tuple(w) for w in p.workload],
        bins=p.bins, iters=p.iters, seed=spec.seed)
    if _sequential(spec):
        return _fit_sequence(spec, schema, data, tmp)
    if p.type == "neural":  # the plan left unset: the protocol function's defaults
        kw = {k: v for k, v in dict(rounds=p.rounds, local_epochs=p.local_epochs,
                                    batch_size=p.batch_size).items() if v is not None}
        kw["seed"] = spec.seed
        sl = p.site_level
        if fit is fit_neural and sl is not None:
            kw["site_budget"] = Budget(epsilon=sl.epsilon, delta=sl.delta, unit="site")
    sa = None
    if p.type == "marginal":
        kw.update(discover=p.discover, keys_share=p.keys_share, degree=p.degree,
                  rounds=p.rounds, secure_aggregation=p.secure_aggregation is not None,
                  measure_first=None if p.measure_first is None
                  else [tuple(w) for w in p.measure_first], first_share=p.first_share)
        if p.secure_aggregation is not None:
            sa = (len(spec.sites), p.secure_aggregation.colluding_sites)
    with _transport(spec, data, tmp, sa=sa) as transport:
        return fit(transport, schema, **kw)


@contextmanager
def _transport(spec: FederatedSpec, data: dict[str, pd.DataFrame], tmp: Path, *,
               sa: tuple[int, int] | None = None, unit: str = "record",
               entities: dict[str, pd.DataFrame | None] | None = None) -> Iterator[Any]:
    """The sites of ``spec`` in this process, or as Flower site processes (their tables written
    to ``tmp``) and the remote ones by name."""
    from synthscape.federated.secagg import SecureAggregation
    from synthscape.federated.site import Site
    from synthscape.federated.transport import InProcessTransport
    from synthscape.privacy import Budget

    entities = entities or {}
    if spec.transport.type == "in_process":
        yield InProcessTransport([
            Site(s.name, data[s.name], accountant=s.privacy.accountant,
                 budget=Budget(epsilon=s.privacy.epsilon, delta=s.privacy.delta, unit=unit),
                 secure_aggregation=None if sa is None else SecureAggregation(*sa),
                 entities=entities.get(s.name)) for s in spec.sites])
        return
    from synthscape.federated.flower import TORCH_STACK, FlowerTransport, SiteProcess

    members: list[str | SiteProcess] = []
    for s in spec.sites:
        if s.remote:
            members.append(s.name)
            continue
        f, e = tmp / f"{s.name}.parquet", tmp / f"{s.name}.entities.parquet"
        data[s.name].to_parquet(f)
        ent = entities.get(s.name)
        if ent is not None:
            ent.to_parquet(e)
        members.append(SiteProcess(s.name, str(f), s.privacy.epsilon, s.privacy.delta,
                                   s.privacy.accountant, sa,
                                   entities=None if ent is None else str(e), unit=unit))
    host, _, port = spec.transport.address.rpartition(":")
    preload = TORCH_STACK if spec.protocol.type == "neural" else ()
    with FlowerTransport(members, python=spec.transport.python, host=host,
                         port=int(port) or None, preload=preload) as transport:
        yield transport


def _fit_sequence(spec: FederatedSpec, schema, data: dict[str, pd.DataFrame], tmp: Path):
    from synthscape.federated.sequence import fit_sequence
    from synthscape.io import read_table

    p = spec.protocol
    entities = {s.name: None if s.entities is None else read_table(spec.resolve(s.entities))
                for s in spec.sites if not s.remote}
    with _transport(spec, data, tmp, unit="entity", entities=entities) as transport:
        plan: dict[str, Any] = {} if p.rounds is None else {"rounds": p.rounds}
        return fit_sequence(transport, schema, local_epochs=p.local_epochs,
                            batch_size=p.batch_size, seed=spec.seed, **plan)


def _release_sequences(spec: FederatedSpec, ctx, gen) -> tuple:
    """``rows`` synthetic entities and their events, each table with its row schema."""
    from synthscape.schema import Column, TableSchema

    schema = gen.schema_
    key = Column(name=schema.entity_key, kind="id", description="synthetic entity id")
    lo, hi = schema.time_bounds
    when = Column(name=schema.time_key, kind="datetime", lower=lo, upper=hi)
    ents, evs = gen.sample(spec.rows, seed=spec.seed)
    own = tuple(schema.entities.columns) if schema.entities is not None else ()
    ctx.write_table("entities", ents, schema=TableSchema(columns=(key, *own), name="entities"))
    ev = tuple(schema.events.columns) if schema.events is not None else ()
    ctx.write_table("events", evs, schema=TableSchema(columns=(key, when, *ev), name="events"))
    return ents, evs


def run_federated(spec: FederatedSpec, ctx) -> None:
    """Fit across the sites, release the synthetic table with every site's ledger."""
    schema = _schema(spec)
    data = {s.name: _site_data(spec, s) for s in spec.sites if not s.remote}
    with ctx.step(f"federated fit over {len(spec.sites)} sites ({spec.protocol.type}, "
                  f"{spec.transport.type})"), tempfile.TemporaryDirectory() as tmp:
        fit = _fit(spec, schema, dict(data), Path(tmp))
    gen = fit.generator
    if _sequential(spec):
        with ctx.step(f"sampling {spec.rows} entities"):
            syn = _release_sequences(spec, ctx, gen)
    else:
        with ctx.step(f"sampling {spec.rows} rows"):
            syn = gen.sample(spec.rows, seed=spec.seed)
        ctx.write_table("synthetic", syn, schema=gen.schema_)
        ctx.set_schema(gen.schema_)
    ctx.set_ledger(gen.ledger_)
    for name, led in fit.ledgers.items():
        ctx.write_json(f"ledgers/{name}.json", led.to_dict())
    ctx.write_json("federation.json", {
        "guarantee": fit.guarantee, "protocol": spec.protocol.type, "generator": gen.name,
        "transport": spec.transport.type, "sites": list(fit.ledgers), "rounds": fit.rounds,
        "cliques": fit.cliques})
    ctx.report.add_section("federation", title="Federation", scores={"rounds": fit.rounds})
    ctx.report.section("federation").notes.append(fit.guarantee)
    if spec.evaluation.pooled and _sequential(spec):
        _evaluate_pooled_sequences(spec, ctx, data, syn, gen.schema_)
    elif spec.evaluation.pooled:
        _evaluate_pooled(ctx, data, syn, gen.schema_)
    else:
        ctx.report.section("federation").notes.append(
            "No comparison with real records was made: the coordinator never sees them "
            "(evaluation.pooled is false).")


def _evaluate_pooled(ctx, data: dict[str, pd.DataFrame], syn: pd.DataFrame, schema) -> None:
    import warnings

    from synthscape.evaluation.marginals import marginal_scores
    from synthscape.generators.base import _drop_unreleased_categories

    pooled = _drop_unreleased_categories(pd.concat(list(data.values()), ignore_index=True),
                                         schema)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        real = schema.validate(pooled[schema.names], out_of_bounds="clip", source="pooled sites")
    rep = ctx.internal_report
    rep.add_section("marginals", title="Marginal similarity with the pooled records",
                    scores=marginal_scores(real, syn, schema))
    rep.section("marginals").notes.append(
        "Compared with the pooled records of every site: evaluation.pooled is true, so the "
        "runner read every site's data (a test harness). A real coordinator never sees them.")
    rep.meta["rows"] = {"pooled": len(real), "synthetic": len(syn)}
    ctx.internal_meta["rows"] = dict(rep.meta["rows"])


def _evaluate_pooled_sequences(spec: FederatedSpec, ctx, data: dict[str, pd.DataFrame],
                               syn: tuple, schema) -> None:
    from synthscape.evaluation.sequences import sequence_report
    from synthscape.io import read_table

    events = pd.concat(list(data.values()), ignore_index=True)
    ents = [read_table(spec.resolve(s.entities)) for s in spec.sites if s.entities]
    entities = pd.concat(ents, ignore_index=True) if ents else None
    rep = ctx.internal_report
    scores = sequence_report(entities, events, syn[0], syn[1], schema)
    rep.add_section("sequences", title="Sequences against the pooled records of every site",
                    scores={k: v for k, v in scores.items() if isinstance(v, (int, float))})
    rep.section("sequences").notes.append(
        "Compared with the pooled records of every site: evaluation.pooled is true, so the "
        "runner read every site's data (a test harness). A real coordinator never sees them.")
    rep.meta["rows"] = {"pooled_events": len(events), "synthetic_events": len(syn[1])}
    ctx.internal_meta["rows"] = dict(rep.meta["rows"])


def register() -> None:
    """Add ``kind: federated`` to the scenario registry (idempotent)."""
    from synthscape.scenarios.kinds import register_kind

    register_kind("federated", FederatedSpec, run_federated, reads_real_data=True)


register()  # on import, as tabular does: synthscape.scenarios imports this module

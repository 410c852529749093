"""``kind: federated``: the sites (where their records are and their budgets), the protocol,
the transport and what the runner may evaluate.

```yaml
kind: federated
name: three-clinics
schema: {file: clinics.schema.yaml}        # public, shared by every site
sites:
  - {name: north, path: north.csv, privacy: {epsilon: 1.0}}
  - {name: south, dataset: ISLR/Default, where: {student: ["Yes"]}, privacy: {epsilon: 1.0}}
  - {name: east, remote: true, privacy: {epsilon: 1.0}}   # connects to the Flower server itself
protocol: {type: marginal, discover: [ward], rounds: 40}   # or {type: neural, generator: dp_ctgan}
transport: {type: flower, address: "127.0.0.1:0"}
rows: 5000
evaluation: {pooled: false}
```
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

from pydantic import Field, model_validator

from synthscape.scenarios.spec import GateSpec, PrivacySpec, Problem, SpecBase, StrictModel

_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
NEURAL_GENERATORS = ("dp_tvae", "dp_ctgan", "dp_sequence")


class SiteSpec(StrictModel):
    """One site: its records (``path``, or a built-in ``dataset`` with the rows ``where`` a
    column takes the listed values, for demonstrations), or ``remote: true`` for a site that
    runs ``python -m synthscape.federated.flower site`` itself; and its per-record budget.
    With ``protocol.generator: dp_sequence``, ``path`` is the site's events table and
    ``entities`` its entities table (one row per entity; the budget is then per entity)."""

    name: str = Field(pattern=_NAME)
    path: str | None = None
    entities: str | None = None
    dataset: str | None = None
    where: dict[str, list[Any]] | None = None
    remote: bool = False
    privacy: PrivacySpec

    @model_validator(mode="after")
    def _one_source(self) -> SiteSpec:
        if sum([self.path is not None, self.dataset is not None, self.remote]) != 1:
            raise ValueError(f"site {self.name!r}: give exactly one of 'path' (CSV/Parquet), "
                             f"'dataset' (with an optional 'where') or 'remote: true'")
        if self.where is not None and self.dataset is None:
            raise ValueError(f"site {self.name!r}: 'where' selects rows of a 'dataset'")
        return self


class SecureAggregationSpec(StrictModel):
    """Masked sums with distributed Skellam noise (marginal protocol): the coordinator sees only
    sums, each site adds its share of the noise; ``colluding_sites`` is how many sites may
    collude with the coordinator or with each other. The default, 1, covers what every site can
    do alone: it knows its own share of the noise and, reading the release, can remove it (0
    covers the coordinator and outside recipients only). The release states the guarantee under
    that assumption and the weaker ones without it."""

    colluding_sites: int = Field(default=1, ge=0)


class ProtocolSpec(StrictModel):
    """``marginal``: sites answer marginal queries under central DP at each site (AIM-style
    private rounds, or one round of a declared ``workload``). ``local_dp``: every record is
    randomised before it leaves (randomised response on its cell of each workload marginal).
    ``neural``: DP-FedAvg of ``generator`` (``dp_tvae``, the default, ``dp_ctgan`` or
    ``dp_sequence``): ``rounds`` of ``local_epochs`` DP-SGD at each site; ``site_level``
    (``dp_tvae`` only) adds site-level DP at the coordinator. Left unset: ``dp_tvae`` 10 rounds of
    2 epochs, each site's batch from central ``dp_tvae``'s rule (about 5% of its rows);
    ``dp_ctgan`` 10 rounds of 2 epochs, each site's batch from central ``dp_ctgan``'s rule
    (about 5% of its rows: about 400 DP-SGD steps per site); ``dp_sequence`` 5
    rounds, each site's batch and ~200 steps from central ``dp_sequence``'s rule."""

    type: Literal["marginal", "local_dp", "neural"] = "marginal"
    generator: str | None = Field(default=None, description=(
        "neural: dp_tvae (default), dp_ctgan or dp_sequence; marginal and local_dp fit aim"))
    workload: list[list[str]] | None = None
    measure_first: list[list[str]] | None = Field(default=None, description=(
        "marginal: marginals measured before the private rounds choose the rest (e.g. the "
        "pairs of the column a model will predict); not with workload"))
    first_share: float = Field(default=0.3, gt=0, lt=1, description=(
        "marginal: the share of the budget left after the one-way marginals that the "
        "measure_first marginals take together"))
    discover: list[str] = Field(default_factory=list)
    rounds: int | None = Field(default=None, ge=2)
    degree: Literal[2, 3] = 2
    bins: int = Field(default=16, ge=2, le=1024)
    iters: int = Field(default=100, ge=1)
    keys_share: float = Field(default=0.1, gt=0, lt=1)
    local_epochs: int | None = Field(default=None, ge=1)
    batch_size: int | None = Field(default=None, ge=2)
    site_level: PrivacySpec | None = None
    secure_aggregation: SecureAggregationSpec | None = None

    @model_validator(mode="after")
    def _combination(self) -> ProtocolSpec:
        gen = self.generator
        if self.measure_first is not None and (self.type != "marginal" or self.workload):
            raise ValueError("protocol.measure_first goes with the marginal protocol's private "
                             "rounds: remove it, or remove protocol.workload")
        if self.secure_aggregation is not None and self.type != "marginal":
            raise ValueError("protocol.secure_aggregation runs with the marginal protocol only; "
                             "remove it or set protocol.type: marginal")
        ok = NEURAL_GENERATORS if self.type == "neural" else ("aim",)
        if gen is not None and gen not in ok:
            raise ValueError(
                f"protocol.generator {gen!r} cannot run with protocol.type {self.type!r}: the "
                f"neural protocol federates {', '.join(NEURAL_GENERATORS)}; the marginal and "
                f"local_dp protocols fit aim (leave 'generator' out or pick one of these)")
        if self.site_level is not None and (self.type != "neural" or gen not in (None, "dp_tvae")):
            raise ValueError("protocol.site_level (site-level DP at the coordinator) is "
                             "available for the neural protocol with dp_tvae only")
        return self


class TransportSpec(StrictModel):
    """``in_process`` (one process, for tests and simulations) or ``flower`` (a Flower server on
    ``address``; sites with data here are started as Flower clients on this machine)."""

    type: Literal["in_process", "flower"] = "in_process"
    address: str = Field(default="127.0.0.1:0", description="HOST:PORT; port 0 picks a free one")
    python: str | None = Field(default=None, description="an interpreter with flwr installed")


class FederatedSchemaSpec(StrictModel):
    """The public schema: a ``file`` or inline ``columns`` (never inferred from a site). For
    ``dp_sequence`` a ``file`` holding a sequence schema (``SequenceSchema.to_yaml``: entities
    and events tables, keys, ``max_events``, ``time_bounds``)."""

    file: str | None = None
    columns: list[dict[str, Any]] | None = None

    @model_validator(mode="after")
    def _one(self) -> FederatedSchemaSpec:
        if (self.file is None) == (self.columns is None):
            raise ValueError("give exactly one of 'file' or 'columns'")
        return self


class FederatedEvaluationSpec(StrictModel):
    """``pooled: true`` lets the runner read every site's records to compare the synthetic data
    with the pooled table (a test harness only: a real coordinator cannot)."""

    pooled: bool = False
    gates: dict[str, GateSpec] = Field(default_factory=dict)


class FederatedSpec(SpecBase):
    """Sites that never pool their records fit one DP generator together."""

    kind: Literal["federated"] = "federated"
    schema_: FederatedSchemaSpec = Field(alias="schema")
    sites: list[SiteSpec] = Field(min_length=2)
    protocol: ProtocolSpec = Field(default_factory=ProtocolSpec)
    transport: TransportSpec = Field(default_factory=TransportSpec)
    rows: int = Field(default=5000, ge=1)
    evaluation: FederatedEvaluationSpec = Field(default_factory=FederatedEvaluationSpec)

    model_config = {**SpecBase.model_config, "populate_by_name": True}

    def declared_metrics(self) -> dict[str, str | None]:
        from synthscape.scenarios.validate import MARGINALS

        why = None if self.evaluation.pooled else \
            "computed only with evaluation.pooled: true (the runner reads every site's data)"
        return {f"marginals/{m}": why for m in MARGINALS}

    def problems(self) -> Iterator[Problem]:
        from synthscape.scenarios import validate as v

        names = [s.name for s in self.sites]
        for i, n in enumerate(names):
            if names.index(n) != i:
                yield Problem(("sites", i, "name"), f"site name {n!r} is used twice")
        for i, s in enumerate(self.sites):
            if s.path is not None:
                bad = v.file_problem(self, ("sites", i, "path"), s.path, what="site data file",
                                     suffixes=(".csv", ".gz", ".parquet", ".pq"))
                if bad is not None:
                    yield bad
            if s.remote and self.transport.type != "flower":
                yield Problem(("sites", i, "remote"), "a remote site needs transport.type: "
                                                      "flower")
            if s.remote and self.evaluation.pooled:
                yield Problem(("evaluation", "pooled"), f"site {s.name!r} is remote: its "
                                                        f"records cannot be pooled here")
        bad = v.file_problem(self, ("schema", "file"), self.schema_.file, what="schema file",
                             suffixes=(".yaml", ".yml", ".json"))
        if bad is not None:
            yield bad
        yield from self._sequence_problems()
        if self.protocol.type == "local_dp" and not self.protocol.workload:
            yield Problem(("protocol", "workload"), "local_dp needs a declared workload (the "
                                                    "marginals each record answers)")
        sa = self.protocol.secure_aggregation
        if sa is not None and sa.colluding_sites >= len(self.sites):
            yield Problem(("protocol", "secure_aggregation", "colluding_sites"),
                          f"colluding_sites={sa.colluding_sites} must be below the number of "
                          f"sites ({len(self.sites)})")


    def _sequence_problems(self) -> Iterator[Problem]:
        from synthscape.scenarios import validate as v

        if self.protocol.generator != "dp_sequence":
            for i, s in enumerate(self.sites):
                if s.entities is not None:
                    yield Problem(("sites", i, "entities"), "an entities table is read only by "
                                  "protocol.generator: dp_sequence; remove it")
            return
        if self.schema_.file is None:
            yield Problem(("schema", "columns"), "dp_sequence needs a sequence schema file "
                          "(schema: {file: ...}, written by SequenceSchema.to_yaml)")
        for i, s in enumerate(self.sites):
            if s.path is None:
                yield Problem(("sites", i), f"site {s.name!r}: dp_sequence reads 'path' (the "
                              f"events table) and 'entities' (the entities table)")
            if s.entities is not None:
                bad = v.file_problem(self, ("sites", i, "entities"), s.entities,
                                     what="site entities file",
                                     suffixes=(".csv", ".gz", ".parquet", ".pq"))
                if bad is not None:
                    yield bad


# ``kind: federated`` registers when its run module loads (here, whichever module comes first)
from synthscape.federated import kind as _kind  # noqa: E402,F401

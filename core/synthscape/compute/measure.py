"""Out-of-core DP fitting: the marginal generators (``independent``, ``mst``, ``aim``) and DP
schema inference measure a Parquet dataset partition by partition, in bounded memory.

Every statistic a DP step reads is an integer count (GRID histograms and category counts for
inference, contingency tables of the discretised columns for the generators). Counted per
partition and summed they are the same integers as counted in memory, and the secret noise
stream is keyed from the same table digest (:class:`~synthscape.compute.parquet.TableDigest`),
so under the owner's ``SYNTHSCAPE_NOISE_KEY`` the noisy result is identical to fitting
``pandas.read_parquet(path)`` in one process. Without a key the noise is fresh either way.

Passes over the data: one for the digest and, without a declared schema, the inference
counts (skipped when there is neither a key nor inference to do); one for the marginals.
Quantile binning reads per-column histograms first and is not supported out of core (use the
default ``binning="uniform"``, whose bins come from the schema).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from synthscape.compute.parquet import ParquetSource, TableDigest
from synthscape.errors import ParameterError, SchemaError
from synthscape.generators._marginal import Marginals, bin_lookup, clique_counts
from synthscape.privacy import Budget, PrivacyLedger
from synthscape.privacy.noise import NoiseSource, secret_key_from_environment
from synthscape.schema import TableSchema, _infer

__all__ = ["fit_source", "infer_schema"]


# ---- pass 1: digest and inference counts ---------------------------------------------------
@dataclass(frozen=True)
class _Scan:
    digest: bool
    kinds: dict[str, str]  # columns to count for inference (empty: none)

    def __call__(self, frame: pd.DataFrame) -> tuple[bytes, dict[str, Any]]:
        hashes = TableDigest.row_hashes(frame) if self.digest else \
            len(frame).to_bytes(8, "little")
        stats: dict[str, Any] = {}
        for c, kind in self.kinds.items():
            if kind in ("numerical", "datetime"):
                stats[c] = _infer.grid_counts(_infer.as_float(frame[c], kind))
            elif kind == "categorical":
                vc = _infer.category_counts(frame[c], sort=False)
                stats[c] = (vc.index.tolist(), vc.to_numpy(np.int64))
        return hashes, stats


@dataclass
class _Facts:
    digest: bytes | None
    rows: int
    stats: dict[str, Any]


def _scan(src: ParquetSource, meta: pd.DataFrame, *, digest: bool, infer: bool) -> _Facts:
    kinds = {c: _infer._kind(meta[c]) for c in meta.columns} if infer else {}
    table = TableDigest(list(meta.columns))
    rows = 0
    stats: dict[str, Any] = {}
    for hashes, part in src.map_partitions(_Scan(digest, kinds), label="scan"):
        if digest:
            table.update(hashes)
            rows = table.rows
        else:
            rows += int.from_bytes(hashes, "little")
        for c, v in part.items():
            if isinstance(v, tuple):  # category counts, merged in order of first appearance
                merged = stats.setdefault(c, {})
                for key, n in zip(*v):
                    merged[key] = merged.get(key, 0) + int(n)
            else:
                stats[c] = stats[c] + v if c in stats else v
    if rows == 0:
        raise SchemaError(f"the training table {src.path!r} is empty (0 rows); a generator "
                          f"needs data")
    return _Facts(table.digest() if digest else None, rows, stats)


def _infer_from(facts: _Facts, meta: pd.DataFrame, ledger: PrivacyLedger, rho: float | None,
                name: str) -> TableSchema:
    def categories(c: str) -> pd.Series:
        merged = facts.stats[c]
        counts = pd.Series(list(merged.values()), index=list(merged.keys()), dtype=np.int64)
        return counts.sort_values(ascending=False, kind="stable")  # as value_counts() sorts

    schema = _infer.infer_dp_counts({c: meta[c] for c in meta.columns},
                                    lambda c, kind: facts.stats[c], categories,
                                    ledger=ledger, rho=rho, name=name)
    schema._inference_ledger = ledger
    schema._provenance = "dp"
    return schema


def _noise(digest: bytes | None, purpose: str, seed: int | None) -> NoiseSource:
    """:meth:`NoiseSource.for_data` of the table whose digest is ``digest``."""
    secret = secret_key_from_environment()
    if secret is None or digest is None:
        return NoiseSource()
    return NoiseSource(secret, context=[purpose.encode(), str(seed).encode(), digest])


def infer_schema(path: Any, budget: Budget | None = None, *, ledger: PrivacyLedger | None = None,
                 rho: float | None = None, seed: int | None = None, name: str = "table",
                 storage_options: dict[str, Any] | None = None) -> TableSchema:
    """``TableSchema.infer(pandas.read_parquet(path), budget, ...)`` measured out of core: the
    same schema under the same secret noise key. DP only: give ``budget`` or ``ledger``."""
    if budget is None and ledger is None:
        raise ParameterError("out-of-core schema inference is differentially private only: "
                             "pass budget=Budget(...) or a ledger")
    src = ParquetSource.open(path, storage_options)
    meta = src.meta()
    facts = _scan(src, meta, digest=ledger is None and secret_key_from_environment() is not None,
                  infer=True)
    if ledger is None:
        ledger = PrivacyLedger(budget, noise=_noise(facts.digest, "schema", seed))
    return _infer_from(facts, meta, ledger, rho, name)


# ---- pass 2: the generator's marginals ------------------------------------------------------
@dataclass(frozen=True)
class _Count:
    schema: TableSchema  # a clean copy: no ledger travels to the workers
    drop: bool
    policy: str
    disc: Any
    cliques: tuple[tuple[int, ...], ...]

    def __call__(self, frame: pd.DataFrame) -> list[np.ndarray]:
        from synthscape.generators.base import _drop_unreleased_categories

        if self.drop:  # what Generator.fit does to the table before discretising, row by row
            frame = _drop_unreleased_categories(frame, self.schema)
        if len(frame) == 0:
            codes = np.zeros((0, len(self.disc.sizes)), dtype=np.int64)
        else:
            data = self.schema.validate(frame, out_of_bounds=self.policy,  # type: ignore[arg-type]
                                        source="training data")
            codes = self.disc.encode(data)
        return [clique_counts(codes, self.disc.sizes, c) for c in self.cliques]


class SourceMarginals(Marginals):
    """Marginals measured from a Parquet source: the cliques given to ``prepare`` in one pass,
    smaller ones by summing a prepared clique that holds them."""

    def __init__(self, sizes: list[int], src: ParquetSource, counter: _Count):
        super().__init__(sizes, np.zeros((0, len(sizes)), dtype=np.int64))
        self._src, self._counter = src, counter
        self._measured: dict[tuple[int, ...], np.ndarray] = {}

    def prepare(self, cliques: Any) -> None:
        want = tuple(sorted({tuple(sorted(c)) for c in cliques}))
        want = tuple(c for c in want if not any(set(c) < set(o) for o in want))
        counter = _Count(self._counter.schema, self._counter.drop, self._counter.policy,
                         self._counter.disc, want)
        totals: list[np.ndarray] | None = None
        for part in self._src.map_partitions(counter, label="marginals"):
            totals = part if totals is None else [t + p for t, p in zip(totals, part)]
        assert totals is not None
        self._measured = dict(zip(want, totals))
        if int(totals[0].sum()) == 0:
            raise SchemaError("no row survives the DP schema; declare a schema")

    def recoded(self, codes: np.ndarray, fine: Any, coarse: Any) -> SourceMarginals:
        """Merged bins: each measured table summed over the fine codes of a coarse code."""
        out = SourceMarginals(coarse.sizes, self._src, self._counter)
        lookup = bin_lookup(fine, coarse)
        for clique, t in self._measured.items():
            for axis, a in enumerate(clique):
                group = lookup[a]
                if group is not None:
                    moved = np.moveaxis(t, axis, 0)
                    merged = np.zeros((coarse.sizes[a], *moved.shape[1:]), dtype=t.dtype)
                    np.add.at(merged, group, moved)
                    t = np.moveaxis(merged, 0, axis)
            out._measured[clique] = t
        return out

    def counts(self, clique: tuple[int, ...]) -> np.ndarray:
        key = tuple(clique)
        if key not in self._cache:
            have = next((c for c in self._measured if set(key) <= set(c)), None)
            if have is None:
                raise ParameterError(f"the marginal of columns {key} was not prepared for "
                                     f"the out-of-core fit")
            t = self._measured[have].sum(axis=tuple(i for i, a in enumerate(have)
                                                    if a not in key))
            kept = [a for a in have if a in key]
            self._cache[key] = np.transpose(t, [kept.index(a) for a in key])
        return self._cache[key]


@dataclass
class _Source:
    """What ``MarginalGenerator._marginals`` needs during an out-of-core fit."""

    src: ParquetSource
    schema: TableSchema
    drop: bool
    policy: str

    def marginals(self, disc: Any) -> SourceMarginals:
        clean = TableSchema.from_dict(self.schema.to_dict())
        return SourceMarginals(disc.sizes, self.src, _Count(clean, self.drop, self.policy,
                                                            disc, ()))


def _ledger(gen: Any, noise: NoiseSource) -> PrivacyLedger:
    """The ledger ``Generator._new_ledger`` opens, with the given noise stream."""
    eps = getattr(gen, "epsilon", None)
    if not gen.private or eps is None:
        return PrivacyLedger(None, noise=noise)
    return PrivacyLedger(Budget(epsilon=eps, delta=getattr(gen, "delta", 1e-6)),
                         accountant=getattr(gen, "accountant", "rdp"), noise=noise)


def fit_source(gen: Any, path: Any, schema: TableSchema | None, *,
               ledger: PrivacyLedger | None = None,
               storage_options: dict[str, Any] | None = None) -> Any:
    """``gen.fit(pandas.read_parquet(path), schema)`` with the data read partition by
    partition on the active execution setting (see the module docstring)."""
    from synthscape.generators.base import _take_over

    gen._validate_params()
    if getattr(gen, "binning", "uniform") != "uniform":
        raise ParameterError(f"{gen.name}: binning={gen.binning!r} is not supported when "
                             f"fitting from a Parquet dataset; use binning='uniform'")
    src = ParquetSource.open(path, storage_options)
    meta = src.meta()
    keyed = ledger is None and secret_key_from_environment() is not None
    facts = _scan(src, meta, digest=keyed, infer=schema is None) if keyed or schema is None \
        else _Facts(None, -1, {})
    if ledger is None:
        ledger = _ledger(gen, _noise(facts.digest, gen.name, getattr(gen, "seed", None)))
    rng = gen._rng(None, purpose="fit")
    policy, drop = getattr(gen, "out_of_bounds", "error"), False
    if schema is not None:
        _take_over(schema, ledger)
        if schema.provenance == "dp":
            policy, drop = "clip", True
    else:
        rho = ledger.remaining_rho(getattr(gen, "schema_share", 0.1))
        schema = _infer_from(facts, meta, ledger, rho, "table")
        policy, drop = "clip", True
    data = meta.reindex(columns=schema.names)  # dtypes only: the counts come from the source
    gen.schema_ = schema
    gen.ledger_ = ledger
    gen._source = _Source(src, schema, drop, policy)
    try:
        gen._fit(data, schema, ledger, rng)
    finally:
        del gen._source
    gen._sample_calls = 0
    return gen

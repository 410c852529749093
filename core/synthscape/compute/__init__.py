"""Where the SDK's heavy work runs: one execution setting for the whole SDK.

- ``"local"`` (the default): this process, no Dask imported;
- ``"local:N"``: a Dask ``LocalCluster`` of N single-threaded worker processes on loopback,
  started on first use and closed when the setting is left;
- ``"tcp://host:port"``: an existing Dask scheduler.

Set it for a block or for the rest of the program (``dask`` and ``distributed`` come with the
``synthscape[dask]`` extra)::

    import synthscape.compute as compute
    with compute.use("local:2"):
        gen.fit("data/transactions/")          # a Parquet folder, measured on the workers
    compute.use("tcp://10.0.0.5:8786")         # from here on (``synthscape.compute(...)`` too)

Work is cut into tasks by the callers (Parquet partitions, sample shards, simulation shards);
``run_tasks`` runs them in order of submission, at most ``2 x workers`` in flight, and reports
progress as tasks done / total to the ``synthscape`` logger (and to ``progress`` when given).
Results never depend on the setting: the tasks and their seeds are fixed by the data and the
public seed, never by the number of workers.
"""
from __future__ import annotations

import contextlib
import logging
import sys
import types
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from synthscape.errors import ParameterError, require

__all__ = ["Execution", "current", "for_spec", "partitions_of", "run_tasks", "sharded", "submit",
           "use", "workers"]

_log = logging.getLogger("synthscape")
Progress = Callable[[str, int, int], None]


class Execution:
    """An active execution setting; leaving it (``with`` block or ``close()``) restores the one
    before and closes any cluster it started."""

    def __init__(self, scheduler: str, progress: Progress | None = None,
                 partitions: int | None = None):
        self.scheduler = parse(scheduler)
        self.progress = progress
        self.partitions = partitions  # the spec's execution.partitions, for sharded outputs
        self._client: Any = None
        self._cluster: Any = None
        self._previous: Execution | None = None

    # ---- the Dask client, made on first use -------------------------------------------
    @property
    def is_local(self) -> bool:
        return self.scheduler == "local"

    def client(self) -> Any:
        """The ``distributed.Client`` (None for ``local``)."""
        if self.is_local:
            return None
        if self._client is None:
            require("distributed", "dask", f"the scheduler {self.scheduler!r}")
            from distributed import Client, LocalCluster

            if self.scheduler.startswith("local:"):
                n = int(self.scheduler.split(":", 1)[1])
                self._cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                             host="127.0.0.1", dashboard_address=None)
                self._client = Client(self._cluster)
            else:
                self._client = Client(self.scheduler, timeout="30s")
            _warm_up()  # imports once, here and on every worker, at start-up rather than in
            self._client.run(_warm_up)  # the first task
        return self._client

    def workers(self) -> int:
        """Number of workers (1 for ``local``)."""
        client = self.client()
        return 1 if client is None else max(len(client.scheduler_info()["workers"]), 1)

    # ---- activation ---------------------------------------------------------------------
    def __enter__(self) -> Execution:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        global _active
        if _active is self:
            _active = self._previous if self._previous is not None else _LOCAL
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None

    def __repr__(self) -> str:
        return f"Execution({self.scheduler!r})"


def _warm_up() -> None:
    """What every task needs, imported in each worker when the cluster is reached."""
    import dask.dataframe  # noqa: F401
    import pyarrow.parquet  # noqa: F401

    import synthscape.generators  # noqa: F401


def parse(scheduler: str | None) -> str:
    """Normalise a scheduler string; one clear error for anything else."""
    text = "local" if scheduler is None else str(scheduler).strip()
    if text == "local" or text.startswith("tcp://") or text.startswith("tls://"):
        return text
    if text.startswith("local:"):
        n = text.split(":", 1)[1]
        if n.isdigit() and int(n) >= 1:
            return f"local:{int(n)}"
    raise ParameterError(f"scheduler {scheduler!r} is not understood; use 'local', 'local:N' "
                         f"(N >= 1 worker processes) or 'tcp://host:port'")


_LOCAL = Execution("local")
_active: Execution = _LOCAL


def use(scheduler: str | None = "local", *, progress: Progress | None = None,
        partitions: int | None = None) -> Execution:
    """Make ``scheduler`` the setting from now on; as a context manager, for the block only."""
    global _active
    ex = Execution(scheduler or "local", progress, partitions)
    ex._previous = _active
    _active = ex
    return ex


def for_spec(spec: Any) -> contextlib.AbstractContextManager[Any]:
    """The setting of a run: the caller's when one is active (``--scheduler``, or
    ``compute.use`` around the run), else the spec's ``execution``."""
    ex = getattr(spec, "execution", None)
    if _active is not _LOCAL or ex is None or ex.scheduler == "local":
        return contextlib.nullcontext(_active)
    return use(ex.scheduler, partitions=ex.partitions)


def sharded(spec: Any) -> bool:
    """Whether a run of ``spec`` takes the kinds' sharded paths: when the spec sets
    ``execution.partitions`` or the active setting is not ``local`` (a cluster, from the spec
    or ``--scheduler``). Otherwise the kinds run in process, exactly as without Dask."""
    return partitions_of(spec) is not None or not _active.is_local


def partitions_of(spec: Any) -> int | None:
    """The spec's ``execution.partitions`` (None: each kind cuts its shards by size)."""
    ex = getattr(spec, "execution", None)
    return None if ex is None else ex.partitions


def current() -> Execution:
    """The active execution setting."""
    return _active


def workers() -> int:
    """Workers of the active setting (1 for ``local``)."""
    return _active.workers()


def run_tasks(fn: Callable[..., Any], items: Sequence[Any], *, label: str,
              window: int | None = None) -> Iterator[Any]:
    """``fn(item)`` for each item, yielded in the items' order. Locally they run one after the
    other in this process; on a cluster, at most ``window`` (default ``2 x workers``) are in
    flight, so results are consumed as they come and memory stays bounded."""
    ex = _active
    total = len(items)
    _report(ex, label, 0, total)
    client = ex.client()
    if client is None:
        for i, item in enumerate(items):
            yield fn(item)
            _report(ex, label, i + 1, total)
        return
    width = window or 2 * ex.workers()
    pending: list[Any] = []
    todo = iter(items)
    done = 0
    for item in _take(todo, width):
        pending.append(_submit(client, fn, item))
    while pending:
        fut = pending.pop(0)
        result = fut.result()
        fut.release()
        done += 1
        _report(ex, label, done, total)
        for item in _take(todo, 1):
            pending.append(_submit(client, fn, item))
        yield result


class _Done:
    """A finished local result with a future's ``result()``."""

    def __init__(self, value: Any):
        self.value = value

    def result(self) -> Any:
        return self.value


def submit(fn: Callable[..., Any], item: Any, *, near: str | None = None) -> Any:
    """``fn(item)`` as a future (``.result()``): on the workers, or run at once locally.
    ``near``: the address of a worker to prefer (one that holds what the task needs; see
    :func:`worker_address`), any other worker when it is busy or gone."""
    client = _active.client()
    if client is None:
        return _Done(fn(item))
    if near is not None:
        return client.submit(fn, item, pure=False, workers=[near], allow_other_workers=True)
    return _submit(client, fn, item)


def worker_address() -> str | None:
    """The address of the Dask worker running the calling task; None outside a worker."""
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return None


def _submit(client: Any, fn: Callable[..., Any], item: Any) -> Any:
    """A future of ``fn(item)``; a Dask collection (a partition of a ``dask.dataframe``) is
    computed on the workers as part of the same task graph."""
    if hasattr(item, "__dask_graph__"):
        import dask

        return client.compute(dask.delayed(fn, pure=False)(item))
    return client.submit(fn, item, pure=False)


def _take(it: Iterator[Any], k: int) -> Iterable[Any]:
    for _ in range(k):
        nxt = next(it, None)
        if nxt is None:
            return
        yield nxt


def _report(ex: Execution, label: str, done: int, total: int) -> None:
    if ex.progress is not None:
        ex.progress(label, done, total)
    _log.info("%s: %d/%d tasks done", label, done, total)


class _CallableModule(types.ModuleType):
    """Lets ``synthscape.compute(scheduler=...)`` stand for ``synthscape.compute.use(...)``."""

    def __call__(self, scheduler: str | None = "local", *,
                 progress: Progress | None = None) -> Execution:
        return use(scheduler, progress=progress)


sys.modules[__name__].__class__ = _CallableModule

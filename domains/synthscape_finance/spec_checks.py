"""The checks of ``synthscape validate`` for ``learned:`` (no row of real data is read: files
must exist, be CSV or Parquet, and name the columns the layout needs)."""
from __future__ import annotations

from collections.abc import Iterator

from synthscape.errors import SynthscapeError
from synthscape.scenarios.spec import Problem

DATA_SUFFIXES = (".csv", ".gz", ".txt", ".parquet", ".pq")


def learned_problems(spec) -> Iterator[Problem]:
    from synthscape.scenarios import validate as v
    from synthscape_finance.sources import REQUIRED

    learned = spec.learned
    if learned is None:
        return
    if learned.schema_ is not None:
        bad = v.file_problem(spec, ("learned", "schema"), learned.schema_,
                             what="sequence schema file", suffixes=(".yaml", ".yml", ".json"))
        if bad is not None:
            yield bad
    data = learned.data
    if data is None:
        if learned.time_bounds is not None:
            yield Problem(("learned", "time_bounds"), "time_bounds apply to a real log "
                          "(learned.data); the simulated log spans population.start plus "
                          "population.days: remove time_bounds", warning=True)
        return
    if learned.time_bounds is None and learned.schema_ is None:
        yield Problem(("learned", "time_bounds"), "a real log needs its public time range: "
                      "add time_bounds: [start, end] (ISO timestamps), or a schema file that "
                      "declares it")
    headers: dict[str, list[str]] = {}
    for name in ("transactions", "customers", "labels", "accounts"):
        value = getattr(data, name)
        bad = v.file_problem(spec, ("learned", "data", name), value,
                             what=f"{name} file", suffixes=DATA_SUFFIXES)
        if bad is None and value is not None:
            try:
                headers[name] = v.table_columns(spec.resolve(value))
            except SynthscapeError as exc:
                bad = Problem(("learned", "data", name), str(exc))
        if bad is not None:
            yield bad
    need = dict(REQUIRED)
    need["transactions"] = (*REQUIRED["transactions"],
                            "account_id" if data.accounts else "customer_id",
                            *(() if data.labels else ("is_fraud",)))
    for name, cols in headers.items():
        missing = [c for c in need[name] if c not in cols]
        if missing:
            yield Problem(("learned", "data", name),
                          f"{name} file {spec.resolve(getattr(data, name))} lacks column(s) "
                          f"{missing} of the simulator's layout (data_schemas/finance/): "
                          f"rename or add them")

"""Every check that needs no real data, run by ``synthscape validate`` and before every run.

:func:`check_spec` runs the core's checks (privacy budgets, gates against the metrics the kind
declares) and the kind's own (``spec.problems()``: files exist and parse, names exist in the
declared schema or ontology, parameters are physical). Warnings are logged to the
``synthscape`` logger (the terminal, never a release file); errors are collected and raised
once, each naming the file, the line and the field, and the fix.

The helpers below are public so that every kind words the same problems the same way.
"""
from __future__ import annotations

import difflib
import json
import logging
import math
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from synthscape.errors import SchemaError, SpecError
from synthscape.scenarios.spec import PrivacySpec, Problem, SpecBase, privacy_specs

log = logging.getLogger("synthscape")


def check_spec(spec: SpecBase, *, kind: Any = None) -> list[Problem]:
    """Run every check on ``spec``; log the warnings and return them; raise one
    :class:`~synthscape.errors.SpecError` listing every error."""
    if kind is None:
        from synthscape.scenarios.kinds import KINDS

        kind = KINDS.get(spec.kind)
    problems: list[Problem] = []
    for loc, privacy in privacy_specs(spec):
        problems.extend(privacy.problems(loc))
    problems.extend(gate_problems(spec, kind.declared_metrics(spec)))
    problems.extend(execution_problems(spec))
    problems.extend(spec.problems())
    warnings = [p for p in problems if p.warning]
    for w in warnings:
        log.warning("%s: %s", spec.where(w.loc), w.message)
    errors = [p for p in problems if not p.warning]
    if errors:
        raise SpecError("invalid scenario:\n  " + "\n  ".join(
            f"{spec.where(p.loc)}: {p.message}" for p in errors))
    return warnings


# ---- execution ---------------------------------------------------------------------------------
def execution_problems(spec: SpecBase) -> Iterator[Problem]:
    """``execution`` on a kind that would ignore it is an error (never silently dropped); a
    cluster scheduler needs the ``dask`` extra; more local workers than cores only adds
    overhead (a warning)."""
    ex = getattr(spec, "execution", None)
    if ex is None:
        return
    if ex.scheduler != "local" or ex.partitions is not None:
        why = spec.unsharded()
        if why is not None:
            yield Problem(("execution",), f"{why}, so execution (scheduler "
                          f"{ex.scheduler!r}, partitions {ex.partitions}) would have no "
                          f"effect; remove the execution block")
            return
    if ex.scheduler == "local":
        return
    import importlib.util
    import os

    if importlib.util.find_spec("distributed") is None:
        yield Problem(("execution", "scheduler"), f"scheduler {ex.scheduler!r} needs Dask: "
                      f"pip install 'synthscape[dask]', or set scheduler: local")
    elif ex.scheduler.startswith("local:"):
        n, cores = int(ex.scheduler.split(":")[1]), os.cpu_count() or 1
        if n > cores:
            yield Problem(("execution", "scheduler"), f"{n} local workers on {cores} cores "
                          f"only add overhead; use local:{cores} or fewer", warning=True)


# ---- gates -------------------------------------------------------------------------------------
def gate_problems(spec: SpecBase, declared: Mapping[str, str | None] | None) -> Iterator[Problem]:
    """A gate on a metric the run does not compute is an error, with the closest names."""
    gates = spec.gate_specs()
    if not gates or declared is None:
        return
    available = sorted(n for n, why in declared.items() if why is None)
    for name in gates:
        loc = (*type(spec).GATES_AT, name)
        why = declared.get(name, "unknown")
        if why is None:
            continue
        if name in declared:
            yield Problem(loc, f"metric '{name}' is not computed by this run: {why}")
            continue
        section = name.partition("/")[0]
        same = [n for n in available if n.partition("/")[0] == section]
        listed = metric_list(same or available) or "nothing to gate on"
        yield Problem(loc, f"unknown metric '{name}'{did_you_mean(name, declared)} (gates take "
                           f"\"section/score\" names; this run computes: {listed})")


def metric_list(names: Iterable[str]) -> str:
    """``a/x, a/y, b/z`` written as ``a/{x, y}; b/{z}``."""
    by: dict[str, list[str]] = {}
    for n in sorted(names):
        section, _, score = n.partition("/")
        by.setdefault(section, []).append(score)
    return "; ".join(f"{s}/{{{', '.join(v)}}}" for s, v in by.items())


# metric names of synthscape.evaluation.evaluate (a test runs it and compares)
MARGINALS = ("one_way_tvd_max", "one_way_tvd_mean", "two_way_tvd_max", "two_way_tvd_mean")
FIDELITY = ("alpha_precision", "authenticity", "beta_recall", "column_pair_trends",
            "column_pair_trends_all", "column_shapes", "contingency_tvd_mean",
            "correlation_difference_mean", "detection_auc", "detection_score",
            "pairs_meeting_threshold", "quality_score", *MARGINALS)
_RISKS = tuple(f"{a}_{b}" for a in ("linkability", "singling_out_multivariate",
                                     "singling_out_univariate")
               for b in ("attack_beats_baseline", "attack_rate", "baseline_rate", "control_rate",
                         "risk", "risk_ci_high", "risk_ci_low"))
ATTACKS = ("dcr_share_below_test_p05", "dcr_synthetic_train_median", "dcr_synthetic_train_p05",
           "dcr_test_train_median", "dcr_test_train_p05", "exact_copy_rate",
           "exact_copy_rate_test", "inference_risk_max", "inference_risk_max_ci_high",
           "linkability_n_attacks", "mia_distance_auc", "mia_distance_tpr_at_fpr_0.01",
           "mia_domias_auc", "mia_domias_marginal_auc", "mia_domias_marginal_tpr_at_fpr_0.01",
           "mia_domias_tpr_at_fpr_0.01", "mia_targets_per_side", "nndr_synthetic_train_median",
           "nndr_test_train_median", "singling_out_multivariate_n_queries",
           "singling_out_univariate_n_queries", *_RISKS)
UTILITY = {
    "classification": ("augmentation_gain_roc_auc", "augmented_roc_auc_hgb", "trtr_roc_auc_hgb",
                       "trtr_roc_auc_lr", "tstr_accuracy_hgb", "tstr_f1_hgb",
                       "tstr_minority_recall_hgb", "tstr_pr_auc_hgb", "tstr_roc_auc_hgb",
                       "tstr_roc_auc_lr", "tstr_trtr_ratio_hgb", "tstr_trtr_ratio_lr"),
    "regression": ("augmentation_gain_r2", "augmented_r2_hgb", "trtr_r2_hgb", "trtr_r2_lr",
                   "tstr_r2_hgb", "tstr_r2_lr", "tstr_trtr_ratio_hgb", "tstr_trtr_ratio_lr"),
}
FAIRNESS = {"classification": ("demographic_parity_difference", "equalized_odds_difference"),
            "regression": ("r2_gap",)}


def evaluation_metrics(*, tasks: Iterable[str] = (), sensitive: Iterable[str] = (),
                       why_not: str | None = None, no_target: str | None = None,
                       no_sensitive: str | None = None) -> dict[str, str | None]:
    """The numeric scores of :func:`synthscape.evaluation.evaluate` (fidelity, privacy_attacks,
    utility for the target's task(s) "classification" / "regression", fairness per sensitive
    column). ``why_not`` marks them all as not computed, with that reason; ``no_target`` /
    ``no_sensitive`` are the reasons given for utility / fairness names when there is no target
    or no sensitive column."""
    tasks, sensitive = tuple(tasks), tuple(sensitive)
    out: dict[str, str | None] = {}
    out.update({f"fidelity/{m}": why_not for m in FIDELITY})
    out.update({f"privacy_attacks/{m}": why_not for m in ATTACKS})
    for task in tasks or UTILITY:
        out.update({f"utility/{m}": why_not if tasks else no_target for m in UTILITY[task]})
    for col in sensitive:
        out[f"fairness/{col}_share_tvd"] = why_not
        for task in tasks:
            out.update({f"fairness/{col}_{side}_{m}": why_not for side in ("trtr", "tstr")
                        for m in FAIRNESS[task]})
    if not sensitive and no_sensitive:
        out["fairness/<column>_share_tvd"] = no_sensitive
    return out


# ---- names, files, schemas ---------------------------------------------------------------------
def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """"; did you mean 'x'?" for the closest of ``choices`` (empty when none is close)."""
    close = difflib.get_close_matches(str(name), [str(c) for c in choices], n=3, cutoff=0.6)
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def unknown_name(what: str, name: str, choices: Iterable[str]) -> str:
    """"unknown column 'agee'; did you mean 'age'? (known: ...)"."""
    choices = list(choices)
    listed = ", ".join(map(str, choices[:40])) + (", ..." if len(choices) > 40 else "")
    return f"unknown {what} {name!r}{did_you_mean(name, choices)} (known: {listed or 'none'})"


def file_problem(spec: SpecBase, loc: tuple, value: str | None, *, what: str,
                 folder: bool = False, suffixes: tuple[str, ...] = ()) -> Problem | None:
    """The file (or folder) a field names must exist and be of the right sort."""
    if value is None:
        return None
    p = spec.resolve(value)
    if not p.exists():
        return Problem(loc, f"{what} {p} does not exist; fix the path (relative paths are "
                            f"relative to the scenario file's folder)")
    if folder and not p.is_dir():
        return Problem(loc, f"{what} {p} is a file; give a folder")
    if not folder and p.is_dir():
        return Problem(loc, f"{what} {p} is a folder; give a file")
    if suffixes and not folder and "".join(p.suffixes[-1:]).lower() not in suffixes:
        return Problem(loc, f"{what} {p} has an unknown format {p.suffix!r}; use one of "
                            f"{', '.join(suffixes)}")
    return None


def table_columns(path: str | Path) -> list[str]:
    """The column names of a CSV (its header line) or Parquet file (its metadata), without
    reading any row; a :class:`SchemaError` names the file when they cannot be read."""
    p = Path(path)
    if p.stat().st_size == 0:
        raise SchemaError(f"data file {p} is empty (0 bytes); a CSV file needs at least a "
                          f"header line with the column names")
    if p.suffix.lower() in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        try:
            return list(pq.read_schema(p).names)
        except Exception as exc:  # pyarrow raises ArrowInvalid / OSError on a broken file
            raise SchemaError(f"data file {p} is not a readable Parquet file: {exc}") from None
    import pandas as pd

    try:
        return [str(c) for c in pd.read_csv(p, nrows=0).columns]
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise SchemaError(f"data file {p}: the CSV header cannot be read ({exc}); the first "
                          f"line must list the column names, comma-separated") from None


def load_schema_file(path: str | Path):
    """A :class:`~synthscape.schema.TableSchema` from a YAML or JSON file, with errors that
    name the file (and the line, for syntax errors)."""
    import yaml

    from synthscape.schema import TableSchema

    p = Path(path)
    if not p.is_file():
        raise SchemaError(f"schema file {p} does not exist" if not p.exists() else
                          f"schema file {p} is a folder; give a .yaml or .json file")
    suffix = p.suffix.lower()
    if suffix not in (".json", ".yaml", ".yml"):
        raise SchemaError(f"schema file {p}: unknown format {p.suffix!r}; use .yaml or .json")
    text = p.read_text(encoding="utf-8", errors="replace")
    try:
        data = json.loads(text) if suffix == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise SchemaError(f"schema file {p}: malformed JSON at line {exc.lineno}, column "
                          f"{exc.colno}: {exc.msg}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown line"
        raise SchemaError(f"schema file {p}: malformed YAML at {where}: "
                          f"{getattr(exc, 'problem', None) or exc}") from None
    if not isinstance(data, dict):
        raise SchemaError(f"schema file {p} must hold a mapping with a 'columns' list")
    return TableSchema.from_dict(data, source=str(p))


# ---- run time: facts known only once the real data is read -------------------------------------
def warn_delta(privacy: PrivacySpec | None, n: int, unit: str = "rows") -> bool:
    """Warn (to the user's terminal or log only, never a release file) when delta is not
    below 1/n for the n units of the real data; n itself is not printed. Returns whether it
    warned."""
    if privacy is None or n <= 0 or privacy.delta * n < 1:
        return False
    log.warning("privacy.delta %g >= 1/n, where n is the number of %s of the real data (it has "
                "at least 1/delta = %d): a mechanism that publishes a few %s outright could "
                "still meet such a guarantee; choose delta well below 1/n (e.g. below 1/(10 n))",
                privacy.delta, unit, math.ceil(1 / privacy.delta), unit)
    return True

"""``evaluate``: fidelity, utility, privacy attacks and fairness of a synthetic table, gathered
into one :class:`Report` (the dataset certificate)."""
from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from synthscape.errors import ParameterError
from synthscape.evaluation._checks import check_seed, check_sensitive, check_tables, check_target
from synthscape.evaluation._threads import single_threaded
from synthscape.evaluation.report import Report
from synthscape.privacy import PrivacyLedger
from synthscape.random import derive_rng
from synthscape.schema import TableSchema


def privacy_summary(ledger: PrivacyLedger | None) -> str:
    """The privacy line of a report, read from the ledger only."""
    if ledger is None:
        return "UNKNOWN: no privacy ledger was given, so no privacy guarantee is claimed"
    if not ledger.is_private:
        return "NOT PRIVATE: " + ledger.describe().removeprefix("NOT PRIVATE: ")
    return ledger.describe()


def _rng(seed: int, purpose: str) -> np.random.Generator:
    """Public randomness of the evaluation (subsampling, attack draws)."""
    return derive_rng(seed, "evaluation", purpose)


def evaluate(
    real_train: pd.DataFrame,
    real_test: pd.DataFrame,
    synthetic: pd.DataFrame,
    schema: TableSchema,
    target: str | None = None,
    sensitive: Sequence[str] = (),
    ledger: PrivacyLedger | None = None,
    *,
    figures_dir: str | Path | None = None,
    seed: int = 0,
    max_rows: int = 5000,
    n_attacks: int = 500,
) -> Report:
    """Evaluate ``synthetic`` against the real rows it was fitted on and held-out real rows.

    Sections: ``fidelity`` (column shapes, pair trends, quality score, detection AUC,
    alpha-precision / beta-recall), ``utility`` (when ``target`` is given: TSTR vs TRTR,
    augmentation gain), ``privacy_attacks`` (copies, DCR/NNDR, membership inference,
    singling-out, linkability, attribute inference) and ``fairness`` (when ``sensitive`` is
    given). The report's ``meta`` holds the ledger and the privacy line read from it.

    ``figures_dir`` is a run folder: PNGs go to ``<figures_dir>/figures/``; ``report.write``
    embeds them. ``max_rows`` caps the rows used by the distance-based metrics; ``n_attacks``
    is the number of targets of each anonymeter-style attack. The same ``seed`` gives the same
    report.
    """
    seed = check_seed(seed)
    sensitive = (sensitive,) if isinstance(sensitive, str) else tuple(sensitive)
    if ledger is not None and not isinstance(ledger, PrivacyLedger):
        raise ParameterError(f"ledger must be a PrivacyLedger or None, got {type(ledger).__name__}")
    for name, value in (("max_rows", max_rows), ("n_attacks", n_attacks)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 10:
            raise ParameterError(f"{name} must be an int >= 10, got {value!r}")
    tables = check_tables({"real_train": real_train, "real_test": real_test,
                           "synthetic": synthetic}, schema)
    check_target(target, schema, tables)
    check_sensitive(sensitive, schema, tables)
    report = Report(title=f"Evaluation of synthetic '{schema.name}'")
    report.meta.update(_meta(tables, schema, target, sensitive, ledger, seed))
    folder = Path(figures_dir) if figures_dir is not None else None
    _run(report, tables, schema, target, sensitive, seed, max_rows, n_attacks, folder)
    return report


@single_threaded
def _run(report, tables, schema, target, sensitive, seed, max_rows, n_attacks, folder) -> None:
    _fidelity(report, tables, schema, seed, max_rows, folder)
    util = None
    if target is not None:
        from synthscape.evaluation.utility import utility

        util = utility(tables, schema, target, seed=seed)
        report.add_section("utility", title=f"Utility for target '{target}' (TSTR vs TRTR)",
                           scores=util.scores, tables={"models": util.table}, notes=util.notes)
    _attacks(report, tables, schema, seed, max_rows, n_attacks, folder)
    if sensitive:
        from synthscape.evaluation.fairness import fairness

        scores, ftables, notes = fairness(tables, schema, sensitive, util)
        report.add_section("fairness", title="Fairness and representation", scores=scores,
                           tables=ftables, notes=notes)


def _meta(tables, schema, target, sensitive, ledger, seed) -> dict:
    from synthscape.scenarios.runner import versions

    return {
        "privacy": privacy_summary(ledger),
        "ledger": ledger.to_dict() if ledger is not None else None,
        "epsilon": (None if ledger is None or math.isinf(ledger.epsilon) else ledger.epsilon),
        "rows": {k: len(v) for k, v in tables.items()},
        "schema": schema.to_dict(),
        "target": target,
        "sensitive": list(sensitive),
        "seed": seed,
        "versions": versions(),
    }


def _fidelity(report: Report, tables, schema, seed, max_rows, folder) -> None:
    from synthscape.evaluation import fidelity as fid
    from synthscape.evaluation.marginals import marginal_scores

    real, syn = tables["real_train"], tables["synthetic"]
    shapes, trends = fid.column_shapes(real, syn, schema), fid.pair_trends(real, syn, schema)
    scores = fid.quality_scores(shapes, trends)
    scores.update(fid.detection(real, syn, schema, _rng(seed, "detect"),
                                max_rows=min(max_rows, 3000)))
    ab = fid.alpha_beta(real, syn, schema, _rng(seed, "alphabeta"), max_rows=min(max_rows, 3000))
    scores.update({k: ab[k] for k in ("alpha_precision", "beta_recall", "authenticity")})
    scores.update(marginal_scores(real, syn, schema))
    figures = []
    if folder is not None:
        from synthscape.evaluation import figures as figs

        figures = [figs.marginals(real, syn, schema, folder),
                   figs.correlations(real, syn, schema, folder)]
    report.add_section(
        "fidelity", title="Fidelity", scores=scores,
        tables={"column shapes": shapes, "column pair trends": trends,
                "alpha-precision / beta-recall curve": ab["curve"].round(4)},
        figures=figures,
        notes=["quality_score is the mean of column_shapes and column_pair_trends (as in "
               "SDMetrics' QualityReport); detection_auc near 0.5 means a classifier cannot "
               "tell synthetic rows from real ones."])


def _attacks(report: Report, tables, schema, seed, max_rows, n_attacks, folder) -> None:
    from synthscape.evaluation.attacks import run_attacks

    res = run_attacks(tables, schema, _rng(seed, "attacks"), max_rows=max_rows,
                      n_attacks=n_attacks)
    figures = []
    if folder is not None:
        from synthscape.evaluation import figures as figs

        figures = [figs.dcr_histogram(res.curves["dcr_synthetic"], res.curves["dcr_test"],
                                      folder),
                   figs.roc_curves(res.curves["roc"], folder)]
    report.add_section(
        "privacy_attacks", title="Privacy attacks", scores=res.scores,
        tables={"attribute inference": res.inference_table}, figures=figures,
        notes=["Membership-inference AUC near 0.5 and DCR of synthetic rows no smaller than "
               "that of test rows mean the attacks could not tell training rows apart. Risks "
               "(singling-out, linkability, inference) are in [0, 1] with 95% intervals, in "
               "the manner of anonymeter (Giomi et al. 2023). These attacks give evidence, "
               "not a guarantee: only the ledger's epsilon is a guarantee."])

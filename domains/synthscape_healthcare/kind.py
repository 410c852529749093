"""``kind: ehr``: the run function (data -> longitudinal DP EHR generator -> Synthea-layout
tables with the label, entity/event tables, reports: the release report from the synthetic
tables, the internal evaluation against the real patients) and ``register()``."""
from __future__ import annotations

import numpy as np
import pandas as pd

from synthscape.random import row_uniforms, train_test_split
from synthscape_healthcare.spec import EHRSpec, generator_params, load_cohort, load_ontology

SYSTEMS = {"icd10cm": "http://hl7.org/fhir/sid/icd-10-cm", "snomed-tags": "http://snomed.info/sct"}


def run_ehr(spec: EHRSpec, ctx) -> None:
    """Release: the Synthea tables (patients with LABEL, encounters, conditions, medications,
    procedures, observations, immunizations, allergies, careplans), ``ehr_patients`` and
    ``ehr_events``, one row schema per table, the patient-level ledger and a report computed
    from the synthetic tables. Internal: fidelity against the real patients, conditioning
    checks, utility (TSTR) and a membership attack, and the gates."""
    from synthscape_healthcare.generator import EHRGenerator
    from synthscape_healthcare.layout import to_synthea_layout
    from synthscape_healthcare.schemas import json_schema
    from synthscape_healthcare.timeline import label_of

    cohort = load_cohort(spec)
    ontology = load_ontology(spec, cohort)
    if spec.data.max_patients is not None and cohort.n_patients > spec.data.max_patients:
        # the patients with the smallest keyed hashes of their ids: one more patient in the
        # data changes the subset by at most that patient and the one it displaces
        ids = cohort.patients.patient_id.to_numpy()
        u = row_uniforms(pd.Series(ids), spec.seed, "subset")
        cohort = cohort.subset(ids[np.argsort(u, kind="stable")[:spec.data.max_patients]])
    ids = pd.Series(cohort.patients.patient_id.to_numpy())
    train_idx, test_idx = train_test_split(ids, spec.data.test_fraction, spec.seed, "patients")
    train, test = cohort.subset(train_idx), cohort.subset(test_idx)
    gen = EHRGenerator(epsilon=spec.privacy.epsilon, delta=spec.privacy.delta, seed=spec.seed,
                       ontology=ontology, **generator_params(spec))
    with ctx.step("fitting the EHR generator"):
        gen.fit(train)
    aug = spec.augment
    conditions = {"condition": {aug.condition: aug.prevalence}} if aug else None
    syn = gen.sample(spec.rows, conditions=conditions, seed=spec.seed)
    label = label_of(syn, spec.cohort.label, ontology)
    system = SYSTEMS.get(spec.ontology, "urn:synthscape:custom")
    tables = to_synthea_layout(syn, label, system=system)
    tables["ehr_patients"] = syn.patients.reindex(
        columns=["patient_id", "birth_year", "sex", "race", "ethnicity", "death"])
    tables["ehr_events"] = syn.events
    for name, df in tables.items():
        ctx.write_table(name, df, schema=json_schema(name))
    ctx.set_ledger(gen.ledger_)
    ctx.meta["label"] = spec.cohort.label.model_dump()
    ctx.internal_meta["rows"] = {"real_train_patients": train.n_patients,
                                 "real_test_patients": test.n_patients,
                                 "synthetic_patients": syn.n_patients}
    _release(spec, ctx, gen, ontology, syn, tables)
    _evaluate(spec, ctx, gen, ontology, train, test, syn)


def _achieved(spec: EHRSpec, syn, ontology) -> float:
    from synthscape_healthcare.metrics import carriers

    assert spec.augment is not None  # asked only of augmented runs
    return len(carriers(syn, spec.augment.condition, ontology)) / max(syn.n_patients, 1)


def _release(spec: EHRSpec, ctx, gen, ontology, syn, tables: dict[str, pd.DataFrame]) -> None:
    """Release sections, from the synthetic patients and the declared cohort only."""
    from synthscape.evaluation.release_report import describe_table
    from synthscape_healthcare.metrics import prevalence

    patients = tables["patients"]
    scores = {"patients": len(patients), "label": spec.cohort.label.name,
              "label_share": float(patients["LABEL"].mean()) if len(patients) else None,
              "vocabulary": len(gen.vocabulary_)}
    if spec.augment is not None:
        scores.update(requested_prevalence=spec.augment.prevalence,
                      achieved_prevalence=_achieved(spec, syn, ontology))
    prev = prevalence(syn).rename("share_of_synthetic_patients").rename_axis("key")
    ctx.report.add_section(
        "cohort", title="Synthetic cohort", scores=scores,
        tables={"prevalence": prev.reset_index()},
        notes=[f"Privacy: {gen.ledger_.describe()}; the unit of privacy is one patient (all of "
               f"their events).",
               "The code vocabulary is declared in the scenario or released under DP (the "
               "ledger says which); timelines are consistent (no event before birth or after "
               "death). The row schema of each table is schemas/<table>.json."])
    for name in ("patients", "encounters", "conditions", "observations"):
        describe_table(ctx.report, name, tables[name], save_figure=ctx.save_figure)


def _evaluate(spec: EHRSpec, ctx, gen, ontology, train, test, syn) -> None:
    """The internal evaluation: everything that compares with the real patients."""
    from synthscape_healthcare import figures
    from synthscape_healthcare.metrics import (
        conditioning_check,
        cooccurrence_table,
        encounters_per_patient,
        inconsistency_total,
        inter_encounter_days,
        ks,
        prevalence_table,
        r2,
    )

    report = ctx.internal_report
    notes = [f"Release privacy: {gen.ledger_.describe()}; the unit of privacy is one patient. "
             f"The scores here compare with the real patients and are not covered by it."]
    prev, co = prevalence_table(train, syn), cooccurrence_table(train, syn)
    scores: dict[str, float] = {
        "prevalence_r2": r2(prev.real, prev.synthetic),
        "cooccurrence_r2": r2(co.real, co.synthetic),
        "encounters_per_patient_ks": ks(encounters_per_patient(train),
                                        encounters_per_patient(syn)),
        "inter_encounter_days_ks": ks(inter_encounter_days(train), inter_encounter_days(syn)),
        "inconsistencies": float(sum(inconsistency_total(syn).values()))}
    if spec.augment is not None:
        scores.update(requested_prevalence=spec.augment.prevalence,
                      achieved_prevalence=_achieved(spec, syn, ontology))
    report.add_section("ehr", title="EHR fidelity", scores=scores,
                       tables={"prevalence": prev, "cooccurrence": co}, notes=notes,
                       figures=[ctx.save_figure("prevalence", figures.prevalence(prev),
                                                internal=True)])
    checks = []
    for i, code in enumerate(spec.evaluation.conditions):
        cond = gen.sample(spec.evaluation.condition_samples, conditions={"condition": code},
                          seed=spec.seed + 1 + i)
        checks.append({"condition": code, **conditioning_check(
            cond, train, code, ontology, spec.cohort.label.index_date)})
    if checks:
        t = pd.DataFrame(checks)
        report.add_section("conditioning", title="Conditional sampling",
                           scores={"min_satisfied": float(t.satisfied.min()),
                                   "max_tvd_age": float(t.tvd_age.max()),
                                   "max_tvd_sex": float(t.tvd_sex.max())},
                           tables={"checks": t})
    if spec.evaluation.full and test.n_patients > 0:
        _utility_and_privacy(spec, ctx, ontology, train, test, syn)
    for metric, gate in spec.evaluation.gates.items():
        ctx.gate(metric, min=gate.min, max=gate.max)


def _utility_and_privacy(spec, ctx, ontology, train, test, syn) -> None:
    """TSTR / TRTR AUROC of the label from what is known at the label's index date, and a
    distance-to-closest-synthetic-patient membership attack on the same features."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.neighbors import NearestNeighbors

    from synthscape.random import derive_rng
    from synthscape_healthcare.metrics import patient_features, prevalence
    from synthscape_healthcare.timeline import label_of

    lab = spec.cohort.label
    codes = [k for k in prevalence(train).index if k.startswith("condition:")][:50]
    labs = sorted({k.split(":", 1)[1] for k in prevalence(train).index
                   if k.startswith("lab:")})

    def xy(d):
        return (patient_features(d, lab.index_date, codes, labs).to_numpy(float),
                label_of(d, lab, ontology).to_numpy(int))

    (xtr, ytr), (xte, yte), (xsy, ysy) = xy(train), xy(test), xy(syn)

    def auroc(x, y) -> float:
        if len(set(y)) < 2 or len(set(yte)) < 2:
            return float("nan")
        m = HistGradientBoostingClassifier(max_iter=100, random_state=0).fit(x, y)
        return float(roc_auc_score(yte, m.predict_proba(xte)[:, 1]))

    rng = derive_rng(spec.seed, "ehr.membership")
    mu, sd = xtr.mean(0), xtr.std(0) + 1e-9
    nn = NearestNeighbors(n_neighbors=1).fit((xsy - mu) / sd)
    m = min(1000, len(xtr), len(xte))
    a, b = xtr[rng.choice(len(xtr), m, replace=False)], xte[rng.choice(len(xte), m,
                                                                       replace=False)]
    d = nn.kneighbors((np.r_[a, b] - mu) / sd)[0][:, 0]
    ctx.internal_report.add_section(
        "utility", title=f"Utility: {lab.name} from the index date",
        scores={"tstr_auroc": auroc(xsy, ysy), "trtr_auroc": auroc(xtr, ytr)})
    ctx.internal_report.add_section(
        "privacy_attacks", title="Membership attack (distance to the closest synthetic patient)",
        scores={"membership_auc": float(roc_auc_score(np.r_[np.ones(m), np.zeros(m)], -d))})


def register() -> None:
    """Add ``kind: ehr`` (registering it again returns the same kind)."""
    from synthscape.scenarios import register_kind

    register_kind("ehr", EHRSpec, run_ehr)  # described by EHRSpec's docstring

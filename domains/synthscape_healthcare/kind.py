"""``kind: ehr``: the run function (data -> DP EHR generator -> tables, labels, reports: the
release report from the synthetic tables, the internal evaluation against the real patients)
and ``register()``."""
from __future__ import annotations

import numpy as np
import pandas as pd

from synthscape.random import derive_rng, row_uniforms, train_test_split
from synthscape_healthcare.ontology import code_of
from synthscape_healthcare.spec import EHRSpec, load_cohort, load_ontology


def run_ehr(spec: EHRSpec, ctx) -> None:
    """Release: Synthea-like tables with the label, one row schema per table
    (``release/schemas/<table>.json``), the patient-level ledger and a report computed from the
    synthetic tables. Internal: fidelity against the real patients, conditioning checks, the
    core evaluation suite and the gates."""
    from synthscape_healthcare.features import labels
    from synthscape_healthcare.generator import EHRGenerator
    from synthscape_healthcare.schemas import json_schema
    from synthscape_healthcare.tables import to_synthea_tables

    ontology = load_ontology(spec)
    cohort = load_cohort(spec)
    if spec.data.max_patients is not None and cohort.n_patients > spec.data.max_patients:
        # the patients with the smallest keyed hashes of their ids: one more patient in the
        # data changes the subset by at most that patient and the one it displaces
        ids = cohort.patients.patient_id.to_numpy()
        u = row_uniforms(pd.Series(ids), spec.seed, "subset")
        cohort = cohort.subset(ids[np.argsort(u, kind="stable")[:spec.data.max_patients]])
    ids = cohort.patients.patient_id.to_numpy()  # split by patient: all their rows on one side
    # by patient id: adding or removing one patient moves no other patient between the parts
    train_idx, test_idx = train_test_split(pd.Series(ids), spec.data.test_fraction, spec.seed,
                                           "patients")
    train_idx, test_idx = train_idx.to_numpy(), test_idx.to_numpy()
    train, test = cohort.subset(train_idx), cohort.subset(test_idx)
    g = spec.generator
    gen = EHRGenerator(schema=spec.cohort, ontology=ontology, epsilon=spec.privacy.epsilon,
                       delta=spec.privacy.delta, accountant=spec.privacy.accountant,
                       epochs=g.epochs, batch_size=g.batch_size, lr=g.lr,
                       max_grad_norm=g.max_grad_norm, dim=g.dim, hidden=g.hidden,
                       hierarchy=g.hierarchy, device=g.device, seed=spec.seed)
    aug = spec.augment
    conditions = [*([aug.condition] if aug else []), *spec.evaluation.conditions]
    with ctx.step("fitting the EHR generator"):  # warns of a condition the data lacks
        gen.fit(train, conditions=conditions)
    syn = gen.sample(spec.rows, seed=spec.seed,
                     condition=aug.condition if aug else None,
                     prevalence=aug.prevalence if aug else None)
    label = labels(syn, spec.cohort.label, ontology)
    describe = (lambda c: ontology.description(c) if c in ontology else "") if ontology else None
    system = "http://hl7.org/fhir/sid/icd-10-cm" if spec.ontology == "icd10cm" else \
        "http://snomed.info/sct" if spec.data.source == "synthea" else "urn:synthscape:custom"
    tables = to_synthea_tables(syn, label, spec.cohort, index_date=spec.data.index_date,
                               describe=describe, system=system)
    for name, df in tables.items():
        ctx.write_table(name, df, schema=json_schema(name))
    ctx.set_ledger(gen.ledger_)
    ctx.meta["label"] = {"name": spec.cohort.label.name, **spec.cohort.label.model_dump()}
    ctx.internal_meta["training"] = gen.training_
    ctx.internal_meta["rows"] = {"real_train_patients": train.n_patients,
                                 "real_test_patients": test.n_patients,
                                 "synthetic_patients": syn.n_patients}
    _release(spec, ctx, gen, ontology, syn, tables)
    _evaluate(spec, ctx, gen, ontology, train, test, syn)


def _release(spec: EHRSpec, ctx, gen, ontology, syn, tables: dict[str, pd.DataFrame]) -> None:
    """Release sections, from the synthetic patients and the declared cohort only."""
    from synthscape.evaluation.release_report import describe_table

    patients, conditions = tables["patients"], tables["conditions"]
    n = max(len(patients), 1)
    has = conditions.drop_duplicates(["PATIENT", "CODE"]).groupby("CODE").size()
    prevalence = pd.DataFrame({"code": [str(c) for c in spec.cohort.vocabulary]})
    prevalence["share_of_synthetic_patients"] = [float(has.get(c, 0)) / n
                                                 for c in prevalence["code"]]
    scores = {"patients": len(patients), "label": spec.cohort.label.name,
              "label_share": float(patients["LABEL"].mean()) if len(patients) else None}
    if spec.augment is not None:
        scores.update(requested_prevalence=spec.augment.prevalence,
                      achieved_prevalence=_achieved(spec, syn, ontology))
    obs = tables["observations"]
    labs = obs.groupby("DESCRIPTION", sort=False)["VALUE"].describe(
        percentiles=[0.05, 0.5, 0.95]).reset_index().rename(columns={"DESCRIPTION": "lab"})
    ctx.report.add_section(
        "cohort", title="Synthetic cohort", scores=scores,
        tables={"prevalence": prevalence, "lab values": labs},
        notes=[f"Privacy: {gen.ledger_.describe()}; the unit of privacy is one patient (all of "
               f"their rows).",
               "The cohort (code vocabulary, labs with their bounds, age range, label) is "
               "declared in the scenario: nothing was spent on it. The row schema of each "
               "table is schemas/<table>.json."])
    for name, df in tables.items():
        describe_table(ctx.report, name, df, save_figure=ctx.save_figure)


def _achieved(spec: EHRSpec, syn, ontology) -> float:
    """Share of synthetic patients with a code under the augmented condition."""
    from synthscape_healthcare.features import carriers

    assert spec.augment is not None  # asked only of augmented runs
    return len(carriers(syn, spec.augment.condition, ontology)) / max(syn.n_patients, 1)


def _evaluate(spec: EHRSpec, ctx, gen, ontology, train, test, syn) -> None:
    """The internal evaluation: everything that compares with the real patients."""
    from synthscape_healthcare import figures
    from synthscape_healthcare.metrics import (
        conditioning_check,
        cooccurrence_r2,
        prevalence_r2,
        rare_code_error,
    )

    report = ctx.internal_report
    level = "category" if spec.ontology == "icd10cm" else None
    notes = [f"Release privacy: {gen.ledger_.describe()}; the unit of privacy is one patient. "
             f"The scores here compare with the real patients and are not covered by it."]
    scores: dict[str, float] = {}
    if spec.augment is None:
        p_r2, prev = prevalence_r2(train, syn, ontology, level)
        c_r2, co = cooccurrence_r2(train, syn, ontology, level)
        rare = rare_code_error(train, syn, 0.01)
        scores.update(prevalence_r2=p_r2, cooccurrence_r2=c_r2, rare_codes=rare["n_rare"],
                      rare_code_mae=rare["mae"])
        report.add_section("ehr", title="EHR fidelity", scores=scores,
                           tables={"prevalence": prev, "cooccurrence": co}, notes=notes,
                           figures=[ctx.save_figure("prevalence", figures.prevalence(prev, level),
                                                    internal=True)])
    else:
        scores.update(requested_prevalence=spec.augment.prevalence,
                      achieved_prevalence=_achieved(spec, syn, ontology))
        report.add_section("ehr", title="Rare-condition augmentation", scores=scores,
                           notes=notes)
    checks = []
    for i, code in enumerate(spec.evaluation.conditions):
        cond = gen.sample(spec.evaluation.condition_samples, condition=code, seed=spec.seed + 1 + i)
        checks.append({"condition": code, **conditioning_check(cond, train, code, spec.cohort,
                                                               ontology)})
    if checks:
        t = pd.DataFrame(checks)
        report.add_section("conditioning", title="Conditional sampling",
                           scores={"min_satisfied": float(t.satisfied.min()),
                                   "max_tvd_age": float(t.tvd_age.max()),
                                   "max_tvd_sex": float(t.tvd_sex.max())},
                           tables={"checks": t})
    if spec.evaluation.full and test.n_patients > 0:
        _core_evaluation(spec, ctx, gen, ontology, train, test, syn)
    for metric, gate in spec.evaluation.gates.items():
        ctx.gate(metric, min=gate.min, max=gate.max)


def _core_evaluation(spec, ctx, gen, ontology, train, test, syn) -> None:
    """The core evaluation suite on one row per patient (history features and the label)."""
    from synthscape.evaluation import evaluate
    from synthscape_healthcare.features import feature_schema, feature_table, labels

    name = spec.cohort.label.name
    index = gen._code_index(train)
    syn_index = {code_of(n): i for i, n in enumerate(gen.nodes_)}

    def table(d, idx):
        return feature_table(d, spec.cohort, idx, labels(d, spec.cohort.label, ontology))

    schema = feature_schema(spec.cohort, name)
    rng = derive_rng(spec.seed, "ehr.evaluation_rows")
    test_idx = {**index, **gen._code_index(test)}
    real_train = table(train, index)
    cap = min(len(real_train), 5000)  # the distance-based attacks scale with rows squared
    real_train = real_train.iloc[rng.permutation(len(real_train))[:cap]].reset_index(drop=True)
    full = evaluate(real_train, table(test, test_idx), table(syn, syn_index), schema,
                    target=name, ledger=gen.ledger_, figures_dir=ctx.internal, seed=spec.seed)
    ctx.internal_report.sections.update(full.sections)


def register() -> None:
    """Add ``kind: ehr`` (registering it again returns the same kind)."""
    from synthscape.scenarios import register_kind

    register_kind("ehr", EHRSpec, run_ehr)  # described by EHRSpec's docstring

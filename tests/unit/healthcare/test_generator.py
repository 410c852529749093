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
    # a DP patient count plans sampling rate and steps; then DP-SGD
    assert [e.kind for e in led.events] == ["gaussian", "subsampled_gaussian"]
    # nothing outside the ledger: no exact count, no loss on real batches
    assert not {"n_patients", "loss_first", "loss_last", "seconds"} & set(fitted.training_)
    assert fitted.training_["sample_rate"] == pytest.approx(fitted.batch_size / 2000, rel=0.1)


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
    assert {p.name for p in folder.iterdir()} == {"model.json", "weights.safetensors",
                                                  "checksums.json"}
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


def test_synthea_path_with_snomed_semantic_tags():
    """The loader path end to end: a Synthea export, SNOMED CT codes grouped by semantic tag."""
    from synthscape_healthcare import load_synthea
    from synthscape_healthcare.encoding import CohortSchema
    from synthscape_healthcare.records import from_synthea
    from synthscape_healthcare.snomed import semantic_tag_ontology

    from ._paths import CURRENT, need_synthea_samples

    need_synthea_samples()
    vocab = {"444814009": "Viral sinusitis (disorder)", "66383009": "Gingivitis (disorder)",
             "73595000": "Stress (finding)", "160903007": "Full-time employment (finding)"}
    onto = semantic_tag_ontology(vocab.items())  # built from the declared vocabulary only
    data = from_synthea(load_synthea(CURRENT, tables=["patients", "conditions"]),
                        index_date="2018-01-01", end_date="2024-01-01")
    keep = data.conditions.code.isin(list(vocab))  # codes outside the ontology are refused
    data.conditions = data.conditions[keep].reset_index(drop=True)
    schema = CohortSchema(vocabulary=list(vocab), age_range=(0, 100))
    gen = EHRGenerator(schema=schema, ontology=onto, epsilon=None, epochs=2, batch_size=32,
                       seed=0).fit(data)
    out = gen.sample(60, condition="tag:disorder", seed=1)
    assert len(carriers(out, "tag:disorder", onto)) == 60
    assert set(out.conditions.code) <= set(vocab)


def test_a_condition_absent_from_the_data_is_warned_about_on_the_terminal_only(
        icd, cohort_schema, nafld_small, caplog):
    import logging

    import torch

    torch.set_num_threads(1)
    no_arrest = nafld_small.subset(set(nafld_small.patients.patient_id)
                                   - carriers(nafld_small, "I46", icd))
    gen = EHRGenerator(schema=cohort_schema, ontology=icd, epsilon=None, epochs=1,
                       batch_size=512, seed=0)
    assert gen.unseen_conditions(no_arrest, ["I46", "I21", "I46.9", "I20-I25"]) == ["I46",
                                                                                   "I46.9"]
    with pytest.raises(UnknownCodeError, match="did you mean"):
        gen.unseen_conditions(no_arrest, ["I2l"])
    with caplog.at_level(logging.WARNING, logger="synthscape.healthcare"):
        gen.fit(no_arrest, conditions=["I46", "I21"])
    warned = [r.getMessage() for r in caplog.records if r.name == "synthscape.healthcare"]
    assert len(warned) == 1 and "'I46'" in warned[0]
    assert "no patient of the training data" in warned[0] and "DP noise" in warned[0]
    assert not [a for a in vars(gen) if "unseen" in a]  # a fact of the data: never kept
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="synthscape.healthcare"):
        gen.fit(nafld_small, conditions=["I46"])
    assert not [r for r in caplog.records if r.name == "synthscape.healthcare"]

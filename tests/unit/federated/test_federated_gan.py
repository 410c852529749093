"""DP-FedAvg of dp_ctgan: per-site DP-SGD on the discriminator paid from each site's ledger, the
encoder from the sites' summed noisy histograms, only DP statistics and weights on the wire."""
import numpy as np
import pandas as pd
import pytest
from test_federated_messages import check_weight_messages

from synthscape.errors import ParameterError
from synthscape.federated import InProcessTransport, Site, fit_gan
from synthscape.federated.messages import decode
from synthscape.generators.base import load
from synthscape.privacy import Budget
from synthscape.schema import Column, TableSchema

SCHEMA = TableSchema(columns=(
    Column(name="x", kind="categorical", categories=("x0", "x1", "x2", "x3")),
    Column(name="z", kind="numerical", lower=-3, upper=6)))
TINY = dict(rounds=2, local_epochs=1, batch_size=100, noise_dim=4, generator_dim=16,
            discriminator_dim=16, depth=1)
KEY = "0123456789abcdef" * 4


def _fit(parts, tap=None, seed=0):
    sites = [Site(f"s{i}", p, budget=Budget(epsilon=1.0)) for i, p in enumerate(parts)]
    return fit_gan(InProcessTransport(sites, tap=tap), SCHEMA, seed=seed, **TINY)


def test_two_sites_spend_within_budget_and_send_no_raw_value(parts, monkeypatch, tmp_path):
    monkeypatch.setenv("SYNTHSCAPE_NOISE_KEY", KEY)
    parts = parts[:2]
    messages: list = []
    fit = _fit(parts, tap=lambda *m: messages.append(m))
    for led in fit.ledgers.values():
        assert 0.99 <= led.epsilon <= 1.0 + 1e-6
        assert [e.kind for e in led.events] == ["gaussian", "gaussian", "subsampled_gaussian",
                                                "subsampled_gaussian"]  # rows, hists, 2 rounds
    assert "parallel composition" in fit.guarantee and "against the coordinator" in fit.guarantee

    ops = [decode(b)["op"] for d, _, b in messages if d == "to"]
    assert ops.count("gan_train") == 2 * len(parts)
    check_weight_messages(messages, parts)
    syn = fit.generator.sample(200, seed=0)
    assert list(syn.columns) == ["x", "z"] and syn["z"].between(-3, 6).all()
    assert set(syn["x"]) <= {"x0", "x1", "x2", "x3"}
    fit.generator.save(tmp_path / "model")  # the federated model saves and loads like a central one
    pd.testing.assert_frame_equal(load(tmp_path / "model").sample(50, seed=2),
                                  fit.generator.sample(50, seed=2))


def test_same_seed_and_noise_key_same_result(parts, monkeypatch):
    monkeypatch.setenv("SYNTHSCAPE_NOISE_KEY", KEY)
    parts = [p.iloc[:300] for p in parts[:2]]
    a = _fit(parts).generator.sample(100, seed=1)
    b = _fit(parts).generator.sample(100, seed=1)
    pd.testing.assert_frame_equal(a, b)
    monkeypatch.setenv("SYNTHSCAPE_NOISE_KEY", "f" * 64)
    c = _fit(parts).generator.sample(100, seed=1)
    assert not a.equals(c)


def test_encoder_comes_from_the_summed_site_histograms(parts, monkeypatch):
    monkeypatch.setenv("SYNTHSCAPE_NOISE_KEY", KEY)
    parts = [p.iloc[:300] for p in parts[:2]]
    messages: list = []
    enc = _fit(parts, tap=lambda *m: messages.append(m)).generator.encoder_
    hists = [decode(b)["hists"] for d, _, b in messages if d == "from" and b"hists" in b]
    assert len(hists) == 2
    np.testing.assert_allclose(enc.hists_["x"], hists[0]["x"] + hists[1]["x"])
    pooled = pd.concat(parts)["x"].value_counts(normalize=True)
    freqs = dict(zip(SCHEMA["x"].values, enc.freqs_["x"]))
    assert max(abs(freqs[v] - pooled[v]) for v in pooled.index) < 0.1


def test_bad_plans_and_missing_columns_are_refused(parts):
    with pytest.raises(ParameterError, match="rounds and local_epochs"):
        fit_gan(InProcessTransport([Site("a", parts[0], budget=Budget(epsilon=1.0))]), SCHEMA,
                rounds=0)
    site = Site("a", parts[0].drop(columns="z"), budget=Budget(epsilon=1.0))
    with pytest.raises(ParameterError, match=r"site 'a' has no column\(s\) \['z'\]"):
        fit_gan(InProcessTransport([site]), SCHEMA, **TINY)

"""Secure aggregation: masks cancel only in the full sum, the noise is shared, every message is
opaque, and the release states the trust it rests on."""
import math

import numpy as np
import pytest
from test_federated_messages import FLWR_PY, _schema_and_parts, check_messages

from synthscape.errors import ParameterError
from synthscape.federated import InProcessTransport, Site, fit_federated
from synthscape.federated.messages import decode
from synthscape.federated.secagg import (
    Masker,
    SecureAggregation,
    epsilon_keeping,
    fallback_epsilon,
    unmask,
)
from synthscape.privacy import Budget

KEY = "ab" * 32


def _maskers(k: int = 3) -> list[Masker]:
    ms = [Masker(f"s{i}", SecureAggregation(k)) for i in range(k)]
    keys = {m.name: m.public_key() for m in ms}
    for m in ms:
        m.connect(keys)
    return ms


def test_masks_cancel_in_the_sum_and_only_there():
    ms = _maskers()
    vals = [np.array([5, -2, 0, 7]), np.array([1, 1, 1, 1]), np.array([0, 3, -9, 2])]
    masked = [m.mask(v, "m1") for m, v in zip(ms, vals)]
    assert np.array_equal(unmask(masked), sum(vals))
    # any partial sum is still masked: two of three sites reveal nothing of their sum
    part = unmask(masked[:2])
    assert not np.array_equal(part, vals[0] + vals[1])
    assert np.all(np.abs(part.astype(float)) > 1e6)


def test_one_masked_answer_looks_uniform_whatever_the_counts():
    ms = _maskers(2)
    for counts in (np.zeros(4000, np.int64), np.full(4000, 10**6, np.int64)):
        u = ms[0].mask(counts, f"m{int(counts[0])}").astype(float) / 2.0**64
        assert abs(u.mean() - 0.5) < 0.02 and abs(u.var() - 1 / 12) < 0.01


def test_a_site_refuses_reused_ids_wrong_peer_sets_and_unmasked_runs(parts):
    ms = _maskers()
    ms[0].mask(np.arange(3), "m1")
    with pytest.raises(ParameterError, match="used before"):
        ms[0].mask(np.arange(3), "m1")
    lone = Masker("s0", SecureAggregation(3))
    with pytest.raises(ParameterError, match="expects 3 sites"):
        lone.connect({"s0": lone.public_key(), "s1": ms[1].public_key()})
    site = Site("s0", parts[0], budget=Budget(epsilon=1.0), secure_aggregation=SecureAggregation(3))
    with pytest.raises(ParameterError, match="only under secure aggregation"):
        site.handle({"op": "setup", "schema": {"columns": []}, "bins": 4})
    plain = Site("s1", parts[1], budget=Budget(epsilon=1.0))
    with pytest.raises(ParameterError, match="not set up for secure aggregation"):
        plain.handle({"op": "secagg_keys"})
    with pytest.raises(ValueError):
        SecureAggregation(3, colluding=3)


def _fit(parts, schema, secure: bool, colluding: int = 0, tap=None, seed: int = 0):
    sites = [Site(f"s{i}", p, budget=Budget(epsilon=1.0, delta=1e-6),
                  secure_aggregation=SecureAggregation(len(parts), colluding) if secure else None)
             for i, p in enumerate(parts)]
    return fit_federated(InProcessTransport(sites, tap=tap), schema, discover=["x"], bins=8,
                         rounds=8, iters=20, seed=seed, secure_aggregation=secure)


def test_secure_run_sends_only_masked_integers_and_public_values(parts, schema):
    parts = _schema_and_parts(parts)
    messages: list = []
    fit = _fit(parts, schema, True, tap=lambda *m: messages.append(m))
    # masked sums, plus each site's one-way marginals in the clear (noisy, for raking)
    check_messages(messages, parts, {"keys", "ok", "masked", "sd", "public_key", "ledger",
                                     "secure_aggregation", "y", "sigma"})
    plain = [decode(data) for d, _, data in messages if d == "from" and b'"y"' in data]
    assert len(plain) == len(parts)  # once per site
    masked = sum("masked" in decode(data) for d, _, data in messages if d == "from")
    assert masked >= 8
    assert set(fit.ledgers) == {"s0", "s1", "s2"}


def test_the_pool_carries_the_central_noise_not_k_times_it(parts, schema):
    plain = _fit(parts, schema, False)
    secure = _fit(parts, schema, True)
    assert "secure aggregation" not in plain.guarantee
    for led in secure.ledgers.values():  # each site spends (nearly) its budget, never more
        assert 0.9 <= led.epsilon <= 1.0 + 1e-9
        assert any(e.kind == "skellam" for e in led.events)
    half = _fit(parts, schema, True, colluding=1)
    for name, led in secure.ledgers.items():
        alone = fallback_epsilon(led.to_dict(), 3)
        assert alone > 1.2 * led.epsilon  # a site's own third of the noise protects less
        assert fallback_epsilon(half.ledgers[name].to_dict(), 2) < alone
    assert "at most 0 site(s) collude" in secure.guarantee
    assert "own site's share of the noise" in secure.guarantee
    # a site reading the release removes its own share: 2 of the 3 shares remain
    assert "any one site on its own" in secure.guarantee
    for name, led in secure.ledgers.items():
        reader = epsilon_keeping(led.to_dict(), 2 / 3)
        assert led.epsilon < reader < fallback_epsilon(led.to_dict(), 3)
        assert f"site {name}: epsilon = {reader:.4g}" in secure.guarantee
    assert "at most 1 site(s) collude" in half.guarantee


def test_pooled_measurement_variance_is_the_central_one(parts, schema, monkeypatch):
    from synthscape.federated import coordinator

    seen: dict[bool, list[float]] = {True: [], False: []}
    real = coordinator._Pool.add

    def spy(self, cliques, answers, by_site=False):
        out = real(self, cliques, answers, by_site)
        sds = [float(a.get("sd", a.get("sigma"))) for a in answers.values()]
        if not (self.masked and by_site):  # not the secure runs' per-site one-way release
            seen[self.masked].append(math.sqrt(sum(v * v for v in sds)))
        return out

    monkeypatch.setattr(coordinator._Pool, "add", spy)
    _fit(parts, schema, False)
    _fit(parts, schema, True)
    # the first (one-way) measurement: K sites each at the full sigma vs shares of one sigma
    ratio = seen[False][0] / seen[True][0]
    assert 1.6 < ratio < 1.8  # sqrt(3) = 1.73, less the Skellam calibration's extra noise


def test_same_noise_key_same_model_despite_fresh_masks(parts, schema, monkeypatch):
    monkeypatch.setenv("SYNTHSCAPE_NOISE_KEY", KEY)
    a = _fit(parts, schema, True).generator.sample(200)
    b = _fit(parts, schema, True).generator.sample(200)
    assert a.equals(b)


@pytest.mark.slow
@pytest.mark.skipif(not FLWR_PY.exists(), reason="needs flwr: .venv-bench-flwr (docs/federated.md)")
def test_secure_aggregation_over_flower_site_processes(parts, schema, tmp_path):
    from synthscape.federated.flower import FlowerTransport, SiteProcess

    procs = []
    for i, p in enumerate(parts):
        p.to_parquet(tmp_path / f"s{i}.parquet")
        procs.append(SiteProcess(f"s{i}", str(tmp_path / f"s{i}.parquet"), epsilon=1.0,
                                 secure_aggregation=(len(parts), 0)))
    messages: list = []
    with FlowerTransport(procs, python=str(FLWR_PY), tap=lambda *m: messages.append(m)) as tr:
        fit = fit_federated(tr, schema, discover=["x"], bins=8, rounds=8, iters=20,
                            secure_aggregation=True)
    check_messages(messages, parts, {"keys", "ok", "masked", "sd", "public_key", "ledger",
                                     "secure_aggregation", "y", "sigma"})
    assert "at most 0 site(s) collude" in fit.guarantee
    assert all(0.9 <= led.epsilon <= 1.0 + 1e-9 for led in fit.ledgers.values())

"""Every message of a federated run, intercepted: only DP statistics and public values travel.

The in-process transport and the Flower transport carry the same encoded bytes; both runs are
tapped and every message is decoded and searched for raw values of the sites' data."""
import shutil
from pathlib import Path

import numpy as np
import pytest

from synthscape.federated import InProcessTransport, Site, fit_federated
from synthscape.federated.messages import decode
from synthscape.privacy import Budget

ANSWER_KEYS = {"keys", "ok", "y", "sigma", "scores", "ledger"}
FLWR_PY = Path(__file__).resolve().parents[3] / ".venv-bench-flwr" / "bin" / "python"


def _walk(value, floats: list, strings: list) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            strings.append(k)
            _walk(v, floats, strings)
    elif isinstance(value, list):
        for v in value:
            _walk(v, floats, strings)
    elif isinstance(value, np.ndarray):
        floats.extend(value.ravel().astype(float).tolist())
    elif isinstance(value, str):
        strings.append(value)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        floats.append(float(value))


def check_messages(messages, parts, answer_keys=ANSWER_KEYS) -> None:
    """No raw numeric value, no exact count or size, no unreleased category in any answer;
    masked answers (secure aggregation) are 64-bit words far from any count."""
    raw_z = set(np.concatenate([p["z"].to_numpy() for p in parts]).tolist())
    sizes = {float(len(p)) for p in parts}
    assert any(d == "from" for d, _, _ in messages) and any(d == "to" for d, _, _ in messages)
    for direction, _site, data in messages:
        msg = decode(data)
        floats: list[float] = []
        strings: list[str] = []
        _walk(msg, floats, strings)
        assert not raw_z & set(floats)
        assert "a-single-record" not in strings
        if direction == "from":
            assert set(msg) <= answer_keys, set(msg)
            masked = msg.get("masked", [])
            for m in masked if isinstance(masked, list) else [masked]:
                assert m.dtype == np.uint64 and np.all(m.astype(float) > 2.0**20)
            for y in msg.get("y", []):  # noisy counts: never a whole number, never a site size
                assert not np.any(np.mod(y, 1) == 0)
            if "ledger" not in msg:
                assert not sizes & set(floats)


def check_weight_messages(messages, parts) -> None:
    """The neural protocols' messages: no raw value anywhere (a site's DP row count aside),
    answers only among the protocol's keys, noisy histograms never whole numbers, no site
    size outside the ledgers."""
    raw_z = set(np.concatenate([p["z"].to_numpy() for p in parts]).tolist())
    sizes = {float(len(p)) for p in parts}
    assert any(d == "from" for d, _, _ in messages)
    for direction, _, data in messages:
        msg = decode(data)
        floats: list[float] = []
        _walk({k: v for k, v in msg.items() if k != "rows"}, floats, [])  # rows: a DP count
        assert not raw_z & set(floats)
        if direction == "from":
            assert set(msg) <= {"rows", "hists", "ok", "weights", "ledger"}, set(msg)
            if "ledger" not in msg:
                assert not sizes & set(floats)
            for h in msg.get("hists", {}).values():  # noisy counts: never whole numbers
                assert not np.any(np.mod(h, 1) == 0)


def flower_run(parts, tmp_path, fit, **transport):
    """``fit(transport)`` over Flower on loopback, one site process per part (read from a
    Parquet file), every message tapped; returns (fit's result, messages)."""
    from synthscape.federated.flower import FlowerTransport, SiteProcess

    procs = []
    for i, p in enumerate(parts):
        p.to_parquet(tmp_path / f"s{i}.parquet")
        procs.append(SiteProcess(f"s{i}", str(tmp_path / f"s{i}.parquet"), epsilon=1.0))
    messages: list = []
    python = str(FLWR_PY) if FLWR_PY.exists() else None
    with FlowerTransport(procs, python=python, tap=lambda *m: messages.append(m),
                         **transport) as tr:
        result = fit(tr)
    return result, messages


def _schema_and_parts(parts):
    parts = [p.copy() for p in parts]
    parts[1].loc[0, "x"] = "a-single-record"
    return parts


def test_in_process_run_sends_no_raw_value(parts, schema):
    parts = _schema_and_parts(parts)
    messages: list = []
    sites = [Site(f"s{i}", p, budget=Budget(epsilon=1.0)) for i, p in enumerate(parts)]
    fit_federated(InProcessTransport(sites, tap=lambda *m: messages.append(m)), schema,
                  discover=["x"], bins=8, rounds=8, iters=20)
    check_messages(messages, parts)
    assert len(messages) >= 6 * len(sites)


@pytest.mark.slow
@pytest.mark.skipif(not FLWR_PY.exists() and shutil.which("flower-superlink") is None,
                    reason="needs flwr: .venv-bench-flwr (see docs/federated.md)")
@pytest.mark.parametrize("fork", [True, False], ids=["forked-sites", "fresh-interpreters"])
def test_flower_run_on_loopback_sends_no_raw_value(parts, schema, tmp_path, fork):
    parts = _schema_and_parts(parts)
    fit, messages = flower_run(parts, tmp_path, lambda tr: fit_federated(
        tr, schema, discover=["x"], bins=8, rounds=8, iters=20), fork=fork)
    check_messages(messages, parts)
    assert set(fit.ledgers) == {"s0", "s1", "s2"}
    assert all(0.95 <= led.epsilon <= 1 + 1e-6 for led in fit.ledgers.values())
    assert len(fit.generator.sample(20)) == 20


@pytest.mark.slow
@pytest.mark.skipif(not FLWR_PY.exists() and shutil.which("flower-superlink") is None,
                    reason="needs flwr: .venv-bench-flwr (see docs/federated.md)")
def test_forked_sites_draw_independent_noise(parts, schema, tmp_path):
    """Sites forked from one launcher key their noise after the fork: two sites holding the
    same records answer the same query with different noise."""
    from synthscape.federated.flower import FlowerTransport, SiteProcess

    same = _schema_and_parts(parts)[0]
    procs = []
    for name in ("twin_a", "twin_b"):
        same.to_parquet(tmp_path / f"{name}.parquet")
        procs.append(SiteProcess(name, str(tmp_path / f"{name}.parquet"), epsilon=1.0))
    answers: dict[str, list] = {"twin_a": [], "twin_b": []}

    def tap(direction, site, data):
        msg = decode(data)
        if direction == "from" and "y" in msg:
            answers[site].append(msg["y"])

    python = str(FLWR_PY) if FLWR_PY.exists() else None
    with FlowerTransport(procs, python=python, tap=tap, fork=True) as tr:
        fit_federated(tr, schema, discover=["x"], bins=8, rounds=4, iters=5)
    first_a, first_b = answers["twin_a"][0], answers["twin_b"][0]
    assert len(first_a) == len(first_b) > 0
    for ya, yb in zip(first_a, first_b):
        assert ya.shape == yb.shape and not np.allclose(ya, yb)


@pytest.mark.slow
@pytest.mark.skipif(not FLWR_PY.exists() and shutil.which("flower-superlink") is None,
                    reason="needs flwr: .venv-bench-flwr (see docs/federated.md)")
@pytest.mark.parametrize("fork", [True, False], ids=["forked-sites", "fresh-interpreters"])
def test_a_site_that_cannot_start_fails_the_start_at_once(parts, tmp_path, fork):
    import time

    from synthscape.federated.flower import FederationError, FlowerTransport, SiteProcess

    parts[0].to_parquet(tmp_path / "ok.parquet")
    procs = [SiteProcess("ok", str(tmp_path / "ok.parquet"), epsilon=1.0),
             SiteProcess("broken", str(tmp_path / "missing.parquet"), epsilon=1.0)]
    python = str(FLWR_PY) if FLWR_PY.exists() else None
    t0 = time.monotonic()
    with pytest.raises(FederationError, match="before every site connected"):
        with FlowerTransport(procs, python=python, fork=fork, connect_timeout=120):
            pass
    assert time.monotonic() - t0 < 60  # not the 120 s connect timeout

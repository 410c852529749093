"""DP-FedAvg of dp_sequence: per-site entity-level DP-SGD and DP releases paid from each site's
ledger, the length distribution and hour prior from the sites' summed noisy histograms, only DP
statistics and weights on the wire, and a released model that samples, saves and loads like a
central one."""
import numpy as np
import pandas as pd
import pytest
from test_federated_messages import _walk

from synthscape.errors import SchemaError
from synthscape.federated import InProcessTransport, Site, fit_sequence
from synthscape.federated.messages import decode
from synthscape.generators import load
from synthscape.privacy import Budget
from synthscape.schema.sequence import SequenceSchema
from synthscape.testing import sequence_conformance_data

pytest.importorskip("torch")
TINY = dict(rounds=2, local_epochs=1, batch_size=64, width=8, bins=8)
KEY = "0123456789abcdef" * 4


@pytest.fixture(scope="module")
def split():
    evs, ents, schema = sequence_conformance_data(420, seed=7)
    half = ents.segment == "retail"  # two sites with different customers (non-identical)
    parts = []
    for mask in (half, ~half):
        e = ents[mask.to_numpy()]
        parts.append((evs[evs.cid.isin(e.cid)], e))
    return parts, schema


def _fit(parts, schema, tap=None, seed=0, **kw):
    sites = [Site(f"s{i}", ev, entities=en, budget=Budget(epsilon=1.0))
             for i, (ev, en) in enumerate(parts)]
    return fit_sequence(InProcessTransport(sites, tap=tap), schema, seed=seed, **{**TINY, **kw})


def test_sites_spend_their_budget_and_send_no_raw_value(split, monkeypatch, tmp_path):
    monkeypatch.setenv("SYNTHSCAPE_NOISE_KEY", KEY)
    parts, schema = split
    messages: list = []
    fit = _fit(parts, schema, tap=lambda *m: messages.append(m))
    for led in fit.ledgers.values():
        assert 0.99 <= led.epsilon <= 1.0 + 1e-6 and led.is_private
        assert [e.label.split(":")[1].strip().split(" ")[0] for e in led.events][:1] == ["entity"]
        # the count, the lengths, the hours, the margins, then one DP-SGD event per round
        assert [e.kind for e in led.events] == ["gaussian"] * 4 + ["subsampled_gaussian"] * 2
        assert led.events[3].label.startswith("entity margins")
        assert "per-entity DP-SGD" in led.events[-1].label
    assert "parallel composition" in fit.guarantee

    raw = set(np.concatenate([ev.amount.to_numpy() for ev, _ in parts]).tolist())
    sizes = {float(len(en)) for _, en in parts} | {float(len(ev)) for ev, _ in parts}
    ops = [decode(b)["op"] for d, _, b in messages if d == "to"]
    assert ops.count("seq_train") == 2 * len(parts)
    for direction, _, data in messages:
        msg = decode(data)
        floats: list[float] = []
        # rows: a DP count; epochs: the site's plan; schema and arch: the declared schema
        _walk({k: v for k, v in msg.items() if k not in ("rows", "epochs", "schema", "arch")},
              floats, [])
        assert not raw & set(floats), (direction, msg.get("op"), sorted(raw & set(floats))[:10])
        if direction == "from":
            assert set(msg) <= {"rows", "epochs", "lengths", "lengths_sigma", "tod",
                                "tod_sigma", "margins", "margins_std", "weights",
                                "ledger"}, set(msg)
            if "ledger" not in msg:
                assert not sizes & set(floats)
            for k in ("lengths", "tod", "margins"):  # noisy statistics: never whole numbers
                if k in msg:
                    assert not np.any(np.mod(msg[k], 1) == 0)

    ents, evs = fit.generator.sample(150, seed=0)
    assert len(ents) == 150 and evs.groupby("cid").size().max() <= schema.max_events
    assert evs.ts.between(schema.start, schema.end).all()
    assert set(evs.channel) <= {"pos", "atm", "web"}
    # the sites' summed length histograms set the lengths: the mean is in the data's range
    real_mean = np.mean([len(ev) / len(en) for ev, en in parts])
    assert 0.4 * real_mean < len(evs) / len(ents) < 1.6 * real_mean
    fit.generator.save(tmp_path / "model")  # saves and loads like a central model
    a, b = load(tmp_path / "model").sample(40, seed=2), fit.generator.sample(40, seed=2)
    pd.testing.assert_frame_equal(a[1], b[1])


def test_same_key_same_model_and_conditions_work(split, monkeypatch):
    monkeypatch.setenv("SYNTHSCAPE_NOISE_KEY", KEY)
    parts, schema = split
    one, two = _fit(parts, schema), _fit(parts, schema)
    pd.testing.assert_frame_equal(one.generator.sample(30, seed=1)[1],
                                  two.generator.sample(30, seed=1)[1])
    ents, _ = one.generator.sample(60, conditions={"flagged": True}, seed=3)
    assert ents.flagged.all()


def test_undeclared_schema_is_refused(split):
    parts, _ = split
    with pytest.raises(SchemaError, match="fully declared"):
        _fit(parts, SequenceSchema(entity_key="cid", time_key="ts", max_events=12))

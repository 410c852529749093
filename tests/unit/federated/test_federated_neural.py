"""DP-FedAvg of dp_tvae: per-site DP-SGD paid from each site's ledger; optional site-level DP."""
import pytest

from synthscape.federated import InProcessTransport, Site, fit_neural
from synthscape.federated.messages import decode
from synthscape.privacy import Budget
from synthscape.schema import Column, TableSchema

SCHEMA = TableSchema(columns=(
    Column(name="x", kind="categorical", categories=("x0", "x1", "x2", "x3")),
    Column(name="z", kind="numerical", lower=-3, upper=6)))


def test_fedavg_spends_each_site_budget_and_sends_only_weights(parts):
    messages: list = []
    sites = [Site(f"s{i}", p, budget=Budget(epsilon=1.0)) for i, p in enumerate(parts[:2])]
    fit = fit_neural(InProcessTransport(sites, tap=lambda *m: messages.append(m)), SCHEMA,
                     rounds=2, batch_size=100, latent_dim=2, hidden_dim=8, depth=1, seed=0)
    for led in fit.ledgers.values():
        assert 0.99 <= led.epsilon <= 1.0 + 1e-6
        assert sum(e.kind == "subsampled_gaussian" for e in led.events) == 2  # one per round
    answers = [decode(b) for d, _, b in messages if d == "from"]
    assert {k for a in answers for k in a} == {"rows", "hists", "ok", "weights", "ledger"}
    syn = fit.generator.sample(50, seed=0)
    assert list(syn.columns) == ["x", "z"] and syn["z"].between(-3, 6).all()


def test_site_level_dp_adds_its_own_ledger_and_says_against_whom(parts):
    sites = [Site(f"s{i}", p, budget=Budget(epsilon=1.0)) for i, p in enumerate(parts[:2])]
    fit = fit_neural(InProcessTransport(sites), SCHEMA, rounds=1, batch_size=100, latent_dim=2,
                     hidden_dim=8, depth=1, site_budget=Budget(epsilon=4.0, unit="site"), seed=0)
    assert fit.ledgers["site-level"].epsilon == pytest.approx(4.0, rel=1e-3)
    assert "not against the coordinator" in fit.guarantee


def test_sites_refuse_training_out_of_order(parts):
    from synthscape.errors import ParameterError

    site = Site("s0", parts[0], budget=Budget(epsilon=1.0))
    with pytest.raises(ParameterError, match="send 'nn_setup' first"):
        site.handle({"op": "nn_train", "weights": {}, "round": 1})
    site.handle({"op": "nn_setup", "schema": SCHEMA.to_dict(), "rounds": 1, "epochs": 1,
                 "batch_size": None, "lr": 1e-2, "max_grad_norm": 1.0, "loss_factor": 2.0,
                 "encoder_share": 0.3})
    with pytest.raises(ParameterError, match="send 'nn_encode' before 'nn_train'"):
        site.handle({"op": "nn_train", "weights": {}, "round": 1})

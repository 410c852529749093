"""DP-FedAvg of dp_tvae and dp_ctgan over Flower on loopback (site processes forked from one
launcher that imports torch and opacus): each site spends within its budget, every message is
tapped and holds no raw value of the sites' data, and the model samples."""
import shutil

import pytest
from test_federated_messages import FLWR_PY, check_weight_messages, flower_run

from synthscape.federated import fit_gan, fit_neural
from synthscape.federated.messages import decode
from synthscape.schema import Column, TableSchema

SCHEMA = TableSchema(columns=(
    Column(name="x", kind="categorical", categories=("x0", "x1", "x2", "x3")),
    Column(name="z", kind="numerical", lower=-3, upper=6)))

pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    not FLWR_PY.exists() and shutil.which("flower-superlink") is None,
    reason="needs flwr: .venv-bench-flwr (see docs/federated.md)")]


def _run(parts, tmp_path, fit):
    from synthscape.federated.flower import TORCH_STACK

    result, messages = flower_run(parts, tmp_path, fit, preload=TORCH_STACK)
    check_weight_messages(messages, parts)
    assert set(result.ledgers) >= {"s0", "s1"}
    assert all(0.95 <= result.ledgers[s].epsilon <= 1 + 1e-6 for s in ("s0", "s1"))
    syn = result.generator.sample(50, seed=0)
    assert list(syn.columns) == ["x", "z"] and syn["z"].between(-3, 6).all()
    return messages


def test_dp_tvae_over_flower_sends_no_raw_value(parts, tmp_path):
    _run(parts[:2], tmp_path, lambda tr: fit_neural(
        tr, SCHEMA, rounds=2, batch_size=100, latent_dim=2, hidden_dim=8, depth=1, seed=0))


def test_dp_ctgan_over_flower_sends_no_raw_value(parts, tmp_path):
    messages = _run(parts[:2], tmp_path, lambda tr: fit_gan(
        tr, SCHEMA, seed=0, rounds=2, local_epochs=1, batch_size=100, noise_dim=4,
        generator_dim=16, discriminator_dim=16, depth=1))
    ops = [decode(b)["op"] for d, _, b in messages if d == "to"]
    assert ops.count("gan_train") == 4  # two rounds at two sites

"""The shared DP-SGD loop: accounting, Poisson sampling, secret noise, errors, noise-only steps."""
import math

import numpy as np
import pytest
import torch

from synthscape.errors import BudgetExceededError, ParameterError
from synthscape.generators._training import DPSGD
from synthscape.privacy import Budget, NoiseSource, PrivacyLedger
from synthscape.privacy.analysis.rdp import ORDERS

torch.set_num_threads(1)

N = 400


def _data(seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(N, 3, generator=g)
    y = x @ torch.tensor([1.5, -2.0, 0.5]) + 0.1 * torch.randn(N, generator=g)
    return torch.cat([x, y[:, None]], dim=1)


def _module(seed=0):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))


def _train(trainer, data):
    per_sample = trainer.grad_sample_mode in ("ghost", "bookkeeping")
    for batch in trainer.batches(data):
        pred = trainer.module(batch[:, :3]).squeeze(-1)
        losses = (pred - batch[:, 3]) ** 2
        trainer.step(losses if per_sample else losses.mean())
    return trainer.finish()


def _mse(module, data):
    with torch.no_grad():
        return float(((module(data[:, :3]).squeeze(-1) - data[:, 3]) ** 2).mean())


def _ledger(epsilon, key=None):
    # PRV keeps these tests fast; the RDP path is checked once, against opacus, above all.
    noise = None if key is None else NoiseSource(key)
    return PrivacyLedger(Budget(epsilon=epsilon, delta=1e-5), accountant="prv", noise=noise)


def _trainer(ledger, **kw):
    args = dict(ledger=ledger, n_rows=N, epochs=2, batch_size=50, lr=1e-2, device="cpu",
                label="test")
    args.update(kw)
    return DPSGD(_module(), **args)


@pytest.mark.slow
def test_calibrated_epsilon_fits_target_and_matches_opacus_rdp():
    from opacus.accountants import RDPAccountant

    ledger = PrivacyLedger(Budget(epsilon=3.0, delta=1e-5))
    tr = _trainer(ledger)
    summary = _train(tr, _data())
    assert summary["steps_done"] == tr.steps == 2 * 8
    assert tr.sample_rate == pytest.approx(50 / N)
    assert ledger.epsilon <= 3.0 * (1 + 1e-9)
    assert summary["epsilon"] == ledger.epsilon
    acc = RDPAccountant()
    acc.history.append((tr.noise_multiplier, tr.sample_rate, tr.steps))
    same_orders = acc.get_epsilon(delta=1e-5, alphas=list(ORDERS))
    assert ledger.epsilon == pytest.approx(same_orders, rel=1e-9)
    # opacus' default orders are a subset of the ledger's: never tighter than the ledger.
    assert ledger.epsilon <= acc.get_epsilon(delta=1e-5) + 1e-12
    # the calibration is not wastefully loose either
    assert ledger.epsilon >= 0.9 * 3.0


def test_prv_ledger_matches_opacus_prv():
    from opacus.accountants import PRVAccountant

    ledger = PrivacyLedger(Budget(epsilon=2.0, delta=1e-5), accountant="prv")
    tr = _trainer(ledger, epochs=1)
    _train(tr, _data())
    assert ledger.epsilon <= 2.0 * (1 + 1e-9)
    acc = PRVAccountant()
    acc.history.append((tr.noise_multiplier, tr.sample_rate, tr.steps))
    assert ledger.epsilon == pytest.approx(acc.get_epsilon(delta=1e-5, eps_error=0.01), rel=1e-6)


def test_overspend_is_refused_before_training():
    ledger = _ledger(0.5)
    module = _module()
    before = [p.detach().clone() for p in module.parameters()]
    with pytest.raises(BudgetExceededError):
        DPSGD(module, ledger=ledger, n_rows=N, epochs=2, batch_size=50, noise_multiplier=0.5,
              device="cpu")
    assert ledger.events == ()
    assert all(torch.equal(a, b) for a, b in zip(before, module.parameters()))


def test_record_sensitivity_scales_the_event():
    ledger = _ledger(50.0)
    tr = _trainer(ledger, noise_multiplier=3.0, record_sensitivity=3.0)
    (event,) = ledger.events
    assert event.noise_multiplier == pytest.approx(1.0)
    assert tr.noise_multiplier == 3.0


def test_batches_are_poisson_sampled():
    ledger = PrivacyLedger(None)
    q, n = 0.1, N
    tr = _trainer(ledger, batch_size=int(q * n), epochs=60)
    sizes = []
    seen = torch.zeros(n)
    data = torch.arange(n, dtype=torch.float32)[:, None].repeat(1, 4)
    for batch in tr.batches(data):
        sizes.append(len(batch))
        seen[batch[:, 0].long()] += 1
        assert len(torch.unique(batch[:, 0])) == len(batch)  # without replacement in a step
        tr.step(tr.module(batch[:, :3]).sum() * 0)
    sizes = np.array(sizes)
    k = len(sizes)  # 600 draws of Binomial(400, 0.1): mean 40, variance 36
    assert abs(sizes.mean() - n * q) < 4 * math.sqrt(n * q * (1 - q) / k)
    assert 0.7 * n * q * (1 - q) < sizes.var(ddof=1) < 1.3 * n * q * (1 - q)
    assert len(set(sizes.tolist())) > 10
    # each row is drawn about steps * q times
    assert abs(float(seen.mean()) - k * q) < 1e-6 + 0.5
    assert not ledger.is_private


@pytest.mark.parametrize("mode", ["hooks", "ghost", "bookkeeping"])
def test_empty_draws_give_noise_only_steps(mode):
    ledger = _ledger(50.0)
    tr = DPSGD(_module(), ledger=ledger, n_rows=20, epochs=3, batch_size=1, device="cpu",
               noise_multiplier=1.0, grad_sample_mode=mode)
    data = _data()[:20]
    empty = 0
    for batch in tr.batches(data):
        before = [p.detach().clone() for p in tr.base_module.parameters()]
        pred = tr.module(batch[:, :3]).squeeze(-1)
        tr.step((pred - batch[:, 3]) ** 2)
        if len(batch) == 0:
            empty += 1
            # noise still moves the weights: the step was released as the accountant assumes
            assert any(not torch.equal(a, b) for a, b in zip(before, tr.base_module.parameters()))
    assert empty > 10
    assert tr.finish()["steps_done"] == tr.steps


def _clipped_update(mode):
    """One step with tiny noise: the update must equal the mean of clipped per-sample grads."""
    module = _module()
    data = _data()[:40]
    ledger = PrivacyLedger(Budget(epsilon=1e15, delta=1e-5))  # q = 1: the plain Gaussian's RDP
    tr = DPSGD(module, ledger=ledger, n_rows=40, epochs=1, batch_size=40, device="cpu",
               noise_multiplier=1e-6, max_grad_norm=0.5, optimizer="sgd", lr=1.0,
               grad_sample_mode=mode)
    before = [p.detach().clone() for p in tr.base_module.parameters()]
    batch = next(tr.batches(data))
    pred = tr.module(batch[:, :3]).squeeze(-1)
    tr.step((pred - batch[:, 3]) ** 2)
    return batch, before, [p.detach().clone() for p in tr.base_module.parameters()]


@pytest.mark.parametrize("mode", ["hooks", "functorch", "ghost", "bookkeeping"])
def test_updates_are_mean_of_clipped_per_sample_gradients(mode):
    batch, before, after = _clipped_update(mode)
    ref = _module()
    total = [torch.zeros_like(p) for p in ref.parameters()]
    for row in batch:
        ref.zero_grad()
        loss = (ref(row[None, :3]).squeeze() - row[3]) ** 2
        loss.backward()
        grads = [p.grad.clone() for p in ref.parameters()]
        norm = torch.sqrt(sum((g**2).sum() for g in grads))
        scale = min(1.0, 0.5 / (float(norm) + 1e-6))
        total = [t + scale * g for t, g in zip(total, grads)]
    for b, a, t in zip(before, after, total):
        assert torch.allclose(b - a, t / 40, atol=1e-5)


@pytest.mark.parametrize("mode", ["ghost", "bookkeeping"])
def test_ghost_and_bookkeeping_need_per_sample_losses(mode):
    tr = _trainer(PrivacyLedger(None))
    tr2 = _trainer(_ledger(50.0), noise_multiplier=1.0, grad_sample_mode=mode)
    batch = next(tr2.batches(_data()))
    with pytest.raises(ParameterError, match="per-sample"):
        tr2.step(tr2.module(batch[:, :3]).mean())
    assert tr.grad_sample_mode == "hooks"


@pytest.mark.parametrize("mode", ["ghost", "bookkeeping"])
def test_training_learns_and_is_reproducible_under_one_secret_key(mode):
    data = _data()
    baseline = _mse(_module(), data)
    runs = []
    for _ in range(2):
        ledger = _ledger(1e3, key=b"owner's secret key, 32 bytes ok")
        tr = _trainer(ledger, epochs=15, noise_multiplier=0.3, max_grad_norm=5.0,
                      grad_sample_mode=mode)
        _train(tr, data)
        runs.append([p.detach().clone() for p in tr.base_module.parameters()])
        mse = _mse(tr.base_module, data)
        assert mse < 0.5 * baseline, (mse, baseline)
    assert all(torch.equal(a, b) for a, b in zip(*runs))


def test_non_private_mode_trains_and_says_so():
    ledger = PrivacyLedger(None)
    data = _data()
    tr = _trainer(ledger, epochs=15)
    summary = _train(tr, data)
    assert summary["private"] is False and summary["epsilon"] is None
    assert math.isinf(ledger.epsilon)
    assert any("without DP-SGD" in getattr(e, "reason", "") for e in ledger.events)
    assert _mse(tr.base_module, data) < 0.5 * _mse(_module(), data)


@pytest.mark.parametrize("mode", ["hooks", "bookkeeping"])
def test_public_forward_leaves_the_module_untouched(mode):
    ledger = _ledger(50.0)
    tr = _trainer(ledger, noise_multiplier=1.0, grad_sample_mode=mode)
    x = torch.randn(7, 3, requires_grad=True)
    with tr.public() as d:
        d(x).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    for p in tr.base_module.parameters():
        assert p.grad is None and getattr(p, "grad_sample", None) is None
        assert p.requires_grad


@pytest.mark.parametrize("mode", ["ghost", "bookkeeping"])
def test_noise_and_batches_come_from_the_secret_source(mode, monkeypatch):
    monkeypatch.delenv("SYNTHSCAPE_NOISE_KEY", raising=False)
    outs, sizes = [], []
    for _ in range(2):
        ledger = _ledger(50.0)
        tr = _trainer(ledger, noise_multiplier=1.0, grad_sample_mode=mode)
        mine = []
        for batch in tr.batches(_data()):
            mine.append(len(batch))
            tr.step((tr.module(batch[:, :3]).squeeze(-1) - batch[:, 3]) ** 2)
        sizes.append(mine)
        outs.append(torch.cat([p.detach().flatten() for p in tr.base_module.parameters()]))
    # same module, same data, same public settings: different noise and different masks
    assert not torch.equal(outs[0], outs[1])
    assert sizes[0] != sizes[1]


@pytest.mark.parametrize("kw, field", [
    ({"epochs": 0}, "epochs"),
    ({"batch_size": -3}, "batch_size"),
    ({"lr": 0.0}, "lr"),
    ({"max_grad_norm": float("nan")}, "max_grad_norm"),
    ({"grad_sample_mode": "ew"}, "grad_sample_mode"),
    ({"record_sensitivity": 0.5}, "record_sensitivity"),
    ({"optimizer": "rmsprop"}, "optimizer"),
    ({"noise_multiplier": -1.0}, "noise_multiplier"),
])
def test_bad_hyper_parameters(kw, field):
    with pytest.raises(ParameterError, match=field):
        _trainer(PrivacyLedger(None), **kw)


def test_paid_steps_can_be_drawn_once():
    tr = _trainer(_ledger(50.0), noise_multiplier=1.0)
    data = _data()
    drawn = 0
    for batch in tr.batches(data):
        drawn += 1
        tr.step(tr.module(batch[:, :3]).mean())
    assert drawn == tr.steps
    with pytest.raises(BudgetExceededError, match="already drawn"):
        tr.batches(data)
    with pytest.raises(ParameterError, match="once per batch"):
        tr.step(tr.module(data[:2, :3]).mean())


def test_planned_rows_set_the_rate_not_the_data_size():
    # n_rows is the planned (declared or DP) size: the actual table may differ from it
    tr = _trainer(_ledger(50.0), noise_multiplier=1.0, n_rows=2 * N, epochs=1)
    assert tr.sample_rate == pytest.approx(50 / (2 * N)) and tr.steps == 16
    sizes = [len(b) for b in tr.batches(_data()) if tr.step(tr.module(b[:, :3]).mean()) or True]
    assert len(sizes) == 16 and 10 < np.mean(sizes) < 40


@pytest.mark.gpu
def test_trains_on_cuda_and_samples_on_cpu():
    ledger = PrivacyLedger(Budget(epsilon=5.0, delta=1e-5))
    tr = _trainer(ledger, device="cuda")
    _train(tr, _data())
    assert tr.device.type == "cuda"
    cpu = tr.base_module.to("cpu")
    assert cpu(torch.zeros(2, 3)).shape == (2, 1)


@pytest.mark.slow
def test_ledger_never_reports_less_than_opacus_at_large_noise():
    # opacus' series for large fractional orders loses precision here (NaN, negative values);
    # the ledger must drop those orders instead of reporting epsilon = 0.
    from opacus.accountants import RDPAccountant

    from synthscape.privacy import SubsampledGaussianEvent

    ledger = PrivacyLedger(Budget(epsilon=1.0, delta=1e-6))
    ledger.spend(SubsampledGaussianEvent(noise_multiplier=10.75, sample_rate=0.05, steps=600))
    acc = RDPAccountant()
    acc.history.append((10.75, 0.05, 600))
    assert 0.4 < ledger.epsilon
    assert ledger.epsilon == pytest.approx(acc.get_epsilon(delta=1e-6), rel=1e-6)


@pytest.mark.parametrize("q, sigma, steps", [(0.125, 7.35, 160), (0.05, 1.0, 600), (1.0, 2.0, 10)])
def test_calibration_proxy_matches_opacus_at_integer_orders(q, sigma, steps):
    from opacus.accountants.analysis.rdp import compute_rdp, get_privacy_spent

    from synthscape.generators._training import _integer_order_epsilon

    orders = list(range(2, 257))
    rdp = compute_rdp(q=q, noise_multiplier=sigma, steps=steps, orders=orders)
    expected = get_privacy_spent(orders=orders, rdp=rdp, delta=1e-6)[0]
    assert _integer_order_epsilon(q, sigma, steps, 1e-6) == pytest.approx(expected, rel=1e-9)

"""Book-keeping clipping: the clipped sum equals the one built from explicit per-sample
gradients (torch.func), and networks the identity does not cover are refused."""
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from synthscape.errors import ParameterError
from synthscape.generators._bookkeeping import BookKeeping

torch.set_num_threads(1)


class _Net(nn.Module):
    """Two inputs, a branch on a constant (like dp_tvae's log-sigma layer), a frozen layer and a
    layer the loss never reaches."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 3))
        self.const = nn.Linear(1, 3, bias=False)
        self.frozen = nn.Linear(3, 3)
        self.frozen.requires_grad_(False)
        self.unused = nn.Linear(3, 2)

    def forward(self, x):
        ones = torch.ones(x.shape[0], 1)
        h = self.frozen(self.body(x)) * self.const(ones).exp()
        self.unused(h.detach())
        return h


def _losses(net, x, y):
    return ((net(x) - y) ** 2).sum(dim=1)


@pytest.mark.parametrize("clip", [0.05, 1.0, 1e6])
def test_clipped_sum_matches_explicit_per_sample_gradients(clip):
    torch.manual_seed(0)
    net = _Net()
    x, y = torch.randn(33, 5), torch.randn(33, 3)
    names = [n for n, p in net.named_parameters() if p.requires_grad]
    params = {n: p.detach() for n, p in net.named_parameters()}

    def one(p, xi, yi):
        return _losses_f(p, xi[None], yi[None])[0]

    def _losses_f(p, xb, yb):
        return torch.func.functional_call(net, p, (xb,)).sub(yb).pow(2).sum(dim=1)

    per = torch.func.vmap(torch.func.grad(one), in_dims=(None, 0, 0))(params, x, y)
    norms = torch.sqrt(sum(per[n].flatten(1).pow(2).sum(1) for n in names))
    coef = (clip / (norms + 1e-6)).clamp(max=1.0)

    bk = BookKeeping(net, clip)
    bk.active = True
    got = bk.backward(_losses(net, x, y))
    torch.testing.assert_close(got, coef, rtol=1e-4, atol=1e-6)
    for n, p in net.named_parameters():
        if not p.requires_grad:
            assert p.grad is None
            continue
        expected = (per[n] * coef.view(-1, *[1] * (per[n].dim() - 1))).sum(0)
        torch.testing.assert_close(p.grad, expected, rtol=1e-4, atol=1e-6)
    assert torch.count_nonzero(net.unused.weight.grad) == 0


def test_records_only_while_active_and_checks_rows():
    net = nn.Sequential(nn.Linear(4, 2))
    bk = BookKeeping(net, 1.0)
    net(torch.randn(3, 4))  # inactive: nothing recorded
    with pytest.raises(ParameterError, match="no linear layer ran"):
        bk.backward(torch.zeros(3, requires_grad=True))
    bk.active = True
    out = net(torch.randn(3, 4)).sum(dim=1)
    with pytest.raises(ParameterError, match="one loss per row"):
        bk.backward(out[:2])


@pytest.mark.parametrize("net, match", [
    (nn.Sequential(nn.Linear(3, 3), nn.LayerNorm(3)), "nn.Linear parameters only"),
    (nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3, affine=False)), "batch statistics"),
])
def test_unsupported_networks_are_refused(net, match):
    with pytest.raises(ParameterError, match=match):
        BookKeeping(net, 1.0)


def test_shared_layer_and_sequence_inputs_are_refused():
    lin = nn.Linear(3, 3)
    bk = BookKeeping(lin, 1.0)
    bk.active = True
    with pytest.raises(ParameterError, match="2-D inputs"):
        lin(torch.randn(2, 4, 3))
    bk.discard()
    lin(torch.randn(2, 3))
    with pytest.raises(ParameterError, match="twice"):
        lin(torch.randn(2, 3))


@settings(max_examples=25, deadline=None)
@given(widths=st.lists(st.integers(1, 6), min_size=2, max_size=4), n=st.integers(1, 9),
       clip=st.floats(1e-3, 1e3), seed=st.integers(0, 2**16), bias=st.booleans())
def test_any_mlp_any_clip_matches_per_sample_gradients(widths, n, clip, seed, bias):
    torch.manual_seed(seed)
    layers = []
    for a, b in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(a, b, bias=bias), nn.ReLU()]
    net = nn.Sequential(*layers[:-1])
    x, y = torch.randn(n, widths[0]), torch.randn(n, widths[-1])
    bk = BookKeeping(net, clip)
    bk.active = True
    bk.backward(((net(x) - y) ** 2).sum(dim=1))
    bk.active = False
    got = [p.grad.clone() for p in net.parameters()]
    expected = [torch.zeros_like(p) for p in net.parameters()]
    for i in range(n):
        g = torch.autograd.grad(((net(x[i:i + 1]) - y[i:i + 1]) ** 2).sum(), list(net.parameters()))
        c = min(1.0, clip / (float(torch.sqrt(sum((t ** 2).sum() for t in g))) + 1e-6))
        expected = [e + c * t for e, t in zip(expected, g)]
    for a, b in zip(got, expected):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)

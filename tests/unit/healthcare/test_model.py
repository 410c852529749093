"""Per-sample gradients of the GRAM modules (custom opacus grad samplers) against autograd."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")


def test_per_sample_gradients_match_autograd():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    from opacus import GradSampleModule

    from synthscape_healthcare.model import EHRNet

    chains = [[0, 3, 5], [1, 3, 5], [2, 4, 5]]
    sizes = [3, 2, 2, 2, 3]

    def make():
        return EHRNet(6, chains, chains, 4, sizes, dim=4, hidden=8)

    n = 5
    codes = (torch.rand(n, 3) < 0.5).float()
    onset = torch.randint(0, 4, (n, 3)).float()
    cats = torch.stack([torch.randint(0, k, (n,)) for k in sizes], 1).float()
    x = torch.cat([codes, onset, cats], 1)
    gsm = GradSampleModule(make(), batch_first=True, loss_reduction="mean")
    gsm(x, 3).mean().backward()
    state = {k.removeprefix("_module."): v for k, v in gsm.state_dict().items()}
    for i in range(n):
        ref = make()
        ref.load_state_dict(state)
        ref(x[i:i + 1], 3).sum().backward()
        for (name, p), (_, q) in zip(gsm.named_parameters(), ref.named_parameters()):
            assert torch.allclose(p.grad_sample[i], q.grad, atol=1e-5), name


def test_flat_chains_make_a_plain_embedding_table():
    from synthscape_healthcare.model import CodeEncoder

    enc = CodeEncoder(3, [[0], [1], [2]], dim=4)
    assert torch.allclose(enc.table(), enc.node)
    gram = CodeEncoder(4, [[0, 3], [1, 3], [2, 3]], dim=4)
    assert not torch.allclose(gram.table(), gram.node[:3])

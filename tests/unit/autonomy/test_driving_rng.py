"""Counter-based normals: the cached form equals the functional one, and the draws are N(0, 1)
and independent across keys."""
import numpy as np
import torch
from scipy import stats

from synthscape_autonomy import _rng


def test_keyed_normal_equals_the_functional_form():
    episode = torch.tensor([[0], [7], [123456]])
    agent = torch.arange(5)[None, :]
    keyed = _rng.KeyedNormal(42, episode, agent, stream=3)
    for step in (0, 1, 999):
        torch.testing.assert_close(keyed(torch.tensor(step)),
                                   _rng.normal(42, episode, step, agent, 3), rtol=0, atol=0)


def test_draws_are_standard_normal_and_uncorrelated():
    episode = torch.arange(4000)[:, None]
    keyed = _rng.KeyedNormal(0, episode, torch.arange(8)[None, :])
    a, b = keyed(torch.tensor(0)), keyed(torch.tensor(1))
    z = a.flatten().double().numpy()
    assert stats.kstest(z, "norm").pvalue > 1e-3
    assert abs(z.mean()) < 0.03 and abs(z.std() - 1.0) < 0.03
    # neighbouring steps, agents and episodes are uncorrelated
    for x, y in ((a, b), (a[:, :-1], a[:, 1:]), (a[:-1], a[1:])):
        r = np.corrcoef(x.flatten().numpy(), y.flatten().numpy())[0, 1]
        assert abs(r) < 0.03
    # another seed gives other numbers
    other = _rng.KeyedNormal(1, episode, torch.arange(8)[None, :])(torch.tensor(0))
    assert not torch.equal(a, other)

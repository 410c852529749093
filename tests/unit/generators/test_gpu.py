"""The neural generators on CUDA: trained on the GPU, saved, loaded and sampled on the CPU.

Marked ``gpu``: skipped where no CUDA device is present (tests/conftest.py)."""
import pandas as pd
import pytest
from _dependent import first_rows, make_dependent

from synthscape.generators import load, make
from synthscape.privacy import SubsampledGaussianEvent

pytestmark = pytest.mark.gpu

SMALL = {"dp_ctgan": dict(epochs=2, batch_size=200, noise_dim=16, generator_dim=32,
                          discriminator_dim=32, depth=1),
         "dp_tvae": dict(epochs=2, batch_size=200, latent_dim=8, hidden_dim=32, depth=1)}


@pytest.mark.parametrize("name", sorted(SMALL))
def test_trains_on_cuda_then_samples_on_cpu_after_reload(name, tmp_path):
    data, schema = first_rows(make_dependent(), 1000)
    gen = make(name, epsilon=2.0, device="cuda", seed=0, **SMALL[name]).fit(data, schema)
    assert gen.training_["device"].startswith("cuda")
    led = gen.ledger_
    assert led.is_private and led.epsilon <= 2.0 * (1 + 1e-9)
    assert [e for e in led.events if isinstance(e, SubsampledGaussianEvent)]
    gen.save(tmp_path / name)
    again = load(tmp_path / name)  # safetensors on the CPU; no CUDA tensor leaks into the file
    a, b = gen.sample(300, seed=3), again.sample(300, seed=3)
    pd.testing.assert_frame_equal(a, b)
    assert list(a.columns) == schema.names and a["x"].between(0, 100).all()


def test_auto_picks_cuda_when_present():
    data, schema = first_rows(make_dependent(), 400)
    gen = make("dp_tvae", epsilon=2.0, device="auto", seed=0, **SMALL["dp_tvae"]).fit(data, schema)
    assert gen.training_["device"].startswith("cuda")

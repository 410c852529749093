"""``dp_tvae``: a tabular VAE (Xu et al. 2019, TVAE) with encoder and decoder under DP-SGD.

Both networks see real rows, so both train inside the shared DP-SGD loop; the decoder's output
noise scales are learned through a layer (so they are privatised too). Sampling decodes prior
draws on the CPU; conditions on categorical columns are met by rejection.
"""
from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from synthscape.generators._nn_generator import NEURAL_CONSTRAINTS, NeuralGenerator
from synthscape.generators._params import Interval
from synthscape.generators.registry import register
from synthscape.privacy import PrivacyLedger
from synthscape.schema import TableSchema


def _modules():
    """Torch module classes, defined on first use so importing synthscape stays light."""
    import torch
    from torch import nn

    from synthscape.generators._nn import mlp

    class Decoder(nn.Module):
        def __init__(self, latent: int, hidden: int, depth: int, out: int, n_values: int):
            super().__init__()
            self.net = mlp([latent] + [hidden] * depth + [out])
            # log sigma as a layer on a constant input, so opacus computes its per-sample grads
            self.log_sigma = nn.Linear(1, max(n_values, 1), bias=False)
            nn.init.constant_(self.log_sigma.weight, -2.0)

        def forward(self, z):
            ones = torch.ones(z.shape[0], 1, device=z.device, dtype=z.dtype)
            return self.net(z), self.log_sigma(ones).clamp(-6.0, 1.0)

    class VAE(nn.Module):
        def __init__(self, data_dim: int, latent: int, hidden: int, depth: int, n_values: int):
            super().__init__()
            self.enc = mlp([data_dim] + [hidden] * depth + [2 * latent])
            self.dec = Decoder(latent, hidden, depth, data_dim, n_values)
            self.latent = latent

        def forward(self, x, eps):
            h = self.enc(x)
            mu, logvar = h[:, :self.latent], h[:, self.latent:].clamp(-10.0, 10.0)
            z = mu + eps * torch.exp(0.5 * logvar)
            raw, log_sigma = self.dec(z)
            return raw, log_sigma, mu, logvar

    return Decoder, VAE


@register("dp_tvae")
class DPTVAE(NeuralGenerator):
    """Differentially private tabular VAE.

    >>> from synthscape.generators import make
    >>> gen = make("dp_tvae", epsilon=1.0, seed=0)   # epochs, batch: _defaults.py
    """

    name: ClassVar[str] = "dp_tvae"
    _parameter_constraints: ClassVar[dict[str, list]] = {
        **NEURAL_CONSTRAINTS,
        "latent_dim": [Interval(int, 1, 1024)],
        "hidden_dim": [Interval(int, 1, 4096)],
        "depth": [Interval(int, 1, 8)],
        "loss_factor": [Interval(float, 0, None, closed="neither")],
    }

    def __init__(self, epsilon: float | None = 1.0, delta: float = 1e-6, *,
                 epochs: int | None = None, batch_size: int | None = None, lr: float = 1e-2,
                 max_grad_norm: float = 1.0, noise_multiplier: float | None = None,
                 latent_dim: int = 16, hidden_dim: int = 64, depth: int = 2,
                 loss_factor: float = 2.0, numerical: str = "quantile", n_modes: int = 5,
                 encoder_share: float = 0.3,
                 accountant: str = "prv", device: str = "auto", expected_rows: int | None = None,
                 grad_sample_mode: str = "bookkeeping", seed: int | None = None,
                 schema_share: float = 0.1, out_of_bounds: str = "error",
                 calibrate: bool = True):
        self.epsilon, self.delta, self.epochs, self.batch_size = epsilon, delta, epochs, batch_size
        self.lr, self.max_grad_norm, self.noise_multiplier = lr, max_grad_norm, noise_multiplier
        self.latent_dim, self.hidden_dim, self.depth = latent_dim, hidden_dim, depth
        self.loss_factor, self.numerical, self.n_modes = loss_factor, numerical, n_modes
        self.encoder_share, self.accountant, self.device = encoder_share, accountant, device
        self.expected_rows, self.grad_sample_mode, self.seed = expected_rows, grad_sample_mode, seed
        self.schema_share, self.out_of_bounds = schema_share, out_of_bounds
        self.calibrate = calibrate

    @classmethod
    def _conformance_params(cls) -> dict[str, Any]:
        return {"epochs": 1, "batch_size": 64, "latent_dim": 4, "hidden_dim": 16, "depth": 1,
                "device": "cpu"}

    def _fit(self, data: pd.DataFrame, schema: TableSchema, ledger: PrivacyLedger,
             rng: np.random.Generator) -> None:
        import torch

        from synthscape.generators._nn import reconstruction_loss, seeded, torch_generator

        n = self._planned_rows(data, ledger)
        enc, x = self._encode(data, schema, ledger)
        n_values = sum(1 for s in enc.spans if not s.is_softmax)
        self.arch_ = {"latent": self.latent_dim, "hidden": self.hidden_dim, "depth": self.depth,
                      "out": enc.output_dim, "n_values": n_values}
        _, VAE = _modules()
        with seeded(int(rng.integers(2**31))):
            vae = VAE(enc.output_dim, self.latent_dim, self.hidden_dim, self.depth, n_values)
        trainer = self._trainer(vae, ledger, n)
        noise = torch_generator(rng, trainer.device)
        spans = enc.spans
        for batch in trainer.batches(torch.as_tensor(x)):
            eps = torch.randn(batch.shape[0], self.latent_dim, generator=noise,
                              device=trainer.device)
            raw, log_sigma, mu, logvar = trainer.module(batch, eps)
            rec = reconstruction_loss(raw, batch, spans, log_sigma)
            kl = -0.5 * (1 + logvar - mu**2 - logvar.exp()).sum(dim=1)
            trainer.step(self.loss_factor * rec + kl)
        self.training_ = trainer.finish()
        self.loop_seconds_ = self.training_.pop("seconds")  # a timing: never saved
        self.model_ = trainer.base_module.dec.to("cpu").eval()

    def _build_sampler(self):
        Decoder, _ = _modules()
        a = self.arch_
        return Decoder(a["latent"], a["hidden"], a["depth"], a["out"], a["n_values"])

    def _draw(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        import torch

        from synthscape.generators._nn import sample_groups, span_index, torch_generator

        gen = torch_generator(rng)
        spans = self.encoder_.spans
        values, _ = span_index(spans)
        parts = []
        with torch.no_grad():
            for start in range(0, n, 65536):
                m = min(65536, n - start)
                z = torch.randn(m, self.arch_["latent"], generator=gen)
                raw, log_sigma = self.model_(z)
                out = sample_groups(raw, spans, gen)
                if values:  # TVAE's output noise on the continuous values
                    v = torch.tensor(values)
                    jitter = torch.randn(m, len(values), generator=gen) * log_sigma.exp()
                    out[:, v] = (out[:, v] + jitter).clamp(-1.0, 1.0)
                parts.append(out.numpy())
        x = np.concatenate(parts) if parts else np.zeros((0, self.encoder_.output_dim))
        return self._to_frame(x)

    def _sample(self, n: int, rng: np.random.Generator, conditions: dict[str, Any]) -> pd.DataFrame:
        return self._sample_by_rejection(n, rng, conditions, self._calibrated(self._draw))

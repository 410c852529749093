"""Torch pieces shared by the neural generators (imported lazily: this module imports torch).

Networks, output activations over the encoder's spans, the per-sample reconstruction loss,
seeded initialisation without touching the global RNG for long, and safetensors I/O.
"""
from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
import torch
from torch import nn

from synthscape.errors import ModelFormatError


@contextlib.contextmanager
def seeded(seed: int):
    """Deterministic parameter initialisation (on the CPU): the global CPU RNG is forked and
    restored. Only the CPU generator is seeded: ``torch.manual_seed`` would also reseed every
    CUDA device, which ``fork_rng(devices=[])`` does not restore."""
    with torch.random.fork_rng(devices=[]):
        torch.default_generator.manual_seed(int(seed))
        yield


def torch_generator(rng: np.random.Generator, device="cpu") -> torch.Generator:
    return torch.Generator(device=device).manual_seed(int(rng.integers(2**62)))


def mlp(sizes: list[int], act=nn.ReLU, dropout: float = 0.0) -> nn.Sequential:
    """Linear layers with ``act`` between them (no batch norm: opacus needs per-sample layers)."""
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-2], sizes[1:-1]):
        layers += [nn.Linear(a, b), act()]
        if dropout:
            layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(sizes[-2], sizes[-1]))
    return nn.Sequential(*layers)


def span_index(spans) -> tuple[list[int], list[tuple[int, int]]]:
    """Positions of the tanh values and the (start, end) of each softmax group."""
    values = [s.start for s in spans if not s.is_softmax]
    groups = [(s.start, s.end) for s in spans if s.is_softmax]
    return values, groups


def activate(raw: torch.Tensor, spans, *, gumbel_tau: float | None = None,
             generator: torch.Generator | None = None) -> torch.Tensor:
    """tanh on values; softmax (or Gumbel-softmax with ``gumbel_tau``) on each group."""
    parts = []
    for s in spans:
        x = raw[:, s.start:s.end]
        if not s.is_softmax:
            parts.append(torch.tanh(x))
        elif gumbel_tau is None:
            parts.append(torch.softmax(x, dim=1))
        else:  # Jang et al. 2017, Eq. 1, with seeded Gumbel noise
            u = torch.rand(x.shape, generator=generator, device=x.device).clamp_(1e-10, 1 - 1e-10)
            parts.append(torch.softmax((x - torch.log(-torch.log(u))) / gumbel_tau, dim=1))
    return torch.cat(parts, dim=1)


def sample_groups(raw: torch.Tensor, spans, generator: torch.Generator) -> torch.Tensor:
    """tanh values; one-hot draws from each group's softmax (categorical sampling)."""
    out = torch.zeros_like(raw)
    for s in spans:
        x = raw[:, s.start:s.end]
        if not s.is_softmax:
            out[:, s.start] = torch.tanh(x[:, 0])
        else:
            k = torch.multinomial(torch.softmax(x, dim=1), 1, generator=generator)
            out[:, s.start:s.end].scatter_(1, k, 1.0)
    return out


def reconstruction_loss(raw: torch.Tensor, target: torch.Tensor, spans,
                        log_sigma: torch.Tensor) -> torch.Tensor:
    """Per-sample negative log-likelihood (TVAE, Xu et al. 2019, Sec. 4.3): Gaussian on the
    tanh values with learned sigma, cross-entropy on the softmax groups."""
    values, groups = span_index(spans)
    loss = torch.zeros(raw.shape[0], device=raw.device)
    if values:
        v = torch.tensor(values, device=raw.device)
        err = torch.tanh(raw[:, v]) - target[:, v]
        loss = loss + (err**2 / (2 * torch.exp(2 * log_sigma)) + log_sigma).sum(dim=1)
    for a, b in groups:
        loss = loss + nn.functional.cross_entropy(raw[:, a:b], target[:, a:b].argmax(dim=1),
                                                  reduction="none")
    return loss


def save_weights(module: nn.Module, path: Path) -> None:
    from safetensors.torch import save_file

    state = {k: v.detach().to("cpu").contiguous() for k, v in module.state_dict().items()}
    save_file(state, str(path))


def load_weights(module: nn.Module, path: Path) -> nn.Module:
    """Load safetensors weights onto the CPU (a model trained on a GPU samples on a CPU)."""
    from safetensors.torch import load_file

    if not path.exists():
        raise ModelFormatError(f"{path} is missing; the saved model folder is incomplete")
    try:
        module.load_state_dict(load_file(str(path), device="cpu"))
    except RuntimeError as exc:
        raise ModelFormatError(f"{path} does not match the saved architecture: {exc}") from None
    return module

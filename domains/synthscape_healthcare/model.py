"""Torch modules of the EHR generator: GRAM code embeddings inside a variational autoencoder.

GRAM: Choi et al. 2017 (KDD), eq. 1-2: g_i = sum_{j in A(i)+{i}} a_ij e_j with
a_ij = softmax_j(u^T tanh(W [e_i; e_j] + b)). The VAE is Kingma and Welling 2014.
Imported only when a model is built (torch stays out of ``register()``).

Each :class:`GramEmbedding` keeps all of its parameters directly (no sub-modules), so opacus
computes its per-sample gradients with functorch, which is exact for a module whose code
embeddings are shared across the batch.
"""
from __future__ import annotations

import torch
from torch import nn


class GramEmbedding(nn.Module):
    """Code embeddings ``G`` (V, d) built from node embeddings of each code and its ancestors.

    ``chains[i]`` lists node indices: the code itself first, then its ancestors. With chains
    of length one (``flat``) this is a plain embedding table, the ablation baseline."""

    def __init__(self, n_nodes: int, chains: list[list[int]], dim: int, attn_dim: int = 16):
        super().__init__()
        width = max(len(c) for c in chains)
        idx = torch.zeros(len(chains), width, dtype=torch.long)
        mask = torch.zeros(len(chains), width, dtype=torch.bool)
        for i, chain in enumerate(chains):
            idx[i, :len(chain)] = torch.tensor(chain)
            mask[i, :len(chain)] = True
        self._idx, self._mask = idx, mask  # plain tensors: opacus allows no buffers
        self.node = nn.Parameter(torch.randn(n_nodes, dim) * 0.1)
        self.w = nn.Parameter(torch.randn(2 * dim, attn_dim) * (1.0 / dim) ** 0.5)
        self.b = nn.Parameter(torch.zeros(attn_dim))
        self.u = nn.Parameter(torch.randn(attn_dim) * 0.1)

    def table(self) -> torch.Tensor:
        idx = self._idx.to(self.node.device)
        mask = self._mask.to(self.node.device)
        e_j = self.node[idx]  # (V, A, d)
        e_i = e_j[:, :1, :].expand_as(e_j)
        score = torch.tanh(torch.cat([e_i, e_j], dim=-1) @ self.w + self.b) @ self.u
        score = score.masked_fill(~mask, float("-inf"))
        alpha = torch.softmax(score, dim=1).unsqueeze(-1)
        return (alpha * e_j).sum(dim=1)  # (V, d)


class CodeEncoder(GramEmbedding):
    """Patient code vector (B, V) -> sum of its codes' GRAM embeddings (B, d)."""

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        return codes @ self.table()


class CodeDecoder(GramEmbedding):
    """Hidden state (B, d) -> one logit per code, scored against the GRAM embeddings."""

    def __init__(self, n_nodes: int, chains: list[list[int]], dim: int, attn_dim: int = 16):
        super().__init__(n_nodes, chains, dim, attn_dim)
        self.bias = nn.Parameter(torch.full((len(chains),), -2.0))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h @ self.table().t() + self.bias


class EHRVae(nn.Module):
    """Codes, per-code onset bins and categorical columns through one latent ``z``."""

    def __init__(self, n_nodes: int, enc_chains: list[list[int]], dec_chains: list[list[int]],
                 n_onset: int, cat_sizes: list[int], dim: int = 32, hidden: int = 128,
                 latent: int = 16):
        super().__init__()
        v = len(enc_chains)
        self.v, self.n_onset, self.cat_sizes = v, n_onset, list(cat_sizes)
        self.codes_in = CodeEncoder(n_nodes, enc_chains, dim)
        self.cats_in = nn.Linear(sum(cat_sizes), hidden)
        self.onset_in = nn.Linear(v * n_onset, hidden)
        self.enc = nn.Sequential(nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                 nn.Linear(hidden, 2 * latent))
        self.codes_proj = nn.Linear(dim, hidden)
        self.dec = nn.Sequential(nn.Linear(latent, hidden), nn.ReLU(), nn.Linear(hidden, hidden),
                                 nn.ReLU())
        self.to_code_space = nn.Linear(hidden, dim)
        self.codes_out = CodeDecoder(n_nodes, dec_chains, dim)
        self.onset_out = nn.Linear(hidden, v * n_onset)
        self.cats_out = nn.Linear(hidden, sum(cat_sizes))
        self.latent = latent

    def encode(self, codes, onset_1h, cats_1h):
        h = self.codes_proj(self.codes_in(codes)) + self.onset_in(onset_1h) + self.cats_in(cats_1h)
        mu, logvar = self.enc(h).chunk(2, dim=-1)
        return mu, logvar.clamp(-8, 8)

    def decode(self, z):
        h = self.dec(z)
        code_logits = self.codes_out(self.to_code_space(h))
        onset_logits = self.onset_out(h).view(-1, self.v, self.n_onset)
        return code_logits, onset_logits, self.cats_out(h)

    def forward(self, batch: torch.Tensor, n_codes: int, eps: torch.Tensor | None = None):
        """Per-sample negative ELBO of a packed batch (see :func:`pack`)."""
        codes, onset_1h, onset_idx, cats_1h, cats_idx = unpack(batch, n_codes, self.n_onset,
                                                               self.cat_sizes)
        mu, logvar = self.encode(codes, onset_1h, cats_1h)
        noise = torch.randn_like(mu) if eps is None else eps
        z = mu + noise * torch.exp(0.5 * logvar)
        code_logits, onset_logits, cat_logits = self.decode(z)
        nll = nn.functional.binary_cross_entropy_with_logits(code_logits, codes,
                                                             reduction="none").sum(-1)
        ol = nn.functional.cross_entropy(onset_logits.reshape(-1, self.n_onset),
                                         onset_idx.reshape(-1).clamp(min=0), reduction="none")
        nll = nll + (ol.view(-1, self.v) * codes).sum(-1)
        start = 0
        for j, size in enumerate(self.cat_sizes):
            nll = nll + nn.functional.cross_entropy(cat_logits[:, start:start + size],
                                                    cats_idx[:, j], reduction="none")
            start += size
        kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(-1)
        return nll + kl


def pack(codes, onset, cats, n_onset: int, cat_sizes: list[int]) -> torch.Tensor:
    """One float tensor per patient row (what DP-SGD batches): codes, onset index, cats."""
    return torch.cat([torch.as_tensor(codes, dtype=torch.float32),
                      torch.as_tensor(onset, dtype=torch.float32),
                      torch.as_tensor(cats, dtype=torch.float32)], dim=1)


def unpack(batch: torch.Tensor, v: int, n_onset: int, cat_sizes: list[int]):
    codes = batch[:, :v]
    onset_idx = batch[:, v:2 * v].long()
    cats_idx = batch[:, 2 * v:].long()
    onset_1h = nn.functional.one_hot(onset_idx.clamp(min=0), n_onset).float()
    onset_1h = (onset_1h * codes.unsqueeze(-1)).reshape(len(batch), -1)
    cats_1h = torch.cat([nn.functional.one_hot(cats_idx[:, j], s).float()
                         for j, s in enumerate(cat_sizes)], dim=1)
    return codes, onset_1h, onset_idx, cats_1h, cats_idx

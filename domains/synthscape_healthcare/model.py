"""Torch modules of the EHR generator: an autoregressive patient model with GRAM code embeddings.

GRAM: Choi et al. 2017 (KDD), eq. 1-2: g_i = sum_{j in A(i)+{i}} a_ij e_j with
a_ij = softmax_j(u^T tanh(W [e_i; e_j] + b)) (plus a learned bias towards j = i). The code part
is autoregressive in the manner of MADE/NADE (Germain et al. 2015; Larochelle and Murray 2011):
the logit of code j sees the
demographics and the codes before j, summed through their GRAM embeddings. The factorisation is
p(sex) p(age | sex) prod_j p(code_j | age, sex, codes<j) p(onsets | ...) p(rest | ...); it has
no latent variable, so nothing collapses when DP-SGD's noise drowns weak gradients.

Per-sample gradients of the GRAM modules (for DP-SGD's clipping) come from grad samplers
registered with opacus: the per-sample gradient of the shared table ``G`` is an outer product,
pulled back to the GRAM parameters through the table's Jacobian (the map is linear).
Imported only when a model is built (torch stays out of ``register()``).
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


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
        # A learned preference for the code's own embedding, starting at e^2 : 1 per ancestor,
        # so that ancestors smooth rare codes without merging frequent ones at the start.
        self.own = nn.Parameter(torch.full((1,), 2.0 if width > 1 else 0.0))

    def table(self) -> torch.Tensor:
        return self._table(self.node, self.w, self.b, self.u, self.own)

    def _table(self, node, w, b, u, own) -> torch.Tensor:
        idx = self._idx.to(node.device)
        mask = self._mask.to(node.device)
        e_j = node[idx]  # (V, A, d)
        e_i = e_j[:, :1, :].expand_as(e_j)
        score = torch.tanh(torch.cat([e_i, e_j], dim=-1) @ w + b) @ u
        score = torch.cat([score[:, :1] + own, score[:, 1:]], dim=1)
        score = score.masked_fill(~mask, float("-inf"))
        alpha = torch.softmax(score, dim=1).unsqueeze(-1)
        return (alpha * e_j).sum(dim=1)  # (V, d)

    def per_sample_table_grads(self, g_table: torch.Tensor) -> dict:
        """Per-sample gradients of the GRAM parameters from per-sample gradients of G (B, V, d).

        The map is linear, so one Jacobian of the (V, d) table (V*d vector-Jacobian products)
        and one matrix product serve the whole batch."""
        params = (self.node, self.w, self.b, self.u, self.own)
        jac = torch.func.jacrev(self._table, argnums=tuple(range(len(params))))(
            *(p.detach() for p in params))
        g = g_table.reshape(len(g_table), -1)
        return {p: (g @ j.reshape(g.shape[1], -1)).reshape(len(g), *p.shape)
                for p, j in zip(params, jac) if p.requires_grad}


class CodeEncoder(GramEmbedding):
    """Code vectors (B, ..., V) -> sums of their codes' GRAM embeddings (B, ..., d)."""

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        return codes @ self.table()


class CodeScorer(GramEmbedding):
    """Per-code hidden states (B, V, d) -> logit of code j from its own state and g_j."""

    def __init__(self, n_nodes: int, chains: list[list[int]], dim: int, attn_dim: int = 16):
        super().__init__(n_nodes, chains, dim, attn_dim)
        self.bias = nn.Parameter(torch.full((len(chains),), -2.0))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return (h * self.table()).sum(-1) + self.bias


class EHRNet(nn.Module):
    """The autoregressive patient model. Categorical columns are [age, sex, follow-up, death,
    labs...]; sex and age come first, the others after the codes and onsets."""

    def __init__(self, n_nodes: int, enc_chains: list[list[int]], dec_chains: list[list[int]],
                 n_onset: int, cat_sizes: list[int], dim: int = 16, hidden: int = 64):
        super().__init__()
        v = len(enc_chains)
        self.v, self.n_onset, self.cat_sizes = v, n_onset, list(cat_sizes)
        a, s = cat_sizes[0], cat_sizes[1]
        self.sex_logits = nn.Linear(1, s)  # input: a constant 1 (a learned marginal)
        self.age_head = nn.Linear(s, a)
        self.demo = nn.Linear(a + s, dim)
        self.codes_in = CodeEncoder(n_nodes, enc_chains, dim)
        self.code_mlp = nn.Sequential(nn.Tanh(), nn.Linear(dim, dim), nn.Tanh())
        self.codes_out = CodeScorer(n_nodes, dec_chains, dim)
        self.onset_head = nn.Linear(dim, n_onset)
        self.onset_in = nn.Linear(v * n_onset, hidden)
        self.ctx = nn.Linear(dim, hidden)
        self.codes_all = CodeEncoder(n_nodes, enc_chains, dim)  # one module per use (opacus)
        self.rest = nn.Sequential(nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(),
                                  nn.Linear(hidden, sum(cat_sizes[2:])))
        self._prefix = torch.tril(torch.ones(v, v), diagonal=-1)  # [j, i] = 1 when i < j

    # ---- the pieces ------------------------------------------------------------------------
    def demo_state(self, age_1h, sex_1h):
        return self.demo(torch.cat([age_1h, sex_1h], dim=-1))  # (B, d)

    def code_logits(self, demo, codes):
        """Logit of each code given the demographics and the codes before it."""
        prefix = codes.unsqueeze(1) * self._prefix.to(codes.device)  # (B, V, V)
        h = self.code_mlp(demo.unsqueeze(1) + self.codes_in(prefix))  # (B, V, d)
        return self.codes_out(h), h

    def onset_logits(self, h_codes):
        return self.onset_head(h_codes)  # (B, V, K): per code, from its own state

    def rest_logits(self, demo, codes, onset_1h):
        state = self.ctx(demo + self.codes_all(codes)) + self.onset_in(onset_1h)
        return self.rest(state)

    # ---- training --------------------------------------------------------------------------
    def forward(self, batch: torch.Tensor, n_codes: int) -> torch.Tensor:
        """Per-sample negative log-likelihood of a packed batch (see :func:`pack`)."""
        codes, onset_idx, cats_idx = unpack(batch, n_codes)
        sizes = self.cat_sizes
        one = torch.ones(len(batch), 1, device=batch.device)
        sex_1h = F.one_hot(cats_idx[:, 1], sizes[1]).float()
        age_1h = F.one_hot(cats_idx[:, 0], sizes[0]).float()
        nll = F.cross_entropy(self.sex_logits(one), cats_idx[:, 1], reduction="none")
        nll = nll + F.cross_entropy(self.age_head(sex_1h), cats_idx[:, 0], reduction="none")
        demo = self.demo_state(age_1h, sex_1h)
        logits, h = self.code_logits(demo, codes)
        nll = nll + F.binary_cross_entropy_with_logits(logits, codes, reduction="none").sum(-1)
        ol = F.cross_entropy(self.onset_logits(h).reshape(-1, self.n_onset),
                             onset_idx.reshape(-1).clamp(min=0), reduction="none")
        nll = nll + (ol.view(-1, self.v) * codes).sum(-1)
        rest = self.rest_logits(demo, codes, onset_one_hot(onset_idx, codes, self.n_onset))
        start = 0
        for j, size in enumerate(sizes[2:], start=2):
            nll = nll + F.cross_entropy(rest[:, start:start + size], cats_idx[:, j],
                                        reduction="none")
            start += size
        return nll


def onset_one_hot(onset_idx, codes, n_onset: int):
    o = F.one_hot(onset_idx.clamp(min=0), n_onset).float() * codes.unsqueeze(-1)
    return o.reshape(len(codes), -1)


def _register_grad_samplers() -> None:
    from opacus.grad_sample import register_grad_sampler

    @register_grad_sampler(CodeEncoder)
    def _encoder(layer, activations, backprops):
        codes = activations[0].to(backprops.dtype)  # out = codes @ G
        return layer.per_sample_table_grads(torch.einsum("n...v,n...d->nvd", codes, backprops))

    @register_grad_sampler(CodeScorer)
    def _scorer(layer, activations, backprops):
        h = activations[0].to(backprops.dtype)  # out[n, v] = h[n, v] . G[v] + bias[v]
        out = layer.per_sample_table_grads(torch.einsum("nv,nvd->nvd", backprops, h))
        if layer.bias.requires_grad:
            out[layer.bias] = backprops
        return out


_register_grad_samplers()


def pack(codes, onset, cats) -> torch.Tensor:
    """One float tensor per patient row (what DP-SGD batches): codes, onset index, cats."""
    return torch.cat([torch.as_tensor(codes, dtype=torch.float32),
                      torch.as_tensor(onset, dtype=torch.float32),
                      torch.as_tensor(cats, dtype=torch.float32)], dim=1)


def unpack(batch: torch.Tensor, v: int):
    return batch[:, :v], batch[:, v:2 * v].long(), batch[:, 2 * v:].long()

"""``dp_ctgan``: conditional tabular GAN (Xu et al. 2019, CTGAN) with a DP-SGD discriminator.

Only the discriminator sees real rows, so only it trains in the DP-SGD loop; the generator
learns from the discriminator's (privatised) output, which is post-processing.

Conditional vector and training-by-sampling: each step picks one discrete column per row. Real
rows carry their *own* value of that column (a per-record function, so Poisson sampling and
clipping still bound each record's effect); fake rows are conditioned on values drawn from the
log-frequencies of the DP category counts (CTGAN Sec. 4.3), and real rows are importance
weighted by log-frequency / frequency so both sides see the same condition distribution.

PacGAN (Lin et al. 2018): the discriminator judges ``pac`` rows at once. Packs are formed from a
random order of the Poisson batch, dropping an incomplete last pack; removing one record then
changes at most one pack's content (<= 2 C) and drops at most one pack (<= C), so the ledger is
charged with sensitivity 3 C when ``pac > 1`` (``record_sensitivity=3``). ``pac=1`` (default)
keeps the cheaper sensitivity C, which gives better utility at small epsilon.

Generator weight averaging (``generator_ema``, Yazici et al. 2019): the generator that samples is
an exponential moving average of the trained one's weights (and batch-norm statistics). It
only post-processes the generator, so it costs no privacy, and it damps the oscillation of GAN
training under DP noise (docs/benchmarks/deep.md measures it); 0 samples from the last weights.
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

_GUMBEL_TAU = 0.2


def _generator_class():
    import torch
    from torch import nn

    class Residual(nn.Module):
        def __init__(self, i: int, o: int):
            super().__init__()
            self.fc, self.bn = nn.Linear(i, o), nn.BatchNorm1d(o)

        def forward(self, x):
            return torch.cat([torch.relu(self.bn(self.fc(x))), x], dim=1)

    class CTGenerator(nn.Module):
        def __init__(self, noise_dim: int, cond_dim: int, hidden: int, depth: int, out: int):
            super().__init__()
            dims, layers = noise_dim + cond_dim, []
            for _ in range(depth):
                layers.append(Residual(dims, hidden))
                dims += hidden
            self.body = nn.Sequential(*layers)
            self.head = nn.Linear(dims, out)

        def forward(self, z, cond):
            return self.head(self.body(torch.cat([z, cond], dim=1)))

    return CTGenerator


@register("dp_ctgan")
class DPCTGAN(NeuralGenerator):
    """Differentially private conditional tabular GAN.

    Epochs and batch size left unset follow the data-independent rule of ``_defaults.py``
    (from the planned row count); samples are calibrated to DP one-way marginals
    (``calibrate``, ``_calibrate.py``); docs/benchmarks/suite.md measures the defaults on eight
    real tables.

    >>> from synthscape.generators import make
    >>> gen = make("dp_ctgan", epsilon=1.0, seed=0)
    >>> # later: gen.sample(1000, conditions={"default": {"Yes": 0.5, "No": 0.5}})
    """

    name: ClassVar[str] = "dp_ctgan"
    needs_frequencies: ClassVar[bool] = True
    _parameter_constraints: ClassVar[dict[str, list]] = {
        **NEURAL_CONSTRAINTS,
        "noise_dim": [Interval(int, 1, 1024)],
        "generator_dim": [Interval(int, 1, 4096)],
        "discriminator_dim": [Interval(int, 1, 4096)],
        "depth": [Interval(int, 1, 8)],
        "pac": [Interval(int, 1, 64)],
        "generator_lr": [Interval(float, 0, 1, closed="right")],
        "generator_ema": [Interval(float, 0, 1, closed="left")],
        "max_condition_weight": [Interval(float, 1, None, closed="left")],
    }

    def __init__(self, epsilon: float | None = 1.0, delta: float = 1e-6, *,
                 epochs: int | None = None, batch_size: int | None = None, lr: float = 2e-3,
                 generator_lr: float = 2e-3, max_grad_norm: float = 1.0,
                 noise_multiplier: float | None = None, noise_dim: int = 64,
                 generator_dim: int = 128, discriminator_dim: int = 128, depth: int = 2,
                 pac: int = 1, numerical: str = "quantile", n_modes: int = 5,
                 encoder_share: float = 0.3, accountant: str = "prv", device: str = "auto",
                 expected_rows: int | None = None, grad_sample_mode: str = "bookkeeping",
                 seed: int | None = None, schema_share: float = 0.1,
                 out_of_bounds: str = "error", generator_ema: float = 0.9,
                 max_condition_weight: float = 1.0, calibrate: bool = True):
        self.epsilon, self.delta, self.epochs, self.batch_size = epsilon, delta, epochs, batch_size
        self.generator_ema, self.max_condition_weight = generator_ema, max_condition_weight
        self.lr, self.generator_lr, self.max_grad_norm = lr, generator_lr, max_grad_norm
        self.noise_multiplier, self.noise_dim = noise_multiplier, noise_dim
        self.generator_dim, self.discriminator_dim, self.depth = generator_dim, \
            discriminator_dim, depth
        self.pac, self.numerical, self.n_modes = pac, numerical, n_modes
        self.encoder_share, self.accountant, self.device = encoder_share, accountant, device
        self.expected_rows, self.grad_sample_mode, self.seed = expected_rows, grad_sample_mode, seed
        self.schema_share, self.out_of_bounds = schema_share, out_of_bounds
        self.calibrate = calibrate

    @classmethod
    def _conformance_params(cls) -> dict[str, Any]:
        return {"epochs": 1, "batch_size": 64, "noise_dim": 8, "generator_dim": 16,
                "discriminator_dim": 16, "depth": 1, "device": "cpu"}

    # ---- conditional vectors ---------------------------------------------------------------
    def _cond_tables(self):
        """Per discrete column: (offset in the cond vector, width, DP frequencies)."""
        return condition_tables(self.encoder_)

    def _fit(self, data: pd.DataFrame, schema: TableSchema, ledger: PrivacyLedger,
             rng: np.random.Generator) -> None:
        from synthscape.generators._nn import torch_generator

        n = self._planned_rows(data, ledger)
        enc, x = self._encode(data, schema, ledger)
        _, cond_dim = self._cond_tables()
        self.arch_ = {"noise_dim": self.noise_dim, "cond_dim": cond_dim,
                      "hidden": self.generator_dim, "depth": self.depth, "out": x.shape[1]}
        gen, disc = networks(self.arch_, self.pac, self.discriminator_dim,
                             int(rng.integers(2**31)))
        trainer = self._trainer(disc, ledger, n, betas=(0.5, 0.9),
                                record_sensitivity=3.0 if self.pac > 1 else 1.0)
        tg = torch_generator(rng, trainer.device)  # noise, conditions, pack order (public)
        gen, sampler = train_gan(trainer, gen, x, enc, n, tg, noise_dim=self.noise_dim,
                                 pac=self.pac, generator_lr=self.generator_lr,
                                 generator_ema=self.generator_ema,
                                 max_condition_weight=self.max_condition_weight)
        self.training_ = trainer.finish()
        self.loop_seconds_ = self.training_.pop("seconds")  # a timing: never saved
        self.model_ = sampler.to("cpu").eval()

    def _build_sampler(self):
        a = self.arch_
        return _generator_class()(a["noise_dim"], a["cond_dim"], a["hidden"], a["depth"],
                                  a["out"])

    # ---- sampling ------------------------------------------------------------------------
    def _sample(self, n: int, rng: np.random.Generator, conditions: dict[str, Any]) -> pd.DataFrame:
        tables, _ = self._cond_tables()
        names = [s.column for s in self.encoder_.discrete_spans]
        fixed = next(((c, v) for c, v in conditions.items() if c in names), None)

        def draw(k: int, r: np.random.Generator) -> pd.DataFrame:
            return self._draw(k, r, tables, names, fixed)

        return self._sample_by_rejection(n, rng, conditions, self._calibrated(draw))

    def _draw(self, n, rng, tables, names, fixed) -> pd.DataFrame:
        import torch

        from synthscape.generators._nn import sample_groups, torch_generator

        tg = torch_generator(rng)
        cond_dim = self.arch_["cond_dim"]
        parts = []
        with torch.no_grad():
            for start in range(0, n, 65536):
                m = min(65536, n - start)
                cond = torch.zeros(m, cond_dim)
                if fixed is not None:  # the conditional vector asks for the value directly
                    j = names.index(fixed[0])
                    cond[:, tables[j][0] + self.encoder_.slot(*fixed)] = 1.0
                elif tables:  # unconditional: conditions drawn from the DP frequencies
                    col = torch.randint(len(tables), (m,), generator=tg)
                    for j, (off, _, _, f) in enumerate(tables):
                        sel = (col == j).nonzero(as_tuple=True)[0]
                        if len(sel):
                            slot = torch.multinomial(torch.as_tensor(f, dtype=torch.float32),
                                                     len(sel), replacement=True, generator=tg)
                            cond[sel, off + slot] = 1.0
                raw = self.model_(torch.randn(m, self.arch_["noise_dim"], generator=tg), cond)
                parts.append(sample_groups(raw, self.encoder_.spans, tg).numpy())
        x = np.concatenate(parts) if parts else np.zeros((0, self.encoder_.output_dim))
        return self._to_frame(x)


def condition_tables(enc):
    """Per discrete column of a fitted encoder: (offset in the cond vector, width, start of its
    one-hot group, DP frequencies); and the width of the cond vector."""
    tables, off = [], 0
    for s in enc.discrete_spans:
        width = s.end - s.start
        tables.append((off, width, s.start, enc.freqs_[s.column]))
        off += width
    return tables, off


def networks(arch: dict[str, int], pac: int, discriminator_dim: int, seed: int):
    """The generator and the (PacGAN) discriminator of ``arch``, initialised from ``seed``."""
    from torch import nn

    from synthscape.generators._nn import mlp, seeded

    width, cond_dim = arch["out"], arch["cond_dim"]
    with seeded(seed):
        gen = _generator_class()(arch["noise_dim"], cond_dim, arch["hidden"], arch["depth"],
                                 width)
        disc = mlp([pac * (width + cond_dim)] + [discriminator_dim] * 2 + [1],
                   act=lambda: nn.LeakyReLU(0.2))
    return gen, disc


def train_gan(trainer, gen, x: np.ndarray, enc, n: int, tg, *, noise_dim: int, pac: int,
              generator_lr: float, generator_ema: float, max_condition_weight: float):
    """The GAN loop over ``trainer``'s paid batches of ``x``: a DP-SGD step of the
    discriminator (``trainer.module``), then an Adam step of ``gen`` against it (post-processing);
    ``n`` is the planned row count (condition frequencies), ``tg`` the torch generator of the
    data-independent draws. Returns ``(gen, sampler)``: the trained generator and the one that
    samples (its weight average when ``generator_ema > 0``)."""
    import torch
    from torch import nn

    from synthscape.generators._nn import activate

    tables, cond_dim = condition_tables(enc)
    dev = trainer.device
    gen = gen.to(dev)
    g_opt = torch.optim.Adam(gen.parameters(), lr=generator_lr, betas=(0.5, 0.9))
    ema = None
    if generator_ema > 0:  # weight averaging of the generator: post-processing
        from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

        ema = AveragedModel(gen, multi_avg_fn=get_ema_multi_avg_fn(generator_ema),
                            use_buffers=True)
    n_fake = max(1, round(trainer.expected_batch_size / pac)) * pac

    # Per column: the generator's log-frequency conditions, the discriminator's fake
    # conditions and the importance weights that make its real rows match them.
    samp, fake_dist, weights = [], [], []
    for *_, f in tables:
        lf, d, w = _condition_distributions(f, n, max_condition_weight)
        samp.append(torch.as_tensor(lf, dtype=torch.float32, device=dev))
        fake_dist.append(torch.as_tensor(d, dtype=torch.float32, device=dev))
        weights.append(torch.as_tensor(w, dtype=torch.float32, device=dev))
    bce = nn.BCEWithLogitsLoss(reduction="none")

    def fake_conditions(m: int, dist=samp):
        cond = torch.zeros(m, cond_dim, device=dev)
        if not tables:
            return cond, None, None
        col = torch.randint(len(tables), (m,), generator=tg, device=dev)
        slot = torch.zeros(m, dtype=torch.long, device=dev)
        for j in range(len(tables)):
            sel = col == j
            k = int(sel.sum())
            if k:
                slot[sel] = torch.multinomial(dist[j], k, replacement=True, generator=tg)
        offs = torch.as_tensor([t[0] for t in tables], device=dev)
        cond[torch.arange(m, device=dev), offs[col] + slot] = 1.0
        return cond, col, slot

    def real_conditions(batch):
        m = batch.shape[0]
        cond = torch.zeros(m, cond_dim, device=dev)
        w = torch.ones(m, device=dev)
        if not tables or m == 0:
            return cond, w
        col = torch.randint(len(tables), (m,), generator=tg, device=dev)
        for j, (off, wd, start, _) in enumerate(tables):
            sel = col == j
            if sel.any():
                onehot = batch[sel, start:start + wd]
                cond[sel, off:off + wd] = onehot
                w[sel] = weights[j][onehot.argmax(dim=1)]
        return cond, w

    def generate(m: int, dist=samp):
        cond, col, slot = fake_conditions(m, dist)
        z = torch.randn(m, noise_dim, generator=tg, device=dev)
        raw = gen(z, cond)
        return raw, activate(raw, enc.spans, gumbel_tau=_GUMBEL_TAU, generator=tg), \
            cond, col, slot

    def pack(rows):
        return rows.reshape(rows.shape[0] // pac, -1)

    for batch in trainer.batches(torch.as_tensor(x)):
        # Discriminator step (DP-SGD): real packs and fake packs, one unit each.
        m = batch.shape[0]
        order = torch.randperm(m, generator=tg, device=dev)[: m - m % pac]
        rc, rw = real_conditions(batch)
        real = pack(torch.cat([batch, rc], dim=1)[order])
        real_w = pack(rw[order][:, None]).mean(dim=1)
        with torch.no_grad():
            _, fake, fc, _, _ = generate(n_fake, fake_dist)
        fakes = pack(torch.cat([fake, fc], dim=1))
        logits = trainer.module(torch.cat([real, fakes], dim=0)).squeeze(1)
        r = real.shape[0]
        target = torch.cat([torch.ones(r, device=dev), torch.zeros(fakes.shape[0], device=dev)])
        unit_w = torch.cat([real_w, torch.ones(fakes.shape[0], device=dev)])
        trainer.step(unit_w * bce(logits, target))

        # Generator step: fool the privatised discriminator and honour the conditions.
        raw, fake, fc, col, slot = generate(n_fake)
        with trainer.public() as d:
            logits = d(pack(torch.cat([fake, fc], dim=1))).squeeze(1)
        g_loss = bce(logits, torch.ones_like(logits)).mean()
        if tables:
            g_loss = g_loss + _condition_loss(raw, tables, col, slot)
        g_opt.zero_grad(set_to_none=True)
        g_loss.backward()
        g_opt.step()
        if ema is not None:
            ema.update_parameters(gen)
    return gen, (gen if ema is None else ema.module)


def _log_freq(freqs: np.ndarray, n: int) -> np.ndarray:
    p = np.log1p(np.maximum(freqs, 0) * n)
    return p / p.sum()


def _condition_distributions(freqs: np.ndarray, n: int, cap: float):
    """(generator conditions, discriminator fake conditions, real-row weights) for one column.

    The generator trains on log-frequency conditions (CTGAN's training-by-sampling). For the
    discriminator, each value's importance weight log-frequency / frequency is clipped to
    [1 / cap, cap]; fakes are conditioned on frequency x weight (normalised) and real rows carry
    the normalised weight, so both sides show it the same condition mix. ``cap = 1`` shows the
    discriminator the data's own frequencies. Large weights do not survive per-sample clipping
    (a clipped row counts once whatever its weight): the mixes would then differ, and the
    discriminator would learn that rare conditions mean fake."""
    f = np.maximum(np.asarray(freqs, dtype=float), 0)
    f = f / f.sum() if f.sum() > 0 else np.full(len(f), 1 / len(f))
    lf = _log_freq(f, n)
    w = np.clip(np.where(f > 0, lf / np.maximum(f, 1e-12), 1.0), 1 / cap, cap)
    mass = float((f * w).sum())
    d = f * w / mass
    w = w / mass
    return lf, d, w


def _condition_loss(raw, tables, col, slot):
    """CTGAN's generator penalty: cross-entropy of the conditioned column's output."""
    import torch

    loss = raw.new_zeros(())
    for j, (_, wd, start, _) in enumerate(tables):
        sel = col == j
        if sel.any():
            loss = loss + torch.nn.functional.cross_entropy(
                raw[sel, start:start + wd], slot[sel], reduction="sum")
    return loss / raw.shape[0]

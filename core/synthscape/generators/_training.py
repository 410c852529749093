"""The one DP-SGD loop every neural generator shares (Abadi et al. 2016, Algorithm 1).

Poisson-sampled batches, per-sample clipping and Gaussian noise through opacus
(``GradSampleModule`` + ``DPOptimizer``); the noise multiplier is calibrated so that the planned
steps fit the ledger's remaining budget, and their whole cost is spent in the ledger *before*
the first batch of real data is drawn. The Poisson masks and the gradient noise come from the
ledger's secret noise source (:mod:`synthscape.privacy.noise`), never from a public seed.
``n_rows`` is the *planned* table size (declared, or a DP count: see ``noisy_count``): it sets
the sampling rate and the number of steps, and the exact size of the private table is never
used; ``batches`` samples every row actually given with that rate, once. A ledger without a
budget trains the same model with the same sampling but without clipping or noise, and the
ledger says it is not private.

>>> trainer = DPSGD(module, ledger=ledger, n_rows=len(x), epochs=5, batch_size=128)
>>> for batch in trainer.batches(x):
...     trainer.step(per_sample_loss(trainer.module, batch).mean())
>>> summary = trainer.finish()

Clipping modes (``grad_sample_mode``): ``"hooks"`` (default, accepts the mean loss) and
``"functorch"`` materialise every per-sample gradient; ``"ghost"`` is opacus' ghost clipping (Li et
al. 2022; Bu et al. 2023): per-sample norms from activations and output gradients, then a second
backward pass of the clip-weighted loss. ``"bookkeeping"`` (``_bookkeeping.py``; Bu et al. 2023,
Alg. 2) gets the same norms from one backward pass to the layer outputs and forms the clipped sum
directly, for networks made of ``nn.Linear`` layers; it is the fastest mode on the tabular
generators' MLPs (docs/benchmarks/deep.md), so they use it. Both never store per-sample gradients
and need the per-sample losses: ``step(losses)`` with a 1-D tensor (any mode accepts that; hooks
and functorch also accept the scalar mean). Every mode adds opacus' noise through its optimizer.
"""
from __future__ import annotations

import contextlib
import math
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

from synthscape.errors import BudgetExceededError, ParameterError
from synthscape.generators._dp_optimizers import secure_optimizer_class, wrap
from synthscape.generators._params import NONE, STR, Interval, Options, validate_params
from synthscape.privacy import PrivacyLedger, SubsampledGaussianEvent

_CONSTRAINTS: dict[str, list] = {
    "n_rows": [Interval(int, 1, None)],
    "epochs": [Interval(int, 1, None)],
    "batch_size": [Interval(int, 1, None)],
    "lr": [Interval(float, 0, None, closed="neither")],
    "max_grad_norm": [Interval(float, 0, None, closed="neither")],
    "device": [STR],
    "noise_multiplier": [Interval(float, 0, None, closed="neither"), NONE],
    "label": [STR],
    "optimizer": [Options(("adam", "sgd"))],
    "grad_sample_mode": [Options(("hooks", "functorch", "ghost", "bookkeeping"))],
    "record_sensitivity": [Interval(float, 1, None, closed="left")],
    "weight_decay": [Interval(float, 0, None, closed="left")],
}


class DPSGD:
    """DP-SGD training of ``module`` on ``n_rows`` private rows.

    ``record_sensitivity`` is how many clipped units one record can move, in units of
    ``max_grad_norm`` (1 for one row per unit; PacGAN packs need more): the ledger event carries
    ``noise_multiplier / record_sensitivity``. Noise and batches come from ``ledger.noise``,
    with opacus' floating-point attack mitigation for the noise (sum of four normals).
    """

    def __init__(self, module, *, ledger: PrivacyLedger, n_rows: int, epochs: int = 10,
                 batch_size: int = 256, lr: float = 1e-3, max_grad_norm: float = 1.0,
                 device: str = "auto", noise_multiplier: float | None = None, label: str = "dp_sgd",
                 optimizer: str = "adam", grad_sample_mode: str = "hooks",
                 record_sensitivity: float = 1.0, weight_decay: float = 0.0,
                 betas: tuple[float, float] = (0.9, 0.999)):
        import torch

        from synthscape.device import resolve_device

        params = dict(n_rows=n_rows, epochs=epochs, batch_size=batch_size, lr=lr,
                      max_grad_norm=max_grad_norm, device=device,
                      noise_multiplier=noise_multiplier, label=label,
                      optimizer=optimizer, grad_sample_mode=grad_sample_mode,
                      record_sensitivity=record_sensitivity, weight_decay=weight_decay)
        validate_params("DPSGD", params, _CONSTRAINTS)
        if not isinstance(module, torch.nn.Module):
            raise ParameterError(f"DPSGD needs a torch.nn.Module, got {type(module).__name__}")
        self.ledger = ledger
        self.private = ledger.budget is not None
        self.n_rows, self.epochs, self.batch_size = int(n_rows), int(epochs), int(batch_size)
        self.lr, self.max_grad_norm, self.label = float(lr), float(max_grad_norm), label
        self.grad_sample_mode = grad_sample_mode
        self.record_sensitivity = float(record_sensitivity)
        self.device = resolve_device(device)
        self.sample_rate = min(1.0, self.batch_size / self.n_rows)
        self.steps_per_epoch = max(1, math.ceil(self.n_rows / self.batch_size))
        self.steps = self.epochs * self.steps_per_epoch
        self.expected_batch_size = self.sample_rate * self.n_rows

        # Pay for every planned step before any real row is read.
        if self.private:
            self.noise_multiplier = self._spend(noise_multiplier)
        else:
            self.noise_multiplier = 0.0
            ledger.mark_non_private(f"{label}: trained without DP-SGD (no privacy budget)")

        module = module.to(self.device)
        params_list = [p for p in module.parameters() if p.requires_grad]
        if not params_list:
            raise ParameterError("the module has no trainable parameters")
        opt: torch.optim.Optimizer
        if optimizer == "adam":
            opt = torch.optim.Adam(params_list, lr=self.lr, betas=betas,
                                   weight_decay=weight_decay)
        else:
            opt = torch.optim.SGD(params_list, lr=self.lr, weight_decay=weight_decay)
        self._bk = None
        if self.private:
            self.module, opt_cls = wrap(module, grad_sample_mode, self.max_grad_norm)
            if grad_sample_mode == "bookkeeping":
                from synthscape.generators._bookkeeping import BookKeeping

                self._bk = BookKeeping(module, self.max_grad_norm)
            opt_cls = secure_optimizer_class(opt_cls, ledger.noise)
            self.optimizer = opt_cls(opt, noise_multiplier=self.noise_multiplier,
                                     max_grad_norm=self.max_grad_norm,
                                     expected_batch_size=max(1, round(self.expected_batch_size)),
                                     loss_reduction="mean")
        else:
            self.module = module
            self.optimizer = opt
        self._base = module
        self._steps_done = 0
        self._drawn_steps = 0
        self._current = -1
        self._hooks_off = False
        self._drawn = False
        self._t0 = time.perf_counter()

    # ---- privacy -------------------------------------------------------------------------
    def _event(self, sigma: float) -> SubsampledGaussianEvent:
        return SubsampledGaussianEvent(noise_multiplier=sigma / self.record_sensitivity,
                                       sample_rate=self.sample_rate, steps=self.steps,
                                       label=self.label)

    def _spend(self, noise_multiplier: float | None) -> float:
        if noise_multiplier is not None:
            self.ledger.spend(self._event(float(noise_multiplier)))
            return float(noise_multiplier)
        sigma = self._fit_sigma()
        # The ledger decides: raise sigma until the planned steps fit, then pay for them.
        for _ in range(40):
            if not self.ledger.would_exceed(self._event(sigma)):
                self.ledger.spend(self._event(sigma))
                return sigma
            sigma *= 1.05
        raise BudgetExceededError(f"{self.label}: no noise multiplier up to {sigma:.3g} fits the "
                                  f"remaining budget ({self.ledger.describe()})")

    def _fit_sigma(self) -> float:
        return calibrate_noise(self.ledger, self._event, self.sample_rate, self.steps,
                               record_sensitivity=self.record_sensitivity, label=self.label,
                               refine=self.ledger.accountant_name != "rdp")

    # ---- training ------------------------------------------------------------------------
    def batches(self, data) -> Iterator[Any]:
        """Yield ``steps`` Poisson-sampled batches of ``data`` (rows in dim 0) on the device.

        Every row is in each batch independently with probability ``sample_rate`` (masks from
        the ledger's secret noise source); a batch may be empty (then ``step`` applies a
        noise-only update, as the accounting assumes). The steps were paid once: the batches
        can be drawn once, and never more than ``steps`` of them."""
        import torch

        if not isinstance(data, torch.Tensor):
            raise ParameterError(f"batches() needs a torch.Tensor, got {type(data).__name__}")
        if self._drawn:
            raise BudgetExceededError(f"{self.label}: the {self.steps} paid steps were already "
                                      f"drawn; a second pass over the data is not paid for")
        self._drawn = True
        return self._batches(data.to(self.device))

    def _batches(self, data) -> Iterator[Any]:
        import torch

        rows = int(data.shape[0])
        noise = self.ledger.noise
        while self._drawn_steps < self.steps:
            self._drawn_steps += 1
            mask = noise.bernoulli(self.sample_rate, rows)
            idx = torch.as_tensor(mask.nonzero()[0]).to(self.device)
            self._current = int(idx.numel())
            self.optimizer.zero_grad(set_to_none=True)
            if self._bk is not None:
                self._bk.discard()
                self._bk.active = True
            elif self._hooks_off:
                self.module.enable_hooks()
                self._hooks_off = False
            yield data.index_select(0, idx)

    def step(self, loss) -> None:
        """Back-propagate, clip per sample, add noise, update.

        ``loss``: the 1-D tensor of per-sample losses, or (not in ghost mode) their mean."""
        if self._current < 0:
            raise ParameterError("call step() once per batch drawn from trainer.batches()")
        per_sample = loss.dim() == 1
        if self.private and self.grad_sample_mode in ("ghost", "bookkeeping"):
            if not per_sample:
                raise ParameterError(f"grad_sample_mode={self.grad_sample_mode!r} needs the "
                                     f"per-sample losses: pass the 1-D tensor to step(), not "
                                     f"its mean")
            if self._bk is not None:
                self._bk.active = False
                self._bk.backward(loss)
            else:
                self._ghost_backward(loss)
            self.optimizer.step()
        elif self._current == 0:
            self._empty_step(loss.mean() if per_sample else loss)
        else:
            with warnings.catch_warnings():  # torch warns when inputs need no grad: expected here
                warnings.filterwarnings("ignore", message="Full backward hook is firing")
                (loss.mean() if per_sample else loss).backward()
            self.optimizer.step()
        self._steps_done += 1
        self._current = -1

    def _ghost_backward(self, losses) -> None:
        """opacus' two-pass ghost clipping: norms from the mean loss, then the clipped sum."""
        with warnings.catch_warnings():
            # opacus' full backward hooks warn when the inputs (real data) need no gradient
            warnings.filterwarnings("ignore", message="Full backward hook is firing")
            losses.mean().backward(retain_graph=True)
            self.optimizer.zero_grad()
            coeff = self.module.get_clipping_coef().to(losses.device)
            self.module.disable_hooks()
            try:
                (coeff * losses).sum().backward()
            finally:
                self.module.enable_hooks()

    def _empty_step(self, loss) -> None:
        """An empty draw: a noise-only update (private), no update (non-private)."""
        import torch

        if not self.private:
            return
        if getattr(loss, "requires_grad", False):
            with warnings.catch_warnings():  # no input needs a gradient here: expected
                warnings.filterwarnings("ignore", message="Full backward hook is firing")
                loss.backward()  # opacus records zero-row per-sample gradients; p.grad replaced
        else:
            for p in self.optimizer.params:
                p.grad_sample = torch.zeros((0, *p.shape), device=p.device, dtype=p.dtype)
        self.optimizer.step()

    @contextlib.contextmanager
    def public(self):
        """Forward passes that must not train the module nor record per-sample gradients
        (a GAN generator's loss through the discriminator): gradients still reach the inputs.

        opacus' hooks stay off until the next batch, so a backward pass after the block is
        fine too."""
        params = [p for p in self._base.parameters()]
        flags = [p.requires_grad for p in params]
        if self._bk is not None:
            self._bk.active = False
        elif self.private:
            self.module.disable_hooks()
            self._hooks_off = True
        for p in params:
            p.requires_grad_(False)
        try:
            yield self.module
        finally:
            for p, f in zip(params, flags):
                p.requires_grad_(f)

    @property
    def base_module(self):
        """The module without opacus' wrapper (for saving)."""
        return self._base

    def finish(self) -> dict[str, Any]:
        """Remove opacus' hooks and return a summary; epsilon is read from the ledger.

        ``seconds`` (the loop's wall time) depends on the private batch sizes: keep it out of
        anything released (the generators keep it in the unsaved ``loop_seconds_``)."""
        if self._bk is not None:
            self._bk.remove()
        elif self.private:
            self.module.remove_hooks()
            self.module.cleanup()
        if hasattr(self.optimizer, "close"):
            self.optimizer.close()  # the noise worker
        eps = self.ledger.epsilon
        return {
            "label": self.label,
            "private": self.private,
            "steps_planned": self.steps,
            "steps_done": self._steps_done,
            "sample_rate": self.sample_rate,
            "noise_multiplier": self.noise_multiplier,
            "max_grad_norm": self.max_grad_norm,
            "record_sensitivity": self.record_sensitivity,
            "epsilon": None if math.isinf(eps) else eps,
            "delta": self.ledger.delta,
            "device": str(self.device),
            "grad_sample_mode": self.grad_sample_mode if self.private else None,
            "seconds": time.perf_counter() - self._t0,
        }


def calibrate_noise(ledger: PrivacyLedger, event: Callable[[float], Any], sample_rate: float,
                    steps: int, *, record_sensitivity: float = 1.0, label: str = "dp_sgd",
                    refine: bool = True) -> float:
    """The noise multiplier of ``steps`` Poisson-subsampled Gaussian steps (``event(sigma)``)
    that fits what ``ledger`` has left.

    opacus-style RDP calibration against the remaining epsilon first (integer orders, fast, and
    never looser than the ledger); with ``refine``, secant steps on log epsilon against log
    sigma from below it, each checked on the ledger (about 0.1 s per evaluation): only a sigma
    whose cost fits is ever returned."""
    from synthscape.privacy.analysis.calibration import bisect_decreasing

    remaining = ledger.remaining_epsilon
    if remaining <= 0:
        raise BudgetExceededError(f"{label}: the budget is already spent "
                                  f"({ledger.describe()}); nothing is left for training")

    def proxy(sigma: float) -> float:
        return _integer_order_epsilon(sample_rate, sigma, steps, ledger.delta)

    try:
        hi = bisect_decreasing(proxy, remaining, 0.05, 1e4, rel_tol=0.002) * record_sensitivity
    except ValueError as exc:
        raise BudgetExceededError(f"{label}: cannot fit {steps} steps at sample rate "
                                  f"{sample_rate:.3g} into epsilon {remaining:.3g}: {exc}; use "
                                  f"fewer epochs or a larger budget") from None
    if not refine:
        return hi
    budget = ledger.budget
    assert budget is not None  # only a private trainer (one with a budget) calibrates
    target = budget.epsilon * (1 - 1e-6)

    def cost(sigma: float) -> float:
        return ledger.cost_with(event(sigma))

    c_hi = cost(hi)
    if c_hi > target:
        return hi
    best, aim = hi, target * (1 - 0.003)
    x0, f0 = hi, math.log(c_hi)
    x1 = hi * c_hi / target  # epsilon falls about like 1 / sigma here
    for _ in range(4):
        c1 = cost(x1)
        if c1 <= target:
            best = min(best, x1)
            if c1 >= target * 0.99:
                break
        f1 = math.log(c1)
        slope = (f1 - f0) / (math.log(x1) - math.log(x0)) if x1 != x0 else -1.0
        if not slope < 0:
            break
        x0, f0, x1 = x1, f1, math.exp(math.log(x1) + (math.log(aim) - f1) / slope)
    return best


def _integer_order_epsilon(q: float, sigma: float, steps: int, delta: float) -> float:
    """Epsilon of ``steps`` Poisson-subsampled Gaussian steps from RDP at integer orders 2..256
    (Mironov, Talwar, Zhang 2019, Sec. 3.3, closed form for integer alpha), converted with
    Balle et al. 2020, Thm. 21; vectorised, so calibration takes milliseconds."""
    import numpy as np
    from scipy.special import gammaln, logsumexp

    orders = np.arange(2, 257, dtype=float)
    if q >= 1.0:
        rdp = orders / (2 * sigma**2)
    else:
        k = np.arange(0, 257, dtype=float)
        a = orders[:, None]
        terms = (gammaln(a + 1) - gammaln(k + 1) - gammaln(np.maximum(a - k, 0) + 1)
                 + (a - k) * np.log1p(-q) + k * np.log(q) + (k * k - k) / (2 * sigma**2))
        terms = np.where(k[None, :] <= a, terms, -np.inf)
        rdp = logsumexp(terms, axis=1) / (orders - 1)
    rdp = rdp * steps
    eps = rdp + np.log1p(-1 / orders) - (np.log(delta) + np.log(orders)) / (orders - 1)
    return float(max(np.min(eps), 0.0))

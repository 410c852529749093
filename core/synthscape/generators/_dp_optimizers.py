"""opacus' per-sample wrappers and DP optimizers for the DP-SGD loop (``_training.py``), and the
optimizer variant whose noise comes from the ledger's secret noise source."""
from __future__ import annotations


def wrap(module, mode: str, max_grad_norm: float):
    """opacus' per-sample wrapper and the optimizer class that matches it (book-keeping keeps
    the module as it is and hands opacus' optimizer the clipped sum in ``p.grad``)."""
    if mode == "bookkeeping":
        from opacus.optimizers.optimizer_fast_gradient_clipping import (
            DPOptimizerFastGradientClipping,
        )

        return module, DPOptimizerFastGradientClipping
    if mode == "ghost":
        from opacus.grad_sample.grad_sample_module_fast_gradient_clipping import (
            GradSampleModuleFastGradientClipping,
        )
        from opacus.optimizers.optimizer_fast_gradient_clipping import (
            DPOptimizerFastGradientClipping,
        )

        return (GradSampleModuleFastGradientClipping(module, batch_first=True,
                                                     loss_reduction="mean",
                                                     max_grad_norm=max_grad_norm,
                                                     use_ghost_clipping=True),
                DPOptimizerFastGradientClipping)
    from opacus import GradSampleModule
    from opacus.optimizers import DPOptimizer

    return (GradSampleModule(module, batch_first=True, loss_reduction="mean",
                             force_functorch=mode == "functorch"), DPOptimizer)


def secure_optimizer_class(base, noise):
    """``base`` whose Gaussian noise comes from ``noise`` (the ledger's secret
    :class:`~synthscape.privacy.noise.NoiseSource`) instead of torch's seeded generator.

    The noise of the next step does not depend on the data, so one worker thread draws it
    while the current step computes its gradients (hashing and the inverse CDF release the
    GIL). The worker owns a child stream of ``noise``: no two threads share a stream, and the
    draws stay in a fixed order, so a secret key still reproduces them. ``close()`` stops the
    worker."""
    import concurrent.futures

    import torch

    stream = noise.child("dp_sgd_gradient_noise")

    def draw(size: int):
        # Four draws summed and halved: opacus' mitigation of floating-point attacks.
        return stream.standard_normal((4, size)).sum(axis=0) / 2

    class SecureNoise(base):
        _pool = None
        _next = None

        def add_noise(self):
            sigma = self.noise_multiplier
            self.noise_multiplier = 0.0  # the parent then only moves the clipped sum to p.grad
            try:
                super().add_noise()
            finally:
                self.noise_multiplier = sigma
            std = sigma * self.max_grad_norm
            if std == 0:
                return
            sizes = [p.grad.numel() for p in self.params]
            total = sum(sizes)
            if self._pool is None:
                self._pool = concurrent.futures.ThreadPoolExecutor(
                    max_workers=1, thread_name_prefix="synthscape-dp-noise")
                self._next = self._pool.submit(draw, total)
            z = self._next.result()
            self._next = self._pool.submit(draw, total)
            at = 0
            for p, k in zip(self.params, sizes):
                p.grad.add_(torch.as_tensor(z[at:at + k].reshape(p.grad.shape) * std,
                                            dtype=p.grad.dtype).to(p.grad.device))
                at += k

        def close(self):
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None

    return SecureNoise

"""opacus' per-sample wrappers and DP optimizers for the DP-SGD loop (``_training.py``), and the
optimizer variant whose noise comes from the operating system's cryptographic source."""
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


def secure_optimizer_class(base):
    """``base`` with noise from os.urandom (opacus' own secure mode needs torchcsprng)."""
    import numpy as np
    import torch

    from synthscape.privacy.mechanisms import standard_normal

    class SecureNoise(base):
        def add_noise(self):
            sigma = self.noise_multiplier
            self.noise_multiplier = 0.0  # the parent then only moves the clipped sum to p.grad
            try:
                super().add_noise()
            finally:
                self.noise_multiplier = sigma
            std = sigma * self.max_grad_norm
            for p in self.params:
                shape = tuple(p.grad.shape)
                # Four draws summed and halved: opacus' mitigation of floating-point attacks.
                z = sum(standard_normal(shape, None, secure=True) for _ in range(4)) / 2
                p.grad.add_(torch.as_tensor(np.asarray(z) * std, dtype=p.grad.dtype,
                                            device=p.grad.device))

    return SecureNoise

"""Per-sample clipping in one backward pass for networks whose parameters all sit in ``nn.Linear``
layers on 2-D inputs: book-keeping clipping (Bu, Wang, Zha, Karypis 2023, "Differentially Private
Optimization on Large Model at Small Cost", Algorithm 2).

For a linear layer with input rows ``a_i`` and output gradients ``g_i`` (of the *sum* of the
per-sample losses), sample i's weight gradient is the outer product ``g_i a_i^T``, whose squared
Frobenius norm is ``|g_i|^2 |a_i|^2``; its bias gradient is ``g_i``. One backward pass to the
layer outputs gives every ``g_i``, hence every per-sample norm, hence the clip factors ``c_i``;
the clipped sum is then ``(c * G)^T A`` per layer: no second backward pass (ghost clipping) and
no per-sample gradient tensors (hooks, functorch). The result is written to ``p.grad`` for
opacus' ``DPOptimizerFastGradientClipping``, which adds the noise and averages.

The identity needs each layer to be applied once per forward pass to one row per sample, and
samples not to interact (no batch norm); ``BookKeeping`` checks what it can see (layer types,
input rank, calls per pass, rows per loss) and raises otherwise.
"""
from __future__ import annotations

from synthscape.errors import ParameterError

_FALLBACK = "use grad_sample_mode='ghost' (opacus) for this network"


class BookKeeping:
    """Records inputs and outputs of every ``nn.Linear`` in ``module`` while ``active``;
    ``backward(losses)`` puts the clipped sum of per-sample gradients in each ``p.grad`` and
    returns the clip factors."""

    def __init__(self, module, max_grad_norm: float):
        from torch import nn

        self.max_grad_norm = float(max_grad_norm)
        self.layers = [m for m in module.modules() if isinstance(m, nn.Linear)]
        owned = {id(p) for layer in self.layers for p in layer.parameters(recurse=False)}
        for name, p in module.named_parameters():
            if p.requires_grad and id(p) not in owned:
                raise ParameterError(f"book-keeping clipping supports nn.Linear parameters only; "
                                     f"{name!r} is not in one: {_FALLBACK}")
        for m in module.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                raise ParameterError(f"book-keeping clipping cannot take {type(m).__name__} "
                                     f"(samples interact through batch statistics): {_FALLBACK}")
        self._records: dict = {}
        self.active = False
        self._handles = [layer.register_forward_hook(self._record) for layer in self.layers]

    def _record(self, layer, inputs, output) -> None:
        if not self.active:
            return
        x = inputs[0]
        if x.dim() != 2:
            raise ParameterError(f"book-keeping clipping needs 2-D inputs to nn.Linear, got "
                                 f"shape {tuple(x.shape)}: {_FALLBACK}")
        if layer in self._records:
            raise ParameterError(f"a linear layer ran twice in one forward pass (shared "
                                 f"weights): {_FALLBACK}")
        self._records[layer] = (x.detach(), output)

    def backward(self, losses):
        """Clip each sample's gradient of ``losses`` (1-D, one per sample) to ``max_grad_norm``
        and store the clipped sum in ``p.grad``; returns the clip factors."""
        import torch

        records, self._records = self._records, {}
        if not records:
            raise ParameterError("no linear layer ran since the batch was drawn; call the "
                                 "trainer's module on the batch before step()")
        n = losses.shape[0]
        for x, _ in records.values():
            if x.shape[0] != n:
                raise ParameterError(f"{n} per-sample losses but a linear layer saw "
                                     f"{x.shape[0]} rows; one loss per row is needed")
        layers = [layer for layer in records if _trainable(layer)]
        outputs = [records[layer][1] for layer in layers]
        grads = torch.autograd.grad(losses.sum(), outputs, allow_unused=True)
        norm2 = torch.zeros(n, device=losses.device, dtype=losses.dtype)
        used = []
        for layer, g in zip(layers, grads):
            if g is None:  # not on the loss's path: zero gradient
                continue
            g2 = g.square().sum(dim=1)
            if layer.weight.requires_grad:
                norm2 = norm2 + g2 * records[layer][0].square().sum(dim=1)
            if layer.bias is not None and layer.bias.requires_grad:
                norm2 = norm2 + g2
            used.append((layer, g))
        coef = (self.max_grad_norm / (norm2.sqrt() + 1e-6)).clamp(max=1.0)
        done = {layer for layer, _ in used}
        for layer in self.layers:
            for p in layer.parameters(recurse=False):
                if p.requires_grad and layer not in done:
                    p.grad = torch.zeros_like(p)
        for layer, g in used:
            gc = g * coef[:, None]
            if layer.weight.requires_grad:
                layer.weight.grad = gc.t() @ records[layer][0]
            if layer.bias is not None and layer.bias.requires_grad:
                layer.bias.grad = gc.sum(dim=0)
        return coef

    def discard(self) -> None:
        """Forget what the last forward passes recorded."""
        self._records = {}

    def remove(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []
        self._records = {}
        self.active = False


def _trainable(layer) -> bool:
    return any(p.requires_grad for p in layer.parameters(recurse=False))

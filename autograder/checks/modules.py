"""Module checks in a few lines: a reference whose every weight and statistic is off its default,
loaded into the student's module under the specification's names, and compared in outputs and
gradients (eval mode) or in batch statistics (train mode)."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import torch
from torch import nn

if TYPE_CHECKING:
    from autograder.checks.context import CheckContext
    from autograder.checks.remote import Remote

Rename = Callable[[str], str]

_WEIGHTED = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)
_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


def randomize(ref: nn.Module, generator: torch.Generator,
              calibration_shape: Sequence[int] | None = None,
              gamma: tuple[float, float] = (0.5, 2.0)) -> nn.Module:
    """``ref`` in float64 and eval mode with no parameter or buffer at a default value: conv and
    linear weights redrawn (scaled by the fan-in), biases and BatchNorm shifts off 0, BatchNorm
    scales drawn from ``gamma``, other parameters (a LayerNorm's, a class token) perturbed, and
    BatchNorm statistics measured on a random batch of ``calibration_shape`` in train mode (a deep
    network stays well scaled in eval mode) and then moved. Every value is exact in float32, so a
    float32 module holds the very weights of the float64 reference."""

    def randn(shape):
        return torch.randn(tuple(shape), generator=generator, dtype=torch.float64)

    def uniform(low, high, shape):
        return low + (high - low) * torch.rand(tuple(shape), generator=generator,
                                               dtype=torch.float64)

    ref = ref.double()
    norms = [m for m in ref.modules() if isinstance(m, _NORMS)]
    done: set[int] = set()
    with torch.no_grad():
        for m in ref.modules():
            if isinstance(m, _WEIGHTED):
                fan_in = (m.weight.shape[0] if isinstance(m, nn.ConvTranspose2d)
                          else m.weight[0].numel())
                m.weight.copy_(randn(m.weight.shape) / math.sqrt(fan_in))
                if m.bias is not None:
                    m.bias.copy_(0.5 * randn(m.bias.shape))
            elif isinstance(m, _NORMS) and m.affine:
                m.weight.copy_(uniform(*gamma, m.weight.shape))
                m.bias.copy_(0.5 * randn(m.bias.shape))
            else:
                continue
            done.update(id(p) for p in m.parameters(recurse=False))
        for p in ref.parameters():
            if id(p) not in done:  # LayerNorm, tokens, position embeddings, a zero head
                p.add_(0.1 * randn(p.shape) + 0.02)
        if norms and calibration_shape is not None:
            for bn in norms:
                bn.reset_running_stats()
                bn.momentum = None  # the average over the batches seen: here, this batch's
            ref.train()(randn(calibration_shape))
            for bn in norms:
                bn.momentum = 0.1
        for bn in norms:
            if bn.track_running_stats:
                bn.running_mean.add_(0.2 * randn(bn.running_mean.shape))
                bn.running_var.mul_(uniform(0.7, 1.4, bn.running_var.shape))
                bn.num_batches_tracked.fill_(int(torch.randint(2, 1000, (),
                                                               generator=generator)))
        for v in ref.state_dict().values():
            if v.is_floating_point():
                v.copy_(v.float())
    return ref.eval()


def reference_weights(ref: nn.Module, dtype: torch.dtype, rename: Rename | None = None) -> dict:
    """The reference's state_dict, floating tensors in ``dtype``, under the specification's
    names."""
    rename = rename or (lambda k: k)
    return {rename(k): v.to(dtype) if v.is_floating_point() else v
            for k, v in ref.state_dict().items()}


def load_reference(t: CheckContext, model: Remote, ref: nn.Module,
                   rename: Rename | None = None) -> Remote:
    """The student's module, checked to have the reference's state_dict keys and shapes, holding
    the reference's weights (strict)."""
    weights = reference_weights(ref, t.dtype, rename)
    t.assert_state_dict_matches(model, weights)
    t.load_state_dict(model, weights)
    return model


def compare_module(t: CheckContext, model: Remote, ref: nn.Module, x_shape: Sequence[int],
                   rename: Rename | None = None, op: str = "conv", scale: float = 1.0) -> None:
    """The student's module equals ``ref`` once it holds its weights: the output, the input's
    gradient and every parameter's gradient, in eval mode."""
    rename = rename or (lambda k: k)
    load_reference(t, model, ref, rename).eval()
    x = (scale * t.randn(*x_shape)).requires_grad_()
    g = t.randn(*t.reference(ref, x).shape)
    want = t.reference_grad(ref, x, grad_output=g)
    got = t.grad(model, x, grad_output=g)
    t.assert_close(got.output, want.output, op=op)
    t.assert_close(got.inputs[0], want.inputs[0], op="grad", what="gradient of the input")
    for name, grad in want.params.items():
        t.assert_close(got.params.get(rename(name)), grad, op="grad",
                       what=f"gradient of {rename(name)}")


def compare_train_mode(t: CheckContext, model: Remote, ref: nn.Module, x_shape: Sequence[int],
                       rename: Rename | None = None, op: str = "norm") -> None:
    """In train mode the student's module normalizes with the batch's statistics and updates its
    running statistics as the reference does."""
    rename = rename or (lambda k: k)
    load_reference(t, model, ref, rename).train()
    x = t.randn(*x_shape)
    got = model(x)
    trained = copy.deepcopy(ref).train()
    with torch.no_grad():
        want = trained(x.double())
    t.assert_close(got, want, op=op, what="output in train mode")
    state = t.state_dict(model)
    for k, v in trained.state_dict().items():
        if "running_" in k or "num_batches_tracked" in k:
            t.assert_close(state.get(rename(k)), v, op="norm",
                           what=f"{rename(k)} after a forward pass in train mode")

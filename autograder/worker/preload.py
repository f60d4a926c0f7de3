"""Modules the zygote imports before forking, so that a submission's own imports are free."""

from __future__ import annotations

import importlib
import os

PRELOAD = ("numpy", "torch", "torch.nn", "torch.nn.functional", "torch.utils.data", "math",
           "autograder.worker.server")


# What torch imports lazily on first use, broadly: loaded ahead when the children cannot read the
# environment from disk (no sandbox, a dropped uid, and a folder it may not enter on the way: a
# base Python in /root, a repository in a 0700 folder), where any later import would fail.
BROAD = ("torch._dynamo",)


def warm(children_read_disk: bool = True) -> None:
    """Import everything in PRELOAD that is installed (matplotlib headless), and BROAD too where
    the children cannot import from disk."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    for name in PRELOAD + (() if children_read_disk else BROAD):
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    _warm_lazy_imports()


def _warm_lazy_imports() -> None:
    """Run once here what graded code commonly runs, so that the modules torch imports lazily on
    first use are loaded before any student code: not paid again in every child under its
    limits, and not imported after a submission has patched builtins (``all``, ``any``) that
    those imports rely on. ``autograd.backward`` with explicit gradients, as the checks call it,
    imports torch's symbolic shapes (and sympy); the op guard is entered once."""
    import torch

    from autograder.worker.forbid import Forbidder

    class _Twice(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            return grad * 2

    from safetensors.torch import load, save

    load(save({"x": torch.zeros(2)}))  # the protocol's tensor framing imports numpy.ctypeslib
    torch.get_default_device()  # the state restore before every call imports torch.utils._device
    # torch.optim wraps every Optimizer method in torch._disable_dynamo, whose first call imports
    # torch._dynamo (about 2 s): paid once here, not by every submission that has an optimizer.
    weight = torch.nn.Parameter(torch.zeros(2))
    optimizer = torch.optim.SGD([weight], lr=0.1)
    weight.grad = torch.ones(2)
    optimizer.step()
    optimizer.zero_grad()
    with Forbidder({"_": {"ops": ["aten.convolution"]}}).active("_"):
        x = torch.zeros(1, 1, 3, 3, dtype=torch.float64, requires_grad=True)
        y = torch.nn.functional.unfold(_Twice.apply(x), 2)
        torch.autograd.backward([y], [torch.ones_like(y)])

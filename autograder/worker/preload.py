"""Modules the zygote imports before forking, so that a submission's own imports are free."""

from __future__ import annotations

import importlib
import os

PRELOAD = ("numpy", "torch", "torch.nn", "torch.nn.functional", "torch.utils.data", "math",
           "autograder.worker.server")


def warm() -> None:
    """Import everything in PRELOAD that is installed (matplotlib headless)."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    for name in PRELOAD:
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

    with Forbidder({"_": {"ops": ["aten.convolution"]}}).active("_"):
        x = torch.zeros(1, 1, 3, 3, dtype=torch.float64, requires_grad=True)
        y = torch.nn.functional.unfold(_Twice.apply(x), 2)
        torch.autograd.backward([y], [torch.ones_like(y)])

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
    _warm_dispatch_mode()


def _warm_dispatch_mode() -> None:
    """Entering a dispatch mode the first time imports half of torch's compiler stack (and wants
    to write a cache); do it here, once, rather than in every child under its limits."""
    import torch

    from autograder.worker.forbid import Forbidder

    with Forbidder({"_": {"ops": ["aten.convolution"]}}).active("_"):
        torch.zeros(1).add(1)

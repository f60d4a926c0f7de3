"""Torch global state that student code could change to sabotage later checks; reset before every call."""

from __future__ import annotations

import torch


def configure(threads: int) -> None:
    """The worker's fixed numerical settings: no TF32, float32 default dtype, a fixed thread count."""
    torch.set_num_threads(max(1, threads))
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")


class Snapshot:
    """What ``configure`` set, restored with ``restore()``."""

    def __init__(self) -> None:
        self.default_dtype = torch.get_default_dtype()
        self.threads = torch.get_num_threads()
        self.matmul_precision = torch.get_float32_matmul_precision()

    def restore(self) -> None:
        torch.set_default_dtype(self.default_dtype)
        torch.set_grad_enabled(True)
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cudnn.deterministic = False
        torch.set_float32_matmul_precision(self.matmul_precision)
        if torch.get_num_threads() != self.threads:
            torch.set_num_threads(self.threads)

"""Torch global state that student code could change to sabotage later checks; reset before and
after every call into the student's code.

Each setting is read first and written only when it differs (some setters cost a millisecond), so a
restore costs a few microseconds.
"""

from __future__ import annotations

import torch

_CPU = torch.device("cpu")


def configure(threads: int) -> None:
    """The worker's fixed numerical settings: no TF32, float32 default dtype, a fixed thread
    count."""
    torch.set_num_threads(max(1, threads))
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")


class Snapshot:
    """What ``configure`` set (and torch's defaults for the rest), restored with ``restore()``."""

    def __init__(self) -> None:
        self.default_dtype = torch.get_default_dtype()
        self.threads = torch.get_num_threads()
        self.matmul_precision = torch.get_float32_matmul_precision()
        self.function_modes = torch._C._len_torch_function_stack()
        self.dispatch_modes = torch._C._len_torch_dispatch_stack()

    def restore(self) -> None:
        if torch.get_default_device() != _CPU:
            torch.set_default_device(None)
        # modes the student's code pushed and left behind (e.g. an unfinished `with`)
        while torch._C._len_torch_function_stack() > self.function_modes:
            torch._C._pop_torch_function_stack()
        while torch._C._len_torch_dispatch_stack() > self.dispatch_modes:
            torch._C._pop_torch_dispatch_stack(None)
        if torch.get_default_dtype() != self.default_dtype:
            torch.set_default_dtype(self.default_dtype)
        if not torch.is_grad_enabled():
            torch.set_grad_enabled(True)
        if torch.is_anomaly_enabled():
            torch.autograd.set_detect_anomaly(False)
        if torch.are_deterministic_algorithms_enabled():
            torch.use_deterministic_algorithms(False)
        torch.set_flush_denormal(False)
        for device in ("cpu", "cuda"):
            if torch.is_autocast_enabled(device):
                torch.set_autocast_enabled(device, False)
        backends = torch.backends
        if backends.cuda.matmul.allow_tf32 or backends.cudnn.allow_tf32:
            backends.cuda.matmul.allow_tf32 = False
            backends.cudnn.allow_tf32 = False
        if backends.cudnn.deterministic or backends.cudnn.benchmark or not backends.cudnn.enabled:
            backends.cudnn.deterministic = False
            backends.cudnn.benchmark = False
            backends.cudnn.enabled = True
        if not backends.mkldnn.enabled:
            backends.mkldnn.enabled = True
        if torch.get_float32_matmul_precision() != self.matmul_precision:
            torch.set_float32_matmul_precision(self.matmul_precision)
        if torch.get_num_threads() != self.threads:
            torch.set_num_threads(self.threads)

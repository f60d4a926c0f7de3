"""Grading on CUDA: the solution passes and the stub fails there too (skipped without a GPU)."""

from __future__ import annotations

import pytest
import torch

from autograder.testing import grade_source, replace_definition, solution_source

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(),
                                                  reason="needs a CUDA device")]


def test_solution_scores_full_marks_on_cuda():
    r = grade_source("a1_convolution", solution_source("a1_convolution"), device="cuda")
    failed = [(c.key, c.message) for c in r.checks if not c.passed]
    assert not failed
    assert any(c.device == "cuda" for c in r.checks)


def test_tensor_created_without_device_fails_on_cuda():
    src = replace_definition(solution_source("a1_convolution"), "avg_pool2d", '''
def avg_pool2d(x, kernel_size, stride=None, padding=0):
    import torch.nn.functional as F
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    stride = kernel_size if stride is None else stride
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    x = F.pad(x, (pw, pw, ph, ph))
    n, c, h, w = x.shape
    oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
    out = torch.zeros(n, c, oh, ow, dtype=x.dtype)
    for i in range(oh):
        for j in range(ow):
            out[:, :, i, j] = x[:, :, i*sh:i*sh+kh, j*sw:j*sw+kw].mean(dim=(2, 3)).cpu()
    return out
''')
    r = grade_source("a1_convolution", src, device="cuda", items=["avg_pool2d"])
    checks = [c for c in r.checks if c.item == "avg_pool2d"]
    assert checks and not any(c.passed for c in checks)
    assert "expected cuda" in checks[0].message

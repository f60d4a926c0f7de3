"""Per-operation tolerances (atol, rtol) by dtype. A value passes when
``|got - want| <= atol + rtol * |want|`` elementwise; ``want`` is the float64 reference."""

from __future__ import annotations

import torch

TOLERANCES: dict[str, dict[torch.dtype, tuple[float, float]]] = {
    "exact": {torch.float64: (0.0, 0.0), torch.float32: (0.0, 0.0)},
    "elementwise": {torch.float64: (1e-12, 1e-10), torch.float32: (1e-6, 1e-5)},
    "reduction": {torch.float64: (1e-10, 1e-9), torch.float32: (1e-5, 1e-4)},
    "matmul": {torch.float64: (1e-10, 1e-9), torch.float32: (1e-4, 1e-4)},
    "conv": {torch.float64: (1e-10, 1e-9), torch.float32: (2e-4, 1e-4)},
    "norm": {torch.float64: (1e-10, 1e-9), torch.float32: (1e-4, 1e-4)},
    "attention": {torch.float64: (1e-10, 1e-9), torch.float32: (1e-4, 1e-4)},
    "grad": {torch.float64: (1e-9, 1e-8), torch.float32: (5e-4, 5e-4)},
    "model": {torch.float64: (1e-8, 1e-7), torch.float32: (1e-3, 1e-3)},
}
TOLERANCES["exact"][torch.float16] = (0.0, 0.0)


def tolerance(op: str, dtype: torch.dtype) -> tuple[float, float]:
    """(atol, rtol) for an operation kind at a dtype (float32's for any other dtype)."""
    try:
        table = TOLERANCES[op]
    except KeyError:
        raise ValueError(f"unknown tolerance kind {op!r}; one of {sorted(TOLERANCES)}") from None
    return table.get(dtype, table[torch.float32])

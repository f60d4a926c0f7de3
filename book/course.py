"""Helpers the book's chapters share: seeding, the device, offline data, a small training loop.

Chapters run with the book's folder as their working directory, so `from course import ...` works.
Nothing here is a graded assignment item.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn


def set_seed(seed: int = 0) -> None:
    """Seed Python, NumPy and PyTorch so that a chapter's numbers and figures are reproducible."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def device() -> torch.device:
    """The GPU when there is one, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def count_params(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters of a model (all, or only those that require grad)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def digits(size: int = 16, test_fraction: float = 0.25, seed: int = 0):
    """scikit-learn's bundled 8x8 digits as (x_train, y_train, x_test, y_test) tensors.

    Images are (N, 1, size, size) in [0, 1] (bilinearly resized from 8x8), standardized with the
    training set's mean and std. No download: the data ships with scikit-learn.
    """
    from sklearn.datasets import load_digits

    data = load_digits()
    x = torch.tensor(data.images, dtype=torch.float32).unsqueeze(1) / 16.0
    if size != 8:
        x = nn.functional.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    y = torch.tensor(data.target, dtype=torch.long)
    g = torch.Generator().manual_seed(seed)
    perm = torch.randperm(len(x), generator=g)
    n_test = int(len(x) * test_fraction)
    test, train = perm[:n_test], perm[n_test:]
    mean, std = x[train].mean(), x[train].std()
    x = (x - mean) / std
    return x[train], y[train], x[test], y[test]


@dataclass
class History:
    """Per-epoch training loss, training error and test error of one run."""

    train_loss: list[float] = field(default_factory=list)
    train_error: list[float] = field(default_factory=list)
    test_error: list[float] = field(default_factory=list)


def error_rate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 512) -> float:
    """Fraction of misclassified examples, in eval mode."""
    model.eval()
    dev = next(model.parameters()).device
    wrong = 0
    with torch.no_grad():
        for i in range(0, len(x), batch_size):
            logits = model(x[i : i + batch_size].to(dev))
            wrong += (logits.argmax(1).cpu() != y[i : i + batch_size]).sum().item()
    return wrong / len(x)


def train_classifier(
    model: nn.Module,
    data: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor],
    epochs: int = 10,
    lr: float = 1e-3,
    batch_size: int = 64,
    optimizer: Callable[..., torch.optim.Optimizer] | None = None,
    seed: int = 0,
) -> History:
    """Train `model` with cross-entropy on `data` = (x_train, y_train, x_test, y_test).

    Uses Adam unless `optimizer` (a factory taking the parameters) is given; returns the history.
    """
    set_seed(seed)
    x_train, y_train, x_test, y_test = data
    dev = device()
    model.to(dev)
    params = model.parameters()
    opt = optimizer(params) if optimizer else torch.optim.Adam(params, lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    history = History()
    g = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(x_train), generator=g)
        total = 0.0
        for i in range(0, len(x_train), batch_size):
            idx = perm[i : i + batch_size]
            xb, yb = x_train[idx].to(dev), y_train[idx].to(dev)
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        history.train_loss.append(total / len(x_train))
        history.train_error.append(error_rate(model, x_train, y_train))
        history.test_error.append(error_rate(model, x_test, y_test))
    return history


def style() -> None:
    """The book's plot style: readable on screen, small files."""
    plt.rcParams.update(
        {
            "figure.figsize": (6.4, 3.6),
            "figure.dpi": 100,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": True,
            "grid.alpha": 0.3,
        }
    )


def train_steps(
    model: nn.Module,
    data: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor],
    steps: int = 300,
    batch_size: int = 64,
    lr: float = 2e-3,
    weight_decay: float = 0.05,
    curve_every: int = 0,
    seed: int = 0,
) -> tuple[float, list[tuple[int, float]]]:
    """Train for a fixed number of steps with AdamW and a one-cycle schedule on random batches.

    Comparing models (or training-set sizes) at equal steps keeps the compute equal. Returns the
    final test error and, every `curve_every` steps (if > 0), (step, test error) pairs.
    """
    set_seed(seed)
    x_train, y_train, x_test, y_test = data
    dev = device()
    model.to(dev)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    curve = []
    for step in range(1, steps + 1):
        model.train()
        idx = torch.randint(0, len(x_train), (batch_size,), generator=gen)
        loss = nn.functional.cross_entropy(model(x_train[idx].to(dev)), y_train[idx].to(dev))
        opt.zero_grad()
        loss.backward()
        opt.step()
        schedule.step()
        if curve_every and step % curve_every == 0:
            curve.append((step, error_rate(model, x_test, y_test)))
    return error_rate(model, x_test, y_test), curve

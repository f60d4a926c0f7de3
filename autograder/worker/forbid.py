"""Forbidden calls, enforced while a graded item's code runs.

Two layers: Python callables named by dotted path are replaced by functions that raise (this gives
the clearest message), and ATen operators are refused by a dispatch mode, which also catches routes
around the Python names (``getattr``, ``eval``, ``importlib``, ``torch.ops.aten``, aliases bound at
import time). Dispatch modes are per thread, so ``guard_threads`` makes every thread the student's
code starts run under a guard that refuses what the item being graded forbids.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator

from torch.utils._python_dispatch import TorchDispatchMode


class ForbiddenCallError(RuntimeError):
    """A graded item called something the assignment forbids for it."""


AUTOGRAD_CALLS = ("torch.autograd.grad", "torch.autograd.backward", "torch.Tensor.backward")


def _resolve(dotted: str):
    """(owner, attribute) of a dotted name such as ``torch.nn.functional.conv2d``."""
    parts = dotted.split(".")
    for i in range(len(parts) - 1, 0, -1):
        try:
            owner = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:-1]:
            owner = getattr(owner, attr)
        return owner, parts[-1]
    raise ValueError(f"cannot resolve {dotted}")


# (item, forbidden ops) of the item being graded now, read by the guard in every thread
_active: list[tuple[str, frozenset[str]] | None] = [None]


class _OpGuard(TorchDispatchMode):
    """Refuses the ATen operators that the item being graded (``_active``) forbids. The calling
    thread enters it in ``Forbidder.active``; threads the student's code starts, in
    ``guard_threads``."""

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        # True (torch's default) wraps __torch_dispatch__ in torch._disable_dynamo, whose first
        # call imports torch._dynamo: a second of start-up, and a wrapper on every operator.
        return False

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        active = _active[0]
        if active is not None:
            item, ops = active
            name = "aten." + func._schema.name.split("::", 1)[-1]
            if name in ops:
                raise ForbiddenCallError(f"{item} may not use {name} (forbidden in this exercise)")
        return func(*args, **(kwargs or {}))


def guard_threads() -> None:
    """From now on, every thread started through ``threading`` or ``_thread`` runs its function
    under ``_OpGuard``. Called in the child before the student's code loads, so that aliases
    the code takes of the thread functions are the guarded ones."""
    import _thread
    import threading

    start_new_thread = _thread.start_new_thread

    def guarded_start_new_thread(function, args, kwargs=None):
        return start_new_thread(_guarded(function), args, {} if kwargs is None else kwargs)

    _thread.start_new_thread = guarded_start_new_thread
    threading._start_new_thread = guarded_start_new_thread  # type: ignore[attr-defined]
    if hasattr(_thread, "start_joinable_thread"):  # Python 3.13+
        start_joinable_thread = _thread.start_joinable_thread

        def guarded_start_joinable_thread(function, *args, **kwargs):
            return start_joinable_thread(_guarded(function), *args, **kwargs)

        _thread.start_joinable_thread = guarded_start_joinable_thread
        threading._start_joinable_thread = guarded_start_joinable_thread  # type: ignore


def _guarded(function):
    def run(*args, **kwargs):
        with _OpGuard():
            return function(*args, **kwargs)

    return run


class Forbidder:
    """Holds the forbidden calls of every graded item; ``active(item)`` enforces one item's."""

    def __init__(self, specs: dict[str, dict]):
        self._specs = {}
        for item, spec in specs.items():
            calls = list(spec.get("calls", []))
            if spec.get("autograd"):
                calls += AUTOGRAD_CALLS
            targets = []
            for dotted in calls:
                try:
                    owner, attr = _resolve(dotted)
                    targets.append((dotted, owner, attr, getattr(owner, attr)))
                except (ValueError, AttributeError):
                    continue
            self._specs[item] = (targets, frozenset(spec.get("ops", [])))

    @contextlib.contextmanager
    def active(self, item: str | None) -> Iterator[None]:
        if item is None or item not in self._specs:
            yield
            return
        targets, ops = self._specs[item]
        for dotted, owner, attr, _ in targets:
            setattr(owner, attr, _raiser(item, dotted))
        outer = _active[0]
        try:
            if ops:
                _active[0] = (item, ops)
                with _OpGuard():
                    yield
            else:
                yield
        finally:
            _active[0] = outer
            for _, owner, attr, original in targets:
                setattr(owner, attr, original)


def _raiser(item: str, dotted: str):
    def forbidden(*args, **kwargs):
        raise ForbiddenCallError(f"{item} may not call {dotted} (forbidden in this exercise)")

    forbidden.__name__ = dotted.rsplit(".", 1)[-1]
    return forbidden

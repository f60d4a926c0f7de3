"""An optimizer check in a few lines: the student's optimizer and ``torch.optim``'s run side by
side over the same parameters and gradients, and the first step and parameter that diverge are
named."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch

from autograder.checks.errors import CheckFailed

if TYPE_CHECKING:
    from autograder.checks.context import CheckContext
    from autograder.checks.remote import Remote


def compare_optimizer(t: CheckContext, student: Remote, reference: type, *,
                      groups: Sequence[dict], steps: int = 10, defaults: dict | None = None,
                      no_grad: Sequence[int | tuple[int, int]] = (), zero_grad: bool = True,
                      op: str = "reduction", param_scale: float = 1.0,
                      grad_scale: float = 1.0) -> None:
    """Run ``student`` (e.g. ``t.student.Adam``) and ``reference`` (``torch.optim.Adam``) for
    ``steps`` steps. ``groups``: one dict per parameter group, ``{"shapes": [(3, 4), (4,)],
    **options}`` (options such as ``lr`` or ``momentum`` apply to that group); ``defaults``:
    keyword arguments of the constructor. A single group without options is passed as a plain list
    of parameters. ``no_grad``: indices (in order over all groups) of parameters that never get a
    gradient, or ``(step, index)`` pairs for a parameter without a gradient at one step (0-based).
    Between steps the optimizer's ``zero_grad()`` is called when ``zero_grad``. Parameters and
    gradients are standard normal times ``param_scale`` and ``grad_scale`` (small gradients expose
    an ``eps`` in the wrong place)."""
    defaults = dict(defaults or {})
    shapes = [tuple(s) for g in groups for s in g["shapes"]]
    initial = [t.randn(*s) * param_scale for s in shapes]
    skip = set(no_grad)
    grads = [[None if i in skip or (k, i) in skip else t.randn(*s) * grad_scale
              for i, s in enumerate(shapes)] for k in range(steps)]

    ref_params = [p.detach().double().clone().requires_grad_(True) for p in initial]
    mine = [t.remote(p.detach().clone().requires_grad_(True)) for p in initial]
    plain = len(groups) == 1 and set(groups[0]) == {"shapes"}
    opt = student(_grouped(groups, mine, plain), **defaults)
    ref_opt = reference(_grouped(groups, ref_params, plain), **defaults)
    name = (f"torch.optim.{reference.__name__}"
            if str(reference.__module__).startswith("torch.optim") else reference.__qualname__)
    for step in range(steps):
        if zero_grad and step:
            opt.zero_grad()
            ref_opt.zero_grad()
        for i, g in enumerate(grads[step]):
            ref_params[i].grad = None if g is None else g.double()
            if g is not None or not zero_grad:
                mine[i].grad = g
        opt.step()
        with torch.no_grad():
            ref_opt.step()
        for i, p in enumerate(mine):
            got = t.fetch(p)
            try:
                t.assert_close(got, ref_params[i].detach(), op=op,
                               what=f"parameter {i} {_where(groups, i)}")
            except CheckFailed as e:
                raise CheckFailed(f"after step {step + 1} of {steps}, compared with {name}: "
                                  f"{e}") from None


def _grouped(groups: Sequence[dict], params: list[Any], plain: bool) -> Any:
    if plain:
        return list(params)
    out, k = [], 0
    for g in groups:
        n = len(g["shapes"])
        out.append({**{key: v for key, v in g.items() if key != "shapes"},
                    "params": list(params[k:k + n])})
        k += n
    return out


def _where(groups: Sequence[dict], index: int) -> str:
    k = 0
    for gi, g in enumerate(groups):
        if index < k + len(g["shapes"]):
            return f"(group {gi}, shape {tuple(g['shapes'][index - k])})"
        k += len(g["shapes"])
    return ""

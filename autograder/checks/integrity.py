"""Graded code is the student's own: a graded class is defined in the notebook and subclasses
``nn.Module``, ``Optimizer`` or ``autograd.Function`` directly (or through the notebook's own
classes); a module a graded item builds is made of ``torch.nn`` building blocks and the
notebook's classes, nothing from torchvision or timm, and not the library's answer.

The worker reports where each class comes from (``describe``: module, qualified name, bases);
the verdict is made here, in the grader.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

# What a graded class may subclass directly.
ROOTS = ("torch.nn.Module", "torch.optim.Optimizer", "torch.autograd.Function")

# The torch.nn building blocks a graded module may contain (CURRICULUM.md's list). An item widens
# it with ``A.item(..., building_blocks=DEFAULT_BUILDING_BLOCKS + ("torch.nn.Embedding",))``.
DEFAULT_BUILDING_BLOCKS = (
    "torch.nn.Conv2d", "torch.nn.Linear", "torch.nn.BatchNorm2d", "torch.nn.LayerNorm",
    "torch.nn.ReLU", "torch.nn.ReLU6", "torch.nn.GELU", "torch.nn.Dropout", "torch.nn.Sequential",
    "torch.nn.ModuleList", "torch.nn.MaxPool2d", "torch.nn.AvgPool2d",
    "torch.nn.AdaptiveAvgPool2d", "torch.nn.ConvTranspose2d", "torch.nn.Identity",
    "torch.nn.Flatten",
)


@cache
def canonical(dotted: str) -> str:
    """``module.qualname`` of the class a public name denotes (``torch.nn.Conv2d`` ->
    ``torch.nn.modules.conv.Conv2d``), as the worker reports classes."""
    from autograder.worker.forbid import resolve_name

    owner, attr = resolve_name(dotted)
    obj = getattr(owner, attr)
    return f"{obj.__module__}.{obj.__qualname__}"


def _name(origin: dict) -> str:
    return f"{origin.get('module')}.{origin.get('qualname')}"


def _short(origin: dict) -> str:
    return str(origin.get("qualname")) if origin.get("notebook") else _name(origin)


def class_problem(label: str, origin: dict) -> str | None:
    """Why the graded class ``label`` (its origin as the worker describes it) is not the student's
    own, or None."""
    if not origin.get("notebook"):
        return (f"{label} is {_name(origin)}, not a class defined in your notebook: graded code "
                "must be your own")
    roots = {canonical(r) for r in ROOTS} | {"builtins.object"}
    for base in _library_bases(origin):
        if _name(base) not in roots:
            allowed = ", ".join(r.rsplit(".", 1)[-1] for r in ROOTS)
            return (f"{label} subclasses {_name(base)}, a library class: write it yourself, "
                    f"subclassing {allowed} directly")
    return None


def tree_problem(label: str, root: dict | None, tree: dict[str, dict],
                 building_blocks: Iterable[str]) -> str | None:
    """Why a module built by a graded item is not made of the student's own code, naming the first
    offending submodule's path and class; None when it is."""
    allowed = {canonical(b) for b in building_blocks} | {canonical(r) for r in ROOTS}
    for path, origin in ([("", root)] if root else []) + list(tree.items()):
        what = f"{label}.{path}" if path else label
        if origin.get("notebook"):
            for base in _library_bases(origin):
                if _name(base) not in allowed:
                    return (f"{what} is your class {origin.get('qualname')}, which subclasses "
                            f"{_name(base)}: graded code must be built from torch.nn building "
                            "blocks and your own classes")
        elif _name(origin) not in allowed:
            return (f"{what} is a {_name(origin)}: graded code must be built from torch.nn "
                    f"building blocks ({_block_names(building_blocks)}) and your own classes, "
                    "not a library's module")
    return None


def _library_bases(origin: dict) -> list[dict]:
    """The first classes outside the notebook on each line of ``origin``'s bases."""
    out = []
    for base in origin.get("bases", []):
        if base.get("notebook"):
            out += _library_bases(base)
        else:
            out.append(base)
    return out


def _block_names(building_blocks: Iterable[str]) -> str:
    names = [b.rsplit(".", 1)[-1] for b in building_blocks]
    return ", ".join(names[:6]) + (", ..." if len(names) > 6 else "")

"""Assignments, graded items and checks: the registry a checks module fills."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from autograder.checks.integrity import DEFAULT_BUILDING_BLOCKS, canonical
from autograder.worker.forbid import check_packages, expand_calls, expand_ops

DTYPES = {"float64": torch.float64, "float32": torch.float32}


@dataclass(frozen=True)
class Forbid:
    """What a graded item may not use while it runs (and may not name in its code).

    ``calls``: dotted Python names, a module (every function of it) or a wildcard in the last
    part (``torch.nn.init.*``, ``torch.nn.functional.conv*``); ``ops``: operators, where a plain
    name (``aten.convolution``) stands for its whole family (``aten._convolution``,
    ``aten.cudnn_convolution``, ...) and a wildcard (``aten.*pool2d*``) for exactly what it
    matches; ``packages``: whole packages (``torchvision``, ``timm``): not imported, built or
    called; ``autograd``: no ``torch.autograd.grad``/``backward``. A name that resolves to
    nothing is an error here, when the checks module loads."""

    calls: Sequence[str] = ()
    ops: Sequence[str] = ()
    autograd: bool = False
    packages: Sequence[str] = ()
    _expanded: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("calls", "ops", "packages"):
            value = getattr(self, name)
            if isinstance(value, str):
                raise TypeError(f"Forbid({name}=...) takes a list of names, not {value!r}")
            object.__setattr__(self, name, tuple(value))
        try:
            expanded = {"calls": expand_calls(self.calls), "ops": expand_ops(self.ops),
                        "packages": check_packages(self.packages)}
        except ValueError as e:
            raise ValueError(f"Forbid: {e}") from None
        modules = [c for c in self.calls
                   if c not in expanded["calls"] and not any(w in c for w in "*?[")]
        expanded["static"] = list(dict.fromkeys(
            list(self.calls) + [f"{m}.*" for m in modules]
            + [n for p in expanded["packages"] for n in (p, f"{p}.*")]))
        object.__setattr__(self, "_expanded", expanded)

    def to_dict(self) -> dict:
        """What the worker enforces: concrete call and operator names, packages."""
        e = self._expanded
        return {"calls": e["calls"], "ops": e["ops"], "packages": e["packages"],
                "autograd": self.autograd}

    def static_names(self) -> list[str]:
        """Dotted names and wildcards the static check looks for in the item's code."""
        return list(self._expanded["static"])

    def describe(self) -> str:
        names = [c.replace("torch.nn.functional.", "F.") for c in self.calls]
        names += list(self.packages)
        if self.autograd:
            names.append("torch.autograd")
        return ", ".join(names)


@dataclass
class Item:
    """A name the student must define.

    ``own_code`` (default on): the graded code must be the student's own. A ``kind="class"``
    item must be a class defined in the notebook that subclasses ``nn.Module``, ``Optimizer`` or
    ``autograd.Function`` directly (or through the notebook's classes), and every module a call
    of the item returns must be made of ``building_blocks`` and the notebook's classes."""

    name: str
    kind: str = "function"
    forbid: Forbid = field(default_factory=Forbid)
    own_code: bool = True
    building_blocks: tuple[str, ...] = DEFAULT_BUILDING_BLOCKS


@dataclass
class Check:
    """One hidden check of one item."""

    item: str
    name: str
    func: Callable
    points: float
    dtypes: tuple[str, ...] | None
    devices: tuple[str, ...] | None
    timeout: float
    show_expected: bool = False

    @property
    def description(self) -> str:
        doc = (self.func.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else self.name.replace("_", " ")


@dataclass
class Variant:
    """A check at one dtype on one device: the unit that is run and scored."""

    check: Check
    dtype: str | None
    device: str
    points: float

    @property
    def key(self) -> str:
        tag = ",".join(x for x in (self.dtype, self.device) if x)
        return f"{self.check.item}/{self.check.name}[{tag}]"

    def seed(self, base: int) -> int:
        digest = hashlib.sha256(f"{base}:{self.key}".encode()).digest()
        return int.from_bytes(digest[:4], "big")


class Assignment:
    """One assignment's registry: ``A.item(...)`` declares a name, ``@A.check(...)`` a check."""

    def __init__(self, id: str, title: str = "", time_budget: float = 300.0,
                 load_timeout: float = 60.0, worker_libraries: Sequence[str] = ()):
        self.id = id
        self.title = title or id
        self.time_budget = time_budget
        self.load_timeout = load_timeout
        # libraries the checks reach in the worker with t.lib (torchvision, timm): imported
        # once by each worker's parent before any student code
        unknown = [n for n in worker_libraries if n.split(".")[0] not in ("torchvision", "timm")]
        if unknown:
            raise ValueError(f"worker_libraries may name torchvision and timm, not {unknown}")
        self.worker_libraries = tuple(worker_libraries)
        self.items: dict[str, Item] = {}
        self.checks: list[Check] = []

    def item(self, name: str, forbid: Forbid | None = None, kind: str = "function",
             own_code: bool = True,
             building_blocks: Sequence[str] = DEFAULT_BUILDING_BLOCKS) -> Item:
        if kind not in ("function", "class"):
            raise ValueError(f"{name}: kind must be 'function' or 'class', not {kind!r}")
        for block in building_blocks:
            canonical(block)  # a typo in the list is an error now, not a rule that never applies
        it = Item(name, kind, forbid or Forbid(), own_code, tuple(building_blocks))
        self.items[name] = it
        return it

    def check(self, item: str, points: float = 1.0,
              dtypes: Sequence[str] | None = ("float64", "float32"),
              devices: Sequence[str] | None = None, timeout: float = 10.0,
              name: str | None = None,
              show_expected: bool = False) -> Callable[[Callable], Callable]:
        if dtypes is not None:
            unknown = set(dtypes) - set(DTYPES)
            if unknown:
                raise ValueError(f"unknown dtypes {unknown}; use {sorted(DTYPES)}")

        def register(func: Callable) -> Callable:
            if item not in self.items:
                self.item(item)
            check_name = name or func.__name__
            if any(c.item == item and c.name == check_name for c in self.checks):
                raise ValueError(f"duplicate check {item}/{check_name}")
            self.checks.append(Check(item, check_name, func, float(points),
                                     tuple(dtypes) if dtypes else None,
                                     tuple(devices) if devices else None, float(timeout),
                                     bool(show_expected)))
            return func

        return register

    def variants(self, device: str) -> list[Variant]:
        """Every (check, dtype, device) to run when grading on ``device``, with its points."""
        out = []
        for c in self.checks:
            dev = device if c.devices is None or device in c.devices else c.devices[0]
            dtypes = c.dtypes or (None,)
            for dt in dtypes:
                out.append(Variant(c, dt, dev, c.points / len(dtypes)))
        return out

    @property
    def max_score(self) -> float:
        return sum(c.points for c in self.checks)

    def student_metadata(self) -> dict:
        """What the released notebook carries for `autograder validate`, which has no hidden
        checks at hand: the graded names, and the calls each may not make (the notebook's text
        says them too)."""
        return {"assignment": self.id, "graded": list(self.items),
                "forbidden": {name: item.forbid.static_names()
                              for name, item in self.items.items() if item.forbid.static_names()}}

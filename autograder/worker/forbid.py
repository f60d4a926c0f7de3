"""Forbidden calls, enforced while a graded item's code runs.

Three layers: Python callables named by dotted path are replaced by functions that raise (this
gives the clearest message); ATen operators are refused by a dispatch mode, which also catches
routes around the Python names (``getattr``, ``eval``, ``importlib``, ``torch.ops.aten``, aliases
bound at import time); and forbidden packages (torchvision, timm) cannot be imported, nor their
modules built or called, nor their operators run. Dispatch modes are per thread, so
``guard_threads`` makes every thread the student's code starts run under a guard that refuses
what the item being graded forbids.

The names an instructor writes (``Forbid(calls=..., ops=..., packages=...)``) are expanded here,
in the grader's process, when the checks module loads: wildcards, modules and operator families
become the concrete names the worker patches and refuses, and a name that does not resolve is an
error then, not a rule that silently never applies.
"""

from __future__ import annotations

import builtins
import contextlib
import difflib
import fnmatch
import functools
import importlib
import re
import types
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode


class ForbiddenCallError(RuntimeError):
    """A graded item called something the assignment forbids for it."""


AUTOGRAD_CALLS = ("torch.autograd.grad", "torch.autograd.backward", "torch.Tensor.backward")
_WILDCARD = re.compile(r"[*?\[]")


# -- names: what a Forbid entry stands for ---------------------------------------------------
def resolve_name(dotted: str):
    """(owner, attribute) of a dotted name such as ``torch.nn.functional.conv2d``; ValueError
    naming the entry when it does not resolve."""
    parts = dotted.split(".")
    for i in range(len(parts) - 1, 0, -1):
        try:
            owner = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for attr in parts[i:-1]:
                owner = getattr(owner, attr)
            getattr(owner, parts[-1])
        except AttributeError as e:
            raise ValueError(f"cannot resolve {dotted}: {e}") from None
        return owner, parts[-1]
    raise ValueError(f"cannot resolve {dotted}: no module of it can be imported")


def _resolve_object(dotted: str) -> Any:
    try:
        owner, attr = resolve_name(dotted)
        return getattr(owner, attr)
    except ValueError:
        try:
            return importlib.import_module(dotted)
        except ImportError:
            raise ValueError(f"cannot resolve {dotted}") from None


def _library_callable(owner: Any, obj: Any) -> bool:
    """Whether ``obj``, an attribute of ``owner``, is one of the library's functions (or classes
    defined there), as a wildcard means: not a module, a typing construct or a class that the
    module merely imported (``torch.nn.init.Tensor``)."""
    if isinstance(obj, types.ModuleType) or not callable(obj):
        return False
    if not isinstance(owner, types.ModuleType):
        return True  # a class's methods
    module = getattr(obj, "__module__", None)
    if isinstance(obj, type):
        return isinstance(module, str) and (module == owner.__name__
                                            or module.startswith(owner.__name__ + "."))
    return module is None or (isinstance(module, str)
                              and module.split(".")[0] == owner.__name__.split(".")[0])


def expand_calls(entries: Iterable[str]) -> list[str]:
    """The dotted names ``calls`` entries stand for: a name, a module (every function of it) or
    a wildcard in the last part (``torch.nn.init.*``, ``torch.nn.functional.conv*``). Raises
    ValueError naming an entry that resolves to nothing."""
    out: list[str] = []
    for entry in entries:
        if not isinstance(entry, str) or not entry or entry.startswith(".") \
                or "." not in entry:
            raise ValueError(f"calls entry {entry!r} is not a dotted name such as "
                             "'torch.nn.functional.conv2d'")
        owner_path, last = entry.rsplit(".", 1)
        if _WILDCARD.search(owner_path):
            raise ValueError(f"calls entry {entry!r}: a wildcard may only stand in the last part "
                             "of the name")
        if _WILDCARD.search(last):
            owner = _resolve_object(owner_path)
            names = [n for n in sorted(_attribute_names(owner))
                     if fnmatch.fnmatchcase(n, last)
                     and (last.startswith("__") or not (n.startswith("__") and n.endswith("__")))]
            matched = [f"{owner_path}.{n}" for n in names
                       if _library_callable(owner, getattr(owner, n, None))]
            if not matched:
                raise ValueError(f"calls entry {entry!r} matches no function of {owner_path}")
            out += matched
            continue
        try:
            obj = _resolve_object(entry)
        except ValueError as e:
            raise ValueError(f"calls entry {entry!r} does not resolve ({e})") from None
        if isinstance(obj, types.ModuleType):  # a module: every function of it
            out += expand_calls([f"{entry}.*"])
        else:
            out.append(entry)
    return list(dict.fromkeys(out))


def _attribute_names(owner: Any) -> list[str]:
    return list(vars(owner)) if isinstance(owner, types.ModuleType) else dir(owner)


@functools.cache
def all_ops() -> tuple[str, ...]:
    """Every operator the dispatcher knows, as ``namespace.name`` (overloads stripped)."""
    names = {n.split(".", 1)[0].replace("::", ".") for n in torch._C._dispatch_get_all_op_names()}
    return tuple(sorted(names))


# Names of one computation that share no word: an op named by one of them stands for all.
_SYNONYMS = (
    ("convolution", "conv", "conv1d", "conv2d", "conv3d"),
    ("scaled_dot_product_attention", "scaled_dot_attention", "flash_attention",
     "efficient_attention", "cudnn_attention", "fused_attention", "multi_head_attention"),
)


def _words(name: str) -> tuple[str, ...]:
    return tuple(w for w in name.split("_") if w)


def _contains(words: tuple[str, ...], part: tuple[str, ...]) -> bool:
    """Whether ``part`` occurs in ``words`` in order (not necessarily adjacent)."""
    it = iter(words)
    return all(w in it for w in part)


def _alternatives(words: tuple[str, ...]) -> list[tuple[str, ...]]:
    """``words`` and its variants with a synonym swapped in (convolution -> conv2d, ...)."""
    out = [words]
    for group in _SYNONYMS:
        for member in group:
            m = _words(member)
            for i in range(len(words) - len(m) + 1):
                if words[i:i + len(m)] == m:
                    out += [words[:i] + _words(other) + words[i + len(m):] for other in group]
    return list(dict.fromkeys(out))


def op_family(op: str) -> list[str]:
    """The operators a plain name such as ``aten.convolution`` stands for: every operator, in any
    namespace, whose name holds its words in order once leading underscores and prefixes or
    suffixes such as ``native_``, ``cudnn_``, ``_overrideable``, ``_math`` are set aside
    (``aten._convolution``, ``aten.cudnn_convolution``, ``aten.native_layer_norm``,
    ``aten._scaled_dot_product_attention_math``, ``mkldnn._convolution_pointwise``), including
    names of the same computation listed in ``_SYNONYMS`` (``aten.convolution`` and
    ``aten._slow_conv2d_forward``). Backward operators are not part of a forward operator's
    family: autograd runs them for allowed code too (name ``aten.convolution_backward``)."""
    words = _words(op.split(".", 1)[1])
    backward = "backward" in words
    alternatives = _alternatives(words)
    out = []
    for name in all_ops():
        other = _words(name.split(".", 1)[1])
        if not backward and "backward" in other:
            continue
        if any(_contains(other, a) for a in alternatives):
            out.append(name)
    return out


def expand_ops(entries: Iterable[str]) -> list[str]:
    """The operators ``ops`` entries stand for. An entry is ``namespace.name`` (an overload such
    as ``.default`` is ignored): a plain name stands for its family (``op_family``), a wildcard
    (``aten.*convolution*``) for the operators it matches, exactly. Raises ValueError naming an
    entry that matches no operator."""
    out: list[str] = []
    for entry in entries:
        parts = entry.split(".") if isinstance(entry, str) else []
        if len(parts) not in (2, 3) or not all(parts):
            raise ValueError(f"ops entry {entry!r} is not an operator name such as "
                             "'aten.convolution'")
        name = ".".join(parts[:2])
        known = all_ops()
        if not any(n.startswith(parts[0] + ".") for n in known):
            _load_namespace(parts[0])
            known = all_ops()
        if _WILDCARD.search(name):
            matched = [n for n in known if fnmatch.fnmatchcase(n, name)]
            if not matched:
                raise ValueError(f"ops entry {entry!r} matches no operator")
            out += matched
        elif name in known:
            out += op_family(name)
        else:
            close = difflib.get_close_matches(name, known, n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise ValueError(f"ops entry {entry!r} is not an operator{hint}")
    return list(dict.fromkeys(out))


def _load_namespace(namespace: str) -> None:
    """Operators of a package (``torchvision.nms``) exist once the package is imported."""
    with contextlib.suppress(ImportError):
        importlib.import_module(namespace)
        all_ops.cache_clear()


def check_packages(entries: Iterable[str]) -> list[str]:
    """``packages`` entries: importable-looking dotted module names (``torchvision``, ``timm``).
    They need not be installed: a package that is not there cannot be used either."""
    out = []
    for entry in entries:
        if not isinstance(entry, str) or not all(p.isidentifier() for p in entry.split(".")):
            raise ValueError(f"packages entry {entry!r} is not a module name such as "
                             "'torchvision'")
        if entry.split(".")[0] in ("torch", "builtins", "math", "numpy"):
            raise ValueError(f"packages entry {entry!r}: forbid {entry}'s functions with calls= "
                             "or ops=, not the whole package")
        out.append(entry)
    return list(dict.fromkeys(out))


def in_packages(module: str, packages: Sequence[str]) -> str | None:
    """The forbidden package that ``module`` (a dotted module name) belongs to, or None."""
    for p in packages:
        if module == p or module.startswith(p + "."):
            return p
    return None


# -- enforcement, in the worker ----------------------------------------------------------------
# (item, forbidden ops, forbidden packages) of the item being graded now, read by the guard in
# every thread
_active: list[tuple[str, frozenset[str], tuple[str, ...]] | None] = [None]
_op_names: dict[Any, tuple[str, str]] = {}  # OpOverload -> ("aten.convolution", "aten")


def _op_name(func) -> tuple[str, str]:
    found = _op_names.get(func)
    if found is None:
        qualified = func._schema.name  # "aten::convolution"
        namespace = qualified.split("::", 1)[0]
        found = _op_names[func] = (qualified.replace("::", ".", 1), namespace)
    return found


class _OpGuard(TorchDispatchMode):
    """Refuses the operators that the item being graded (``_active``) forbids, and those of its
    forbidden packages. The calling thread enters it in ``Forbidder.active``; threads the
    student's code starts, in ``guard_threads``."""

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        # True (torch's default) wraps __torch_dispatch__ in torch._disable_dynamo, whose first
        # call imports torch._dynamo: a second of start-up, and a wrapper on every operator.
        return False

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        active = _active[0]
        if active is not None:
            item, ops, packages = active
            name, namespace = _op_name(func)
            if name in ops:
                raise ForbiddenCallError(f"{item} may not use {name} (forbidden in this exercise)")
            if packages and in_packages(namespace, packages):
                raise ForbiddenCallError(f"{item} may not use {name} from {namespace} "
                                         "(forbidden in this exercise)")
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
    """Holds the forbidden calls of every graded item; ``active(item)`` enforces one item's.

    ``specs`` maps an item to ``Forbid.to_dict()``: concrete names (the grader expanded
    wildcards and families). A call name that no longer resolves here (the notebook deleted or
    replaced it at load time) is not dropped: every operator of that item is refused instead."""

    def __init__(self, specs: dict[str, dict]):
        self._specs = {}
        for item, spec in specs.items():
            calls = list(spec.get("calls", []))
            if spec.get("autograd"):
                calls += AUTOGRAD_CALLS
            targets, lost = [], []
            for dotted in calls:
                try:
                    owner, attr = resolve_name(dotted)
                    targets.append((dotted, owner, attr, getattr(owner, attr)))
                except (ValueError, AttributeError):
                    lost.append(dotted)
            self._specs[item] = (targets, frozenset(spec.get("ops", [])),
                                 tuple(spec.get("packages", [])), lost)

    @contextlib.contextmanager
    def active(self, item: str | None) -> Iterator[None]:
        if item is None or item not in self._specs:
            yield
            return
        targets, ops, packages, lost = self._specs[item]
        if lost:
            ops = _RefuseAll(item, lost)
        outer = _active[0]
        with contextlib.ExitStack() as undo:
            for dotted, owner, attr, original in targets:
                setattr(owner, attr, _raiser(item, dotted))
                undo.callback(setattr, owner, attr, original)
            if packages:
                _guard_packages(item, packages, undo)
            undo.callback(_active.__setitem__, 0, outer)
            if ops or packages:
                _active[0] = (item, ops, packages)
                undo.enter_context(_OpGuard())
            yield


class _RefuseAll(frozenset):
    """The op set of an item whose forbidden names could not be resolved: contains everything,
    so that the item fails closed with a message saying why."""

    def __new__(cls, item: str, lost: list[str]):
        self = super().__new__(cls)
        self.item, self.lost = item, lost
        return self

    def __contains__(self, name) -> bool:
        raise ForbiddenCallError(
            f"{self.item} cannot be graded: its forbidden call {self.lost[0]} no longer exists "
            "once the notebook is loaded (did the notebook delete or replace it?)")

    def __bool__(self) -> bool:
        return True


def _guard_packages(item: str, packages: tuple[str, ...], undo: contextlib.ExitStack) -> None:
    """While ``item`` runs: importing a forbidden package fails, and building or calling a module
    whose class (or a base of it) comes from one fails."""
    real_import = builtins.__import__
    real_import_module = importlib.import_module
    module_cls = torch.nn.Module
    real_init = module_cls.__init__
    real_call = module_cls.__dict__["__call__"]
    checked: set[type] = set()

    def refuse_import(name: str) -> None:
        if isinstance(name, str) and in_packages(name, packages):
            raise ForbiddenCallError(f"{item} may not import {name} (forbidden in this exercise)")

    def guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
        if level == 0:
            refuse_import(name)
        return real_import(name, globals, locals, fromlist, level)

    def guarded_import_module(name, package=None):
        refuse_import(name)
        return real_import_module(name, package)

    def refuse_class(cls: type) -> None:
        if cls in checked:
            return
        for c in cls.__mro__:
            module = getattr(c, "__module__", None)
            if isinstance(module, str) and in_packages(module, packages):
                raise ForbiddenCallError(
                    f"{item} may not use {module}.{c.__qualname__} from "
                    f"{in_packages(module, packages)} (forbidden in this exercise)")
        checked.add(cls)

    def guarded_init(self, *args, **kwargs):
        refuse_class(type(self))
        return real_init(self, *args, **kwargs)

    def guarded_call(self, *args, **kwargs):
        refuse_class(type(self))
        return real_call(self, *args, **kwargs)

    builtins.__import__ = guarded_import
    undo.callback(setattr, builtins, "__import__", real_import)
    importlib.import_module = guarded_import_module
    undo.callback(setattr, importlib, "import_module", real_import_module)
    module_cls.__init__ = guarded_init
    undo.callback(setattr, module_cls, "__init__", real_init)
    module_cls.__call__ = guarded_call
    undo.callback(setattr, module_cls, "__call__", real_call)


def _raiser(item: str, dotted: str):
    def forbidden(*args, **kwargs):
        raise ForbiddenCallError(f"{item} may not call {dotted} (forbidden in this exercise)")

    forbidden.__name__ = dotted.rsplit(".", 1)[-1]
    return forbidden

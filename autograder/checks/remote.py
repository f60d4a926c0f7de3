"""Handles to objects that live in the worker: the student's names, what their code returned,
tensors a check placed there, and library objects. Every use is a message to the worker."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from autograder.checks.context import CheckContext

_OWN = ("_ctx", "_root", "_path", "_label", "_type")


class Remote:
    """An object in the worker. Call it (``m(x)``, ``opt.step()``), follow attributes and
    indices (``opt.param_groups[0]["lr"]``), assign them (``p.grad = g``,
    ``opt.param_groups[0]["lr"] = 0.1``); read a value as plain data with ``t.fetch(r)`` or
    ``r.attr(name)``."""

    def __init__(self, ctx: CheckContext, root: dict, label: str, type_name: str = "",
                 path: tuple = ()):
        object.__setattr__(self, "_ctx", ctx)
        object.__setattr__(self, "_root", root)  # {"name": ...}, {"handle": n} or {"lib": ...}
        object.__setattr__(self, "_path", path)  # (("a", attribute) | ("i", index), ...)
        object.__setattr__(self, "_label", label)
        object.__setattr__(self, "_type", type_name)

    @property
    def _ref(self) -> dict:
        """What the worker resolves: the root and the path from it."""
        return {**self._root, "path": [list(step) for step in self._path]}

    @property
    def handle(self) -> int | None:
        """The worker's number for this object when it is one the worker holds (else None)."""
        return self._root.get("handle") if not self._path else None

    def _step(self, kind: str, key: Any, label: str) -> Remote:
        return Remote(self._ctx, self._root, label, "", self._path + ((kind, key),))

    def __getattr__(self, name: str) -> Remote:
        if name.startswith("__"):
            raise AttributeError(name)
        return self._step("a", name, f"{self._label}.{name}")

    def __getitem__(self, key: int | str | tuple) -> Remote:
        return self._step("i", _key(key), f"{self._label}[{key!r}]")

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _OWN:
            raise AttributeError(f"cannot set {name} on a remote object")
        self._ctx._assign(self, "setattr", name, value)

    def __setitem__(self, key: int | str | tuple, value: Any) -> None:
        self._ctx._assign(self, "setitem", _key(key), value)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._ctx._call(self, args, kwargs)

    def attr(self, name: str) -> Any:
        """The value of an attribute, as plain data (or a Remote)."""
        return self._ctx.fetch(getattr(self, name))

    @property
    def type_name(self) -> str:
        return self._type

    def __repr__(self) -> str:
        return f"<remote {self._label}>"


def _key(key: Any) -> Any:
    if isinstance(key, tuple):
        return [_key(k) for k in key]
    if type(key) not in (int, str):
        raise TypeError(f"a remote index must be an int, a str or a tuple of them, not {key!r}")
    return key


class StudentNamespace:
    """``t.student``: the names the student's notebook defines."""

    def __init__(self, ctx: CheckContext):
        self._ctx = ctx

    def __getattr__(self, name: str) -> Remote:
        if name.startswith("__"):
            raise AttributeError(name)
        return Remote(self._ctx, {"name": name}, name)

"""The worker's request loop: load the student's definitions, then serve calls from the grader.

Runs in a process forked for one submission, inside the sandbox. Everything the grader receives is
plain data (JSON and safetensors) or a numbered handle to an object kept here.
"""

from __future__ import annotations

import importlib
import random
import socket
import sys
import time
import traceback
import types
from typing import Any

import torch

from autograder.protocol import (
    ChannelClosed,
    Decoder,
    Encoder,
    MessageTooLarge,
    ProtocolError,
    backward_pairs,
    encode_message,
    map_tensors,
    recv_message,
)
from autograder.worker.forbid import Forbidder, guard_threads
from autograder.worker.state import Snapshot

# Captured at import, before any student code runs: the worker's own backward pass, and the library
# objects a check may ask for by name (so a student cannot swap them).
_autograd_backward = torch.autograd.backward
_LIB_ROOTS = ("torch", "math", "numpy", "torchvision", "timm")
# Libraries a check may reach with ``t.lib`` only when the zygote imported them before any student
# code (``Assignment(worker_libraries=...)``); their modules are snapshotted as the child starts.
_EXTRA_ROOTS = ("torchvision", "timm")


def _snapshot_library() -> dict[str, Any]:
    snap: dict[str, Any] = {}
    for name in ("torch", "torch.nn", "torch.nn.functional", "torch.nn.init", "torch.linalg",
                 "torch.optim", "math"):
        mod = importlib.import_module(name)
        snap[name] = dict(vars(mod))
    return snap


_LIBRARY = _snapshot_library()


def _snapshot_extra_libraries() -> None:
    """Add torchvision's and timm's modules, where the zygote imported them, to ``_LIBRARY``."""
    for name, mod in list(sys.modules.items()):
        if name.split(".")[0] in _EXTRA_ROOTS and isinstance(mod, types.ModuleType):
            _LIBRARY[name] = dict(vars(mod))


class Server:
    """Serves one submission over a connected socket."""

    def __init__(self, sock: socket.socket, max_payload: int):
        self.sock = sock
        self.max_payload = max_payload
        self.namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": __builtins__}
        self.handles: dict[int, Any] = {}
        self.handle_item: dict[int, str | None] = {}
        self.handle_of: dict[int, int] = {}  # id(tensor) -> its handle, to report identity
        self.next_handle = 0  # never reused: a released handle's number names nothing again
        self.items: set[str] = set()
        self.forbidder = Forbidder({})
        self.device = "cpu"
        self.state: Snapshot | None = None
        guard_threads()  # before any student code: its threads follow the forbidden-op guard
        _snapshot_extra_libraries()

    # -- the loop --------------------------------------------------------------------------
    def serve(self) -> None:
        while True:
            try:
                header, tensors = recv_message(self.sock, self.max_payload)
            except (ChannelClosed, ProtocolError, OSError):
                return
            op = header.get("op")
            if op == "exit":
                return
            self.student_value = False  # set by a call whose result the student's code made
            try:
                reply, enc = self.dispatch(op, header, tensors)
            except StudentCodeError as e:
                reply, enc = {"error": e.info}, None
            except Exception as e:  # a malformed request: report it, keep serving
                reply, enc = {"error": _error_info(e, student=False)}, None
            try:
                try:
                    message = encode_message(reply, enc.tensors if enc else None,
                                             self.max_payload)
                except MessageTooLarge as e:
                    message = encode_message({"error": {
                        "type": "ReplyTooLarge", "mro": ["ReplyTooLarge"], "size": e.size,
                        "limit": e.limit, "student": self.student_value, "traceback": "",
                        "message": f"a reply of {e.size / 2**20:.1f} MB is over the "
                                   f"{e.limit / 2**20:.0f} MB limit"}})
                self.sock.sendall(message)
            except (OSError, TypeError, ValueError) as e:
                self.sock.sendall(encode_message({"error": _error_info(e, student=False)}))

    def dispatch(self, op: str, h: dict, tensors: dict) -> tuple[dict, Encoder | None]:
        if op == "load":
            return self.load(h), None
        if op == "seed":
            _seed(int(h["seed"]))
            return {"ok": True}, None
        if op == "call":
            return self.call(h, tensors)
        if op == "getattr":
            target, item = self._resolve(h["target"], tensors)
            enc = self._encoder(item)
            with self.forbidder.active(item), _student_errors():
                return {"value": enc.encode(target)}, enc
        if op == "describe":
            target, item = self._resolve(h["target"], tensors)
            with self.forbidder.active(item), _student_errors():
                return {"value": describe(target)}, None
        if op == "put":  # a value the grader sends, kept here: a tensor the student may update
            value = self._decoder(tensors, device=str(h.get("device", self.device))).decode(
                h["value"])
            return {"value": self._hold(value, None)}, None
        if op == "hold":  # keep what a path names (a module's buffer, a parameter's .grad)
            target, item = self._resolve(h["target"], tensors)
            return {"value": self._hold(target, item)}, None
        if op in ("setattr", "setitem"):
            target, item = self._resolve(h["target"], tensors)
            value = self._decoder(tensors, device=str(h.get("device", self.device))).decode(
                h["value"])
            key = h["key"]
            with self.forbidder.active(item), _student_errors():
                if op == "setattr":
                    setattr(target, str(key), value)
                else:
                    target[key if not isinstance(key, list) else tuple(key)] = value
            return {"ok": True}, None
        if op == "release":
            for hid in h.get("handles", []):
                obj = self.handles.pop(hid, None)
                self.handle_item.pop(hid, None)
                if self.handle_of.get(id(obj)) == hid:
                    del self.handle_of[id(obj)]
            return {"ok": True, "held": len(self.handles)}, None
        if op == "exec":
            return self.exec_cell(h), None
        if op == "ping":
            return {"ok": True}, None
        raise ValueError(f"unknown op {op!r}")

    # -- load ------------------------------------------------------------------------------
    def load(self, h: dict) -> dict:
        self.items = set(h.get("items", []))
        self.device = h.get("device", "cpu")
        errors = []
        for chunk in h["chunks"]:
            try:
                exec(compile(chunk["source"], f"<cell {int(chunk['cell'])}>", "exec"),
                     self.namespace)
            except BaseException as e:  # noqa: BLE001 - student code may raise anything
                if isinstance(e, (KeyboardInterrupt,)):
                    raise
                info = _error_info(e, student=True)
                info["cell"] = chunk.get("cell")
                errors.append(info)
        # Forbidden names are patched only after the student's imports, so that aliases taken at
        # import time are caught by the dispatch-level guard instead.
        self.forbidder = Forbidder(h.get("forbid", {}))
        self.state = Snapshot()
        defined = sorted(n for n in self.items if n in self.namespace)
        return {"defined": defined, "errors": errors}

    # -- exec (validate: run a whole cell, as Jupyter would) ---------------------------------
    def exec_cell(self, h: dict) -> dict:
        import contextlib
        import io

        out = io.StringIO()
        error = None
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            try:
                code = compile(h["source"], f"<cell {int(h['cell'])}>", "exec")
                exec(code, self.namespace)
            except BaseException as e:  # noqa: BLE001 - report whatever the cell raised
                if isinstance(e, KeyboardInterrupt):
                    raise
                error = _error_info(e, student=True)
        text = out.getvalue()
        return {"ok": error is None, "cell_error": error,
                "output": text[-4000:]}

    # -- call ------------------------------------------------------------------------------
    def call(self, h: dict, tensors: dict) -> tuple[dict, Encoder]:
        target, item = self._resolve(h["target"], tensors)
        device = str(h.get("device", self.device))
        dec = self._decoder(tensors, device=device)
        args = dec.decode(h.get("args", []))
        kwargs = dec.decode(h.get("kwargs", {"__dict__": []}))
        if not isinstance(kwargs, dict) or not all(isinstance(k, str) for k in kwargs):
            raise ValueError("kwargs must be a dict with str keys")
        grad_output = None
        if h.get("grad_output") is not None:
            grad_output = dec.decode(h["grad_output"])
        number = max(1, int(h.get("number", 1)))
        if self.state:
            self.state.restore()
        default_dtype = h.get("default_dtype")  # a check's t.default_dtype(...): this call only
        if default_dtype in ("float64", "float32"):
            torch.set_default_dtype(getattr(torch, default_dtype))
        enc = self._encoder(item)
        reply: dict[str, Any] = {}
        owner = getattr(target, "__self__", target)
        self.student_value = _defined_in_notebook(target)
        # Everything that can run the student's code stays inside the guard: the call, the
        # backward pass, and the encoding of the result (a patched Tensor method, a module's
        # named_parameters), so that no forbidden operation escapes it.
        with self.forbidder.active(item), _student_errors():
            if grad_output is not None:  # gradients of this call only, not of earlier ones
                _zero_grads(owner, args, kwargs)
            start = time.perf_counter()
            for _ in range(number):
                result = target(*args, **kwargs)
            if grad_output is not None:
                outputs, grads = backward_pairs(result, grad_output)
                if outputs:
                    _autograd_backward(outputs, grads)
            if device.startswith("cuda"):  # kernels run asynchronously: time them, not launches
                torch.cuda.synchronize()
            reply["elapsed"] = time.perf_counter() - start
            reply["value"] = None if h.get("discard") else enc.encode(result)
            if grad_output is not None:
                params = {}
                if isinstance(owner, torch.nn.Module):
                    params = {n: p.grad for n, p in owner.named_parameters()}
                reply["grads"] = {"inputs": enc.encode(_input_grads(args)),
                                  "kwargs": enc.encode(_input_grads(kwargs)),
                                  "params": enc.encode(params)}
        if self.state:
            self.state.restore()
        return reply, enc

    # -- helpers ---------------------------------------------------------------------------
    def _resolve(self, ref: dict, tensors: dict) -> tuple[Any, str | None]:
        """A call target: a student name path, a handle (and attribute path), or a library name."""
        if not isinstance(ref, dict):
            raise ValueError("bad target")
        path = ref.get("path", [])
        if not isinstance(path, list):
            raise ValueError("bad path")
        if "name" in ref:
            root = str(ref["name"])
            if root not in self.namespace:
                raise StudentCodeError({"type": "NameError", "mro": ["NameError"],
                                        "message": f"name {root!r} is not defined",
                                        "traceback": ""})
            obj, item = self.namespace[root], root if root in self.items else None
        elif "handle" in ref:
            hid = int(ref["handle"])
            obj, item = self.handles[hid], self.handle_item.get(hid)
        elif "lib" in ref:
            obj, item = _library_object(str(ref["lib"])), None
        else:
            raise ValueError("bad target")
        with self.forbidder.active(item), _student_errors():
            for step in path:
                kind, key = step
                if kind == "a":
                    obj = getattr(obj, str(key))
                elif kind == "i":
                    obj = obj[tuple(key) if isinstance(key, list) else key]
                else:
                    raise ValueError("bad path step")
        return obj, item

    def _encoder(self, item: str | None = None) -> Encoder:
        def meta(t: torch.Tensor) -> dict:
            out: dict[str, Any] = {"dtype": str(t.dtype)}
            hid = self.handle_of.get(id(t))
            if hid is not None and self.handles.get(hid) is t:
                out["handle"] = hid  # the very tensor the grader holds as this handle
            return out

        return Encoder(fallback=lambda obj: self._hold(obj, item), tensor_meta=meta)

    def _hold(self, obj: Any, item: str | None) -> dict:
        """Keep ``obj`` here under a new handle number; its encoding for the grader."""
        self.next_handle += 1
        hid = self.next_handle
        self.handles[hid] = obj
        self.handle_item[hid] = item
        if isinstance(obj, torch.Tensor):
            self.handle_of[id(obj)] = hid
        return {"__handle__": hid, "type": _type_name(obj)}

    def _decoder(self, tensors: dict, device: str) -> Decoder:
        def place(t: torch.Tensor, meta: dict) -> torch.Tensor:
            t = t.to(meta.get("device") or device)
            if meta.get("requires_grad"):
                t.requires_grad_(True)
            return t

        def special(obj: dict) -> Any:
            if "__ref__" in obj:
                value, _ = self._resolve(obj["__ref__"], tensors)
                return value
            raise ProtocolError("unknown tag")

        return Decoder(tensors, tensor_hook=place, special=special)


class StudentCodeError(Exception):
    """An exception raised by the student's code, reduced to plain data."""

    def __init__(self, info: dict):
        super().__init__(info.get("message", ""))
        self.info = info


class _student_errors:
    def __enter__(self):
        return self

    def __exit__(self, et, e, tb):
        if e is None or isinstance(e, (StudentCodeError, KeyboardInterrupt)):
            return False
        raise StudentCodeError(_error_info(e, student=True)) from None


def _error_info(e: BaseException, student: bool) -> dict:
    mro = [c.__name__ for c in type(e).__mro__]
    message = _safe_str(e)
    frames = []
    if student:
        for fs in traceback.extract_tb(e.__traceback__):
            if fs.filename.startswith("<cell "):
                frames.append(f"{fs.filename[1:-1]}, line {fs.lineno}, in {fs.name}")
    if isinstance(e, SyntaxError) and str(e.filename).startswith("<cell "):
        frames.append(f"{e.filename[1:-1]}, line {e.lineno}")
    return {"type": type(e).__name__, "mro": mro, "message": message[:2000],
            "traceback": "\n".join(frames[-8:]), "student": student}


def _safe_str(e: BaseException) -> str:
    try:
        return str(e)
    except BaseException:  # noqa: BLE001 - a hostile __str__
        return "<unprintable exception>"


def _type_name(obj: Any) -> str:
    t = type(obj)
    mod = t.__module__ if isinstance(t.__module__, str) else "?"
    return t.__qualname__ if mod in ("builtins", "__main__") else f"{mod}.{t.__qualname__}"


def _library_object(dotted: str) -> Any:
    if dotted.split(".")[0] not in _LIB_ROOTS:
        raise ValueError(f"{dotted} is not a library object")
    parts = dotted.split(".")
    for i in range(len(parts) - 1, 0, -1):
        mod = ".".join(parts[:i])
        if mod in _LIBRARY and parts[i] in _LIBRARY[mod]:
            obj = _LIBRARY[mod][parts[i]]
            for p in parts[i + 1:]:
                obj = getattr(obj, p)
            return obj
    if parts[0] in _EXTRA_ROOTS:
        raise ValueError(f"{parts[0]} was not loaded before the student's code: declare it in "
                         f"Assignment(worker_libraries=[{parts[0]!r}])")
    return _plain_lookup(dotted)


def _plain_lookup(dotted: str) -> Any:
    parts = dotted.split(".")
    obj: Any = importlib.import_module(parts[0])
    for p in parts[1:]:
        obj = getattr(obj, p)
    return obj


def class_origin(cls: type, depth: int = 0) -> dict:
    """Where a class comes from: its module and qualified name, whether the notebook defined it,
    and the same for its direct bases (followed through the notebook's own classes)."""
    module = cls.__module__ if isinstance(cls.__module__, str) else "?"
    notebook = module == "__main__"
    info: dict[str, Any] = {"module": module, "qualname": str(cls.__qualname__),
                            "notebook": notebook}
    if notebook and depth < 16:
        info["bases"] = [class_origin(b, depth + 1) for b in cls.__bases__]
    else:
        info["bases"] = [{"module": str(b.__module__), "qualname": str(b.__qualname__),
                          "notebook": b.__module__ == "__main__"} for b in cls.__bases__]
    return info


def describe(obj: Any) -> dict:
    """Class name and origin, mode, parameter/buffer shapes, state_dict keys and every
    submodule's class and origin of a module (or the origin of a class, or the type of
    anything)."""
    info: dict[str, Any] = {"class": type(obj).__name__, "type": _type_name(obj)}
    if isinstance(obj, type):
        info["origin"] = class_origin(obj)
        return info
    info["origin"] = class_origin(type(obj))
    if isinstance(obj, torch.nn.Module):
        info["tree"] = {n: class_origin(type(m)) for n, m in obj.named_modules() if n}
        info["state_dict"] = {k: [list(v.shape), str(v.dtype).removeprefix("torch.")]
                              for k, v in obj.state_dict(keep_vars=True).items()
                              if isinstance(v, torch.Tensor)}
        info["training"] = bool(obj.training)
        info["parameters"] = {n: [list(p.shape), str(p.dtype).removeprefix("torch."),
                                  str(p.device), bool(p.requires_grad)]
                              for n, p in obj.named_parameters()}
        info["buffers"] = {n: [list(b.shape), str(b.dtype).removeprefix("torch."), str(b.device)]
                           for n, b in obj.named_buffers()}
        info["modules"] = {n: type(m).__name__ for n, m in obj.named_modules() if n}
    return info


def _defined_in_notebook(fn: Any) -> bool:
    """Whether calling ``fn`` runs a function the notebook defined (a student's function, method
    or module forward) rather than library code (``state_dict``, ``parameters``)."""
    fn = getattr(fn, "__func__", fn)
    code = getattr(fn, "__code__", None)
    if code is None and not isinstance(fn, type):
        forward = getattr(type(fn), "forward", None) or vars(type(fn)).get("__call__")
        code = getattr(getattr(forward, "__func__", forward), "__code__", None)
    if isinstance(fn, type):
        return fn.__module__ == "__main__"
    return bool(code is not None and str(code.co_filename).startswith("<cell "))


def _zero_grads(owner: Any, args: tuple, kwargs: dict) -> None:
    """Forget the gradients earlier calls left on a module's parameters and on held inputs."""
    if isinstance(owner, torch.nn.Module):
        for p in owner.parameters():
            p.grad = None
    for t in _leaves((args, kwargs)):
        if t.is_leaf and t.requires_grad:
            t.grad = None


def _leaves(v: Any) -> list[torch.Tensor]:
    if isinstance(v, torch.Tensor):
        return [v]
    if isinstance(v, (list, tuple)):
        return [t for x in v for t in _leaves(x)]
    if isinstance(v, dict):
        return [t for x in v.values() for t in _leaves(x)]
    return []


def _input_grads(v: Any) -> Any:
    """The gradient of every tensor input that asked for one, in the inputs' structure."""
    return map_tensors(v, lambda t: t.grad if t.requires_grad else None)


def _seed(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)
    np = sys.modules.get("numpy")
    if isinstance(np, types.ModuleType) and hasattr(np, "random"):
        np.random.seed(seed % (2**32))

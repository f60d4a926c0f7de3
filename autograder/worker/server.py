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
    ProtocolError,
    recv_message,
    send_message,
    tensor_leaves,
)
from autograder.worker.forbid import Forbidder, guard_threads
from autograder.worker.state import Snapshot

# Captured at import, before any student code runs: the worker's own backward pass, and the library
# objects a check may ask for by name (so a student cannot swap them).
_autograd_backward = torch.autograd.backward
_LIB_ROOTS = ("torch", "math", "numpy")


def _snapshot_library() -> dict[str, Any]:
    snap: dict[str, Any] = {}
    for name in ("torch", "torch.nn", "torch.nn.functional", "torch.nn.init", "torch.linalg",
                 "torch.optim", "math"):
        mod = importlib.import_module(name)
        snap[name] = dict(vars(mod))
    return snap


_LIBRARY = _snapshot_library()


class Server:
    """Serves one submission over a connected socket."""

    def __init__(self, sock: socket.socket, max_payload: int):
        self.sock = sock
        self.max_payload = max_payload
        self.namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": __builtins__}
        self.handles: dict[int, Any] = {}
        self.handle_item: dict[int, str | None] = {}
        self.items: set[str] = set()
        self.forbidder = Forbidder({})
        self.device = "cpu"
        self.state: Snapshot | None = None
        guard_threads()  # before any student code: its threads follow the forbidden-op guard

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
            try:
                reply, enc = self.dispatch(op, header, tensors)
            except StudentCodeError as e:
                reply, enc = {"error": e.info}, None
            except Exception as e:  # a malformed request: report it, keep serving
                reply, enc = {"error": _error_info(e, student=False)}, None
            try:
                send_message(self.sock, reply, enc.tensors if enc else None)
            except (OSError, TypeError, ValueError) as e:
                send_message(self.sock, {"error": _error_info(e, student=False)})

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
        if op == "release":
            for hid in h.get("handles", []):
                self.handles.pop(hid, None)
                self.handle_item.pop(hid, None)
            return {"ok": True}, None
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
        enc = self._encoder(item)
        reply: dict[str, Any] = {}
        # Everything that can run the student's code stays inside the guard: the call, the
        # backward pass, and the encoding of the result (a patched Tensor method, a module's
        # named_parameters), so that no forbidden operation escapes it.
        with self.forbidder.active(item), _student_errors():
            start = time.perf_counter()
            for _ in range(number):
                result = target(*args, **kwargs)
            if grad_output is not None:
                _autograd_backward(tensor_leaves(result), tensor_leaves(grad_output))
            if device.startswith("cuda"):  # kernels run asynchronously: time them, not launches
                torch.cuda.synchronize()
            reply["elapsed"] = time.perf_counter() - start
            reply["value"] = None if h.get("discard") else enc.encode(result)
            if grad_output is not None:
                inputs = [a.grad if isinstance(a, torch.Tensor) and a.requires_grad else None
                          for a in args]
                params = {}
                owner = getattr(target, "__self__", target)
                if isinstance(owner, torch.nn.Module):
                    params = {n: p.grad for n, p in owner.named_parameters()}
                reply["grads"] = {"inputs": enc.encode(inputs), "params": enc.encode(params)}
        if self.state:
            self.state.restore()
        return reply, enc

    # -- helpers ---------------------------------------------------------------------------
    def _resolve(self, ref: dict, tensors: dict) -> tuple[Any, str | None]:
        """A call target: a student name path, a handle (and attribute path), or a library name."""
        if not isinstance(ref, dict):
            raise ValueError("bad target")
        path = [p for p in str(ref.get("attr", "")).split(".") if p]
        if "name" in ref:
            names = str(ref["name"]).split(".")
            root = names[0]
            if root not in self.namespace:
                raise StudentCodeError({"type": "NameError", "mro": ["NameError"],
                                        "message": f"name {root!r} is not defined",
                                        "traceback": ""})
            obj, item = self.namespace[root], root if root in self.items else None
            path = names[1:] + path
        elif "handle" in ref:
            hid = int(ref["handle"])
            obj, item = self.handles[hid], self.handle_item.get(hid)
        elif "lib" in ref:
            obj, item = _library_object(str(ref["lib"])), None
        else:
            raise ValueError("bad target")
        with self.forbidder.active(item), _student_errors():
            for p in path:
                obj = getattr(obj, p)
        return obj, item

    def _encoder(self, item: str | None = None) -> Encoder:
        def to_handle(obj: Any) -> dict:
            hid = len(self.handles) + 1
            while hid in self.handles:
                hid += 1
            self.handles[hid] = obj
            self.handle_item[hid] = item
            return {"__handle__": hid, "type": _type_name(obj)}

        return Encoder(fallback=to_handle, tensor_meta=lambda t: {"dtype": str(t.dtype)})

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
    return _plain_lookup(dotted)


def _plain_lookup(dotted: str) -> Any:
    parts = dotted.split(".")
    obj: Any = importlib.import_module(parts[0])
    for p in parts[1:]:
        obj = getattr(obj, p)
    return obj


def describe(obj: Any) -> dict:
    """Class name, mode and parameter/buffer shapes of a module (or just the type of anything)."""
    info: dict[str, Any] = {"class": type(obj).__name__, "type": _type_name(obj)}
    if isinstance(obj, torch.nn.Module):
        info["training"] = bool(obj.training)
        info["parameters"] = {n: [list(p.shape), str(p.dtype).removeprefix("torch."),
                                  str(p.device), bool(p.requires_grad)]
                              for n, p in obj.named_parameters()}
        info["buffers"] = {n: [list(b.shape), str(b.dtype).removeprefix("torch."), str(b.device)]
                           for n, b in obj.named_buffers()}
        info["modules"] = {n: type(m).__name__ for n, m in obj.named_modules() if n}
    return info


def _seed(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)
    np = sys.modules.get("numpy")
    if isinstance(np, types.ModuleType) and hasattr(np, "random"):
        np.random.seed(seed % (2**32))

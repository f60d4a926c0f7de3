"""The ``t`` a check receives: seeded inputs, calls into the worker, references, assertions.

Everything here runs in the grader's process. Calls to the student's code are messages to the
worker; what comes back is decoded into plain data (CPU tensors, numbers, strings, containers) or a
``Remote`` handle. Nothing from the worker is executed or unpickled.
"""

from __future__ import annotations

import copy
import statistics
import time
import weakref
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch

from autograder.checks.errors import CheckFailed, StudentError
from autograder.checks.tolerances import tolerance
from autograder.protocol import Decoder, Encoder, ProtocolError, tensor_leaves


@dataclass
class Grads:
    """An output and the gradients that flowed back to the inputs and parameters."""

    output: Any
    inputs: list[torch.Tensor | None]
    params: dict[str, torch.Tensor]


class Remote:
    """A name or object in the worker: call it, take attributes, read values with ``attr``."""

    def __init__(self, ctx: CheckContext, ref: dict, label: str, type_name: str = ""):
        object.__setattr__(self, "_ctx", ctx)
        object.__setattr__(self, "_ref", ref)
        object.__setattr__(self, "_label", label)
        object.__setattr__(self, "_type", type_name)

    def __getattr__(self, name: str) -> Remote:
        if name.startswith("__"):
            raise AttributeError(name)
        ref = dict(self._ref)
        if "name" in ref:
            ref["name"] = f"{ref['name']}.{name}"
        else:
            ref["attr"] = f"{ref.get('attr', '')}.{name}".lstrip(".")
        return Remote(self._ctx, ref, f"{self._label}.{name}")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._ctx._call(self, args, kwargs)

    def attr(self, name: str) -> Any:
        """The value of an attribute, as plain data (or a Remote)."""
        return self._ctx._getattr(getattr(self, name))

    @property
    def type_name(self) -> str:
        return self._type

    def __repr__(self) -> str:
        return f"<remote {self._label}>"


class _StudentNamespace:
    def __init__(self, ctx: CheckContext):
        self._ctx = ctx

    def __getattr__(self, name: str) -> Remote:
        if name.startswith("__"):
            raise AttributeError(name)
        return Remote(self._ctx, {"name": name}, name)


class CheckContext:
    """What a check is given. See docs/writing-checks.md."""

    def __init__(self, link, dtype: torch.dtype | None, device: str, seed: int, timeout: float,
                 signatures: dict[str, list[str]] | None = None, show_expected: bool = False):
        self._link = link  # sends requests to the worker: link.request(header, tensors, timeout)
        self.dtype = dtype or torch.float32
        self.device = device
        self.seed = seed
        self.generator = torch.Generator().manual_seed(seed)
        self.student = _StudentNamespace(self)
        self.notes: list[str] = []
        self._deadline = time.monotonic() + timeout
        self._timeout = timeout
        self._devices: dict[int, tuple[weakref.ref, str]] = {}  # id -> (tensor ref, device)
        self._signatures = signatures or {}
        self.last_call = ""
        # whether failure messages may quote reference values (``@A.check(show_expected=True)``)
        self.show_expected = show_expected

    # -- inputs -----------------------------------------------------------------------------
    def randn(self, *shape: int, requires_grad: bool = False) -> torch.Tensor:
        x = torch.randn(*shape, generator=self.generator, dtype=self.dtype)
        return x.requires_grad_(requires_grad)

    def rand(self, *shape: int, requires_grad: bool = False) -> torch.Tensor:
        x = torch.rand(*shape, generator=self.generator, dtype=self.dtype)
        return x.requires_grad_(requires_grad)

    def randint(self, low: int, high: int, shape: Sequence[int]) -> torch.Tensor:
        return torch.randint(low, high, tuple(shape), generator=self.generator)

    def randperm(self, n: int) -> torch.Tensor:
        return torch.randperm(n, generator=self.generator)

    def choice(self, seq: Sequence[Any]) -> Any:
        return seq[int(torch.randint(len(seq), (1,), generator=self.generator))]

    # -- the worker ---------------------------------------------------------------------------
    def lib(self, dotted: str) -> Remote:
        """A library object (torch, math, numpy) in the worker, as before student code ran."""
        return Remote(self, {"lib": dotted}, dotted)

    def build(self, ctor: Remote, *args: Any, **kwargs: Any) -> Remote:
        """Construct a module in the worker and move it to this check's device and dtype."""
        module = ctor(*args, **kwargs)
        if not isinstance(module, Remote):
            raise CheckFailed(f"{self.last_call} did not return an nn.Module "
                              f"(got {_kind(module)})")
        moved = module.to(device=torch.device(self.device), dtype=self.dtype)
        return moved if isinstance(moved, Remote) else module

    def grad(self, fn: Remote, *args: Any, grad_output: Any, **kwargs: Any) -> Grads:
        """Call ``fn`` in the worker and back-propagate ``grad_output``."""
        reply, value = self._call(fn, args, kwargs, grad_output=grad_output, full=True)
        grads = reply.get("grads") or {}
        inputs = self._decode(grads.get("inputs", []), reply["__tensors__"])
        params = self._decode(grads.get("params", {"__dict__": []}), reply["__tensors__"])
        return Grads(value, list(inputs), dict(params))

    def time(self, fn: Remote, *args: Any, number: int = 3, repeat: int = 5,
             warmup: bool = True, **kwargs: Any) -> float:
        """Median seconds per call, measured by the grader's clock around the worker.

        ``warmup=False`` skips the untimed first call (when ``fn`` has just been timed already).
        """
        if warmup:
            self._call(fn, args, kwargs, discard=True)
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            self._call(fn, args, kwargs, number=number, discard=True)
            times.append((time.perf_counter() - start) / number)
        return statistics.median(times)

    def describe(self, remote: Remote) -> dict:
        """Class name, training flag, parameter and buffer names/shapes of a remote module."""
        reply, _ = self._request({"op": "describe", "target": remote._ref}, None, remote._label)
        return self._decode_plain(reply["value"])

    def state_dict(self, remote: Remote) -> dict[str, torch.Tensor]:
        sd = remote.state_dict()
        if not isinstance(sd, dict):
            raise CheckFailed(f"{remote._label}.state_dict() did not return a dict")
        return sd

    def load_state_dict(self, remote: Remote, source: Any, strict: bool = True) -> None:
        """Load a reference module's (or a dict's) weights into the student's module."""
        sd = source.state_dict() if isinstance(source, torch.nn.Module) else source
        remote.load_state_dict({k: v for k, v in sd.items()}, strict=strict)

    @contextmanager
    def raises(self, exc_type: type[BaseException]):
        """The student's code inside the block must raise ``exc_type`` (or a subclass)."""
        try:
            yield
        except StudentError as e:
            if not e.is_a(exc_type):
                raise CheckFailed(f"{e.call} raised {e.type_name}, expected {exc_type.__name__}: "
                                  f"{e.info.get('message', '')}") from None
            return
        raise CheckFailed(f"{self.last_call} should raise {exc_type.__name__}")

    # -- references ---------------------------------------------------------------------------
    def reference(self, fn: Callable, *args: Any, **kwargs: Any) -> Any:
        """``fn`` on float64 copies of the inputs, on the CPU, without gradients."""
        with torch.no_grad():
            return _call_f64(fn, args, kwargs)[0]

    def reference_grad(self, fn: Callable, *args: Any, grad_output: Any, **kwargs: Any) -> Grads:
        out, f64_args, module = _call_f64(fn, args, kwargs, keep_grad=True)
        grads = [g.double() for g in tensor_leaves(grad_output)]
        torch.autograd.backward(tensor_leaves(out), grads)
        inputs = [a.grad if isinstance(a, torch.Tensor) and a.requires_grad else None
                  for a in f64_args]
        params = {}
        if module is not None:
            params = {n: p.grad for n, p in module.named_parameters()}
        return Grads(_detach(out), inputs, params)

    # -- assertions ---------------------------------------------------------------------------
    def fail(self, message: str) -> None:
        raise CheckFailed(message)

    def assert_true(self, condition: Any, message: str) -> None:
        if not condition:
            raise CheckFailed(message)

    def note(self, text: str) -> None:
        self.notes.append(text)

    def device_of(self, tensor: torch.Tensor) -> str:
        entry = self._devices.get(id(tensor))
        return entry[1] if entry is not None and entry[0]() is tensor else "cpu"

    def assert_close(self, got: Any, want: Any, op: str = "elementwise", what: str = "output",
                     dtype: torch.dtype | None = None) -> None:
        """``got`` equals the reference ``want`` within the tolerance for ``op``; see the docs."""
        where = f"{self.last_call}: " if self.last_call else ""
        if isinstance(want, torch.Tensor):
            self._close_tensor(got, want, op, what, dtype or self.dtype, where)
        elif isinstance(want, (list, tuple)):
            if type(got) is not type(want):
                raise CheckFailed(f"{where}{what} should be a {type(want).__name__} of "
                                  f"{len(want)}, got {_kind(got)}")
            if len(got) != len(want):
                raise CheckFailed(f"{where}{what} should have {len(want)} elements, got {len(got)}")
            for i, (g, w) in enumerate(zip(got, want)):
                self.assert_close(g, w, op, f"{what}[{i}]", dtype)
        elif isinstance(want, dict):
            if not isinstance(got, dict) or set(got) != set(want):
                raise CheckFailed(f"{where}{what} should be a dict with keys {sorted(want)}")
            for k in want:
                self.assert_close(got[k], want[k], op, f"{what}[{k!r}]", dtype)
        elif isinstance(want, float):
            if type(got) not in (float, int) or isinstance(got, bool):
                raise CheckFailed(f"{where}{what} should be a float, got {_kind(got)}")
            atol, rtol = tolerance(op, dtype or self.dtype)
            if not abs(got - want) <= atol + rtol * abs(want):
                raise CheckFailed(f"{where}{what} is {got:.6g}, "
                                  + (f"expected {want:.6g}" if self.show_expected else
                                     f"not the reference value (allowed {atol:.0e} + "
                                     f"{rtol:.0e}·|ref|)"))
        else:
            self.assert_equal(got, want, what)

    def assert_equal(self, got: Any, want: Any, what: str = "result") -> None:
        """Exact equality with exact types (an int is not a bool, a float or a tensor)."""
        where = f"{self.last_call}: " if self.last_call else ""
        if isinstance(want, torch.Tensor):
            if type(got) is not torch.Tensor:
                raise CheckFailed(f"{where}{what} should be a torch.Tensor, got {_kind(got)}")
            if got.dtype != want.dtype or got.shape != want.shape or not torch.equal(got, want):
                raise CheckFailed(f"{where}{what} differs from the expected tensor "
                                  f"({_tdesc(got)} vs {_tdesc(want)})")
            return
        if type(got) is not type(want):
            raise CheckFailed(f"{where}{what} should be {_kind(want)}, got {_kind(got)}")
        if isinstance(want, (list, tuple)):
            if len(got) != len(want):
                raise CheckFailed(f"{where}{what} should have {len(want)} elements, got {len(got)}")
            for i, (g, w) in enumerate(zip(got, want)):
                self.assert_equal(g, w, f"{what}[{i}]")
            return
        if isinstance(want, dict):
            if set(got) != set(want):
                missing, extra = sorted(set(want) - set(got)), sorted(set(got) - set(want))
                raise CheckFailed(f"{where}{what} keys differ (missing {missing[:5]}, "
                                  f"unexpected {extra[:5]})")
            for k in want:
                self.assert_equal(got[k], want[k], f"{what}[{k!r}]")
            return
        if got != want:
            raise CheckFailed(f"{where}{what} is {_short(got)}, "
                              + (f"expected {_short(want)}" if self.show_expected
                                 else "not the expected value"))

    def assert_state_dict_matches(self, remote: Remote, reference: torch.nn.Module) -> None:
        """Same parameter and buffer names and shapes as the reference module."""
        got = self.describe(remote)
        mine = {k: v[0] for k, v in {**got.get("parameters", {}), **got.get("buffers", {})}.items()}
        want = {k: list(v.shape) for k, v in reference.state_dict().items()}
        missing = [k for k in want if k not in mine]
        extra = [k for k in mine if k not in want]
        if missing or extra:
            raise CheckFailed(f"{remote._label}: state_dict names differ from the specification: "
                              f"missing {missing[:5]}{'…' if len(missing) > 5 else ''}, "
                              f"unexpected {extra[:5]}{'…' if len(extra) > 5 else ''}")
        for k, shape in want.items():
            if mine[k] != shape:
                raise CheckFailed(f"{remote._label}: {k} has shape {tuple(mine[k])}, expected "
                                  f"{tuple(shape)}")

    # -- plumbing -----------------------------------------------------------------------------
    def _close_tensor(self, got, want, op, what, dtype, where) -> None:
        if type(got) is not torch.Tensor:
            raise CheckFailed(f"{where}{what} should be a torch.Tensor, got {_kind(got)}")
        if got.dtype != dtype:
            raise CheckFailed(f"{where}{what} has dtype {_dt(got.dtype)}, expected {_dt(dtype)} "
                              "(tensors you create must follow the input's dtype)")
        want_dev = torch.device(self.device)
        got_dev = torch.device(self.device_of(got))
        if got_dev.type != want_dev.type:
            raise CheckFailed(f"{where}{what} is on {got_dev}, expected {want_dev.type} "
                              "(tensors you create must follow the input's device)")
        if tuple(got.shape) != tuple(want.shape):
            raise CheckFailed(f"{where}{what} has shape {tuple(got.shape)}, expected "
                              f"{tuple(want.shape)}")
        if got.numel() == 0:
            return
        g, w = got.double(), want.double()
        bad_nan = torch.isnan(g) & ~torch.isnan(w)
        if bad_nan.any():
            raise CheckFailed(f"{where}{what} contains {int(bad_nan.sum())} NaN value(s)")
        atol, rtol = tolerance(op, dtype)
        both_inf = torch.isinf(g) & torch.isinf(w) & (torch.sign(g) == torch.sign(w))
        err = torch.where(both_inf, torch.zeros_like(g), (g - w).abs())
        err = torch.nan_to_num(err, nan=0.0, posinf=float("inf"))
        bad = err > atol + rtol * w.abs().nan_to_num(posinf=0.0)
        if bad.any():
            idx = int(torch.argmax(torch.where(bad, err, torch.zeros_like(err))))
            index = tuple(int(i) for i in torch.unravel_index(torch.tensor(idx), got.shape))
            rel = err / w.abs().clamp_min(1e-300)
            raise CheckFailed(
                f"{where}{what} differs from the reference at {int(bad.sum())} of {got.numel()} "
                f"positions: max abs error {float(err.max()):.3g}, max rel error "
                f"{float(torch.where(bad, rel, torch.zeros_like(rel)).max()):.3g} "
                f"(allowed {atol:.0e} + {rtol:.0e}·|ref|); worst at index {index}"
                + (f": got {float(g.flatten()[idx]):.6g}, expected {float(w.flatten()[idx]):.6g}"
                   if self.show_expected else "")
            )

    def _remaining(self) -> float:
        left = self._deadline - time.monotonic()
        if left <= 0:
            from autograder.session import WorkerTimeout

            raise WorkerTimeout(f"the check ran past its {self._timeout:g} s limit")
        return left

    def _request(self, header: dict, tensors: dict | None, label: str) -> tuple[dict, dict]:
        reply, out_tensors = self._link.request(header, tensors, self._remaining())
        if "error" in reply:
            info = reply["error"] if isinstance(reply["error"], dict) else {"message": "?"}
            if info.get("student", True):
                raise StudentError(info, call=self.last_call or label)
            raise RuntimeError(f"worker rejected request: {info.get('message')}")
        return reply, out_tensors

    def _call(self, fn: Remote, args: tuple, kwargs: dict, grad_output: Any = None,
              number: int = 1, discard: bool = False, full: bool = False) -> Any:
        if not isinstance(fn, Remote):
            raise TypeError("call the student's code through t.student.<name> or t.lib(...)")
        self.last_call = self._describe_call(fn, args, kwargs)
        enc = Encoder(fallback=_encode_remote, tensor_meta=self._tensor_meta)
        header = {"op": "call", "target": fn._ref, "args": enc.encode(list(args)),
                  "kwargs": enc.encode(dict(kwargs)), "number": number, "discard": discard,
                  "device": self.device}
        if grad_output is not None:
            header["grad_output"] = enc.encode(grad_output)
        reply, tensors = self._request(header, enc.tensors, fn._label)
        value = self._decode(reply.get("value"), tensors)
        if full:
            reply["__tensors__"] = tensors
            return reply, value
        return value

    def _getattr(self, remote: Remote) -> Any:
        reply, tensors = self._request({"op": "getattr", "target": remote._ref}, None,
                                       remote._label)
        return self._decode(reply.get("value"), tensors)

    def _decode(self, value: Any, tensors: dict) -> Any:
        def hook(t: torch.Tensor, meta: dict) -> torch.Tensor:
            t = t.clone()
            self._devices[id(t)] = (weakref.ref(t), str(meta.get("device", "cpu")))
            return t

        def special(obj: dict) -> Any:
            if "__handle__" in obj:
                return Remote(self, {"handle": int(obj["__handle__"])},
                              str(obj.get("type", "object")).rsplit(".", 1)[-1],
                              str(obj.get("type", "")))
            raise ProtocolError("unknown tag from worker")

        return Decoder(tensors, tensor_hook=hook, special=special).decode(value)

    def _decode_plain(self, value: Any) -> Any:
        return value

    def _tensor_meta(self, t: torch.Tensor) -> dict:
        return {"device": self.device, "requires_grad": bool(t.requires_grad)}

    def _describe_call(self, fn: Remote, args: tuple, kwargs: dict) -> str:
        names = self._signatures.get(fn._label.split(".")[0], [])
        if names and names[0] in ("self", "cls", "ctx"):
            names = names[1:]
        parts = []
        for i, a in enumerate(args):
            label = f"{names[i]}=" if i < len(names) and fn._label.count(".") == 0 else ""
            parts.append(label + _short(a))
        parts += [f"{k}={_short(v)}" for k, v in kwargs.items()]
        return f"{fn._label}({', '.join(parts)})"


def _encode_remote(obj: Any) -> dict:
    if isinstance(obj, Remote):
        return {"__ref__": obj._ref}
    raise TypeError(f"cannot send an object of type {type(obj).__name__} to the worker")


def _call_f64(fn: Callable, args: tuple, kwargs: dict, keep_grad: bool = False):
    def conv(v: Any) -> Any:
        if isinstance(v, torch.Tensor):
            out = v.detach().to("cpu")
            if out.is_floating_point():
                out = out.double()
            if keep_grad and v.requires_grad:
                out.requires_grad_(True)
            return out
        if isinstance(v, torch.nn.Module):
            return copy.deepcopy(v).to("cpu").double()
        if isinstance(v, (list, tuple)):
            return type(v)(conv(x) for x in v)
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        return v

    module = conv(fn) if isinstance(fn, torch.nn.Module) else None
    f64_args = [conv(a) for a in args]
    f64_kwargs = {k: conv(v) for k, v in kwargs.items()}
    out = (module or fn)(*f64_args, **f64_kwargs)
    return out, f64_args, module


def _detach(v: Any) -> Any:
    if isinstance(v, torch.Tensor):
        return v.detach()
    if isinstance(v, (list, tuple)):
        return type(v)(_detach(x) for x in v)
    return v


def _dt(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def _tdesc(t: torch.Tensor) -> str:
    return f"Tensor{tuple(t.shape)} {_dt(t.dtype)}"


def _kind(v: Any) -> str:
    if isinstance(v, Remote):
        return f"an object of type {v.type_name or 'unknown'}"
    if isinstance(v, torch.Tensor):
        return f"a tensor of shape {tuple(v.shape)} ({_dt(v.dtype)})"
    if v is None:
        return "None"
    name = type(v).__name__
    article = "an" if name[:1].lower() in "aeiou" else "a"
    return f"{article} {name} ({str(v)[:40]})"


def _short(v: Any) -> str:
    if isinstance(v, torch.Tensor):
        return f"Tensor{tuple(v.shape)}"
    if isinstance(v, Remote):
        return v._label
    if isinstance(v, (list, tuple)) and len(v) > 6:
        return f"{type(v).__name__} of {len(v)}"
    if isinstance(v, dict):
        return f"dict of {len(v)}"
    if isinstance(v, (list, tuple)):
        inner = ", ".join(_short(x) for x in v)
        return f"[{inner}]" if isinstance(v, list) else f"({inner}{',' if len(v) == 1 else ''})"
    r = repr(v)
    return r if len(r) <= 40 else r[:37] + "..."

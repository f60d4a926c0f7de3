"""The ``t`` a check receives: seeded inputs, calls into the worker, references, assertions.

Everything here runs in the grader's process. Calls to the student's code are messages to the
worker; what comes back is decoded into plain data (CPU tensors, numbers, strings, containers) or a
``Remote`` handle. Nothing from the worker is executed or unpickled.
"""

from __future__ import annotations

import copy
import hashlib
import statistics
import time
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch

from autograder.checks import integrity
from autograder.checks.errors import CheckFailed, StudentError
from autograder.checks.remote import Remote, StudentNamespace
from autograder.checks.tolerances import tolerance
from autograder.protocol import (
    Decoder,
    Encoder,
    MessageTooLarge,
    NumpyScalar,
    ProtocolError,
    backward_pairs,
    map_tensors,
)


class CheckError(RuntimeError):
    """The check itself went wrong (not the student's code): an internal error for the
    instructor."""


@dataclass
class Grads:
    """An output and the gradients that flowed back to the inputs and parameters.

    ``inputs[i]`` mirrors positional argument ``i`` (a gradient for a tensor that asked for one,
    a list/tuple of them for a list/tuple argument, else None); ``kwargs[name]`` likewise."""

    output: Any
    inputs: list[Any]
    params: dict[str, torch.Tensor]
    kwargs: dict[str, Any] = field(default_factory=dict)


class CheckContext:
    """What a check is given. See docs/writing-checks.md."""

    def __init__(self, link, dtype: torch.dtype | None, device: str, seed: int, timeout: float,
                 signatures: dict[str, list[str]] | None = None, show_expected: bool = False,
                 items: dict | None = None):
        self._link = link  # sends requests to the worker: link.request(header, tensors, timeout)
        self.dtype = dtype or torch.float32
        self.device = device
        self.seed = seed
        self.generator = torch.Generator().manual_seed(seed)
        self.student = StudentNamespace(self)
        self.notes: list[str] = []
        # The check's time limit counts the time spent waiting for the worker (the student's
        # code), not the grader's own work (references, comparisons).
        self._timeout = timeout
        self.student_time = 0.0
        # What came back from the worker, by tensor storage: the device in the worker and the
        # handle it was (a slice or a view of a returned tensor shares its storage).
        self._received: dict[int, tuple[str, int | None]] = {}
        self._keep: list[torch.Tensor] = []  # keeps those storages (and their addresses) alive
        self._handles: set[int] = set()  # worker objects this check holds; released at its end
        self._items = items or {}  # the assignment's Items, for the own-code rule
        self._verified: set[str] = set()  # graded classes whose origin was checked
        self._builds = 0
        # the seed torch (random, numpy) was seeded with before the last t.build's constructor
        # ran: torch.manual_seed(t.build_seed) then builds a reference with the same init
        self.build_seed: int | None = None
        self._default_dtype: torch.dtype | None = None  # t.default_dtype(...) in effect
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
        """A library object (torch, math, numpy; torchvision and timm where the assignment
        declares them in ``worker_libraries``) in the worker, as before student code ran."""
        return Remote(self, {"lib": dotted}, dotted)

    def build(self, ctor: Remote, *args: Any, **kwargs: Any) -> Remote:
        """Construct a module in the worker, its initialization seeded (from this check's seed
        and how many modules it built before), and move it to this check's device and dtype."""
        self._builds += 1
        digest = hashlib.sha256(f"{self.seed}:build:{self._builds}".encode()).digest()
        self.build_seed = int.from_bytes(digest[:4], "big")
        self._request({"op": "seed", "seed": self.build_seed}, None, ctor._label)
        module = ctor(*args, **kwargs)
        if not isinstance(module, Remote):
            raise CheckFailed(f"{self.last_call} did not return an nn.Module "
                              f"(got {_kind(module)})")
        moved = module.to(device=torch.device(self.device), dtype=self.dtype)
        if not isinstance(moved, Remote):
            return module
        self.release(module)  # `.to` returned the module again, under a second handle
        return moved

    def grad(self, fn: Remote, *args: Any, grad_output: Any, **kwargs: Any) -> Grads:
        """Call ``fn`` in the worker and back-propagate ``grad_output``."""
        reply, value = self._call(fn, args, kwargs, grad_output=grad_output, full=True)
        grads = reply.get("grads") or {}
        inputs = self._decode(grads.get("inputs", []), reply["__tensors__"])
        named = self._decode(grads.get("kwargs", {"__dict__": []}), reply["__tensors__"])
        params = self._decode(grads.get("params", {"__dict__": []}), reply["__tensors__"])
        return Grads(value, list(inputs), dict(params), dict(named))

    # -- objects kept in the worker ---------------------------------------------------------
    def remote(self, value: Any) -> Remote:
        """Place ``value`` (a tensor, or a list/dict of them) in the worker, on this check's
        device, and hold it there: pass the handle to the student's code, which may update it in
        place, and read it back with ``t.fetch``. A tensor keeps its dtype and ``requires_grad``
        (a leaf: a parameter for an optimizer)."""
        enc = Encoder(fallback=_encode_remote, tensor_meta=self._tensor_meta)
        header = {"op": "put", "value": enc.encode(value), "device": self.device}
        reply, tensors = self._request(header, enc.tensors, "a value placed in the worker")
        return self._decode(reply.get("value"), tensors)

    def hold(self, remote: Remote) -> Remote:
        """A handle to the object ``remote`` names now (``m.running_mean``, ``p.grad``), kept
        as it is even if the attribute is later rebound."""
        reply, tensors = self._request({"op": "hold", "target": remote._ref}, None,
                                       remote._label)
        return self._decode(reply.get("value"), tensors)

    def fetch(self, remote: Remote) -> Any:
        """The value of a remote object as plain data (a tensor, numbers, containers), or a
        Remote for what is not plain data."""
        reply, tensors = self._request({"op": "getattr", "target": remote._ref}, None,
                                       remote._label)
        return self._decode(reply.get("value"), tensors)

    def is_same(self, got: torch.Tensor, remote: Remote) -> bool:
        """Whether the tensor ``got`` (returned by the student) was the very tensor object held
        as ``remote`` in the worker (``xavier_normal_`` fills in place and returns its argument)."""
        if remote.handle is None:
            raise TypeError("is_same compares with a handle from t.remote or t.hold")
        entry = self._received.get(_storage(got))
        return entry is not None and entry[1] == remote.handle

    def release(self, *remotes: Remote) -> None:
        """Let the worker free these objects now (they are freed when the check ends anyway)."""
        ids = [r.handle for r in remotes if r.handle is not None and r.handle in self._handles]
        if ids:
            self._request({"op": "release", "handles": ids}, None, "release")
            self._handles.difference_update(ids)

    def close(self) -> None:
        """Release every object this check made the worker hold."""
        if self._handles:
            ids = sorted(self._handles)
            self._handles.clear()
            self._link.request({"op": "release", "handles": ids}, None, 10.0)

    def optimizer_steps(self, student: Remote, reference: type, *, groups: Sequence[dict],
                        steps: int = 10, defaults: dict | None = None,
                        no_grad: Sequence[int | tuple[int, int]] = (), zero_grad: bool = True,
                        op: str = "reduction", param_scale: float = 1.0,
                        grad_scale: float = 1.0) -> None:
        """The student's optimizer follows ``reference`` (a ``torch.optim`` class) for ``steps``
        steps over the same parameters and gradients; see ``autograder.checks.optim``."""
        from autograder.checks.optim import compare_optimizer

        compare_optimizer(self, student, reference, groups=groups, steps=steps,
                          defaults=defaults, no_grad=no_grad, zero_grad=zero_grad, op=op,
                          param_scale=param_scale, grad_scale=grad_scale)

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
        """Class name and origin (``origin``: module, qualified name, whether the notebook
        defined it, bases), training flag, parameter and buffer names/shapes, ``state_dict`` keys
        and shapes, and every submodule's class origin by dotted path (``tree``) of a remote
        module; the origin alone for a class."""
        reply, _ = self._request({"op": "describe", "target": remote._ref}, None, remote._label)
        value = reply.get("value")
        if not isinstance(value, dict):
            raise ProtocolError("describe: the worker answered with garbage")
        return value

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
    def default_dtype(self, dtype: torch.dtype):
        """Calls into the student's code inside the block run with torch's default dtype set to
        ``dtype`` (float64 or float32): "a new tensor in the default dtype" can be graded in
        both. The worker resets it after each call."""
        if dtype not in (torch.float64, torch.float32):
            raise ValueError("default_dtype takes torch.float64 or torch.float32")
        outer, self._default_dtype = self._default_dtype, dtype
        try:
            yield
        finally:
            self._default_dtype = outer

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
        out, f64_args, f64_kwargs, module = _call_f64(fn, args, kwargs, keep_grad=True)
        outputs, grads = backward_pairs(out, grad_output)
        torch.autograd.backward(outputs, [g.double() for g in grads])
        grad_of = lambda t: t.grad if t.requires_grad else None
        params = {}
        if module is not None:
            params = {n: p.grad for n, p in module.named_parameters()}
        return Grads(_detach(out), list(map_tensors(f64_args, grad_of)), params,
                     dict(map_tensors(f64_kwargs, grad_of)))

    # -- assertions ---------------------------------------------------------------------------
    def fail(self, message: str) -> None:
        raise CheckFailed(message)

    def assert_true(self, condition: Any, message: str) -> None:
        if not condition:
            raise CheckFailed(message)

    def note(self, text: str) -> None:
        self.notes.append(text)

    def device_of(self, tensor: torch.Tensor) -> str:
        """The device a tensor the worker returned was on there (also for a slice or view of
        it); "cpu" for a tensor the check made."""
        entry = self._received.get(_storage(tensor))
        return entry[0] if entry is not None else "cpu"

    def assert_close(self, got: Any, want: Any, op: str = "elementwise", what: str = "output",
                     dtype: torch.dtype | None = None, atol: float | None = None,
                     rtol: float | None = None, check_device: bool = True) -> None:
        """``got`` equals the reference ``want`` within the tolerance for ``op`` (or ``atol``
        and ``rtol`` where given); see the docs. Integer and boolean tensors compare exactly,
        in their own dtype (a state_dict's ``num_batches_tracked``). ``check_device=False`` for
        a tensor the check derived from what the student returned (``weights.sum(-1)``), whose
        device in the worker is not recorded."""
        where = f"{self.last_call}: " if self.last_call else ""
        if isinstance(want, torch.Tensor):
            if not (want.is_floating_point() or want.is_complex()):
                self._equal_tensor(got, want, what, where, check_device)
                return
            self._close_tensor(got, want, op, what, dtype or self.dtype, where, atol, rtol,
                               check_device)
        elif isinstance(want, (list, tuple)):
            if type(got) is not type(want):
                raise CheckFailed(f"{where}{what} should be a {type(want).__name__} of "
                                  f"{len(want)}, got {_kind(got)}")
            if len(got) != len(want):
                raise CheckFailed(f"{where}{what} should have {len(want)} elements, got {len(got)}")
            for i, (g, w) in enumerate(zip(got, want)):
                self.assert_close(g, w, op, f"{what}[{i}]", dtype, atol, rtol, check_device)
        elif isinstance(want, dict):
            if not isinstance(got, dict) or set(got) != set(want):
                missing = sorted(set(want) - set(got)) if isinstance(got, dict) else []
                raise CheckFailed(f"{where}{what} should be a dict with keys {sorted(want)[:8]}"
                                  + (f" (missing {missing[:5]})" if missing else ""))
            for k in want:
                self.assert_close(got[k], want[k], op, f"{what}[{k!r}]", dtype, atol, rtol,
                                  check_device)
        elif isinstance(want, float):
            if type(got) not in (float, int) or isinstance(got, bool):
                raise CheckFailed(f"{where}{what} should be a float, got {_kind(got)}")
            atol, rtol = _tolerance(op, dtype or self.dtype, atol, rtol)
            if not abs(got - want) <= atol + rtol * abs(want):
                raise CheckFailed(f"{where}{what} is {got:.6g}, "
                                  + (f"expected {want:.6g}" if self.show_expected else
                                     f"not the reference value (allowed {atol:.0e} + "
                                     f"{rtol:.0e}·|ref|)"))
        else:
            self.assert_equal(got, want, what)

    def assert_equal(self, got: Any, want: Any, what: str = "result",
                     exact_type: bool = True) -> None:
        """Exact equality with exact types (an int is not a bool, a float, a tensor or a numpy
        integer); ``exact_type=False`` accepts a numpy scalar or 0-d array of the same value.
        A tensor must also be on the check's device."""
        where = f"{self.last_call}: " if self.last_call else ""
        if isinstance(want, torch.Tensor):
            self._equal_tensor(got, want, what, where)
            return
        if isinstance(got, NumpyScalar):
            if exact_type and not isinstance(want, NumpyScalar):
                raise CheckFailed(f"{where}{what} should be {_kind(want)}, got a numpy "
                                  f"{got.dtype} ({got.value!r}): return a plain Python "
                                  f"{type(want).__name__}")
            got = got.value
        if isinstance(want, NumpyScalar):
            want = want.value
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

    def assert_state_dict_matches(self, remote: Remote,
                                  reference: torch.nn.Module | dict) -> None:
        """The remote module's ``state_dict()`` (parameters and persistent buffers) has the
        reference's keys, in any order, with the same shapes; the message names the first
        missing, unexpected or mis-shaped key."""
        got = self.describe(remote)
        mine = {k: v[0] for k, v in got.get("state_dict", {}).items()}
        ref = reference.state_dict() if isinstance(reference, torch.nn.Module) else reference
        want = {k: list(v.shape) for k, v in ref.items()}
        missing = [k for k in want if k not in mine]
        extra = [k for k in mine if k not in want]
        if missing or extra:
            first = (f"first missing key {missing[0]!r}" if missing
                     else f"first unexpected key {extra[0]!r}")
            raise CheckFailed(f"{remote._label}: state_dict keys differ from the specification "
                              f"({first}): missing {missing[:5]}"
                              f"{'…' if len(missing) > 5 else ''}, unexpected {extra[:5]}"
                              f"{'…' if len(extra) > 5 else ''}")
        for k, shape in want.items():
            if mine[k] != shape:
                raise CheckFailed(f"{remote._label}: {k} has shape {tuple(mine[k])}, expected "
                                  f"{tuple(shape)}")

    # -- plumbing -----------------------------------------------------------------------------
    def _check_tensor(self, got, dtype, what, where, check_device: bool = True) -> None:
        """``got`` is a plain tensor of ``dtype`` that was on the check's device."""
        if type(got) is not torch.Tensor:
            raise CheckFailed(f"{where}{what} should be a torch.Tensor, got {_kind(got)}")
        if got.dtype != dtype:
            raise CheckFailed(f"{where}{what} has dtype {_dt(got.dtype)}, expected {_dt(dtype)} "
                              "(tensors you create must follow the input's dtype)")
        want_dev = torch.device(self.device)
        got_dev = torch.device(self.device_of(got))
        if check_device and got_dev.type != want_dev.type:
            raise CheckFailed(f"{where}{what} is on {got_dev}, expected {want_dev.type} "
                              "(tensors you create must follow the input's device)")

    def _equal_tensor(self, got, want, what, where, check_device: bool = True) -> None:
        self._check_tensor(got, want.dtype, what, where, check_device)
        if got.shape != want.shape or not torch.equal(got, want):
            raise CheckFailed(f"{where}{what} differs from the expected tensor "
                              f"({_tdesc(got)} vs {_tdesc(want)})")

    def _close_tensor(self, got, want, op, what, dtype, where, atol=None, rtol=None,
                      check_device: bool = True) -> None:
        self._check_tensor(got, dtype, what, where, check_device)
        if tuple(got.shape) != tuple(want.shape):
            raise CheckFailed(f"{where}{what} has shape {tuple(got.shape)}, expected "
                              f"{tuple(want.shape)}")
        if got.numel() == 0:
            return
        g, w = got.double(), want.double()
        bad_nan = torch.isnan(g) & ~torch.isnan(w)
        if bad_nan.any():
            raise CheckFailed(f"{where}{what} contains {int(bad_nan.sum())} NaN value(s)")
        atol, rtol = _tolerance(op, dtype, atol, rtol)
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
        left = self._timeout - self.student_time
        if left <= 0:
            from autograder.session import WorkerTimeout

            raise WorkerTimeout(f"the check ran past its {self._timeout:g} s limit")
        return left

    def _request(self, header: dict, tensors: dict | None, label: str) -> tuple[dict, dict]:
        start = time.monotonic()
        try:
            reply, out_tensors = self._link.request(header, tensors, self._remaining())
        except MessageTooLarge as e:
            raise CheckError(f"the check sent {label} a request whose {e}; send less per call "
                             "(the protocol's limit is Limits.max_payload)") from None
        finally:
            self.student_time += time.monotonic() - start
        if "error" in reply:
            info = reply["error"] if isinstance(reply["error"], dict) else {"message": "?"}
            if info.get("type") == "ReplyTooLarge":
                self._too_large(info, label)
            if info.get("student", True):
                raise StudentError(info, call=self.last_call or label)
            raise CheckError(f"worker rejected request: {info.get('message')}")
        return reply, out_tensors

    def _too_large(self, info: dict, label: str) -> None:
        size, limit = _mb(info.get("size")), _mb(info.get("limit"))
        if info.get("student"):
            raise CheckFailed(f"{self.last_call or label} returned {size} of data, more than the "
                              f"{limit} a result may be")
        raise CheckError(f"the check asked {label} for {size} of data, more than the protocol's "
                         f"{limit} limit: fetch less per request")

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
        if self._default_dtype is not None:
            header["default_dtype"] = _dt(self._default_dtype)
        item = self._graded_root(fn)
        if item is not None:
            self._verify_class(item, fn)
        reply, tensors = self._request(header, enc.tensors, fn._label)
        value = self._decode(reply.get("value"), tensors)
        if item is not None and isinstance(value, Remote):
            self._verify_built(item, value)
        if full:
            reply["__tensors__"] = tensors
            return reply, value
        return value

    # -- the own-code rule --------------------------------------------------------------------
    def _graded_root(self, fn: Remote) -> str | None:
        """The graded item a call starts from (``t.student.<item>...``), where the own-code rule
        applies to it."""
        name = fn._root.get("name")
        item = self._items.get(name) if name else None
        return name if item is not None and getattr(item, "own_code", False) else None

    def _verify_class(self, name: str, fn: Remote) -> None:
        """A graded class is defined in the notebook and is not a subclass of the library's
        answer (checked once per check)."""
        if name in self._verified or getattr(self._items[name], "kind", "") != "class":
            return
        self._verified.add(name)
        info = self.describe(Remote(self, {"name": name}, name))
        problem = integrity.class_problem(name, info.get("origin", {}))
        if problem:
            raise CheckFailed(problem)

    def _verify_built(self, name: str, value: Remote) -> None:
        """A module a graded item returned is built of torch.nn building blocks and the
        notebook's classes."""
        info = self.describe(value)
        if "tree" not in info:
            return
        item = self._items[name]
        problem = integrity.tree_problem(f"{name}(...)", info.get("origin"), info["tree"],
                                         item.building_blocks)
        if problem:
            raise CheckFailed(problem)

    def _assign(self, remote: Remote, op: str, key: Any, value: Any) -> None:
        enc = Encoder(fallback=_encode_remote, tensor_meta=self._tensor_meta)
        header = {"op": op, "target": remote._ref, "key": key, "value": enc.encode(value),
                  "device": self.device}
        self._request(header, enc.tensors, remote._label)

    def _decode(self, value: Any, tensors: dict) -> Any:
        def hook(t: torch.Tensor, meta: dict) -> torch.Tensor:
            t = t.clone()
            handle = meta.get("handle")
            self._received[_storage(t)] = (str(meta.get("device", "cpu")),
                                           int(handle) if type(handle) is int else None)
            self._keep.append(t)
            return t

        def special(obj: dict) -> Any:
            if "__handle__" in obj:
                hid = int(obj["__handle__"])
                self._handles.add(hid)
                return Remote(self, {"handle": hid},
                              str(obj.get("type", "object")).rsplit(".", 1)[-1],
                              str(obj.get("type", "")))
            raise ProtocolError("unknown tag from worker")

        return Decoder(tensors, tensor_hook=hook, special=special,
                       numpy_scalars=True).decode(value)

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
    return out, f64_args, f64_kwargs, module


def _storage(t: torch.Tensor) -> int:
    return t.untyped_storage().data_ptr() if isinstance(t, torch.Tensor) else 0


def _tolerance(op: str, dtype: torch.dtype, atol: float | None,
               rtol: float | None) -> tuple[float, float]:
    default_atol, default_rtol = tolerance(op, dtype)
    return (default_atol if atol is None else atol, default_rtol if rtol is None else rtol)


def _mb(n: Any) -> str:
    return f"{n / 2**20:.1f} MB" if isinstance(n, (int, float)) else "? MB"


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

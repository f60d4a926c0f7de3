"""Messages between the trusted grader and the untrusted worker.

A message is a JSON header plus an optional safetensors payload, each length-prefixed:

    [8-byte header length][header JSON][8-byte payload length][payload]

Values are encoded as JSON with tagged objects: tensors become ``{"__tensor__": key, ...}`` whose
data is in the safetensors payload, tuples ``{"__tuple__": [...]}``, dicts ``{"__dict__": [[k, v],
...]}``, dtypes and devices by name. Nothing is ever pickled; the reader bounds every size.
"""

from __future__ import annotations

import json
import socket
import struct
from typing import Any

import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

MAX_HEADER = 16 * 1024 * 1024
DEFAULT_MAX_PAYLOAD = 512 * 1024 * 1024
_LEN = struct.Struct(">Q")


class ProtocolError(Exception):
    """The other side sent something that is not a well-formed message."""


class ChannelClosed(ProtocolError):
    """The other side closed the channel (it exited or was killed)."""


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        k = sock.recv_into(view[got:], n - got)
        if k == 0:
            raise ChannelClosed("channel closed")
        got += k
    return bytes(buf)


class MessageTooLarge(ProtocolError):
    """A message this side was about to send is over the limit the other side reads."""

    def __init__(self, size: int, limit: int, part: str):
        super().__init__(f"{part} of {size / 2**20:.1f} MB exceeds the limit of "
                         f"{limit / 2**20:.1f} MB")
        self.size = size
        self.limit = limit
        self.part = part


def encode_message(header: dict, tensors: dict[str, torch.Tensor] | None = None,
                   max_payload: int = DEFAULT_MAX_PAYLOAD) -> bytes:
    """One message as bytes; raises MessageTooLarge (before anything is sent) when its header or
    payload is over what ``recv_message`` accepts."""
    head = json.dumps(header).encode()
    if len(head) > MAX_HEADER:
        raise MessageTooLarge(len(head), MAX_HEADER, "header")
    size = payload_size(tensors)
    if size > max_payload:
        raise MessageTooLarge(size, max_payload, "payload")
    payload = st_save(tensors) if tensors else b""
    if len(payload) > max_payload:
        raise MessageTooLarge(len(payload), max_payload, "payload")
    return _LEN.pack(len(head)) + head + _LEN.pack(len(payload)) + payload


def payload_size(tensors: dict[str, torch.Tensor] | None) -> int:
    """The bytes of tensor data in a message (its safetensors framing adds a little)."""
    return sum(t.numel() * t.element_size() for t in (tensors or {}).values())


def send_message(sock: socket.socket, header: dict, tensors: dict[str, torch.Tensor] | None = None,
                 max_payload: int = DEFAULT_MAX_PAYLOAD):
    """Send one message: a JSON-able header and tensors referenced from it."""
    sock.sendall(encode_message(header, tensors, max_payload))


def recv_message(
    sock: socket.socket, max_payload: int = DEFAULT_MAX_PAYLOAD
) -> tuple[dict, dict[str, torch.Tensor]]:
    """Receive one message; raises ProtocolError on anything malformed or too large."""
    (n,) = _LEN.unpack(_recv_exact(sock, 8))
    if n > MAX_HEADER:
        raise ProtocolError(f"header of {n} bytes exceeds the limit of {MAX_HEADER}")
    try:
        header = json.loads(_recv_exact(sock, n))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ProtocolError(f"header is not JSON: {e}") from None
    if not isinstance(header, dict):
        raise ProtocolError("header is not a JSON object")
    (m,) = _LEN.unpack(_recv_exact(sock, 8))
    if m > max_payload:
        raise ProtocolError(f"payload of {m} bytes exceeds the limit of {max_payload}")
    tensors: dict[str, torch.Tensor] = {}
    if m:
        try:
            tensors = st_load(_recv_exact(sock, m))
        except ChannelClosed:
            raise
        except Exception as e:  # safetensors raises its own error types
            raise ProtocolError(f"payload is not valid safetensors: {e}") from None
    return header, tensors


DTYPES = {
    str(d).removeprefix("torch."): d
    for d in (
        torch.float64, torch.float32, torch.float16, torch.bfloat16, torch.int64, torch.int32,
        torch.int16, torch.int8, torch.uint8, torch.bool,
    )
}


class Encoder:
    """Encodes plain data into a JSON-able value, collecting tensors into ``self.tensors``.

    ``fallback(obj)`` is called for anything that is not plain data and returns its encoding (the
    worker turns such objects into handles; the grader raises).
    """

    def __init__(self, fallback=None, tensor_meta=None):
        self.tensors: dict[str, torch.Tensor] = {}
        self._fallback = fallback
        self._tensor_meta = tensor_meta

    def encode(self, obj: Any) -> Any:
        if obj is None or isinstance(obj, (bool, int, float, str)) and type(obj) in (
            bool, int, float, str
        ):
            return obj
        if type(obj) in (torch.Tensor, torch.nn.Parameter):
            key = f"t{len(self.tensors)}"
            meta = {"__tensor__": key, "device": str(obj.device)}
            if self._tensor_meta:
                meta.update(self._tensor_meta(obj))
            self.tensors[key] = obj.detach().to("cpu", copy=True).contiguous()
            return meta
        if type(obj) is torch.Size:
            return {"__tuple__": [int(s) for s in obj]}
        if type(obj) is tuple:
            return {"__tuple__": [self.encode(v) for v in obj]}
        if type(obj) is list:
            return [self.encode(v) for v in obj]
        if type(obj) is dict or _is_plain_mapping(obj):
            return {"__dict__": [[self.encode(k), self.encode(v)] for k, v in obj.items()]}
        if isinstance(obj, torch.dtype):
            return {"__dtype__": str(obj).removeprefix("torch.")}
        if isinstance(obj, torch.device):
            return {"__device__": str(obj)}
        numpy = _numpy_scalar(obj)
        if numpy is not None:
            return numpy
        if self._fallback is None:
            raise TypeError(f"cannot send an object of type {type(obj).__name__}")
        return self._fallback(obj)


def _numpy_scalar(obj: Any) -> dict | None:
    """A numpy scalar or 0-d array as ``{"__numpy__": dtype, "value": number}`` (else None)."""
    module = getattr(type(obj), "__module__", "")
    if not isinstance(module, str) or not module.startswith("numpy"):
        return None
    import numpy as np

    if isinstance(obj, np.ndarray) and obj.ndim == 0 or isinstance(obj, np.generic):
        value = obj.item()
        if type(value) in (bool, int, float):
            return {"__numpy__": str(obj.dtype), "value": value}
    return None


class NumpyScalar:
    """A numpy scalar (or 0-d array) the student returned: its value as a plain number, and its
    numpy dtype, so that a check can say "return a Python int" rather than compare silently."""

    __slots__ = ("value", "dtype")

    def __init__(self, value: bool | int | float, dtype: str):
        self.value = value
        self.dtype = dtype

    def __repr__(self) -> str:
        return f"numpy.{self.dtype}({self.value!r})"


def _is_plain_mapping(obj: Any) -> bool:
    from collections import OrderedDict

    return type(obj) is OrderedDict


class Decoder:
    """Decodes what an Encoder produced. ``tensor_hook(tensor, meta)`` post-processes tensors and
    ``special(tag, value)`` resolves tags this module does not know (handles, references)."""

    def __init__(self, tensors: dict[str, torch.Tensor], tensor_hook=None, special=None,
                 numpy_scalars: bool = False):
        self.tensors = tensors
        self._tensor_hook = tensor_hook
        self._special = special
        self._numpy_scalars = numpy_scalars  # NumpyScalar objects (the grader), or plain values

    def decode(self, obj: Any, depth: int = 0) -> Any:
        if depth > 64:
            raise ProtocolError("value nested too deeply")
        if obj is None or isinstance(obj, (bool, int, float, str)):
            return obj
        if isinstance(obj, list):
            return [self.decode(v, depth + 1) for v in obj]
        if not isinstance(obj, dict) or len(obj) == 0:
            raise ProtocolError(f"unexpected value {str(obj)[:80]}")
        if "__tensor__" in obj:
            try:
                t = self.tensors[obj["__tensor__"]]
            except (KeyError, TypeError):
                raise ProtocolError("reference to a missing tensor") from None
            return self._tensor_hook(t, obj) if self._tensor_hook else t
        if "__tuple__" in obj:
            return tuple(self.decode(v, depth + 1) for v in _list(obj["__tuple__"]))
        if "__dict__" in obj:
            out = {}
            for pair in _list(obj["__dict__"]):
                if not isinstance(pair, list) or len(pair) != 2:
                    raise ProtocolError("malformed dict entry")
                key = self.decode(pair[0], depth + 1)
                if not isinstance(key, (str, int, float, bool, tuple, type(None))):
                    raise ProtocolError("unhashable dict key")
                out[key] = self.decode(pair[1], depth + 1)
            return out
        if "__dtype__" in obj:
            try:
                return DTYPES[obj["__dtype__"]]
            except (KeyError, TypeError):
                raise ProtocolError(f"unknown dtype {obj['__dtype__']!r}") from None
        if "__device__" in obj:
            try:
                return torch.device(str(obj["__device__"]))
            except RuntimeError:
                raise ProtocolError("bad device") from None
        if "__numpy__" in obj:
            value = obj.get("value")
            if type(value) not in (bool, int, float):
                raise ProtocolError("bad numpy scalar")
            if not self._numpy_scalars:
                return value
            return NumpyScalar(value, str(obj["__numpy__"])[:20])
        if self._special is not None:
            return self._special(obj)
        raise ProtocolError(f"unexpected tagged value {list(obj)[:3]}")


def backward_pairs(output: Any, grad_output: Any) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """(outputs, gradients) to back-propagate: ``grad_output`` mirrors ``output``'s structure,
    and positions where either is ``None`` (attention's ``(out, None)``) are left out."""
    if grad_output is None or output is None:
        return [], []
    if isinstance(grad_output, torch.Tensor):
        if not isinstance(output, torch.Tensor):
            raise TypeError(f"expected a tensor output, got {type(output).__name__}")
        return [output], [grad_output]
    if isinstance(grad_output, (list, tuple)):
        if not isinstance(output, (list, tuple)) or len(output) != len(grad_output):
            raise TypeError(f"expected a {type(grad_output).__name__} of {len(grad_output)} "
                            f"outputs, got {type(output).__name__}")
        outs: list[torch.Tensor] = []
        grads: list[torch.Tensor] = []
        for o, g in zip(output, grad_output):
            more_o, more_g = backward_pairs(o, g)
            outs += more_o
            grads += more_g
        return outs, grads
    raise TypeError("grad_output must be a tensor, None, or a list/tuple of them")


def map_tensors(v: Any, fn) -> Any:
    """``v`` with every tensor ``x`` in it (in lists, tuples and dict values) replaced by
    ``fn(x)``, and everything else by ``None``: the shape of a structure of gradients."""
    if isinstance(v, torch.Tensor):
        return fn(v)
    if isinstance(v, (list, tuple)):
        return type(v)(map_tensors(x, fn) for x in v)
    if isinstance(v, dict):
        return {k: map_tensors(x, fn) for k, x in v.items()}
    return None


def _list(v: Any) -> list:
    if not isinstance(v, list):
        raise ProtocolError("expected a list")
    return v

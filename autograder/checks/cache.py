"""References computed once per grading run. A check's inputs come from its seed, which is the
same for every submission of a run, so a whole network's reference outputs and gradients can be
computed for the first submission and reused for the others."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import Any

import torch


@contextmanager
def one_thread() -> Iterator[None]:
    """Run the grader's own computation on one thread: the workers have the other cores, and a
    small float64 network runs several times slower on contended threads than on one."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


class ReferenceCache:
    """``cache(key, make)``: ``make()`` computed once per key while it stays among the ``size``
    most recently used, shared by the threads of a grading run (a thread asking for a key another
    is computing waits for it). ``make`` runs on one thread."""

    def __init__(self, size: int = 32):
        self.size = size
        self._values: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._key_locks: dict[Hashable, threading.Lock] = {}

    def __call__(self, key: Hashable, make: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if key in self._values:
                    return self._values[key]
            with one_thread():
                value = make()
            with self._lock:
                self._values[key] = value
                while len(self._values) > self.size:
                    self._values.popitem(last=False)
        return value

"""The grader's side of a worker: start a zygote in the sandbox, fork a child per submission, and
exchange requests with it under a deadline.

Nothing the child sends is trusted: replies are size-bounded, parsed without pickle, and a child
that stalls past its deadline, crashes or breaks the protocol is killed by its zygote.
"""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from autograder.sandbox import Limits, Sandbox, SandboxUnavailable

if TYPE_CHECKING:
    import torch

# This module imports no torch (the protocol is imported where a child is talked to), so that the
# command line can launch its zygotes before the grader's own `import torch`, and both overlap.


class WorkerError(Exception):
    """The worker did not answer properly: see the subclasses."""


class WorkerTimeout(WorkerError):
    """The worker exceeded its deadline and was killed."""


class WorkerCrashed(WorkerError):
    """The worker exited or broke the protocol."""


@dataclass
class ZygoteInfo:
    pid: int
    import_s: float
    start_s: float
    sandbox: str


class Zygote:
    """One sandboxed, pre-loaded parent process; forks one child at a time."""

    def __init__(self, sandbox: Sandbox, slot: int = 0, start_timeout: float = 120.0):
        self.sandbox = sandbox
        self.slot = slot
        self.start_timeout = start_timeout
        self.proc: subprocess.Popen | None = None
        self.ctrl: socket.socket | None = None
        self.info: ZygoteInfo | None = None  # set once the launched zygote said it is ready
        self._t0 = 0.0
        self._stderr = None  # the zygote's stderr, a temporary file (a pipe nobody reads can fill)

    def start(self) -> ZygoteInfo:
        """Launch the zygote and wait until it has imported torch and is ready to fork."""
        self.launch()
        return self.wait_ready()

    def launch(self) -> None:
        """Start the zygote's process without waiting for it (see ``wait_ready``)."""
        if self.proc is not None or self.ctrl is not None:
            self.close()
        self._t0 = time.perf_counter()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        fd = theirs.fileno()
        args_r = None
        keep = [fd]
        if self.sandbox.kind != "none":
            args_r = _fd_with(self.sandbox.bwrap_options())
            keep.append(args_r)
        program_r = _fd_with(self.sandbox.program(fd))
        self._stderr = tempfile.TemporaryFile()
        try:
            self.proc = subprocess.Popen(
                self.sandbox.command(fd, args_r), pass_fds=keep, env=self.sandbox.env(),
                stdin=program_r, stdout=subprocess.DEVNULL, stderr=self._stderr,
                start_new_session=True,
            )
        finally:
            theirs.close()
            os.close(program_r)
            if args_r is not None:
                os.close(args_r)
        self.ctrl = ours

    def wait_ready(self) -> ZygoteInfo:
        """The launched zygote's ready message (its start-up time counts from ``launch``); launches
        it first if it was not, or has died since it was ready."""
        if self.ready:
            assert self.info is not None
            return self.info
        if self.info is not None or self.ctrl is None:
            self.launch()
        reply = self._recv_ctrl(self.start_timeout)
        if reply is None or not reply.get("ready"):
            err = self._stderr_tail()
            self.close()
            raise WorkerCrashed(f"the worker process failed to start: {err}")
        self.info = ZygoteInfo(pid=reply["pid"], import_s=reply.get("import_s", 0.0),
                               start_s=time.perf_counter() - self._t0,
                               sandbox=reply.get("sandbox", ""))
        return self.info

    @property
    def ready(self) -> bool:
        """Started, ready to fork, and still running."""
        return self.info is not None and self.alive

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def spawn(self, limits: Limits, threads: int = 1, preload: tuple[str, ...] = ()) -> Child:
        """A fresh child process forked from the zygote, connected to us by its own socket.
        ``preload``: libraries (torchvision, timm) the zygote imports first, once."""
        if not self.ready:
            self.start()
        assert self.ctrl is not None
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        msg = json.dumps({"op": "fork", "limits": limits.to_dict(), "threads": threads,
                          "preload": list(preload)})
        try:
            socket.send_fds(self.ctrl, [msg.encode()], [theirs.fileno()])
        except OSError as e:
            theirs.close()
            ours.close()
            self.close()
            raise WorkerCrashed(f"the worker process is gone: {e}") from None
        theirs.close()
        reply = self._recv_ctrl(30.0 + 60.0 * bool(preload))
        if reply is None or "pid" not in reply:
            ours.close()
            self.close()
            raise WorkerCrashed("the worker process did not fork")
        return Child(self, ours, limits.max_payload)

    def kill_child(self) -> None:
        """Ask the zygote to kill the current child and everything it started."""
        if self.ctrl is None or not self.alive:
            return
        try:
            self.ctrl.send(json.dumps({"op": "kill"}).encode())
        except OSError:
            self.close()

    def wait_child(self, timeout: float = 10.0, kill_after: bool = False) -> int | None:
        """The exit status of the current child, once the zygote reports it (None if unknown).
        With ``kill_after``, a child still running after ``timeout`` is killed (not the zygote)."""
        reply = self._recv_ctrl(timeout)
        if reply is None and kill_after and self.alive:
            self.kill_child()
            reply = self._recv_ctrl(10.0) if self.ctrl is not None else None
        if reply is None:
            self.close()  # the zygote itself is stuck or gone: start afresh next time
            return None
        return reply.get("exited")

    def close(self) -> None:
        self.info = None
        if self.ctrl is not None:
            self.ctrl.close()
            self.ctrl = None
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            self.proc = None
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def _recv_ctrl(self, timeout: float) -> dict | None:
        assert self.ctrl is not None
        ready, _, _ = select.select([self.ctrl], [], [], timeout)
        if not ready:
            return None
        try:
            data = self.ctrl.recv(1 << 16)
        except OSError:
            return None
        if not data:
            return None
        try:
            return json.loads(data)
        except json.JSONDecodeError:
            return None

    def _stderr_tail(self) -> str:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
        if self._stderr is None:
            return ""
        try:
            self._stderr.seek(0, os.SEEK_END)
            size = self._stderr.tell()
            self._stderr.seek(max(0, size - 2000))
            err = self._stderr.read().decode(errors="replace").strip()
        except (OSError, ValueError):
            err = ""
        return err.splitlines()[-1] if err else "no output"


def launch_pool(n: int, device: str = "cpu", require_sandbox: bool = False) -> list[Zygote]:
    """``n`` zygotes launched at once and not waited for, so that their start-up overlaps the
    caller's; [] where no sandbox can be set up as asked (the caller then reports why)."""
    try:
        sandbox = Sandbox.detect(require=require_sandbox, device=device)
    except SandboxUnavailable:
        return []
    pool = [Zygote(sandbox, slot=i) for i in range(n)]
    for zygote in pool:
        zygote.launch()
    return pool


def _fd_with(data: bytes) -> int:
    """A descriptor to read ``data`` from (an unlinked temporary file: a pipe's buffer is small)."""
    with tempfile.TemporaryFile() as f:
        f.write(data)
        f.flush()
        fd = os.dup(f.fileno())
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


class Child:
    """One submission's process. ``request`` sends a message and waits for the reply."""

    def __init__(self, zygote: Zygote, sock: socket.socket, max_payload: int):
        self.zygote = zygote
        self.sock = sock
        self.max_payload = max_payload
        self.dead = False
        self.exit_status: int | None = None

    def request(
        self, header: dict, tensors: dict[str, torch.Tensor] | None, timeout: float
    ) -> tuple[dict, dict[str, torch.Tensor]]:
        from autograder.protocol import ChannelClosed, ProtocolError, encode_message, recv_message

        if self.dead:
            raise WorkerCrashed("the worker is no longer running")
        # A request over the limit is the caller's (a check's) mistake, not the worker's: it is
        # refused here, before anything is sent (MessageTooLarge), and the worker lives on.
        message = encode_message(header, tensors, self.max_payload)
        deadline = time.monotonic() + timeout
        try:
            self.sock.settimeout(max(0.01, timeout))
            self.sock.sendall(message)
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            return recv_message(self.sock, self.max_payload)
        except TimeoutError:
            self.kill()
            raise WorkerTimeout(f"no answer within {timeout:g} s") from None
        except ChannelClosed:
            self.kill()
            raise WorkerCrashed(self._crash_reason()) from None
        except ProtocolError as e:
            self.kill()
            raise WorkerCrashed(f"the worker broke the protocol ({e})") from None
        except OSError as e:
            self.kill()
            raise WorkerCrashed(f"the worker's channel failed ({e})") from None

    def _crash_reason(self) -> str:
        status = self.exit_status
        if status is None:
            return "the worker exited unexpectedly"
        if status < 0:
            import signal

            try:
                name = signal.Signals(-status).name
            except ValueError:
                name = f"signal {-status}"
            return f"the worker was killed by {name}"
        return f"the worker exited with status {status}"

    def kill(self) -> None:
        if self.dead:
            return
        self.dead = True
        self.sock.close()
        self.zygote.kill_child()
        self.exit_status = self.zygote.wait_child()

    def close(self) -> None:
        """End the child normally (it exits when asked; the zygote kills what it left)."""
        from autograder.protocol import send_message

        if self.dead:
            return
        try:
            self.sock.settimeout(2.0)
            send_message(self.sock, {"op": "exit"})
        except OSError:
            pass
        self.dead = True
        self.sock.close()
        # a well-behaved child is gone at once; one that ignores the request is killed
        self.exit_status = self.zygote.wait_child(timeout=2.0, kill_after=True)

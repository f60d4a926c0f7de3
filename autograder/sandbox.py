"""How a worker is isolated: bubblewrap when available, else a plain subprocess (loudly).

The sandbox wraps the zygote (the pre-loaded parent of every submission's process), so its start-up
cost is paid once per worker slot. Inside it only the Python installation, the virtual environment
and the worker's own package are visible, read-only; ``/tmp`` is a private tmpfs; there is no
network; the environment is cleared. Student code then runs in a forked child that drops to an
unprivileged uid (when the grader runs as root) and is bounded by resource limits (`Limits`).
"""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
from dataclasses import asdict, dataclass, field
from pathlib import Path

import autograder


class SandboxUnavailable(RuntimeError):
    """bubblewrap is required (``--require-sandbox``) but cannot run here."""


@dataclass
class Limits:
    """Bounds on one submission's process (and everything it starts)."""

    cpu_s: int = 600  # CPU seconds for the whole submission
    memory_bytes: int | None = 6 << 30  # address space; None on CUDA (use cgroups / the scheduler)
    processes: int = 64  # per unprivileged uid
    open_files: int = 256
    file_bytes: int = 16 << 20  # largest file the submission may write (also bounds its output)
    max_payload: int = 512 << 20  # largest reply the grader reads back
    uid: int | None = None  # drop to this uid in the child when the grader runs as root

    def to_dict(self) -> dict:
        return asdict(self)


SANDBOX_UID_BASE = 61000  # slot i runs student code as uid 61000 + i (no passwd entry needed)


@dataclass
class Sandbox:
    """Builds the command that starts a zygote, isolated as well as this machine allows."""

    kind: str  # "bwrap" or "none"
    reason: str = ""  # why there is no bubblewrap, when kind == "none"
    extra_ro: list[str] = field(default_factory=list)
    devices: list[str] = field(default_factory=list)

    @classmethod
    def detect(cls, require: bool = False, device: str = "cpu") -> Sandbox:
        bwrap = shutil.which("bwrap")
        if bwrap is None:
            reason = "bubblewrap (bwrap) is not installed"
        else:
            reason = _probe_bwrap(bwrap)
        if reason:
            if require:
                raise SandboxUnavailable(f"sandbox required but unavailable: {reason}")
            return cls("none", reason=reason)
        devices = _nvidia_devices() if device.startswith("cuda") else []
        return cls("bwrap", devices=devices)

    def command(self, control_fd: int) -> list[str]:
        python = [sys.executable, "-m", "autograder.worker.zygote", "--control-fd", str(control_fd)]
        if self.kind == "none":
            return python
        return ["bwrap", *self.bwrap_args(), "--", *python]

    def env(self) -> dict[str, str]:
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "MPLBACKEND": "Agg",
               "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": "1",
               "AUTOGRADER_SANDBOX": self.kind}
        for key in ("CUDA_VISIBLE_DEVICES", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
            if key in os.environ:
                env[key] = os.environ[key]
        return env

    def bwrap_args(self) -> list[str]:
        args = ["--die-with-parent", "--new-session", "--unshare-pid", "--unshare-net",
                "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--hostname", "worker"]
        if os.getuid() != 0:
            args.append("--unshare-user")
        binds = _system_paths() + self.extra_ro + _python_paths()
        # bubblewrap creates missing parent directories private (0700); the unprivileged uid of
        # the student's process must be able to traverse them.
        for parent in _ancestors(binds):
            args += ["--perms", "0755", "--dir", parent]
        for path in binds:
            args += ["--ro-bind-try", path, path]
        args += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--tmpfs", "/tmp", "--chdir", "/tmp",
                 "--dir", "/run"]
        for dev in self.devices:
            args += ["--dev-bind-try", dev, dev]
        return args


def _ancestors(paths: list[str]) -> list[str]:
    found = set()
    for p in paths:
        for parent in Path(p).parents:
            if str(parent) != "/":
                found.add(str(parent))
    return sorted(found, key=lambda s: (s.count("/"), s))


def _system_paths() -> list[str]:
    return ["/usr", "/bin", "/lib", "/lib64", "/lib32", "/sbin", "/etc/alternatives",
            "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime",
            "/etc/ssl/certs", "/etc/fonts", "/etc/nsswitch.conf"]


def _python_paths() -> list[str]:
    """The interpreter's installation, the virtual environment and the autograder package only."""
    paths = {sys.base_prefix, sys.prefix, sysconfig.get_paths()["purelib"],
             sysconfig.get_paths()["platlib"], str(Path(autograder.__path__[0]).resolve())}
    return sorted(paths)


def _nvidia_devices() -> list[str]:
    dev = Path("/dev")
    return sorted(str(p) for p in dev.glob("nvidia*")) + [
        str(p) for p in (dev / "dri").glob("*") if (dev / "dri").exists()
    ]


def _probe_bwrap(bwrap: str) -> str:
    """'' if bubblewrap can create the sandbox here, else why not."""
    import subprocess

    probe = Sandbox("bwrap")
    try:
        r = subprocess.run([bwrap, *probe.bwrap_args(), "--", sys.executable, "-c", "0"],
                           capture_output=True, timeout=30, env=probe.env())
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"bubblewrap failed to start: {e}"
    if r.returncode != 0:
        msg = r.stderr.decode(errors="replace").strip().splitlines()
        return "bubblewrap cannot create namespaces here: " + (msg[-1] if msg else "unknown")
    return ""

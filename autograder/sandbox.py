"""How a worker is isolated: bubblewrap when available, else a plain subprocess (loudly).

The sandbox wraps the zygote (the pre-loaded parent of every submission's process), so its start-up
cost is paid once per worker slot. Inside it only the Python installation, the virtual environment
and the worker's own package are visible, read-only; ``/tmp`` is a private tmpfs; there is no
network; the environment is cleared. Student code then runs in a forked child that drops to an
unprivileged uid (when the grader runs as root) and is bounded by resource limits (`Limits`).
"""

from __future__ import annotations

import functools
import os
import shutil
import stat
import subprocess
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
    # Address space the submission may add to what the pre-loaded parent already maps (torch alone
    # maps ~3.3 GB); enforced with RLIMIT_AS. None on CUDA (use cgroups / the scheduler).
    memory_bytes: int | None = 6 << 30
    processes: int = 64  # processes and threads, per unprivileged uid
    open_files: int = 256
    file_bytes: int = 16 << 20  # largest file the submission may write (its output is discarded)
    max_payload: int = 512 << 20  # largest reply the grader reads back
    uid: int | None = None  # drop to this uid in the child when the grader runs as root

    def to_dict(self) -> dict:
        return asdict(self)


# Slot i runs student code as uid SANDBOX_UID_BASE + i (no passwd entry needed). Two graders that
# run at the same time on one machine should use different bases (AUTOGRADER_UID_BASE), since the
# process limit counts per uid.
SANDBOX_UID_BASE = int(os.environ.get("AUTOGRADER_UID_BASE", "61000"))
TMP_BYTES = 512 << 20  # size of the sandbox's private /tmp (a tmpfs, i.e. memory) where bwrap can
#                      bound it


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

    def command(self, control_fd: int, args_fd: int | None = None) -> list[str]:
        """The command line that starts a zygote. It reads its program from stdin (``program``), so
        that neither its command line nor its environment names the grader. With ``args_fd``,
        bubblewrap reads its own options from that descriptor (``bwrap_options``) instead of the
        command line, which the student's code could read in /proc/1/cmdline."""
        python = [sys.executable, "-I", "-B", "-"]
        if self.kind == "none":
            return python
        if args_fd is None:
            return ["bwrap", *self.bwrap_args(), "--", *python]
        return ["bwrap", "--args", str(args_fd), "--", *python]

    def bwrap_options(self) -> bytes:
        """What to write to ``args_fd`` (NUL-separated)."""
        return b"".join(a.encode() + b"\0" for a in self.bwrap_args())

    def program(self, control_fd: int) -> bytes:
        """The zygote's program, fed to the interpreter on stdin."""
        args = ["--control-fd", str(control_fd), "--sandbox", self.kind]
        if os.environ.get("AUTOGRADER_DEBUG"):  # student output and worker tracebacks to a file
            args.append("--debug")
        # The worker runs the grader's own copy of the package, found by path: `python -I` ignores
        # PYTHONPATH, so a checkout that is not installed (PYTHONPATH=. on a borrowed GPU machine)
        # works too, and nothing else of the repository lands on the worker's sys.path.
        package = Path(autograder.__path__[0]).resolve()
        return (
            "import importlib.util, sys\n"
            f"spec = importlib.util.spec_from_file_location('autograder', "
            f"{str(package / '__init__.py')!r}, submodule_search_locations=[{str(package)!r}])\n"
            "module = importlib.util.module_from_spec(spec)\n"
            "sys.modules['autograder'] = module\n"
            "spec.loader.exec_module(module)\n"
            "del importlib, spec, module\n"
            f"from autograder.worker.zygote import main\nmain({args!r})\n").encode()

    def env(self) -> dict[str, str]:
        """The zygote's environment: nothing in it says that this is a grader."""
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "MPLBACKEND": "Agg",
               "OMP_NUM_THREADS": "1"}
        for key in ("CUDA_VISIBLE_DEVICES", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
            if key in os.environ:
                env[key] = os.environ[key]
        return env

    def bwrap_args(self) -> list[str]:
        args = ["--die-with-parent", "--new-session", "--unshare-pid", "--unshare-net",
                "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--hostname", "worker"]
        if os.getuid() != 0:
            # a user namespace where they are allowed; a setuid bwrap does without one
            args.append("--unshare-user-try")
        # The private /tmp first: a repository or virtual environment that lives under /tmp is
        # bound on top of it, not hidden by it.
        args += ["--perms", "1777"]
        if _bwrap_supports("--size"):
            args += ["--size", str(TMP_BYTES)]
        args += ["--tmpfs", "/tmp"]
        binds = _system_paths() + self.extra_ro + _python_paths()
        # bubblewrap creates missing parent directories private (0700); the unprivileged uid of
        # the student's process must be able to traverse them.
        for parent in _ancestors(binds):
            args += ["--perms", "0755", "--dir", parent]
        for path in binds:
            args += ["--ro-bind-try", path, path]
        args += ["--proc", "/proc", "--dev", "/dev", "--chdir", "/tmp", "--dir", "/run"]
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


def closed_folder() -> str:
    """The first folder on the way to the Python installation, the virtual environment or the
    autograder package that other users may not enter ('' if there is none). Without a sandbox, a
    grader running as root runs student code as an unprivileged uid, which could not import from
    behind such a folder (a repository cloned into a 0700 folder, or into /root)."""
    for path in _python_paths():
        target = Path(path)
        for folder in [*reversed(target.parents), target]:
            try:
                if not folder.stat().st_mode & stat.S_IXOTH:
                    return str(folder)
            except OSError:
                break
    return ""


def _nvidia_devices() -> list[str]:
    """The NVIDIA device nodes of this job: the control nodes, and the GPUs this process may open
    (a scheduler that gives the job some GPUs of a node refuses the others through its cgroup)."""
    dev = Path("/dev")
    found = []
    for p in sorted(dev.glob("nvidia*")):
        if p.name[len("nvidia"):].isdigit() and not _can_open(p):
            continue
        found.append(str(p))
    if (dev / "dri").exists():
        found += sorted(str(p) for p in (dev / "dri").glob("*"))
    return found


def _can_open(path: Path) -> bool:
    try:
        os.close(os.open(path, os.O_RDWR | os.O_CLOEXEC))
    except OSError:
        return False
    return True


@functools.cache
def _bwrap_supports(option: str) -> bool:
    """Whether this bubblewrap knows ``option`` (older ones lack ``--size``)."""
    try:
        r = subprocess.run(["bwrap", "--help"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return option in (r.stdout + r.stderr)


def _probe_bwrap(bwrap: str) -> str:
    """'' if bubblewrap can create the sandbox here, else why not."""
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

"""The pre-loaded parent: imports torch once, then forks one fresh child per submission.

Started by the grader (inside the sandbox when there is one) with a control socket on the file
descriptor named by ``--control-fd``. Per submission the grader sends ``{"op": "fork", ...}`` with
the child's end of a fresh socket pair attached (SCM_RIGHTS). The zygote never runs student code and
never touches CUDA (CUDA does not survive a fork); it is a child subreaper, so it can find and kill
everything a submission started when the submission is done.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import re
import resource
import select
import shutil
import signal
import socket
import sys
import tempfile
import time

PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36
_DEBUG = bool(os.environ.get("AUTOGRADER_DEBUG"))
_REAPED: dict[int, int] = {}  # exit statuses collected by _reap_all
_SANDBOX = "none"  # how this zygote was started: "bwrap" (private /tmp, pid namespace) or "none"


def main(argv: list[str] | None = None) -> None:
    global _SANDBOX, _DEBUG
    parser = argparse.ArgumentParser(prog="autograder-zygote")
    parser.add_argument("--control-fd", type=int, required=True)
    parser.add_argument("--scratch", default=None)
    parser.add_argument("--sandbox", default="none", help="bwrap or none (as started)")
    parser.add_argument("--debug", action="store_true", help="keep the children's output")
    opts = parser.parse_args(argv)
    _SANDBOX = opts.sandbox
    _DEBUG = _DEBUG or opts.debug
    _close_fds_except(opts.control_fd)
    _set_dumpable(False)  # a student's process running as our uid cannot ptrace us

    t0 = time.perf_counter()
    import torch  # noqa: F401 - the point of the zygote is to pay for this once

    from autograder.sandbox import closed_folder
    from autograder.worker import preload

    preload.warm(children_read_disk=_SANDBOX != "none" or os.getuid() != 0 or not closed_folder())
    ctrl = socket.socket(fileno=opts.control_fd)
    _set_subreaper()
    # Neutral names (nothing says "grader"); traversable (0711) so that the unprivileged uid can
    # reach its own folder inside, but not list the others.
    scratch_root = opts.scratch or tempfile.mkdtemp()
    os.chmod(scratch_root, 0o711)
    _send(ctrl, {"ready": True, "pid": os.getpid(), "import_s": time.perf_counter() - t0,
                 "sandbox": _SANDBOX})
    counter = 0
    while True:
        try:
            msg, fds, _, _ = socket.recv_fds(ctrl, 1 << 20, 4)
        except OSError:
            return
        if not msg:
            return
        req = json.loads(msg)
        if req.get("op") == "kill" and not fds:
            continue  # for a child that had already exited (its status was sent): nothing to do
        if req.get("op") != "fork" or not fds:
            for fd in fds:
                os.close(fd)
            _send(ctrl, {"error": "expected a fork request with a socket"})
            continue
        _preload(req.get("preload", []))
        counter += 1
        scratch = os.path.join(scratch_root, f"s{counter}")
        os.makedirs(scratch, mode=0o700)
        pid = os.fork()
        if pid == 0:  # the child: never returns
            ctrl.close()
            _run_child(fds[0], scratch, req)
        os.close(fds[0])
        _send(ctrl, {"pid": pid})
        status = _supervise(ctrl, pid)
        shutil.rmtree(scratch, ignore_errors=True)
        if _SANDBOX == "bwrap":  # /tmp and /dev/shm are this sandbox's own: leave nothing behind
            _clean_shared_dirs(keep=scratch_root)
        _send(ctrl, {"exited": status})


def _preload(names: list) -> None:
    """Import the libraries an assignment's checks reach in the worker (``t.lib("timm...")``)
    here, once, before any student code: each child then starts with them loaded and snapshots
    them before the submission runs."""
    import importlib

    for name in names if isinstance(names, list) else []:
        if isinstance(name, str) and name.split(".")[0] in ("torchvision", "timm"):
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 - a missing library: t.lib reports it per check
                pass


def _run_child(fd: int, scratch: str, req: dict) -> None:
    code = 1
    debug = os.fdopen(os.dup(2), "w") if _DEBUG else None
    try:
        os.setsid()
        sock = socket.socket(fileno=fd)
        limits = req.get("limits", {})
        uid = limits.get("uid")
        drop = uid is not None and os.getuid() == 0
        if drop:
            os.chown(scratch, uid, uid)
        os.chdir(scratch)
        _oom_first()
        # What a plain Python process would have: nothing names the grader.
        os.environ.clear()
        os.environ.update({"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "MPLBACKEND": "Agg",
                           "HOME": scratch, "TMPDIR": scratch, "PWD": scratch, "USER": "user",
                           "LOGNAME": "user"})
        sys.argv = [""]
        # Nothing the submission prints is read, so it goes nowhere: printing never fails and
        # never fills a disk, however much of it there is (only time bounds it). With
        # AUTOGRADER_DEBUG it goes to a file in the scratch folder, bounded by file_bytes.
        if _DEBUG:
            out = os.open(os.path.join(scratch, ".output"), os.O_WRONLY | os.O_CREAT, 0o600)
            if drop:
                os.fchown(out, uid, uid)
        else:
            out = os.open(os.devnull, os.O_WRONLY)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.close(out)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        _apply_limits(limits, dropped=drop)
        if drop:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
        _set_dumpable(True)  # its own /proc/self is readable, as in any process
        from autograder.worker.server import Server
        from autograder.worker.state import configure

        configure(int(req.get("threads", 1)))
        Server(sock, int(limits.get("max_payload", 512 << 20))).serve()
        code = 0
    except BaseException:  # noqa: BLE001 - the child must never return into the zygote loop
        if debug is not None:
            import traceback

            traceback.print_exc(file=debug)
            debug.flush()
        code = 1
    finally:
        os._exit(code)


def _apply_limits(limits: dict, dropped: bool) -> None:
    table = {
        "cpu_s": resource.RLIMIT_CPU,
        "memory_bytes": resource.RLIMIT_AS,
        "processes": resource.RLIMIT_NPROC,
        "open_files": resource.RLIMIT_NOFILE,
        "file_bytes": resource.RLIMIT_FSIZE,
    }
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    for key, which in table.items():
        value = limits.get(key)
        if value is None:
            continue
        value = int(value)
        if key == "memory_bytes":
            # on top of what the pre-loaded interpreter maps already (torch: ~3.3 GB)
            value += _address_space()
        elif key == "processes" and not dropped and _SANDBOX == "none":
            # Counted per uid: without a uid of its own or a user namespace, the submission shares
            # the count with everything this user runs.
            value += _tasks_of(os.getuid())
        soft, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(which, (value, value))


def _address_space() -> int:
    """This process's mapped address space in bytes (VmSize)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _tasks_of(uid: int) -> int:
    """Processes and threads that count against ``uid``'s RLIMIT_NPROC (as far as /proc shows)."""
    count = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.stat(f"/proc/{entry}").st_uid == uid:
                count += len(os.listdir(f"/proc/{entry}/task"))
        except OSError:
            continue
    return count


def _oom_first() -> None:
    """If memory runs out, the kernel kills a submission's process before anything else."""
    try:
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write("1000")
    except OSError:
        pass


def _supervise(ctrl: socket.socket, pid: int) -> int | None:
    """Wait until the child exits or the grader asks to kill it; then kill all it left behind."""
    pidfd = os.pidfd_open(pid)
    status = None
    try:
        while True:
            ready, _, _ = select.select([ctrl, pidfd], [], [])
            if pidfd in ready:
                break
            msg = ctrl.recv(4096)
            if not msg:  # the grader is gone: kill and quit
                _kill_tree(pid)
                _reap_all()
                sys.exit(0)
            if json.loads(msg).get("op") == "kill":
                _kill_tree(pid)
                break
        try:
            _, raw = os.waitpid(pid, 0)
            status = os.waitstatus_to_exitcode(raw)
        except ChildProcessError:  # already reaped while killing what it left behind
            status = _REAPED.get(pid)
    finally:
        os.close(pidfd)
        _kill_descendants()
        _reap_all()
    return status


def _kill_tree(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass
    _kill_descendants()


def _descendants() -> list[int]:
    me = os.getpid()
    parent: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read().decode(errors="replace")
            parent[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    found, frontier = [], [me]
    while frontier:
        p = frontier.pop()
        kids = [c for c, pp in parent.items() if pp == p and c != me]
        found += kids
        frontier += kids
    return found


def _kill_descendants() -> None:
    """SIGKILL every process below the zygote (orphans are re-parented to it: subreaper)."""
    for _ in range(50):
        pids = _descendants()
        if not pids:
            return
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        _reap_all()
        time.sleep(0.01)


def _reap_all() -> None:
    while True:
        try:
            pid, raw = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        if len(_REAPED) > 1000:
            _REAPED.clear()
        _REAPED[pid] = os.waitstatus_to_exitcode(raw)


def _clean_shared_dirs(keep: str) -> None:
    """Empty the sandbox's /tmp (but for the scratch root) and /dev/shm after a submission, so that
    nothing one submission left there is seen by the next one. What the sandbox bound into /tmp
    (a repository or virtual environment that lives there) is read-only and left alone."""
    mounts = _mount_points()
    for root in ("/tmp", "/dev/shm"):
        _empty(root, keep, mounts)


def _empty(folder: str, keep: str, mounts: set[str]) -> None:
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        path = os.path.join(folder, name)
        if path == keep or path in mounts:
            continue
        try:
            if os.path.isdir(path) and not os.path.islink(path):
                if any(m.startswith(path + "/") for m in mounts):
                    _empty(path, keep, mounts)  # holds a bound folder: empty around it
                else:
                    shutil.rmtree(path, ignore_errors=True)
            else:
                os.unlink(path)
        except OSError:
            pass


def _mount_points() -> set[str]:
    """The mount points of this (the sandbox's) mount namespace."""
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return set()
    points = set()
    for line in lines:
        fields = line.split()
        if len(fields) > 4:  # octal escapes (\040 for a space) as the kernel writes them
            points.add(re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4]))
    return points


def _close_fds_except(keep: int) -> None:
    """Close every inherited descriptor but stdin/out/err and the control socket."""
    os.closerange(3, keep)
    os.closerange(keep + 1, 1 << 16)


def _set_dumpable(flag: bool) -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_DUMPABLE, int(flag), 0, 0, 0)
    except OSError:
        pass


def _set_subreaper() -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except OSError:
        pass


def _send(ctrl: socket.socket, obj: dict) -> None:
    ctrl.sendall(json.dumps(obj).encode())


if __name__ == "__main__":
    main()

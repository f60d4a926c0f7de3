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
import resource
import select
import shutil
import signal
import socket
import sys
import tempfile
import time

PR_SET_CHILD_SUBREAPER = 36
_DEBUG = bool(os.environ.get("AUTOGRADER_DEBUG"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="autograder-zygote")
    parser.add_argument("--control-fd", type=int, required=True)
    parser.add_argument("--scratch", default=None)
    opts = parser.parse_args(argv)

    t0 = time.perf_counter()
    import torch  # noqa: F401 - the point of the zygote is to pay for this once

    from autograder.worker import preload

    preload.warm()
    ctrl = socket.socket(fileno=opts.control_fd)
    _set_subreaper()
    scratch_root = opts.scratch or tempfile.mkdtemp(prefix="ag-scratch-")
    _send(ctrl, {"ready": True, "pid": os.getpid(), "import_s": time.perf_counter() - t0,
                 "sandbox": os.environ.get("AUTOGRADER_SANDBOX", "none")})
    counter = 0
    while True:
        try:
            msg, fds, _, _ = socket.recv_fds(ctrl, 1 << 20, 4)
        except OSError:
            return
        if not msg:
            return
        req = json.loads(msg)
        if req.get("op") != "fork" or not fds:
            for fd in fds:
                os.close(fd)
            _send(ctrl, {"error": "expected a fork request with a socket"})
            continue
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
        _send(ctrl, {"exited": status})


def _run_child(fd: int, scratch: str, req: dict) -> None:
    code = 1
    debug = os.fdopen(os.dup(2), "w") if _DEBUG else None
    try:
        os.setsid()
        sock = socket.socket(fileno=fd)
        limits = req.get("limits", {})
        uid = limits.get("uid")
        if uid is not None and os.getuid() == 0:
            os.chown(scratch, uid, uid)
        os.chdir(scratch)
        env_home = {"HOME": scratch, "TMPDIR": scratch, "PWD": scratch}
        os.environ.clear()
        os.environ.update({"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "MPLBACKEND": "Agg",
                           **env_home})
        out = os.open(os.path.join(scratch, ".output"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
                      0o600)
        if uid is not None and os.getuid() == 0:
            os.fchown(out, uid, uid)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.close(out)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        _apply_limits(limits)
        if uid is not None and os.getuid() == 0:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
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


def _apply_limits(limits: dict) -> None:
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
        soft, hard = resource.getrlimit(which)
        value = int(value)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(which, (value, value))


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
        _, raw = os.waitpid(pid, 0)
        status = os.waitstatus_to_exitcode(raw)
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
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


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

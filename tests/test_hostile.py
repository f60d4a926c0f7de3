"""Hostile submissions are contained: graded in one batch (`autograder grade --workers 2
--require-sandbox`), each scores no more than its honest baseline, the batch completes, the grader
is unharmed, nothing outside the scratch space is written, no process outlives grading and the
network is unreachable. The cases are in tests/hostile/cases.py."""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.grading_helpers import (
    ROOT,
    build_notebook,
    bwrap_usable,
    fast_course,
    grade,
    item_points,
    results,
    solution_notebook,
    write_submissions,
)
from tests.hostile.cases import CASES, baseline

WHY_NOT = bwrap_usable()
pytestmark = pytest.mark.slow
needs_bwrap = pytest.mark.skipif(bool(WHY_NOT), reason=f"needs bubblewrap: {WHY_NOT}")
IS_ROOT = os.getuid() == 0
SITE = Path(sysconfig.get_paths()["purelib"])
HOST_TMP_FORGERY = Path("/tmp/forged_gradebook.csv")


@dataclass
class Batch:
    proc: subprocess.CompletedProcess
    out: Path
    course: Path
    subs: Path
    results: dict
    marker: str
    sleep: str
    uid_base: int
    connections: list
    before: dict
    after: dict
    leftover: list


def _fingerprint(course: Path) -> dict:
    """What must not change: the repository's solutions and package, the virtual environment's
    site-packages hooks, the course copy, and a few paths a forger would write."""
    def tree(folder: Path) -> dict:
        return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(folder.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}

    hooks = sorted(p.name for p in SITE.iterdir()
                   if p.suffix == ".pth" or p.name in ("sitecustomize.py", "usercustomize.py"))
    return {"solutions": tree(ROOT / "solutions"), "course": tree(course),
            "package": tree(ROOT / "autograder"), "site_hooks": hooks,
            "repo_top": sorted(p.name for p in ROOT.iterdir()),
            "home": sorted(p.name for p in Path.home().iterdir()),
            "tmp_forgery": HOST_TMP_FORGERY.exists()}


def _processes(marker: str, uids: range) -> list[str]:
    """Processes whose command line holds ``marker`` or that run as one of ``uids``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            uid = os.stat(f"/proc/{entry}").st_uid
        except OSError:
            continue
        if marker in cmd or (IS_ROOT and uid in uids):
            found.append(f"pid {entry} uid {uid}: {cmd[:120]}")
    return found


def _fill(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace(f"@@{key}@@", value)
    return text


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> Batch:
    base = tmp_path_factory.mktemp("hostile")
    course = fast_course(base / "course")
    subs, out = base / "submissions", base / "out"
    marker = f"HOSTILE{random.randrange(10**9):09d}"
    sleep = str(900000 + random.randrange(99999))
    uid_base = 62000 + 2 * random.randrange(1000)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    abstract = f"ag-hostile-{marker}"
    unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    unix.bind("\0" + abstract)
    unix.listen()
    unix.setblocking(False)
    host_files = [ROOT / "solutions", ROOT / "solutions" / "a1_convolution" / "checks.py",
                  ROOT / "solutions" / "a1_convolution" / "a1_convolution.ipynb",
                  course / "solutions" / "a1_convolution" / "checks.py", course, out,
                  out / "results", subs, subs / "aa_honest" / "a1_convolution.ipynb",
                  ROOT / "tests", ROOT / "README.md", ROOT / ".git", Path("/etc/shadow")]
    host_files += [p for p in Path.home().iterdir() if p.name != ".pyenv"][:5]
    values = {"REPO": str(ROOT), "COURSE": str(course), "OUT": str(out), "SUBS": str(subs),
              "SITE": str(SITE), "PORT": str(listener.getsockname()[1]), "ABSTRACT": abstract,
              "MARKER": marker, "SLEEP": sleep,
              "HOST_FILES": repr([str(p) for p in host_files])}
    notebooks = {}
    for name, case in CASES.items():
        code = {k: _fill(v, values) for k, v in case.code.items()}
        notebooks[name] = build_notebook(code, _fill(case.extra, values))
    write_submissions(subs, notebooks)
    out.mkdir()
    before = _fingerprint(course)
    try:
        proc = grade(subs, out, course, "--require-sandbox",
                     env={"AUTOGRADER_UID_BASE": str(uid_base)}, timeout=400)
        connections = []
        for server in (listener, unix):
            try:
                connections.append(server.accept())
            except BlockingIOError:
                pass
        after = _fingerprint(course)
        deadline = time.monotonic() + 10
        leftover = _processes(sleep, range(uid_base, uid_base + 2))
        while leftover and time.monotonic() < deadline:
            time.sleep(0.2)
            leftover = _processes(sleep, range(uid_base, uid_base + 2))
    finally:
        listener.close()
        unix.close()
        _remove_planted(before)
    return Batch(proc, out, course, subs, results(out), marker, sleep, uid_base, connections,
                 before, after, leftover)


def _remove_planted(before: dict) -> None:
    """Should the sandbox ever fail, do not leave hooks behind in the virtual environment."""
    for name in ("sitecustomize.py", "usercustomize.py", "zz_hostile.pth", "hostile_planted.py"):
        if name not in before["site_hooks"] and (SITE / name).exists():
            (SITE / name).unlink()
    if not before["tmp_forgery"] and HOST_TMP_FORGERY.exists():
        HOST_TMP_FORGERY.unlink()


@needs_bwrap
def test_batch_completes_with_a_row_per_submission(batch):
    assert batch.proc.returncode == 0, batch.proc.stderr[-3000:]
    assert sorted(batch.results) == sorted(CASES)
    rows = (batch.out / "grades.csv").read_text().splitlines()
    assert len(rows) == len(CASES) + 1
    assert sorted(r.split(",")[0] for r in rows[1:]) == sorted(CASES)
    assert all(r["sandbox"] == "bwrap" for r in batch.results.values())


@needs_bwrap
@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_case_is_contained(batch, name):
    case = CASES[name]
    result = batch.results[name]
    points = item_points(result)
    item_max = {k: v[1] for k, v in points.items()}
    summary = "\n".join(f"  {c['item']}/{c['check']}[{c['dtype']}]: {c['points']}/"
                        f"{c['max_points']} {c['message'][:200]}" for c in result["checks"])
    context = f"{name} ({case.why}): status {result['status']} {result['reason']}\n{summary}"
    assert result["status"] == case.status, context
    if case.status == "review":  # scored like graded, with the lines quoted for the instructor
        assert result["review"] and all(f["source"] and f["line"] for f in result["review"]), \
            context
    elif case.status != "graded":
        assert result["score"] == 0 and result["reason"], context
        return
    assert result["score"] <= baseline(case, item_max) + 1e-9, context
    for item in case.zero:
        assert points[item][0] == 0, f"{item} gained points from the trick\n{context}"
    if case.root_only and not IS_ROOT:
        return
    for item in case.full:
        assert points[item][0] == points[item][1], f"the trick cost {item} its points\n{context}"
    for item, text in case.message.items():
        messages = [c["message"] for c in result["checks"] if c["item"] == item]
        assert any(text in m for m in messages), f"no message of {item} says {text!r}\n{context}"


@needs_bwrap
def test_hung_submission_costs_its_budget_once(batch):
    budget, load = 12.0, 4.0  # fast_course's limits
    assert batch.results["hang_everywhere"]["duration_s"] < budget + 6
    assert batch.results["infinite_loop_at_import"]["duration_s"] < load + 6


@needs_bwrap
def test_nothing_outside_the_scratch_space_is_written(batch):
    for key in batch.before:
        assert batch.after[key] == batch.before[key], f"{key} changed during grading"
    assert not (batch.out / "results" / "zz_forged.json").exists()
    assert not list(batch.out.glob("forged*"))
    gradebook = (batch.out / "grades.csv").read_text()
    assert batch.marker not in gradebook
    assert gradebook.count("forge_results,") == 1
    forged = batch.results["forge_results"]
    assert forged["score"] < forged["max_score"]


@needs_bwrap
def test_no_process_outlives_grading(batch):
    assert not batch.leftover, "\n".join(batch.leftover)


@needs_bwrap
def test_network_is_unreachable(batch):
    assert not batch.connections, "a submission reached a socket on the host"


@needs_bwrap
def test_grader_output_is_not_the_students(batch):
    output = batch.proc.stdout + batch.proc.stderr
    assert batch.marker not in output
    assert len(output) < 20_000, "the grader relayed a submission's output"
    for name in CASES:
        size = (batch.out / "results" / f"{name}.json").stat().st_size
        assert size < 200_000, f"results/{name}.json is {size} bytes"
        feedback = (batch.out / "feedback" / f"{name}.html").read_text()
        assert batch.marker not in feedback
        assert "Traceback (most recent call last)" not in feedback


@needs_bwrap
def test_feedback_never_shows_check_source(batch):
    checks_source = (batch.course / "solutions" / "a1_convolution" / "checks.py").read_text()
    secret_lines = [ln.strip() for ln in checks_source.splitlines()
                    if ln.strip().startswith(("_check_conv(", "t.assert_close(", "def _check"))]
    for name in CASES:
        feedback = (batch.out / "feedback" / f"{name}.html").read_text()
        assert not [ln for ln in secret_lines if ln in feedback], name


# -- without bubblewrap ---------------------------------------------------------------------------

def _without_bwrap(tmp: Path) -> dict[str, str]:
    """An environment whose PATH has python but no bwrap."""
    bindir = tmp / "bin"
    bindir.mkdir()
    os.symlink(sys.executable, bindir / "python")
    return {"PATH": str(bindir)}


def test_require_sandbox_refuses_to_grade_without_bubblewrap(tmp_path):
    course = fast_course(tmp_path / "course")
    subs = write_submissions(tmp_path / "subs", {"alice": solution_notebook()})
    r = grade(subs, tmp_path / "out", course, "--require-sandbox", env=_without_bwrap(tmp_path))
    assert r.returncode == 2
    assert "sandbox required but unavailable" in r.stderr and "bwrap" in r.stderr
    assert not (tmp_path / "out" / "grades.csv").exists()


def test_closed_folder_finds_what_other_users_cannot_enter(monkeypatch):
    """Where the fallback's unprivileged uid cannot import from disk, the zygote preloads more."""
    import autograder.sandbox as sandbox

    private = Path(tempfile.mkdtemp(dir="/tmp"))  # 0700, in an enterable /tmp
    (private / "venv").mkdir()
    monkeypatch.setattr(sandbox, "_python_paths", lambda: [str(private / "venv")])
    assert sandbox.closed_folder() == str(private)
    shutil.rmtree(private)
    monkeypatch.setattr(sandbox, "_python_paths", lambda: ["/usr/lib"])
    assert sandbox.closed_folder() == ""


def test_without_bubblewrap_the_grader_says_so_loudly_and_still_grades(tmp_path):
    """The fallback is a plain process, still bounded: a fork bomb times out and nothing a
    submission started outlives it."""
    course = fast_course(tmp_path / "course")
    sleep = str(800000 + random.randrange(99999))
    uid_base = 63000 + 2 * random.randrange(400)
    notebooks = {"honest": solution_notebook()}
    for name in ("fork_bomb", "background_process"):
        case = CASES[name]
        notebooks[name] = build_notebook({k: _fill(v, {"SLEEP": sleep})
                                          for k, v in case.code.items()}, case.extra)
    subs = write_submissions(tmp_path / "subs", notebooks)
    out = tmp_path / "out"
    r = grade(subs, out, course, env={**_without_bwrap(tmp_path),
                                      "AUTOGRADER_UID_BASE": str(uid_base)})
    assert r.returncode == 0, r.stderr
    assert "WARNING: grading WITHOUT a sandbox" in r.stderr
    got = results(out)
    assert {k: (v["status"], v["sandbox"]) for k, v in got.items()} == \
        {k: ("graded", "none") for k in notebooks}
    assert got["honest"]["score"] == got["honest"]["max_score"]
    assert got["background_process"]["score"] == got["background_process"]["max_score"]
    assert item_points(got["fork_bomb"])["conv2d_naive"][0] == 0
    left = _processes(sleep, range(uid_base, uid_base + 2))
    for _ in range(50):
        if not left:
            break
        time.sleep(0.1)
        left = _processes(sleep, range(uid_base, uid_base + 2))
    assert not left, left


def test_a_check_timeout_kills_only_that_child(tmp_path):
    """The zygote survives a child killed for its timeout and forks the next one."""
    from autograder.sandbox import Limits, Sandbox
    from autograder.session import WorkerTimeout, Zygote

    zygote = Zygote(Sandbox.detect())
    info = zygote.start()
    try:
        child = zygote.spawn(Limits())
        header = {"op": "load", "chunks": [{"cell": 1, "source":
                  "import time\ndef spin():\n    while True:\n        pass\n"}], "items": ["spin"]}
        child.request(header, None, 30)
        with pytest.raises(WorkerTimeout):
            child.request({"op": "call", "target": {"name": "spin"}}, None, 1.0)
        assert child.exit_status == -signal.SIGKILL
        assert zygote.alive and zygote.info.pid == info.pid
        again = zygote.spawn(Limits())
        reply, _ = again.request({"op": "ping"}, None, 30)
        assert reply == {"ok": True}
        again.close()
        assert again.exit_status == 0

        # a child that patches the worker so that it never exits when asked is killed, not its
        # zygote
        stubborn = zygote.spawn(Limits())
        stubborn.request({"op": "load", "chunks": [{"cell": 1, "source": NEVER_EXIT}],
                          "items": []}, None, 30)
        stubborn.close()
        assert stubborn.exit_status == -signal.SIGKILL
        assert zygote.alive and zygote.info.pid == info.pid
    finally:
        zygote.close()


NEVER_EXIT = """
class _Stay:
    import sys, time
    _server = sys.modules["autograder.worker.server"]
    _recv = _server.recv_message

    def recv(sock, limit, _recv=_recv, time=time):
        header, tensors = _recv(sock, limit)
        while header.get("op") == "exit":
            time.sleep(1)
        return header, tensors

    _server.recv_message = recv
"""


@needs_bwrap
@pytest.mark.skipif(not IS_ROOT or not shutil.which("unshare"),
                    reason="needs root and unshare(1) to run the grader as another uid")
def test_a_grader_that_is_not_root_sandboxes_in_a_user_namespace(tmp_path):
    """Not root, the grader cannot give student code a uid of its own: bubblewrap puts the worker
    in a user namespace instead. The grader runs here as uid 1000 of a user namespace."""
    course = fast_course(tmp_path / "course")
    values = {"HOST_FILES": repr([str(ROOT / "solutions"), str(course), str(tmp_path / "out")])}
    notebooks = {"honest": solution_notebook()}
    for name in ("read_hidden", "detect_grading"):
        case = CASES[name]
        notebooks[name] = build_notebook({k: _fill(v, values) for k, v in case.code.items()})
    subs = write_submissions(tmp_path / "subs", notebooks)
    out = tmp_path / "out"
    cmd = ["unshare", "--user", "--map-user=1000", "--map-group=1000", sys.executable, "-m",
           "autograder.cli", "grade", "a1_convolution", str(subs), "--out", str(out), "--course",
           str(course), "--workers", "2", "--quiet", "--require-sandbox"]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    got = results(out)
    assert {k: (v["status"], v["sandbox"]) for k, v in got.items()} == \
        {k: ("graded", "bwrap") for k in notebooks}
    assert got["honest"]["score"] == got["honest"]["max_score"]
    assert got["detect_grading"]["score"] == got["detect_grading"]["max_score"]
    messages = [c["message"] for c in got["read_hidden"]["checks"]
                if c["item"] == "receptive_field"]
    assert messages and all("visible=[]" in m for m in messages), messages

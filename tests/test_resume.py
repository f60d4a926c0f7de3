"""Nothing lost: a grader killed with SIGKILL mid-batch and rerun with --resume gives the gradebook
of an uninterrupted run (same rows, no duplicates, no gaps), and grading the same submissions twice
gives the same per-check outcomes and seeds."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.grading_helpers import (
    ROOT,
    build_notebook,
    fast_course,
    grade,
    grade_command,
    results,
    solution_notebook,
    write_submissions,
)

pytestmark = pytest.mark.slow
WRONG_SIZE = '''def conv_output_size(size, kernel_size, stride=1, padding=0, dilation=1):
    return (size + 2 * padding - kernel_size) // stride + 1
'''
NOISY_POOL = '''def avg_pool2d(x, kernel_size, stride=None, padding=0):
    kh, kw = _pair(kernel_size)
    sh, sw = _pair(kernel_size if stride is None else stride)
    ph, pw = _pair(padding)
    x = F.pad(x, (pw, pw, ph, ph))
    out = x.unfold(2, kh, sh).unfold(3, kw, sw).mean(dim=(-2, -1))
    return out + 1e-6 * torch.randn_like(out)  # seeded by the grader: the same every run
'''


def _submissions(folder: Path) -> Path:
    notebooks: dict[str, object] = {f"student{i:02d}": solution_notebook() for i in range(6)}
    notebooks |= {
        "student06": build_notebook({"conv_output_size": WRONG_SIZE}),
        "student07": build_notebook({"avg_pool2d": NOISY_POOL}),
        "student08": build_notebook({"max_pool2d": ""}),
        "student09": b"{not json",
        "student10": None,  # a folder without the notebook
        "student11": build_notebook(extra="class _Bye:\n    import os\n    os._exit(3)\n"),
    }
    write_submissions(folder, notebooks)
    return folder


def _outcomes(out: Path) -> dict:
    """Everything a result decides, without the timings."""
    keep = {}
    for student, r in results(out).items():
        checks = [{k: v for k, v in c.items() if k != "duration_s"} for c in r["checks"]]
        keep[student] = {**{k: v for k, v in r.items() if k not in ("duration_s", "checks")},
                         "checks": checks}
    return keep


def _sandbox_processes(uids: range) -> list[str]:
    found = []
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and os.stat(f"/proc/{entry}").st_uid in uids:
                found.append(entry)
        except OSError:
            continue
    return found


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("resume")
    course = fast_course(base / "course")
    subs = _submissions(base / "submissions")
    uid_base = 64000 + 2 * random.randrange(500)
    env = {**os.environ, "AUTOGRADER_UID_BASE": str(uid_base)}

    whole = base / "whole"
    first = grade(subs, whole, course, env=env)
    assert first.returncode == 0, first.stderr[-3000:]

    interrupted = base / "interrupted"
    proc = subprocess.Popen(grade_command(subs, interrupted, course), cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    done_at_kill = []
    while time.monotonic() < deadline and proc.poll() is None:
        done_at_kill = list((interrupted / "results").glob("*.json"))
        if len(done_at_kill) >= 3:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the batch finished before it could be interrupted"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    time.sleep(0.5)
    state = {"done_at_kill": len(done_at_kill),
             "results_after_kill": sorted(p.stem for p in (interrupted / "results").glob("*.json")),
             "gradebook_after_kill": (interrupted / "grades.csv").exists()}
    # the sandboxes die with the grader (bubblewrap's --die-with-parent, the zygote's socket)
    for _ in range(50):
        state["left_behind"] = _sandbox_processes(range(uid_base, uid_base + 2))
        if not state["left_behind"]:
            break
        time.sleep(0.1)

    resumed = grade(subs, interrupted, course, "--resume", env=env)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    again = grade(subs, interrupted, course, "--resume", env=env)
    return {"whole": whole, "interrupted": interrupted, "state": state, "again": again,
            "students": sorted(p.name for p in subs.iterdir())}


def test_the_kill_came_mid_batch(runs):
    state = runs["state"]
    assert 3 <= len(state["results_after_kill"]) < len(runs["students"])
    assert not state["gradebook_after_kill"]


def test_nothing_outlives_a_killed_grader(runs):
    if os.getuid() != 0:
        pytest.skip("student code runs as the grader's own uid when not root")
    assert not runs["state"]["left_behind"]


def test_resume_gives_the_uninterrupted_gradebook(runs):
    whole = (runs["whole"] / "grades.csv").read_text()
    resumed = (runs["interrupted"] / "grades.csv").read_text()
    assert resumed == whole
    rows = resumed.splitlines()[1:]
    ids = [r.split(",")[0] for r in rows]
    assert ids == runs["students"], "gaps or duplicates"
    statuses = {r.split(",")[0]: r.split(",")[4] for r in rows}
    assert statuses["student09"] == "invalid" and statuses["student10"] == "missing"
    assert statuses["student11"] == "error" and statuses["student00"] == "graded"


def test_every_result_file_is_complete_json(runs):
    for out in (runs["whole"], runs["interrupted"]):
        files = sorted((out / "results").glob("*.json"))
        assert [p.stem for p in files] == runs["students"]
        for p in files:
            json.loads(p.read_text())


def test_grading_twice_gives_identical_outcomes_and_seeds(runs):
    first, second = _outcomes(runs["whole"]), _outcomes(runs["interrupted"])
    assert sorted(first) == sorted(second)
    for student in first:
        assert second[student] == first[student], student
    seeds = [c["seed"] for r in first.values() for c in r["checks"]]
    assert seeds and all(isinstance(s, int) for s in seeds)
    noisy = first["student07"]["checks"]
    assert any(c["item"] == "avg_pool2d" for c in noisy)


def test_resume_with_nothing_left_keeps_the_gradebook(runs):
    again = runs["again"]
    assert again.returncode == 0, again.stderr[-2000:]
    assert (runs["interrupted"] / "grades.csv").read_text() == \
        (runs["whole"] / "grades.csv").read_text()

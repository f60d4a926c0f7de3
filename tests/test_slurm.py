"""The Slurm backend against a real (single-node) Slurm: `scripts/start-slurm.sh` starts one.

Grading with `--backend slurm` must give the local backend's gradebook row for row; every submission
of a task that dies gets an `error` row that says so; `--resume` then grades those again; Ctrl-C
cancels the array job; a CUDA batch asks for `--gres=gpu:1`.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "solutions" / "a1_convolution" / "examples"
# A spread of outcomes that grade quickly (the examples' infinite loop alone takes ~20 s), plus a
# student folder without a notebook and a notebook that is not JSON.
SUBSET = ["off_by_one", "partial_dtype", "perfect", "syntax_error", "untouched"]
SLURM_OPTS = ["--backend", "slurm", "--mem", "2G", "--time-limit", "00:20:00"]

pytestmark = pytest.mark.slurm


def _cluster_problem() -> str | None:
    if shutil.which("sbatch") is None or shutil.which("sinfo") is None:
        return ("sbatch is not on PATH (as root, `bash scripts/start-slurm.sh` starts a one-node "
                "Slurm)")
    try:
        r = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True, timeout=20)
    except subprocess.TimeoutExpired:
        return "the Slurm cluster does not answer (sinfo timed out)"
    if r.returncode != 0:
        return f"the Slurm cluster does not answer (sinfo: {r.stderr.strip()[:200]})"
    if not re.search(r"^(idle|mix|alloc|comp)", r.stdout, re.M):
        return f"no Slurm node is up (sinfo: {r.stdout.split()})"
    return None


_PROBLEM = _cluster_problem()
needs_cluster = pytest.mark.skipif(_PROBLEM is not None, reason=f"no Slurm here: {_PROBLEM}")


def grade(subs: Path, out: Path, *extra: str, env: dict | None = None):
    return subprocess.run(_command(subs, out, *extra), cwd=ROOT, env={**os.environ, **(env or {})},
                          capture_output=True, text=True, timeout=900)


class Grading:
    """`grade` running in the background; its output goes to a file (a pipe that nobody reads
    while the batch runs could fill up)."""

    def __init__(self, subs: Path, out: Path, *extra: str):
        self.log = out.parent / f"{out.name}.stderr"
        with self.log.open("w") as f:
            self.proc = subprocess.Popen(_command(subs, out, *extra), cwd=ROOT, stdout=f,
                                         stderr=f)

    def output(self) -> str:
        self.proc.wait(timeout=120)
        return self.log.read_text()


_COURSE: list[Path] = []  # a1 without its timing check, set by the `course` fixture


@pytest.fixture(scope="module", autouse=True)
def course(tmp_path_factory) -> Path:
    """a1 without its one timing check (three array tasks on two cores make a speed ratio depend
    on the load), so that a Slurm gradebook must equal the local one to the bit."""
    from tests.grading_helpers import fast_course

    root = fast_course(tmp_path_factory.mktemp("course"), check_timeout=10.0,
                       load_timeout=60.0, time_budget=300.0)
    _COURSE[:] = [root]
    return root


def _command(subs: Path, out: Path, *extra: str) -> list[str]:
    course = ["--course", str(_COURSE[0])] if _COURSE else []
    return [sys.executable, "-m", "autograder.cli", "grade", "a1_convolution", str(subs), "--out",
            str(out), *course, *extra]


def rows(out: Path) -> dict[str, dict]:
    return {r["student_id"]: r for r in csv.DictReader((out / "grades.csv").open())}


def comparable(result: dict) -> dict:
    """A result without what a clock decides: durations and measured speeds."""
    timed = re.compile(r"\d+(\.\d+)? ms per call")

    def untimed(d: dict) -> dict:
        return {k: ([n for n in v if not timed.search(n)] if k == "notes" else v)
                for k, v in d.items()
                if k != "duration_s" and not (k == "message" and timed.search(v))}

    return {**untimed(result), "checks": [untimed(c) for c in result["checks"]]}


def job_record(out: Path) -> dict:
    records = sorted((out / ".slurm").glob("*/job.json"))
    assert records, "no job.json: nothing was submitted"
    return json.loads(records[-1].read_text())


@pytest.fixture(scope="module")
def subs(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("subs")
    for name in SUBSET:
        shutil.copytree(EXAMPLES / name, d / name)
    (d / "ghost").mkdir()  # no notebook: missing
    (d / "garbled").mkdir()
    (d / "garbled" / "a1_convolution.ipynb").write_text("{not a notebook")  # invalid
    return d


@pytest.fixture(scope="module")
def local(subs, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("local")
    r = grade(subs, out, "--workers", "2", "--quiet")
    assert r.returncode == 0, r.stderr
    return out


@pytest.fixture(scope="module")
def slurm(subs, tmp_path_factory):
    """Grades with 3 array tasks, reading every result file while the batch runs (an atomic write
    is never seen half-written)."""
    out = tmp_path_factory.mktemp("slurm")
    g = Grading(subs, out, *SLURM_OPTS, "--slurm-tasks", "3")
    seen_while_running: set[str] = set()
    torn: list[str] = []
    deadline = time.monotonic() + 900
    while g.proc.poll() is None and time.monotonic() < deadline:
        for p in (out / "results").glob("*.json"):
            try:
                json.loads(p.read_text())
                seen_while_running.add(p.stem)
            except FileNotFoundError:
                pass
            except ValueError:
                torn.append(p.name)
        time.sleep(0.2)
    stderr = g.output()
    return out, g.proc.returncode, stderr, seen_while_running, torn


@needs_cluster
def test_slurm_gradebook_equals_local(local, slurm):
    out, rc, stderr, _, _ = slurm
    assert rc == 0, stderr
    assert "submitted Slurm array job" in stderr
    assert (out / "grades.csv").read_text() == (local / "grades.csv").read_text()
    statuses = {r["status"] for r in rows(out).values()}
    assert {"graded", "missing", "invalid"} <= statuses
    for p in sorted((local / "results").glob("*.json")):
        want = comparable(json.loads(p.read_text()))
        got = comparable(json.loads((out / "results" / p.name).read_text()))
        assert got == want, p.stem
        assert (out / "feedback" / f"{p.stem}.html").exists()


@needs_cluster
def test_slurm_array_tasks_wrote_results_atomically(slurm, subs):
    out, rc, stderr, seen_while_running, torn = slurm
    assert rc == 0, stderr
    assert not torn, f"half-written results seen: {torn}"
    assert seen_while_running, "results should appear one by one while the job runs"
    assert not list((out / "results").glob(".*")), "temporary files left behind"
    record = job_record(out)
    assert record["tasks"] == 3 and "--array=0-2" in record["sbatch"]
    run_dir = next((out / ".slurm").glob("*/job.json")).parent
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert sorted(s["student_id"] for s in manifest["submissions"]) == sorted(
        p.name for p in subs.iterdir())
    for i in range(3):
        task = json.loads((run_dir / "tasks" / f"{i}.json").read_text())
        assert task["state"] == "done", task
        log = (out / ".slurm" / "logs" / f"{record['job_id']}_{i}.log").read_text()
        assert f"task {i}/3" in log


@needs_cluster
def test_a_dead_task_gives_error_rows_and_resume_grades_them(local, subs, tmp_path):
    """Task 1 is killed (SIGKILL) as it starts: its submissions get `error` rows naming the task,
    its state and its log, the others are graded as usual, and --resume grades the rest."""
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(
        "import os, signal\n"
        "if os.environ.get('SLURM_ARRAY_TASK_ID') == os.environ.get('AUTOGRADER_TEST_KILL_TASK'):\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n")
    few = tmp_path / "subs"
    for name in ["perfect", "off_by_one", "untouched", "ghost"]:
        shutil.copytree(subs / name, few / name)
    out = tmp_path / "out"
    r = grade(few, out, *SLURM_OPTS, "--slurm-tasks", "2",
              env={"PYTHONPATH": str(hook), "AUTOGRADER_TEST_KILL_TASK": "1"})
    assert r.returncode == 0, r.stderr
    got, want = rows(out), rows(local)
    job_id = job_record(out)["job_id"]
    # discover() sorts: ghost, off_by_one, perfect, untouched; task 1 has off_by_one and untouched
    for student in ["off_by_one", "untouched"]:
        row = got[student]
        assert row["status"] == "error" and row["score"] == "0", row
        assert f"Slurm task {job_id}_1 ended FAILED" in row["reason"], row["reason"]
        log = re.search(r"see (\S+\.log)", row["reason"]).group(1)
        assert Path(log).exists(), log
        assert "not graded" in (out / "feedback" / f"{student}.html").read_text()
    for student in ["ghost", "perfect"]:
        assert got[student] == want[student]

    r = grade(few, out, *SLURM_OPTS, "--resume")
    assert r.returncode == 0, r.stderr
    assert "2 kept from an earlier run" in r.stderr
    assert rows(out) == {s: want[s] for s in got}


@needs_cluster
def test_cuda_batch_asks_for_one_gpu_per_task(subs, tmp_path):
    """On the test cluster the GPU is fake (gres.conf File=/dev/null): the request is what counts,
    and every submission still gets a row."""
    few = tmp_path / "subs"
    shutil.copytree(subs / "perfect", few / "perfect")
    out = tmp_path / "out"
    r = grade(few, out, *SLURM_OPTS, "--device", "cuda")
    assert r.returncode == 0, r.stderr
    record = job_record(out)
    assert "--gres=gpu:1" in record["sbatch"]
    shown = subprocess.run(["scontrol", "-o", "show", "job", record["job_id"]],
                           capture_output=True, text=True)
    if shown.returncode == 0 and shown.stdout:  # the controller may have forgotten the job
        assert "gpu:1" in shown.stdout
    row = rows(out)["perfect"]
    assert row["status"] in ("graded", "error") and (row["status"] == "graded" or row["reason"])
    assert json.loads((out / "results" / "perfect.json").read_text())["device"] == "cuda"


@needs_cluster
def test_ctrl_c_cancels_the_array_job(subs, tmp_path):
    few = tmp_path / "subs"
    shutil.copytree(EXAMPLES / "infinite_loop", few / "infinite_loop")
    shutil.copytree(subs / "perfect", few / "perfect")
    out = tmp_path / "out"
    g = Grading(few, out, *SLURM_OPTS)
    deadline = time.monotonic() + 120
    while not list((out / ".slurm").glob("*/job.json")) and time.monotonic() < deadline:
        assert g.proc.poll() is None, g.output()
        time.sleep(0.2)
    job_id = job_record(out)["job_id"]
    g.proc.send_signal(signal.SIGINT)
    stderr = g.output()
    assert g.proc.returncode == 130, stderr
    assert f"cancelled Slurm job {job_id}" in stderr and "--resume" in stderr
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        q = subprocess.run(["squeue", "-h", "-j", job_id, "-o", "%T"], capture_output=True,
                           text=True)
        if not q.stdout.strip():
            break
        time.sleep(1)
    assert not q.stdout.strip(), f"job {job_id} still queued: {q.stdout}"


@needs_cluster
def test_a_bad_partition_is_a_clear_error(subs, tmp_path):
    r = grade(subs, tmp_path / "out", *SLURM_OPTS, "--partition", "no-such-partition")
    assert r.returncode == 2
    assert "sbatch refused the grading job" in r.stderr and "--partition" in r.stderr
    assert "Traceback" not in r.stderr


def test_without_sbatch_the_slurm_backend_says_so(subs, tmp_path):
    r = grade(subs, tmp_path / "out", *SLURM_OPTS, env={"PATH": str(tmp_path)})
    assert r.returncode == 2
    assert "needs Slurm's `sbatch` on PATH" in r.stderr and "Traceback" not in r.stderr


def test_a_task_that_cannot_grade_records_why(tmp_path):
    """What a task says when the course is not where the manifest says (a compute node that does
    not share the filesystem): `grade` puts this in the error rows of its submissions."""
    run = tmp_path / ".slurm" / "run"
    (run / "tasks").mkdir(parents=True)
    sub = EXAMPLES / "perfect" / "a1_convolution.ipynb"
    (run / "manifest.json").write_text(json.dumps({
        "version": 1, "course_root": str(tmp_path / "elsewhere"), "assignment": "a1_convolution",
        "device": "cpu", "seed": 0, "threads": 1, "items": None, "limits": None,
        "require_sandbox": False, "out_dir": str(tmp_path), "cwd": str(ROOT), "tasks": 2,
        "submissions": [{"student_id": "perfect", "path": str(sub), "abs_path": str(sub),
                         "note": ""}]}))
    r = subprocess.run([sys.executable, "-m", "autograder.cli", "grade-shard",
                        str(run / "manifest.json"), "--index", "0", "--of", "2"],
                       capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 2 and "is not visible on" in r.stderr
    task = json.loads((run / "tasks" / "0.json").read_text())
    assert task["state"] == "failed" and "shared with the compute nodes" in task["error"]
    assert not (tmp_path / "results").exists()


def test_error_rows_say_which_task_how_it_ended_and_where_its_log_is(tmp_path):
    from autograder.backends.slurm.backend import SlurmBackend, TaskState, _Run

    run = _Run(Path("grades/a1"), tmp_path / ".slurm" / "run", tmp_path / ".slurm" / "logs",
               job_id="41")
    (run.dir / "tasks").mkdir(parents=True)
    backend = SlurmBackend()
    killed = backend._failure_reason(run, 1, TaskState("FAILED", "0:9", "node7"))
    assert killed.startswith("not graded: its Slurm task 41_1 ended FAILED on node7 (killed by "
                             "signal 9, SIGKILL) before writing a result")
    assert "left no log at grades/a1/.slurm/logs/41_1.log" in killed  # no log: filesystem hint
    timeout = backend._failure_reason(run, 2, TaskState("TIMEOUT", "0:15"))
    assert "ended TIMEOUT" in timeout and "raise --time-limit" in timeout
    run.task_file(3).write_text(json.dumps({"state": "failed", "host": "node2",
                                            "error": "the course folder /x is not visible"}))
    own = backend._failure_reason(run, 3, TaskState("FAILED", "2:0"))
    assert own == ("not graded: its Slurm task 41_3 failed on node2: the course folder /x is not "
                   "visible; see grades/a1/.slurm/logs/41_3.log")

"""Grading on a Slurm cluster, the submitting side: one array job; each task grades its share of
the submissions with the local machinery (one warm sandboxed zygote, ``grade_submission``; see
shard.py) and writes every result atomically into the output folder, which the submitting
``grade`` process watches.

The shared filesystem is the transport: the repository, its ``.venv`` and the output folder must be
visible at the same paths on the compute nodes. Nothing comes back through Slurm itself except each
task's state, which only explains the submissions a task left without a result.

Files, all under ``<out>/.slurm/``::

    <run>/manifest.json   what to grade and how (read by every task)
    <run>/job.sh          the batch script (runs ``autograder.cli grade-shard``)
    <run>/job.json        the job id and the sbatch command line
    <run>/tasks/<i>.json  each task's own account: running, done, or failed with the error
    logs/<job>_<i>.log    each task's stdout and stderr
"""

from __future__ import annotations

import json
import shlex
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from autograder.backends.base import Backend, GradeJob
from autograder.backends.slurm.commands import (
    HINTS,
    TaskState,
    active_tasks,
    exit_words,
    final_states,
    scancel,
    submit,
    summary,
)
from autograder.backends.slurm.manifest import SHARED, manifest_for
from autograder.course import CourseError
from autograder.results import ResultStore, SubmissionResult, write_atomic
from autograder.submissions import Submission

MAX_TASKS = 32  # default array size: min(submissions, MAX_TASKS)
# Slot uids of tasks start here above the sandbox's base, away from a local grader's slots (base+i).
TASK_UID_OFFSET = 100


@dataclass
class _Run:
    """The files of one submission of the batch to Slurm."""

    out_dir: Path  # as the user gave it (for messages)
    dir: Path  # absolute: <out>/.slurm/<run>
    logs: Path  # absolute: <out>/.slurm/logs
    job_id: str = ""
    seen: dict[int, TaskState] = field(default_factory=dict)

    @property
    def manifest(self) -> Path:
        return self.dir / "manifest.json"

    def task_file(self, index: int) -> Path:
        return self.dir / "tasks" / f"{index}.json"

    def log(self, index: int) -> Path:
        """The task's log, named as the user named --out."""
        return self.out_dir / ".slurm" / "logs" / f"{self.job_id}_{index}.log"


class SlurmBackend(Backend):
    def __init__(self, partition: str | None = None, time_limit: str = "00:30:00",
                 mem: str = "8G", tasks: int | None = None, quiet: bool = False,
                 poll_interval: float = 2.0, cpus_per_task: int = 1, settle_s: float = 30.0):
        if tasks is not None and int(tasks) < 1:
            raise CourseError("--slurm-tasks must be at least 1")
        self.partition = partition
        self.time_limit = time_limit
        self.mem = mem
        self.tasks = None if tasks is None else int(tasks)
        self.quiet = quiet
        self.poll_interval = float(poll_interval)
        self.cpus_per_task = max(1, int(cpus_per_task))
        # How long to wait for the results of a task that ended COMPLETED to become visible (a
        # network filesystem may show new files late).
        self.settle_s = float(settle_s)

    # -- the submitting side ----------------------------------------------------------------

    def array_size(self, n: int) -> int:
        return max(1, min(n, self.tasks if self.tasks is not None else MAX_TASKS))

    def run(self, job: GradeJob, on_result: Callable[[SubmissionResult], None]) -> None:
        subs = job.submissions
        if not subs:
            return
        k = self.array_size(len(subs))
        out_abs = Path(job.out_dir).resolve()
        run_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
        run = _Run(Path(job.out_dir), out_abs / ".slurm" / run_id, out_abs / ".slurm" / "logs")
        (run.dir / "tasks").mkdir(parents=True, exist_ok=True)
        run.logs.mkdir(parents=True, exist_ok=True)
        write_atomic(run.manifest, json.dumps(manifest_for(job, k, out_abs), indent=1) + "\n")
        script = run.dir / "job.sh"
        write_atomic(script, self._script(run, k))

        store = ResultStore(job.out_dir)
        before = {s.student_id: _signature(store.path(s.student_id)) for s in subs}
        command = self._sbatch_command(job, run, k, script)
        finished = False
        try:
            run.job_id = submit(command, _wants_gpu(job))
            write_atomic(run.dir / "job.json", json.dumps(
                {"job_id": run.job_id, "tasks": k, "sbatch": command,
                 "submitted": time.strftime("%Y-%m-%dT%H:%M:%S")}, indent=1) + "\n")
            self._say(f"submitted Slurm array job {run.job_id} ({k} task(s)"
                      + (f", partition {self.partition}" if self.partition else "")
                      + (", 1 GPU each" if _wants_gpu(job) else "")
                      + f"); task logs in {run.out_dir / '.slurm' / 'logs'}/; Ctrl-C cancels it")
            self._gather(job, run, k, store, before, on_result)
            finished = True
        finally:
            if not finished and run.job_id:  # Ctrl-C, or anything else that stops us
                scancel(run.job_id)
                self._say(f"cancelled Slurm job {run.job_id}")

    def _sbatch_command(self, job: GradeJob, run: _Run, k: int, script: Path) -> list[str]:
        log = str(run.logs / "%A_%a.log")
        cmd = ["sbatch", "--parsable", f"--array=0-{k - 1}",
               f"--job-name=grade-{job.assignment_id}", f"--time={self.time_limit}",
               f"--mem={self.mem}", f"--cpus-per-task={self.cpus_per_task}",
               f"--output={log}", f"--error={log}", f"--chdir={run.dir}"]
        if self.partition:
            cmd.append(f"--partition={self.partition}")
        if _wants_gpu(job):
            cmd.append("--gres=gpu:1")
        return cmd + [str(script)]

    def _script(self, run: _Run, k: int) -> str:
        py = shlex.quote(sys.executable)
        return "\n".join([
            "#!/bin/bash",
            "# Written by `autograder grade --backend slurm`: grades share $SLURM_ARRAY_TASK_ID of",
            f"# {k} of the submissions listed in manifest.json (options: job.json).",
            "set -u",
            # Each task's student processes get their own uid, so that tasks sharing a node do
            # not share a per-uid process limit.
            'export AUTOGRADER_UID_BASE=$(( ${AUTOGRADER_UID_BASE:-61000} + '
            f'{TASK_UID_OFFSET} + SLURM_ARRAY_TASK_ID ))',
            "export PYTHONUNBUFFERED=1",
            f"exec {py} -m autograder.cli grade-shard {shlex.quote(str(run.manifest))} "
            f'--index "$SLURM_ARRAY_TASK_ID" --of {k}',
            "",
        ])

    def _gather(self, job: GradeJob, run: _Run, k: int, store: ResultStore,
                before: dict[str, tuple | None],
                on_result: Callable[[SubmissionResult], None]) -> None:
        pending = {s.student_id: i % k for i, s in enumerate(job.submissions)}
        last_summary = ""
        failing_since: float | None = None
        while pending:
            _collect(pending, store, before, on_result)
            if not pending:
                return
            active = active_tasks(run.job_id)
            if active is None:  # the controller did not answer: keep the results coming
                failing_since = failing_since or time.monotonic()
                if time.monotonic() - failing_since > 900:
                    raise CourseError(f"Slurm has not answered squeue for 15 minutes; job "
                                      f"{run.job_id} was cancelled; rerun with --resume")
            else:
                failing_since = None
                run.seen.update({i: TaskState(st) for i, (st, _) in active.items()})
                if not active:
                    break
                now = summary(active)
                if now != last_summary:
                    self._say(f"Slurm job {run.job_id}: {now}")
                    last_summary = now
            time.sleep(self.poll_interval)
        _collect(pending, store, before, on_result)
        if not pending:
            return
        states = final_states(run.job_id, k, run.seen)
        # A task that ended well wrote its results: give the filesystem time to show them.
        deadline = time.monotonic() + self.settle_s
        while (any(states.get(i, TaskState()).state == "COMPLETED" for i in pending.values())
               and time.monotonic() < deadline):
            time.sleep(min(1.0, self.poll_interval))
            _collect(pending, store, before, on_result)
        max_score = _max_score(job)
        for sid, index in sorted(pending.items(), key=lambda kv: kv[1]):
            sub = next(s for s in job.submissions if s.student_id == sid)
            reason = self._failure_reason(run, index, states.get(index, TaskState()))
            on_result(_error_result(sub, job, reason, max_score))

    def _failure_reason(self, run: _Run, index: int, st: TaskState) -> str:
        task = f"its Slurm task {run.job_id}_{index}"
        own = _read_json(run.task_file(index)) or {}
        node = own.get("host") or st.node
        where = f" on {node}" if node else ""
        if own.get("state") == "failed" and own.get("error"):
            what = f"{task} failed{where}: {own['error']}"
        elif st.state == "COMPLETED":
            what = (f"{task} ended COMPLETED{where}, yet its result did not appear in "
                    f"{run.out_dir / 'results'} within {self.settle_s:g} s ({SHARED})")
        elif st.state == "UNKNOWN":
            what = f"{task} ended without writing a result (its final state is unknown)"
        else:
            what = (f"{task} ended {st.state}{where}{exit_words(st.exit_code)} before writing "
                    "a result")
            if st.state in HINTS:
                what += f" ({HINTS[st.state]})"
            elif st.exit_code.startswith(("126:", "127:")):
                what += f" ({sys.executable} could not be run there: {SHARED})"
        log = run.log(index)
        if not log.exists() and not own:
            return f"not graded: {what}; the task left no log at {log} ({SHARED})"
        return f"not graded: {what}; see {log}"

    def _say(self, message: str) -> None:
        if not self.quiet:
            from tqdm import tqdm

            tqdm.write(message, file=sys.stderr)


def _wants_gpu(job: GradeJob) -> bool:
    return job.options.device.startswith("cuda")


def _signature(path: Path) -> tuple | None:
    """Identifies one version of a file: every atomic write makes a new inode."""
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def _collect(pending: dict[str, int], store: ResultStore, before: dict[str, tuple | None],
             on_result: Callable[[SubmissionResult], None]) -> None:
    """Passes on every result that a task has written since the job was submitted."""
    for sid in sorted(pending):
        sig = _signature(store.path(sid))
        if sig is None or sig == before.get(sid):
            continue
        result = store.load(sid)
        if result is None or result.student_id != sid:
            continue
        del pending[sid]
        on_result(result)


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _max_score(job: GradeJob) -> float:
    from autograder.course import load_assignment

    try:
        return load_assignment(job.course_root, job.assignment_id).max_score
    except Exception:  # noqa: BLE001 - the rows matter more than their maximum
        return 0.0


def _error_result(sub: Submission, job: GradeJob, reason: str,
                  max_score: float) -> SubmissionResult:
    # No source_sha256: --resume grades these again.
    return SubmissionResult(student_id=sub.student_id, assignment=job.assignment_id,
                            status="error", score=0.0, max_score=max_score, reason=reason,
                            device=job.options.device, seed=job.options.seed,
                            source_file=str(sub.path or ""))


# -- the task side (``autograder grade-shard``, run by the batch script) ---------------------

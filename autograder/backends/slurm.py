"""Grading on a Slurm cluster: one array job; each task grades its share of the submissions with the
local machinery (one warm sandboxed zygote, ``grade_submission``) and writes every result atomically
into the output folder, which the submitting ``grade`` process watches.

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
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from autograder.backends.base import Backend, GradeJob
from autograder.course import CourseError
from autograder.grading import GradeOptions
from autograder.results import ResultStore, SubmissionResult, write_atomic
from autograder.sandbox import Limits
from autograder.submissions import Submission

MAX_TASKS = 32  # default array size: min(submissions, MAX_TASKS)
# Slot uids of tasks start here above the sandbox's base, away from a local grader's slots (base+i).
TASK_UID_OFFSET = 100
MANIFEST_VERSION = 1
SHARED = ("the repository, its .venv and the --out folder must be on a filesystem shared with "
          "the compute nodes, at the same paths")
# Job states after which a task does nothing more (anything else is pending or running).
ENDED = {"BOOT_FAIL", "CANCELLED", "COMPLETED", "DEADLINE", "FAILED", "NODE_FAIL",
         "OUT_OF_MEMORY", "PREEMPTED", "REVOKED", "SPECIAL_EXIT", "TIMEOUT"}
HINTS = {"TIMEOUT": "raise --time-limit, or spread the batch over more --slurm-tasks",
         "OUT_OF_MEMORY": "raise --mem", "NODE_FAIL": "rerun with --resume",
         "PREEMPTED": "rerun with --resume", "BOOT_FAIL": "rerun with --resume"}


@dataclass
class TaskState:
    state: str = "UNKNOWN"
    exit_code: str = ""
    node: str = ""


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
        write_atomic(run.manifest, json.dumps(_manifest(job, k, out_abs), indent=1) + "\n")
        script = run.dir / "job.sh"
        write_atomic(script, self._script(run, k))

        store = ResultStore(job.out_dir)
        before = {s.student_id: _signature(store.path(s.student_id)) for s in subs}
        command = self._sbatch_command(job, run, k, script)
        finished = False
        try:
            run.job_id = _submit(command, job)
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
                _scancel(run.job_id)
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
            active = _active_tasks(run.job_id)
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
                summary = _summary(active)
                if summary != last_summary:
                    self._say(f"Slurm job {run.job_id}: {summary}")
                    last_summary = summary
            time.sleep(self.poll_interval)
        _collect(pending, store, before, on_result)
        if not pending:
            return
        states = _final_states(run.job_id, k, run.seen)
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
            what = f"{task} ended {st.state}{where}{_exit(st.exit_code)} before writing a result"
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


def _manifest(job: GradeJob, k: int, out_abs: Path) -> dict:
    o = job.options
    return {
        "version": MANIFEST_VERSION,
        "course_root": str(Path(job.course_root).resolve()),
        "assignment": job.assignment_id,
        "device": o.device,
        "seed": o.seed,
        "threads": o.threads,
        "items": list(o.items) if o.items is not None else None,
        "limits": o.limits.to_dict() if o.limits is not None else None,
        "require_sandbox": job.require_sandbox,
        "out_dir": str(out_abs),
        "cwd": os.getcwd(),
        "tasks": k,
        "submissions": [
            {"student_id": s.student_id, "path": None if s.path is None else str(s.path),
             "abs_path": None if s.path is None else str(Path(s.path).resolve()), "note": s.note}
            for s in job.submissions],
    }


def _submit(command: list[str], job: GradeJob) -> str:
    try:
        r = subprocess.run(command, capture_output=True, text=True, timeout=120)
    except FileNotFoundError:
        raise CourseError("the Slurm backend needs Slurm's `sbatch` on PATH, and it is not there; "
                          "run `grade` on a machine that submits to the cluster (a login node), "
                          "or grade here with --backend local") from None
    except subprocess.TimeoutExpired:
        raise CourseError("sbatch did not answer in 120 s; is the Slurm controller up "
                          "(`sinfo`)?") from None
    message = (r.stderr or r.stdout).strip()
    job_id = r.stdout.strip().split(";")[0].strip() if r.returncode == 0 else ""
    if not job_id.isdigit():
        hint = ""
        low = message.lower()
        if "partition" in low:
            hint = "; check --partition (`sinfo -s` lists the partitions)"
        elif "gres" in low or "node configuration is not available" in low:
            hint = ("; no node offers what was asked"
                    + (" (--gres=gpu:1: choose a GPU partition with --partition)"
                       if _wants_gpu(job) else " (check --mem and --time-limit)"))
        elif "memory" in low:
            hint = "; lower --mem"
        elif "time limit" in low:
            hint = "; lower --time-limit"
        raise CourseError(f"sbatch refused the grading job: {message or 'no job id'}{hint}")
    return job_id


def _scancel(job_id: str) -> None:
    try:
        subprocess.run(["scancel", job_id], capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        print(f"autograder: could not cancel Slurm job {job_id}; run `scancel {job_id}`",
              file=sys.stderr)


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


def _active_tasks(job_id: str) -> dict[int, tuple[str, str]] | None:
    """Array index -> (state, pending reason) of the tasks not yet ended; {} once all have ended;
    None when squeue does not answer."""
    try:
        r = subprocess.run(["squeue", "-h", "-r", "-j", job_id, "-o", "%K|%T|%r"],
                           capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if r.returncode != 0:
        # A job the controller has already forgotten is an ended job.
        return {} if "invalid job id" in (r.stderr + r.stdout).lower() else None
    active: dict[int, tuple[str, str]] = {}
    for line in r.stdout.splitlines():
        parts = line.strip().split("|")
        if len(parts) < 2 or parts[1] in ENDED:
            continue
        for i in _indices(parts[0]):
            active[i] = (parts[1], parts[2] if len(parts) > 2 else "")
    return active


def _summary(active: dict[int, tuple[str, str]]) -> str:
    counts: dict[str, int] = {}
    for state, reason in active.values():
        key = state.lower() + (f" ({reason})" if state == "PENDING" and reason not in
                               ("", "None") else "")
        counts[key] = counts.get(key, 0) + 1
    return ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) + " task(s)"


def _indices(spec: str) -> list[int]:
    """Array indices from squeue/scontrol notation: '3', '3-5', '[3-5,7%2]', '1,4'."""
    out: list[int] = []
    for part in spec.strip("[]").split("%")[0].split(","):
        m = re.fullmatch(r"(\d+)(?:-(\d+))?(?::\d+)?", part.strip())
        if m:
            lo = int(m.group(1))
            out.extend(range(lo, int(m.group(2) or lo) + 1))
    return out


def _final_states(job_id: str, k: int, seen: dict[int, TaskState]) -> dict[int, TaskState]:
    """How each task ended: from the controller (scontrol, while it remembers the job), else from
    accounting (sacct, where the cluster keeps it), else the last state squeue showed."""
    states: dict[int, TaskState] = {}
    try:
        r = subprocess.run(["scontrol", "-o", "show", "job", job_id], capture_output=True,
                           text=True, timeout=60)
        for line in r.stdout.splitlines() if r.returncode == 0 else []:
            task = _field(line, "ArrayTaskId")
            if task is None:
                continue
            st = TaskState(_field(line, "JobState") or "UNKNOWN", _field(line, "ExitCode") or "",
                           _node(_field(line, "NodeList")))
            for i in _indices(task):
                states[i] = st
    except (OSError, subprocess.TimeoutExpired):
        pass
    if any(i not in states for i in range(k)):
        try:
            r = subprocess.run(["sacct", "-n", "-P", "-X", "-j", job_id, "-o",
                                "JobID,State,ExitCode,NodeList"], capture_output=True, text=True,
                               timeout=60)
            for line in r.stdout.splitlines() if r.returncode == 0 else []:
                parts = line.split("|")
                if len(parts) < 3 or "_" not in parts[0]:
                    continue
                state = parts[1].split()[0] if parts[1] else "UNKNOWN"  # "CANCELLED by 0"
                node = _node(parts[3]) if len(parts) > 3 else ""
                for i in _indices(parts[0].split("_", 1)[1]):
                    states.setdefault(i, TaskState(state, parts[2], node))
        except (OSError, subprocess.TimeoutExpired):
            pass
    for i in range(k):
        if i not in states and i in seen:
            states[i] = seen[i]
    return states


def _exit(code: str) -> str:
    """Slurm's 'status:signal' as words ('' when it says nothing)."""
    m = re.fullmatch(r"(\d+):(\d+)", code or "")
    if not m or code == "0:0":
        return ""
    status, sig = int(m.group(1)), int(m.group(2))
    if sig:
        try:
            name = f", {signal.Signals(sig).name}"
        except ValueError:
            name = ""
        return f" (killed by signal {sig}{name})"
    return f" (exit status {status})"


def _field(line: str, key: str) -> str | None:
    m = re.search(rf"(?:^|\s){re.escape(key)}=(\S*)", line)
    return m.group(1) if m else None


def _node(value: str | None) -> str:
    return "" if not value or value in ("(null)", "None assigned") else value


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


def grade_shard(manifest_path: Path, index: int, of: int) -> int:
    """Grades submissions index, index+of, ... of the manifest on this node, writing each result
    atomically into the output folder; records its own state in tasks/<index>.json."""
    from autograder.backends.local import LocalBackend

    manifest_path = Path(manifest_path).resolve()
    m = json.loads(manifest_path.read_text())
    if m.get("version") != MANIFEST_VERSION:
        raise CourseError(f"{manifest_path} was written by another version of the autograder")
    if of != m["tasks"] or not 0 <= index < of:
        raise CourseError(f"task {index} of {of} does not match the manifest's {m['tasks']} tasks")
    status = manifest_path.parent / "tasks" / f"{index}.json"
    host = socket.gethostname()
    mine = m["submissions"][index::of]

    def account(state: str, **extra) -> None:
        write_atomic(status, json.dumps({"state": state, "host": host, "pid": os.getpid(),
                                         "submissions": len(mine), "time": time.time(),
                                         **extra}) + "\n")

    account("running")
    print(f"task {index}/{of} on {host}: grading {len(mine)} submission(s) of "
          f"{m['assignment']} on {m['device']}", flush=True)
    try:
        for what, path in (("course folder", m["course_root"]), ("submission", _first_path(mine))):
            if path and not Path(path).exists():
                raise CourseError(f"the {what} {path} is not visible on {host}: {SHARED}")
        try:
            os.chdir(m["cwd"])  # so that paths given relative to `grade`'s folder read the same
        except OSError:
            pass
        subs = [Submission(s["student_id"], _shard_path(s), s.get("note", "")) for s in mine]
        limits = Limits(**m["limits"]) if m.get("limits") else None
        options = GradeOptions(device=m["device"], seed=m["seed"], threads=m.get("threads", 1),
                               limits=limits,
                               items=tuple(m["items"]) if m.get("items") is not None else None)
        job = GradeJob(Path(m["course_root"]), m["assignment"], subs, options,
                       Path(m["out_dir"]), bool(m.get("require_sandbox")))
        store = ResultStore(job.out_dir)

        def save(result: SubmissionResult) -> None:
            store.save(result)
            print(f"{result.student_id}: {result.status} {result.score:g}/{result.max_score:g} "
                  f"({result.duration_s:.1f} s)", flush=True)

        import torch

        torch.set_num_threads(max(1, int(os.environ.get("SLURM_CPUS_PER_TASK", "1"))))
        LocalBackend(workers=1).run(job, save)
    except BaseException as e:
        account("failed", error=f"{type(e).__name__}: {e}" if not isinstance(e, CourseError)
                else str(e))
        raise
    account("done")
    return 0


def _first_path(mine: list[dict]) -> str | None:
    return next((s["abs_path"] for s in mine if s.get("abs_path")), None)


def _shard_path(s: dict) -> Path | None:
    """The submission's path as `grade` named it when it reads the same file here (results then
    match the local backend's byte for byte), else its absolute path."""
    if s.get("path") is None:
        return None
    given = Path(s["path"])
    absolute = Path(s["abs_path"])
    try:
        if given.resolve() == absolute:
            return given
    except OSError:
        pass
    return absolute

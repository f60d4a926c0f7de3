"""Slurm's commands as the backend uses them: submit, cancel, and how the tasks of an array job
stand (squeue while they run; scontrol or sacct once they have ended)."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from dataclasses import dataclass

from autograder.course import CourseError

# Job states after which a task does nothing more (anything else is pending or running).
ENDED = {"BOOT_FAIL", "CANCELLED", "COMPLETED", "DEADLINE", "FAILED", "NODE_FAIL",
         "OUT_OF_MEMORY", "PREEMPTED", "REVOKED", "SPECIAL_EXIT", "TIMEOUT"}
HINTS = {"TIMEOUT": "raise --time-limit, or spread the batch over more --slurm-tasks",
         "OUT_OF_MEMORY": "raise --mem", "NODE_FAIL": "rerun with --resume",
         "PREEMPTED": "rerun with --resume", "BOOT_FAIL": "rerun with --resume"}


@dataclass
class TaskState:
    """How a task of the array job stands (or ended), and where it ran."""

    state: str = "UNKNOWN"
    exit_code: str = ""
    node: str = ""


def submit(command: list[str], wants_gpu: bool) -> str:
    """Run sbatch: the job id, or a CourseError that says what to change."""
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
                       if wants_gpu else " (check --mem and --time-limit)"))
        elif "memory" in low:
            hint = "; lower --mem"
        elif "time limit" in low:
            hint = "; lower --time-limit"
        raise CourseError(f"sbatch refused the grading job: {message or 'no job id'}{hint}")
    return job_id


def scancel(job_id: str) -> None:
    try:
        subprocess.run(["scancel", job_id], capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        print(f"autograder: could not cancel Slurm job {job_id}; run `scancel {job_id}`",
              file=sys.stderr)


def active_tasks(job_id: str) -> dict[int, tuple[str, str]] | None:
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
        for i in indices(parts[0]):
            active[i] = (parts[1], parts[2] if len(parts) > 2 else "")
    return active


def summary(active: dict[int, tuple[str, str]]) -> str:
    counts: dict[str, int] = {}
    for state, reason in active.values():
        key = state.lower() + (f" ({reason})" if state == "PENDING" and reason not in
                               ("", "None") else "")
        counts[key] = counts.get(key, 0) + 1
    return ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) + " task(s)"


def indices(spec: str) -> list[int]:
    """Array indices from squeue/scontrol notation: '3', '3-5', '[3-5,7%2]', '1,4'."""
    out: list[int] = []
    for part in spec.strip("[]").split("%")[0].split(","):
        m = re.fullmatch(r"(\d+)(?:-(\d+))?(?::\d+)?", part.strip())
        if m:
            lo = int(m.group(1))
            out.extend(range(lo, int(m.group(2) or lo) + 1))
    return out


def final_states(job_id: str, k: int, seen: dict[int, TaskState]) -> dict[int, TaskState]:
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
            for i in indices(task):
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
                for i in indices(parts[0].split("_", 1)[1]):
                    states.setdefault(i, TaskState(state, parts[2], node))
        except (OSError, subprocess.TimeoutExpired):
            pass
    for i in range(k):
        if i not in states and i in seen:
            states[i] = seen[i]
    return states


def exit_words(code: str) -> str:
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

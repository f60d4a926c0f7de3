"""The manifest of a Slurm run: what every task grades and how, written by the submitting
`grade` and read by each task (``grade-shard``) through the shared filesystem."""

from __future__ import annotations

import json
import os
from pathlib import Path

from autograder.backends.base import GradeJob
from autograder.course import CourseError

MANIFEST_VERSION = 1
SHARED = ("the repository, its .venv and the --out folder must be on a filesystem shared with "
          "the compute nodes, at the same paths")


def manifest_for(job: GradeJob, k: int, out_abs: Path) -> dict:
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


def read_manifest(path: Path, index: int, of: int) -> dict:
    """The manifest at ``path``, checked against the task's ``index`` of ``of``."""
    m = json.loads(path.read_text())
    if m.get("version") != MANIFEST_VERSION:
        raise CourseError(f"{path} was written by another version of the autograder")
    if of != m["tasks"] or not 0 <= index < of:
        raise CourseError(f"task {index} of {of} does not match the manifest's {m['tasks']} tasks")
    return m


def first_path(mine: list[dict]) -> str | None:
    return next((s["abs_path"] for s in mine if s.get("abs_path")), None)


def shard_path(s: dict) -> Path | None:
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

"""The task side of a Slurm run (``autograder grade-shard``, run by the batch script): grade this
task's share of the manifest on this node with the local machinery."""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

from autograder.backends.base import GradeJob
from autograder.backends.slurm.manifest import SHARED, first_path, read_manifest, shard_path
from autograder.course import CourseError
from autograder.grading import GradeOptions
from autograder.results import ResultStore, SubmissionResult, write_atomic
from autograder.sandbox import Limits
from autograder.submissions import Submission


def grade_shard(manifest_path: Path, index: int, of: int) -> int:
    """Grades submissions index, index+of, ... of the manifest on this node, writing each result
    atomically into the output folder; records its own state in tasks/<index>.json."""
    from autograder.backends.local import LocalBackend

    manifest_path = Path(manifest_path).resolve()
    m = read_manifest(manifest_path, index, of)
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
        for what, path in (("course folder", m["course_root"]), ("submission", first_path(mine))):
            if path and not Path(path).exists():
                raise CourseError(f"the {what} {path} is not visible on {host}: {SHARED}")
        try:
            os.chdir(m["cwd"])  # so that paths given relative to `grade`'s folder read the same
        except OSError:
            pass
        subs = [Submission(s["student_id"], shard_path(s), s.get("note", "")) for s in mine]
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

"""Grading on this machine: N worker slots, each a warm sandboxed zygote forking per submission."""

from __future__ import annotations

import queue
import sys
import threading
from collections.abc import Callable

import torch

from autograder.backends.base import Backend, GradeJob
from autograder.course import load_assignment
from autograder.grading import GradeOptions, configure_grader_process, grade_submission
from autograder.results import SubmissionResult
from autograder.sandbox import SANDBOX_UID_BASE, Limits, Sandbox
from autograder.session import WorkerError, Zygote
from autograder.submissions import Submission


class LocalBackend(Backend):
    def __init__(self, workers: int = 1, sandbox: Sandbox | None = None, quiet: bool = False,
                 pool: list[Zygote] | None = None):
        """``pool``: zygotes launched already (``session.launch_pool``), for the first slots."""
        self.workers = max(1, int(workers))
        self.pool = list(pool or [])
        self.sandbox = sandbox or (self.pool[0].sandbox if self.pool else None)
        self.quiet = quiet
        self.startup_s: list[float] = []

    def run(self, job: GradeJob, on_result: Callable[[SubmissionResult], None]) -> None:
        configure_grader_process()
        torch.set_num_threads(1 if self.workers > 1 else max(1, torch.get_num_threads()))
        assignment = load_assignment(job.course_root, job.assignment_id)
        sandbox = self.sandbox or Sandbox.detect(require=job.require_sandbox,
                                                 device=job.options.device)
        if sandbox.kind == "none":  # a security warning: printed even with --quiet
            print(f"WARNING: grading WITHOUT a sandbox: {sandbox.reason}. Student code can read "
                  "this machine's files and use its network. Install bubblewrap (and allow user "
                  "namespaces, or grade as root), or pass --require-sandbox to refuse.",
                  file=sys.stderr)
        todo: queue.Queue[Submission] = queue.Queue()
        for s in job.submissions:
            todo.put(s)
        done: queue.Queue[SubmissionResult | BaseException] = queue.Queue()
        n = min(self.workers, max(1, len(job.submissions)))

        def slot(index: int) -> None:
            zygote = self.pool[index] if index < len(self.pool) else Zygote(sandbox, slot=index)
            limits = _limits_for(job.options, index)
            options = GradeOptions(job.options.device, job.options.seed, job.options.threads,
                                   limits)
            try:
                while True:
                    try:
                        sub = todo.get_nowait()
                    except queue.Empty:
                        return
                    try:
                        if not zygote.ready:
                            self.startup_s.append(zygote.wait_ready().start_s)
                        done.put(grade_submission(sub, assignment, zygote, options))
                    except WorkerError as e:
                        done.put(_error_result(sub, assignment.id, assignment.max_score, str(e),
                                               job.options))
                    except BaseException as e:  # noqa: BLE001 - report, and keep the batch going
                        done.put(_error_result(sub, assignment.id, assignment.max_score,
                                               f"grader error: {type(e).__name__}: {e}",
                                               job.options))
            finally:
                zygote.close()

        threads = [threading.Thread(target=slot, args=(i,), daemon=True) for i in range(n)]
        for t in threads:
            t.start()
        for _ in job.submissions:
            on_result(done.get())
        for t in threads:
            t.join()
        for zygote in self.pool[n:]:  # launched for slots that had nothing to do
            zygote.close()


def _limits_for(options: GradeOptions, slot: int) -> Limits:
    base = options.limits or Limits()
    memory = None if options.device.startswith("cuda") else base.memory_bytes
    return Limits(cpu_s=base.cpu_s, memory_bytes=memory, processes=base.processes,
                  open_files=base.open_files, file_bytes=base.file_bytes,
                  max_payload=base.max_payload, uid=SANDBOX_UID_BASE + slot)


def _error_result(sub: Submission, assignment_id: str, max_score: float, reason: str,
                  options: GradeOptions) -> SubmissionResult:
    return SubmissionResult(student_id=sub.student_id, assignment=assignment_id, status="error",
                            score=0.0, max_score=max_score, reason=reason, device=options.device,
                            seed=options.seed, source_file=str(sub.path or ""))

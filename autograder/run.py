"""The ``grade`` command: discover -> (skip what --resume keeps) -> backend -> results, feedback,
gradebook."""

from __future__ import annotations

import hashlib
import sys
import time
from pathlib import Path

from autograder.backends import GradeJob, get_backend
from autograder.course import CourseError, find_root, load_assignment
from autograder.grading import GradeOptions
from autograder.report.feedback import render_feedback
from autograder.results import ResultStore, SubmissionResult, write_atomic
from autograder.sandbox import SandboxUnavailable
from autograder.submissions import Submission, discover


def _sha(path: Path | None) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path and path.exists() else ""


def _reusable(prev: SubmissionResult | None, sub: Submission, options: GradeOptions) -> bool:
    """A stored result stands for this submission when nothing that decides it has changed."""
    return (prev is not None and prev.source_sha256 == _sha(sub.path)
            and prev.device == options.device and prev.seed == options.seed
            and (sub.path is not None or prev.status == "missing"))


def run_grading(args, pool: list | None = None) -> int:
    """``pool``: worker processes the command line launched already (local backend)."""
    root = args.course or find_root()
    assignment = load_assignment(root, args.assignment)
    if not args.submissions.is_dir():
        raise CourseError(f"{args.submissions} is not a folder of submissions")
    subs = discover(args.submissions, args.assignment)
    if not subs:
        raise CourseError(f"no student folders in {args.submissions}")
    options = GradeOptions(device=args.device, seed=args.seed)
    store = ResultStore(args.out)
    todo = [s for s in subs
            if not (args.resume and _reusable(store.load(s.student_id), s, options))]
    kept = len(subs) - len(todo)
    if not args.quiet:
        print(f"grading {assignment.id}: {len(todo)} submission(s)"
              + (f", {kept} kept from an earlier run" if kept else "")
              + (f", {args.workers} worker(s)" if args.backend == "local" else ", on Slurm")
              + f", device {args.device}", file=sys.stderr)
    backend_opts = {"workers": args.workers, "quiet": args.quiet, "pool": pool}
    if args.backend == "slurm":
        backend_opts = {"partition": args.partition, "time_limit": args.time_limit,
                        "mem": args.mem, "tasks": args.slurm_tasks, "quiet": args.quiet}
    backend = get_backend(args.backend, **backend_opts)
    job = GradeJob(root, assignment.id, todo, options, Path(args.out), args.require_sandbox)
    start = time.monotonic()
    bar = _progress(len(todo), args.quiet)
    feedback_dir = Path(args.out) / "feedback"

    def on_result(result: SubmissionResult) -> None:
        store.save(result)
        write_atomic(feedback_dir / f"{result.student_id}.html",
                     render_feedback(result, assignment.title))
        bar.update(1)
        bar.set_postfix_str(f"{result.student_id}: {result.status} {result.score:g}")

    try:
        if todo:
            backend.run(job, on_result)
    except SandboxUnavailable as e:
        bar.close()
        print(f"autograder: {e}", file=sys.stderr)
        return 2
    bar.close()
    results = [store.load(s.student_id) for s in subs]
    missing = [s.student_id for s, r in zip(subs, results) if r is None]
    gradebook = store.write_gradebook([r for r in results if r is not None])
    elapsed = time.monotonic() - start
    if not args.quiet:
        counts: dict[str, int] = {}
        for r in results:
            if r is not None:
                counts[r.status] = counts.get(r.status, 0) + 1
        summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
        per = elapsed / max(1, len(todo))
        print(f"graded {len(todo)} in {elapsed:.1f} s ({per:.2f} s per submission): {summary}",
              file=sys.stderr)
        print(f"gradebook: {gradebook}\nfeedback:  {feedback_dir}/", file=sys.stderr)
        for r in results:  # scored, but the instructor decides: say which lines, here
            if r is not None and r.status == "review":
                print(f"held for review: {r.student_id}: " + "; ".join(
                    f"cell {f['cell']}, line {f['line']}: {f['source']}" for f in r.review),
                    file=sys.stderr)
    if missing:
        print(f"autograder: no result for {', '.join(missing)}; rerun with --resume",
              file=sys.stderr)
        return 1
    return 0


def _progress(total: int, quiet: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="sub", disable=quiet or total == 0, file=sys.stderr,
                dynamic_ncols=True)

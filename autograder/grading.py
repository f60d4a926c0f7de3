"""Grading one submission: parse, load in a worker, run every check variant, score.

The stages are small and separate: ``notebook`` parses, ``session`` talks to the sandboxed worker,
``checks`` runs the instructor's checks in this (trusted) process, ``results`` records the outcome.
"""

from __future__ import annotations

import hashlib
import time
import traceback
from dataclasses import asdict, dataclass

import torch

import autograder
from autograder.checks.context import CheckContext
from autograder.checks.errors import CheckFailed, StudentError
from autograder.checks.registry import DTYPES, Assignment, Variant
from autograder.notebook import (
    InvalidNotebook,
    ParsedNotebook,
    extract,
    forbidden_uses,
    machinery_uses,
    read_notebook,
    unrun_globals,
)
from autograder.protocol import MessageTooLarge
from autograder.results import SCORED, CheckResult, SubmissionResult, review_reason
from autograder.sandbox import Limits
from autograder.session import Child, WorkerCrashed, WorkerError, WorkerTimeout, Zygote
from autograder.submissions import Submission

MAX_RESTARTS = 8


@dataclass
class GradeOptions:
    device: str = "cpu"
    seed: int = 0
    threads: int = 1
    limits: Limits | None = None
    items: tuple[str, ...] | None = None  # grade only these items (tests of checks use this)


def configure_grader_process() -> None:
    """The trusted process's numerics: TF32 off, float32 default; references are float64 anyway."""
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")


class LoadFailed(Exception):
    def __init__(self, status: str, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


class _Worker:
    """The submission's process, restarted (and reloaded) after a crash or a timeout."""

    def __init__(self, zygote: Zygote, parsed: ParsedNotebook, assignment: Assignment,
                 options: GradeOptions):
        self.zygote = zygote
        self.parsed = parsed
        self.assignment = assignment
        self.options = options
        self.child: Child | None = None
        self.restarts = -1
        self.load_reply: dict = {}

    def ensure(self, timeout: float) -> None:
        if self.child is not None and not self.child.dead:
            return
        self.restarts += 1
        if self.restarts > MAX_RESTARTS:
            raise LoadFailed("error", "the submission's process crashed too many times")
        limits = self.options.limits or Limits()
        try:
            self.child = self.zygote.spawn(limits, threads=self.options.threads,
                                           preload=self.assignment.worker_libraries)
        except WorkerError as e:
            raise LoadFailed("error", f"could not start a worker: {e}") from None
        header = {
            "op": "load",
            "chunks": [{"cell": c.cell, "source": c.source} for c in self.parsed.chunks],
            "items": sorted(self.assignment.items),
            "forbid": {n: it.forbid.to_dict() for n, it in self.assignment.items.items()},
            "device": self.options.device,
        }
        try:
            reply, _ = self.child.request(header, None, timeout)
        except WorkerTimeout:
            raise LoadFailed("timeout", f"loading the notebook's definitions took longer than "
                                        f"{timeout:g} s (an infinite loop at module level?)"
                             ) from None
        except WorkerCrashed as e:
            raise LoadFailed("error", f"loading the notebook's definitions crashed: {e}") from None
        except MessageTooLarge as e:
            raise LoadFailed("invalid", f"the notebook's code is too large to load ({e})") from None
        if not isinstance(reply.get("defined"), list) or not isinstance(reply.get("errors"), list):
            raise LoadFailed("error", "the worker answered the load request with garbage")
        self.load_reply = reply

    def request(self, header: dict, tensors: dict | None, timeout: float):
        if self.child is None or self.child.dead:
            raise WorkerCrashed("the worker is not running")
        return self.child.request(header, tensors, timeout)

    def close(self) -> None:
        if self.child is not None:
            self.child.close()


def grade_submission(sub: Submission, assignment: Assignment, zygote: Zygote,
                     options: GradeOptions) -> SubmissionResult:
    """Grade one submission. Never raises for anything the submission does."""
    start = time.monotonic()
    result = SubmissionResult(
        student_id=sub.student_id, assignment=assignment.id, status="graded", score=0.0,
        max_score=assignment.max_score, seed=options.seed, device=options.device,
        sandbox=zygote.sandbox.kind, grader_version=autograder.__version__,
    )
    if sub.note:
        result.notes.append(sub.note)
    if sub.path is None:
        return _finish(result, "missing", f"no {assignment.id}.ipynb was submitted", start)
    result.source_file = str(sub.path)
    try:
        result.source_sha256 = hashlib.sha256(sub.path.read_bytes()).hexdigest()
        parsed = extract(read_notebook(sub.path))
    except InvalidNotebook as e:
        return _finish(result, "invalid", str(e), start)
    except (OSError, RecursionError, MemoryError, ValueError) as e:
        return _finish(result, "invalid", f"the notebook could not be parsed: {e}", start)
    result.notes += parsed.problems + unrun_globals(parsed, list(assignment.items))
    result.review = [asdict(f) for f in machinery_uses(parsed, list(assignment.items))]
    if not parsed.chunks:
        result.notes.append("the notebook defines nothing (no imports, functions or classes)")
    worker = _Worker(zygote, parsed, assignment, options)
    deadline = start + assignment.time_budget
    try:
        try:
            worker.ensure(min(assignment.load_timeout, deadline - time.monotonic()))
        except LoadFailed as e:
            return _finish(result, e.status, e.reason, start)
        result.notes += [_load_error_note(err) for err in worker.load_reply["errors"]]
        _run_checks(result, assignment, parsed, worker, options, deadline)
    finally:
        worker.close()
    if any(c.message.startswith("not run: the submission used up its") for c in result.checks):
        return _finish(result, "timeout", f"the submission used up its {assignment.time_budget:g} "
                                          "s time budget", start, zero=True)
    if result.review and result.status == "graded":  # scored, held for the instructor
        return _finish(result, "review", review_reason(result.review), start)
    return _finish(result, result.status, result.reason or _problems(result), start)


def _problems(result: SubmissionResult) -> str:
    """The gradebook's reason for a graded notebook with problems: names not defined, cells
    skipped, definitions that failed to load (empty for a clean notebook)."""
    parts = [f"not defined: {', '.join(result.items_missing)}"] if result.items_missing else []
    parts += result.notes[:2]
    text = "; ".join(parts)
    return text if len(text) <= 300 else text[:297] + "..."


def _run_checks(result: SubmissionResult, assignment: Assignment, parsed: ParsedNotebook,
                worker: _Worker, options: GradeOptions, deadline: float) -> None:
    defined = set(worker.load_reply.get("defined", []))
    load_errors = worker.load_reply.get("errors", [])
    skipped: dict[str, str] = {}  # item -> why its remaining checks are not run
    signatures = {n: d.params for n, d in parsed.definitions.items() if d.params}
    for item_name, item in assignment.items.items():
        if item_name not in parsed.definitions:
            result.items_missing.append(item_name)
            skipped[item_name] = _missing_reason(item_name, parsed)
        elif item_name not in defined:
            skipped[item_name] = f"{item_name} could not be defined when your notebook was " \
                                 f"loaded ({_first_error(load_errors)})"
        else:
            uses = forbidden_uses(parsed, item_name, item.forbid.static_names())
            if uses:
                skipped[item_name] = f"{item_name} uses a forbidden call: {', '.join(uses)}"
    for variant in assignment.variants(options.device):
        item = variant.check.item
        if options.items is not None and item not in options.items:
            continue
        seed = variant.seed(options.seed)
        cr = CheckResult(item=item, check=variant.check.name,
                         description=variant.check.description, dtype=variant.dtype,
                         device=variant.device, points=0.0, max_points=variant.points,
                         passed=False, seed=seed)
        result.checks.append(cr)
        left = deadline - time.monotonic()
        if item in skipped:
            cr.message = skipped[item]
            continue
        if left <= 0:
            cr.message = f"not run: the submission used up its {assignment.time_budget:g} s budget"
            continue
        t0 = time.monotonic()
        try:
            _run_variant(cr, variant, worker, seed, min(variant.check.timeout, left), signatures,
                         options)
        except LoadFailed as e:
            cr.message = f"not run: {e.reason}"
            skipped.update({i: f"not run: {e.reason}" for i in assignment.items})
        except WorkerTimeout:
            limit = min(variant.check.timeout, left)
            budget = f"not run: the submission used up its {assignment.time_budget:g} s budget"
            cr.message = (f"timed out after {limit:g} s (an infinite loop, or far too slow?)"
                          if limit == variant.check.timeout else budget)
            skipped[item] = f"not run: an earlier check of {item} timed out"
        except WorkerCrashed as e:
            cr.message = f"your code crashed the worker process: {e}"
            skipped[item] = f"not run: an earlier check of {item} crashed the worker process"
        cr.duration_s = round(time.monotonic() - t0, 4)
    result.score = round(sum(c.points for c in result.checks), 6)


def _run_variant(cr: CheckResult, variant: Variant, worker: _Worker, seed: int, timeout: float,
                 signatures: dict, options: GradeOptions) -> None:
    worker.ensure(timeout)
    worker.request({"op": "seed", "seed": seed}, None, timeout)
    dtype = DTYPES[variant.dtype] if variant.dtype else None
    ctx = CheckContext(worker, dtype, variant.device, seed, timeout, signatures,
                       show_expected=variant.check.show_expected, items=worker.assignment.items)
    try:
        _run_check(cr, variant, ctx)
    finally:
        try:
            ctx.close()  # the objects the check made the worker hold are freed before the next
        except WorkerError:
            pass  # a worker that died or timed out is restarted with nothing held


def _run_check(cr: CheckResult, variant: Variant, ctx: CheckContext) -> None:
    try:
        variant.check.func(ctx)
    except (WorkerTimeout, WorkerCrashed):
        raise
    except CheckFailed as e:
        cr.message = str(e)
    except StudentError as e:
        cr.message = e.describe()
    except Exception as e:  # noqa: BLE001 - a bug in the check itself: fail closed
        cr.message = "internal error in this check; your instructor has been told"
        cr.internal = "".join(traceback.format_exception(type(e), e, e.__traceback__))[-4000:]
    else:
        cr.passed = True
        cr.points = cr.max_points
    cr.notes = ctx.notes


def _missing_reason(name: str, parsed: ParsedNotebook) -> str:
    msg = f"{name} is not defined in your notebook (check the spelling of its name)"
    if parsed.problems:
        msg += "; " + "; ".join(parsed.problems[:3])
    return msg


def _first_error(errors: list) -> str:
    return _load_error_note(errors[0]) if errors else "unknown reason"


def _load_error_note(err: dict) -> str:
    where = str(err.get("traceback", "")).strip().splitlines()
    loc = where[-1] if where else f"cell {err.get('cell')}"
    message = str(err.get("message"))[:300]
    return f"{loc}: {err.get('type')}: {message} (the rest of that cell was skipped)"


def _finish(result: SubmissionResult, status: str, reason: str, start: float,
            zero: bool = False) -> SubmissionResult:
    result.status = status
    result.reason = reason
    if status not in SCORED or zero:
        result.score = 0.0
        for c in result.checks:
            c.points = 0.0
    result.duration_s = round(time.monotonic() - start, 3)
    return result

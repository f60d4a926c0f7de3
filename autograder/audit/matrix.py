"""Which hidden checks catch which wrong implementations: the audit's data, and running it.

The unit is a :class:`Case`: one implementation of one graded item (``source``, a complete
definition of ``item``), with a label. A case is graded as the solution with that one definition
swapped in, on that item's checks only, in one warm worker shared by every case
(``autograder.testing.grade_source``). The cases of an assignment's ``wrong.py`` are
:func:`wrong_cases`; any other iterable of cases works the same way. :func:`submission_cases`
takes them from a folder of real submissions (each student's definition of each item, run with the
solution's other definitions), to see which checks a class's actual mistakes trip::

    cases = submission_cases(Path("submissions"), "a1_convolution", items=["conv2d"])
    report = run_audit("a1_convolution", cases, root=course)

A case's source may use whatever the solution notebook defines besides its item.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from autograder.course import CourseError, find_root, load_assignment, load_wrong
from autograder.results import SCORED

MIN_WRONG = 3  # wrong implementations each graded item should have (DESIGN: ">= 3 per item")


@dataclass(frozen=True)
class Case:
    """One implementation of one graded item, graded in place of the solution's definition."""

    label: str
    item: str
    source: str


@dataclass
class CaseOutcome:
    """How the item's checks scored one case. ``caught_by``: the variants that ran and failed it;
    ``not_run``: the variants that did not run (the item used a forbidden call, could not be
    loaded, or an earlier check of it timed out or crashed), which lose their points too."""

    label: str
    item: str
    score: float
    max_score: float
    status: str
    caught_by: list[str] = field(default_factory=list)
    not_run: list[str] = field(default_factory=list)
    reason: str = ""  # why variants did not run (the first such message), or the status's reason

    @property
    def caught(self) -> bool:
        """The case loses points (a submission held for review keeps its score: not caught)."""
        return self.status not in SCORED or self.score < self.max_score


@dataclass
class AuditReport:
    """The audit of one assignment: its checks, the solution's grading, and every case's outcome."""

    assignment: str
    title: str
    device: str
    seed: int
    checks: dict[str, dict[str, list[str]]]  # item -> check name -> variant keys, in order
    solution_score: float
    solution_max_score: float
    solution_failed: list[str]  # variant keys the solution fails (each makes the audit suspect)
    solution_seconds: dict[str, float]  # "item/check" -> seconds grading the solution
    cases: list[CaseOutcome]
    seconds: float = 0.0
    min_wrong: int = MIN_WRONG

    def catchers(self, outcome: CaseOutcome) -> list[str]:
        """The checks (``item/check``) with a variant that ran and failed ``outcome``."""
        caught = set(outcome.caught_by)
        return [f"{outcome.item}/{name}" for name, keys in self.checks[outcome.item].items()
                if caught.intersection(keys)]

    def catches_nothing(self) -> list[str]:
        """The checks (``item/check``) that fail no case."""
        caught = {c for o in self.cases for c in self.catchers(o)}
        return [f"{item}/{name}" for item, checks in self.checks.items() for name in checks
                if f"{item}/{name}" not in caught]

    def variants_catching_nothing(self) -> list[str]:
        """The variants that fail no case, of checks that do fail one with another variant."""
        caught = {k for o in self.cases for k in o.caught_by}
        silent = set(self.catches_nothing())
        return [k for item, checks in self.checks.items() for name, keys in checks.items()
                if f"{item}/{name}" not in silent for k in keys if k not in caught]

    def missed(self) -> list[CaseOutcome]:
        """The cases that lose no points."""
        return [o for o in self.cases if not o.caught]

    def fewer_than_min(self) -> dict[str, int]:
        """The items with fewer than ``min_wrong`` cases: item -> number of cases."""
        counts = {item: 0 for item in self.checks}
        for o in self.cases:
            counts[o.item] = counts.get(o.item, 0) + 1
        return {item: n for item, n in counts.items() if n < self.min_wrong}

    def to_dict(self) -> dict:
        return {
            "assignment": self.assignment, "title": self.title, "device": self.device,
            "seed": self.seed, "seconds": round(self.seconds, 3),
            "checks": self.checks,
            "solution": {"score": self.solution_score, "max_score": self.solution_max_score,
                         "failed": self.solution_failed, "seconds": self.solution_seconds},
            "cases": [{**asdict(o), "caught": o.caught, "checks": self.catchers(o)}
                      for o in self.cases],
            "matrix": {o.item + "/" + o.label: {k: _cell(o, k) for keys in
                                                self.checks[o.item].values() for k in keys}
                       for o in self.cases},
            "catches_nothing": self.catches_nothing(),
            "variants_catching_nothing": self.variants_catching_nothing(),
            "missed": [f"{o.item}/{o.label}" for o in self.missed()],
            "fewer_than_min": {"min": self.min_wrong, "items": self.fewer_than_min()},
        }


def _cell(outcome: CaseOutcome, key: str) -> str:
    """One variant's verdict on one case: ``caught``, ``passed`` or ``not run``."""
    if key in outcome.caught_by:
        return "caught"
    return "not run" if key in outcome.not_run else "passed"


def wrong_cases(root: Path, assignment_id: str) -> list[Case]:
    """The cases of ``solutions/<id>/wrong.py``, labelled with their descriptions."""
    return [Case(description, item, source)
            for item, impls in load_wrong(root, assignment_id).items()
            for description, source in impls]


def submission_cases(folder: Path, assignment_id: str, items: Iterable[str]) -> list[Case]:
    """The definitions of ``items`` in a folder of submissions (the layouts ``grade`` accepts),
    one case per student and item, labelled with the student id. Only the item's own
    ``def``/``class`` is taken (as the grader parses it, comments dropped); a notebook that cannot
    be read, or lacks the item, gives no case."""
    import ast

    from autograder.notebook import InvalidNotebook, extract, read_notebook
    from autograder.submissions import discover

    wanted = set(items)
    cases = []
    for sub in discover(folder, assignment_id):
        if sub.path is None:
            continue
        try:
            parsed = extract(read_notebook(sub.path))
        except (InvalidNotebook, OSError, ValueError, RecursionError):
            continue
        for name, d in parsed.definitions.items():
            if name in wanted and d.kind in ("function", "class") and d.node:
                cases.append(Case(sub.student_id, name, ast.unparse(d.node)))
    return cases


def run_audit(assignment_id: str, cases: Iterable[Case] | None = None, root: Path | None = None,
              solution: str | None = None, device: str = "cpu", seed: int = 0,
              progress: Callable[[int, int, Case], None] | None = None) -> AuditReport:
    """Grade the solution once, then each case on its item's checks; ``cases`` defaults to
    ``wrong.py``'s and ``solution`` to the code of the source notebook. ``progress(i, n, case)``
    is called before case ``i`` (1-based) of ``n``."""
    from autograder.testing import grade_source, replace_definition, solution_source

    start = time.monotonic()
    root = root or find_root()
    assignment = load_assignment(root, assignment_id)
    cases = list(wrong_cases(root, assignment_id) if cases is None else cases)
    unknown = sorted({c.item for c in cases} - set(assignment.items))
    if unknown:
        raise CourseError(f"cases of {', '.join(unknown)}, which {assignment_id}'s checks.py "
                          f"does not declare (its items: {', '.join(assignment.items)})")
    checks: dict[str, dict[str, list[str]]] = {item: {} for item in assignment.items}
    for v in assignment.variants(device):
        checks[v.check.item].setdefault(v.check.name, []).append(v.key)
    if solution is None:
        solution = solution_source(assignment_id, root)

    reference = grade_source(assignment_id, solution, device=device, seed=seed, root=root)
    seconds: dict[str, float] = {}
    for c in reference.checks:
        name = f"{c.item}/{c.check}"
        seconds[name] = round(seconds.get(name, 0.0) + c.duration_s, 4)

    outcomes = []
    for i, case in enumerate(cases, 1):
        if progress:
            progress(i, len(cases), case)
        result = grade_source(assignment_id, replace_definition(solution, case.item, case.source),
                              device=device, seed=seed, root=root, items=[case.item])
        mine = [c for c in result.checks if c.item == case.item]
        # A variant that did not run was never timed: its duration is exactly 0.
        not_run = [c for c in mine if not c.passed and c.duration_s == 0]
        reason = not_run[0].message if not_run else ""
        outcomes.append(CaseOutcome(
            label=case.label, item=case.item, status=result.status,
            score=sum(c.points for c in mine), max_score=sum(c.max_points for c in mine),
            caught_by=[c.key for c in mine if not c.passed and c.duration_s > 0],
            not_run=[c.key for c in not_run],
            reason=result.reason if result.status != "graded" else reason))
    return AuditReport(
        assignment=assignment.id, title=assignment.title, device=device, seed=seed,
        checks=checks, solution_score=reference.score, solution_max_score=reference.max_score,
        solution_failed=[c.key for c in reference.checks if not c.passed],
        solution_seconds=seconds, cases=outcomes, seconds=time.monotonic() - start)

"""Where a course's assignments live, and loading an assignment's hidden checks."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the checks API imports torch; finding the course must not
    from autograder.checks.registry import Assignment


class CourseError(Exception):
    """The course layout is not what the command needs; the message says what to do."""


def find_root(start: Path | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: the current one) with ``solutions/``."""
    here = (start or Path.cwd()).resolve()
    for p in [here, *here.parents]:
        if (p / "solutions").is_dir():
            return p
    raise CourseError("no course found: run this inside the course repository (a folder with "
                      "solutions/), or pass --course <folder>")


def solution_dir(root: Path, assignment_id: str) -> Path:
    d = root / "solutions" / assignment_id
    if not d.is_dir():
        known = sorted(p.name for p in (root / "solutions").iterdir() if p.is_dir())
        raise CourseError(f"unknown assignment {assignment_id!r}; known: {', '.join(known)}")
    return d


def load_assignment(root: Path, assignment_id: str) -> Assignment:
    """Import ``solutions/<id>/checks.py`` and return the Assignment it defines."""
    from autograder.checks.registry import Assignment

    path = solution_dir(root, assignment_id) / "checks.py"
    if not path.exists():
        raise CourseError(f"{path} is missing: an assignment needs a checks module")
    name = f"_autograder_checks_{assignment_id}"
    if name in sys.modules:
        module = sys.modules[name]
    else:
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    found = [v for v in vars(module).values() if isinstance(v, Assignment)]
    if len(found) != 1:
        raise CourseError(f"{path} must define exactly one Assignment (found {len(found)})")
    assignment = found[0]
    if assignment.id != assignment_id:
        raise CourseError(f"{path} defines assignment {assignment.id!r}, not {assignment_id!r}")
    return assignment

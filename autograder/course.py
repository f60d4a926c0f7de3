"""Where a course's assignments live, and loading an assignment's hidden checks.

An assignment is one folder, ``solutions/<id>/``: ``<id>.ipynb`` (the source notebook),
``checks.py`` (the hidden checks), ``wrong.py`` (wrong implementations the checks must catch) and
``examples/<student>/<id>.ipynb`` with ``examples/expected.json`` (example submissions).
"""

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
        try:
            spec.loader.exec_module(module)
        except (ValueError, TypeError) as e:  # a registry error: a bad Forbid, an unknown dtype
            del sys.modules[name]
            raise CourseError(f"{path}: {e}") from None
    found = [v for v in vars(module).values() if isinstance(v, Assignment)]
    if len(found) != 1:
        raise CourseError(f"{path} must define exactly one Assignment (found {len(found)})")
    assignment = found[0]
    if assignment.id != assignment_id:
        raise CourseError(f"{path} defines assignment {assignment.id!r}, not {assignment_id!r}")
    return assignment


def assignment_ids(root: Path) -> list[str]:
    """Every assignment of the course: the folders of ``solutions/`` that hold a checks module."""
    return sorted(p.parent.name for p in (root / "solutions").glob("*/checks.py"))


def examples_dir(root: Path, assignment_id: str) -> Path:
    """``solutions/<id>/examples``: example submissions ``<student>/<id>.ipynb`` and
    ``expected.json``, their expected outcomes."""
    return solution_dir(root, assignment_id) / "examples"


def load_wrong(root: Path, assignment_id: str) -> dict[str, list[tuple[str, str]]]:
    """``solutions/<id>/wrong.py``'s ``WRONG``: graded name -> [(description, source), ...], each
    source a complete definition of that name, wrong in the way its description says."""
    path = solution_dir(root, assignment_id) / "wrong.py"
    if not path.exists():
        raise CourseError(f"{path} is missing: list wrong implementations of each graded item "
                          "in it (WRONG = {name: [(description, source), ...]})")
    spec = importlib.util.spec_from_file_location(f"_autograder_wrong_{assignment_id}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    wrong = getattr(module, "WRONG", None)
    if not isinstance(wrong, dict) or not all(
            isinstance(name, str) and isinstance(impls, list)
            and all(isinstance(i, tuple) and len(i) == 2 and all(isinstance(s, str) for s in i)
                    for i in impls)
            for name, impls in wrong.items()):
        raise CourseError(f"{path} must define WRONG = {{name: [(description, source), ...]}}")
    return wrong

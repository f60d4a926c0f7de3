"""Helpers for testing checks: grade a piece of source code as if it were a student's notebook.

    src = replace_definition(solution_source("a1_convolution"), "conv2d", WRONG_CONV2D)
    result = grade_source("a1_convolution", src)
    assert not all(c.passed for c in result.checks if c.item == "conv2d")
"""

from __future__ import annotations

import ast
import atexit
import tempfile
import threading
from pathlib import Path

import nbformat

from autograder.course import find_root, load_assignment, solution_dir
from autograder.grading import GradeOptions, configure_grader_process, grade_submission
from autograder.results import SubmissionResult
from autograder.sandbox import SANDBOX_UID_BASE, Limits, Sandbox
from autograder.session import Zygote
from autograder.submissions import Submission

_lock = threading.Lock()
_zygote: Zygote | None = None


def _shared_zygote() -> Zygote:
    global _zygote
    if _zygote is None or not _zygote.ready:
        _zygote = Zygote(Sandbox.detect())
        _zygote.start()
        atexit.register(_zygote.close)
    return _zygote


def solution_source(assignment_id: str, root: Path | None = None) -> str:
    """The Python source of the solution notebook's code cells, in order."""
    root = root or find_root(Path(__file__).parent)
    nb = nbformat.read(solution_dir(root, assignment_id) / f"{assignment_id}.ipynb", as_version=4)
    return "\n\n".join(c.source for c in nb.cells if c.cell_type == "code") + "\n"


def solution_definitions(assignment_id: str, root: Path | None = None) -> dict:
    """The solution notebook's namespace as the grader builds it: its imports, definitions and
    constants, cell by cell; no test cell, demo or training run. For project tests of a
    solution against the libraries."""
    from autograder.notebook import extract

    root = root or find_root(Path(__file__).parent)
    nb = nbformat.read(solution_dir(root, assignment_id) / f"{assignment_id}.ipynb", as_version=4)
    namespace: dict = {"__name__": f"{assignment_id}_solution"}
    for chunk in extract(nb).chunks:
        exec(compile(chunk.source, f"<{assignment_id} cell {chunk.cell}>", "exec"), namespace)
    return namespace


def replace_definition(source: str, name: str, new_source: str) -> str:
    """``source`` with every top-level definition of ``name`` replaced by ``new_source``."""
    tree = ast.parse(source)
    lines = source.splitlines()
    spans = []
    for stmt in tree.body:
        bound = _bound_names(stmt)
        if name in bound:
            start = min([stmt.lineno] + [d.lineno for d in getattr(stmt, "decorator_list", [])])
            spans.append((start, stmt.end_lineno or stmt.lineno))
    if not spans:
        return source + "\n\n" + new_source + "\n"
    for start, end in reversed(spans[1:]):
        del lines[start - 1 : end]
    start, end = spans[0]
    lines[start - 1 : end] = new_source.strip("\n").splitlines()
    return "\n".join(lines) + "\n"


def _bound_names(stmt: ast.stmt) -> set[str]:
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {stmt.name}
    if isinstance(stmt, ast.Assign):
        return {t.id for t in stmt.targets if isinstance(t, ast.Name)}
    return set()


def notebook_from_source(source: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell(source))
    return nb


def grade_source(assignment_id: str, source: str, device: str = "cpu", seed: int = 0,
                 root: Path | None = None, items: list[str] | None = None,
                 limits: Limits | None = None) -> SubmissionResult:
    """Grade ``source`` (one code cell) as the submission of student ``test``; ``items`` limits
    grading to the checks of those items; ``limits`` replaces the default process limits."""
    root = root or find_root(Path(__file__).parent)
    return grade_notebook(assignment_id, notebook_from_source(source), device, seed, root, items,
                          limits)


def grade_notebook(assignment_id: str, nb: nbformat.NotebookNode, device: str = "cpu",
                   seed: int = 0, root: Path | None = None,
                   items: list[str] | None = None,
                   limits: Limits | None = None) -> SubmissionResult:
    root = root or find_root(Path(__file__).parent)
    configure_grader_process()
    assignment = load_assignment(root, assignment_id)
    with _lock, tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{assignment_id}.ipynb"
        nbformat.write(nb, path)
        options = GradeOptions(device=device, seed=seed,
                               limits=limits or Limits(uid=SANDBOX_UID_BASE),
                               items=tuple(items) if items else None)
        return grade_submission(Submission("test", path), assignment, _shared_zygote(), options)

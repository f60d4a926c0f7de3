"""Source notebook -> student notebook, with nbgrader's own preprocessors.

Solutions become ``raise NotImplementedError()``, hidden tests and outputs are removed, cell
metadata is checked and checksummed as ``nbgrader generate_assignment`` does, so the released
notebook also works in an nbgrader/JupyterHub course.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
from nbgrader.preprocessors import (
    CheckCellMetadata,
    ClearHiddenTests,
    ClearMarkScheme,
    ClearOutput,
    ClearSolutions,
    ComputeChecksums,
    LockCells,
)

from autograder.course import CourseError, solution_dir

PIPELINE = (CheckCellMetadata, ClearSolutions, ClearHiddenTests, ClearMarkScheme, ClearOutput,
            LockCells, ComputeChecksums, CheckCellMetadata)


def released_notebook(source: Path) -> nbformat.NotebookNode:
    """The student's version of a source notebook."""
    nb = nbformat.read(source, as_version=4)
    resources: dict = {"nbgrader": {"notebook": source.stem, "assignment": source.parent.name}}
    for step in PIPELINE:
        nb, resources = step().preprocess(nb, resources)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.execution_count = None
    return nb


def render(nb: nbformat.NotebookNode) -> str:
    """Stable text of a notebook, so that a committed copy can be compared byte for byte."""
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def release(root: Path, assignment_id: str) -> Path:
    """Write ``assignments/<id>/<id>.ipynb`` from ``solutions/<id>/<id>.ipynb``."""
    source = solution_dir(root, assignment_id) / f"{assignment_id}.ipynb"
    if not source.exists():
        raise CourseError(f"{source} is missing")
    out = root / "assignments" / assignment_id / f"{assignment_id}.ipynb"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(released_notebook(source)), encoding="utf-8")
    return out

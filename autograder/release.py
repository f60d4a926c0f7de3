"""Source notebook -> student notebook, with nbgrader's own preprocessors.

Solutions become ``raise NotImplementedError()``, hidden tests and outputs are removed, cell
metadata is checked and checksummed as ``nbgrader generate_assignment`` does, so the released
notebook also works in an nbgrader/JupyterHub course.
"""

from __future__ import annotations

import json
import re
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

from autograder.course import CourseError, load_assignment, solution_dir

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


_MARKERS = {"### BEGIN SOLUTION": "### END SOLUTION",
            "### BEGIN HIDDEN TESTS": "### END HIDDEN TESTS"}


def secret_lines(solution_folder: Path, min_length: int = 24) -> set[str]:
    """Distinctive lines that must never be published: the code between solution and hidden-test
    markers of the source notebook, and every line of the hidden checks module."""
    secrets: set[str] = set()
    public: set[str] = set()  # lines the student notebook shows anyway (imports, skeletons)
    for nb_path in solution_folder.glob("*.ipynb"):
        nb = nbformat.read(nb_path, as_version=4)
        for cell in nb.cells:
            end = None
            for line in cell.source.splitlines():
                stripped = line.strip()
                if end is None and stripped in _MARKERS:
                    end = _MARKERS[stripped]
                elif end is not None and stripped == end:
                    end = None
                else:
                    (secrets if end is not None else public).add(stripped)
    for py in solution_folder.glob("*.py"):
        secrets.update(line.strip() for line in py.read_text().splitlines())
    return {s for s in secrets - public
            if len(s) >= min_length and not s.startswith(("#", "import ", "from "))
            and not _BARE_NAME.fullmatch(s)}


# A line that is only a quoted dotted name, as in a list of forbidden calls: the student notebook
# names those calls itself (text and metadata), so they are no secret.
_BARE_NAME = re.compile(r"""(["'])[\w.]+\1,?""")


def leaked(text: str, secrets: set[str]) -> list[str]:
    """The secret lines that appear in ``text``."""
    return sorted(s for s in secrets if s in text)


def render(nb: nbformat.NotebookNode) -> str:
    """Stable text of a notebook, so that a committed copy can be compared byte for byte."""
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def release_text(root: Path, assignment_id: str) -> str:
    """The text of ``assignments/<id>/<id>.ipynb`` as ``release`` writes it; raises CourseError
    when it would contain solution or hidden-check code."""
    source = solution_dir(root, assignment_id) / f"{assignment_id}.ipynb"
    if not source.exists():
        raise CourseError(f"{source} is missing")
    nb = released_notebook(source)
    nb.metadata["autograder"] = load_assignment(root, assignment_id).student_metadata()
    text = render(nb)
    secrets = secret_lines(source.parent)
    leaks = leaked(json.dumps(json.loads(text)["cells"]), secrets) + leaked(text, secrets)
    if leaks:
        raise CourseError(f"refusing to release {assignment_id}: the student notebook would "
                          f"contain solution or hidden-check code, e.g. {leaks[0]!r}; put it "
                          "between ### BEGIN SOLUTION / ### END SOLUTION markers")
    return text


def release(root: Path, assignment_id: str) -> Path:
    """Write ``assignments/<id>/<id>.ipynb`` from ``solutions/<id>/<id>.ipynb``."""
    text = release_text(root, assignment_id)
    out = root / "assignments" / assignment_id / f"{assignment_id}.ipynb"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return out

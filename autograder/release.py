"""Source notebook -> student notebook, with nbgrader's own preprocessors.

Solutions become ``raise NotImplementedError()``, hidden tests and outputs are removed, cell
metadata is checked and checksummed as ``nbgrader generate_assignment`` does, so the released
notebook also works in an nbgrader/JupyterHub course. The graded names live in ``checks.py``: the
release writes them into the notebook's metadata, and refuses a source notebook whose graded cells
define other names.
"""

from __future__ import annotations

import ast
import copy
import json
import re
from collections.abc import Iterable
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


def released_notebook(source: Path, nb: nbformat.NotebookNode | None = None
                      ) -> nbformat.NotebookNode:
    """The student's version of a source notebook (``nb``: its content, when already read)."""
    nb = nbformat.read(source, as_version=4) if nb is None else copy.deepcopy(nb)
    resources: dict = {"nbgrader": {"notebook": source.stem, "assignment": source.parent.name}}
    for step in PIPELINE:
        nb, resources = step().preprocess(nb, resources)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.execution_count = None
    return nb


def graded_names(nb: nbformat.NotebookNode) -> dict[str, str]:
    """What the graded cells of a source notebook define: name -> kind, in order.

    A graded cell is a code cell with nbgrader's ``"solution": true``. It names an item with each
    top-level ``def`` or ``class`` whose name is public (a ``_helper`` is the student's own
    business); a top-level assignment (``name = ...``) binds a name too, but names no item.
    """
    names: dict[str, str] = {}
    for index, cell in enumerate(nb.cells, 1):
        if cell.cell_type != "code" or not cell.metadata.get("nbgrader", {}).get("solution"):
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError as e:
            raise CourseError(f"graded cell {index} does not parse (line {e.lineno}: {e.msg}); "
                              "the release needs to read its definitions") from None
        for stmt in tree.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                if not stmt.name.startswith("_"):
                    names.setdefault(stmt.name, "item")
            elif isinstance(stmt, (ast.Assign, ast.AnnAssign)):
                targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                for target in targets:
                    if isinstance(target, ast.Name):
                        names.setdefault(target.id, "binding")
    return names


def check_graded_names(nb: nbformat.NotebookNode, declared: Iterable[str], notebook: str) -> None:
    """Raise CourseError unless the notebook's graded cells and checks.py agree on the items: the
    graded names live in checks.py, and the notebook must define exactly those."""
    found = graded_names(nb)
    declared = list(declared)
    undeclared = [n for n, kind in found.items() if kind == "item" and n not in declared]
    undefined = [n for n in declared if n not in found]
    problems = []
    if undeclared:
        problems.append(f"its graded cells define {', '.join(undeclared)}, which checks.py does "
                        "not declare (declare each with A.item(...) and check it, or name a "
                        "helper with a leading underscore)")
    if undefined:
        problems.append(f"checks.py declares {', '.join(undefined)}, which no graded cell "
                        "defines (a code cell with nbgrader metadata \"solution\": true)")
    if problems:
        raise CourseError(f"refusing to release {notebook}: " + "; and ".join(problems))


_MARKERS = {"### BEGIN SOLUTION": "### END SOLUTION",
            "### BEGIN HIDDEN TESTS": "### END HIDDEN TESTS"}


def secret_lines(solution_folder: Path, min_length: int = 24) -> set[str]:
    """Distinctive lines that must never be published: the code between solution and hidden-test
    markers of the source notebook, and every line of the hidden checks module.

    ``wrong.py`` and ``examples/`` are not read: wrong implementations are no secret, and an
    example that solves the assignment repeats the source notebook's solution lines.
    """
    secrets: set[str] = set()
    public: set[str] = set()  # lines the student notebook shows anyway (imports, skeletons)
    for nb_path in solution_folder.glob(f"{solution_folder.name}.ipynb"):
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
    for py in solution_folder.glob("checks.py"):
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
    source_nb = nbformat.read(source, as_version=4)
    assignment = load_assignment(root, assignment_id)
    check_graded_names(source_nb, assignment.items, f"{source.parent.name}/{source.name}")
    nb = released_notebook(source, source_nb)
    nb.metadata["autograder"] = assignment.student_metadata()
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

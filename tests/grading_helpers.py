"""Helpers for the engine's batch tests (hostile, broken, resume): a fast copy of a1_convolution,
notebooks built from its solution, and `autograder grade` run as a user runs it."""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import nbformat

from autograder.testing import replace_definition
from tests import conftest

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "a1_convolution"
SOLUTION = ROOT / "solutions" / ASSIGNMENT

# Appended to a copy of the real checks: the same checks but for the timing one (seconds of
# compute per submission), and short time limits, so that a batch of hostile submissions is quick.
FAST_CHECKS = '''

# --- appended by tests/grading_helpers.py: a fast variant for the engine's batch tests
A.checks[:] = [_c for _c in A.checks if _c.name != "conv_speed"]
for _c in A.checks:
    _c.timeout = min(_c.timeout, {check_timeout!r})
A.load_timeout = {load_timeout!r}
A.time_budget = {time_budget!r}
'''


def fast_course(dest: Path, check_timeout: float = 3.0, load_timeout: float = 4.0,
                time_budget: float = 12.0) -> Path:
    """A course folder holding a copy of a1_convolution with fast checks; returns its root."""
    target = dest / "solutions" / ASSIGNMENT
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(SOLUTION / f"{ASSIGNMENT}.ipynb", target)
    checks = (SOLUTION / "checks.py").read_text()
    (target / "checks.py").write_text(checks + FAST_CHECKS.format(
        check_timeout=check_timeout, load_timeout=load_timeout, time_budget=time_budget))
    return dest


@cache
def _solution() -> nbformat.NotebookNode:
    return nbformat.read(SOLUTION / f"{ASSIGNMENT}.ipynb", as_version=4)


def solution_notebook() -> nbformat.NotebookNode:
    return copy.deepcopy(_solution())


def build_notebook(replace: dict[str, str] | None = None, extra: str = "") -> nbformat.NotebookNode:
    """The solution notebook (public checks and demos kept, as students leave them) with the
    definition of each name in ``replace`` swapped, in its own cell, and an ``extra`` code cell."""
    nb = solution_notebook()
    for name, source in (replace or {}).items():
        for cell in nb.cells:
            if cell.cell_type == "code" and _defines(cell.source, name):
                cell.source = replace_definition(cell.source, name, source)
                break
        else:
            raise KeyError(f"no cell defines {name}")
    if extra:
        nb.cells.append(nbformat.v4.new_code_cell(extra))
    return nb


def _defines(source: str, name: str) -> bool:
    return any(line.startswith((f"def {name}(", f"class {name}(", f"class {name}:"))
               for line in source.splitlines())


def write_submissions(folder: Path, notebooks: dict[str, object]) -> Path:
    """``folder/<student>/a1_convolution.ipynb``: a notebook, raw bytes/text, or None (no file)."""
    return conftest.write_submissions(folder, ASSIGNMENT, notebooks)


def grade_command(subs: Path, out: Path, course: Path, *extra: str, workers: int = 2) -> list[str]:
    return [sys.executable, "-m", "autograder.cli", "grade", ASSIGNMENT, str(subs), "--out",
            str(out), "--course", str(course), "--workers", str(workers), "--quiet", *extra]


def grade(subs: Path, out: Path, course: Path, *extra: str, env: dict | None = None,
          timeout: float = 600) -> subprocess.CompletedProcess:
    """Run ``autograder grade`` in a subprocess, as a user would."""
    return subprocess.run(grade_command(subs, out, course, *extra), capture_output=True,
                          text=True, cwd=ROOT, timeout=timeout,
                          env={**os.environ, **(env or {})})


def results(out: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in sorted((out / "results").glob("*.json"))}


def item_points(result: dict) -> dict[str, tuple[float, float]]:
    """item -> (points, max points)."""
    out: dict[str, tuple[float, float]] = {}
    for c in result["checks"]:
        got, total = out.get(c["item"], (0.0, 0.0))
        out[c["item"]] = (got + c["points"], total + c["max_points"])
    return out


def bwrap_usable() -> str:
    """'' when bubblewrap can sandbox here, else why not (for skip messages)."""
    from autograder.sandbox import Sandbox

    sandbox = Sandbox.detect()
    return "" if sandbox.kind == "bwrap" else sandbox.reason

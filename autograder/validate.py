"""A student's pre-submission check: the notebook parses, every graded name is defined, no graded
definition names a forbidden call (wildcards and packages included), and the notebook's own public
checks pass when its cells run top to bottom (in the sandbox). The grader's scan for private
machinery (the ``review`` status) is not run here: see docs/writing-checks.md for why."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from autograder.notebook import (
    InvalidNotebook,
    code_cells,
    extract,
    forbidden_uses,
    read_notebook,
    to_python,
    unrun_globals,
)
from autograder.sandbox import Limits, Sandbox
from autograder.session import WorkerError, WorkerTimeout, Zygote


@dataclass
class CellOutcome:
    cell: int
    is_test: bool
    ok: bool
    message: str = ""


@dataclass
class Validation:
    problems: list[str] = field(default_factory=list)
    graded: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    forbidden: list[str] = field(default_factory=list)  # "<name> uses a forbidden call: ..."
    cells: list[CellOutcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (not self.problems and not self.missing and not self.forbidden
                and all(c.ok for c in self.cells))


def _released(nb) -> dict:
    """The ``autograder`` metadata the release wrote into the notebook ({} if absent or broken)."""
    meta = nb["metadata"].get("autograder", {})
    return meta if isinstance(meta, dict) else {}


def graded_names(nb, assignment_names: list[str] | None) -> list[str]:
    if assignment_names:
        return assignment_names
    graded = _released(nb).get("graded", [])
    return [str(n) for n in graded] if isinstance(graded, list) else []


def forbidden_calls(nb) -> dict[str, list[str]]:
    """Graded name -> calls it may not make, from the released notebook's metadata."""
    found = _released(nb).get("forbidden", {})
    if not isinstance(found, dict):
        return {}
    return {str(k): [str(c) for c in v] for k, v in found.items() if isinstance(v, list)}


def validate(path: Path, assignment_names: list[str] | None = None, cell_timeout: float = 120.0,
             run_cells: bool = True,
             forbidden: dict[str, list[str]] | None = None) -> Validation:
    v = Validation()
    try:
        nb = read_notebook(path)
    except InvalidNotebook as e:
        v.problems.append(str(e))
        return v
    parsed = extract(nb)
    v.problems += parsed.problems
    v.graded = graded_names(nb, assignment_names)
    v.missing = [n for n in v.graded if n not in parsed.definitions]
    v.problems += unrun_globals(parsed, v.graded)
    for name, calls in (forbidden if forbidden is not None else forbidden_calls(nb)).items():
        uses = forbidden_uses(parsed, name, calls)
        if uses:
            v.forbidden.append(f"{name} uses a forbidden call: {', '.join(uses)} (the grader "
                               f"gives its checks 0)")
    if not run_cells:
        return v
    zygote = Zygote(Sandbox.detect())
    try:
        child = zygote.spawn(Limits(uid=None, cpu_s=3600))
        child.request({"op": "load", "chunks": [], "items": []}, None, 30)
        for index, source, cell_meta in code_cells(nb):
            meta = cell_meta.get("nbgrader", {})
            is_test = bool(meta.get("grade")) and not meta.get("solution")
            try:
                reply, _ = child.request({"op": "exec", "cell": index,
                                          "source": to_python(source)}, None, cell_timeout)
            except WorkerTimeout:
                v.cells.append(CellOutcome(index, is_test, False,
                                           f"did not finish within {cell_timeout:g} s"))
                break
            err = reply.get("cell_error")
            msg = ""
            if err:
                where = str(err.get("traceback", "")).strip().splitlines()
                msg = f"{err.get('type')}: {str(err.get('message'))[:300]}" + (
                    f" ({where[-1]})" if where else "")
            v.cells.append(CellOutcome(index, is_test, err is None, msg))
        child.close()
    except WorkerError as e:
        v.problems.append(f"the notebook's code crashed the checker: {e}")
    finally:
        zygote.close()
    return v

"""Released notebooks are exactly what `autograder release` produces, and hold no secrets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autograder.release import leaked, release_text, secret_lines

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir())


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_committed_release_is_up_to_date(assignment):
    committed = ROOT / "assignments" / assignment / f"{assignment}.ipynb"
    assert committed.exists(), f"run `autograder release {assignment}` and commit the result"
    fresh = release_text(ROOT, assignment)
    assert committed.read_text() == fresh, f"assignments/{assignment} is stale: re-release it"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_strips_solutions_hidden_tests_and_outputs(assignment):
    text = (ROOT / "assignments" / assignment / f"{assignment}.ipynb").read_text()
    nb = json.loads(text)
    secrets = secret_lines(ROOT / "solutions" / assignment)
    assert len(secrets) > 20, "the solution has distinctive lines to look for"
    public = nb["metadata"].pop("autograder", {})  # names and forbidden calls, from checks.py
    assert set(public) == {"assignment", "graded", "forbidden"}
    assert leaked(json.dumps(nb, indent=1), secrets) == []
    nb["metadata"]["autograder"] = public
    assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(not c["outputs"] and c["execution_count"] is None for c in code)
    graded = nb["metadata"].get("autograder", {}).get("graded", [])
    assert graded, "the notebook lists its graded names for `autograder validate`"
    sources = "".join("".join(c["source"]) for c in code)
    assert sources.count("raise NotImplementedError()") >= len(graded)


def test_leak_detector_finds_a_planted_solution_line(tmp_path):
    assignment = ASSIGNMENTS[0]
    secrets = secret_lines(ROOT / "solutions" / assignment)
    planted = sorted(secrets)[0]
    assert leaked(f"<p>{planted}</p>", secrets) == [planted]

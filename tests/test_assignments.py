"""Every assignment folder under solutions/, proved the same way (adding one adds no test code):

- the folder is complete: source notebook, checks.py, wrong.py, examples/ with expected.json;
- the committed release is what `autograder release` makes now, and holds no solution line and no
  hidden check;
- the solution scores full marks and the released notebook scores 0;
- every wrong implementation in wrong.py loses points on its item (at least three per item);
- every example submission gets the status, failing items and score examples/expected.json says.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.course import (
    CourseError,
    assignment_ids,
    examples_dir,
    load_assignment,
    load_wrong,
)
from autograder.release import leaked, release_text, secret_lines
from autograder.testing import grade_notebook, grade_source, replace_definition, solution_source

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = assignment_ids(ROOT)


def _wrong(assignment: str) -> dict[str, list[tuple[str, str]]]:
    try:
        return load_wrong(ROOT, assignment)
    except CourseError:  # test_assignment_folder_is_complete says so
        return {}


WRONG = {a: _wrong(a) for a in ASSIGNMENTS}
CASES = [(a, item, description, source) for a in ASSIGNMENTS
         for item, impls in WRONG[a].items() for description, source in impls]


def _summary(checks) -> str:
    return "\n".join(f"  {c.key}: {'pass' if c.passed else 'FAIL'} "
                     f"{c.points}/{c.max_points} {c.message or ''}" for c in checks)


def test_the_course_has_assignments():
    assert ASSIGNMENTS, "no solutions/<id>/checks.py found"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_assignment_folder_is_complete(assignment):
    folder = ROOT / "solutions" / assignment
    for name in (f"{assignment}.ipynb", "checks.py", "wrong.py", "examples/expected.json"):
        assert (folder / name).is_file(), f"solutions/{assignment}/{name} is missing"
    examples = examples_dir(ROOT, assignment)
    expected = json.loads((examples / "expected.json").read_text())
    students = sorted(p.name for p in examples.iterdir() if p.is_dir())
    assert sorted(expected) == students, "examples/expected.json lists every example, no other"


# --- the release


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_committed_release_is_up_to_date(assignment):
    committed = ROOT / "assignments" / assignment / f"{assignment}.ipynb"
    assert committed.exists(), f"run `autograder release {assignment}` and commit the result"
    fresh = release_text(ROOT, assignment)
    assert committed.read_text() == fresh, f"assignments/{assignment} is stale: re-release it"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_strips_solutions_hidden_checks_and_outputs(assignment):
    text = (ROOT / "assignments" / assignment / f"{assignment}.ipynb").read_text()
    nb = json.loads(text)
    secrets = secret_lines(ROOT / "solutions" / assignment)
    assert len(secrets) > 20, "the solution has distinctive lines to look for"
    public = nb["metadata"].pop("autograder", {})  # names and forbidden calls, from checks.py
    assert set(public) == {"assignment", "graded", "forbidden"}
    assert public["graded"] == list(load_assignment(ROOT, assignment).items)
    assert leaked(json.dumps(nb, indent=1), secrets) == []
    assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(not c["outputs"] and c["execution_count"] is None for c in code)
    sources = "".join("".join(c["source"]) for c in code)
    assert sources.count("raise NotImplementedError()") >= len(public["graded"])


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_untouched_example_is_the_current_release(assignment):
    example = examples_dir(ROOT, assignment) / "untouched" / f"{assignment}.ipynb"
    if not example.exists():
        pytest.skip("no untouched example")
    released = ROOT / "assignments" / assignment / f"{assignment}.ipynb"
    assert example.read_text() == released.read_text(), "copy the new release into the examples"


def test_leak_detector_finds_a_planted_solution_line():
    secrets = secret_lines(ROOT / "solutions" / ASSIGNMENTS[0])
    planted = sorted(secrets)[0]
    assert leaked(f"<p>{planted}</p>", secrets) == [planted]


def _course_copy(tmp_path: Path, assignment: str) -> Path:
    target = tmp_path / "solutions" / assignment
    target.mkdir(parents=True)
    for name in (f"{assignment}.ipynb", "checks.py"):
        shutil.copy(ROOT / "solutions" / assignment / name, target)
    return tmp_path


def _graded_cell(nb, item: str):
    return next(c for c in nb.cells if c.cell_type == "code"
                and c.metadata.get("nbgrader", {}).get("solution")
                and any(line.startswith((f"def {item}(", f"class {item}("))
                        for line in c.source.splitlines()))


def test_release_refuses_graded_cells_that_disagree_with_checks(tmp_path):
    """The graded names live in checks.py: a graded cell defining a name it does not declare, or
    none defining one it declares, stops `autograder release` with a message naming both."""
    assignment = ASSIGNMENTS[0]
    course = _course_copy(tmp_path, assignment)
    source = course / "solutions" / assignment / f"{assignment}.ipynb"
    nb = nbformat.read(source, as_version=4)
    item = list(load_assignment(ROOT, assignment).items)[-1]
    cell = _graded_cell(nb, item)
    cell.source = cell.source.replace(f" {item}(", f" {item}_renamed(", 1)
    nbformat.write(nb, source)
    r = subprocess.run([sys.executable, "-m", "autograder.cli", "release", assignment,
                        "--course", str(course)], capture_output=True, text=True, cwd=ROOT,
                       timeout=300)
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert f"define {item}_renamed, which checks.py does not declare" in r.stderr, r.stderr
    assert f"checks.py declares {item}, which no graded cell defines" in r.stderr, r.stderr
    assert not (course / "assignments").exists()


def test_release_allows_private_helpers_in_graded_cells(tmp_path):
    assignment = ASSIGNMENTS[0]
    course = _course_copy(tmp_path, assignment)
    source = course / "solutions" / assignment / f"{assignment}.ipynb"
    nb = nbformat.read(source, as_version=4)
    cell = _graded_cell(nb, list(load_assignment(ROOT, assignment).items)[0])
    cell.source += "\n\n\ndef _a_helper_of_the_solution():\n    return 1\n"
    nbformat.write(nb, source)
    assert "def _a_helper_of_the_solution():" in release_text(course, assignment)


# --- grading: solution, release, wrong implementations


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_scores_full_marks(assignment):
    result = grade_source(assignment, solution_source(assignment, ROOT), root=ROOT)
    failed = [c for c in result.checks if not c.passed]
    assert not failed, "the solution fails checks:\n" + _summary(failed)
    assert result.score == result.max_score > 0


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_released_notebook_scores_zero(assignment):
    released = nbformat.read(ROOT / "assignments" / assignment / f"{assignment}.ipynb",
                             as_version=4)
    result = grade_notebook(assignment, released, root=ROOT)
    assert result.status == "graded" and result.score == 0, _summary(result.checks)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_graded_item_has_three_wrong_implementations(assignment):
    items = list(load_assignment(ROOT, assignment).items)
    assert sorted(WRONG[assignment]) == sorted(items), "wrong.py lists exactly the graded items"
    few = {item: len(impls) for item, impls in WRONG[assignment].items() if len(impls) < 3}
    assert not few, f"items with fewer than three wrong implementations: {few}"


@pytest.mark.slow
@pytest.mark.parametrize(("assignment", "item", "description", "wrong"), CASES,
                         ids=[f"{a}-{item}-{d}" for a, item, d, _ in CASES])
def test_wrong_implementation_is_caught(assignment, item, description, wrong):
    source = replace_definition(solution_source(assignment, ROOT), item, wrong)
    result = grade_source(assignment, source, root=ROOT, items=[item])
    checks = [c for c in result.checks if c.item == item]
    assert checks, f"no check of {item} ran"
    assert sum(c.points for c in checks) < sum(c.max_points for c in checks), (
        f"{item} that {description} passes every check:\n" + _summary(checks))


# --- the example submissions, graded as `make` grades them


@pytest.fixture(scope="module", params=ASSIGNMENTS)
def graded_examples(request, tmp_path_factory):
    assignment = request.param
    out = tmp_path_factory.mktemp(f"grades-{assignment}")
    examples = examples_dir(ROOT, assignment)
    r = subprocess.run([sys.executable, "-m", "autograder.cli", "grade", assignment,
                        str(examples), "--out", str(out), "--workers", "2", "--quiet"],
                       capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert r.returncode == 0, r.stderr
    return out, json.loads((examples / "expected.json").read_text())


@pytest.mark.slow
def test_every_example_has_its_expected_status_failing_items_and_score(graded_examples):
    out, expected = graded_examples
    rows = {r["student_id"]: r for r in csv.DictReader((out / "grades.csv").open())}
    assert set(rows) == set(expected)
    for student, want in expected.items():
        result = json.loads((out / "results" / f"{student}.json").read_text())
        assert result["status"] == want["status"], (student, result["reason"])
        failed = sorted({c["item"] for c in result["checks"] if not c["passed"]})
        assert failed == sorted(want["checks_failed_items"]), student
        if "score" in want:
            assert result["score"] == pytest.approx(want["score"]), student
        for c in result["checks"]:
            assert c["internal"] is None, f"{student}: a check crashed: {c['internal']}"
    if "perfect" in rows:
        assert rows["perfect"]["score"] == rows["perfect"]["max_score"]
    if "untouched" in rows:
        assert float(rows["untouched"]["score"]) == 0

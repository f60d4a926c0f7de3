"""The bundled example submissions (what `make` grades) get their expected status and score."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted(p.name for p in (ROOT / "tests" / "submissions").iterdir() if p.is_dir())


@pytest.fixture(scope="module", params=EXAMPLES)
def graded(request, tmp_path_factory):
    assignment = request.param
    out = tmp_path_factory.mktemp(f"grades-{assignment}")
    r = subprocess.run([sys.executable, "-m", "autograder.cli", "grade", assignment,
                        str(ROOT / "tests" / "submissions" / assignment), "--out", str(out),
                        "--workers", "2", "--quiet"], capture_output=True, text=True, cwd=ROOT,
                       timeout=900)
    assert r.returncode == 0, r.stderr
    expected = json.loads((ROOT / "tests" / "submissions" / assignment / "expected.json")
                          .read_text())
    return assignment, out, expected


def test_every_example_has_its_expected_status_and_failing_items(graded):
    assignment, out, expected = graded
    rows = {r["student_id"]: r for r in csv.DictReader((out / "grades.csv").open())}
    assert set(rows) == set(expected) | {"untouched"}
    for student, want in expected.items():
        result = json.loads((out / "results" / f"{student}.json").read_text())
        assert result["status"] == want["status"], (student, result["reason"])
        failed = sorted({c["item"] for c in result["checks"] if not c["passed"]})
        assert failed == sorted(want["checks_failed_items"]), student
        if "score" in want:
            assert result["score"] == pytest.approx(want["score"]), student
        for c in result["checks"]:
            assert c["internal"] is None, f"{student}: a check crashed: {c['internal']}"


def test_untouched_release_scores_zero_and_perfect_scores_full(graded):
    assignment, out, _ = graded
    rows = {r["student_id"]: r for r in csv.DictReader((out / "grades.csv").open())}
    assert float(rows["untouched"]["score"]) == 0
    assert rows["perfect"]["score"] == rows["perfect"]["max_score"]


def test_untouched_example_is_the_current_release(graded):
    assignment, _, _ = graded
    released = ROOT / "assignments" / assignment / f"{assignment}.ipynb"
    example = ROOT / "tests" / "submissions" / assignment / "untouched" / f"{assignment}.ipynb"
    assert example.read_text() == released.read_text(), "copy the new release into the examples"

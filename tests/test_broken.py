"""Broken submissions each get a row with a clear status and reason, and the batch goes on: graded
in one batch (`autograder grade --workers 2`). The cases are in tests/broken/cases.py."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.broken.cases import cases
from tests.grading_helpers import fast_course, grade, item_points, results, write_submissions

CASES = cases()
pytestmark = pytest.mark.slow
GRADER_INTERNALS = ("Traceback (most recent call last)", "autograder/", "site-packages",
                    'File "/', "internal error")


@dataclass
class Batch:
    returncode: int
    stderr: str
    out: Path
    rows: dict[str, dict]
    results: dict[str, dict]


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> Batch:
    base = tmp_path_factory.mktemp("broken")
    course = fast_course(base / "course")
    subs, out = base / "submissions", base / "out"
    for name, case in CASES.items():
        folder = subs / name
        folder.mkdir(parents=True)
        if case.content is None:
            continue
        if case.file_name != "a1_convolution.ipynb":
            content = case.content
            write_submissions(base / "tmp", {name: content})
            (base / "tmp" / name / "a1_convolution.ipynb").rename(folder / case.file_name)
        else:
            write_submissions(subs, {name: case.content})
    r = grade(subs, out, course, timeout=400)
    with (out / "grades.csv").open() as f:
        rows = {row["student_id"]: row for row in csv.DictReader(f)}
    return Batch(r.returncode, r.stderr, out, rows, results(out))


def test_every_submission_gets_one_row_and_the_batch_completes(batch):
    assert batch.returncode == 0, batch.stderr[-3000:]
    assert sorted(batch.rows) == sorted(CASES)
    assert sorted(batch.results) == sorted(CASES)
    lines = (batch.out / "grades.csv").read_text().splitlines()
    assert len(lines) == len(CASES) + 1, "duplicated rows"


@pytest.mark.parametrize("name", sorted(CASES))
def test_broken_submission_row(batch, name):
    case = CASES[name]
    row, result = batch.rows[name], batch.results[name]
    points = item_points(result)
    summary = "\n".join(f"  {c['item']}/{c['check']}[{c['dtype']}]: {c['points']}/"
                        f"{c['max_points']} {c['message'][:160]}" for c in result["checks"])
    context = f"{name}: {row['status']} {row['score']} reason={row['reason']!r}\n{summary}"
    assert row["status"] == case.status, context
    assert case.reason in row["reason"], context
    if case.status != "graded":
        assert row["reason"], f"a {case.status} row must say why\n{context}"
        assert float(row["score"]) == 0, context
    for item in case.zero:
        assert points.get(item, (0, 0))[0] == 0, context
    for item in case.full:
        assert points[item][0] == points[item][1], context
    for item in case.partial:
        assert 0 < points[item][0] < points[item][1], context
    for item, text in case.message.items():
        assert any(text in c["message"] for c in result["checks"] if c["item"] == item), context
    if case.notes:
        assert any(case.notes in n for n in result["notes"]), f"{result['notes']}\n{context}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_no_grader_internals_reach_the_student(batch, name):
    result = batch.results[name]
    texts = [result["reason"], *result["notes"]]
    for c in result["checks"]:
        assert c["internal"] is None, f"a check failed internally: {c['internal']}"
        texts += [c["message"], *c["notes"]]
    for text in texts:
        for marker in GRADER_INTERNALS:
            assert marker not in text, f"{name}: {marker!r} in {text!r}"
    feedback = (batch.out / "feedback" / f"{name}.html").read_text()
    assert "Traceback (most recent call last)" not in feedback

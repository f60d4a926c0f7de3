"""`autograder audit` on the toy assignment (tests/fixtures/course/solutions/toy/wrong.py): which
check variant catches which wrong implementation, the checks that catch nothing, the wrong
implementations nothing catches and the items with fewer than three."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.audit import Case, as_html, as_text, run_audit, submission_cases
from autograder.course import CourseError
from tests.conftest import GOOD_TOY, ROOT, TOY, make_notebook, write_submissions

D64, D32 = "double/doubles[float64,cpu]", "double/doubles[float32,cpu]"
M64, M32 = "no_matmul/no_matmul[float64,cpu]", "no_matmul/no_matmul[float32,cpu]"
MATRIX = {
    "double/triples": {D64: "caught", D32: "caught"},
    "double/returns float32 whatever the input": {D64: "caught", D32: "passed"},
    "double/returns a NumPy array": {D64: "caught", D32: "caught"},
    "no_matmul/uses torch.matmul": {M64: "not run", M32: "not run"},  # refused statically
    "count/adds two": {"count/counts[cpu]": "caught"},
    "count/returns a tensor": {"count/counts[cpu]": "caught"},
    "positive/never raises": {"positive/rejects_negative[cpu]": "caught"},
    "positive/raises for zero too": {"positive/rejects_negative[cpu]": "passed"},
}


@pytest.fixture(scope="module")
def report():
    return run_audit("toy", root=TOY, solution=GOOD_TOY)


def test_solution_scores_full_marks_and_every_check_is_timed(report):
    assert report.solution_failed == []
    assert report.solution_score == report.solution_max_score == 8
    assert set(report.solution_seconds) == {"double/doubles", "no_matmul/no_matmul",
                                            "count/counts", "Scale/scale_module",
                                            "positive/rejects_negative", "slow/slow"}
    assert all(s > 0 for s in report.solution_seconds.values())


def test_matrix_of_check_variants_against_wrong_implementations(report):
    assert report.to_dict()["matrix"] == MATRIX
    by_label = {o.label: o for o in report.cases}
    assert by_label["returns float32 whatever the input"].score == 1  # of 2: float32 passes
    assert "forbidden call: torch.matmul" in by_label["uses torch.matmul"].reason


def test_checks_that_catch_nothing_missed_cases_and_thin_items(report):
    # no_matmul's check never ran: the one wrong no_matmul was refused before any check
    assert report.catches_nothing() == ["no_matmul/no_matmul", "Scale/scale_module", "slow/slow"]
    assert report.variants_catching_nothing() == []
    assert [(o.item, o.label) for o in report.missed()] == [("positive", "raises for zero too")]
    assert report.fewer_than_min() == {"no_matmul": 1, "count": 2, "Scale": 0, "positive": 2,
                                       "slow": 0}


def test_text_and_html_show_the_matrix(report):
    text = as_text(report)
    rows = {line.split()[0]: line.split()[1:] for line in text.splitlines()
            if line.startswith("  ") and line.split()[0] in ("doubles", "rejects_negative")}
    assert rows == {"doubles": ["x", "64", "x", "3"], "rejects_negative": ["x", ".", "1"]}
    for line in ["MISSED: no check fails it", "Checks that catch nothing:\n  no_matmul/no_matmul",
                 "Wrong implementations no check catches:\n  positive: raises for zero too",
                 "Items with fewer than 3 wrong implementations:\n  no_matmul (1)",
                 "no check ran: no_matmul uses a forbidden call"]:
        assert line in text, line
    html = as_html(report)
    assert html.count("class='c caught'") == sum(v == "caught" for m in MATRIX.values()
                                                  for v in m.values())
    assert "<code>positive: raises for zero too</code>" in html


def test_cases_of_an_undeclared_item_are_refused():
    with pytest.raises(CourseError, match="does not declare"):
        run_audit("toy", [Case("typo", "dubble", "def dubble(x):\n    return x\n")], root=TOY,
                  solution=GOOD_TOY)


def test_audit_of_real_submissions_definitions(tmp_path):
    """The same audit runs on the definitions students handed in, one case per student."""
    subs = write_submissions(tmp_path / "subs", "toy", {
        "ann": make_notebook(GOOD_TOY),
        "bob": make_notebook(GOOD_TOY.replace("return x * 2", "return x * 2.5  # close enough")),
        "cem": None})
    cases = submission_cases(subs, "toy", ["double"])
    assert [(c.label, c.item) for c in cases] == [("ann", "double"), ("bob", "double")]
    assert "2.5" in cases[1].source
    outcomes = {o.label: o.caught for o in run_audit("toy", cases, root=TOY,
                                                     solution=GOOD_TOY).cases}
    assert outcomes == {"ann": False, "bob": True}


@pytest.mark.slow
def test_cli_prints_the_table_and_writes_html_and_json(tmp_path):
    course = tmp_path / "course"
    shutil.copytree(TOY, course)
    source = course / "solutions" / "toy" / "toy.ipynb"
    if not source.exists():  # the toy course has checks but no source notebook of its own
        nbformat.write(make_notebook(GOOD_TOY), source)
    r = subprocess.run([sys.executable, "-m", "autograder.cli", "audit", "toy", "--course",
                        str(course), "--html", str(tmp_path / "a.html"), "--json",
                        str(tmp_path / "a.json"), "--strict"],
                       capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 1, r.stderr  # --strict: a wrong implementation is missed
    assert "Traceback" not in r.stderr and "[8/8] no_matmul: uses torch.matmul" in r.stderr
    assert "Checks that catch nothing:" in r.stdout
    assert json.loads((tmp_path / "a.json").read_text())["matrix"] == MATRIX
    assert "Audit of toy" in (tmp_path / "a.html").read_text()
    assert Path(tmp_path / "a.html").stat().st_size > 1000

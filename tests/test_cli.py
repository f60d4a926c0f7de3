"""The command line as users call it: exit codes, files written, clear messages."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import GOOD_TOY, make_notebook, write_submissions

ROOT = Path(__file__).resolve().parents[1]


def autograder(*args: str, cwd: Path | None = None, check: bool = False):
    r = subprocess.run([sys.executable, "-m", "autograder.cli", *args], capture_output=True,
                       text=True, cwd=cwd or ROOT, timeout=600)
    if check:
        assert r.returncode == 0, r.stderr
    return r


@pytest.fixture(scope="module")
def graded(toy_root, tmp_path_factory):
    subs = write_submissions(tmp_path_factory.mktemp("subs"), "toy", {
        "alice": make_notebook(GOOD_TOY),
        "bob": make_notebook(GOOD_TOY.replace("return n + 1", "return n")),
        "carol": b"{not json",
        "dave": None,  # a folder without the notebook
    })
    (subs / "dave").mkdir(exist_ok=True)
    out = tmp_path_factory.mktemp("out")
    r = autograder("grade", "toy", str(subs), "--out", str(out), "--workers", "2", "--course",
                   str(toy_root))
    return r, out


def test_grade_writes_gradebook_results_and_feedback(graded):
    r, out = graded
    assert r.returncode == 0, r.stderr
    rows = {row["student_id"]: row for row in csv.DictReader((out / "grades.csv").open())}
    assert set(rows) == {"alice", "bob", "carol", "dave"}
    assert list(rows["alice"])[:5] == ["student_id", "assignment", "score", "max_score", "status"]
    assert (rows["alice"]["score"], rows["alice"]["status"]) == ("8", "graded")
    assert (rows["bob"]["score"], rows["bob"]["status"]) == ("7", "graded")
    assert rows["carol"]["status"] == "invalid" and "not valid JSON" in rows["carol"]["reason"]
    assert rows["dave"]["status"] == "missing"
    for s in rows:
        assert json.loads((out / "results" / f"{s}.json").read_text())["student_id"] == s
        assert (out / "feedback" / f"{s}.html").exists()
    feedback = (out / "feedback" / "bob.html").read_text()
    assert "count(n=4): result is 4, expected 5" in feedback
    assert "def counts" not in feedback and "assert_equal" not in feedback


def test_report_writes_summary_histogram_and_exports(graded):
    _, out = graded
    r = autograder("report", str(out), check=True)
    assert "histogram" in r.stdout
    summary = json.loads((out / "report" / "summary.json").read_text())
    assert summary["students"] == 4 and summary["statuses"]["graded"] == 2
    assert (out / "report" / "histogram.png").read_bytes()[:4] == b"\x89PNG"
    canvas = list(csv.reader((out / "exports" / "canvas.csv").open()))
    assert canvas[0][:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    assert ["alice", "", "", "alice", "", "8"] in canvas
    gs = json.loads((out / "exports" / "gradescope" / "bob" / "results.json").read_text())
    assert gs["score"] == 7 and any(t["status"] == "failed" for t in gs["tests"])


def test_resume_keeps_existing_results(graded, toy_root):
    r0, out = graded
    before = (out / "results" / "alice.json").read_text()
    subs = Path(json.loads(before)["source_file"]).parents[1]
    r = autograder("grade", "toy", str(subs), "--out", str(out), "--resume", "--course",
                   str(toy_root))
    assert r.returncode == 0 and "4 kept from an earlier run" in r.stderr
    assert (out / "results" / "alice.json").read_text() == before


def test_user_errors_are_messages_not_tracebacks(toy_root, tmp_path):
    r = autograder("grade", "nope", str(tmp_path), "--out", str(tmp_path / "o"), "--course",
                   str(toy_root))
    assert r.returncode == 2 and "unknown assignment 'nope'" in r.stderr
    assert "Traceback" not in r.stderr
    r = autograder("grade", "toy", str(tmp_path / "absent"), "--out", str(tmp_path / "o"),
                   "--course", str(toy_root))
    assert r.returncode == 2 and "is not a folder of submissions" in r.stderr
    r = autograder("release", "a1_convolution", cwd=tmp_path)
    assert r.returncode == 2 and "no course found" in r.stderr
    r = autograder("report", str(tmp_path))
    assert r.returncode == 2 and "holds no results" in r.stderr
    r = autograder("grade", "toy", str(tmp_path), "--out", str(tmp_path / "o"), "--backend",
                   "slurm", "--course", str(toy_root))
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_validate_reports_names_and_public_checks(tmp_path):
    good = make_notebook(GOOD_TOY, "assert count(1) == 2\nprint('ok')")
    good.cells[1].metadata["nbgrader"] = {"grade": True, "solution": False, "points": 0}
    good.metadata["autograder"] = {"assignment": "toy", "graded": ["double", "count", "Scale"]}
    import nbformat

    path = tmp_path / "toy.ipynb"
    nbformat.write(good, path)
    r = autograder("validate", str(path))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "3/3 graded names found, 1/1 public checks passed" in r.stdout
    bad = make_notebook(GOOD_TOY.replace("def count", "def counter"), "assert count(1) == 2")
    bad.cells[1].metadata["nbgrader"] = {"grade": True, "solution": False, "points": 0}
    bad.metadata["autograder"] = good.metadata["autograder"]
    nbformat.write(bad, path)
    r = autograder("validate", str(path))
    assert r.returncode == 1
    assert "MISSING  count" in r.stdout and "FAILED   public check 2: NameError" in r.stdout


def test_validate_warns_of_forbidden_calls_from_the_released_metadata(tmp_path):
    """The release writes each graded name's forbidden calls into the notebook, so that a student's
    `validate` (no hidden checks at hand) finds what the grader's static check will refuse."""
    released = json.loads((ROOT / "assignments" / "a1_convolution" /
                           "a1_convolution.ipynb").read_text())
    assert "torch.nn.functional.conv2d" in released["metadata"]["autograder"]["forbidden"]["conv2d"]
    cells = [{"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
              "source": "import torch.nn.functional as F\n\n"
                        "def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, "
                        "groups=1):\n    return F.conv2d(x, weight, bias, stride, padding)\n"}]
    nb = {"cells": cells, "metadata": released["metadata"], "nbformat": 4, "nbformat_minor": 5}
    path = tmp_path / "a1_convolution.ipynb"
    path.write_text(json.dumps(nb))
    r = autograder("validate", str(path), "--no-run")
    assert r.returncode == 1
    assert ("FORBIDDEN  conv2d uses a forbidden call: torch.nn.functional.conv2d (cell 1, line 4)"
            in r.stdout), r.stdout
    assert "Not ready" in r.stdout


def test_validate_explains_a_global_the_grader_will_not_set(tmp_path):
    nb = make_notebook("import torch\nSCALE = torch.tensor(2.0)",
                       "def double(x):\n    return x * SCALE")
    nb.metadata["autograder"] = {"assignment": "toy", "graded": ["double"]}
    path = tmp_path / "toy.ipynb"
    path.write_text(json.dumps(nb))
    r = autograder("validate", str(path), "--no-run")
    assert r.returncode == 1
    assert ("PROBLEM  double uses SCALE, which only a statement the grader does not run sets "
            "(cell 1, line 2)") in r.stdout, r.stdout


def test_workers_launch_before_the_grader_imports_torch(tmp_path):
    """`grade` launches its worker processes first, so that their torch import overlaps the
    grader's: the command line, the zygote client and reading a notebook import no torch (nor
    nbformat, a second of start-up)."""
    nb = tmp_path / "a.ipynb"
    nb.write_text(json.dumps(make_notebook(GOOD_TOY)))
    code = (
        "import sys\n"
        "import autograder.cli, autograder.session, autograder.submissions\n"
        "from autograder.notebook import extract, read_notebook\n"
        f"parsed = extract(read_notebook(__import__('pathlib').Path({str(nb)!r})))\n"
        "assert 'double' in parsed.definitions\n"
        "print(sorted(m for m in ('torch', 'nbformat') if m in sys.modules))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"

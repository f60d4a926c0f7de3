"""Files a learning-management system can import: a Canvas gradebook CSV and Gradescope
``results.json`` files (one per student, in Gradescope's autograder results format)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from autograder.report.feedback import REVIEW_NOTICE
from autograder.results import SubmissionResult, write_atomic


def canvas_csv(results: list[SubmissionResult], title: str, path: Path) -> Path:
    """Canvas' gradebook import layout: Student, ID, SIS User ID, SIS Login ID, Section, then one
    column for the assignment, preceded by the 'Points Possible' row. Students are matched on
    the SIS Login ID, which is the submission folder's name. A submission on review carries its
    (provisional) score; the class report lists it for the instructor to confirm."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    column = f"{title}"
    w.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", column])
    max_score = max((r.max_score for r in results), default=0)
    w.writerow(["    Points Possible", "", "", "", "", f"{max_score:g}"])
    for r in sorted(results, key=lambda r: r.student_id):
        w.writerow([r.student_id, "", "", r.student_id, "", f"{r.score:g}"])
    write_atomic(path, buf.getvalue())
    return path


def gradescope_results(result: SubmissionResult) -> dict:
    """One submission in Gradescope's results.json format (per-check tests, visible output)."""
    tests = []
    for c in result.checks:
        variant = ", ".join(x for x in (c.dtype, c.device) if x)
        tests.append({
            "name": f"{c.item}: {c.description}" + (f" [{variant}]" if variant else ""),
            "score": c.points,
            "max_score": c.max_points,
            "status": "passed" if c.passed else "failed",
            "output": "" if c.passed else c.message,
            "visibility": "visible",
        })
    # the student sees this output: a submission on review says so, not why
    output = REVIEW_NOTICE if result.status == "review" else result.reason or ""
    if result.notes:
        output = (output + "\n" if output else "") + "\n".join(result.notes)
    return {"score": result.score, "output": output, "visibility": "visible",
            "stdout_visibility": "hidden", "tests": tests}


def gradescope_dir(results: list[SubmissionResult], folder: Path) -> Path:
    for r in results:
        write_atomic(folder / r.student_id / "results.json",
                     json.dumps(gradescope_results(r), indent=1) + "\n")
    return folder

"""The class report of a graded folder: summary statistics, a score histogram, per-check pass
rates (the class's common mistakes), the submissions held for review (with the lines that put
them there), the submissions that could not be graded, and exports."""

from __future__ import annotations

import json
import statistics
from html import escape
from pathlib import Path

from autograder.course import CourseError
from autograder.report.exports import canvas_csv, gradescope_dir
from autograder.results import SCORED, ResultStore, SubmissionResult, write_atomic


def summarize(results: list[SubmissionResult]) -> dict:
    scores = [r.score for r in results]
    statuses: dict[str, int] = {}
    for r in results:
        statuses[r.status] = statuses.get(r.status, 0) + 1
    checks: dict[str, dict] = {}
    for r in results:
        if r.status not in SCORED:
            continue
        for c in r.checks:
            row = checks.setdefault(c.key, {"item": c.item, "description": c.description,
                                            "passed": 0, "total": 0})
            row["total"] += 1
            row["passed"] += int(c.passed)
    return {
        "assignment": results[0].assignment if results else "",
        "students": len(results),
        "max_score": max((r.max_score for r in results), default=0.0),
        "mean": statistics.fmean(scores) if scores else 0.0,
        "median": statistics.median(scores) if scores else 0.0,
        "stdev": statistics.pstdev(scores) if len(scores) > 1 else 0.0,
        "min": min(scores, default=0.0),
        "max": max(scores, default=0.0),
        "statuses": statuses,
        "checks": checks,
        "review": [{"student_id": r.student_id, "score": r.score, "max_score": r.max_score,
                    "lines": r.review} for r in results if r.status == "review"],
        "not_graded": [{"student_id": r.student_id, "status": r.status, "reason": r.reason}
                       for r in results if r.status not in SCORED],
    }


def histogram(results: list[SubmissionResult], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scores = [r.score for r in results]
    top = max((r.max_score for r in results), default=1.0) or 1.0
    fig, ax = plt.subplots(figsize=(6.4, 3.4), dpi=100)
    bins = min(20, max(5, int(top)))
    ax.hist(scores, bins=bins, range=(0, top), color="#3b6ea5", edgecolor="white")
    ax.set_xlabel(f"score (out of {top:g})")
    ax.set_ylabel("students")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_title(f"{results[0].assignment if results else ''}: {len(scores)} submissions")
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def write_report(out_dir: Path) -> dict[str, Path]:
    """Write ``<out>/report/`` (index.html, summary.json, histogram.png) and ``<out>/exports/``."""
    out_dir = Path(out_dir)
    store = ResultStore(out_dir)
    results = store.all()
    if not results:
        raise CourseError(f"{out_dir} holds no results: run `autograder grade ... --out {out_dir}`")
    title = results[0].assignment
    report = out_dir / "report"
    summary = summarize(results)
    paths = {
        "summary": report / "summary.json",
        "histogram": histogram(results, report / "histogram.png"),
        "report": report / "index.html",
        "canvas": canvas_csv(results, title, out_dir / "exports" / "canvas.csv"),
        "gradescope": gradescope_dir(results, out_dir / "exports" / "gradescope"),
    }
    write_atomic(paths["summary"], json.dumps(summary, indent=1) + "\n")
    write_atomic(paths["report"], _html(summary))
    return paths


def _html(s: dict) -> str:
    rows = sorted(s["checks"].items(), key=lambda kv: kv[1]["passed"] / max(1, kv[1]["total"]))
    check_rows = "".join(
        f"<tr><td><code>{escape(v['item'])}</code></td><td>{escape(v['description'])}</td>"
        f"<td>{escape(k.split('[', 1)[-1].rstrip(']'))}</td>"
        f"<td>{v['passed']}/{v['total']}</td><td>{100 * v['passed'] / max(1, v['total']):.0f}%"
        "</td></tr>" for k, v in rows)
    problem_rows = "".join(
        f"<tr><td>{escape(p['student_id'])}</td><td>{escape(p['status'])}</td>"
        f"<td>{escape(p['reason'])}</td></tr>" for p in s["not_graded"])
    review_rows = "".join(
        f"<tr><td>{escape(r['student_id'])}</td><td>{r['score']:g} / {r['max_score']:g}</td>"
        "<td>" + "<br>".join(
            f"cell {f['cell']}, line {f['line']}: <code>{escape(str(f['source']))}</code> "
            f"<span class='muted'>({escape(str(f['what']))})</span>" for f in r["lines"])
        + "</td></tr>" for r in s["review"])
    statuses = ", ".join(f"{n} {escape(k)}" for k, n in sorted(s["statuses"].items()))
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{escape(s['assignment'])}: class report</title><style>
body{{font-family:system-ui,sans-serif;max-width:62rem;margin:2rem auto;padding:0 1rem}}
table{{border-collapse:collapse;width:100%}}
td,th{{padding:.3rem .5rem;border-bottom:1px solid #ddd;text-align:left;font-size:.92rem}}
.stats td{{border:none}} .muted{{color:#666}}</style></head><body>
<h1>{escape(s['assignment'])}: class report</h1>
<table class="stats"><tr><td>Submissions</td><td>{s['students']} ({statuses})</td></tr>
<tr><td>Mean / median</td><td>{s['mean']:.2f} / {s['median']:.2f} of {s['max_score']:g}</td></tr>
<tr><td>Std. dev.</td><td>{s['stdev']:.2f}</td></tr>
<tr><td>Min / max</td><td>{s['min']:g} / {s['max']:g}</td></tr></table>
<p><img src="histogram.png" alt="score histogram" width="640"></p>
<h2>Checks, hardest first</h2><table><tr><th>Item</th><th>Check</th><th>Variant</th>
<th>Passed</th><th>Rate</th></tr>{check_rows}</table>
<h2>Held for review</h2>
<p>Scored, but their loaded code reaches into private machinery that can switch off the
forbidden-call guard: read the lines, then confirm or change the score (the student is told only
that the submission is held for review).</p>
<table><tr><th>Student</th><th>Score</th><th>Lines</th></tr>
{review_rows or '<tr><td colspan="3">none</td></tr>'}</table>
<h2>Not graded</h2><table><tr><th>Student</th><th>Status</th><th>Reason</th></tr>
{problem_rows or '<tr><td colspan="3">none</td></tr>'}</table>
<p>Exports: <a href="../exports/canvas.csv">Canvas CSV</a>, Gradescope results in
<code>exports/gradescope/&lt;student&gt;/results.json</code>.</p></body></html>
"""

"""Per-student feedback as a self-contained HTML page.

It shows each check's description, outcome, points and message (which input, by how much). It never
shows a check's source, a reference value beyond the one mismatching element, or instructor notes:
a submission on ``review`` says only that it is held for instructor review (the lines that put it
there are for the instructor, in the results and the gradebook).
"""

from __future__ import annotations

from html import escape

from autograder.results import SubmissionResult

_STATUS_TEXT = {
    "graded": "Graded",
    "review": "Graded, held for instructor review",
    "error": "Could not be graded: the notebook's code failed to run",
    "timeout": "Timed out",
    "invalid": "Could not be read",
    "missing": "Not submitted",
}

# What a student on review is told: that a person will look, not what the grader looked for.
REVIEW_NOTICE = ("Your submission is held for instructor review: the score below is provisional "
                 "until your instructor has looked at it.")

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:60rem;
margin:2rem auto;padding:0 1rem;color:#1d1d1f;line-height:1.45}
h1{font-size:1.5rem;margin-bottom:.2rem} h2{font-size:1.15rem;margin-top:1.8rem}
.score{font-size:2rem;font-weight:600} .muted{color:#666}
table{border-collapse:collapse;width:100%;margin:.4rem 0} td,th{padding:.35rem .5rem;
border-bottom:1px solid #e5e5e5;vertical-align:top;text-align:left;font-size:.93rem}
.pass{color:#137333;font-weight:600} .fail{color:#b3261e;font-weight:600}
.msg{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85rem;white-space:pre-wrap}
.box{background:#fff4e5;border-left:4px solid #f29900;padding:.6rem .8rem;margin:.8rem 0}
"""


def render_feedback(result: SubmissionResult, title: str = "") -> str:
    """The HTML feedback page for one student."""
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{escape(result.assignment)}: feedback for {escape(result.student_id)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{escape(title or result.assignment)}</h1>",
        f"<p class='muted'>Feedback for <b>{escape(result.student_id)}</b> · "
        f"{escape(_STATUS_TEXT.get(result.status, result.status))}</p>",
        f"<p class='score'>{_num(result.score)} / {_num(result.max_score)}</p>",
    ]
    if result.status == "review":
        parts.append(f"<div class='box'>{escape(REVIEW_NOTICE)}</div>")
    elif result.reason:
        parts.append(f"<div class='box'>{escape(result.reason)}</div>")
    if result.notes:
        parts.append("<h2>About your notebook</h2><ul>")
        parts += [f"<li>{escape(n)}</li>" for n in result.notes]
        parts.append("</ul>")
    by_item: dict[str, list] = {}
    for c in result.checks:
        by_item.setdefault(c.item, []).append(c)
    scores = result.item_scores()
    for item, checks in by_item.items():
        got, total = scores[item]
        parts.append(f"<h2><code>{escape(item)}</code> <span class='muted'>{_num(got)} / "
                     f"{_num(total)}</span></h2><table><tr><th>Check</th><th>Variant</th>"
                     "<th>Result</th><th>Points</th></tr>")
        for c in checks:
            variant = ", ".join(x for x in (c.dtype, c.device) if x)
            outcome = "<span class='pass'>passed</span>" if c.passed else \
                "<span class='fail'>failed</span>"
            parts.append(f"<tr><td>{escape(c.description)}</td><td>{escape(variant)}</td>"
                         f"<td>{outcome}</td><td>{_num(c.points)} / {_num(c.max_points)}</td></tr>")
            detail = ([c.message] if c.message and not c.passed else []) + list(c.notes)
            if detail:
                parts.append(f"<tr><td colspan='4' class='msg'>{escape(chr(10).join(detail))}"
                             "</td></tr>")
        parts.append("</table>")
    parts.append(f"<p class='muted'>Seed {result.seed} · device {escape(result.device)} · "
                 f"graded in {result.duration_s:.1f} s</p></body></html>")
    return "\n".join(parts)


def _num(x: float) -> str:
    return f"{x:g}" if float(x).is_integer() else f"{x:.2f}"

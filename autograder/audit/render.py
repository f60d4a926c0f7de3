"""The audit for a reader: a terminal table and a self-contained HTML page."""

from __future__ import annotations

from html import escape

from autograder.audit.matrix import AuditReport, CaseOutcome

LEGEND = ("x: every variant of the check fails it   64/32: only its float64/float32 variant   "
          "-: not run   .: passes")


def _tag(key: str) -> str:
    """``64`` for ``item/check[float64,cpu]``: the variant's dtype, short."""
    inside = key[key.index("[") + 1:-1].split(",")
    return inside[0].replace("float", "") if inside[0].startswith("float") else inside[0]


def folded_cell(outcome: CaseOutcome, keys: list[str]) -> str:
    """One check's verdict on one case, its variants folded (see ``LEGEND``)."""
    caught = [k for k in keys if k in outcome.caught_by]
    if caught and len(caught) == len(keys):
        return "x"
    if caught:
        return "/".join(_tag(k) for k in caught)
    return "-" if all(k in outcome.not_run for k in keys) else "."


def _points(x: float) -> str:
    return f"{x:g}" if float(x).is_integer() else f"{x:.2f}"


def _verdict(report: AuditReport, o: CaseOutcome) -> str:
    if not o.caught:
        return "MISSED: no check fails it"
    text = f"loses {_points(o.max_score - o.score)} of {_points(o.max_score)}"
    if o.reason and not o.caught_by:
        text += f"; no check ran: {o.reason}"
    return text


def _cases_by_item(report: AuditReport) -> dict[str, list[CaseOutcome]]:
    by_item: dict[str, list[CaseOutcome]] = {item: [] for item in report.checks}
    for o in report.cases:
        by_item[o.item].append(o)
    return by_item


def as_text(report: AuditReport) -> str:
    """The audit as plain text: per item a matrix (checks x wrong implementations), then the
    checks that catch nothing, the cases no check catches, the items with too few cases and the
    solution's grading time per check."""
    n_checks = sum(len(c) for c in report.checks.values())
    n_variants = sum(len(k) for c in report.checks.values() for k in c.values())
    lines = [f"Audit of {report.assignment} ({report.title}) on {report.device}: "
             f"{len(report.checks)} items, {n_checks} checks ({n_variants} variants), "
             f"{len(report.cases)} wrong implementations, {report.seconds:.1f} s",
             LEGEND]
    if report.solution_failed:
        lines.append(f"WARNING: the solution fails {', '.join(report.solution_failed)}; "
                     "what those checks catch proves nothing")
    for item, outcomes in _cases_by_item(report).items():
        checks = report.checks[item]
        missed = sum(not o.caught for o in outcomes)
        lines += ["", f"{item}: {len(outcomes)} wrong implementation"
                      f"{'' if len(outcomes) == 1 else 's'}"
                      + (f", {missed} MISSED" if missed else ", all caught" if outcomes else "")]
        cells = {name: [folded_cell(o, keys) for o in outcomes] for name, keys in checks.items()}
        widths = [max(3, len(str(i + 1)), *(len(cells[n][i]) for n in checks))
                  for i in range(len(outcomes))]
        name_w = max([len("check")] + [len(n) for n in checks])
        head = f"  {'check':<{name_w}}" + "".join(f" {i + 1:>{w}}" for i, w in enumerate(widths))
        lines.append(head + "  catches")
        for name, row in cells.items():
            caught = sum(c not in (".", "-") for c in row)
            lines.append(f"  {name:<{name_w}}" + "".join(f" {c:>{w}}" for c, w in zip(row, widths))
                         + f"  {caught}")
        label_w = min(60, max([0] + [len(o.label) for o in outcomes]))
        for i, o in enumerate(outcomes, 1):
            label = o.label if len(o.label) <= label_w else o.label[:label_w - 3] + "..."
            lines.append(f"  {i:>3}  {label:<{label_w}}  {_verdict(report, o)}")
    lines += ["", "Checks that catch nothing:"]
    lines += [f"  {c}" for c in report.catches_nothing()] or ["  (none)"]
    silent = report.variants_catching_nothing()
    if silent:
        lines += ["Check variants that catch nothing (their check catches with another):"]
        lines += [f"  {k}" for k in silent]
    lines += ["Wrong implementations no check catches:"]
    lines += [f"  {o.item}: {o.label}" for o in report.missed()] or ["  (none)"]
    lines += [f"Items with fewer than {report.min_wrong} wrong implementations:"]
    lines += [f"  {item} ({n})" for item, n in report.fewer_than_min().items()] or ["  (none)"]
    lines += ["", f"Solution: {_points(report.solution_score)}/"
                  f"{_points(report.solution_max_score)} points; grading time per check:"]
    name_w = max([0] + [len(n) for n in report.solution_seconds])
    lines += [f"  {name:<{name_w}}  {s:7.3f} s" for name, s in report.solution_seconds.items()]
    lines.append(f"  {'total':<{name_w}}  {sum(report.solution_seconds.values()):7.3f} s")
    return "\n".join(lines) + "\n"


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:72rem;
margin:2rem auto;padding:0 1rem;color:#1d1d1f;line-height:1.45}
h1{font-size:1.5rem} h2{font-size:1.15rem;margin-top:1.8rem} .muted{color:#666}
table{border-collapse:collapse;margin:.4rem 0} td,th{padding:.25rem .45rem;font-size:.9rem;
border-bottom:1px solid #e5e5e5;text-align:left;vertical-align:top}
td.c{text-align:center;font-family:ui-monospace,Menlo,Consolas,monospace}
.caught{background:#e6f4ea;color:#137333;font-weight:600} .passed{color:#999}
.notrun{background:#f1f3f4;color:#666} .missed{color:#b3261e;font-weight:600}
.box{background:#fff4e5;border-left:4px solid #f29900;padding:.6rem .8rem;margin:.8rem 0}
"""

_CLASS = {"caught": "caught", "passed": "passed", "not run": "notrun"}
_MARK = {"caught": "&#x2716;", "passed": "&middot;", "not run": "&ndash;"}


def as_html(report: AuditReport) -> str:
    """The audit as a self-contained HTML page: per item, every check variant against every case."""
    parts = ["<!doctype html><html lang='en'><head><meta charset='utf-8'>",
             f"<title>Audit of {escape(report.assignment)}</title><style>{_CSS}</style></head>"
             "<body>", f"<h1>Audit of {escape(report.assignment)}: {escape(report.title)}</h1>",
             f"<p class='muted'>{len(report.cases)} wrong implementations graded on "
             f"{escape(report.device)} (seed {report.seed}) in {report.seconds:.1f} s. A cell "
             "marked &#x2716; is a check variant that fails the implementation; &ndash; did not "
             "run (its points are lost anyway).</p>"]
    if report.solution_failed:
        parts.append(f"<div class='box'>The solution fails "
                     f"{escape(', '.join(report.solution_failed))}.</div>")
    summary = [("Checks that catch nothing", report.catches_nothing()),
               ("Check variants that catch nothing", report.variants_catching_nothing()),
               ("Wrong implementations no check catches",
                [f"{o.item}: {o.label}" for o in report.missed()]),
               (f"Items with fewer than {report.min_wrong} wrong implementations",
                [f"{i} ({n})" for i, n in report.fewer_than_min().items()])]
    for title, entries in summary:
        parts.append(f"<h2>{escape(title)}</h2>")
        parts.append("<ul>" + "".join(f"<li><code>{escape(e)}</code></li>" for e in entries)
                     + "</ul>" if entries else "<p class='muted'>None.</p>")
    for item, outcomes in _cases_by_item(report).items():
        parts.append(f"<h2><code>{escape(item)}</code> <span class='muted'>{len(outcomes)} wrong "
                     "implementations</span></h2><table><tr><th>check variant</th>")
        parts += [f"<th title='{escape(o.label, quote=True)}'>{i}</th>"
                  for i, o in enumerate(outcomes, 1)]
        parts.append("<th>solution time</th></tr>")
        for name, keys in report.checks[item].items():
            seconds = report.solution_seconds.get(f"{item}/{name}", 0.0)
            for j, key in enumerate(keys):
                parts.append(f"<tr><td><code>{escape(key.split('/', 1)[1])}</code></td>")
                for o in outcomes:
                    verdict = "caught" if key in o.caught_by else \
                        "not run" if key in o.not_run else "passed"
                    parts.append(f"<td class='c {_CLASS[verdict]}' title='"
                                 f"{escape(o.label, quote=True)}: {verdict}'>{_MARK[verdict]}</td>")
                parts.append(f"<td>{f'{seconds:.3f} s' if j == 0 else ''}</td></tr>")
        parts.append("</table><table>")
        for i, o in enumerate(outcomes, 1):
            cls = "" if o.caught else " class='missed'"
            parts.append(f"<tr><td>{i}</td><td>{escape(o.label)}</td>"
                         f"<td{cls}>{escape(_verdict(report, o))}</td></tr>")
        parts.append("</table>")
    parts.append(f"<p class='muted'>Solution: {_points(report.solution_score)} / "
                 f"{_points(report.solution_max_score)} points.</p></body></html>")
    return "\n".join(parts) + "\n"

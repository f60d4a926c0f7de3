"""The ``autograder`` command: release, validate, grade, report, audit (each only composes
stages)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autograder.course import CourseError, find_root, load_assignment


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CourseError as e:
        print(f"autograder: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("autograder: interrupted; rerun `grade` with --resume to continue", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="autograder", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True,  # grade-shard is internal
                           metavar="{release,validate,grade,report,audit}")

    r = sub.add_parser("release", help="solutions/<id> -> assignments/<id>/<id>.ipynb")
    r.add_argument("assignment")
    r.add_argument("--course", type=Path, default=None, help="course root (default: found from .)")
    r.set_defaults(func=cmd_release)

    v = sub.add_parser("validate", help="check a notebook before submitting it")
    v.add_argument("notebook", type=Path)
    v.add_argument("--assignment", default=None)
    v.add_argument("--course", type=Path, default=None)
    v.add_argument("--no-run", action="store_true", help="only parse; do not run the cells")
    v.add_argument("--cell-timeout", type=float, default=120.0)
    v.set_defaults(func=cmd_validate)

    g = sub.add_parser("grade", help="grade a folder of submissions")
    g.add_argument("assignment")
    g.add_argument("submissions", type=Path)
    g.add_argument("--out", type=Path, required=True)
    g.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    g.add_argument("--workers", type=int, default=1)
    g.add_argument("--backend", choices=["local", "slurm"], default="local")
    g.add_argument("--resume", action="store_true", help="keep results already in --out")
    g.add_argument("--require-sandbox", action="store_true",
                   help="refuse to grade without bubblewrap")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--course", type=Path, default=None)
    g.add_argument("--quiet", action="store_true")
    g.add_argument("--partition", default=None, help="Slurm partition")
    g.add_argument("--time-limit", default="00:30:00", help="Slurm time limit per task")
    g.add_argument("--mem", default="8G", help="Slurm memory per task")
    g.add_argument("--slurm-tasks", type=int, default=None, help="Slurm array size")
    g.set_defaults(func=cmd_grade)

    # Internal: one task of a Slurm array job (see autograder/backends/slurm/); not in --help.
    sh = sub.add_parser("grade-shard")
    sh.add_argument("manifest", type=Path)
    sh.add_argument("--index", type=int, required=True)
    sh.add_argument("--of", type=int, required=True)
    sh.set_defaults(func=cmd_grade_shard)

    rep = sub.add_parser("report", help="class summary, histogram and exports of a graded folder")
    rep.add_argument("out", type=Path)
    rep.set_defaults(func=cmd_report)

    au = sub.add_parser("audit", help="which checks catch which wrong implementations (wrong.py)")
    au.add_argument("assignment")
    au.add_argument("--course", type=Path, default=None)
    au.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    au.add_argument("--seed", type=int, default=0)
    au.add_argument("--html", type=Path, default=None,
                    help="write the HTML report here (default: _build/audit/<id>.html)")
    au.add_argument("--json", nargs="?", const="-", default=None, metavar="PATH",
                    help="write the audit as JSON to PATH; without PATH, print it instead of "
                         "the table")
    au.add_argument("--strict", action="store_true",
                    help="exit 1 when a wrong implementation is missed, an item has fewer than "
                         "three, or the solution fails a check")
    au.add_argument("--quiet", action="store_true", help="no progress lines")
    au.set_defaults(func=cmd_audit)
    return p


def cmd_release(args) -> int:
    from autograder.release import release

    root = args.course or find_root()
    out = release(root, args.assignment)
    print(f"released {args.assignment} -> {out.relative_to(root)}")
    return 0


def cmd_validate(args) -> int:
    from autograder.validate import validate

    names = forbidden = None
    if args.assignment:
        try:
            meta = load_assignment(args.course or find_root(), args.assignment).student_metadata()
            names, forbidden = meta["graded"], meta["forbidden"]
        except CourseError:
            pass  # a student has no hidden checks: use the notebook's own metadata
    if not args.notebook.exists():
        print(f"autograder: {args.notebook} does not exist", file=sys.stderr)
        return 2
    v = validate(args.notebook, names, cell_timeout=args.cell_timeout, run_cells=not args.no_run,
                 forbidden=forbidden)
    for p in v.problems:
        print(f"PROBLEM  {p}")
    for n in v.graded:
        print(f"{'MISSING' if n in v.missing else 'found  '}  {n}")
    for f in v.forbidden:
        print(f"FORBIDDEN  {f}")
    tests = [c for c in v.cells if c.is_test]
    for c in v.cells:
        if c.is_test or not c.ok:
            label = "public check" if c.is_test else "cell"
            print(f"{'ok     ' if c.ok else 'FAILED '}  {label} {c.cell}"
                  + (f": {c.message}" if c.message else ""))
    passed = sum(c.ok for c in tests)
    print(f"\n{len(v.graded) - len(v.missing)}/{len(v.graded)} graded names found, "
          f"{passed}/{len(tests)} public checks passed")
    print("Ready to submit." if v.ok else "Not ready: fix the problems above.")
    return 0 if v.ok else 1


def cmd_grade(args) -> int:
    pool = _launch_workers(args)
    try:
        from autograder.run import run_grading  # imports torch, while the workers start

        return run_grading(args, pool)
    finally:
        for zygote in pool:
            zygote.close()


def _launch_workers(args) -> list:
    """The local backend's worker processes, launched before this process imports torch so that
    the two start-ups overlap (a fresh run only: --resume may leave nothing to grade)."""
    if args.backend != "local" or args.resume or not args.submissions.is_dir():
        return []
    from autograder.session import launch_pool
    from autograder.submissions import discover

    n = min(max(1, args.workers), len(discover(args.submissions, args.assignment)))
    return launch_pool(n, args.device, args.require_sandbox) if n else []


def cmd_grade_shard(args) -> int:
    from autograder.backends.slurm import grade_shard

    return grade_shard(args.manifest, args.index, args.of)


def cmd_report(args) -> int:
    from autograder.report.summary import write_report

    paths = write_report(args.out)
    for label, path in paths.items():
        print(f"{label:<11} {path}")
    return 0


def cmd_audit(args) -> int:
    import json

    from autograder.audit import as_html, as_text, run_audit

    root = args.course or find_root()

    def progress(i: int, n: int, case) -> None:
        if not args.quiet:
            print(f"[{i}/{n}] {case.item}: {case.label}", file=sys.stderr, flush=True)

    report = run_audit(args.assignment, root=root, device=args.device, seed=args.seed,
                       progress=progress)
    html = args.html or root / "_build" / "audit" / f"{args.assignment}.html"
    html.parent.mkdir(parents=True, exist_ok=True)
    html.write_text(as_html(report), encoding="utf-8")
    data = json.dumps(report.to_dict(), indent=1)
    if args.json == "-":
        print(data)
    else:
        if args.json:
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            Path(args.json).write_text(data + "\n", encoding="utf-8")
        print(as_text(report), end="")
    print(f"html: {html}" + (f"\njson: {args.json}" if args.json not in (None, "-") else ""),
          file=sys.stderr)
    bad = report.missed() or report.fewer_than_min() or report.solution_failed
    return 1 if args.strict and bad else 0


if __name__ == "__main__":
    sys.exit(main())

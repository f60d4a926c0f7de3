"""Seconds to grade each assignment's perfect example, as an instructor runs the grader.

    .venv/bin/python benchmarks/grade_perfect.py [ids ...] [--workers 2] [--device cpu]

For each assignment (default: every folder of solutions/ with an examples/perfect submission), runs
`autograder grade <id> <a folder holding only the perfect example> --workers W` and prints the
command's wall time (start-up included), the submission's own grading time, its score, and its
slowest check. The issues' targets: at most 15 s of wall time (a1-a4) and 20 s (a5, a6) on a
2-core machine with two workers. The machine is whatever runs it: a loaded machine is slower.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def perfect_ids() -> list[str]:
    return sorted(p.parents[1].name for p in (ROOT / "solutions").glob("*/examples/perfect"))


def grade_perfect(assignment: str, workers: int, device: str, work: Path) -> dict:
    """Grade the perfect example alone; the wall time, the result, the slowest check."""
    subs = work / assignment / "submissions"
    (subs / "perfect").mkdir(parents=True)
    shutil.copy(ROOT / "solutions" / assignment / "examples" / "perfect" / f"{assignment}.ipynb",
                subs / "perfect")
    out = work / assignment / "out"
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "autograder.cli", "grade", assignment, str(subs),
                           "--out", str(out), "--workers", str(workers), "--device", device,
                           "--quiet"], cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"grading {assignment} failed:\n{proc.stderr[-2000:]}")
    result = json.loads((out / "results" / "perfect.json").read_text())
    slowest = max(result["checks"], key=lambda c: c.get("duration_s") or 0.0)
    return {"assignment": assignment, "wall_s": wall, "submission_s": result["duration_s"],
            "score": result["score"], "max_score": result["max_score"],
            "slowest": f"{slowest['item']}/{slowest['check']}[{slowest.get('dtype') or '-'}]",
            "slowest_s": slowest.get("duration_s") or 0.0}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ids", nargs="*", help="assignments (default: all with a perfect example)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    ids = args.ids or perfect_ids()
    load = os.getloadavg()[0]
    print(f"{os.cpu_count()} cores, load average {load:.1f} at the start, --workers "
          f"{args.workers}, --device {args.device}")
    print(f"{'assignment':24} {'wall s':>7} {'graded s':>9} {'score':>9}  slowest check")
    with tempfile.TemporaryDirectory() as tmp:
        for assignment in ids:
            r = grade_perfect(assignment, args.workers, args.device, Path(tmp))
            print(f"{r['assignment']:24} {r['wall_s']:7.1f} {r['submission_s']:9.2f} "
                  f"{r['score']:>4g}/{r['max_score']:<4g}  {r['slowest']} {r['slowest_s']:.2f} s")
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

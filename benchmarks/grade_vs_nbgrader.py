"""Our grader against `nbgrader autograde`, side by side on the same realistic a1 submissions.

    .venv/bin/python benchmarks/grade_vs_nbgrader.py [-n 20] [--workers 2] [--keep DIR]

Builds N submissions of a1_convolution from the solution notebook as students hand them in: the
public-check cells and a small demo cell left in, and every few students a wrong item. Then, in one
run, times

1. `autograder grade a1_convolution <subs> --out <dir> --workers W` (the real hidden checks,
   timing check included), as a user runs it; and again without the one check that times conv2d
   against F.conv2d, which is most of the checks' own compute;
2. `nbgrader autograde a1_convolution --force` in a throwaway nbgrader course (source/, release via
   `nbgrader generate_assignment`, submitted/<student>/a1_convolution/), which executes every
   notebook's cells in a fresh kernel;
3. the per-submission overhead of our grader: everything but the checks' own compute, i.e. the
   same notebooks graded against a trivial assignment (one check, one call), through the backend
   API so that the worker start-up can be told apart;
4. the start-up of one worker (a sandboxed zygote importing torch), with and without bubblewrap.

Prints the wall times, the time per submission and the ratio. The machine is whatever runs it:
compare numbers from the same run only.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import nbformat

from autograder.course import load_wrong
from autograder.testing import replace_definition

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "a1_convolution"
BIN = Path(sys.executable).parent

DEMO = '''# Trying it out on a random "image"
img = torch.randn(1, 3, 32, 32)
edges = torch.tensor([[-1.0, 0.0, 1.0]] * 3).expand(4, 3, 3, 3)
feat = conv2d(img, edges, padding=1)
pooled = max_pool2d(feat, 2)
print(feat.shape, pooled.shape, avg_pool2d(feat, 2).mean().item())
print("receptive field of VGG's first block:", receptive_field([(3, 1), (3, 1), (2, 2)]))
'''
# Every fourth student gets one of these items wrong: the first entry of solutions/<id>/wrong.py.
WRONG = {name: impls[0][1] for name, impls in load_wrong(ROOT, ASSIGNMENT).items()
         if name in ("conv_output_size", "max_pool2d", "receptive_field")}
TRIVIAL_CHECKS = '''
from autograder.checks import Assignment

A = Assignment("{id}", title="trivial", time_budget=60.0, load_timeout=30.0)
A.item("conv_output_size")


@A.check("conv_output_size", points=1, dtypes=None)
def one_call(t):
    """One call."""
    t.assert_equal(t.student.conv_output_size(7, 3), 5)
'''


def realistic_submissions(n: int) -> dict[str, nbformat.NotebookNode]:
    source = nbformat.read(ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    wrong = list(WRONG.items())
    out = {}
    for i in range(n):
        nb = nbformat.from_dict(json.loads(json.dumps(source)))
        for cell in nb.cells:  # handed in without the instructor's markers
            if cell.cell_type == "code":
                cell.source = re.sub(r"\n? *### (BEGIN|END) SOLUTION", "", cell.source)
        if i % 4 == 3:  # every fourth student gets one item wrong
            name, code = wrong[(i // 4) % len(wrong)]
            for cell in nb.cells:
                if cell.cell_type == "code" and cell.source.startswith(f"def {name}("):
                    cell.source = replace_definition(cell.source, name, code)
        nb.cells.append(nbformat.v4.new_code_cell(DEMO))
        out[f"student{i:03d}"] = nb
    return out


def run(cmd: list[str], cwd: Path, env: dict | None = None) -> tuple[float, str]:
    t0 = time.perf_counter()
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True,
                       env={**os.environ, **(env or {})})
    elapsed = time.perf_counter() - t0
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd[:3])} failed ({r.returncode}):\n{r.stdout[-2000:]}"
                 f"\n{r.stderr[-4000:]}")
    return elapsed, r.stdout + r.stderr


def ours(subs: Path, out: Path, workers: int, course: Path = ROOT) -> dict:
    wall, _ = run([str(BIN / "autograder"), "grade", ASSIGNMENT, str(subs), "--out", str(out),
                   "--workers", str(workers), "--quiet", "--course", str(course)], cwd=ROOT)
    results = [json.loads(p.read_text()) for p in sorted((out / "results").glob("*.json"))]
    durations = [r["duration_s"] for r in results]
    checks = [sum(c["duration_s"] for c in r["checks"]) for r in results]
    return {"wall": wall, "n": len(results), "statuses": sorted({r["status"] for r in results}),
            "scores": [r["score"] for r in results], "max": results[0]["max_score"],
            "sandbox": results[0]["sandbox"], "mean_submission": statistics.mean(durations),
            "mean_checks": statistics.mean(checks),
            "mean_rest": statistics.mean(d - c for d, c in zip(durations, checks))}


def without_timing_check(tmp: Path) -> Path:
    """A copy of the course whose a1 checks lack the one timing check (conv2d vs F.conv2d, about
    fifteen convolutions of a 4x32x32x32 input per submission)."""
    course = tmp / "no_timing_course"
    target = course / "solutions" / ASSIGNMENT
    shutil.copytree(ROOT / "solutions" / ASSIGNMENT, target)
    with (target / "checks.py").open("a") as f:
        f.write('\nA.checks[:] = [c for c in A.checks if c.name != "conv_speed"]\n')
    return course


def nbgrader(subs: dict[str, nbformat.NotebookNode], course: Path) -> dict:
    source = course / "source" / ASSIGNMENT
    source.mkdir(parents=True)
    shutil.copy(ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", source)
    (course / "nbgrader_config.py").write_text(textwrap.dedent(f"""\
        c = get_config()
        c.CourseDirectory.root = {str(course)!r}
        c.CourseDirectory.course_id = "bench"
        """))
    env = {"PATH": f"{BIN}:{os.environ.get('PATH', '')}"}  # nbgrader runs `alembic`
    release, _ = run([str(BIN / "nbgrader"), "generate_assignment", ASSIGNMENT, "--force"],
                     cwd=course, env=env)
    for student, nb in subs.items():
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{ASSIGNMENT}.ipynb")
    wall, _ = run([str(BIN / "nbgrader"), "autograde", ASSIGNMENT, "--force"], cwd=course, env=env)
    graded = list((course / "autograded").glob(f"*/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"))
    return {"wall": wall, "n": len(graded), "release": release}


def overhead(notebooks: Path, workers: int, tmp: Path) -> dict:
    """Our grader on a trivial assignment (one check, one call): what a submission costs beyond
    its checks, and what a worker costs to start."""
    from autograder.backends import GradeJob, LocalBackend
    from autograder.grading import GradeOptions
    from autograder.submissions import discover

    course = tmp / "trivial_course"
    checks_dir = course / "solutions" / "trivial"
    checks_dir.mkdir(parents=True)
    (checks_dir / "checks.py").write_text(TRIVIAL_CHECKS.format(id="trivial"))
    subs = tmp / "trivial_subs"
    for p in notebooks.glob(f"*/{ASSIGNMENT}.ipynb"):
        (subs / p.parent.name).mkdir(parents=True)
        shutil.copy(p, subs / p.parent.name / "trivial.ipynb")
    backend = LocalBackend(workers=workers, quiet=True)
    job = GradeJob(course, "trivial", discover(subs, "trivial"), GradeOptions(), tmp / "tout")
    got = []
    t0 = time.perf_counter()
    backend.run(job, got.append)
    wall = time.perf_counter() - t0
    durations = [r.duration_s for r in got]
    assert all(r.score == r.max_score for r in got), [r.reason for r in got]
    return {"wall": wall, "startup": backend.startup_s,
            "mean_submission": statistics.mean(durations)}


def worker_startup(repeat: int = 3) -> dict:
    """Seconds to start one worker (interpreter, torch import, preload), sandboxed or not (the
    best of ``repeat`` tries each, interleaved: the machine's load changes), and the cost of
    bubblewrap alone (setting up the sandbox around /bin/true)."""
    from autograder.sandbox import Sandbox
    from autograder.session import Zygote

    kinds = {"bwrap": Sandbox.detect(), "none": Sandbox("none", "benchmark")}
    kinds = {k: v for k, v in kinds.items() if v.kind == k}
    times: dict[str, list[float]] = {k: [] for k in kinds}
    for _ in range(repeat):
        for label, sandbox in kinds.items():
            z = Zygote(sandbox)
            times[label].append(z.start().start_s)
            z.close()
    out = {k: min(v) for k, v in times.items()}
    if "bwrap" in kinds:
        bare, boxed = [], []
        for _ in range(5):
            for cmd, into in ((["true"], bare), (["bwrap", *kinds["bwrap"].bwrap_args(), "--",
                                                 "true"], boxed)):
                t0 = time.perf_counter()
                subprocess.run(cmd, check=True, env=kinds["bwrap"].env())
                into.append(time.perf_counter() - t0)
        out["bwrap_alone"] = min(boxed) - min(bare)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20, help="number of submissions (default 20)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep", type=Path, default=None, help="keep the work files here")
    args = parser.parse_args()
    tmp = Path(args.keep or tempfile.mkdtemp(prefix="ag-bench-"))
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        notebooks = realistic_submissions(args.n)
        subs = tmp / "submissions"
        for student, nb in notebooks.items():
            (subs / student).mkdir(parents=True)
            nbformat.write(nb, subs / student / f"{ASSIGNMENT}.ipynb")
        print(f"{args.n} submissions of {ASSIGNMENT}; {os.cpu_count()} cores, load average "
              f"{os.getloadavg()[0]:.1f} at the start", flush=True)

        a = ours(subs, tmp / "ours", args.workers)
        print(f"\nautograder grade --workers {args.workers} ({a['sandbox']} sandbox): "
              f"{a['wall']:.1f} s wall for {a['n']}, {a['wall'] / a['n']:.2f} s per submission "
              f"(scores {min(a['scores']):g}..{max(a['scores']):g} of {a['max']:g})")
        print(f"  per submission, as its worker saw it: {a['mean_submission']:.2f} s, of which "
              f"checks {a['mean_checks']:.2f} s and the rest {a['mean_rest']:.3f} s", flush=True)

        a2 = ours(subs, tmp / "ours_no_timing", args.workers, without_timing_check(tmp))
        print(f"  the same without the conv2d timing check: {a2['wall']:.1f} s wall, checks "
              f"{a2['mean_checks']:.2f} s per submission", flush=True)

        b = nbgrader(notebooks, tmp / "nbgrader_course")
        print(f"\nnbgrader autograde: {b['wall']:.1f} s wall for {b['n']}, "
              f"{b['wall'] / b['n']:.2f} s per submission "
              f"(generate_assignment {b['release']:.1f} s, not counted)", flush=True)

        c = overhead(subs, args.workers, tmp)
        s = worker_startup()
        print(f"\nper-submission overhead (the same notebooks against a trivial assignment, one "
              f"check of one call): {c['mean_submission'] * 1e3:.0f} ms per submission (parse, "
              f"fork, load the definitions, the call, exit)")
        print(f"worker start-up, once per worker: {s.get('bwrap', s['none']):.2f} s "
              f"(interpreter + torch import); without the sandbox {s['none']:.2f} s"
              + (f"; bubblewrap alone {s['bwrap_alone'] * 1e3:.0f} ms" if "bwrap_alone" in s
                 else ""))
        print(f"\nratio nbgrader / ours: {b['wall'] / a['wall']:.1f}x (wall, {args.n} submissions; "
              f"{b['wall'] / a2['wall']:.1f}x without the timing check)")
        print(f"load average at the end {os.getloadavg()[0]:.1f}")
    finally:
        if args.keep is None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

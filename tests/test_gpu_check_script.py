"""scripts/gpu-check.sh grades every released assignment's solution and stub with a Python that has
no nbformat, nbgrader or IPython (as on a borrowed GPU machine), from a checkout on PYTHONPATH."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import nbformat
import pytest
import torch

from autograder.course import assignment_ids
from tests.conftest import GOOD_TOY, make_notebook

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
@pytest.mark.parametrize("device", [
    "cpu",
    pytest.param("cuda", marks=[pytest.mark.gpu, pytest.mark.skipif(
        not torch.cuda.is_available(), reason="needs a CUDA device")]),
])
def test_gpu_check_grades_every_assignment_without_notebook_packages(tmp_path, device):
    blocker = tmp_path / "blocker"
    for module in ("nbformat", "nbgrader", "IPython"):
        (blocker / module).mkdir(parents=True)
        (blocker / module / "__init__.py").write_text(f"raise ImportError('no {module} here')\n")
    env = {**os.environ, "PYTHON": sys.executable, "DEVICE": device, "OUT": str(tmp_path / "out"),
           "PYTHONPATH": str(blocker)}
    r = subprocess.run(["bash", "scripts/gpu-check.sh"], capture_output=True, text=True,
                       cwd=ROOT, env=env, timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "installed: nbformat no" in r.stdout
    assert "OK: every solution scores full marks and every stub 0" in r.stdout
    rows = {line.split()[0]: line.split() for line in r.stdout.splitlines()
            if line.split() and line.split()[0] in assignment_ids(ROOT)}
    assert sorted(rows) == assignment_ids(ROOT)
    for row in rows.values():
        solution, stub = row[1], row[2]
        assert solution.split("/")[0] == solution.split("/")[1] and stub.startswith("0/")
        assert device in row[-1]  # the devices the checks ran on


@pytest.mark.slow
def test_a_checkout_that_is_not_installed_grades_from_pythonpath(tmp_path):
    """`PYTHONPATH=. python3 -m autograder.cli grade` from a checkout: the worker (started with
    `python -I`, which ignores PYTHONPATH) still runs the grader's own package."""
    bare = tmp_path / "bare"
    made = subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)],
                          capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"cannot make a virtual environment here: {made.stderr[-200:]}")
    python = bare / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; "
                           "print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    # torch and friends from this environment, but not its (editable) install of autograder
    Path(site, "borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    probe = subprocess.run([str(python), "-c", "import torch, autograder"], cwd=tmp_path,
                           capture_output=True, text=True)
    assert "No module named 'autograder'" in probe.stderr
    subs = tmp_path / "subs" / "ann"
    subs.mkdir(parents=True)
    nbformat.write(make_notebook(GOOD_TOY), subs / "toy.ipynb")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PATH": str(tmp_path / "no-bwrap-here")}
    r = subprocess.run([str(python), "-m", "autograder.cli", "grade", "toy", str(subs.parent),
                        "--out", str(tmp_path / "out"), "--course", str(ROOT / "tests" /
                                                                        "fixtures" / "course"),
                        "--quiet"], capture_output=True, text=True, cwd=tmp_path, env=env,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    row = (tmp_path / "out" / "grades.csv").read_text().splitlines()[1].split(",")
    assert row[2:5] == ["8", "8", "graded"], row

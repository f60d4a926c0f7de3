"""Shared fixtures: the toy course of the engine's own tests, and notebook builders."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
TOY = ROOT / "tests" / "fixtures" / "course"

GOOD_TOY = '''
import torch

def double(x):
    return x * 2

def count(n):
    return n + 1

class Scale(torch.nn.Module):
    def __init__(self, n):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(n))

    def forward(self, x):
        return x * self.weight

def positive(x):
    if x < 0:
        raise ValueError("negative")
    return x

def no_matmul(a, b):
    return (a[:, :, None] * b[None, :, :]).sum(1)

def slow():
    return 1
'''


def make_notebook(*cells: str, markdown: tuple[str, ...] = ()) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    for m in markdown:
        nb.cells.append(nbformat.v4.new_markdown_cell(m))
    for c in cells:
        nb.cells.append(nbformat.v4.new_code_cell(c))
    return nb


def write_submissions(folder: Path, assignment: str, notebooks: dict) -> Path:
    """``folder/<student>/<assignment>.ipynb`` for each entry: a notebook, raw text/bytes, or None
    (a student folder without the notebook)."""
    for student, nb in notebooks.items():
        d = folder / student
        d.mkdir(parents=True, exist_ok=True)
        path = d / f"{assignment}.ipynb"
        if isinstance(nb, bytes):
            path.write_bytes(nb)
        elif isinstance(nb, str):
            path.write_text(nb)
        elif nb is not None:
            nbformat.write(nb, path)
    return folder


@pytest.fixture(scope="session")
def toy_root(tmp_path_factory) -> Path:
    """A copy of the toy course (so tests never write into the repository)."""
    dest = tmp_path_factory.mktemp("course")
    shutil.copytree(TOY, dest, dirs_exist_ok=True)
    return dest

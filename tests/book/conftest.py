"""Reads the numbers the chapters computed, from the notebooks that the book build executed.

A chapter records a number with `myst_nb.glue(name, value, display=False)`. The book build writes
the executed notebook to `_build/jupyter_execute/book/<chapter>.ipynb` and the glued values beside
it, in `<chapter>.glue.json` (a notebook executed by jupytext keeps them in its outputs instead);
`glued(chapter, name)` returns the value from either. Build the book first (`make book`).
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXECUTED = ROOT / "_build" / "jupyter_execute" / "book"


def _literal(text: str | None) -> object:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _glued_values(chapter: str) -> dict[str, object]:
    path = EXECUTED / f"{chapter}.ipynb"
    if not path.exists():
        pytest.fail(f"{path} does not exist: build the book first (make book)")
    values: dict[str, object] = {}
    for cell in json.loads(path.read_text())["cells"]:
        for out in cell.get("outputs", []):
            meta = out.get("metadata", {}).get("scrapbook")
            if meta:
                values[meta["name"]] = _literal(out["data"].get(meta["mime_prefix"] + "text/plain"))
    glue_file = path.with_suffix(".glue.json")
    if glue_file.exists():
        for name, out in json.loads(glue_file.read_text()).items():
            values[name] = _literal(out.get("data", {}).get("text/plain"))
    return values


@pytest.fixture(scope="session")
def glued():
    """glued(chapter, name) -> the value a chapter glued under that name."""
    cache: dict[str, dict[str, object]] = {}

    def get(chapter: str, name: str) -> object:
        if chapter not in cache:
            cache[chapter] = _glued_values(chapter)
        assert name in cache[chapter], f"{chapter} glues no value named {name!r}"
        return cache[chapter][name]

    return get

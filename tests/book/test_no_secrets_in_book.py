"""The built book publishes no solution code and no hidden checks."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from autograder.release import leaked, secret_lines

ROOT = Path(__file__).resolve().parents[2]
HTML = ROOT / "_build" / "html"
_TAG = re.compile(r"<[^>]+>")


def _texts():
    if not (HTML / "index.html").exists():
        pytest.fail("the book is not built: run `make book` first")
    for path in HTML.rglob("*"):
        if path.suffix in (".html", ".txt", ".ipynb", ".md", ".py", ".js", ".json") and \
                "mathjax" not in path.parts:
            raw = path.read_text(errors="replace")
            yield path, raw, html.unescape(_TAG.sub("", raw)) if path.suffix == ".html" else raw


@pytest.mark.book
def test_built_book_contains_no_solution_or_hidden_check_code():
    secrets = set()
    for folder in (ROOT / "solutions").iterdir():
        if folder.is_dir():
            secrets |= secret_lines(folder)
    assert secrets
    for path, raw, text in _texts():
        found = leaked(text, secrets) + leaked(raw, secrets)
        assert not found, f"{path.relative_to(HTML)} publishes {found[0]!r}"


@pytest.mark.book
def test_book_ships_no_sources_or_solutions():
    assert not (HTML / "_sources").exists()
    assert not any(p.name == "checks.py" for p in HTML.rglob("*"))
    assert not any("solutions" in p.parts for p in HTML.rglob("*"))
    downloads = [p.name for p in (HTML / "_downloads").rglob("*.ipynb")] \
        if (HTML / "_downloads").exists() else []
    assert all(not name.startswith("solution") for name in downloads)

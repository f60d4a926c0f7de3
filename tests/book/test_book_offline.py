"""The built book works from disk, with no network: every script, stylesheet and image it loads is
a file of the build, math is typeset by the bundled MathJax, and each chapter has its computed
figures, its exercises, navigation and a place in the search index."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
HTML = ROOT / "_build" / "html"

_LOADED = re.compile(r'<(?:script|img|link)\b[^>]*?\b(?:src|href)="([^"]+)"[^>]*>', re.I)
_LINK_REL = re.compile(r'<link\b[^>]*\brel="([^"]+)"', re.I)


def _chapters() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [c["file"] for part in toc["parts"] for c in part["chapters"]]


def _page(name: str) -> str:
    path = HTML / f"{name}.html"
    if not path.exists():
        pytest.fail(f"{path} is missing: build the book first (make book)")
    return path.read_text()


def _loaded_resources(page: Path) -> list[str]:
    """What the browser fetches to render the page (not what a reader may click)."""
    found = []
    for tag in re.finditer(r"<(script|img|link)\b[^>]*>", page.read_text(), re.I):
        text = tag.group(0)
        if tag.group(1).lower() == "link":
            rel = _LINK_REL.search(text)
            if not rel or not {"stylesheet", "preload", "icon"} & set(rel.group(1).split()):
                continue
        m = _LOADED.match(text)
        if m:
            found.append(m.group(1))
    return found


@pytest.mark.book
def test_every_page_loads_only_files_of_the_build():
    pages = sorted(p for p in HTML.rglob("*.html") if "_static" not in p.relative_to(HTML).parts)
    assert len(pages) > len(_chapters())
    for page in pages:
        loaded = _loaded_resources(page)
        if page.parent.name == "book":
            assert loaded, f"{page.name} loads no script or stylesheet: is the pattern right?"
        for url in loaded:
            parts = urlsplit(url)
            assert not parts.scheme and not parts.netloc, f"{page.name} loads {url} (network)"
            if parts.path:
                target = (page.parent / unquote(parts.path)).resolve()
                assert target.exists(), f"{page.name} loads {url}, which the build lacks"


@pytest.mark.book
def test_math_is_typeset_by_the_bundled_mathjax():
    page = _page("book/01_convolution")
    scripts = re.findall(r'<script[^>]*src="([^"]*mathjax[^"]*)"', page, re.I)
    assert scripts and all(s.startswith("../_static/mathjax/") for s in scripts), scripts
    assert "\\(" in page or "\\[" in page or "math notranslate" in page


@pytest.mark.book
@pytest.mark.parametrize("chapter", _chapters())
def test_chapter_has_figures_exercises_and_navigation(chapter):
    page = _page(chapter)
    images = re.findall(r'<img[^>]*src="([^"]+)"', page)
    computed = [i for i in images if "_images/" in i]
    assert computed, f"{chapter} shows no figure made by its code"
    assert re.search(r'<h2[^>]*>\s*Exercises', page), f"{chapter} has no Exercises section"
    assert 'class="prev-next-area"' in page or 'rel="next"' in page or 'rel="prev"' in page


@pytest.mark.book
def test_search_index_lists_every_chapter():
    index = (HTML / "searchindex.js").read_text()
    assert (HTML / "search.html").exists()
    for chapter in _chapters():
        assert f'"{chapter}"' in index, f"{chapter} is not in the search index"

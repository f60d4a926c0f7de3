"""a1_convolution's hidden checks: full marks for the solution, and each plausible bug is caught."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import nbformat
import pytest

from autograder.testing import grade_source, replace_definition, solution_source

ASSIGNMENT = "a1_convolution"
WRONG_FILE = Path(__file__).parent / "wrong" / f"{ASSIGNMENT}.py"


def _load_wrong() -> dict[str, list[tuple[str, str]]]:
    spec = importlib.util.spec_from_file_location(f"wrong_{ASSIGNMENT}", WRONG_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.WRONG


WRONG = _load_wrong()
CASES = [(item, description, source)
         for item, impls in WRONG.items() for description, source in impls]


def _summary(checks) -> str:
    return "\n".join(f"  {c.item}: {'pass' if c.passed else 'FAIL'} "
                     f"{c.points}/{c.max_points} {c.message or ''}" for c in checks)


@pytest.fixture(scope="module")
def source() -> str:
    return solution_source(ASSIGNMENT)


def test_every_graded_item_has_wrong_implementations():
    notebook = Path(__file__).parents[1] / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    graded = nbformat.read(notebook, as_version=4).metadata["autograder"]["graded"]
    assert sorted(WRONG) == sorted(graded)
    assert all(len(impls) >= 3 for impls in WRONG.values())


@pytest.mark.slow
def test_solution_gets_full_marks(source):
    result = grade_source(ASSIGNMENT, source)
    failed = [c for c in result.checks if not c.passed]
    assert not failed, "the solution fails checks:\n" + _summary(failed)
    assert sum(c.points for c in result.checks) == sum(c.max_points for c in result.checks)


@pytest.mark.slow
@pytest.mark.parametrize(("item", "description", "wrong"), CASES,
                         ids=[f"{item}-{description}" for item, description, _ in CASES])
def test_wrong_implementation_is_caught(source, item, description, wrong):
    result = grade_source(ASSIGNMENT, replace_definition(source, item, wrong), items=[item])
    checks = [c for c in result.checks if c.item == item]
    assert checks, f"no check of {item} ran"
    assert any(not c.passed for c in checks), (
        f"{item} that {description} passes every check:\n" + _summary(checks))
    assert sum(c.points for c in checks) < sum(c.max_points for c in checks)

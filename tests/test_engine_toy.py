"""The grading engine end to end on the toy assignment: scores, statuses, messages."""

from __future__ import annotations

import json

import pytest

from autograder.testing import grade_notebook, grade_source
from tests.conftest import GOOD_TOY, make_notebook


def _by_item(result):
    out = {}
    for c in result.checks:
        out.setdefault(c.item, []).append(c)
    return out


def test_correct_submission_scores_full_marks(toy_root):
    r = grade_source("toy", GOOD_TOY, root=toy_root)
    assert r.status == "graded"
    assert r.score == r.max_score == 8
    assert all(c.passed for c in r.checks)
    seeds = {c.seed for c in r.checks}
    assert len(seeds) == len(r.checks), "every variant has its own recorded seed"


def test_grading_is_deterministic(toy_root):
    a = grade_source("toy", GOOD_TOY.replace("x * 2", "x * 2 + 1e-3 * torch.randn_like(x)"),
                     root=toy_root)
    b = grade_source("toy", GOOD_TOY.replace("x * 2", "x * 2 + 1e-3 * torch.randn_like(x)"),
                     root=toy_root)
    assert [(c.key, c.passed, c.message, c.seed) for c in a.checks] == \
        [(c.key, c.passed, c.message, c.seed) for c in b.checks]


def test_wrong_answer_message_names_call_shape_and_error(toy_root):
    r = grade_source("toy", GOOD_TOY.replace("return x * 2", "return x * 3"), root=toy_root)
    failed = [c for c in r.checks if c.item == "double"]
    assert failed and not any(c.passed for c in failed)
    msg = failed[0].message
    assert "double(x=Tensor(3,))" in msg and "max abs error" in msg and "worst at index" in msg
    # reference values are quoted only where the check says so (show_expected=True)
    assert "got" not in msg and "expected" not in msg


def test_reference_values_shown_only_where_the_check_says(toy_root):
    r = grade_source("toy", GOOD_TOY.replace("return n + 1", "return n + 2"), root=toy_root)
    shown = _by_item(r)["count"][0]
    assert not shown.passed and "result is 6, expected 5" in shown.message


def test_dtype_not_followed_fails_float64_only(toy_root):
    src = GOOD_TOY.replace("return x * 2", "return (x * 2).float()")
    checks = _by_item(grade_source("toy", src, root=toy_root))["double"]
    assert {c.dtype: c.passed for c in checks} == {"float64": False, "float32": True}
    assert "dtype float32, expected float64" in [c for c in checks if not c.passed][0].message


def test_numpy_result_is_rejected_by_type(toy_root):
    src = GOOD_TOY.replace("return x * 2", "return (x * 2).numpy()")
    c = _by_item(grade_source("toy", src, root=toy_root))["double"][0]
    assert not c.passed and "should be a torch.Tensor, got an object of type" in c.message


def test_exact_type_int_vs_tensor(toy_root):
    src = GOOD_TOY.replace("return n + 1", "return torch.tensor(n + 1)")
    c = _by_item(grade_source("toy", src, root=toy_root))["count"][0]
    assert not c.passed and "should be an int (5), got a tensor" in c.message


def test_module_gradients_and_state_dict(toy_root):
    wrong = GOOD_TOY.replace("return x * self.weight", "return x * self.weight.detach()")
    checks = _by_item(grade_source("toy", wrong, root=toy_root))["Scale"]
    assert not any(c.passed for c in checks)
    assert "gradient of weight" in checks[0].message or "grad" in checks[0].message
    renamed = GOOD_TOY.replace("self.weight", "self.w")
    checks = _by_item(grade_source("toy", renamed, root=toy_root))["Scale"]
    assert "missing ['weight']" in checks[0].message and "unexpected ['w']" in checks[0].message


def test_expected_exception(toy_root):
    src = GOOD_TOY.replace('raise ValueError("negative")', "pass")
    c = _by_item(grade_source("toy", src, root=toy_root))["positive"][0]
    assert not c.passed and "should raise ValueError" in c.message
    src = GOOD_TOY.replace('raise ValueError("negative")', 'raise TypeError("no")')
    c = _by_item(grade_source("toy", src, root=toy_root))["positive"][0]
    assert not c.passed and "raised TypeError, expected ValueError" in c.message


@pytest.mark.parametrize("body", [
    "return torch.matmul(a, b)",
    "return a @ b",
    "return getattr(torch, 'mat' + 'mul')(a, b)",
    "import importlib\n    return importlib.import_module('torch').mm(a, b)",
])
def test_forbidden_calls_are_caught_at_run_time(toy_root, body):
    src = GOOD_TOY.replace("return (a[:, :, None] * b[None, :, :]).sum(1)", body)
    checks = _by_item(grade_source("toy", src, root=toy_root))["no_matmul"]
    assert not any(c.passed for c in checks)
    assert "may not" in checks[0].message or "forbidden" in checks[0].message


IN_A_THREAD = """
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: {expr}).result()"""


@pytest.mark.parametrize("expr, allowed", [
    ("(a[:, :, None] * b[None, :, :]).sum(1)", True),
    ("torch.__dict__['mm'](a, b)", False),
    ("a @ b", False),
])
def test_threads_the_student_starts_follow_the_forbidden_op_guard(toy_root, expr, allowed):
    """Dispatch modes are per thread; a worker thread runs under the guard of the item being
    graded, and allowed work in a thread is graded as usual."""
    src = GOOD_TOY.replace("\n    return (a[:, :, None] * b[None, :, :]).sum(1)",
                           IN_A_THREAD.format(expr=expr))
    checks = _by_item(grade_source("toy", src, root=toy_root))["no_matmul"]
    assert all(c.passed for c in checks) == allowed, [c.message for c in checks]
    if not allowed:
        assert "may not use aten.mm" in checks[0].message


def test_forbidden_call_found_statically(toy_root):
    body = "return (a[:, :, None] * b[None, :, :]).sum(1)"
    src = GOOD_TOY.replace(body, f"if False:\n        torch.matmul(a, b)\n    {body}")
    c = _by_item(grade_source("toy", src, root=toy_root))["no_matmul"][0]
    assert not c.passed and "uses a forbidden call: torch.matmul (cell 1" in c.message


def test_hung_function_costs_one_timeout_and_the_rest_is_graded(toy_root):
    src = GOOD_TOY.replace("def slow():\n    return 1",
                           "def slow():\n    while True:\n        pass")
    r = grade_source("toy", src, root=toy_root)
    by = _by_item(r)
    assert r.status == "graded" and r.score == 7
    assert "timed out after 2 s" in by["slow"][0].message
    assert by["slow"][0].duration_s < 6


def test_missing_item_and_syntax_error_cell(toy_root):
    nb = make_notebook(GOOD_TOY.replace("def count(n):\n    return n + 1\n", ""),
                       "def count(n)\n    return n + 1\n")
    r = grade_notebook("toy", nb, root=toy_root)
    assert r.items_missing == ["count"]
    c = _by_item(r)["count"][0]
    assert "count is not defined" in c.message and "cell 2 was skipped: it has a syntax error" \
        in c.message
    assert r.score == 7


def test_module_level_work_is_not_run(toy_root):
    nb = make_notebook(GOOD_TOY, "while True:\n    pass", "double(torch.ones(2))\nraise SystemExit")
    r = grade_notebook("toy", nb, root=toy_root)
    assert r.status == "graded" and r.score == r.max_score


def test_exception_while_loading_skips_that_cell_only(toy_root):
    nb = make_notebook("import tensorflow as tf", GOOD_TOY)
    r = grade_notebook("toy", nb, root=toy_root)
    assert r.status == "graded" and r.score == r.max_score
    assert any("ModuleNotFoundError" in n and "tensorflow" in n for n in r.notes)


def test_last_definition_wins(toy_root):
    nb = make_notebook(GOOD_TOY.replace("return n + 1", "return n + 2"),
                       "def count(n):\n    return n + 1\n")
    assert grade_notebook("toy", nb, root=toy_root).score == 8
    nb = make_notebook(GOOD_TOY, "def count(n):\n    return n + 2\n")
    assert grade_notebook("toy", nb, root=toy_root).score == 7


def test_results_json_round_trip(toy_root):
    from autograder.results import SubmissionResult

    r = grade_source("toy", GOOD_TOY, root=toy_root)
    again = SubmissionResult.from_dict(json.loads(json.dumps(r.to_dict())))
    assert again == r


def test_global_set_by_a_statement_the_grader_drops_is_explained(toy_root):
    """A notebook that runs top to bottom but whose graded function reads a global that only a
    dropped statement sets (a call, a loop) fails that check, and the feedback says why."""
    src = GOOD_TOY.replace("def double(x):\n    return x * 2",
                           "FACTOR = int('2')\n\ndef double(x):\n    return x * FACTOR")
    r = grade_source("toy", src, root=toy_root)
    assert not any(c.passed for c in _by_item(r)["double"])
    assert "NameError" in _by_item(r)["double"][0].message
    assert any(n.startswith("double uses FACTOR, which only a statement the grader does not run "
                            "sets (cell 1, line ") for n in r.notes), r.notes
    assert all(c.passed for c in _by_item(r)["count"])

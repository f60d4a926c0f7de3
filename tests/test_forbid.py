"""Forbidden calls (wildcards, operator families, packages; a name that resolves to nothing is an
error) and the review status (graded code that reaches into private machinery), on the toy_forbid
assignment and on a1_convolution: each test fails without the feature it names."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import types
from pathlib import Path

import pytest
import torch

from autograder.checks import Forbid
from autograder.course import CourseError, load_assignment
from autograder.notebook import extract, machinery_uses, read_notebook
from autograder.report.exports import canvas_csv, gradescope_results
from autograder.report.feedback import render_feedback
from autograder.report.summary import summarize
from autograder.testing import (
    grade_source,
    notebook_from_source,
    replace_definition,
    solution_source,
)
from autograder.validate import validate
from autograder.worker.forbid import (
    ForbiddenCallError,
    Forbidder,
    expand_calls,
    expand_ops,
    op_family,
)
from tests.conftest import make_notebook, write_submissions

ROOT = Path(__file__).resolve().parents[1]

GOOD = '''
import torch
import torch.nn.functional as F


def fill_ones(w):
    with torch.no_grad():
        w.fill_(1.0)
    return w


def conv(x, w):
    n, _, h, wd = x.shape
    k = w.shape[-1]
    cols = F.unfold(x, k)
    out = w.reshape(w.shape[0], -1) @ cols
    return out.reshape(n, w.shape[0], h - k + 1, wd - k + 1)


class Mlp(torch.nn.Module):
    def __init__(self, d_in, d_out):
        super().__init__()
        self.fc = torch.nn.Linear(d_in, d_out)
        self.act = torch.nn.ReLU()

    def forward(self, x):
        return self.act(self.fc(x))


def scale(x):
    return 3 * x
'''

# The issue's hostile case: an alias of the forbidden function taken when the notebook loads,
# called with the dispatch modes (the guard) switched off.
BYPASS_CONV = '''from torch.utils._python_dispatch import _disable_current_modes

_conv2d = F.conv2d


def conv(x, w):
    with _disable_current_modes():
        return _conv2d(x, w)
'''


def _items(result, item):
    return [c for c in result.checks if c.item == item]


def _grade(toy_root, src, items=None):
    return grade_source("toy_forbid", src, root=toy_root, items=items)


# -- what Forbid entries stand for (the grader's process) -----------------------------------------
def test_an_op_stands_for_its_whole_family():
    family = set(op_family("aten.convolution"))
    assert {"aten.convolution", "aten._convolution", "aten.convolution_overrideable",
            "aten.cudnn_convolution", "aten.mkldnn_convolution", "aten.miopen_convolution",
            "aten._nnpack_spatial_convolution", "aten._slow_conv2d_forward", "aten.thnn_conv2d",
            "aten.slow_conv3d", "aten._conv_depthwise2d", "aten.slow_conv_dilated2d",
            "aten._convolution_mode", "mkldnn._convolution_pointwise"} <= family
    # backward operators run for allowed code too (autograd); what allowed solutions use stays
    assert not family & {"aten.convolution_backward", "aten._convolution_double_backward",
                         "aten.im2col", "aten.col2im", "aten.mm", "aten.bmm", "aten.unfold"}
    assert "aten._scaled_dot_product_attention_math" in op_family(
        "aten.scaled_dot_product_attention")
    assert "aten._flash_attention_forward" in op_family("aten.scaled_dot_product_attention")
    assert "aten.native_layer_norm" in op_family("aten.layer_norm")
    assert "aten._native_batch_norm_legit" in op_family("aten.batch_norm")
    assert "aten.native_channel_shuffle" in op_family("aten.channel_shuffle")
    assert "aten.pixel_shuffle" not in op_family("aten.channel_shuffle")
    assert "aten.convolution_backward" in op_family("aten.convolution_backward")


def test_op_wildcards_match_exactly_what_they_say():
    ops = expand_ops(["aten.*max_pool2d*"])
    assert {"aten.max_pool2d", "aten.max_pool2d_with_indices", "aten.adaptive_max_pool2d",
            "aten.max_pool2d_with_indices_backward"} <= set(ops)
    assert "aten.avg_pool2d" not in ops
    assert expand_ops(["aten.im2col.default"]) == ["aten.im2col"]  # the overload is ignored


def test_call_wildcards_and_modules_stand_for_every_function_of_the_module():
    init = expand_calls(["torch.nn.init.*"])
    assert {"torch.nn.init.xavier_normal_", "torch.nn.init.kaiming_normal_",
            "torch.nn.init.calculate_gain", "torch.nn.init._calculate_fan_in_and_fan_out"} \
        <= set(init)
    assert "torch.nn.init.Tensor" not in init  # imported there, not one of its functions
    assert expand_calls(["torch.nn.init"]) == init
    conv = expand_calls(["torch.nn.functional.conv*"])
    assert {"torch.nn.functional.conv2d", "torch.nn.functional.conv_transpose2d"} <= set(conv)
    assert "torch.nn.functional.unfold" not in conv


@pytest.mark.parametrize("kwargs, named", [
    ({"calls": ["torch.nn.functionl.conv2d"]}, "torch.nn.functionl.conv2d"),
    ({"calls": ["torch.avg_pool2d"]}, "torch.avg_pool2d"),
    ({"calls": ["torch.nn.init.nothing_*"]}, "torch.nn.init.nothing_*"),
    ({"calls": ["torch.*.conv2d"]}, "torch.*.conv2d"),
    ({"ops": ["aten.convolutoin"]}, "aten.convolutoin"),
    ({"ops": ["aten.*nothing_like_this*"]}, "aten.*nothing_like_this*"),
    ({"ops": ["convolution"]}, "convolution"),
    ({"packages": ["torch vision"]}, "torch vision"),
    ({"packages": ["torch"]}, "torch"),
])
def test_a_forbidden_name_that_resolves_to_nothing_is_an_error(kwargs, named):
    with pytest.raises(ValueError, match="Forbid: .*" + named.replace("*", r"\*")):
        Forbid(**kwargs)


def test_a_list_of_names_is_required():
    with pytest.raises(TypeError, match="list of names"):
        Forbid(calls="torch.conv2d")


def test_a_checks_module_with_a_typo_does_not_load(tmp_path):
    folder = tmp_path / "solutions" / "typo"
    folder.mkdir(parents=True)
    (folder / "checks.py").write_text(
        "from autograder.checks import Assignment, Forbid\n"
        "A = Assignment('typo')\n"
        "A.item('f', forbid=Forbid(calls=['torch.nn.functional.conv2d',\n"
        "                                 'torch.nn.functional.conv2dd']))\n")
    with pytest.raises(CourseError, match=r"checks.py: Forbid: .*torch.nn.functional.conv2dd"):
        load_assignment(tmp_path, "typo")


def test_a1_checks_load_and_forbid_the_convolution_family():
    a1 = load_assignment(ROOT, "a1_convolution")
    ops = set(a1.items["conv2d"].forbid.to_dict()["ops"])
    assert {"aten.convolution", "aten._convolution", "aten.mkldnn_convolution",
            "aten._slow_conv2d_forward"} <= ops
    assert not ops & {"aten.im2col", "aten.mm", "aten.bmm"}  # F.unfold and matmul are allowed


# -- the worker's guard for packages (in this process, on a stand-in package) ----------------------
@pytest.fixture()
def fake_package(monkeypatch):
    pkg = types.ModuleType("fakevision")
    layers = types.ModuleType("fakevision.layers")

    class Block(torch.nn.Module):
        def forward(self, x):
            return x

    Block.__module__, Block.__qualname__ = "fakevision.layers", "Block"
    layers.Block = Block
    pkg.layers = layers
    monkeypatch.setitem(sys.modules, "fakevision", pkg)
    monkeypatch.setitem(sys.modules, "fakevision.layers", layers)
    return Block


def test_a_forbidden_package_is_not_imported_built_or_called(fake_package):
    built_before = fake_package()
    forbidder = Forbidder({"net": {"packages": ["fakevision"]}})
    with forbidder.active("net"):
        with pytest.raises(ForbiddenCallError, match="net may not import fakevision"):
            import fakevision  # noqa: F401
        with pytest.raises(ForbiddenCallError, match="may not import fakevision.layers"):
            __import__("importlib").import_module("fakevision.layers")
        with pytest.raises(ForbiddenCallError, match="fakevision.layers.Block from fakevision"):
            fake_package()

        class Mine(fake_package):  # subclassing the library's answer is the library's answer
            pass

        with pytest.raises(ForbiddenCallError, match="fakevision.layers.Block"):
            Mine()
        with pytest.raises(ForbiddenCallError, match="fakevision.layers.Block"):
            built_before(torch.zeros(1))
        assert torch.nn.Linear(2, 2)(torch.zeros(2)).shape == (2,)  # torch.nn is fine
    import fakevision  # noqa: F401,F811 - outside the graded call, nothing is refused
    assert built_before(torch.ones(1)).item() == 1


def test_a_call_name_lost_at_load_time_fails_the_item_closed(monkeypatch):
    monkeypatch.setattr(torch.nn.init, "ones_", torch.nn.init.ones_)
    forbidder_spec = {"f": {"calls": ["torch.nn.init.ones_"]}}
    monkeypatch.delattr(torch.nn.init, "ones_")  # as a notebook could, before the guard is set
    forbidder = Forbidder(forbidder_spec)
    with forbidder.active("f"), pytest.raises(ForbiddenCallError, match="cannot be graded"):
        torch.zeros(2) + 1


# -- enforced while graded code runs (toy_forbid, in the sandboxed worker) -------------------------
def test_good_submission_scores_full_marks_and_is_not_held(toy_root):
    r = _grade(toy_root, GOOD)
    assert (r.status, r.score, r.max_score, r.review) == ("graded", 4, 4, [])


def test_every_function_of_a_wildcard_module_is_refused_at_run_time(toy_root):
    src = GOOD.replace("        w.fill_(1.0)", "        _helper(w)") + (
        "\n\ndef _helper(w):\n    return torch.nn.init.ones_(w)\n")
    checks = _items(_grade(toy_root, src, items=["fill_ones"]), "fill_ones")
    assert checks and not any(c.passed for c in checks)
    assert "fill_ones may not call torch.nn.init.ones_" in checks[0].message


def test_a_wildcard_is_flagged_statically(toy_root):
    src = GOOD.replace("        w.fill_(1.0)", "        torch.nn.init.ones_(w)")
    checks = _items(_grade(toy_root, src, items=["fill_ones"]), "fill_ones")
    assert not any(c.passed for c in checks)
    assert "uses a forbidden call: torch.nn.init.ones_ (cell 1, line 8)" in checks[0].message


@pytest.mark.parametrize("route, op", [
    ("torch._convolution(x, w, None, [1, 1], [0, 0], [1, 1], False, [0, 0], 1, False, False, "
     "True, True)", "aten._convolution"),
    ("torch.ops.aten.convolution_overrideable(x, w, None, [1, 1], [0, 0], [1, 1], False, "
     "[0, 0], 1)", "aten.convolution_overrideable"),
])
def test_a_forbidden_op_refuses_its_private_variants(toy_root, route, op):
    src = GOOD.replace("    cols = F.unfold(x, k)", f"    return {route}")
    checks = _items(_grade(toy_root, src, items=["conv"]), "conv")
    assert checks and not any(c.passed for c in checks)
    assert f"conv may not use {op}" in checks[0].message


ACT = "        self.act = torch.nn.ReLU()"
PACKAGE_ROUTES = {
    "an import inside the graded call": (
        ACT, "        self.act = _load_act()",
        "\n\ndef _load_act():\n    import torchvision\n    return torch.nn.ReLU()\n",
        "Mlp may not import torchvision"),
    "a package class built inside the graded call": (
        ACT, "        self.act = _make()",
        "\n\nimport torchvision\n\n\ndef _make():\n    return torchvision.ops.Permute([0, 1])\n",
        "Mlp may not use torchvision.ops.misc.Permute from torchvision"),
    "a package module built at load time, called by the graded code": (
        "        return self.act(self.fc(x))", "        return self.act(_Prebuilt.act(self.fc(x)))",
        "\n\nimport torchvision\n\n\nclass _Prebuilt:\n"
        "    act = torchvision.ops.Permute([0, 1])\n",
        "Mlp may not use torchvision.ops.misc.Permute from torchvision"),
}


@pytest.mark.parametrize("route", sorted(PACKAGE_ROUTES))
def test_a_forbidden_package_is_refused_at_run_time(toy_root, route):
    old, new, extra, message = PACKAGE_ROUTES[route]
    src = GOOD.replace(old, new) + extra
    checks = _items(_grade(toy_root, src, items=["Mlp"]), "Mlp")
    assert checks and not any(c.passed for c in checks)
    assert message in checks[0].message, checks[0].message


def test_a_forbidden_package_is_flagged_statically(toy_root):
    src = "from torchvision.ops import MLP\n" + GOOD.replace(
        "        self.fc = torch.nn.Linear(d_in, d_out)",
        "        self.fc = MLP(d_in, [d_out])")
    checks = _items(_grade(toy_root, src, items=["Mlp"]), "Mlp")
    assert not any(c.passed for c in checks)
    assert "Mlp uses a forbidden call: torchvision.ops.MLP (cell 1, line " in checks[0].message


def test_validate_shows_wildcards_and_packages(toy_root, tmp_path):
    forbidden = load_assignment(toy_root, "toy_forbid").student_metadata()["forbidden"]
    assert forbidden == {"fill_ones": ["torch.nn.init.*"],
                         "Mlp": ["torchvision", "torchvision.*"]}
    src = GOOD.replace("        w.fill_(1.0)", "        torch.nn.init.ones_(w)").replace(
        "        super().__init__()", "        super().__init__()\n        import torchvision")
    path = tmp_path / "toy_forbid.ipynb"
    path.write_text(json.dumps(make_notebook(src)))
    v = validate(path, ["fill_ones", "conv", "Mlp", "scale"], run_cells=False,
                 forbidden=forbidden)
    assert v.forbidden == [
        "fill_ones uses a forbidden call: torch.nn.init.ones_ (cell 1, line 8) (the grader "
        "gives its checks 0)",
        "Mlp uses a forbidden call: import torchvision (cell 1, line 23) (the grader gives its "
        "checks 0)"]
    assert not v.ok


# -- review: code that switches the guard off is scored, and held for the instructor ---------------
HONEST = '''
import math
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor
from torch.nn.modules.utils import _pair


def conv2d(x: Tensor, weight, bias=None, stride=1, padding=0):
    torch._assert(x.dim() == 4, "4-D input")
    sh, sw = _pair(stride)
    with torch.no_grad():
        pass
    cols = F.unfold(x, weight.shape[-2:], padding=padding, stride=(sh, sw))
    out = weight.flatten(1) @ cols
    return out if bias is None else out + bias[:, None]


class Block(nn.Module):
    def __init__(self, n, act="ReLU"):
        super().__init__()
        for i in range(2):
            setattr(self, f"fc{i}", nn.Linear(n, n))
        self.act = getattr(nn, act)()
        self.__dict__["note"] = type(self).__name__

    def forward(self, x):
        for i in range(2):
            x = getattr(self, f"fc{i}")(x)
        return self.act(x) * math.sqrt(2.0)


def unused_helper():
    import sys
    return sys.modules["torch"]
'''


def _honest_notebooks():
    yield "a1 solution", notebook_from_source(solution_source("a1_convolution"))
    examples = sorted((ROOT / "solutions" / "a1_convolution" / "examples").glob("*/*.ipynb")) \
        or sorted((ROOT / "tests" / "submissions" / "a1_convolution").glob("*/*.ipynb"))
    assert examples, "no example submissions of a1 found"
    for path in examples:
        yield path.parent.name, read_notebook(path)


def test_honest_notebooks_are_never_held_for_review():
    names = list(load_assignment(ROOT, "a1_convolution").items)
    for label, nb in _honest_notebooks():
        assert machinery_uses(extract(nb), names) == [], label
    assert machinery_uses(extract(notebook_from_source(HONEST)), ["conv2d", "Block"]) == []


MACHINERY = {
    "torch._C": ("def f(x):\n    with torch._C._DisableTorchDispatch():\n        return x",
                 "torch._C._DisableTorchDispatch"),
    "dispatch modes": ("from torch.utils._python_dispatch import _disable_current_modes as off"
                       "\n\ndef f(x):\n    with off():\n        return x",
                       "torch.utils._python_dispatch._disable_current_modes"),
    "ctypes": ("def f(x):\n    import ctypes\n    return x", "import ctypes"),
    "_thread": ("import _thread\n\ndef f(x):\n    _thread.start_new_thread(print, ())",
                "_thread.start_new_thread"),
    "sys.modules": ("import sys\n\ndef f(x):\n    return sys.modules['autograder'].x",
                    "sys.modules"),
    "gc": ("import gc\n\ndef f(x):\n    return gc.get_referrers(x)", "gc.get_referrers"),
    "string-built getattr": ("def f(x):\n    return getattr(torch, '_' + 'C')",
                             "getattr(torch, <a name built at run time>)"),
    "string-built import": ("import importlib\n\ndef f(x):\n"
                            "    return importlib.import_module('torch.' + '_ops')",
                            "importlib.import_module(<a name built at run time>)"),
    "__import__": ("def f(x):\n    return __import__('torch')", "__import__"),
    "frames": ("import sys\n\ndef f(x):\n    return sys._getframe(1).f_back", "sys._getframe"),
    "profiler": ("def f(x):\n    with torch.autograd.profiler.profile():\n        return x",
                 "torch.autograd.profiler.profile"),
    "module dict": ("def f(x, _c=F.__dict__['conv2d']):\n    return _c(x)",
                    "torch.nn.functional.__dict__"),
    "load-time class body": ("class _At:\n    import ctypes\n\ndef f(x):\n    return x",
                             "import ctypes"),
}


@pytest.mark.parametrize("case", sorted(MACHINERY))
def test_graded_code_that_reaches_private_machinery_is_found(case):
    body, what = MACHINERY[case]
    parsed = extract(notebook_from_source("import torch\nimport torch.nn.functional as F\n\n"
                                          + body + "\n"))
    found = machinery_uses(parsed, ["f"])
    assert any(what in f.what for f in found), found
    line = next(f for f in found if what in f.what)
    assert line.cell == 1 and line.source == body.splitlines()[line.line - 4].strip()


def test_a_bypassed_guard_is_scored_and_held_for_review(toy_root):
    src = replace_definition(GOOD, "conv", BYPASS_CONV)
    r = _grade(toy_root, src)
    assert (r.status, r.score, r.max_score) == ("review", 4, 4)
    imported, switched = _bypass_lines(src)
    assert [(f["cell"], f["line"], f["source"]) for f in r.review] == [
        (1, imported, "from torch.utils._python_dispatch import _disable_current_modes"),
        (1, switched, "with _disable_current_modes():")]
    assert f"cell 1, line {switched}: with _disable_current_modes():" in r.reason  # gradebook
    html = render_feedback(r, "Toy")
    assert "held for instructor review" in html and "4 / 4" in html
    assert "_disable_current_modes" not in html and "private" not in html


def _line(source: str, start: str) -> int:
    """The 1-based number of the first line of ``source`` that starts with ``start``."""
    return next(i for i, text in enumerate(source.splitlines(), 1) if text.startswith(start))


def _bypass_lines(source: str) -> tuple[int, int]:
    """Where BYPASS_CONV imports the switch, and where it turns the guard off."""
    return _line(source, "from torch.utils._python_dispatch"), _line(source, "    with _disable")


def _result(student, status, score, review=()):
    from autograder.results import SubmissionResult

    return SubmissionResult(student_id=student, assignment="toy_forbid", status=status,
                            score=score, max_score=4, reason="held for review: ..." if review
                            else "", review=list(review))


def test_the_report_lists_submissions_held_for_review_and_exports_keep_their_score(tmp_path):
    line = {"cell": 2, "line": 5, "source": "with _disable_current_modes():",
            "what": "torch.utils._python_dispatch._disable_current_modes"}
    results = [_result("alice", "graded", 4), _result("mallory", "review", 4, [line]),
               _result("oscar", "error", 0)]
    s = summarize(results)
    assert s["review"] == [{"student_id": "mallory", "score": 4, "max_score": 4,
                            "lines": [line]}]
    assert [r["student_id"] for r in s["not_graded"]] == ["oscar"]
    rows = list(csv.reader(canvas_csv(results, "Toy", tmp_path / "c.csv").open()))
    assert ["mallory", "", "", "mallory", "", "4"] in rows
    gs = gradescope_results(results[1])
    assert gs["score"] == 4 and "held for instructor review" in gs["output"]
    assert "_disable_current_modes" not in json.dumps(gs)


@pytest.mark.slow
def test_grade_prints_and_reports_the_submissions_held_for_review(toy_root, tmp_path):
    subs = write_submissions(tmp_path / "subs", "toy_forbid", {
        "alice": make_notebook(GOOD),
        "mallory": make_notebook(replace_definition(GOOD, "conv", BYPASS_CONV)),  # one cell
    })
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "autograder.cli", "grade", "toy_forbid", str(subs),
                        "--out", str(out), "--course", str(toy_root)], capture_output=True,
                       text=True, cwd=ROOT, timeout=600)
    assert r.returncode == 0, r.stderr
    src = replace_definition(GOOD, "conv", BYPASS_CONV)
    imported, switched = _bypass_lines(src)
    assert (f"held for review: mallory: cell 1, line {imported}: from torch.utils._python_dispatch"
            f" import _disable_current_modes; cell 1, line {switched}: with "
            "_disable_current_modes():") in r.stderr
    rows = {row["student_id"]: row for row in csv.DictReader((out / "grades.csv").open())}
    assert (rows["mallory"]["status"], rows["mallory"]["score"]) == ("review", "4")
    assert (rows["alice"]["status"], rows["alice"]["score"]) == ("graded", "4")
    assert "_disable_current_modes" not in (out / "feedback" / "mallory.html").read_text()
    r = subprocess.run([sys.executable, "-m", "autograder.cli", "report", str(out)],
                       capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert r.returncode == 0, r.stderr
    report = (out / "report" / "index.html").read_text()
    assert "Held for review" in report and "with _disable_current_modes():" in report


# -- a1_convolution ------------------------------------------------------------------------------
SIG_CONV = "def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):"


@pytest.mark.slow
def test_a1_conv2d_through_torch_convolution_scores_nothing():
    wrong = SIG_CONV + '''
    return torch._convolution(x, weight, bias, _pair(stride), _pair(padding), _pair(dilation),
                              False, [0, 0], groups, False, False, True, True)
'''
    src = replace_definition(solution_source("a1_convolution"), "conv2d", wrong)
    checks = _items(grade_source("a1_convolution", src, items=["conv2d"]), "conv2d")
    assert checks and not any(c.passed for c in checks)
    assert "conv2d may not use aten._convolution" in checks[0].message


@pytest.mark.slow
def test_a1_conv2d_with_the_guard_switched_off_is_held_for_review():
    bypass = f'''from torch.utils._python_dispatch import _disable_current_modes

_conv2d = F.conv2d


{SIG_CONV}
    with _disable_current_modes():
        return _conv2d(x, weight, bias, stride, padding, dilation, groups)
'''
    src = replace_definition(solution_source("a1_convolution"), "conv2d", bypass)
    r = grade_source("a1_convolution", src, items=["conv2d"])
    checks = _items(r, "conv2d")
    assert r.status == "review"
    assert sum(c.points for c in checks) == sum(c.max_points for c in checks) == 9  # score kept
    quoted = [(f["line"], f["source"]) for f in r.review]
    assert any(s == "with _disable_current_modes():" for _, s in quoted), quoted
    line = src.splitlines().index("    with _disable_current_modes():") + 1
    assert (line, "with _disable_current_modes():") in quoted
    assert "_disable_current_modes" not in render_feedback(r)

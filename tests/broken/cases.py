"""Broken submissions of a1_convolution: what students really hand in.

``cases()`` returns name -> ``Case``: the file content (a notebook, raw bytes, or None for a
student folder without the notebook) and what its row must say: the status, a text its reason must
contain, items that score nothing or full marks, and texts the messages of an item must contain.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field

import nbformat

from tests.grading_helpers import build_notebook, solution_notebook

ITEMS = ("conv_output_size", "conv2d_naive", "conv2d", "max_pool2d", "avg_pool2d",
         "Conv2dFunction", "receptive_field")


@dataclass
class Case:
    content: object  # NotebookNode, bytes, or None (no notebook in the student's folder)
    status: str
    reason: str = ""  # a text the gradebook's reason must contain ("" : no requirement)
    zero: tuple[str, ...] = ()
    full: tuple[str, ...] = ()
    partial: tuple[str, ...] = ()  # items that get some but not all of their points
    message: dict[str, str] = field(default_factory=dict)
    notes: str = ""  # a text one of the result's notes must contain
    file_name: str = "a1_convolution.ipynb"


def others(*items: str) -> tuple[str, ...]:
    return tuple(i for i in ITEMS if i not in items)


def _cell_index(nb, name: str) -> int:
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and cell.source.lstrip().startswith(
                (f"def {name}(", f"class {name}(")):
            return i
    raise KeyError(name)


def _syntax_error_in_one_cell():
    nb = solution_notebook()
    i = _cell_index(nb, "max_pool2d")
    nb.cells[i].source = nb.cells[i].source.replace("    kh, kw = _pair(kernel_size)",
                                                    "    kh, kw = _pair(kernel_size", 1)
    return nb


def _markdown_turned_code():
    nb = solution_notebook()
    for cell in nb.cells:
        if cell.cell_type == "markdown" and "## 4. Pooling" in cell.source:
            cell.cell_type = "code"
            cell.outputs, cell.execution_count = [], None
            break
    return nb


def _import_error_cell():
    nb = solution_notebook()
    nb.cells.insert(2, nbformat.v4.new_code_cell("import seaborn_not_installed as sns\n"))
    return nb


def _duplicated_ids() -> bytes:
    """Every cell with the same id (written by hand: nbformat.write would fix the ids)."""
    nb = solution_notebook()
    for cell in nb.cells:
        cell.id = "same-id"
    return json.dumps(nb).encode()


def _huge_outputs(megabytes: int):
    nb = solution_notebook()
    image = base64.b64encode(b"\x89PNG" + b"\0" * ((megabytes << 20) * 3 // 4)).decode()
    cell = nb.cells[_cell_index(nb, "conv2d")]
    cell.outputs = [nbformat.v4.new_output("display_data", data={"image/png": image}),
                    nbformat.v4.new_output("stream", name="stdout", text="x" * (1 << 20))]
    return nb


def _old_format(version: int) -> bytes:
    nb = nbformat.convert(solution_notebook(), version)
    return nbformat.writes(nb, version=version).encode()


def _magics():
    nb = solution_notebook()
    nb.cells.insert(2, nbformat.v4.new_code_cell(
        "%matplotlib inline\n!pip install --quiet nothing-at-all\n%load_ext autoreload\n"))
    nb.cells.append(nbformat.v4.new_code_cell("%%time\nconv2d(torch.randn(1, 1, 5, 5), "
                                              "torch.randn(1, 1, 3, 3)).shape\n"))
    return nb


def _only_markdown():
    nb = solution_notebook()
    nb.cells = [c for c in nb.cells if c.cell_type == "markdown"]
    return nb


def _empty_notebook():
    return nbformat.v4.new_notebook()


WRONG_SIZE = '''def conv_output_size(size, kernel_size, stride=1, padding=0, dilation=1):
    return (size - kernel_size) // stride + 1
'''
RENAMED_FIELD = '''def receptive_fields(layers):
    field, jump = 1, 1
    for kernel_size, stride in layers:
        field += (kernel_size - 1) * jump
        jump *= stride
    return field
'''
MAX_POOL_FLOAT32 = '''def max_pool2d(x, kernel_size, stride=None, padding=0):
    kh, kw = _pair(kernel_size)
    sh, sw = _pair(kernel_size if stride is None else stride)
    ph, pw = _pair(padding)
    x = F.pad(x, (pw, pw, ph, ph), value=-math.inf)
    return x.unfold(2, kh, sh).unfold(3, kw, sw).amax(dim=(-2, -1)).float()
'''
SIG_AVG = "def avg_pool2d(x, kernel_size, stride=None, padding=0):"
AVG_NUMPY = f"{SIG_AVG}\n    return x.numpy()\n"
AVG_META = f"{SIG_AVG}\n    return torch.zeros(2, device='meta')\n"
AVG_NAN = f'''{SIG_AVG}
    kh, kw = _pair(kernel_size)
    sh, sw = _pair(kernel_size if stride is None else stride)
    ph, pw = _pair(padding)
    x = F.pad(x, (pw, pw, ph, ph))
    out = x.unfold(2, kh, sh).unfold(3, kw, sw).mean(dim=(-2, -1))
    out[..., 0, 0] = float("nan")
    return out
'''
FIELD_NAN = "def receptive_field(layers):\n    return float('nan')\n"
RIGHT_SIZE = '''def conv_output_size(size, kernel_size, stride=1, padding=0, dilation=1):
    return (size + 2 * padding - dilation * (kernel_size - 1) - 1) // stride + 1
'''


def cases() -> dict[str, Case]:
    sol = solution_notebook
    return {
        # -- not a notebook ----------------------------------------------------------------------
        "invalid_json": Case(b'{"cells": [{"cell_type": "code", "source": "def f(', "invalid",
                             reason="not valid JSON"),
        "empty_file": Case(b"", "invalid", reason="not valid JSON"),
        "binary_garbage": Case(bytes(range(256)) * 4, "invalid", reason="not valid JSON"),
        "not_utf8": Case('{"cells": [], "x": "caf\u00e9"}'.encode("latin-1"), "invalid",
                         reason="not valid JSON"),
        "json_not_notebook": Case(b"[1, 2, 3]", "invalid", reason="not a Jupyter notebook"),
        "cells_not_a_list": Case(json.dumps({"cells": {"a": 1}, "metadata": {}, "nbformat": 4,
                                             "nbformat_minor": 5}).encode(), "invalid",
                                 reason="its cells are not a list"),
        "too_large": Case(json.dumps({"cells": [], "metadata": {"junk": "x" * (65 << 20)},
                                      "nbformat": 4, "nbformat_minor": 5}).encode(), "invalid",
                          reason="64 MB"),
        "no_notebook": Case(None, "missing", reason="no a1_convolution.ipynb"),
        # -- old formats, odd structure -----------------------------------------------------------
        "old_nbformat_v3": Case(_old_format(3), "graded", full=ITEMS),
        "old_nbformat_v2": Case(_old_format(2), "graded", full=ITEMS),
        "duplicated_cell_ids": Case(_duplicated_ids(), "graded", full=ITEMS),
        "huge_outputs": Case(_huge_outputs(24), "graded", full=ITEMS),
        "magics_and_shell": Case(_magics(), "graded", full=ITEMS),
        "other_file_name": Case(sol(), "graded", full=ITEMS, reason="graded my_a1.ipynb",
                                file_name="my_a1.ipynb"),
        # -- nothing, or not everything, defined -----------------------------------------------
        "empty_notebook": Case(_empty_notebook(), "graded", zero=ITEMS,
                               reason="not defined: conv_output_size",
                               message={"conv2d": "conv2d is not defined in your notebook"}),
        "only_markdown": Case(_only_markdown(), "graded", zero=ITEMS, reason="not defined"),
        "missing_names": Case(build_notebook({"max_pool2d": "", "avg_pool2d": ""}), "graded",
                              zero=("max_pool2d", "avg_pool2d"),
                              full=others("max_pool2d", "avg_pool2d"),
                              reason="not defined: max_pool2d, avg_pool2d",
                              message={"max_pool2d": "max_pool2d is not defined"}),
        "renamed_name": Case(build_notebook({"receptive_field": RENAMED_FIELD}), "graded",
                             zero=("receptive_field",), full=others("receptive_field"),
                             reason="not defined: receptive_field",
                             message={"receptive_field": "check the spelling"}),
        # -- code that does not run ------------------------------------------------------------
        "syntax_error_in_one_cell": Case(_syntax_error_in_one_cell(), "graded",
                                         zero=("max_pool2d",), full=others("max_pool2d"),
                                         reason="syntax error",
                                         message={"max_pool2d": "syntax error"}),
        "markdown_turned_code": Case(_markdown_turned_code(), "graded", full=ITEMS,
                                     notes="syntax error"),
        "import_error_cell": Case(_import_error_cell(), "graded", full=ITEMS,
                                  reason="ModuleNotFoundError",
                                  notes="No module named 'seaborn_not_installed'"),
        "exception_at_import": Case(
            build_notebook({"Conv2dFunction": "class Conv2dFunction(torch.autograd.Function):\n"
                                              "    scale = 1 / 0\n"}),
            "graded", zero=("Conv2dFunction",), full=others("Conv2dFunction"),
            reason="ZeroDivisionError",
            message={"Conv2dFunction": "could not be defined when your notebook was loaded"}),
        # -- wrong kinds of results ----------------------------------------------------------------
        "numpy_returned": Case(build_notebook({"avg_pool2d": AVG_NUMPY}), "graded",
                               zero=("avg_pool2d",), full=others("avg_pool2d"),
                               message={"avg_pool2d": "should be a torch.Tensor, got an object "
                                                      "of type numpy"}),
        "wrong_dtype": Case(build_notebook({"max_pool2d": MAX_POOL_FLOAT32}), "graded",
                            partial=("max_pool2d",), full=others("max_pool2d"),
                            message={"max_pool2d": "has dtype float32, expected float64"}),
        "wrong_device": Case(build_notebook({"avg_pool2d": AVG_META}), "graded",
                             zero=("avg_pool2d",), full=others("avg_pool2d"),
                             message={"avg_pool2d": "meta"}),
        "nans": Case(build_notebook({"receptive_field": FIELD_NAN, "avg_pool2d": AVG_NAN}),
                     "graded", zero=("receptive_field", "avg_pool2d"),
                     full=others("receptive_field", "avg_pool2d"),
                     message={"avg_pool2d": "NaN value(s)", "receptive_field": "should be an int"}),
        # -- the last definition wins -----------------------------------------------------------
        "defined_twice_right_last": Case(build_notebook({"conv_output_size": WRONG_SIZE},
                                                        extra=RIGHT_SIZE), "graded", full=ITEMS),
        "defined_twice_wrong_last": Case(build_notebook(extra=WRONG_SIZE), "graded",
                                         zero=("conv_output_size",),
                                         full=("max_pool2d", "avg_pool2d", "receptive_field")),
    }

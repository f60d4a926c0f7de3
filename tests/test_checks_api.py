"""The checks API for modules, optimizers and remote objects, on the toy_models assignment: each
test fails without the feature it names."""

from __future__ import annotations

import pytest
import torch

from autograder.checks.context import CheckContext
from autograder.checks.errors import CheckFailed
from autograder.sandbox import SANDBOX_UID_BASE, Limits
from autograder.testing import grade_source

GOOD = '''
import numpy as np
import torch
from torch import nn

class Net(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.fc = nn.Linear(n, n)
        self.act = nn.ReLU()
        self.register_buffer("cache", torch.zeros(n), persistent=False)

    def forward(self, x, scale=None):
        y = self.act(self.fc(x))
        return y if scale is None else y * scale

class SGD(torch.optim.Optimizer):
    def __init__(self, params, lr, momentum=0.0):
        super().__init__(params, dict(lr=lr, momentum=momentum))

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                d = p.grad
                if group["momentum"]:
                    buf = self.state[p].get("momentum_buffer")
                    buf = d.clone() if buf is None else buf.mul_(group["momentum"]).add_(d)
                    self.state[p]["momentum_buffer"] = buf
                    d = buf
                p.add_(d, alpha=-group["lr"])

def fill_(x, v):
    with torch.no_grad():
        return x.fill_(v)

def pair_sum(xs, scale):
    return (xs[0] + xs[1]) * scale, None

def stats(x):
    return {"mean": x.mean(0), "count": torch.tensor(x.shape[0])}

def count(n):
    return n + 1

class Big(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(n, dtype=torch.float64))

def twice(x):
    return 2 * x

def blob(n):
    return torch.zeros(n)

def count_params(model):
    return sum(p.numel() for p in model.parameters())

def ones(n):
    return torch.ones(n)
'''


def _grade(root, source=GOOD, items=None, limits=None):
    return grade_source("toy_models", source, root=root, items=items, limits=limits)


def _checks(result, item):
    return [c for c in result.checks if c.item == item]


def _swap(old: str, new: str) -> str:
    assert old in GOOD
    return GOOD.replace(old, new)


@pytest.fixture(scope="module")
def good(toy_root):
    return _grade(toy_root, items=["Net", "SGD", "fill_", "pair_sum", "stats", "count", "twice",
                                   "count_params", "ones"])


def test_solution_passes_every_check(good):
    failed = [(c.key, c.message, c.internal) for c in good.checks if not c.passed]
    assert not failed


# -- 1. the own-code rule ---------------------------------------------------------------------
def test_subclass_of_the_library_answer_is_refused(toy_root):
    src = _swap("class SGD(torch.optim.Optimizer):", "class SGD(torch.optim.SGD):")
    checks = _checks(_grade(toy_root, src, items=["SGD"]), "SGD")
    assert checks and not any(c.passed for c in checks)
    assert "SGD subclasses torch.optim.sgd.SGD, a library class" in checks[0].message


def test_library_class_under_the_graded_name_is_refused(toy_root):
    src = GOOD + "\nSGD = torch.optim.SGD\n"
    checks = _checks(_grade(toy_root, src, items=["SGD"]), "SGD")
    assert "SGD is torch.optim.sgd.SGD, not a class defined in your notebook" in checks[0].message


def test_library_submodule_is_refused_with_its_path(toy_root):
    src = _swap("self.fc = nn.Linear(n, n)",
                "import torchvision\n        self.fc = torchvision.ops.MLP(n, [n])")
    checks = _checks(_grade(toy_root, src, items=["Net"]), "Net")
    assert not any(c.passed for c in checks)
    assert "Net(...).fc is a torchvision.ops.misc.MLP" in checks[0].message


def test_torch_module_outside_the_building_blocks_is_refused(toy_root):
    src = _swap("self.act = nn.ReLU()", "self.act = nn.Bilinear(n, n, n)")
    checks = _checks(_grade(toy_root, src, items=["Net"]), "Net")
    assert "Net(...).act is a torch.nn.modules.linear.Bilinear" in checks[0].message


def test_describe_reports_origins(toy_root):
    seen = {}

    def check(t):
        m = t.build(t.student.Net, 3)
        seen.update(t.describe(m))

    _run_inline(toy_root, check)
    assert seen["origin"]["notebook"] and seen["origin"]["qualname"] == "Net"
    assert seen["tree"]["fc"] == {"module": "torch.nn.modules.linear", "qualname": "Linear",
                                  "notebook": False,
                                  "bases": [{"module": "torch.nn.modules.module",
                                             "qualname": "Module", "notebook": False}]}


# -- 4. handles are released ------------------------------------------------------------------
def test_remote_modules_are_released_when_a_check_ends(toy_root):
    # Each build holds 160 MB (float32) after a 320 MB float64 construction: five builds in one
    # check and one in each of two more checks stay under 1 GB only if handles are released.
    limits = Limits(uid=SANDBOX_UID_BASE, memory_bytes=1000 << 20)
    checks = _checks(_grade(toy_root, items=["Big"], limits=limits), "Big")
    assert [c.passed for c in checks] == [True, True, True], [c.message for c in checks]


# -- 5. remote tensors, identity, attributes and indices ----------------------------------------
def test_in_place_and_identity(good, toy_root):
    assert all(c.passed for c in _checks(good, "fill_"))
    copy = _swap("return x.fill_(v)", "return x.clone().fill_(v)")
    checks = _checks(_grade(toy_root, copy, items=["fill_"]), "fill_")
    assert "fill_ should return the tensor it was given" in checks[0].message
    not_in_place = _swap("return x.fill_(v)", "x = x.clone()\n        return x.fill_(v)")
    checks = _checks(_grade(toy_root, not_in_place, items=["fill_"]), "fill_")
    assert not any(c.passed for c in checks)


# -- 6. optimizers ----------------------------------------------------------------------------
def test_optimizer_divergence_names_step_and_parameter(toy_root):
    src = _swap("buf = d.clone() if buf is None else buf.mul_(group[\"momentum\"]).add_(d)",
                "buf = d.clone() if buf is None else buf.mul_(group[\"momentum\"]).add_(2 * d)")
    checks = _checks(_grade(toy_root, src, items=["SGD"]), "SGD")
    assert not any(c.passed for c in checks)
    assert checks[0].message.startswith("after step 2 of 6, compared with torch.optim.SGD: ")
    assert "parameter 2 (group 1, shape (4,))" in checks[0].message


def test_optimizer_must_skip_parameters_without_grad(toy_root):
    src = _swap("if p.grad is None:\n                    continue\n", "")
    checks = _checks(_grade(toy_root, src, items=["SGD"]), "SGD")
    assert not any(c.passed for c in checks)


# -- 7. gradients -----------------------------------------------------------------------------
def test_gradients_are_zeroed_and_reach_kwargs_and_lists(good, toy_root):
    assert all(c.passed for c in _checks(good, "Net") + _checks(good, "pair_sum"))
    src = _swap("return (xs[0] + xs[1]) * scale, None",
                "return (xs[0] + xs[1]) * scale.detach(), None")
    checks = _checks(_grade(toy_root, src, items=["pair_sum"]), "pair_sum")
    assert "gradient of scale" in checks[0].message


# -- 8. time limits count the student's time only -----------------------------------------------
def test_check_timeout_excludes_the_graders_own_time(good):
    twice = _checks(good, "twice")
    assert all(c.passed for c in twice), [c.message for c in twice]
    assert all(c.duration_s > 1.5 for c in twice)


# -- 9. size limits: the check's fault or the student's -----------------------------------------
def test_oversized_messages_are_blamed_correctly(toy_root):
    limits = Limits(uid=SANDBOX_UID_BASE, max_payload=1 << 20)
    result = _grade(toy_root, items=["blob"], limits=limits)
    student, check = _checks(result, "blob")
    assert "blob(n=300000) returned 1.1 MB of data, more than the 1.0 MB" in student.message
    assert student.internal is None
    assert "internal error" in check.message and "more than" not in check.message
    assert "request whose payload of 1.1 MB exceeds the limit of 1.0 MB" in check.internal
    assert result.status == "graded"


# -- 10, 11. assertions -----------------------------------------------------------------------
def test_dict_entries_compare_in_their_own_dtype(good, toy_root):
    assert all(c.passed for c in _checks(good, "stats"))
    src = _swap('"count": torch.tensor(x.shape[0])', '"count": torch.tensor(float(x.shape[0]))')
    checks = _checks(_grade(toy_root, src, items=["stats"]), "stats")
    assert "output['count'] has dtype float32, expected int64" in checks[0].message


def test_numpy_scalars_come_back_as_numbers(toy_root):
    src = _swap("return n + 1", "return np.int64(n + 1)")
    c = _checks(_grade(toy_root, src, items=["count"]), "count")[0]
    assert "got a numpy int64 (5): return a plain Python int" in c.message


def test_device_is_recorded_by_storage_and_tolerance_override():
    ctx = CheckContext(link=None, dtype=torch.float32, device="cuda", seed=0, timeout=1.0)
    got = ctx._decode({"__tensor__": "t0", "device": "cuda:0"}, {"t0": torch.ones(4)})
    assert ctx.device_of(got[1:]) == "cuda:0" and ctx.device_of(got.view(2, 2)) == "cuda:0"
    ctx.assert_close(got[1:], torch.ones(3, dtype=torch.float64))
    with pytest.raises(CheckFailed, match="is on cpu, expected cuda"):
        ctx.assert_close(torch.ones(3), torch.ones(3, dtype=torch.float64))
    ctx.assert_close(got, torch.full((4,), 1.05, dtype=torch.float64), atol=0.1)
    with pytest.raises(CheckFailed, match=r"allowed 1e-06"):
        ctx.assert_close(got, torch.full((4,), 1.05, dtype=torch.float64))
    with pytest.raises(CheckFailed, match="is on cpu"):
        ctx.assert_equal(torch.ones(3, dtype=torch.int64), torch.ones(3, dtype=torch.int64))


def test_default_dtype_for_one_call(good, toy_root):
    assert all(c.passed for c in _checks(good, "ones"))
    src = _swap("return torch.ones(n)", "return torch.ones(n).float()")
    c = _checks(_grade(toy_root, src, items=["ones"]), "ones")[0]
    assert "has dtype float32, expected float64" in c.message


def test_device_check_can_be_skipped_for_derived_tensors():
    ctx = CheckContext(link=None, dtype=torch.float32, device="cuda", seed=0, timeout=1.0)
    got = ctx._decode({"__tensor__": "t0", "device": "cuda:0"}, {"t0": torch.ones(4)})
    with pytest.raises(CheckFailed, match="is on cpu"):
        ctx.assert_close(got.sum(0, keepdim=True), torch.full((1,), 4.0, dtype=torch.float64))
    ctx.assert_close(got.sum(0, keepdim=True), torch.full((1,), 4.0, dtype=torch.float64),
                     check_device=False)


def test_state_dict_keys_are_persistent_only(good):
    # Net registers a non-persistent buffer: not in state_dict(), so not "unexpected"
    assert all(c.passed for c in _checks(good, "Net"))


def test_state_dict_mismatch_names_the_first_key(toy_root):
    src = _swap("self.fc = nn.Linear(n, n)", "self.lin = nn.Linear(n, n)").replace(
        "self.fc(x)", "self.lin(x)")
    c = _checks(_grade(toy_root, src, items=["Net"]), "Net")[0]
    assert "first missing key 'fc.weight'" in c.message and "unexpected ['lin.weight'" in c.message


# -- 12. seeded builds and library objects ------------------------------------------------------
def test_build_seeds_initialization(good):
    init = [c for c in good.checks if c.check == "net_init_is_seeded"]
    assert init and all(c.passed for c in init)


def test_lib_reaches_torchvision_loaded_before_the_student(good):
    assert all(c.passed for c in _checks(good, "count_params"))


def test_lib_refuses_a_library_not_declared(toy_root):
    def check(t):
        t.lib("timm.create_model")("resnet18")

    r = _run_inline(toy_root, check)
    assert "declare it in Assignment(worker_libraries=['timm'])" in r.checks[0].internal


# -- helpers ----------------------------------------------------------------------------------
def _run_inline(root, func):
    """Grade GOOD with one extra check ``func`` (on item Net) and no other."""
    from autograder.course import load_assignment

    assignment = load_assignment(root, "toy_models")
    saved = list(assignment.checks)
    try:
        assignment.checks[:] = []
        assignment.check("Net", points=1, dtypes=None, name="inline")(func)
        return _grade(root, items=["Net"])
    finally:
        assignment.checks[:] = saved

"""a2_training's solution against the libraries it reimplements, in this process and in float64:
batch normalization against F.batch_norm and nn.BatchNorm2d, layer normalization against
F.layer_norm, the initializers against nn.init, SGD and Adam against torch.optim, LeNet-5's
parameter count. The hidden checks compare students with these same libraries; these tests prove
the reference solution the release is made from, and the notebook's own test cells, agree."""

from __future__ import annotations

import math
from pathlib import Path

import nbformat
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from autograder.testing import solution_definitions

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "solutions" / "a2_training" / "a2_training.ipynb"
DT = torch.float64


@pytest.fixture(scope="module")
def nb():
    return nbformat.read(NOTEBOOK, as_version=4)


@pytest.fixture(scope="module")
def sol():
    """The solution's definitions, as the grader loads them."""
    return solution_definitions("a2_training")


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def _batch(n, c, h, w):
    return 3 * torch.randn(1, c, 1, 1, dtype=DT) + (0.5 + 2 * torch.rand(1, c, 1, 1, dtype=DT)) \
        * torch.randn(n, c, h, w, dtype=DT)


def test_batch_norm2d_matches_f_batch_norm_and_updates_statistics_in_place(sol):
    c = 3
    mine_mean, mine_var = torch.randn(c, dtype=DT), 0.5 + torch.rand(c, dtype=DT)
    ref_mean, ref_var = mine_mean.clone(), mine_var.clone()
    for training, momentum, shape in [(True, 0.1, (4, c, 5, 6)), (True, 0.4, (2, c, 3, 1)),
                                      (False, 0.1, (3, c, 4, 4))]:
        x = _batch(*shape).requires_grad_()
        gamma = (0.5 + torch.rand(c, dtype=DT)).requires_grad_()
        beta = torch.randn(c, dtype=DT, requires_grad=True)
        g = torch.randn(shape, dtype=DT)
        out = sol["batch_norm2d"](x, gamma, beta, mine_mean, mine_var, training, momentum)
        ref = F.batch_norm(x, ref_mean, ref_var, gamma, beta, training, momentum)
        torch.testing.assert_close(out, ref)
        torch.testing.assert_close(mine_mean, ref_mean)
        torch.testing.assert_close(mine_var, ref_var)
        for a, b in zip(torch.autograd.grad(out, (x, gamma, beta), g),
                        torch.autograd.grad(ref, (x, gamma, beta), g)):
            torch.testing.assert_close(a, b)
    x = _batch(2, c, 3, 3)
    torch.testing.assert_close(sol["batch_norm2d"](x, None, None, mine_mean, mine_var, False),
                               F.batch_norm(x, ref_mean, ref_var, None, None, False))


@pytest.mark.parametrize("kwargs", [{}, {"momentum": 0.3, "eps": 1e-3}])
def test_batch_norm_module_equals_nn_batchnorm2d_in_both_modes(sol, kwargs):
    mine = sol["BatchNorm2d"](4, **kwargs).double()
    ref = nn.BatchNorm2d(4, **kwargs).double()
    with torch.no_grad():
        ref.weight.uniform_(0.5, 1.5)
        ref.bias.uniform_(-1, 1)
    mine.load_state_dict(ref.state_dict())  # strict: the same names
    for n, h, w in [(4, 5, 6), (2, 3, 3), (8, 2, 5), (3, 7, 4)]:
        x = _batch(n, 4, h, w)
        torch.testing.assert_close(mine(x), ref(x))
    torch.testing.assert_close(mine.state_dict(), ref.state_dict())
    assert int(mine.num_batches_tracked) == 4
    mine.eval()
    ref.eval()
    x = _batch(2, 4, 5, 3).requires_grad_()
    out, want = mine(x), ref(x)
    torch.testing.assert_close(out, want)
    g = torch.randn_like(out)
    torch.testing.assert_close(torch.autograd.grad(out, [x, mine.weight, mine.bias], g),
                               torch.autograd.grad(want, [x, ref.weight, ref.bias], g))
    torch.testing.assert_close(mine.state_dict(), ref.state_dict())  # eval changed nothing


@pytest.mark.parametrize("shape,dims", [((2, 5, 8), 1), ((3, 4, 6), 2), ((2, 3, 4, 5), 3)])
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_equals_f_layer_norm(sol, shape, dims, affine):
    normalized = shape[-dims:]
    x = (2 + 3 * torch.randn(shape, dtype=DT)).requires_grad_()
    w = (0.5 + torch.rand(normalized, dtype=DT)).requires_grad_() if affine else None
    b = torch.randn(normalized, dtype=DT, requires_grad=True) if affine else None
    arg = normalized[0] if dims == 1 else normalized
    out, ref = sol["layer_norm"](x, arg, w, b), F.layer_norm(x, normalized, w, b)
    torch.testing.assert_close(out, ref)
    inputs = [x] + ([w, b] if affine else [])
    g = torch.randn(shape, dtype=DT)
    torch.testing.assert_close(torch.autograd.grad(out, inputs, g),
                               torch.autograd.grad(ref, inputs, g))


@pytest.mark.parametrize("shape", [(400, 300), (64, 32, 3, 3), (96, 48, 5)])
def test_initializers_match_nn_init(sol, shape):
    """The same draws as nn.init's (both fill with normal_(0, std)), and the std of the lecture."""
    cases = [("xavier_normal_", {"gain": g}) for g in (1.0, 5 / 3)] + [
        ("kaiming_normal_", {"nonlinearity": n}) for n in ("linear", "sigmoid", "tanh", "relu")]
    for name, kwargs in cases:
        torch.manual_seed(1)
        mine = torch.empty(shape, dtype=DT)
        assert sol[name](mine, **kwargs) is mine
        torch.manual_seed(1)
        ref = getattr(nn.init, name)(torch.empty(shape, dtype=DT), **kwargs)
        torch.testing.assert_close(mine, ref, rtol=1e-12, atol=0)
    fan_in = shape[1] * math.prod(shape[2:])
    w = sol["kaiming_normal_"](torch.empty(shape, dtype=DT))
    assert abs(w.std().item() / math.sqrt(2 / fan_in) - 1) < 0.03
    weight = nn.Parameter(torch.zeros(shape))
    assert sol["xavier_normal_"](weight) is weight and weight.std() > 0  # a Parameter, in place
    for name in ("xavier_normal_", "kaiming_normal_"):
        with pytest.raises(ValueError):
            sol[name](torch.empty(7))


def _trajectory(cls, groups, steps, defaults, has_grad):
    torch.manual_seed(2)
    shapes = [s for g in groups for s in g["shapes"]]
    params = [torch.randn(s, dtype=DT, requires_grad=True) for s in shapes]
    grads = [[torch.randn(s, dtype=DT) for s in shapes] for _ in range(steps)]
    it = iter(params)
    opt = cls([{**{k: v for k, v in g.items() if k != "shapes"},
                "params": [next(it) for _ in g["shapes"]]} for g in groups], **defaults)
    for step in range(steps):
        opt.zero_grad()
        for i, p in enumerate(params):
            if has_grad(step, i):
                p.grad = grads[step][i].clone()
        opt.step()
    return [p.detach() for p in params]


OPTIMIZER_CASES = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.05, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "weight_decay": 0.1}),
    ("Adam", {}),
    ("Adam", {"lr": 0.02}),
    ("Adam", {"lr": 0.05, "betas": (0.8, 0.99), "eps": 0.1}),
]


@pytest.mark.parametrize("name,defaults", OPTIMIZER_CASES)
def test_optimizer_trajectories_equal_torch_optim(sol, name, defaults):
    """Two groups (the second with its own options), a parameter that never gets a gradient and
    one that gets it every other step, over 30 steps."""
    second = {"lr": 0.01, "momentum": 0.5, "weight_decay": 0.0} if name == "SGD" else {
        "lr": 0.005, "betas": (0.7, 0.9)}
    groups = [{"shapes": [(4, 3), (3,), (2,)]}, {"shapes": [(5,), (2, 2)], **second}]
    has_grad = lambda step, i: i != 2 and (i != 3 or step % 2 == 1)  # noqa: E731
    mine = _trajectory(sol[name], groups, 30, defaults, has_grad)
    ref = _trajectory(getattr(torch.optim, name), groups, 30, defaults, has_grad)
    torch.testing.assert_close(mine, ref)


@pytest.mark.parametrize("name,defaults", [("SGD", {"lr": 0.05, "momentum": 0.9}),
                                           ("Adam", {"lr": 0.05})])
def test_optimizer_state_dict_resumes_training(sol, name, defaults):
    torch.manual_seed(3)
    start = [torch.randn(4, 3, dtype=DT), torch.randn(3, dtype=DT)]
    grads = [[torch.randn_like(p) for p in start] for _ in range(8)]
    results = []
    for cls, resume in [(sol[name], True), (getattr(torch.optim, name), False)]:
        params = [p.clone().requires_grad_() for p in start]
        opt = cls(params, **defaults)
        for step in range(8):
            if resume and step == 4:
                saved = opt.state_dict()
                opt = cls(params, **defaults)
                opt.load_state_dict(saved)
            for p, g in zip(params, grads[step]):
                p.grad = g.clone()
            opt.step()
        results.append([p.detach() for p in params])
    torch.testing.assert_close(*results)


def test_lenet5_parameters_names_and_logits(sol):
    model = sol["LeNet5"]()
    assert sum(p.numel() for p in model.parameters()) == 61_706
    assert sum(p.numel() for p in sol["LeNet5"](num_classes=3).parameters()) == 61_111
    reference = nn.Sequential()  # the reference's names, built independently
    for name, layer in [("conv1", nn.Conv2d(1, 6, 5)), ("pool1", nn.MaxPool2d(2)),
                        ("conv2", nn.Conv2d(6, 16, 5)), ("pool2", nn.MaxPool2d(2)),
                        ("fc1", nn.Linear(400, 120)), ("fc2", nn.Linear(120, 84)),
                        ("fc3", nn.Linear(84, 10))]:
        reference.add_module(name, layer)
    model.load_state_dict(reference.state_dict())  # strict
    x = torch.randn(4, 1, 32, 32)
    h = reference.pool1(F.relu(reference.conv1(x)))
    h = reference.pool2(F.relu(reference.conv2(h))).flatten(1)
    want = reference.fc3(F.relu(reference.fc2(F.relu(reference.fc1(h)))))
    torch.testing.assert_close(model(x), want)


def test_the_notebooks_test_cells_pass_on_the_solution(nb):
    """Every public test cell runs clean after the cells before it (the demos and the training
    run at the end are left out: `make` does not need a minute of training)."""
    namespace: dict = {"__name__": "a2_notebook"}
    ran = 0
    for cell in nb.cells:
        grading = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not grading:
            continue
        exec(compile(cell.source, grading["grade_id"], "exec"), namespace)
        ran += grading.get("grade", False)
    assert ran == 7

"""a3_cnn_architectures' solution against torchvision and the lectures' numbers.

The graded names are executed as the grader loads them (imports, definitions and constants of the
solution notebook), in this process: resnet18 and resnet50 load torchvision's state_dicts strictly
and give the same logits and gradients; make_vgg(VGG16) has torchvision vgg16's keys and shapes;
vgg_table(VGG16) is the table chapter 4 measures with hooks; conv_macs gives chapter 5's counts.
The hidden checks' own VGG reference (any configuration) agrees with torchvision's VGGs.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn as nn
import torchvision

from autograder.course import load_assignment
from autograder.testing import solution_definitions

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "a3_cnn_architectures"


@pytest.fixture(scope="module")
def solution() -> dict:
    """The solution's definitions, as the grader loads them."""
    return solution_definitions(ASSIGNMENT, ROOT)


def _randomized(model: nn.Module, calibration: torch.Tensor) -> nn.Module:
    """``model`` in float64 and eval mode, with random biases and BatchNorm affine parameters and
    BatchNorm statistics measured on ``calibration`` (defaults would hide a missing layer)."""
    model = model.double()
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() == 1:
                p.add_(0.1 * torch.randn(p.shape, generator=generator, dtype=p.dtype))
        norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
        for bn in norms:
            bn.reset_running_stats()
            bn.momentum = None
        model.train()(calibration)
        for bn in norms:
            bn.momentum = 0.1
    return model.eval()


def _same_network(mine: nn.Module, theirs: nn.Module, shape) -> None:
    torch.manual_seed(0)
    theirs = _randomized(theirs, torch.randn(4, *shape[1:], dtype=torch.float64))
    mine = mine.double().eval()
    mine.load_state_dict(theirs.state_dict(), strict=True)
    x = torch.randn(*shape, dtype=torch.float64)
    outputs, grads = [], []
    for model in (mine, theirs):
        xi = x.clone().requires_grad_(True)
        out = model(xi)
        out.backward(torch.ones_like(out))
        outputs.append(out.detach())
        grads.append((xi.grad, model.conv1.weight.grad))
    torch.testing.assert_close(outputs[0], outputs[1], rtol=1e-9, atol=1e-10)
    for a, b in zip(grads[0], grads[1]):
        torch.testing.assert_close(a, b, rtol=1e-8, atol=1e-9)


def _count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _shapes(model: nn.Module) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


@pytest.mark.slow
def test_resnet18_loads_torchvision_weights_and_gives_its_logits(solution):
    mine = solution["resnet18"]()
    assert _count(mine) == 11_689_512
    _same_network(mine, torchvision.models.resnet18(), (2, 3, 64, 48))


@pytest.mark.slow
def test_resnet50_loads_torchvision_weights_and_gives_its_logits(solution):
    mine = solution["resnet50"]()
    assert _count(mine) == 25_557_032
    _same_network(mine, torchvision.models.resnet50(), (1, 3, 64, 64))


def test_make_vgg16_has_torchvision_vgg16_keys_and_138m_parameters(solution):
    with torch.device("meta"):
        mine = solution["make_vgg"](solution["VGG16"])
        theirs = torchvision.models.vgg16()
        mine19 = solution["make_vgg"](solution["VGG19"], num_classes=10)
        theirs19 = torchvision.models.vgg19(num_classes=10)
    assert _shapes(mine) == _shapes(theirs)
    assert _count(mine) == _count(theirs) == 138_357_544
    assert _shapes(mine19) == _shapes(theirs19)


@pytest.mark.slow
def test_make_vgg_computes_what_torchvision_vgg_computes(solution):
    cfg = [8, "M", 512, "M"]  # torchvision's VGG class reads 512 channels into its classifier
    torch.manual_seed(0)
    theirs = torchvision.models.vgg.VGG(torchvision.models.vgg.make_layers(cfg), num_classes=10)
    mine = solution["make_vgg"](cfg, num_classes=10)
    mine.load_state_dict(theirs.state_dict(), strict=True)
    x = torch.randn(2, 3, 40, 24)
    with torch.no_grad():
        torch.testing.assert_close(mine.eval()(x), theirs.eval()(x))


def _traced_vgg16_table() -> list[tuple[str, tuple[int, int, int], int, int]]:
    """Chapter 4's measurement: torchvision's VGG16 on a 224x224x3 image, every conv, pool and FC
    layer's output (H, W, C), its number of values and its weights."""
    with torch.device("meta"):
        model = torchvision.models.vgg16()
        x = torch.zeros(1, 3, 224, 224)
    rows = [("input", (224, 224, 3), 224 * 224 * 3, 0)]
    for layer in model.features:
        x = layer(x)
        _, c, h, w = x.shape
        if isinstance(layer, nn.Conv2d):
            rows.append((f"conv3-{c}", (h, w, c), h * w * c, layer.weight.numel()))
        elif isinstance(layer, nn.MaxPool2d):
            rows.append(("pool2", (h, w, c), h * w * c, 0))
    for layer in model.classifier:
        if isinstance(layer, nn.Linear):
            n = layer.out_features
            rows.append((f"fc-{n}", (1, 1, n), n, layer.weight.numel()))
    return rows


def test_vgg_table_reproduces_the_lecture(solution):
    table = solution["vgg_table"](solution["VGG16"])
    got = [(r["name"], r["shape"], r["activations"], r["params"]) for r in table]
    assert got == _traced_vgg16_table()
    assert got[1][3] == 1_728 and got[-3][3] == 102_760_448
    assert sum(r["params"] for r in table) == 138_344_128  # "138M parameters", weights only
    assert sum(r["activations"] for r in table) == 15_237_608  # 15.2M values, 61 MB per image
    assert all(type(v) is int for r in table for v in (*r["shape"], r["activations"],
                                                        r["params"]))


def test_conv_macs_gives_chapter_5s_inception_counts(solution):
    conv_macs = solution["conv_macs"]
    naive = [conv_macs(256, 128, 1, 28, 28), conv_macs(256, 192, 3, 28, 28),
             conv_macs(256, 96, 5, 28, 28)]
    assert sum(naive) == 854_196_224  # the lecture's 854M

    total = 0

    def count(conv, inputs, output):
        nonlocal total
        total += conv_macs(conv.in_channels, conv.out_channels, conv.kernel_size,
                           output.shape[2], output.shape[3])

    module = solution["InceptionModule"](256, 128, 64, 192, 64, 96, 64)
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            m.register_forward_hook(count)
    with torch.no_grad():
        out = module(torch.zeros(1, 256, 28, 28))
    assert tuple(out.shape) == (1, 480, 28, 28)
    assert total == 271_351_808  # chapter 5's 271M (the slide's total says 358M)


@pytest.mark.slow
def test_the_checks_vgg_reference_is_torchvision_vgg():
    """The hidden checks compare make_vgg with their own VGG for configurations torchvision's VGG
    class cannot build; for VGG11, 16 and 19 it is torchvision's, and it computes the same."""
    checks = load_assignment(ROOT, ASSIGNMENT).checks[0].func.__globals__
    reference = checks["_vgg_reference"]
    with torch.device("meta"):
        for name, letter in (("vgg11", "A"), ("vgg16", "D"), ("vgg19", "E")):
            theirs = getattr(torchvision.models, name)()
            assert _shapes(reference(torchvision.models.vgg.cfgs[letter])) == _shapes(theirs)
    torch.manual_seed(0)
    cfg = [8, "M", 512, "M"]
    theirs = torchvision.models.vgg.VGG(torchvision.models.vgg.make_layers(cfg), num_classes=10)
    ours = reference(cfg, num_classes=10)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    x = torch.randn(1, 3, 40, 24)
    with torch.no_grad():
        torch.testing.assert_close(ours.eval()(x), theirs.eval()(x))

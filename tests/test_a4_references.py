"""a4_efficient_cnns's solution against the libraries it reimplements, in this process and in
float64: the blocks against torchvision's own (state_dict keys loaded strictly, outputs, gradients,
train mode), whole torchvision networks rebuilt from the solution's blocks, channel_shuffle against
torch's, conv_transpose2d against F.conv_transpose2d, count_macs against torch's FLOP counter and
the chapter's numbers. The hidden checks compare students with these same libraries; these tests
prove the solution the release is made from agrees with them."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
import torchvision
from torch import nn
from torch.utils.flop_counter import FlopCounterMode
from torchvision.models import densenet as tv_densenet
from torchvision.models import mobilenetv2 as tv_mobilenetv2
from torchvision.models import resnet as tv_resnet
from torchvision.ops import SqueezeExcitation as TVSqueezeExcitation

from autograder.testing import solution_definitions

ID = "a4_efficient_cnns"
DT = torch.float64


@pytest.fixture(scope="module")
def sol():
    """The solution's definitions, as the grader loads them."""
    return solution_definitions(ID)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def _randomize(module: nn.Module) -> nn.Module:
    """float64, eval mode, and no parameter or buffer at its default value."""
    module = module.double()
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(2.0, 5.0)  # beyond 6 after the norm: ReLU6 clips
                m.bias.normal_(0, 0.5)
                m.running_mean.normal_(0, 0.5)
                m.running_var.uniform_(0.5, 2.0)
            elif isinstance(m, (nn.Conv2d, nn.Linear, nn.ConvTranspose2d)) and m.bias is not None:
                m.bias.normal_(0, 0.5)
    return module.eval()


def _same_function(mine: nn.Module, ref: nn.Module, x: torch.Tensor, rename=None) -> None:
    """``mine`` loads ``ref``'s state_dict strictly (renamed) and gives its output and every
    gradient in eval mode, and its output and running statistics in train mode."""
    rename = rename or (lambda k: k)
    mine, ref = mine.double().eval(), ref.double().eval()
    mine.load_state_dict({rename(k): v for k, v in ref.state_dict().items()})
    xm, xr = x.clone().requires_grad_(), x.clone().requires_grad_()
    out, want = mine(xm), ref(xr)
    torch.testing.assert_close(out, want)
    g = torch.randn_like(want)
    out.backward(g)
    want.backward(g)
    torch.testing.assert_close(xm.grad, xr.grad)
    grads = {n: p.grad for n, p in mine.named_parameters()}
    for n, p in ref.named_parameters():
        torch.testing.assert_close(grads[rename(n)], p.grad, msg=n)
    mine.train()
    ref.train()
    with torch.no_grad():
        torch.testing.assert_close(mine(x), ref(x))
    state = mine.state_dict()
    for k, v in ref.state_dict().items():
        torch.testing.assert_close(state[rename(k)], v, msg=k)


def _ir_rename(expand: bool):
    theirs = ["conv.0.0", "conv.0.1", "conv.1.0", "conv.1.1", "conv.2", "conv.3"] if expand \
        else ["conv.0.0", "conv.0.1", "conv.1", "conv.2"]
    ours = (["expand.0", "expand.1"] if expand else []) + [
        "depthwise.0", "depthwise.1", "project.0", "project.1"]
    table = dict(zip(theirs, ours))
    return lambda k: f"{table[k.rsplit('.', 1)[0]]}.{k.rsplit('.', 1)[1]}"


# --- the blocks against torchvision's


@pytest.mark.parametrize("args", [(8, 8, 1, 6), (8, 8, 2, 6), (6, 10, 1, 4), (16, 16, 1, 1),
                                  (8, 12, 2, 1), (7, 7, 1, 2.5)])
def test_inverted_residual_is_torchvisions(sol, args):
    ref = _randomize(tv_mobilenetv2.InvertedResidual(*args))
    mine = sol["InvertedResidual"](*args)
    _same_function(mine, ref, 3 * torch.randn(2, args[0], 9, 7, dtype=DT),
                   rename=_ir_rename(args[3] != 1))
    has_expand = any(k.startswith("expand") for k in mine.state_dict())
    assert has_expand == (args[3] != 1)


@pytest.mark.parametrize(("channels", "reduction"), [(32, 16), (12, 4), (8, 16), (64, 8)])
def test_squeeze_excitation_is_torchvisions(sol, channels, reduction):
    ref = _randomize(TVSqueezeExcitation(channels, max(1, channels // reduction)))
    _same_function(sol["SqueezeExcitation"](channels, reduction), ref,
                   torch.randn(2, channels, 7, 5, dtype=DT))


def _tv_bottleneck(inplanes, planes, cardinality, base_width, stride):
    downsample = None
    if stride != 1 or inplanes != planes * 4:
        downsample = nn.Sequential(tv_resnet.conv1x1(inplanes, planes * 4, stride),
                                   nn.BatchNorm2d(planes * 4))
    return tv_resnet.Bottleneck(inplanes, planes, stride, downsample, groups=cardinality,
                                base_width=base_width)


@pytest.mark.parametrize("args", [(32, 8, 4, 16, 1), (16, 8, 4, 16, 2), (12, 6, 2, 32, 1),
                                  (64, 64, 32, 4, 1), (16, 4, 1, 64, 1)])
def test_resnext_bottleneck_is_torchvisions(sol, args):
    inplanes, planes, cardinality, base_width, stride = args
    ref = _randomize(_tv_bottleneck(*args))
    mine = sol["ResNeXtBottleneck"](inplanes, planes, cardinality=cardinality,
                                    base_width=base_width, stride=stride)
    _same_function(mine, ref, torch.randn(2, inplanes, 7, 6, dtype=DT))


def test_resnext50_rebuilt_from_the_solutions_blocks_gives_torchvisions_logits(sol):
    """resnext50_32x4d with every torchvision Bottleneck replaced by the solution's block (same
    arguments) loads torchvision's state_dict strictly and gives its logits."""
    ref = torchvision.models.resnext50_32x4d(num_classes=10).double().eval()
    mine = copy.deepcopy(ref)
    for layer in (mine.layer1, mine.layer2, mine.layer3, mine.layer4):
        for i, block in enumerate(layer):
            stride = block.conv2.stride[0]
            planes = block.bn3.num_features // 4
            layer[i] = sol["ResNeXtBottleneck"](block.conv1.in_channels, planes, stride=stride)
    mine.load_state_dict(ref.state_dict())
    x = torch.randn(2, 3, 64, 48, dtype=DT)
    with torch.no_grad():
        torch.testing.assert_close(mine.double().eval()(x), ref(x))


@pytest.mark.parametrize("args", [(3, 8, 4, 4), (2, 5, 3, 2), (4, 3, 2, 1)])
def test_dense_block_is_torchvisions(sol, args):
    num_layers, cin, k, bn_size = args
    ref = _randomize(tv_densenet._DenseBlock(num_layers, cin, bn_size, k, drop_rate=0.0))
    mine = sol["DenseBlock"](num_layers, cin, k, bn_size=bn_size)
    x = torch.randn(2, cin, 7, 5, dtype=DT)
    _same_function(mine, ref, x)
    out = mine.eval()(x)
    assert out.shape[1] == cin + num_layers * k
    assert torch.equal(out[:, :cin], x)


def test_densenet121_blocks_have_the_solutions_names_and_shapes(sol):
    with torch.device("meta"):
        densenet = torchvision.models.densenet121()
        for name, (num_layers, cin) in {"denseblock1": (6, 64), "denseblock2": (12, 128),
                                        "denseblock3": (24, 256), "denseblock4": (16, 512)}.items():
            want = densenet.features.get_submodule(name).state_dict()
            got = sol["DenseBlock"](num_layers, cin, 32).state_dict()
            assert {k: v.shape for k, v in got.items()} == {k: v.shape for k, v in want.items()}


def test_depthwise_separable_conv_is_depthwise_then_pointwise(sol):
    """No torchvision block to compare with: the same layers as an nn.Sequential."""
    for stride in (1, 2):
        mine = _randomize(sol["DepthwiseSeparableConv"](6, 10, stride=stride))
        ref = nn.Sequential(nn.Conv2d(6, 6, 3, stride, 1, groups=6, bias=False),
                            nn.BatchNorm2d(6), nn.ReLU(), nn.Conv2d(6, 10, 1, bias=False),
                            nn.BatchNorm2d(10), nn.ReLU()).double().eval()
        names = ["depthwise", "bn1", "", "pointwise", "bn2"]
        ref.load_state_dict({f"{names.index(k.split('.')[0])}.{k.split('.', 1)[1]}": v
                             for k, v in mine.state_dict().items()})
        x = torch.randn(2, 6, 9, 7, dtype=DT)
        torch.testing.assert_close(mine(x), ref(x))


# --- functions against torch's


@pytest.mark.parametrize(("shape", "groups"), [((2, 12, 5, 3), 3), ((1, 24, 2, 2), 4),
                                               ((2, 6, 3, 3), 6), ((2, 10, 1, 4), 1)])
def test_channel_shuffle_is_torchs(sol, shape, groups):
    x = torch.randn(*shape, dtype=DT)
    out = sol["channel_shuffle"](x, groups)
    assert torch.equal(out, F.channel_shuffle(x, groups))
    assert torch.equal(out, nn.ChannelShuffle(groups)(x))
    assert torch.equal(sol["channel_shuffle"](out, shape[1] // groups), x)


@pytest.mark.parametrize(("x_shape", "w_shape", "stride", "padding"), [
    ((2, 3, 4, 5), (3, 2, 3, 3), 1, 0),
    ((2, 3, 4, 5), (3, 4, 2, 2), 2, 0),
    ((1, 2, 5, 3), (2, 3, 3, 3), 2, 1),
    ((2, 4, 3, 4), (4, 2, 4, 3), (3, 2), (1, 0)),
    ((1, 3, 3, 4), (3, 2, 5, 5), 3, 2),
])
def test_conv_transpose2d_is_torchs_and_differentiable(sol, x_shape, w_shape, stride, padding):
    x = torch.randn(*x_shape, dtype=DT, requires_grad=True)
    w = torch.randn(*w_shape, dtype=DT, requires_grad=True)
    b = torch.randn(w_shape[1], dtype=DT, requires_grad=True)
    fn = sol["conv_transpose2d"]
    torch.testing.assert_close(fn(x, w, b, stride, padding),
                               F.conv_transpose2d(x, w, b, stride, padding))
    assert torch.autograd.gradcheck(lambda *a: fn(*a, stride, padding), (x, w, b))


def test_conv_transpose2d_is_the_adjoint_of_the_convolution(sol):
    z = torch.randn(2, 3, 9, 7, dtype=DT)
    w = torch.randn(4, 3, 3, 3, dtype=DT)
    y = torch.randn(2, 4, 5, 4, dtype=DT)
    lhs = (F.conv2d(z, w, stride=2, padding=1) * y).sum()
    rhs = (z * sol["conv_transpose2d"](y, w, stride=2, padding=1)).sum()
    torch.testing.assert_close(lhs, rhs)


# --- count_macs against torch's FLOP counter and the chapter


@pytest.mark.parametrize("name", ["resnet50", "mobilenet_v2", "resnext50_32x4d", "densenet121",
                                  "shufflenet_v2_x1_0"])
def test_count_macs_is_half_of_torchs_flop_count(sol, name):
    """On networks of Conv2d and Linear layers only (no transposed convolutions, no batched
    matrix products), torch's FLOP counter counts two FLOPs per multiply-add."""
    with torch.device("meta"):  # shapes only
        model = getattr(torchvision.models, name)().eval()
        with FlopCounterMode(display=False) as flops:
            model(torch.zeros(1, 3, 224, 224))
        macs = sol["count_macs"](model, (1, 3, 224, 224))
    assert type(macs) is int
    assert macs == flops.get_total_flops() // 2


def test_count_macs_reproduces_the_chapter(sol):
    count = sol["count_macs"]
    with torch.device("meta"):
        assert count(torchvision.models.resnet50(), (1, 3, 224, 224)) == 4_089_184_256
        assert count(torchvision.models.mobilenet_v2(), (1, 3, 224, 224)) == 300_774_272
    for c in (16, 64, 512):
        standard = count(nn.Conv2d(c, c, 3, padding=1, bias=False), (1, c, 28, 28))
        separable = count(sol["DepthwiseSeparableConv"](c, c), (1, c, 28, 28))
        assert standard * (9 + c) == separable * 9 * c  # the speed-up 9C / (9 + C), exactly
    resnet = count(sol["ResNeXtBottleneck"](256, 64, cardinality=1, base_width=64).conv2,
                   (1, 64, 56, 56))
    resnext = count(sol["ResNeXtBottleneck"](256, 64).conv2, (1, 128, 56, 56))
    assert resnet == 8 * resnext == 115_605_504
    block = count(sol["ResNeXtBottleneck"](2048, 512, cardinality=1, base_width=64),
                  (1, 2048, 7, 7))
    assert count(sol["SqueezeExcitation"](2048), (1, 2048, 7, 7)) < 0.01 * block


def test_count_macs_leaves_the_model_as_it_was(sol):
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                          nn.Linear(4 * 5 * 5, 2)).double()
    model.train()
    model[1].eval()
    before = copy.deepcopy(model.state_dict())
    assert sol["count_macs"](model, (2, 3, 7, 7)) == 2 * 4 * 25 * 27 + 2 * 2 * 100
    assert model.training and not model[1].training and model[4].training
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert not any(m._forward_hooks for m in model.modules())


# --- the U-Net


def test_unet_layout_and_output_shapes(sol):
    model = sol["UNet"](3, 2)
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert shapes["ups.0.weight"] == (128, 64, 2, 2) and shapes["ups.2.weight"] == (32, 16, 2, 2)
    assert shapes["up_convs.0.0.weight"] == (64, 128, 3, 3)
    assert shapes["downs.2.4.running_var"] == (128,) and shapes["outc.bias"] == (2,)
    assert sum(p.numel() for p in model.parameters()) == 482_754
    for depth, size in [(1, (6, 10)), (2, (12, 8)), (4, (32, 48))]:
        out = sol["UNet"](2, 3, base_channels=4, depth=depth).eval()(torch.randn(2, 2, *size))
        assert out.shape == (2, 3, *size)


def test_unet_forward_is_the_specified_wiring(sol):
    """UNet's forward, written out for depth 2 from its own submodules: max pool before each
    down, the deepest level upsampled first, the skip concatenated before the upsampled map."""
    model = _randomize(sol["UNet"](2, 3, base_channels=4, depth=2))
    x = torch.randn(2, 2, 12, 8, dtype=DT)
    with torch.no_grad():
        x0 = model.inc(x)
        x1 = model.downs[0](F.max_pool2d(x0, 2))
        x2 = model.downs[1](F.max_pool2d(x1, 2))
        y = model.up_convs[0](torch.cat([x1, model.ups[0](x2)], 1))
        y = model.up_convs[1](torch.cat([x0, model.ups[1](y)], 1))
        torch.testing.assert_close(model(x), model.outc(y))

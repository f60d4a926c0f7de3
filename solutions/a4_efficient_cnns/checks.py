"""Hidden checks of a4_efficient_cnns: a MAC counter, the blocks of the efficient networks
(against torchvision's own blocks where it has them, loaded with perturbed weights), channel
shuffle, the transposed convolution and a U-Net."""

from functools import cache

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from torchvision.models import densenet as tv_densenet
from torchvision.models import mobilenetv2 as tv_mobilenetv2
from torchvision.models import resnet as tv_resnet
from torchvision.ops import SqueezeExcitation as TVSqueezeExcitation

from autograder.checks import Assignment, Forbid
from autograder.checks.integrity import DEFAULT_BUILDING_BLOCKS
from autograder.checks.modules import compare_module, compare_train_mode, randomize

# torchvision in the worker: count_macs is checked on torchvision's own models
A = Assignment("a4_efficient_cnns", title="Efficient CNNs and dense prediction",
               worker_libraries=["torchvision"])

OWN_MODEL = Forbid(packages=["torchvision", "timm"])

A.item("count_macs")
A.item("DepthwiseSeparableConv", kind="class", forbid=OWN_MODEL)
A.item("InvertedResidual", kind="class", forbid=OWN_MODEL)
A.item("SqueezeExcitation", kind="class", forbid=OWN_MODEL,
       building_blocks=DEFAULT_BUILDING_BLOCKS + ("torch.nn.Sigmoid",))
A.item("ResNeXtBottleneck", kind="class", forbid=OWN_MODEL)
A.item("channel_shuffle", forbid=Forbid(
    calls=["torch.nn.functional.channel_shuffle", "torch.channel_shuffle",
           "torch.native_channel_shuffle", "torch.nn.ChannelShuffle"],
    ops=["aten.channel_shuffle"]))
A.item("DenseBlock", kind="class", forbid=OWN_MODEL)
# A transposed convolution reaches PyTorch's dispatcher as aten.convolution (transposed=True), so
# its operator family is the convolution's; conv2d_input computes it as a convolution's backward.
A.item("conv_transpose2d", forbid=Forbid(
    calls=["torch.nn.functional.conv_transpose2d", "torch.conv_transpose2d",
           "torch.nn.ConvTranspose2d", "torch.nn.grad.conv2d_input"],
    ops=["aten.convolution", "aten.convolution_backward"]))
A.item("UNet", kind="class", forbid=OWN_MODEL)


# ------------------------------------------------------------------------------------------------
# references and their weights

@cache
def _spec(builder, *args, **kwargs) -> dict:
    """The state_dict keys and shapes of a reference, built on the meta device (nothing is
    allocated or initialized)."""
    with torch.device("meta"):  # keys and shapes only: nothing allocated
        return builder(*args, **kwargs).state_dict()


class _DepthwiseSeparable(nn.Module):
    """The specification's depthwise separable convolution."""

    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.depthwise = nn.Conv2d(in_channels, in_channels, 3, stride=stride, padding=1,
                                   groups=in_channels, bias=False)
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)

    def forward(self, x):
        return F.relu(self.bn2(self.pointwise(F.relu(self.bn1(self.depthwise(x))))))


def _ir_rename(expand: bool):
    """torchvision's InvertedResidual keys -> the specification's (expand, depthwise, project)."""
    theirs = ["conv.0.0", "conv.0.1", "conv.1.0", "conv.1.1", "conv.2", "conv.3"] if expand \
        else ["conv.0.0", "conv.0.1", "conv.1", "conv.2"]
    ours = (["expand.0", "expand.1"] if expand else []) + [
        "depthwise.0", "depthwise.1", "project.0", "project.1"]
    table = dict(zip(theirs, ours))

    def rename(key: str) -> str:
        prefix, leaf = key.rsplit(".", 1)
        return f"{table[prefix]}.{leaf}"

    return rename


def _ir_spec(in_channels, out_channels, stride, expand_ratio) -> dict:
    rename = _ir_rename(expand_ratio != 1)
    return {rename(k): v for k, v in _spec(tv_mobilenetv2.InvertedResidual, in_channels,
                                          out_channels, stride, expand_ratio).items()}


def _tv_bottleneck(inplanes, planes, cardinality=32, base_width=4, stride=1) -> nn.Module:
    """torchvision's Bottleneck as resnext50_32x4d builds it, with its projection."""
    downsample = None
    if stride != 1 or inplanes != planes * 4:
        downsample = nn.Sequential(tv_resnet.conv1x1(inplanes, planes * 4, stride),
                                   nn.BatchNorm2d(planes * 4))
    return tv_resnet.Bottleneck(inplanes, planes, stride, downsample, groups=cardinality,
                                base_width=base_width)


def _double_conv(a, b) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(a, b, 3, padding=1, bias=False), nn.BatchNorm2d(b), nn.ReLU(),
                         nn.Conv2d(b, b, 3, padding=1, bias=False), nn.BatchNorm2d(b), nn.ReLU())


class _UNet(nn.Module):
    """The specification's U-Net."""

    def __init__(self, in_channels, num_classes, base_channels=16, depth=3):
        super().__init__()
        ch = [base_channels * 2**i for i in range(depth + 1)]
        self.inc = _double_conv(in_channels, ch[0])
        self.downs = nn.ModuleList(_double_conv(ch[i], ch[i + 1]) for i in range(depth))
        self.ups = nn.ModuleList(nn.ConvTranspose2d(ch[depth - j], ch[depth - j - 1], 2, stride=2)
                                 for j in range(depth))
        self.up_convs = nn.ModuleList(_double_conv(2 * ch[depth - j - 1], ch[depth - j - 1])
                                      for j in range(depth))
        self.outc = nn.Conv2d(ch[0], num_classes, 1)

    def forward(self, x):
        x = self.inc(x)
        skips = []
        for down in self.downs:
            skips.append(x)
            x = down(F.max_pool2d(x, 2))
        for up, conv, skip in zip(self.ups, self.up_convs, reversed(skips)):
            x = conv(torch.cat([skip, up(x)], 1))
        return self.outc(x)


# ------------------------------------------------------------------------------------------------
# count_macs

def _macs(model: nn.Module, input_shape) -> int:
    """The lecture's multiply-adds, counted with hooks on a copy of the model (meta tensors do:
    only shapes matter)."""
    total = 0

    def hook(module, inputs, output):  # one layer's multiply-adds
        nonlocal total
        per_output = module.weight[0].numel() if isinstance(module, nn.Conv2d) \
            else module.in_features
        total += output.numel() * per_output

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (nn.Conv2d, nn.Linear))]  # the counted layers
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(input_shape, device=next(model.parameters()).device))
    finally:
        for h in handles:
            h.remove()
    return total


def _sequential(t, layers):
    """The same nn.Sequential of torch.nn layers here (for the expected count) and in the worker
    (built by torch, in the check's dtype): ``layers`` are (class name, args, kwargs)."""
    local = nn.Sequential(*[getattr(nn, name)(*args, **kwargs) for name, args, kwargs in layers])
    remote = t.build(t.lib("torch.nn.Sequential"),
                     *[t.lib(f"torch.nn.{name}")(*args, **kwargs) for name, args, kwargs in layers])
    return local, remote


def _check_macs(t, layers, input_shape) -> None:
    local, model = _sequential(t, layers)
    t.assert_equal(t.student.count_macs(model, input_shape), _macs(local, input_shape),
                   what="the multiply-adds")


@A.check("count_macs", points=2, show_expected=True)
def macs_convolutions_and_linear(t):
    """count_macs of strided, padded and non-square convolutions and of Linear layers (on tokens).

    A batch of two non-square images; a Linear layer on (batch, tokens, features) inputs does
    out.numel() * in_features.
    """
    _check_macs(t, [("Conv2d", (3, 8, 3), {"stride": 2, "padding": 1}),
                    ("BatchNorm2d", (8,), {}), ("ReLU", (), {}),
                    ("Conv2d", (8, 16, (3, 1)), {"padding": (1, 0)}),
                    ("MaxPool2d", (2,), {}), ("Flatten", (), {}), ("Linear", (192, 10), {})],
                (2, 3, 17, 12))
    _check_macs(t, [("Linear", (7, 4), {}), ("ReLU", (), {}), ("Linear", (4, 3), {})],
                (2, 5, 7))


@A.check("count_macs", points=2, show_expected=True)
def macs_grouped_and_depthwise(t):
    """count_macs of grouped and depthwise convolutions: outputs read C_in / groups channels."""
    _check_macs(t, [("Conv2d", (8, 16, 3), {"padding": 1, "groups": 4}),
                    ("Conv2d", (16, 16, 3), {"stride": 2, "groups": 16}),
                    ("Conv2d", (16, 32, 1), {"bias": False})], (2, 8, 11, 9))


@A.check("count_macs", points=1, show_expected=True)
def macs_count_only_conv2d_and_linear(t):
    """count_macs counts only Conv2d and Linear: no biases, norms, pooling or ConvTranspose2d."""
    _check_macs(t, [("Conv2d", (4, 8, 3), {"padding": 1}), ("BatchNorm2d", (8,), {}),
                    ("ReLU", (), {}), ("ConvTranspose2d", (8, 4, 2), {"stride": 2}),
                    ("AvgPool2d", (2,), {}), ("Conv2d", (4, 2, 1), {}), ("Flatten", (2,), {}),
                    ("Linear", (30, 6), {})], (2, 4, 5, 6))


@cache
def _torchvision_macs(name: str, input_shape) -> int:
    """The expected count, once per grading run (regnet computes its widths with tensors, so
    it is built on the CPU, not on the meta device)."""
    return _macs(getattr(torchvision.models, name)(num_classes=10), input_shape)


@A.check("count_macs", points=2, dtypes=None, show_expected=True, timeout=30.0)
def macs_torchvision_models(t):
    """count_macs of torchvision's mobilenet_v2 and regnet_x_400mf (nested, grouped, depthwise)."""
    for name, input_shape in [("mobilenet_v2", (1, 3, 64, 48)),
                              ("regnet_x_400mf", (1, 3, 32, 40))]:
        model = t.lib(f"torchvision.models.{name}")(num_classes=10)
        t.assert_equal(t.student.count_macs(model, input_shape),
                       _torchvision_macs(name, input_shape),
                       what=f"the multiply-adds of {name}")
        t.release(model)


MODE_LAYERS = [("Conv2d", (3, 6, 3), {"padding": 1}), ("BatchNorm2d", (6,), {}),
               ("ReLU", (), {}), ("Dropout", (0.5,), {}), ("Conv2d", (6, 4, 3), {}),
               ("BatchNorm2d", (4,), {})]


@A.check("count_macs", points=2, show_expected=True)
def macs_leave_the_model_as_it_was(t):
    """count_macs leaves each submodule's train/eval mode and the BatchNorm statistics as they were.

    A model in train mode, one in eval mode, and one in train mode with its BatchNorm layers
    frozen in eval mode, as when fine-tuning.
    """
    input_shape = (2, 3, 9, 7)
    local, model = _sequential(t, MODE_LAYERS)
    expected = _macs(local, input_shape)
    for label, root, frozen in [("in train mode", True, ()), ("in eval mode", False, ()),
                                ("in train mode with its BatchNorm layers in eval mode", True,
                                 (1, 5))]:
        model.train(root)
        for i in frozen:
            model[i].eval()
        before = t.state_dict(model)
        t.assert_equal(t.student.count_macs(model, input_shape), expected,
                       what="the multiply-adds")
        modes = [model.attr("training")] + [model[i].attr("training")
                                            for i in range(len(MODE_LAYERS))]
        want = [root] + [root and i not in frozen for i in range(len(MODE_LAYERS))]
        if modes != want:
            changed = ["the model" if j == 0 else f"layer {j - 1}"
                       for j, (a, b) in enumerate(zip(modes, want)) if a != b]
            t.fail(f"count_macs changed the train/eval mode of a model {label}: "
                   f"{', '.join(changed)} (restore every submodule's mode)")
        after = t.state_dict(model)
        for key, value in before.items():
            t.assert_close(after.get(key), value, op="exact",
                           what=f"{key} after count_macs on a model {label} (run it in eval "
                                "mode without gradients)")


# ------------------------------------------------------------------------------------------------
# DepthwiseSeparableConv

@A.check("DepthwiseSeparableConv", points=1, dtypes=None)
def separable_names_and_shapes(t):
    """DepthwiseSeparableConv has the specified state_dict keys and shapes (no conv biases).

    A depthwise 3x3 (groups = C_in), a pointwise 1x1, convolutions without bias, two BatchNorms.
    """
    for args in [(8, 16, 1), (6, 4, 2), (5, 5, 1)]:
        t.assert_state_dict_matches(t.student.DepthwiseSeparableConv(*args),
                                    _spec(_DepthwiseSeparable, *args))


def _check_separable(t, args, x_shape) -> None:
    ref = randomize(_DepthwiseSeparable(*args), t.generator, (4,) + tuple(x_shape[1:]))
    compare_module(t, t.build(t.student.DepthwiseSeparableConv, *args[:2], stride=args[2]), ref,
                  x_shape, scale=3.0)


@A.check("DepthwiseSeparableConv", points=2)
def separable_matches_reference(t):
    """DepthwiseSeparableConv equals the reference: outputs and gradients in eval mode.

    depthwise - BN - ReLU - pointwise - BN - ReLU, on a batch of non-square images.
    """
    _check_separable(t, (6, 10, 1), (2, 6, 9, 7))


@A.check("DepthwiseSeparableConv", points=2)
def separable_stride_two(t):
    """DepthwiseSeparableConv(..., stride=2) carries the stride on its depthwise convolution.

    The outputs and gradients, and the strides themselves: a stride on the pointwise convolution
    gives the same numbers at four times the cost.
    """
    _check_separable(t, (4, 8, 2), (2, 4, 9, 8))
    _check_separable(t, (3, 5, 2), (1, 3, 6, 11))
    # Striding after the pointwise convolution gives the same numbers (1x1 convolutions, batch
    # norms and ReLUs commute with subsampling) at four times its cost: the lecture's count
    # needs the stride on the depthwise convolution.
    model = t.student.DepthwiseSeparableConv(4, 8, stride=2)
    strides = {name: model.attr(name).attr("stride") for name in ("depthwise", "pointwise")}
    if [tuple(s) if isinstance(s, (list, tuple)) else s for s in strides.values()] != [(2, 2),
                                                                                       (1, 1)]:
        t.fail(f"DepthwiseSeparableConv(4, 8, stride=2) has strides {strides}: the depthwise "
               "convolution carries the stride (2, 2), so that the pointwise one runs at the "
               "output's resolution (the same output at four times the MACs otherwise)")


# ------------------------------------------------------------------------------------------------
# InvertedResidual

@A.check("InvertedResidual", points=1, dtypes=None)
def inverted_residual_names_and_shapes(t):
    """InvertedResidual's keys: hidden = round(in * expand_ratio), no expand when the ratio is 1."""
    for args in [(8, 8, 1, 6), (8, 16, 2, 6), (7, 7, 1, 2.5), (16, 16, 1, 1), (8, 12, 2, 1)]:
        t.assert_state_dict_matches(t.student.InvertedResidual(*args), _ir_spec(*args))


def _check_inverted(t, args, x_shape) -> None:
    ref = randomize(tv_mobilenetv2.InvertedResidual(*args), t.generator, (4,) + tuple(x_shape[1:]),
                     gamma=(2.0, 5.0))  # BN outputs beyond 6, where ReLU6 clips
    compare_module(t, t.build(t.student.InvertedResidual, *args), ref, x_shape,
                  rename=_ir_rename(args[3] != 1), scale=3.0)


@A.check("InvertedResidual", points=2)
def inverted_residual_with_shortcut(t):
    """InvertedResidual(8, 8, 1, 6) equals torchvision's: ReLU6, linear bottleneck, shortcut.

    expand - depthwise - projection, ReLU6 after the first two only, plus the input; outputs and
    gradients in eval mode.
    """
    _check_inverted(t, (8, 8, 1, 6), (2, 8, 9, 7))


@A.check("InvertedResidual", points=2)
def inverted_residual_without_shortcut(t):
    """InvertedResidual adds no shortcut with stride 2 or new channels (stride on the depthwise)."""
    _check_inverted(t, (8, 8, 2, 6), (2, 8, 9, 7))
    _check_inverted(t, (6, 10, 1, 4), (2, 6, 7, 6))


@A.check("InvertedResidual", points=2)
def inverted_residual_expand_ratio_one(t):
    """InvertedResidual with expand_ratio 1 has no expand stage and equals torchvision's."""
    _check_inverted(t, (8, 8, 1, 1), (2, 8, 7, 9))
    _check_inverted(t, (8, 12, 2, 1), (2, 8, 8, 7))


@A.check("InvertedResidual", points=1)
def inverted_residual_train_mode(t):
    """InvertedResidual in train mode: batch statistics, running ones updated as torchvision's.

    BatchNorm's momentum 0.1 (PyTorch's convention), so the running statistics move as
    torchvision's.
    """
    ref = randomize(tv_mobilenetv2.InvertedResidual(6, 6, 1, 3), t.generator, (4, 6, 7, 5))
    compare_train_mode(t, t.build(t.student.InvertedResidual, 6, 6, 1, 3), ref, (4, 6, 7, 5),
                      rename=_ir_rename(True))


# ------------------------------------------------------------------------------------------------
# SqueezeExcitation

def _se_reference(channels, reduction):
    return TVSqueezeExcitation(channels, max(1, channels // reduction))


@A.check("SqueezeExcitation", points=1, dtypes=None)
def se_names_and_shapes(t):
    """SqueezeExcitation has torchvision's keys: fc1, fc2 (1x1 convs with bias), max(1, C // r)."""
    for channels, reduction in [(32, 16), (48, 4), (64, 16), (8, 16)]:
        t.assert_state_dict_matches(t.student.SqueezeExcitation(channels, reduction),
                                    _spec(_se_reference, channels, reduction))


@A.check("SqueezeExcitation", points=2)
def se_matches_torchvision(t):
    """SqueezeExcitation equals torchvision.ops.SqueezeExcitation: outputs and gradients.

    Average pooling, fc1, ReLU, fc2, a sigmoid gate times the input.
    """
    for channels, reduction, x_shape in [(32, 16, (2, 32, 7, 5)), (12, 4, (3, 12, 5, 8))]:
        ref = randomize(_se_reference(channels, reduction), t.generator, None)
        compare_module(t, t.build(t.student.SqueezeExcitation, channels, reduction), ref,
                      x_shape, scale=2.0)


@A.check("SqueezeExcitation", points=1)
def se_fewer_channels_than_reduction(t):
    """SqueezeExcitation(8) (reduction 16) keeps one channel in its bottleneck."""
    ref = randomize(_se_reference(8, 16), t.generator, None)
    compare_module(t, t.build(t.student.SqueezeExcitation, 8), ref, (2, 8, 6, 5), scale=2.0)


# ------------------------------------------------------------------------------------------------
# ResNeXtBottleneck

@cache
def _resnext50_blocks() -> dict:
    with torch.device("meta"):  # keys and shapes only: nothing allocated
        model = torchvision.models.resnext50_32x4d()
    return {name: model.get_submodule(name).state_dict()
            for name in ("layer1.0", "layer2.0", "layer3.1", "layer4.0")}


@A.check("ResNeXtBottleneck", points=1, dtypes=None)
def resnext_names_and_resnext50_shapes(t):
    """ResNeXtBottleneck has the keys and shapes of resnext50_32x4d's blocks and others.

    resnext50_32x4d's layer1.0, layer2.0, layer3.1 and layer4.0, and blocks of other
    cardinalities and widths.
    """
    blocks = _resnext50_blocks()
    for name, args in [("layer1.0", (64, 64)), ("layer2.0", (256, 128, 32, 4, 2)),
                       ("layer3.1", (1024, 256)), ("layer4.0", (1024, 512, 32, 4, 2))]:
        t.assert_state_dict_matches(t.student.ResNeXtBottleneck(*args), blocks[name])
    for args in [(16, 8, 4, 16, 1), (32, 16, 8, 8, 2), (24, 6, 2, 64, 1)]:
        t.assert_state_dict_matches(t.student.ResNeXtBottleneck(*args),
                                    _spec(_tv_bottleneck, *args))


def _check_resnext(t, args, x_shape) -> None:
    ref = randomize(_tv_bottleneck(*args), t.generator, (4,) + tuple(x_shape[1:]))
    inplanes, planes, cardinality, base_width, stride = args
    compare_module(t, t.build(t.student.ResNeXtBottleneck, inplanes, planes,
                             cardinality=cardinality, base_width=base_width, stride=stride),
                  ref, x_shape)


@A.check("ResNeXtBottleneck", points=2)
def resnext_identity_shortcut(t):
    """ResNeXtBottleneck with an identity shortcut equals torchvision's grouped Bottleneck.

    ResNeXtBottleneck(32, 8, cardinality=4, base_width=16); ReLU after the addition; outputs and
    gradients.
    """
    _check_resnext(t, (32, 8, 4, 16, 1), (2, 32, 7, 6))


@A.check("ResNeXtBottleneck", points=2)
def resnext_projection_and_stride(t):
    """ResNeXtBottleneck: the stride on the grouped 3x3 conv, a projection when the shape changes.

    Stride 2, and a projection when only the channels change.
    """
    _check_resnext(t, (16, 8, 4, 16, 2), (2, 16, 9, 7))
    _check_resnext(t, (12, 6, 2, 32, 1), (2, 12, 6, 5))


@A.check("ResNeXtBottleneck", points=1)
def resnext50_first_block(t):
    """ResNeXtBottleneck(64, 64) (32 groups of width 4) equals resnext50_32x4d's first block."""
    _check_resnext(t, (64, 64, 32, 4, 1), (2, 64, 6, 5))


# ------------------------------------------------------------------------------------------------
# channel_shuffle

def _shuffle(x, groups):
    return F.channel_shuffle(x, groups)


@A.check("channel_shuffle", points=2)
def shuffle_is_the_permutation(t):
    """channel_shuffle is exactly ShuffleNet's permutation, for several group counts and shapes.

    View as (N, g, C/g, H, W), swap those two axes, flatten back.
    """
    for shape, groups in [((2, 12, 5, 3), 3), ((3, 8, 4, 6), 2), ((1, 24, 3, 2), 4),
                          ((2, 6, 7, 1), 6), ((2, 10, 2, 5), 1), ((1, 15, 4, 3), 5)]:
        x = t.randn(*shape)
        t.assert_close(t.student.channel_shuffle(x, groups), _shuffle(x, groups), op="exact")


@A.check("channel_shuffle", points=1)
def shuffle_inverse_and_gradient(t):
    """channel_shuffle with C/g groups undoes g groups; its gradient is the inverse shuffle."""
    for shape, groups in [((2, 12, 4, 3), 3), ((2, 12, 3, 5), 4), ((1, 18, 2, 2), 6)]:
        x = t.randn(*shape, requires_grad=True)
        g = t.randn(*shape)
        got = t.grad(t.student.channel_shuffle, x, groups, grad_output=g)
        t.assert_close(got.output, _shuffle(x.detach(), groups), op="exact")
        t.assert_close(t.student.channel_shuffle(got.output, shape[1] // groups), x.detach(),
                       op="exact", what="the output shuffled back with C / groups groups")
        t.assert_close(got.inputs[0], _shuffle(g, shape[1] // groups), op="exact",
                       what="gradient of the input")


# ------------------------------------------------------------------------------------------------
# DenseBlock

def _dense_reference(num_layers, in_channels, growth_rate, bn_size=4):
    return tv_densenet._DenseBlock(num_layers, in_channels, bn_size, growth_rate, drop_rate=0.0)


@A.check("DenseBlock", points=1, dtypes=None)
def dense_names_and_shapes(t):
    """DenseBlock has torchvision's keys and shapes: denselayer1..L with norm1, conv1, norm2, conv2.

    Layer l reads in + (l - 1) * k channels; conv1 is a 1x1 to bn_size * k channels, conv2 a 3x3
    to k.
    """
    for args in [(3, 8, 4, 4), (2, 5, 3, 2), (6, 64, 32, 4)]:
        t.assert_state_dict_matches(t.student.DenseBlock(*args[:3], bn_size=args[3]),
                                    _spec(_dense_reference, *args))


def _check_dense(t, args, x_shape) -> None:
    ref = randomize(_dense_reference(*args), t.generator, (4,) + tuple(x_shape[1:]))
    compare_module(t, t.build(t.student.DenseBlock, *args[:3], bn_size=args[3]), ref, x_shape)


@A.check("DenseBlock", points=2)
def dense_matches_torchvision(t):
    """DenseBlock(3, 6, 4) equals torchvision's _DenseBlock: outputs and gradients in eval mode.

    Each layer reads every earlier feature map; the output is cat([x, f1, f2, f3]).
    """
    _check_dense(t, (3, 6, 4, 4), (2, 6, 7, 5))


@A.check("DenseBlock", points=1)
def dense_growth_and_bottleneck(t):
    """DenseBlock follows num_layers, growth_rate and bn_size: in + L * k output channels."""
    _check_dense(t, (4, 3, 2, 2), (2, 3, 5, 8))
    _check_dense(t, (1, 5, 6, 1), (1, 5, 6, 6))


@A.check("DenseBlock", points=1)
def dense_train_mode(t):
    """DenseBlock in train mode: batch statistics, running ones updated as torchvision's.

    No dropout: the output in train mode and the running statistics match.
    """
    ref = randomize(_dense_reference(2, 4, 3, 2), t.generator, (4, 4, 6, 5))
    compare_train_mode(t, t.build(t.student.DenseBlock, 2, 4, 3, bn_size=2), ref, (4, 4, 6, 5))


# ------------------------------------------------------------------------------------------------
# conv_transpose2d

def _check_transpose(t, cases, bias=True) -> None:
    for x_shape, w_shape, kwargs in cases:
        x = t.randn(*x_shape)
        w = t.randn(*w_shape)
        if bias:
            b = t.randn(w_shape[1])
            got = t.student.conv_transpose2d(x, w, b, **kwargs)
        else:
            b = None
            got = t.student.conv_transpose2d(x, w, **kwargs)
        t.assert_close(got, t.reference(F.conv_transpose2d, x, w, b, **kwargs), op="conv")


@A.check("conv_transpose2d", points=1)
def transpose_stride_one(t):
    """conv_transpose2d matches F.conv_transpose2d with stride 1, C_in != C_out, non-square."""
    _check_transpose(t, [((2, 3, 4, 5), (3, 2, 3, 3), {}), ((1, 2, 5, 3), (2, 4, 2, 3), {})])


@A.check("conv_transpose2d", points=2)
def transpose_stride_and_padding(t):
    """conv_transpose2d matches F.conv_transpose2d with stride and padding (ints and pairs).

    Overlapping and non-overlapping strides; padding crops the full output.
    """
    _check_transpose(t, [
        ((2, 3, 4, 5), (3, 4, 2, 2), dict(stride=2)),
        ((2, 2, 5, 3), (2, 3, 3, 3), dict(stride=2, padding=1)),
        ((1, 3, 3, 4), (3, 2, 4, 3), dict(stride=(3, 2), padding=(1, 0))),
        ((2, 4, 4, 4), (4, 2, 5, 5), dict(stride=3, padding=2)),
        ((2, 2, 6, 3), (2, 2, 3, 2), dict(stride=(1, 2), padding=(2, 1))),
    ])


@A.check("conv_transpose2d", points=1)
def transpose_without_bias(t):
    """conv_transpose2d works with bias=None."""
    _check_transpose(t, [((2, 3, 4, 5), (3, 2, 3, 3), {}),
                         ((2, 2, 4, 3), (2, 3, 3, 2), dict(stride=2, padding=1))], bias=False)


@A.check("conv_transpose2d", points=2)
def transpose_is_the_adjoint(t):
    """conv_transpose2d is the convolution's adjoint, and its gradients match.

    <conv2d(z), y> = <z, conv_transpose2d(y)>, with stride and padding; gradients of input,
    weight and bias.
    """
    for z_shape, w_shape, stride, padding in [((2, 3, 9, 7), (4, 3, 3, 3), 2, 1),
                                              ((1, 2, 8, 11), (3, 2, 2, 4), (2, 3), (0, 1)),
                                              ((2, 3, 6, 5), (2, 3, 3, 2), 1, (1, 0))]:
        z = t.randn(*z_shape)
        w = t.randn(*w_shape)
        y = t.randn(*F.conv2d(z, w, stride=stride, padding=padding).shape)
        got = t.student.conv_transpose2d(y, w, stride=stride, padding=padding)
        if not isinstance(got, torch.Tensor) or got.dtype != t.dtype:
            t.fail(f"{t.last_call} should return a {t.dtype} tensor, got "
                   f"{getattr(got, 'dtype', type(got).__name__)}")
        if tuple(got.shape) != tuple(z_shape):
            t.fail(f"{t.last_call} has shape {tuple(got.shape)}, expected {tuple(z_shape)} "
                   "(the shape of the convolution's input)")
        lhs = float((F.conv2d(z.double(), w.double(), stride=stride, padding=padding)
                     * y.double()).sum())
        rhs = float((z.double() * got.double()).sum())
        t.assert_close(rhs, lhs, op="reduction",
                       what="<z, conv_transpose2d(y)> (it should equal <conv2d(z), y>)")
        x = t.randn(*y.shape, requires_grad=True)
        wg = w.clone().requires_grad_()
        b = t.randn(w_shape[1], requires_grad=True)
        g = t.randn(*z_shape)
        want = t.reference_grad(F.conv_transpose2d, x, wg, b, stride, padding, grad_output=g)
        grads = t.grad(t.student.conv_transpose2d, x, wg, b, stride, padding, grad_output=g)
        t.assert_close(grads.output, want.output, op="conv")
        for i, name in enumerate(["x", "weight", "bias"]):
            t.assert_close(grads.inputs[i], want.inputs[i], op="grad", what=f"gradient of {name}")


# ------------------------------------------------------------------------------------------------
# UNet

@A.check("UNet", points=1, dtypes=None)
def unet_names_and_shapes(t):
    """UNet has the specified keys and shapes for several depths, widths and channel counts.

    inc, downs.i, ups.j (deepest first), up_convs.j and outc.
    """
    for args in [(3, 2, 16, 3), (1, 4, 8, 2), (2, 1, 4, 1), (3, 5, 4, 4)]:
        t.assert_state_dict_matches(t.student.UNet(*args), _spec(_UNet, *args))


@A.check("UNet", points=1, dtypes=None)
def unet_output_shapes(t):
    """UNet gives (N, num_classes, H, W) for depths 1 to 4 and non-square sizes."""
    for args, x_shape in [((2, 3, 4, 1), (2, 2, 10, 6)), ((1, 2, 4, 2), (2, 1, 16, 12)),
                          ((3, 1, 2, 3), (1, 3, 24, 40)), ((2, 2, 2, 4), (2, 2, 32, 16))]:
        model = t.build(t.student.UNet, *args).eval()
        out = model(t.randn(*x_shape))
        want = (x_shape[0], args[1]) + tuple(x_shape[2:])
        if not isinstance(out, torch.Tensor) or tuple(out.shape) != want:
            t.fail(f"UNet{args}(x of shape {x_shape}) returned "
                   f"{tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__},"
                   f" expected {want}")
        t.release(model)


def _check_unet(t, args, x_shape) -> None:
    ref = randomize(_UNet(*args), t.generator, (4,) + tuple(x_shape[1:]))
    compare_module(t, t.build(t.student.UNet, *args), ref, x_shape, op="model")


@A.check("UNet", points=2, timeout=20.0)
def unet_matches_reference(t):
    """UNet(3, 2, base_channels=4, depth=3) equals the reference: outputs and every gradient.

    Max pooling, transposed convolutions, skips concatenated before the upsampled map; eval
    mode.
    """
    _check_unet(t, (3, 2, 4, 3), (2, 3, 16, 24))


@A.check("UNet", points=1, timeout=20.0)
def unet_depth_two(t):
    """UNet(1, 3, base_channels=6, depth=2) equals the reference on 12x20 images."""
    _check_unet(t, (1, 3, 6, 2), (2, 1, 12, 20))


@A.check("UNet", points=1, timeout=20.0)
def unet_train_mode(t):
    """UNet in train mode: batch statistics, running ones updated as the reference's."""
    ref = randomize(_UNet(2, 2, 4, 2), t.generator, (4, 2, 8, 12))
    compare_train_mode(t, t.build(t.student.UNet, 2, 2, 4, 2), ref, (4, 2, 8, 12), op="model")

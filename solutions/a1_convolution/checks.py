"""Hidden checks of a1_convolution: convolution, pooling, a hand-written backward pass."""

import torch
import torch.nn.functional as F

from autograder.checks import Assignment, Forbid

A = Assignment("a1_convolution", title="Convolution from scratch")

CONV_CALLS = [
    "torch.nn.functional.conv1d",
    "torch.nn.functional.conv2d",
    "torch.nn.functional.conv3d",
    "torch.nn.functional.conv_transpose1d",
    "torch.nn.functional.conv_transpose2d",
    "torch.nn.functional.conv_transpose3d",
    "torch.conv2d",
    "torch.conv_transpose2d",
    "torch.nn.Conv2d",
    "torch.nn.ConvTranspose2d",
]
POOL_CALLS = [
    "torch.nn.functional.max_pool2d",
    "torch.nn.functional.max_pool2d_with_indices",
    "torch.nn.functional.avg_pool2d",
    "torch.max_pool2d",
    "torch.nn.MaxPool2d",
    "torch.nn.AvgPool2d",
]
POOL_OPS = ["aten.max_pool2d_with_indices", "aten.max_pool2d", "aten.avg_pool2d"]

A.item("conv_output_size")
A.item("conv2d_naive", forbid=Forbid(
    calls=CONV_CALLS + ["torch.nn.functional.unfold", "torch.Tensor.unfold"],
    ops=["aten.convolution", "aten.im2col", "aten.unfold"]))
A.item("conv2d", forbid=Forbid(calls=CONV_CALLS, ops=["aten.convolution"]))
A.item("max_pool2d", forbid=Forbid(calls=POOL_CALLS, ops=POOL_OPS))
A.item("avg_pool2d", forbid=Forbid(calls=POOL_CALLS, ops=POOL_OPS))
A.item("Conv2dFunction", kind="class", forbid=Forbid(
    calls=CONV_CALLS + ["torch.nn.grad.conv2d_input", "torch.nn.grad.conv2d_weight"],
    ops=["aten.convolution", "aten.convolution_backward"],
    autograd=True))
A.item("receptive_field")


def _output_size(size, kernel_size, stride=1, padding=0, dilation=1):
    """The output size PyTorch's own convolution gives (an empty-channel conv costs nothing)."""
    x = torch.zeros(1, 1, size, 1)
    w = torch.zeros(1, 1, kernel_size, 1)
    out = F.conv2d(x, w, stride=(stride, 1), padding=(padding, 0), dilation=(dilation, 1))
    return out.shape[2]


def _conv_inputs(t, x_shape, w_shape, bias=True):
    x = t.randn(*x_shape)
    w = t.randn(*w_shape)
    b = t.randn(w_shape[0]) if bias else None
    return x, w, b


def _check_conv(t, fn, cases, bias=True):
    """fn(x, w, b, **kwargs) matches F.conv2d on each (x shape, weight shape, kwargs) case."""
    for x_shape, w_shape, kwargs in cases:
        x, w, b = _conv_inputs(t, x_shape, w_shape, bias)
        got = fn(x, w, b, **kwargs)
        t.assert_close(got, t.reference(F.conv2d, x, w, b, **kwargs), op="conv")


# ------------------------------------------------------------------------------------------------
# conv_output_size

def _check_sizes(t, cases):
    for size, kernel_size, stride, padding, dilation in cases:
        got = t.student.conv_output_size(size, kernel_size, stride=stride, padding=padding,
                                         dilation=dilation)
        t.assert_equal(got, _output_size(size, kernel_size, stride, padding, dilation),
                       what="the output size")


@A.check("conv_output_size", points=1, dtypes=None, show_expected=True)
def sizes_with_stride_and_padding(t):
    """conv_output_size gives PyTorch's output size for kernel sizes, strides and padding."""
    _check_sizes(t, [
        (7, 3, 1, 0, 1), (32, 3, 1, 1, 1), (7, 3, 2, 0, 1), (227, 11, 4, 0, 1),
        (224, 7, 2, 3, 1), (5, 5, 1, 0, 1), (6, 1, 3, 0, 1), (28, 5, 1, 2, 1),
    ])


@A.check("conv_output_size", points=1, dtypes=None, show_expected=True)
def sizes_round_down(t):
    """conv_output_size rounds down when the stride does not divide evenly."""
    _check_sizes(t, [
        (8, 3, 2, 0, 1), (10, 4, 3, 1, 1), (9, 2, 2, 0, 1), (224, 3, 2, 1, 1), (13, 3, 5, 1, 1),
    ])


@A.check("conv_output_size", points=1, dtypes=None, show_expected=True)
def sizes_with_dilation(t):
    """conv_output_size accounts for dilation (a dilated kernel spans D*(K-1)+1 pixels)."""
    _check_sizes(t, [(9, 3, 1, 1, 2), (16, 3, 1, 0, 3), (17, 3, 2, 2, 2), (20, 5, 3, 4, 2)])
    cases = []
    for _ in range(20):
        kernel_size = t.choice([1, 2, 3, 5])
        dilation = t.choice([1, 2, 3])
        padding = t.choice([0, 1, 2])
        span = dilation * (kernel_size - 1) + 1
        size = int(t.randint(max(1, span - 2 * padding), 40, ()).item())
        cases.append((size, kernel_size, t.choice([1, 2, 3]), padding, dilation))
    _check_sizes(t, cases)


# ------------------------------------------------------------------------------------------------
# conv2d_naive

@A.check("conv2d_naive", points=1)
def naive_single_channel(t):
    """conv2d_naive matches F.conv2d for one image with one channel, a 3x3 kernel and no padding."""
    _check_conv(t, t.student.conv2d_naive, [((1, 1, 5, 6), (1, 1, 3, 3), {})])


@A.check("conv2d_naive", points=2)
def naive_stride_and_padding(t):
    """conv2d_naive matches F.conv2d on batches of non-square inputs with stride and padding."""
    _check_conv(t, t.student.conv2d_naive, [
        ((2, 3, 7, 5), (4, 3, 3, 3), dict(stride=2, padding=1)),
        ((3, 2, 9, 6), (5, 2, 5, 3), dict(stride=1, padding=2)),
        ((2, 4, 8, 9), (3, 4, 3, 3), dict(stride=2, padding=0)),
        ((2, 3, 6, 6), (2, 3, 2, 2), dict(stride=3, padding=1)),
    ])


@A.check("conv2d_naive", points=1)
def naive_pair_arguments(t):
    """conv2d_naive takes stride and padding as (H, W) pairs, with non-square kernels."""
    _check_conv(t, t.student.conv2d_naive, [
        ((2, 3, 8, 7), (4, 3, 3, 2), dict(stride=(2, 1), padding=(1, 0))),
        ((1, 2, 6, 9), (3, 2, 1, 3), dict(stride=(1, 3), padding=(0, 1))),
        ((2, 2, 7, 7), (2, 2, 3, 3), dict(stride=(1, 2), padding=(2, 1))),
    ])


@A.check("conv2d_naive", points=1)
def naive_without_bias(t):
    """conv2d_naive works with bias=None and default stride and padding."""
    _check_conv(t, lambda x, w, b, **kw: t.student.conv2d_naive(x, w, **kw),
                [((2, 3, 6, 7), (4, 3, 3, 3), {})], bias=False)
    _check_conv(t, t.student.conv2d_naive,
                [((1, 2, 7, 6), (3, 2, 3, 2), dict(stride=2, padding=1))], bias=False)


# ------------------------------------------------------------------------------------------------
# conv2d

@A.check("conv2d", points=1)
def conv_basic(t):
    """conv2d matches F.conv2d with stride 1 and no padding, on a batch with C_in != C_out."""
    _check_conv(t, t.student.conv2d, [
        ((1, 1, 5, 6), (1, 1, 3, 3), {}),
        ((2, 3, 8, 7), (5, 3, 3, 2), {}),
    ])


@A.check("conv2d", points=2)
def conv_stride_and_padding(t):
    """conv2d matches F.conv2d with stride and padding, as ints and as (H, W) pairs."""
    _check_conv(t, t.student.conv2d, [
        ((2, 3, 7, 5), (4, 3, 3, 3), dict(stride=2, padding=1)),
        ((3, 2, 9, 6), (5, 2, 5, 3), dict(stride=1, padding=2)),
        ((2, 4, 9, 8), (3, 4, 3, 3), dict(stride=2, padding=0)),
        ((2, 3, 8, 7), (4, 3, 3, 2), dict(stride=(2, 1), padding=(1, 0))),
        ((1, 2, 6, 11), (3, 2, 1, 3), dict(stride=(1, 3), padding=(0, 1))),
    ])


@A.check("conv2d", points=1)
def conv_dilation(t):
    """conv2d matches F.conv2d with dilation (int and pair), combined with stride and padding."""
    _check_conv(t, t.student.conv2d, [
        ((2, 3, 9, 8), (4, 3, 3, 3), dict(dilation=2)),
        ((1, 2, 12, 10), (3, 2, 3, 2), dict(stride=2, padding=2, dilation=(2, 3))),
        ((2, 2, 10, 9), (2, 2, 2, 3), dict(padding=(1, 2), dilation=(3, 1))),
    ])


@A.check("conv2d", points=2)
def conv_groups(t):
    """conv2d matches F.conv2d with groups: grouped, depthwise, and C_in != C_out per group."""
    _check_conv(t, t.student.conv2d, [
        ((2, 4, 7, 6), (6, 2, 3, 3), dict(padding=1, groups=2)),
        ((2, 6, 8, 9), (6, 1, 3, 3), dict(stride=2, padding=1, groups=6)),
        ((1, 6, 9, 7), (9, 2, 3, 2), dict(stride=(1, 2), padding=(1, 0), groups=3)),
        ((2, 4, 10, 10), (8, 1, 3, 3), dict(dilation=2, groups=4)),
    ])


@A.check("conv2d", points=1)
def conv_without_bias(t):
    """conv2d works with bias=None, with and without groups."""
    _check_conv(t, lambda x, w, b, **kw: t.student.conv2d(x, w, **kw),
                [((2, 3, 6, 7), (4, 3, 3, 3), {})], bias=False)
    _check_conv(t, t.student.conv2d,
                [((2, 4, 7, 6), (4, 2, 3, 2), dict(stride=2, padding=1, groups=2))], bias=False)


SPEED_LIMIT = 10.0


@A.check("conv2d", points=2, dtypes=None, devices=("cpu",), timeout=120.0)
def conv_speed(t):
    """conv2d is at most 10x slower than F.conv2d for x (4, 32, 32, 32), weight (64, 32, 3, 3)."""
    x = t.randn(4, 32, 32, 32)
    w = t.randn(64, 32, 3, 3)
    b = t.randn(64)
    theirs = t.time(t.lib("torch.nn.functional.conv2d"), x, w, b, padding=1, number=2, repeat=3)
    # one call first, so that a far too slow conv2d is not run six more times
    yours = t.time(t.student.conv2d, x, w, b, padding=1, number=1, repeat=1)
    if yours <= 3 * SPEED_LIMIT * theirs:
        yours = t.time(t.student.conv2d, x, w, b, padding=1, number=2, repeat=3, warmup=False)
    ratio = yours / theirs
    summary = (f"conv2d took {yours * 1e3:.1f} ms per call and F.conv2d {theirs * 1e3:.1f} ms "
               f"(padding 1, with bias, on the CPU): {ratio:.1f}x")
    if ratio > SPEED_LIMIT:
        t.fail(f"{summary}, more than the {SPEED_LIMIT:.0f}x allowed; vectorize it with "
               f"F.unfold and one matrix product, without Python loops")
    t.note(summary)


# ------------------------------------------------------------------------------------------------
# pooling

def _check_pool(t, name, reference, cases, op, make_input):
    for shape, args in cases:
        x = make_input(*shape)
        got = getattr(t.student, name)(x, *args)
        t.assert_close(got, t.reference(reference, x, *args), op=op)


def _negative(t):
    return lambda *shape: -t.rand(*shape) - 0.5


def _positive(t):
    return lambda *shape: t.rand(*shape) + 0.5


DEFAULT_STRIDE_CASES = [
    ((2, 3, 8, 6), (2,)),
    ((1, 2, 7, 9), (2,)),  # odd sizes: the last row and column are dropped
    ((2, 2, 9, 7), (3,)),
    ((2, 1, 8, 9), ((2, 3),)),
]
STRIDE_CASES = [
    ((2, 3, 9, 8), (3, 2)),
    ((1, 2, 10, 7), (2, 1)),
    ((2, 2, 9, 10), ((3, 2), (2, 1))),
    ((1, 3, 8, 8), (3, (1, 2))),
    ((1, 2, 11, 7), (4, 3)),
]
PADDING_CASES = [
    ((2, 3, 7, 6), (3, 2, 1)),
    ((1, 2, 6, 9), (2, 2, 1)),
    ((2, 2, 8, 7), ((3, 4), (2, 1), (1, 2))),
    ((1, 2, 5, 5), (3, None, 1)),
    ((2, 1, 7, 8), (3, 1, (0, 1))),
]


@A.check("max_pool2d", points=1)
def max_default_stride(t):
    """max_pool2d with the default stride (kernel_size) matches F.max_pool2d, sizes rounded down."""
    _check_pool(t, "max_pool2d", F.max_pool2d, DEFAULT_STRIDE_CASES, "exact", t.randn)


@A.check("max_pool2d", points=1)
def max_stride(t):
    """max_pool2d matches F.max_pool2d with explicit (overlapping) strides, ints and pairs."""
    _check_pool(t, "max_pool2d", F.max_pool2d, STRIDE_CASES, "exact", t.randn)


@A.check("max_pool2d", points=1)
def max_padding(t):
    """max_pool2d pads with -inf: matches F.max_pool2d with padding on all-negative inputs."""
    _check_pool(t, "max_pool2d", F.max_pool2d, PADDING_CASES, "exact", _negative(t))


@A.check("avg_pool2d", points=1)
def avg_default_stride(t):
    """avg_pool2d with the default stride (kernel_size) matches F.avg_pool2d, sizes rounded down."""
    _check_pool(t, "avg_pool2d", F.avg_pool2d, DEFAULT_STRIDE_CASES, "reduction", t.randn)


@A.check("avg_pool2d", points=1)
def avg_stride(t):
    """avg_pool2d matches F.avg_pool2d with explicit (overlapping) strides, ints and pairs."""
    _check_pool(t, "avg_pool2d", F.avg_pool2d, STRIDE_CASES, "reduction", t.randn)


@A.check("avg_pool2d", points=1)
def avg_padding(t):
    """avg_pool2d counts zero padding in the average: matches F.avg_pool2d with padding."""
    _check_pool(t, "avg_pool2d", F.avg_pool2d, PADDING_CASES, "reduction", _positive(t))


# ------------------------------------------------------------------------------------------------
# Conv2dFunction

def _check_function(t, cases, bias=True, x_grad=True):
    """Conv2dFunction.apply's output and gradients match F.conv2d's under autograd."""
    for x_shape, w_shape, stride, padding in cases:  # each a forward and a backward pass
        x = t.randn(*x_shape, requires_grad=x_grad)
        w = t.randn(*w_shape, requires_grad=True)
        b = t.randn(w_shape[0], requires_grad=True) if bias else None
        g = t.randn(*F.conv2d(torch.zeros(x_shape), torch.zeros(w_shape), None, stride,
                              padding).shape)
        want = t.reference_grad(F.conv2d, x, w, b, stride, padding, grad_output=g)
        got = t.grad(t.student.Conv2dFunction.apply, x, w, b, stride, padding, grad_output=g)
        t.assert_close(got.output, want.output, op="conv", what="output")
        for i, name in enumerate(["x", "weight", "bias"]):
            if want.inputs[i] is None:
                continue
            if got.inputs[i] is None:
                t.fail(f"backward returned no gradient for {name}")
            t.assert_close(got.inputs[i], want.inputs[i], op="grad", what=f"gradient of {name}")


@A.check("Conv2dFunction", points=1)
def function_forward(t):
    """Conv2dFunction.apply(x, weight, bias, stride, padding) matches F.conv2d (forward pass)."""
    for x_shape, w_shape, stride, padding in [
        ((2, 3, 7, 6), (4, 3, 3, 2), 1, 0),
        ((1, 2, 9, 8), (3, 2, 3, 3), 2, 1),
    ]:
        x, w, b = _conv_inputs(t, x_shape, w_shape)
        got = t.student.Conv2dFunction.apply(x, w, b, stride, padding)
        t.assert_close(got, t.reference(F.conv2d, x, w, b, stride, padding), op="conv")


@A.check("Conv2dFunction", points=2)
def function_gradients(t):
    """Conv2dFunction's backward gives the gradients of x, weight and bias (stride, padding)."""
    _check_function(t, [
        ((2, 3, 7, 6), (4, 3, 3, 2), 1, 0),
        ((2, 2, 9, 7), (3, 2, 3, 3), 2, 1),
        ((3, 4, 6, 8), (2, 4, 5, 3), 1, 2),
    ])


@A.check("Conv2dFunction", points=1)
def function_without_bias(t):
    """Conv2dFunction works with bias=None: gradients of x and weight, None for the bias."""
    _check_function(t, [((2, 3, 7, 6), (4, 3, 3, 3), 1, 1), ((1, 2, 8, 9), (3, 2, 2, 3), 2, 0)],
                    bias=False)


@A.check("Conv2dFunction", points=1)
def function_uncovered_pixels(t):
    """Conv2dFunction's input gradient is zero where no window reaches (stride skips the edge)."""
    _check_function(t, [((2, 2, 8, 9), (3, 2, 3, 3), 2, 0), ((1, 3, 10, 7), (2, 3, 2, 2), 3, 0)])


@A.check("Conv2dFunction", points=1)
def function_pairs_and_weight_only(t):
    """Conv2dFunction takes (H, W) pairs and 1x1 kernels, and works when x needs no gradient."""
    _check_function(t, [
        ((2, 3, 8, 7), (4, 3, 3, 2), (2, 1), (1, 0)),
        ((2, 4, 5, 6), (6, 4, 1, 1), 1, 0),
    ])
    _check_function(t, [((2, 3, 7, 7), (5, 3, 3, 3), 2, 1)], x_grad=False)


# ------------------------------------------------------------------------------------------------
# receptive_field

def _receptive_field(layers):
    field, jump = 1, 1
    for kernel_size, stride in layers:
        field += (kernel_size - 1) * jump
        jump *= stride
    return field


def _check_fields(t, stacks):
    for layers in stacks:
        # the call's description abbreviates lists longer than 6 layers: spell those out
        what = "the receptive field" if len(layers) <= 6 else f"the receptive field of {layers}"
        t.assert_equal(t.student.receptive_field(layers), _receptive_field(layers), what=what)


@A.check("receptive_field", points=1, dtypes=None, show_expected=True)
def field_stride_one(t):
    """receptive_field of stride-1 stacks: 1 + L*(K-1); one 1x1 layer or no layer gives 1."""
    _check_fields(t, [[(3, 1)] * n for n in range(1, 6)] + [[(5, 1), (5, 1)], [(1, 1)], []])


@A.check("receptive_field", points=1, dtypes=None, show_expected=True)
def field_downsampling(t):
    """receptive_field grows faster after downsampling (strided convs and pooling layers)."""
    _check_fields(t, [
        [(3, 1), (2, 2), (3, 1)],
        [(3, 1), (3, 1), (2, 2), (3, 1), (3, 1), (2, 2), (3, 1)],
        [(7, 2), (3, 2), (3, 1), (3, 1)],
        [(11, 4), (3, 2), (5, 1), (3, 2), (3, 1), (3, 1), (3, 1), (3, 2)],  # AlexNet
        [(2, 2), (2, 2), (2, 2)],
    ])


@A.check("receptive_field", points=1, dtypes=None, show_expected=True)
def field_random_stacks(t):
    """receptive_field matches on random stacks of kernel sizes and strides."""
    stacks = []
    for _ in range(10):
        depth = int(t.randint(1, 8, ()).item())
        stacks.append([(t.choice([1, 2, 3, 5, 7]), t.choice([1, 1, 2, 3])) for _ in range(depth)])
    _check_fields(t, stacks)

"""Hidden checks of a2_training: batch and layer normalization, initialization, optimizers and
LeNet-5."""

import math

import torch
import torch.nn.functional as F
from torch import nn

from autograder.checks import Assignment, Forbid

A = Assignment("a2_training", title="Training deep CNNs")

# A forbidden call stands for its operator family: aten.batch_norm also refuses
# native_batch_norm, _native_batch_norm_legit*, _batch_norm_with_update, cudnn_batch_norm, ...
# (F.instance_norm reaches them too); aten.layer_norm refuses native_layer_norm.
BATCH_NORM = Forbid(
    calls=["torch.nn.functional.batch_norm", "torch.batch_norm", "torch.nn.BatchNorm2d"],
    ops=["aten.batch_norm"])
LAYER_NORM = Forbid(
    calls=["torch.nn.functional.layer_norm", "torch.layer_norm", "torch.nn.LayerNorm"],
    ops=["aten.layer_norm"])
# nn.init's functions reach no operator of their own (normal_ is what the student uses too), so
# the names are patched while the item runs and flagged statically in its source.
INIT = Forbid(calls=["torch.nn.init.*"])
# torch.optim's classes under both their names, the functional forms behind them (public and
# private: _single_tensor_adam, _fused_sgd, ...), and the foreach and fused kernels.
OPTIM = Forbid(
    calls=["torch.optim.SGD", "torch.optim.Adam", "torch.optim.AdamW",
           "torch.optim.sgd.SGD", "torch.optim.adam.Adam", "torch.optim.adamw.AdamW",
           "torch.optim._functional", "torch.optim.sgd.sgd", "torch.optim.adam.adam",
           "torch.optim.adamw.adamw", "torch.optim.sgd._*sgd", "torch.optim.adam._*adam",
           "torch._foreach_*"],
    ops=["aten._foreach_*", "aten._fused_sgd", "aten._fused_adam", "aten._fused_adamw"])

A.item("batch_norm2d", forbid=BATCH_NORM)
A.item("BatchNorm2d", kind="class", forbid=BATCH_NORM)
A.item("layer_norm", forbid=LAYER_NORM)
A.item("xavier_normal_", forbid=INIT)
A.item("kaiming_normal_", forbid=INIT)
A.item("SGD", kind="class", forbid=OPTIM)
A.item("Adam", kind="class", forbid=OPTIM)
A.item("LeNet5", kind="class", forbid=Forbid(packages=["torchvision", "timm"]))


def _channel_batch(t, n, c, h, w, spread=True):
    """(n, c, h, w) values whose channels have means and scales far from 0 and 1 (the defaults
    of the running statistics would hide a missing update)."""
    shift = 3 * t.randn(1, c, 1, 1) if spread else 0.0
    scale = 0.5 + 2 * t.rand(1, c, 1, 1) if spread else 1.0
    return (shift + scale * t.randn(n, c, h, w)).detach()


def _in_dtype(t, state):
    """A reference state_dict with its floating tensors in the check's dtype."""
    return {k: v.to(t.dtype) if v.is_floating_point() else v for k, v in state.items()}


def _seeded(t, make):
    """``make()`` with torch's global generator seeded from the check's seed (and restored)."""
    with torch.random.fork_rng():
        torch.manual_seed(int(torch.randint(2**31 - 1, (1,), generator=t.generator)))
        return make()


# ------------------------------------------------------------------------------------------------
# batch_norm2d

def _batch_norm(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    """F.batch_norm with batch_norm2d's argument order."""
    return F.batch_norm(x, running_mean, running_var, gamma, beta, training, momentum, eps)


def _stats(t, c):
    """Running statistics far from their initial values: means around 0, variances in [0.5, 2]."""
    return t.randn(c), 0.5 + 1.5 * t.rand(c)


@A.check("batch_norm2d", points=2)
def functional_training_output(t):
    """batch_norm2d in training mode matches F.batch_norm (batch statistics, biased variance)."""
    for shape in [(4, 3, 5, 7), (2, 5, 3, 3), (8, 1, 4, 2), (3, 2, 1, 6)]:
        c = shape[1]
        x = _channel_batch(t, *shape)
        gamma, beta = 0.5 + t.rand(c), t.randn(c)
        mean, var = _stats(t, c)
        got = t.student.batch_norm2d(x, gamma, beta, mean, var, True)
        t.assert_close(got, t.reference(_batch_norm, x, gamma, beta, mean, var, True), op="norm")


@A.check("batch_norm2d", points=1)
def functional_without_affine(t):
    """batch_norm2d with gamma and/or beta None skips the scale and/or the shift, in both modes."""
    for training, use_gamma, use_beta in [(True, False, False), (False, False, False),
                                          (True, True, False), (False, False, True)]:
        x = _channel_batch(t, 3, 4, 5, 3)
        gamma = 0.5 + t.rand(4) if use_gamma else None
        beta = t.randn(4) if use_beta else None
        mean, var = _stats(t, 4)
        got = t.student.batch_norm2d(x, gamma, beta, mean, var, training)
        want = t.reference(_batch_norm, x, gamma, beta, mean, var, training)
        t.assert_close(got, want, op="norm")


@A.check("batch_norm2d", points=2)
def functional_running_statistics(t):
    """batch_norm2d updates running_mean and running_var in place as F.batch_norm does (unbiased
    variance), over four steps with momentum 0.1 and 0.4."""
    c = 4
    mean0, var0 = _stats(t, c)
    mean, var = t.remote(mean0.clone()), t.remote(var0.clone())
    ref_mean, ref_var = mean0.double(), var0.double()
    steps = [(0.1, (4, 5, 3)), (0.1, (2, 3, 3)), (0.4, (6, 2, 5)), (0.4, (3, 4, 4))]
    for step, (momentum, (n, h, w)) in enumerate(steps, 1):
        x = _channel_batch(t, n, c, h, w)
        gamma, beta = 0.5 + t.rand(c), t.randn(c)
        got = t.student.batch_norm2d(x, gamma, beta, mean, var, True, momentum=momentum)
        want = t.reference(lambda x, g, b, m=momentum: _batch_norm(x, g, b, ref_mean, ref_var,
                                                                   True, m), x, gamma, beta)
        t.assert_close(got, want, op="norm", what=f"output of step {step}")
        t.assert_close(t.fetch(mean), ref_mean, op="reduction",
                       what=f"running_mean after step {step} (momentum {momentum})")
        t.assert_close(t.fetch(var), ref_var, op="reduction",
                       what=f"running_var after step {step} (momentum {momentum})")


@A.check("batch_norm2d", points=1)
def functional_evaluation_mode(t):
    """batch_norm2d with training=False normalizes with the running statistics and leaves them
    unchanged."""
    for shape in [(4, 3, 5, 6), (1, 2, 3, 3)]:
        c = shape[1]
        mean0, var0 = _stats(t, c)
        mean, var = t.remote(mean0.clone()), t.remote(var0.clone())
        x = _channel_batch(t, *shape)
        gamma, beta = 0.5 + t.rand(c), t.randn(c)
        got = t.student.batch_norm2d(x, gamma, beta, mean, var, False)
        t.assert_close(got, t.reference(_batch_norm, x, gamma, beta, mean0, var0, False),
                       op="norm")
        t.assert_close(t.fetch(mean), mean0, op="exact", what="running_mean (evaluation mode)")
        t.assert_close(t.fetch(var), var0, op="exact", what="running_var (evaluation mode)")


@A.check("batch_norm2d", points=2)
def functional_gradients(t):
    """The gradients of batch_norm2d with respect to x, gamma and beta match autograd through
    F.batch_norm, in training and in evaluation mode."""
    for training, shape in [(True, (4, 3, 5, 6)), (True, (2, 2, 3, 1)), (False, (3, 3, 4, 5))]:
        c = shape[1]
        x = _channel_batch(t, *shape).requires_grad_()
        gamma = (0.5 + t.rand(c)).requires_grad_()
        beta = t.randn(c, requires_grad=True)
        mean, var = _stats(t, c)
        g = t.randn(*shape)
        got = t.grad(t.student.batch_norm2d, x, gamma, beta, mean.clone(), var.clone(),
                     training, grad_output=g)
        want = t.reference_grad(_batch_norm, x, gamma, beta, mean, var, training, grad_output=g)
        t.assert_close(got.output, want.output, op="norm")
        for i, name in enumerate(["x", "gamma", "beta"]):
            if got.inputs[i] is None:
                t.fail(f"{t.last_call}: no gradient reached {name}")
            mode = "training" if training else "evaluation"
            t.assert_close(got.inputs[i], want.inputs[i], op="grad",
                           what=f"gradient of {name} ({mode} mode)")


@A.check("batch_norm2d", points=1)
def functional_eps(t):
    """batch_norm2d adds eps to the variance under the square root (eps=0.1, small variances)."""
    c = 3
    x = 0.1 * t.randn(4, c, 3, 5)  # variance 0.01: eps=0.1 dominates it
    gamma, beta = 0.5 + t.rand(c), t.randn(c)
    mean, var = 0.1 * t.randn(c), 0.01 + 0.02 * t.rand(c)
    for training in (True, False):
        got = t.student.batch_norm2d(x, gamma, beta, mean.clone(), var.clone(), training,
                                     eps=0.1)
        want = t.reference(_batch_norm, x, gamma, beta, mean, var, training, eps=0.1)
        t.assert_close(got, want, op="norm")


# ------------------------------------------------------------------------------------------------
# BatchNorm2d

def _reference_bn(t, c, **kwargs):
    """nn.BatchNorm2d in float64 with a trained-looking weight and bias."""
    ref = nn.BatchNorm2d(c, **kwargs).double()
    with torch.no_grad():
        ref.weight.copy_(0.5 + torch.rand(c, generator=t.generator, dtype=torch.float64))
        ref.bias.copy_(torch.randn(c, generator=t.generator, dtype=torch.float64))
    return ref


def _build_pair(t, c, **kwargs):
    """The student's BatchNorm2d and nn.BatchNorm2d, holding the same weights."""
    ref = _reference_bn(t, c, **kwargs)
    m = t.build(t.student.BatchNorm2d, c, **kwargs)
    t.load_state_dict(m, _in_dtype(t, ref.state_dict()))
    return m, ref


def _reference_step(ref, x, g=None):
    """The reference module's output for x and, when g is given, the gradients of x and of its
    parameters (by name, x as "x")."""
    x = x.detach().double().requires_grad_(g is not None)
    out = ref(x)
    if g is None:
        return out.detach(), {}
    ref.zero_grad()
    out.backward(g.double())
    return out.detach(), {"x": x.grad, **{n: p.grad for n, p in ref.named_parameters()}}


def _compare_step(t, m, ref, x, g, label):
    """One forward (and backward) pass of both modules: outputs and gradients agree."""
    got = t.grad(m, x.requires_grad_(), grad_output=g)
    want, grads = _reference_step(ref, x, g)
    t.assert_close(got.output, want, op="norm", what=f"output {label}")
    t.assert_close(got.inputs[0], grads["x"], op="grad", what=f"gradient of x {label}")
    for name in ("weight", "bias"):
        if got.params.get(name) is None:
            t.fail(f"{t.last_call}: no gradient reached the parameter {name} {label}")
        t.assert_close(got.params[name], grads[name], op="grad",
                       what=f"gradient of {name} {label}")


@A.check("BatchNorm2d", points=1)
def module_parameters_and_buffers(t):
    """BatchNorm2d(C) has parameters weight, bias and buffers running_mean, running_var and
    num_batches_tracked (a long tensor), initialized as nn.BatchNorm2d's."""
    for c in (3, 7):
        m = t.build(t.student.BatchNorm2d, c)
        ref = nn.BatchNorm2d(c)
        t.assert_state_dict_matches(m, ref)
        params = sorted(t.describe(m)["parameters"])
        t.assert_true(params == ["bias", "weight"],
                      f"BatchNorm2d({c}) has the parameters {params}, expected ['bias', 'weight']"
                      " (the running statistics are buffers: register_buffer)")
        t.assert_close(t.state_dict(m), _in_dtype(t, ref.state_dict()), op="exact",
                       what="the initial state_dict")


@A.check("BatchNorm2d", points=2)
def module_training_mode(t):
    """BatchNorm2d in training mode matches nn.BatchNorm2d: outputs and the gradients of the
    input, weight and bias."""
    for c, shapes in [(3, [(4, 5, 6), (2, 3, 2)]), (5, [(6, 2, 3)])]:
        m, ref = _build_pair(t, c)
        for step, (n, h, w) in enumerate(shapes, 1):
            _compare_step(t, m, ref, _channel_batch(t, n, c, h, w), t.randn(n, c, h, w),
                          f"at training step {step}")


@A.check("BatchNorm2d", points=2)
def module_running_statistics(t):
    """BatchNorm2d's running_mean, running_var and num_batches_tracked follow nn.BatchNorm2d's
    over four training steps (default momentum 0.1, and momentum=0.3)."""
    for kwargs in ({}, {"momentum": 0.3}):
        c = 4
        m, ref = _build_pair(t, c, **kwargs)
        for step, (n, h, w) in enumerate([(4, 5, 6), (2, 3, 3), (8, 2, 5), (3, 7, 4)], 1):
            x = _channel_batch(t, n, c, h, w)
            got = m(x)
            t.assert_close(got, _reference_step(ref, x)[0], op="norm",
                           what=f"output at training step {step}")
            t.assert_close(t.state_dict(m), _in_dtype(t, ref.state_dict()), op="reduction",
                           what=f"after training step {step}, the state_dict")


@A.check("BatchNorm2d", points=2)
def module_evaluation_mode(t):
    """After training steps, BatchNorm2d in eval mode matches nn.BatchNorm2d (running statistics,
    gradients included), changes no buffer, and train() switches back."""
    c = 3
    m, ref = _build_pair(t, c)
    for n, h, w in [(4, 3, 5), (6, 2, 2), (2, 4, 3)]:
        x = _channel_batch(t, n, c, h, w)
        m(x)
        _reference_step(ref, x)
    m.eval()
    ref.eval()
    before = t.state_dict(m)
    _compare_step(t, m, ref, _channel_batch(t, 2, c, 5, 4), t.randn(2, c, 5, 4),
                  "in eval mode")
    t.assert_close(t.state_dict(m), before, op="exact",
                   what="after a forward pass in eval mode, the state_dict")
    m.train()
    ref.train()
    x = _channel_batch(t, 3, c, 4, 4)
    t.assert_close(m(x), _reference_step(ref, x)[0], op="norm",
                   what="output in training mode again, after eval() and train()")
    t.assert_close(t.state_dict(m), _in_dtype(t, ref.state_dict()), op="reduction",
                   what="after another training step, the state_dict")


@A.check("BatchNorm2d", points=1)
def module_eps_and_momentum(t):
    """BatchNorm2d(C, eps=0.1, momentum=0.5) uses its eps and momentum, in training and eval."""
    c = 3
    m, ref = _build_pair(t, c, eps=0.1, momentum=0.5)
    for step in (1, 2):
        x = 0.1 * t.randn(4, c, 3, 5)  # variance 0.01: eps=0.1 dominates it
        t.assert_close(m(x), _reference_step(ref, x)[0], op="norm",
                       what=f"output at training step {step}")
    t.assert_close(t.state_dict(m), _in_dtype(t, ref.state_dict()), op="reduction",
                   what="after two training steps, the state_dict")
    m.eval()
    ref.eval()
    x = 0.1 * t.randn(2, c, 4, 3)
    t.assert_close(m(x), _reference_step(ref, x)[0], op="norm", what="output in eval mode")


# ------------------------------------------------------------------------------------------------
# layer_norm

def _layer_norm_inputs(t, shape, dims, affine=True):
    x = 2 + 3 * t.randn(*shape)
    normalized = tuple(shape[-dims:])
    if not affine:
        return x, normalized, None, None
    return x, normalized, 0.5 + t.rand(*normalized), t.randn(*normalized)


@A.check("layer_norm", points=1)
def layer_norm_last_dimension(t):
    """layer_norm over the last dimension (normalized_shape an int or a 1-tuple) matches
    F.layer_norm, on token sequences (B, N, D) and matrices."""
    for shape in [(2, 5, 8), (3, 7), (2, 3, 4, 6)]:
        x, normalized, w, b = _layer_norm_inputs(t, shape, 1)
        want = t.reference(F.layer_norm, x, normalized, w, b)
        for arg in (shape[-1], normalized):
            t.assert_close(t.student.layer_norm(x, arg, w, b), want, op="norm")


@A.check("layer_norm", points=2)
def layer_norm_trailing_dimensions(t):
    """layer_norm over two and three trailing dimensions ((H, W) and (C, H, W) of images) matches
    F.layer_norm."""
    for shape, dims in [((2, 3, 4, 5), 2), ((2, 3, 4, 5), 3), ((3, 2, 5, 3), 3), ((4, 6, 5), 2)]:
        x, normalized, w, b = _layer_norm_inputs(t, shape, dims)
        got = t.student.layer_norm(x, normalized, w, b)
        t.assert_close(got, t.reference(F.layer_norm, x, normalized, w, b), op="norm")


@A.check("layer_norm", points=1)
def layer_norm_without_affine(t):
    """layer_norm without weight and bias, or with only one of them, matches F.layer_norm."""
    for shape, dims, keep in [((2, 5, 8), 1, ()), ((3, 2, 4, 5), 3, ()),
                              ((2, 4, 6), 2, ("weight",)), ((2, 3, 7), 1, ("bias",))]:
        x, normalized, w, b = _layer_norm_inputs(t, shape, dims)
        w = w if "weight" in keep else None
        b = b if "bias" in keep else None
        got = t.student.layer_norm(x, normalized, weight=w, bias=b)
        t.assert_close(got, t.reference(F.layer_norm, x, normalized, w, b), op="norm")


@A.check("layer_norm", points=2)
def layer_norm_gradients(t):
    """The gradients of layer_norm with respect to x, weight and bias match autograd through
    F.layer_norm, over one, two and three trailing dimensions."""
    for shape, dims in [((2, 5, 8), 1), ((3, 4, 6), 2), ((2, 3, 4, 5), 3)]:
        x, normalized, w, b = _layer_norm_inputs(t, shape, dims)
        x, w, b = x.requires_grad_(), w.requires_grad_(), b.requires_grad_()
        g = t.randn(*shape)
        got = t.grad(t.student.layer_norm, x, normalized, w, b, grad_output=g)
        want = t.reference_grad(F.layer_norm, x, normalized, w, b, grad_output=g)
        t.assert_close(got.output, want.output, op="norm")
        for i, name in [(0, "x"), (2, "weight"), (3, "bias")]:
            if got.inputs[i] is None:
                t.fail(f"{t.last_call}: no gradient reached {name}")
            t.assert_close(got.inputs[i], want.inputs[i], op="grad", what=f"gradient of {name}")


@A.check("layer_norm", points=1)
def layer_norm_eps(t):
    """layer_norm adds eps to the variance under the square root (eps=0.1, small variances)."""
    for shape, dims in [((2, 4, 6), 1), ((2, 3, 4, 4), 3)]:
        x = 0.1 * t.randn(*shape)
        normalized = tuple(shape[-dims:])
        w, b = 0.5 + t.rand(*normalized), t.randn(*normalized)
        got = t.student.layer_norm(x, normalized, w, b, eps=0.1)
        t.assert_close(got, t.reference(F.layer_norm, x, normalized, w, b, eps=0.1), op="norm")


# ------------------------------------------------------------------------------------------------
# xavier_normal_ and kaiming_normal_: graded statistically on tensors of 18,000 to 200,000 values,
# where the sample standard deviation of a correct fill is within 0.5% (1/sqrt(2n), one sigma) of
# the true one: 3% is more than 5.8 sigma away from it, and far from every mistake (a swapped fan,
# a wrong gain: 13% and more).

STD_TOLERANCE = 0.03
GAINS = {"linear": 1.0, "sigmoid": 1.0, "tanh": 5.0 / 3, "relu": math.sqrt(2.0)}


def _fans(shape):
    receptive_field = math.prod(shape[2:])
    return shape[1] * receptive_field, shape[0] * receptive_field


def _xavier_std(shape, gain=1.0):
    fan_in, fan_out = _fans(shape)
    return gain * math.sqrt(2.0 / (fan_in + fan_out))


def _kaiming_std(shape, nonlinearity="relu"):
    return GAINS[nonlinearity] / math.sqrt(_fans(shape)[0])


def _filled(t, name, shape, *args, **kwargs):
    """The values the student's initializer leaves: what it returned, or (when it returned no
    tensor) the tensor it was given."""
    target = t.remote(torch.zeros(shape, dtype=t.dtype))
    out = getattr(t.student, name)(target, *args, **kwargs)
    values = out if isinstance(out, torch.Tensor) else t.fetch(target)
    t.assert_true(type(values) is torch.Tensor and tuple(values.shape) == tuple(shape)
                  and values.dtype == t.dtype,
                  f"{t.last_call} should fill the {tuple(shape)} {str(t.dtype)[6:]} tensor it "
                  "is given and return it")
    return values


def _assert_std(t, values, std, shape, setting):
    """The values have mean 0 and standard deviation ``std`` (within STD_TOLERANCE)."""
    v = values.double()
    got, mean = v.std().item(), v.mean().item()
    where = f"{t.last_call} on a {tuple(shape)} tensor ({setting})"
    if not abs(got / std - 1) <= STD_TOLERANCE:
        t.fail(f"{where}: the values have standard deviation {got:.4g}, expected {std:.4g} "
               f"({got / std - 1:+.0%}; allowed ±{STD_TOLERANCE:.0%})")
    if not abs(mean) <= 6 * std / math.sqrt(v.numel()):
        t.fail(f"{where}: the values have mean {mean:.3g}, expected 0")


def _assert_normal(t, values, std, shape):
    """About 68.3% of N(0, std^2) values lie within one std of 0 (a uniform distribution with the
    same std puts 57.7% there, a normal truncated at 2 std 74%)."""
    inside = (values.double().abs() < std).double().mean().item()
    if not 0.67 <= inside <= 0.695:
        t.fail(f"{t.last_call} on a {tuple(shape)} tensor: {inside:.1%} of the values lie within "
               "one standard deviation of 0, where a normal distribution puts 68.3% (fill with "
               "normal values, e.g. tensor.normal_(0, std))")


def _check_in_place(t, name, shape, *args):
    """The initializer fills a parameter-like tensor (requires_grad) in place and returns it."""
    target = t.remote(torch.zeros(shape, dtype=t.dtype).requires_grad_())
    out = getattr(t.student, name)(target, *args)
    t.assert_true(isinstance(out, torch.Tensor) and t.is_same(out, target),
                  f"{t.last_call} should fill the tensor it is given in place and return that "
                  f"same tensor, got {'None' if out is None else 'another object'}")
    held = t.fetch(target).double()
    t.assert_true(bool(held.std() > 0), f"{t.last_call} left the tensor it was given unfilled")


def _check_rejects_vectors(t, name):
    for shape in [(10,), ()]:
        with t.raises(ValueError):
            getattr(t.student, name)(torch.zeros(shape))


LINEAR_SHAPES = [(400, 300), (200, 600)]
CONV_SHAPES = [(64, 32, 3, 3), (32, 64, 5, 3), (96, 48, 5)]


@A.check("xavier_normal_", points=2)
def xavier_linear_weights(t):
    """xavier_normal_ on linear weights (out, in): std sqrt(2 / (fan_in + fan_out)), mean 0."""
    for shape in LINEAR_SHAPES:
        _assert_std(t, _filled(t, "xavier_normal_", shape), _xavier_std(shape), shape, "gain 1")


@A.check("xavier_normal_", points=2)
def xavier_conv_weights(t):
    """xavier_normal_ on conv weights (C_out, C_in, kH, kW) and (C_out, C_in, k): fans include
    the receptive field."""
    for shape in CONV_SHAPES:
        _assert_std(t, _filled(t, "xavier_normal_", shape), _xavier_std(shape), shape, "gain 1")


@A.check("xavier_normal_", points=1)
def xavier_gain(t):
    """xavier_normal_ multiplies the std by gain (5/3 as for tanh, and sqrt(2))."""
    for shape, gain in [((300, 500), 5.0 / 3), ((64, 48, 3, 3), math.sqrt(2.0))]:
        values = _filled(t, "xavier_normal_", shape, gain=gain)
        _assert_std(t, values, _xavier_std(shape, gain), shape, f"gain {gain:.4g}")


@A.check("xavier_normal_", points=1)
def xavier_normal_distribution(t):
    """xavier_normal_ draws from a normal distribution (not a uniform one of the same std)."""
    shape = (500, 400)
    _assert_normal(t, _filled(t, "xavier_normal_", shape), _xavier_std(shape), shape)


@A.check("xavier_normal_", points=1)
def xavier_in_place(t):
    """xavier_normal_ fills a weight that requires grad in place and returns that same tensor."""
    _check_in_place(t, "xavier_normal_", (120, 80))


@A.check("xavier_normal_", points=1, dtypes=None)
def xavier_rejects_vectors(t):
    """xavier_normal_ raises ValueError for a tensor with fewer than 2 dimensions."""
    _check_rejects_vectors(t, "xavier_normal_")


@A.check("kaiming_normal_", points=2)
def kaiming_linear_weights(t):
    """kaiming_normal_ on linear weights (out, in) with the default ReLU gain: std
    sqrt(2 / fan_in)."""
    for shape in LINEAR_SHAPES:
        values = _filled(t, "kaiming_normal_", shape)
        _assert_std(t, values, _kaiming_std(shape), shape, "default nonlinearity")


@A.check("kaiming_normal_", points=2)
def kaiming_conv_weights(t):
    """kaiming_normal_ on conv weights: fan_in = C_in times the receptive field."""
    for shape in CONV_SHAPES:
        values = _filled(t, "kaiming_normal_", shape, nonlinearity="relu")
        _assert_std(t, values, _kaiming_std(shape), shape, "relu")


@A.check("kaiming_normal_", points=2)
def kaiming_nonlinearities(t):
    """kaiming_normal_ uses PyTorch's gain for "linear", "sigmoid" (1), "tanh" (5/3) and "relu"
    (sqrt 2)."""
    shape = (300, 400)
    for nonlinearity in ("linear", "sigmoid", "tanh", "relu"):
        values = _filled(t, "kaiming_normal_", shape, nonlinearity=nonlinearity)
        _assert_std(t, values, _kaiming_std(shape, nonlinearity), shape, repr(nonlinearity))
    shape = (64, 48, 3, 3)
    values = _filled(t, "kaiming_normal_", shape, "tanh")  # positional
    _assert_std(t, values, _kaiming_std(shape, "tanh"), shape, "'tanh'")


@A.check("kaiming_normal_", points=1)
def kaiming_normal_distribution(t):
    """kaiming_normal_ draws from a normal distribution (not a uniform one of the same std)."""
    shape = (500, 400)
    _assert_normal(t, _filled(t, "kaiming_normal_", shape), _kaiming_std(shape), shape)


@A.check("kaiming_normal_", points=1)
def kaiming_in_place(t):
    """kaiming_normal_ fills a weight that requires grad in place and returns that same tensor."""
    _check_in_place(t, "kaiming_normal_", (120, 80))


@A.check("kaiming_normal_", points=1, dtypes=None)
def kaiming_rejects_vectors(t):
    """kaiming_normal_ raises ValueError for a tensor with fewer than 2 dimensions."""
    _check_rejects_vectors(t, "kaiming_normal_")


# ------------------------------------------------------------------------------------------------
# SGD and Adam

# The first optimizer a submission builds costs it 1.5-3 s: torch.optim.Optimizer's methods are
# wrapped in torch._disable_dynamo, whose first call imports torch._dynamo in the worker.
OPTIMIZER_TIMEOUT = 30.0

def _follow(t, student, reference, shapes, steps, defaults, has_grad=None, resume_at=None):
    """Run the student's optimizer and ``reference`` over the same parameters and gradients;
    ``has_grad(step, i)`` says which parameters get one at each step (the others have None);
    at step ``resume_at`` the student's optimizer is replaced by a new one that loads its
    ``state_dict()``. Compares every parameter after every step."""
    initial = [t.randn(*s) for s in shapes]
    ref_params = [p.double().requires_grad_() for p in initial]
    ref_opt = reference(ref_params, **defaults)
    mine = [t.remote(p.clone().requires_grad_()) for p in initial]
    opt = student(list(mine), **defaults)
    name = student._label
    for step in range(steps):
        if step == resume_at:
            saved = opt.state_dict()
            t.release(opt)
            opt = student(list(mine), **defaults)
            opt.load_state_dict(saved)
        for i, (p, r) in enumerate(zip(mine, ref_params)):
            g = t.randn(*shapes[i]) if has_grad is None or has_grad(step, i) else None
            p.grad = g
            r.grad = None if g is None else g.double()
        opt.step()
        with torch.no_grad():
            ref_opt.step()
        for i, (p, r) in enumerate(zip(mine, ref_params)):
            where = f"parameter {i} {tuple(shapes[i])} after step {step + 1} of {steps}"
            if resume_at is not None and step >= resume_at:
                where += (f" (the optimizer was rebuilt from state_dict() after step "
                          f"{resume_at})")
            t.assert_close(t.fetch(p), r.detach(), op="reduction",
                           what=f"{where}, compared with torch.optim.{reference.__name__}"
                                f" ({name}({', '.join(f'{k}={v}' for k, v in defaults.items())}))")


@A.check("SGD", points=1, timeout=OPTIMIZER_TIMEOUT)
def sgd_plain(t):
    """SGD without momentum follows torch.optim.SGD over 10 steps."""
    t.optimizer_steps(t.student.SGD, torch.optim.SGD, steps=10, defaults={"lr": 0.1},
                      groups=[{"shapes": [(5, 3), (3,), (2, 2, 2)]}])


@A.check("SGD", points=2, timeout=OPTIMIZER_TIMEOUT)
def sgd_momentum(t):
    """SGD with momentum follows torch.optim.SGD over 20 steps: two parameter groups with their
    own lr and momentum, and a parameter that never gets a gradient."""
    t.optimizer_steps(t.student.SGD, torch.optim.SGD, steps=20,
                      defaults={"lr": 0.05, "momentum": 0.9},
                      groups=[{"shapes": [(4, 3), (3,)]},
                              {"shapes": [(5,), (2, 3)], "lr": 0.01, "momentum": 0.5}],
                      no_grad=[3])


@A.check("SGD", points=2, timeout=OPTIMIZER_TIMEOUT)
def sgd_weight_decay(t):
    """SGD with weight decay (added to the gradient, before momentum) follows torch.optim.SGD,
    with and without momentum; a parameter without gradient is not decayed."""
    t.optimizer_steps(t.student.SGD, torch.optim.SGD, steps=15,
                      defaults={"lr": 0.05, "momentum": 0.9, "weight_decay": 0.1},
                      groups=[{"shapes": [(4, 3), (3,)]},
                              {"shapes": [(6,), (2, 2)], "momentum": 0.0, "weight_decay": 0.05}],
                      no_grad=[1])


@A.check("SGD", points=1, timeout=OPTIMIZER_TIMEOUT)
def sgd_state_dict(t):
    """SGD keeps its momentum buffers in self.state: training continues exactly after
    state_dict() is loaded into a new SGD."""
    _follow(t, t.student.SGD, torch.optim.SGD, [(4, 3), (3,)], steps=8,
            defaults={"lr": 0.05, "momentum": 0.9}, resume_at=4)


@A.check("Adam", points=1, timeout=OPTIMIZER_TIMEOUT)
def adam_defaults(t):
    """Adam with its default hyperparameters (lr 1e-3, betas (0.9, 0.999), eps 1e-8) follows
    torch.optim.Adam over 10 steps."""
    t.optimizer_steps(t.student.Adam, torch.optim.Adam, steps=10, defaults={},
                      groups=[{"shapes": [(5, 3), (3,)]}])


@A.check("Adam", points=2, timeout=OPTIMIZER_TIMEOUT)
def adam_groups(t):
    """Adam follows torch.optim.Adam over 25 steps: two parameter groups with their own lr and
    betas, and a parameter that never gets a gradient."""
    t.optimizer_steps(t.student.Adam, torch.optim.Adam, steps=25, defaults={"lr": 0.02},
                      groups=[{"shapes": [(4, 3), (3,)]},
                              {"shapes": [(6,), (2, 2)], "lr": 0.005, "betas": (0.8, 0.99)}],
                      no_grad=[2])


@A.check("Adam", points=1, timeout=OPTIMIZER_TIMEOUT)
def adam_eps(t):
    """Adam adds eps outside the square root: follows torch.optim.Adam with eps=0.1."""
    t.optimizer_steps(t.student.Adam, torch.optim.Adam, steps=10,
                      defaults={"lr": 0.05, "eps": 0.1}, groups=[{"shapes": [(5, 4), (4,)]}])


@A.check("Adam", points=1, timeout=OPTIMIZER_TIMEOUT)
def adam_step_per_parameter(t):
    """Adam counts steps per parameter: one that gets a gradient only every other step follows
    torch.optim.Adam (bias correction with its own step count)."""
    _follow(t, t.student.Adam, torch.optim.Adam, [(4, 3), (5,)], steps=8,
            defaults={"lr": 0.05}, has_grad=lambda step, i: i == 0 or step % 2 == 1)


@A.check("Adam", points=1, timeout=OPTIMIZER_TIMEOUT)
def adam_state_dict(t):
    """Adam keeps its moments and step counts in self.state: training continues exactly after
    state_dict() is loaded into a new Adam."""
    _follow(t, t.student.Adam, torch.optim.Adam, [(4, 3), (3,)], steps=8,
            defaults={"lr": 0.05}, resume_at=4)


# ------------------------------------------------------------------------------------------------
# LeNet5

class _LeNet5(nn.Module):
    """The reference LeNet-5 (ReLU, max pooling)."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.pool1 = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.pool2 = nn.MaxPool2d(2, 2)
        self.fc1 = nn.Linear(400, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, num_classes)

    def forward(self, x):
        x = self.pool1(F.relu(self.conv1(x)))
        x = self.pool2(F.relu(self.conv2(x)))
        x = F.relu(self.fc1(x.flatten(1)))
        return self.fc3(F.relu(self.fc2(x)))


def _lenet_pair(t, num_classes):
    """The student's LeNet5 holding the weights of a seeded reference."""
    ref = _seeded(t, lambda: _LeNet5(num_classes))
    m = t.build(t.student.LeNet5, num_classes=num_classes)
    t.load_state_dict(m, _in_dtype(t, ref.state_dict()))
    return m, ref


@A.check("LeNet5", points=1, dtypes=None, show_expected=True)
def lenet_parameter_count(t):
    """LeNet5() has 61,706 parameters, and LeNet5(num_classes=3) 61,111."""
    for kwargs, count in [({}, 61_706), ({"num_classes": 3}, 61_111)]:
        m = t.build(t.student.LeNet5, **kwargs)
        n = sum(math.prod(shape) for shape, *_ in t.describe(m)["parameters"].values())
        args = ", ".join(f"{k}={v}" for k, v in kwargs.items())
        t.assert_equal(n, count, what=f"the number of parameters of LeNet5({args})")


@A.check("LeNet5", points=1, dtypes=None)
def lenet_names_and_shapes(t):
    """LeNet5's state_dict has conv1, conv2, fc1, fc2, fc3 with PyTorch's shapes, and pool1,
    pool2 are nn.MaxPool2d submodules."""
    for num_classes in (10, 3):
        m = t.build(t.student.LeNet5, num_classes=num_classes)
        t.assert_state_dict_matches(m, _LeNet5(num_classes))
    modules = t.describe(m)["modules"]
    for name in ("pool1", "pool2"):
        found = modules.get(name)
        t.assert_true(found == "MaxPool2d", f"LeNet5(...).{name} should be an nn.MaxPool2d, "
                      f"found {'no such submodule' if found is None else 'a ' + found}")


@A.check("LeNet5", points=2)
def lenet_logits(t):
    """LeNet5 holding a reference state_dict gives the reference's logits (10 and 4 classes)."""
    for num_classes, n in [(10, 5), (4, 2)]:
        m, ref = _lenet_pair(t, num_classes)
        x = t.randn(n, 1, 32, 32)
        t.assert_close(m(x), t.reference(ref, x), op="model", what="logits")


@A.check("LeNet5", points=2)
def lenet_gradients(t):
    """LeNet5's gradients with respect to its input and every parameter match the reference's."""
    m, ref = _lenet_pair(t, 10)
    x = t.randn(3, 1, 32, 32, requires_grad=True)
    g = t.randn(3, 10)
    got = t.grad(m, x, grad_output=g)
    want = t.reference_grad(ref, x, grad_output=g)
    t.assert_close(got.output, want.output, op="model", what="logits")
    t.assert_close(got.inputs[0], want.inputs[0], op="grad", what="gradient of the input")
    for name, grad in want.params.items():
        t.assert_close(got.params.get(name), grad, op="grad", what=f"gradient of {name}")

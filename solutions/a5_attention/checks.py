"""Hidden checks of a5_attention: scaled dot-product attention, the causal mask, the sinusoidal
encoding, multi-head self- and cross-attention, transformer encoder and decoder blocks.

References are PyTorch's own layers in float64: ``F.scaled_dot_product_attention``,
``nn.MultiheadAttention`` (``batch_first=True``, ``attn_mask=~mask``),
``nn.TransformerEncoderLayer`` and ``nn.TransformerDecoderLayer`` (GELU, ``layer_norm_eps=1e-6``,
no dropout), each holding perturbed weights (PyTorch starts attention biases at 0 and LayerNorms
at 1 and 0: defaults would hide a missing bias or a swapped norm) that the student's module loads
with ``strict=True``."""

import math

import torch
import torch.nn.functional as F
from torch import nn

from autograder.checks import Assignment, Forbid

A = Assignment("a5_attention", title="Attention and transformer blocks")

ATTENTION_CALLS = [
    "torch.nn.functional.scaled_dot_product_attention",
    "torch.nn.functional.multi_head_attention_forward",
    "torch.nn.MultiheadAttention",
]
ATTENTION_OPS = ["aten.scaled_dot_product_attention"]  # the fused kernels and native MHA too
TRANSFORMER_CALLS = ATTENTION_CALLS + ["torch.nn.Transformer*"]
TRANSFORMER_OPS = ATTENTION_OPS + ["aten._transformer_encoder_layer_fwd"]
LIBRARIES = ["torchvision", "timm"]

A.item("scaled_dot_product_attention", forbid=Forbid(calls=ATTENTION_CALLS, ops=ATTENTION_OPS))
A.item("causal_mask")
A.item("sinusoidal_positional_encoding")
A.item("MultiHeadSelfAttention", kind="class",
       forbid=Forbid(calls=ATTENTION_CALLS, ops=ATTENTION_OPS, packages=LIBRARIES))
A.item("MultiHeadCrossAttention", kind="class",
       forbid=Forbid(calls=ATTENTION_CALLS, ops=ATTENTION_OPS, packages=LIBRARIES))
A.item("TransformerEncoderBlock", kind="class",
       forbid=Forbid(calls=TRANSFORMER_CALLS, ops=TRANSFORMER_OPS, packages=LIBRARIES))
A.item("TransformerDecoderBlock", kind="class",
       forbid=Forbid(calls=TRANSFORMER_CALLS, ops=TRANSFORMER_OPS, packages=LIBRARIES))


# ------------------------------------------------------------------------------------------------
# inputs

def _mask(t, *shape):
    """A random boolean mask of ``shape`` (True = allowed) in which every query row allows at
    least one key (a row that allows none has an unspecified output)."""
    mask = t.rand(*shape) > 0.5
    keep = t.randint(0, shape[-1], (*shape[:-1], 1))
    return mask.scatter(-1, keep, True)


def _blocked(mask, heads, batch):
    """The assignment's mask (True = allowed; (N, M), (B, N, M) or (B, heads, N, M)) as
    nn.MultiheadAttention's attn_mask: True = blocked, (N, M) or (B * heads, N, M)."""
    if mask is None:
        return None
    if mask.dim() == 2:
        return ~mask
    if mask.dim() == 3:
        mask = mask[:, None]
    return ~mask.expand(batch, heads, *mask.shape[-2:]).reshape(batch * heads, *mask.shape[-2:])


def _perturbed(module, generator):
    """``module`` in float64 with every parameter and floating buffer moved off its default."""
    module = module.double()
    with torch.no_grad():
        for v in list(module.parameters()) + list(module.buffers()):
            if v.is_floating_point():
                v.add_(0.1 * torch.randn(v.shape, generator=generator, dtype=v.dtype))
    return module


# ------------------------------------------------------------------------------------------------
# references: PyTorch's layers with the assignment's mask convention, and their names mapped to
# the assignment's (the same mapping renames a state_dict and a dict of parameter gradients)

def _attention_reference(q, k, v, mask=None):
    """F.scaled_dot_product_attention's output, and the softmax weights it averages with."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask), torch.softmax(scores, -1)


class _SelfAttentionRef(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.mha = nn.MultiheadAttention(dim, heads, batch_first=True)

    def forward(self, x, mask=None):
        blocked = _blocked(mask, self.heads, x.shape[0])
        return self.mha(x, x, x, attn_mask=blocked, need_weights=False)[0]


class _CrossAttentionRef(_SelfAttentionRef):
    def forward(self, x, context, mask=None):
        blocked = _blocked(mask, self.heads, x.shape[0])
        return self.mha(x, context, context, attn_mask=blocked, need_weights=False)[0]


class _EncoderRef(nn.Module):
    def __init__(self, dim, heads, mlp_ratio=4.0, pre_norm=True):
        super().__init__()
        self.heads = heads
        self.layer = nn.TransformerEncoderLayer(
            dim, heads, dim_feedforward=int(dim * mlp_ratio), dropout=0.0, activation="gelu",
            layer_norm_eps=1e-6, batch_first=True, norm_first=pre_norm)

    def forward(self, x, mask=None):
        return self.layer(x, src_mask=_blocked(mask, self.heads, x.shape[0]))


class _DecoderRef(nn.Module):
    def __init__(self, dim, heads, mlp_ratio=4.0):
        super().__init__()
        self.heads = heads
        self.layer = nn.TransformerDecoderLayer(
            dim, heads, dim_feedforward=int(dim * mlp_ratio), dropout=0.0, activation="gelu",
            layer_norm_eps=1e-6, batch_first=True, norm_first=True)

    def forward(self, x, context, context_mask=None):
        n = x.shape[1]
        causal = torch.ones(n, n, dtype=torch.bool).triu(1)  # True = blocked
        return self.layer(x, context, tgt_mask=causal,
                          memory_mask=_blocked(context_mask, self.heads, x.shape[0]))


def _attention_names(tensors, src, dst, dim, cross):
    """nn.MultiheadAttention's entries under ``src`` renamed to the assignment's under ``dst``:
    in_proj to qkv (or to q and kv for cross-attention), out_proj to proj."""
    out = {}
    for name, v in tensors.items():
        if not name.startswith(src):
            continue
        rest = name[len(src):]
        if rest.startswith("in_proj_"):
            kind = rest.removeprefix("in_proj_")
            if cross:
                out[f"{dst}q.{kind}"], out[f"{dst}kv.{kind}"] = v[:dim], v[dim:]
            else:
                out[f"{dst}qkv.{kind}"] = v
        elif rest.startswith("out_proj."):
            out[f"{dst}proj.{rest.removeprefix('out_proj.')}"] = v
    return out


def _block_names(tensors, dim, attentions):
    """A transformer layer's entries (``layer.``) renamed: the attentions as listed, the norms
    as they are, linear1 and linear2 to mlp.fc1 and mlp.fc2."""
    out = {}
    for src, dst, cross in attentions:
        out.update(_attention_names(tensors, f"layer.{src}", dst, dim, cross))
    for name, v in tensors.items():
        rest = name.removeprefix("layer.")
        if rest.startswith("norm"):
            out[rest] = v
        elif rest.startswith(("linear1.", "linear2.")):
            out["mlp.fc" + rest.removeprefix("linear")] = v
    return out


def _self_names(tensors, dim):
    return _attention_names(tensors, "mha.", "", dim, cross=False)


def _cross_names(tensors, dim):
    return _attention_names(tensors, "mha.", "", dim, cross=True)


def _encoder_names(tensors, dim):
    return _block_names(tensors, dim, [("self_attn.", "attn.", False)])


def _decoder_names(tensors, dim):
    return _block_names(tensors, dim, [("self_attn.", "self_attn.", False),
                                       ("multihead_attn.", "cross_attn.", True)])


def _loaded(t, model, ref, names, dim, drop=()):
    """The student's module ``model`` holding the reference's weights under the assignment's
    names (strict: same keys and shapes), in this check's dtype."""
    weights = {k: v.to(t.dtype) for k, v in names(ref.state_dict(), dim).items() if k not in drop}
    t.assert_state_dict_matches(model, weights)
    t.load_state_dict(model, weights)
    return model


def _compare(t, model, ref, names, dim, inputs, grad_shape, drop=(), op="attention", **kwargs):
    """Output and the gradients of every input and parameter of the student's module equal the
    reference's (with ``kwargs``, e.g. a mask, passed to both)."""
    g = t.randn(*grad_shape)
    want = t.reference_grad(ref, *inputs, grad_output=g, **kwargs)
    got = t.grad(model, *inputs, grad_output=g, **kwargs)
    t.assert_close(got.output, want.output, op=op)
    labels = ["x", "context"]
    for i, grad in enumerate(want.inputs):
        t.assert_close(got.inputs[i], grad, op="grad", what=f"gradient of {labels[i]}")
    for name, grad in names(want.params, dim).items():
        if name not in drop:
            t.assert_close(got.params.get(name), grad, op="grad", what=f"gradient of {name}")


# ------------------------------------------------------------------------------------------------
# scaled_dot_product_attention

def _check_attention(t, cases, grad=False):
    """Output and weights (and, with grad, the gradients of q, k and v through both) match the
    reference for each (q shape, k shape, v shape, mask shape or None) case."""
    for q_shape, k_shape, v_shape, mask_shape in cases:
        q, k, v = (t.randn(*s, requires_grad=grad) for s in (q_shape, k_shape, v_shape))
        mask = None if mask_shape is None else _mask(t, *mask_shape)
        if not grad:
            got = t.student.scaled_dot_product_attention(q, k, v, mask)
            t.assert_close(got, t.reference(_attention_reference, q, k, v, mask), op="attention",
                           what="(out, weights)")
            continue
        out_shape, weights_shape = (x.shape for x in t.reference(_attention_reference, q, k, v,
                                                                 mask))
        g = (t.randn(*out_shape), t.randn(*weights_shape))
        want = t.reference_grad(_attention_reference, q, k, v, mask, grad_output=g)
        got = t.grad(t.student.scaled_dot_product_attention, q, k, v, mask, grad_output=g)
        t.assert_close(got.output, want.output, op="attention", what="(out, weights)")
        for i, name in enumerate("qkv"):
            t.assert_close(got.inputs[i], want.inputs[i], op="grad", what=f"gradient of {name}")


@A.check("scaled_dot_product_attention", points=2)
def attention_matches_reference(t):
    """Output and weights match F.scaled_dot_product_attention for N != M, d != d_v, with 0, 1
    and 2 batch dimensions."""
    _check_attention(t, [
        ((5, 8), (7, 8), (7, 6), None),
        ((2, 5, 8), (2, 9, 8), (2, 9, 3), None),
        ((2, 3, 4, 6), (2, 3, 7, 6), (2, 3, 7, 5), None),
    ])


@A.check("scaled_dot_product_attention", points=1)
def attention_scale(t):
    """Scores are scaled by 1/sqrt(d), d the width of queries and keys (not 1/d, not unscaled,
    not the value width or the number of keys)."""
    for d, n, m, d_v in [(2, 3, 5, 7), (5, 4, 6, 2), (16, 3, 4, 9), (64, 5, 3, 4)]:
        q, k, v = t.randn(2, n, d), t.randn(2, m, d), t.randn(2, m, d_v)
        got = t.student.scaled_dot_product_attention(q, k, v)
        t.assert_close(got, t.reference(_attention_reference, q, k, v), op="attention",
                       what="(out, weights)")


@A.check("scaled_dot_product_attention", points=2)
def attention_masks(t):
    """Boolean masks (True = allowed) of every documented shape: (N, M) shared, per batch, per
    head, and broadcast key-padding masks (B, 1, 1, M)."""
    _check_attention(t, [
        ((2, 3, 5, 8), (2, 3, 7, 8), (2, 3, 7, 4), (5, 7)),
        ((2, 3, 5, 8), (2, 3, 7, 8), (2, 3, 7, 4), (2, 1, 5, 7)),
        ((2, 3, 5, 8), (2, 3, 7, 8), (2, 3, 7, 4), (2, 3, 5, 7)),
        ((2, 3, 5, 8), (2, 3, 7, 8), (2, 3, 7, 4), (2, 1, 1, 7)),
        ((3, 6, 4), (3, 6, 4), (3, 6, 5), (3, 6, 6)),
        ((6, 4), (9, 4), (9, 2), (6, 9)),
    ])


@A.check("scaled_dot_product_attention", points=1)
def attention_weights_are_distributions(t):
    """Each row of the weights sums to 1 and is exactly 0 where the mask is False (causal and
    key-padding masks)."""
    n, d = 6, 8
    causal = torch.ones(n, n, dtype=torch.bool).tril()
    padding = _mask(t, 3, 1, 1, n)
    for mask in (causal, padding):
        q, k, v = t.randn(3, 2, n, d), t.randn(3, 2, n, d), t.randn(3, 2, n, 5)
        _, weights = t.student.scaled_dot_product_attention(q, k, v, mask)
        want_shape = (3, 2, n, n)
        t.assert_true(tuple(weights.shape) == want_shape,
                      f"{t.last_call}: weights have shape {tuple(weights.shape)}, expected "
                      f"{want_shape}")
        masked = weights.masked_select(~mask.expand(want_shape))
        t.assert_true(bool((masked == 0).all()),
                      f"{t.last_call}: weights are not exactly 0 where the mask is False (largest "
                      f"{float(masked.abs().max()):.3g}): set those scores to -inf before the "
                      "softmax")
        sums = weights.double().sum(-1)
        t.assert_true(bool(((sums - 1).abs() <= 1e-5).all()),
                      f"{t.last_call}: rows of the weights sum to between {float(sums.min()):.6g} "
                      f"and {float(sums.max()):.6g}, not 1")


@A.check("scaled_dot_product_attention", points=2)
def attention_gradients(t):
    """Gradients of q, k and v, through the output and through the weights, with and without a
    mask."""
    _check_attention(t, [
        ((2, 5, 8), (2, 7, 8), (2, 7, 3), None),
        ((2, 3, 4, 6), (2, 3, 6, 6), (2, 3, 6, 5), (2, 1, 4, 6)),
    ], grad=True)


@A.check("scaled_dot_product_attention", points=1)
def attention_large_scores(t):
    """Scores of about a thousand do not overflow: the softmax subtracts each row's maximum."""
    q, k, v = 20 * t.randn(2, 5, 4), 20 * t.randn(2, 6, 4), t.randn(2, 6, 3)
    # the check is about inf and nan; float32 holds scores near 1000 only to about 1e-4
    tol = 1e-3 if t.dtype == torch.float32 else None
    got = t.student.scaled_dot_product_attention(q, k, v)
    t.assert_close(got, t.reference(_attention_reference, q, k, v), op="attention",
                   what="(out, weights)", atol=tol, rtol=tol)


# ------------------------------------------------------------------------------------------------
# causal_mask

@A.check("causal_mask", points=2, dtypes=None)
def causal_mask_values(t):
    """causal_mask(n) is a bool (n, n) tensor, True on and below the diagonal, for n = 1 ... 13."""
    for n in (1, 2, 3, 5, 8, 13):
        got = t.student.causal_mask(n, device=t.device)
        t.assert_equal(got, torch.ones(n, n, dtype=torch.bool).tril(), what="the mask")


@A.check("causal_mask", points=1, dtypes=None)
def causal_mask_device(t):
    """causal_mask(n, device=...) creates the mask on that device; causal_mask(n) on the CPU."""
    got = t.student.causal_mask(4, device=t.device)
    t.assert_equal(got, torch.ones(4, 4, dtype=torch.bool).tril(), what="the mask")
    got = t.student.causal_mask(3)
    t.assert_true(t.device_of(got) == "cpu" and got.dtype == torch.bool,
                  f"{t.last_call} should be a bool tensor on the default device (the CPU), got "
                  f"{got.dtype} on {t.device_of(got)}")


# ------------------------------------------------------------------------------------------------
# sinusoidal_positional_encoding

def _encoding(num_positions, dim):
    t = torch.arange(num_positions, dtype=torch.float64)[:, None]
    angles = t * 10000.0 ** (-torch.arange(0, dim, 2, dtype=torch.float64) / dim)
    return torch.stack([angles.sin(), angles.cos()], dim=-1).reshape(num_positions, dim)


def _check_encoding(t, cases, atol):
    for num_positions, dim in cases:
        got = t.student.sinusoidal_positional_encoding(num_positions, dim)
        t.assert_close(got, _encoding(num_positions, dim), dtype=torch.float32, atol=atol, rtol=0.0,
                       what=f"the encoding ({num_positions} positions, dim {dim})")


@A.check("sinusoidal_positional_encoding", points=2, dtypes=None)
def encoding_values(t):
    """sin at even, cos at odd dimensions, frequency 10000^(-2i/dim), positions from 0, in the
    default dtype (float32), within 2e-5 up to 60 positions."""
    _check_encoding(t, [(6, 8), (11, 4), (1, 2), (60, 32), (9, 6), (17, 2)], atol=2e-5)


@A.check("sinusoidal_positional_encoding", points=1, dtypes=None)
def encoding_long_sequences(t):
    """Long sequences (6,000 and 10,000 positions) in float32, within 2e-3: float32 holds angles
    near 10,000 rad only to about 1e-3."""
    _check_encoding(t, [(6000, 64), (10000, 16)], atol=2e-3)


# ------------------------------------------------------------------------------------------------
# MultiHeadSelfAttention

def _self_attention(t, dim, heads, qkv_bias=True):
    """The student's module and the reference, the reference's weights loaded into it."""
    ref = _perturbed(_SelfAttentionRef(dim, heads), t.generator)
    drop = ()
    if not qkv_bias:
        drop = ("qkv.bias",)
        with torch.no_grad():
            ref.mha.in_proj_bias.zero_()
        ref.mha.in_proj_bias.requires_grad_(False)
    model = t.build(t.student.MultiHeadSelfAttention, dim, heads, qkv_bias=qkv_bias)
    return _loaded(t, model, ref, _self_names, dim, drop), ref, drop


@A.check("MultiHeadSelfAttention", points=1, dtypes=None)
def self_attention_state_dict(t):
    """state_dict: qkv (dim -> 3 dim, its bias only with qkv_bias=True) and proj (with bias)."""
    for dim, heads, qkv_bias in [(12, 3, True), (8, 2, False)]:
        ref = _SelfAttentionRef(dim, heads)
        want = {k: v for k, v in _self_names(ref.state_dict(), dim).items()
                if qkv_bias or k != "qkv.bias"}
        model = t.build(t.student.MultiHeadSelfAttention, dim, heads, qkv_bias=qkv_bias)
        t.assert_state_dict_matches(model, want)


@A.check("MultiHeadSelfAttention", points=3)
def self_attention_matches_torch(t):
    """Equals nn.MultiheadAttention(batch_first=True) with the same weights: output and gradients
    of x and every parameter, 1 to 4 heads, with and without the qkv bias."""
    for dim, heads, batch, n, qkv_bias in [(12, 3, 2, 5, True), (16, 4, 3, 7, True),
                                           (8, 1, 2, 4, True), (12, 2, 2, 6, False)]:
        model, ref, drop = _self_attention(t, dim, heads, qkv_bias)
        x = t.randn(batch, n, dim, requires_grad=True)
        _compare(t, model, ref, _self_names, dim, [x], (batch, n, dim), drop)


@A.check("MultiHeadSelfAttention", points=2)
def self_attention_masks(t):
    """Masks (N, N), (B, N, N) and (B, heads, N, N) act as nn.MultiheadAttention's attn_mask=~mask
    (B = heads included, where a missing head axis broadcasts silently)."""
    for dim, heads, batch, n, shape in [(12, 3, 2, 5, (5, 5)), (12, 3, 2, 5, (2, 5, 5)),
                                        (12, 3, 3, 6, (3, 6, 6)), (8, 2, 2, 4, (2, 2, 4, 4))]:
        model, ref, drop = _self_attention(t, dim, heads)
        x = t.randn(batch, n, dim, requires_grad=True)
        _compare(t, model, ref, _self_names, dim, [x], (batch, n, dim), drop,
                 mask=_mask(t, *shape))


@A.check("MultiHeadSelfAttention", points=1, dtypes=("float64",))
def self_attention_causality(t):
    """With a causal mask, changing tokens t..N-1 leaves the outputs before t unchanged, to the
    bit (float64)."""
    dim, heads, batch, n, cut = 12, 3, 2, 7, 4
    model, _, _ = _self_attention(t, dim, heads)
    causal = torch.ones(n, n, dtype=torch.bool).tril()
    x = t.randn(batch, n, dim)
    future = x.clone()
    future[:, cut:] += 3 * t.randn(batch, n - cut, dim)
    before, after = model(x, causal), model(future, causal)
    t.assert_true(torch.equal(before[:, :cut], after[:, :cut]),
                  f"changing tokens {cut}..{n - 1} changed the outputs before them by up to "
                  f"{float((before - after)[:, :cut].abs().max()):.3g}: attention must not see "
                  "the future")


@A.check("MultiHeadSelfAttention", points=1)
def self_attention_permutation_equivariance(t):
    """Without positions or a mask, permuting the tokens permutes the outputs the same way."""
    dim, heads, batch, n = 12, 3, 2, 6
    model, _, _ = _self_attention(t, dim, heads)
    x = t.randn(batch, n, dim)
    perm = t.randperm(n)
    t.assert_close(model(x[:, perm]), model(x)[:, perm], op="attention",
                   what="output for the permuted tokens")


# ------------------------------------------------------------------------------------------------
# MultiHeadCrossAttention

def _cross_attention(t, dim, heads):
    ref = _perturbed(_CrossAttentionRef(dim, heads), t.generator)
    model = t.build(t.student.MultiHeadCrossAttention, dim, heads)
    return _loaded(t, model, ref, _cross_names, dim), ref


@A.check("MultiHeadCrossAttention", points=1, dtypes=None)
def cross_attention_state_dict(t):
    """state_dict: q (dim -> dim), kv (dim -> 2 dim), proj (dim -> dim), all with biases."""
    ref = _CrossAttentionRef(12, 3)
    model = t.build(t.student.MultiHeadCrossAttention, 12, 3)
    t.assert_state_dict_matches(model, _cross_names(ref.state_dict(), 12))


@A.check("MultiHeadCrossAttention", points=3)
def cross_attention_matches_torch(t):
    """Equals nn.MultiheadAttention(x, context, context) with in_proj = [q; kv], N != M: output
    and gradients of x, context and every parameter."""
    for dim, heads, batch, n, m in [(12, 3, 2, 5, 8), (16, 4, 3, 7, 3), (8, 1, 2, 4, 6)]:
        model, ref = _cross_attention(t, dim, heads)
        x = t.randn(batch, n, dim, requires_grad=True)
        context = t.randn(batch, m, dim, requires_grad=True)
        _compare(t, model, ref, _cross_names, dim, [x, context], (batch, n, dim))


@A.check("MultiHeadCrossAttention", points=2)
def cross_attention_masks(t):
    """Masks (N, M), (B, N, M) and (B, heads, N, M) act as attn_mask=~mask (B = heads included)."""
    for dim, heads, batch, n, m, shape in [(12, 3, 2, 5, 7, (5, 7)), (12, 3, 2, 5, 7, (2, 5, 7)),
                                           (12, 3, 3, 4, 6, (3, 4, 6)),
                                           (8, 2, 2, 3, 5, (2, 2, 3, 5))]:
        model, ref = _cross_attention(t, dim, heads)
        x = t.randn(batch, n, dim, requires_grad=True)
        context = t.randn(batch, m, dim, requires_grad=True)
        _compare(t, model, ref, _cross_names, dim, [x, context], (batch, n, dim),
                 mask=_mask(t, *shape))


@A.check("MultiHeadCrossAttention", points=1, dtypes=("float64",))
def cross_attention_ignores_masked_context(t):
    """Context tokens that the mask hides from every query (padding) do not change the output,
    to the bit (float64)."""
    dim, heads, batch, n, m, real = 12, 3, 2, 5, 8, 5
    model, _ = _cross_attention(t, dim, heads)
    mask = torch.zeros(batch, n, m, dtype=torch.bool)
    mask[:, :, :real] = True
    x, context = t.randn(batch, n, dim), t.randn(batch, m, dim)
    padded = context.clone()
    padded[:, real:] = 5 * t.randn(batch, m - real, dim)
    before, after = model(x, context, mask), model(x, padded, mask)
    t.assert_true(torch.equal(before, after),
                  f"changing context tokens the mask hides changed the output by up to "
                  f"{float((before - after).abs().max()):.3g}")


# ------------------------------------------------------------------------------------------------
# TransformerEncoderBlock

def _encoder(t, dim, heads, mlp_ratio=4.0, pre_norm=True):
    ref = _perturbed(_EncoderRef(dim, heads, mlp_ratio, pre_norm), t.generator)
    kwargs = {} if mlp_ratio == 4.0 else {"mlp_ratio": mlp_ratio}
    if not pre_norm:
        kwargs["pre_norm"] = False
    model = t.build(t.student.TransformerEncoderBlock, dim, heads, **kwargs)
    return _loaded(t, model, ref, _encoder_names, dim), ref


@A.check("TransformerEncoderBlock", points=1, dtypes=None)
def encoder_state_dict(t):
    """state_dict: norm1, attn.qkv, attn.proj, norm2, mlp.fc1, mlp.fc2 (hidden width
    int(dim * mlp_ratio))."""
    for dim, heads, mlp_ratio in [(12, 3, 4.0), (12, 3, 2.5), (10, 2, 1.5)]:
        ref = _EncoderRef(dim, heads, mlp_ratio)
        model = t.build(t.student.TransformerEncoderBlock, dim, heads, mlp_ratio=mlp_ratio)
        t.assert_state_dict_matches(model, _encoder_names(ref.state_dict(), dim))


@A.check("TransformerEncoderBlock", points=3)
def encoder_pre_norm_matches_torch(t):
    """pre_norm=True equals nn.TransformerEncoderLayer(norm_first=True, activation="gelu",
    layer_norm_eps=1e-6): output and gradients of x and every parameter."""
    for dim, heads, batch, n, mlp_ratio in [(12, 3, 2, 5, 4.0), (16, 4, 3, 6, 2.5)]:
        model, ref = _encoder(t, dim, heads, mlp_ratio)
        x = t.randn(batch, n, dim, requires_grad=True)
        _compare(t, model, ref, _encoder_names, dim, [x], (batch, n, dim))


@A.check("TransformerEncoderBlock", points=2)
def encoder_post_norm_matches_torch(t):
    """pre_norm=False equals nn.TransformerEncoderLayer(norm_first=False): LayerNorm after each
    residual sum; output and gradients."""
    for dim, heads, batch, n, mlp_ratio in [(12, 3, 2, 5, 4.0), (16, 2, 2, 7, 2.0)]:
        model, ref = _encoder(t, dim, heads, mlp_ratio, pre_norm=False)
        x = t.randn(batch, n, dim, requires_grad=True)
        _compare(t, model, ref, _encoder_names, dim, [x], (batch, n, dim))


@A.check("TransformerEncoderBlock", points=1)
def encoder_masks(t):
    """forward(x, mask) passes (N, N) and (B, N, N) masks to the attention, pre- and post-norm."""
    for pre_norm, shape in [(True, (6, 6)), (False, (2, 6, 6)), (True, (2, 3, 6, 6))]:
        model, ref = _encoder(t, 12, 3, pre_norm=pre_norm)
        x = t.randn(2, 6, 12, requires_grad=True)
        _compare(t, model, ref, _encoder_names, 12, [x], (2, 6, 12), mask=_mask(t, *shape))


@A.check("TransformerEncoderBlock", points=1)
def encoder_layer_norm_eps(t):
    """LayerNorm eps is 1e-6: tokens whose variance is about 1e-6, where PyTorch's default 1e-5
    would dominate."""
    model, ref = _encoder(t, 12, 3)
    x = t.randn(2, 5, 12) * 1e-3
    x.requires_grad_(True)
    _compare(t, model, ref, _encoder_names, 12, [x], (2, 5, 12))


@A.check("TransformerEncoderBlock", points=1)
def encoder_train_equals_eval(t):
    """No dropout: in train() mode the block gives the same output as in eval() and as the
    reference."""
    model, ref = _encoder(t, 12, 3)
    x = t.randn(3, 6, 12)
    model.train()
    first, second = model(x), model(x)
    model.eval()
    evaluated = model(x)
    want = t.reference(ref, x)
    for got, mode in [(first, "train"), (second, "train, called again"), (evaluated, "eval")]:
        t.assert_close(got, want, op="attention", what=f"output in {mode} mode")


@A.check("TransformerEncoderBlock", points=1, dtypes=("float64",))
def encoder_causality(t):
    """With a causal mask, changing later tokens leaves earlier outputs unchanged, to the bit
    (float64), pre- and post-norm."""
    n, cut = 7, 3
    causal = torch.ones(n, n, dtype=torch.bool).tril()
    for pre_norm in (True, False):
        model, _ = _encoder(t, 12, 3, pre_norm=pre_norm)
        x = t.randn(2, n, 12)
        future = x.clone()
        future[:, cut:] += 3 * t.randn(2, n - cut, 12)
        before, after = model(x, causal), model(future, causal)
        t.assert_true(torch.equal(before[:, :cut], after[:, :cut]),
                      f"pre_norm={pre_norm}: changing tokens {cut}..{n - 1} changed the outputs "
                      f"before them by up to {float((before - after)[:, :cut].abs().max()):.3g}")


# ------------------------------------------------------------------------------------------------
# TransformerDecoderBlock

def _decoder(t, dim, heads, mlp_ratio=4.0):
    ref = _perturbed(_DecoderRef(dim, heads, mlp_ratio), t.generator)
    kwargs = {} if mlp_ratio == 4.0 else {"mlp_ratio": mlp_ratio}
    model = t.build(t.student.TransformerDecoderBlock, dim, heads, **kwargs)
    return _loaded(t, model, ref, _decoder_names, dim), ref


@A.check("TransformerDecoderBlock", points=1, dtypes=None)
def decoder_state_dict(t):
    """state_dict: norm1, self_attn.{qkv, proj}, norm2, cross_attn.{q, kv, proj}, norm3,
    mlp.fc1, mlp.fc2."""
    for dim, heads, mlp_ratio in [(12, 3, 4.0), (10, 2, 2.5)]:
        ref = _DecoderRef(dim, heads, mlp_ratio)
        model = t.build(t.student.TransformerDecoderBlock, dim, heads, mlp_ratio=mlp_ratio)
        t.assert_state_dict_matches(model, _decoder_names(ref.state_dict(), dim))


@A.check("TransformerDecoderBlock", points=3)
def decoder_matches_torch(t):
    """Equals nn.TransformerDecoderLayer(norm_first=True) with a causal tgt_mask, N != M: output
    and gradients of x, context and every parameter."""
    for dim, heads, batch, n, m, mlp_ratio in [(12, 3, 2, 5, 8, 4.0), (16, 4, 3, 6, 3, 2.5)]:
        model, ref = _decoder(t, dim, heads, mlp_ratio)
        x = t.randn(batch, n, dim, requires_grad=True)
        context = t.randn(batch, m, dim, requires_grad=True)
        _compare(t, model, ref, _decoder_names, dim, [x, context], (batch, n, dim))


@A.check("TransformerDecoderBlock", points=1)
def decoder_context_masks(t):
    """context_mask (N, M), (B, N, M) or (B, heads, N, M) masks the cross-attention only."""
    for shape in [(5, 7), (2, 5, 7), (2, 3, 5, 7)]:
        model, ref = _decoder(t, 12, 3)
        x = t.randn(2, 5, 12, requires_grad=True)
        context = t.randn(2, 7, 12, requires_grad=True)
        _compare(t, model, ref, _decoder_names, 12, [x, context], (2, 5, 12),
                 context_mask=_mask(t, *shape))


@A.check("TransformerDecoderBlock", points=1, dtypes=("float64",))
def decoder_causality(t):
    """Changing later target tokens leaves earlier outputs unchanged, to the bit (float64);
    changing one context token changes the output at every position."""
    dim, heads, batch, n, m, cut = 12, 3, 2, 6, 5, 2
    model, _ = _decoder(t, dim, heads)
    x, context = t.randn(batch, n, dim), t.randn(batch, m, dim)
    future = x.clone()
    future[:, cut:] += 3 * t.randn(batch, n - cut, dim)
    before, after = model(x, context), model(future, context)
    t.assert_true(torch.equal(before[:, :cut], after[:, :cut]),
                  f"changing target tokens {cut}..{n - 1} changed the outputs before them by up "
                  f"to {float((before - after)[:, :cut].abs().max()):.3g}: the self-attention "
                  "must be causal")
    source = context.clone()
    source[:, -1] += 3 * t.randn(batch, dim)
    moved = (model(x, source) - before).abs().amax(dim=-1)  # (batch, n)
    t.assert_true(bool((moved > 1e-6).all()),
                  "changing the last context token left the output at some positions unchanged: "
                  "every target position attends to the whole context")

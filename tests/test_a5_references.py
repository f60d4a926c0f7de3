"""a5_attention's solution against the PyTorch layers it reimplements, in this process and in
float64: scaled dot-product attention against F.scaled_dot_product_attention, the causal mask
against nn.Transformer's, multi-head self- and cross-attention against nn.MultiheadAttention
(attn_mask=~mask), the encoder block against nn.TransformerEncoderLayer (norm_first=True and False,
GELU) and the decoder block against nn.TransformerDecoderLayer, with mapped weights. The hidden
checks compare students with these same layers; these tests prove that the reference solution the
release is made from agrees with them."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from autograder.testing import solution_definitions

ROOT = Path(__file__).resolve().parents[1]
DT = torch.float64


@pytest.fixture(scope="module")
def sol():
    """The solution's definitions, as the grader loads them."""
    return solution_definitions("a5_attention", ROOT)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def _perturbed(module):
    """``module`` in float64 with every parameter moved off its initial value (PyTorch starts
    attention biases at 0 and LayerNorms at 1 and 0)."""
    module = module.double()
    with torch.no_grad():
        for p in module.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return module


def _allowed(*shape):
    """A random boolean mask, True = allowed, with at least one allowed key per query."""
    mask = torch.rand(*shape) > 0.5
    return mask.scatter(-1, torch.randint(0, shape[-1], (*shape[:-1], 1)), True)


def _blocked(mask, heads, batch):
    """This course's mask as nn.MultiheadAttention's attn_mask (True = blocked)."""
    if mask is None or mask.dim() == 2:
        return None if mask is None else ~mask
    if mask.dim() == 3:
        mask = mask[:, None]
    return ~mask.expand(batch, heads, *mask.shape[-2:]).flatten(0, 1)


def _attention_names(sd, src, dst, dim, cross):
    out = {}
    for k, v in sd.items():
        if k.startswith(f"{src}in_proj_"):
            kind = k.removeprefix(f"{src}in_proj_")
            if cross:
                out[f"{dst}q.{kind}"], out[f"{dst}kv.{kind}"] = v[:dim], v[dim:]
            else:
                out[f"{dst}qkv.{kind}"] = v
        elif k.startswith(f"{src}out_proj."):
            out[f"{dst}proj.{k.removeprefix(f'{src}out_proj.')}"] = v
    return out


def _layer_names(sd, dim, attentions):
    out = {}
    for src, dst, cross in attentions:
        out.update(_attention_names(sd, src, dst, dim, cross))
    for k, v in sd.items():
        if k.startswith("norm"):
            out[k] = v
        elif k.startswith(("linear1.", "linear2.")):
            out["mlp.fc" + k.removeprefix("linear")] = v
    return out


def _same_gradients(mine, ref, names, inputs, outputs):
    """Back-propagate the same random gradient through both outputs; the inputs' gradients and
    each parameter's (under the mapped names) agree."""
    g = torch.randn_like(outputs[0])
    grads = [torch.autograd.grad(out, [*inputs, *m.parameters()], g)
             for out, m in zip(outputs, (mine, ref))]
    for a, b in zip(grads[0][:len(inputs)], grads[1][:len(inputs)]):
        torch.testing.assert_close(a, b)
    mine_params = dict(zip((n for n, _ in mine.named_parameters()), grads[0][len(inputs):]))
    ref_params = dict(zip((n for n, _ in ref.named_parameters()), grads[1][len(inputs):]))
    for name, grad in names(ref_params).items():
        torch.testing.assert_close(mine_params[name], grad, msg=name)


# --- functions


@pytest.mark.parametrize(("q_shape", "k_shape", "v_shape", "mask_shape"), [
    ((5, 8), (7, 8), (7, 6), None),
    ((2, 5, 8), (2, 9, 8), (2, 9, 3), (2, 5, 9)),
    ((2, 3, 4, 6), (2, 3, 7, 6), (2, 3, 7, 5), (4, 7)),
    ((2, 3, 4, 6), (2, 3, 7, 6), (2, 3, 7, 5), (2, 1, 1, 7)),
    ((2, 3, 4, 6), (2, 3, 7, 6), (2, 3, 7, 5), (2, 3, 4, 7)),
])
def test_attention_equals_f_scaled_dot_product_attention(sol, q_shape, k_shape, v_shape,
                                                         mask_shape):
    q, k, v = (torch.randn(*s, dtype=DT, requires_grad=True) for s in (q_shape, k_shape, v_shape))
    mask = None if mask_shape is None else _allowed(*mask_shape)
    out, weights = sol["scaled_dot_product_attention"](q, k, v, mask)
    ref = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    torch.testing.assert_close(out, ref)
    torch.testing.assert_close(weights.sum(-1), torch.ones(weights.shape[:-1], dtype=DT))
    if mask is not None:
        assert (weights.detach()[~mask.expand(weights.shape)] == 0).all()
    g = torch.randn_like(ref)
    torch.testing.assert_close(torch.autograd.grad(out, (q, k, v), g),
                               torch.autograd.grad(ref, (q, k, v), g))


def test_attention_weights_are_the_softmax_of_scaled_scores(sol):
    q, k, v = torch.randn(3, 4, 16, dtype=DT), torch.randn(3, 6, 16, dtype=DT), \
        torch.randn(3, 6, 2, dtype=DT)
    _, weights = sol["scaled_dot_product_attention"](q, k, v)
    torch.testing.assert_close(weights, torch.softmax(q @ k.transpose(1, 2) / 4.0, dim=-1))
    big = 20 * torch.randn(2, 5, 4)  # scores near a thousand: no overflow in float32
    out, _ = sol["scaled_dot_product_attention"](big, big, big)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("n", [1, 2, 5, 16])
def test_causal_mask_is_the_complement_of_pytorchs(sol, n):
    mask = sol["causal_mask"](n)
    assert mask.dtype == torch.bool and mask.shape == (n, n)
    blocked = nn.Transformer.generate_square_subsequent_mask(n) == -math.inf
    assert torch.equal(mask, ~blocked)
    assert sol["causal_mask"](n, device="meta").device.type == "meta"


def test_sinusoidal_encoding_follows_the_formula(sol):
    pe = sol["sinusoidal_positional_encoding"](40, 12)
    assert pe.dtype == torch.get_default_dtype() and pe.shape == (40, 12)
    for t in (0, 1, 7, 39):
        for i in range(6):
            angle = t / 10000 ** (2 * i / 12)
            assert pe[t, 2 * i].item() == pytest.approx(math.sin(angle), abs=1e-6)
            assert pe[t, 2 * i + 1].item() == pytest.approx(math.cos(angle), abs=1e-6)


def test_sinusoidal_encoding_is_exact_at_long_lengths_and_follows_the_default_dtype(sol):
    """The solution computes the angles in float64: at 10,000 positions its float32 values are
    the float64 ones rounded (the checks allow 2e-3 there for float32 computations)."""
    pe = sol["sinusoidal_positional_encoding"](10000, 16)
    t = torch.arange(10000, dtype=DT)[:, None]
    angles = t * 10000.0 ** (-torch.arange(0, 16, 2, dtype=DT) / 16)
    exact = torch.stack([angles.sin(), angles.cos()], -1).reshape(10000, 16)
    assert (pe.double() - exact).abs().max() < 1e-7
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        assert sol["sinusoidal_positional_encoding"](5, 4).dtype == torch.float64
    finally:
        torch.set_default_dtype(previous)


# --- attention modules


@pytest.mark.parametrize(("dim", "heads", "mask_shape"), [
    (12, 3, None), (16, 4, (6, 6)), (12, 3, (3, 6, 6)), (8, 2, (3, 2, 6, 6)), (8, 1, None)])
def test_self_attention_equals_multihead_attention(sol, dim, heads, mask_shape):
    mha = _perturbed(nn.MultiheadAttention(dim, heads, batch_first=True))
    mine = sol["MultiHeadSelfAttention"](dim, heads).double()
    names = lambda sd: _attention_names(sd, "", "", dim, cross=False)
    mine.load_state_dict(names(mha.state_dict()))
    x = torch.randn(3, 6, dim, dtype=DT, requires_grad=True)
    mask = None if mask_shape is None else _allowed(*mask_shape)
    out = mine(x, mask)
    ref, _ = mha(x, x, x, attn_mask=_blocked(mask, heads, 3))
    torch.testing.assert_close(out, ref)
    _same_gradients(mine, mha, names, [x], [out, ref])


def test_self_attention_without_qkv_bias(sol):
    mine = sol["MultiHeadSelfAttention"](12, 3, qkv_bias=False)
    assert sorted(mine.state_dict()) == ["proj.bias", "proj.weight", "qkv.weight"]
    assert sum(p.numel() for p in sol["MultiHeadSelfAttention"](768, 12).parameters()) == \
        4 * 768**2 + 4 * 768  # chapter 9's count, as nn.MultiheadAttention(768, 12)


@pytest.mark.parametrize(("n", "m", "mask_shape"), [(5, 8, None), (7, 3, (7, 3)),
                                                      (5, 8, (2, 5, 8)), (4, 6, (2, 3, 4, 6))])
def test_cross_attention_equals_multihead_attention(sol, n, m, mask_shape):
    dim, heads = 12, 3
    mha = _perturbed(nn.MultiheadAttention(dim, heads, batch_first=True))
    mine = sol["MultiHeadCrossAttention"](dim, heads).double()
    names = lambda sd: _attention_names(sd, "", "", dim, cross=True)
    mine.load_state_dict(names(mha.state_dict()))
    x = torch.randn(2, n, dim, dtype=DT, requires_grad=True)
    context = torch.randn(2, m, dim, dtype=DT, requires_grad=True)
    mask = None if mask_shape is None else _allowed(*mask_shape)
    out = mine(x, context, mask)
    ref, _ = mha(x, context, context, attn_mask=_blocked(mask, heads, 2))
    torch.testing.assert_close(out, ref)
    _same_gradients(mine, mha, names, [x, context], [out, ref])


# --- transformer blocks


@pytest.mark.parametrize("pre_norm", [True, False])
@pytest.mark.parametrize("mask_shape", [None, "causal", (2, 7, 7)])
def test_encoder_block_equals_transformer_encoder_layer(sol, pre_norm, mask_shape):
    dim, heads, n = 16, 4, 7
    layer = _perturbed(nn.TransformerEncoderLayer(
        dim, heads, dim_feedforward=40, dropout=0.0, activation="gelu", layer_norm_eps=1e-6,
        batch_first=True, norm_first=pre_norm))
    block = sol["TransformerEncoderBlock"](dim, heads, mlp_ratio=2.5, pre_norm=pre_norm).double()
    names = lambda sd: _layer_names(sd, dim, [("self_attn.", "attn.", False)])
    block.load_state_dict(names(layer.state_dict()))
    mask = {None: None, "causal": sol["causal_mask"](n)}.get(mask_shape) \
        if not isinstance(mask_shape, tuple) else _allowed(*mask_shape)
    x = torch.randn(2, n, dim, dtype=DT, requires_grad=True)
    out = block(x, mask)
    ref = layer(x, src_mask=_blocked(mask, heads, 2))
    torch.testing.assert_close(out, ref)
    _same_gradients(block, layer, names, [x], [out, ref])


def test_decoder_block_equals_transformer_decoder_layer(sol):
    dim, heads, n, m = 16, 4, 6, 9
    layer = _perturbed(nn.TransformerDecoderLayer(
        dim, heads, dim_feedforward=64, dropout=0.0, activation="gelu", layer_norm_eps=1e-6,
        batch_first=True, norm_first=True))
    block = sol["TransformerDecoderBlock"](dim, heads).double()
    names = lambda sd: _layer_names(sd, dim, [("self_attn.", "self_attn.", False),
                                              ("multihead_attn.", "cross_attn.", True)])
    block.load_state_dict(names(layer.state_dict()))
    x = torch.randn(2, n, dim, dtype=DT, requires_grad=True)
    context = torch.randn(2, m, dim, dtype=DT, requires_grad=True)
    causal = nn.Transformer.generate_square_subsequent_mask(n, dtype=DT)  # -inf above the diagonal
    for context_mask in (None, _allowed(n, m), _allowed(2, heads, n, m)):
        out = block(x, context, context_mask)
        ref = layer(x, context, tgt_mask=causal, tgt_is_causal=True,
                    memory_mask=_blocked(context_mask, heads, 2))
        torch.testing.assert_close(out, ref)
    _same_gradients(block, layer, names, [x, context], [out, ref])


def test_block_parameter_counts_are_chapter_10s(sol):
    d = 64
    count = lambda m: sum(p.numel() for p in m.parameters())
    assert count(sol["TransformerEncoderBlock"](d, 4)) == 12 * d**2 + 13 * d
    assert count(sol["TransformerDecoderBlock"](d, 4)) == 16 * d**2 + 19 * d

"""a6_vit_mixer's solution against the libraries it reimplements, in this process and in float64:
patchify against F.unfold, the patch embedding against timm's PatchEmbed, the attention against
nn.MultiheadAttention, the encoder block against nn.TransformerEncoderLayer (pre-norm, GELU) with
mapped weights, the Vision Transformer against timm's vit_tiny_patch16_224 and the MLP-Mixer
against timm's mixer_s16_224 (their weights loaded strictly, every parameter perturbed), and the
parameter counts of ViT-B/16 and Mixer-S/16. The hidden checks compare students with these same
libraries; these tests prove the reference solution the release is made from agrees with them."""

from __future__ import annotations

from pathlib import Path

import pytest
import timm
import torch
import torch.nn.functional as F
from timm.layers import PatchEmbed
from timm.models.mlp_mixer import MixerBlock as TimmMixerBlock
from torch import nn

from autograder.testing import solution_definitions

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "solutions" / "a6_vit_mixer" / "a6_vit_mixer.ipynb"
DT = torch.float64


@pytest.fixture(scope="module")
def sol():
    """The solution's definitions, as the grader loads them."""
    return solution_definitions("a6_vit_mixer")


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def _perturbed(module: nn.Module) -> nn.Module:
    """``module`` in float64 and eval mode with every parameter moved off its initial value."""
    module = module.double().eval()
    with torch.no_grad():
        for p in module.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return module


def _same_outputs_and_gradients(mine: nn.Module, ref: nn.Module, x: torch.Tensor) -> None:
    """Equal outputs, input gradients and parameter gradients (same names on both sides)."""
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    out_a, out_b = mine(xa), ref(xb)
    torch.testing.assert_close(out_a, out_b)
    g = torch.randn_like(out_b)
    out_a.backward(g)
    out_b.backward(g)
    torch.testing.assert_close(xa.grad, xb.grad)
    ref_grads = dict(ref.named_parameters())
    for name, p in mine.named_parameters():
        torch.testing.assert_close(p.grad, ref_grads[name].grad, msg=f"gradient of {name}")


def _count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_patchify_equals_unfold_and_refuses_indivisible_sizes(sol):
    for shape, p in [((2, 3, 8, 12), 4), ((3, 1, 6, 9), 3), ((1, 3, 224, 224), 16)]:
        x = torch.randn(shape, dtype=DT)
        want = F.unfold(x, kernel_size=p, stride=p).transpose(1, 2)
        assert torch.equal(sol["patchify"](x, p), want)
    for shape in [(1, 3, 10, 8), (1, 3, 8, 10)]:
        with pytest.raises(ValueError):
            sol["patchify"](torch.randn(shape), 4)


def test_patch_embedding_equals_timm_patch_embed(sol):
    ref = _perturbed(PatchEmbed(img_size=32, patch_size=8, in_chans=3, embed_dim=48))
    mine = sol["PatchEmbedding"](32, 8, 3, 48).double().eval()
    mine.load_state_dict(ref.state_dict())
    assert mine.num_patches == ref.num_patches == 16
    _same_outputs_and_gradients(mine, ref, torch.randn(2, 3, 32, 32, dtype=DT))


def test_attention_equals_nn_multihead_attention(sol):
    mine = _perturbed(sol["_Attention"](24, 4))
    mha = nn.MultiheadAttention(24, 4, batch_first=True).double().eval()
    with torch.no_grad():
        mha.in_proj_weight.copy_(mine.qkv.weight)
        mha.in_proj_bias.copy_(mine.qkv.bias)
        mha.out_proj.weight.copy_(mine.proj.weight)
        mha.out_proj.bias.copy_(mine.proj.bias)
    x = torch.randn(3, 7, 24, dtype=DT)
    torch.testing.assert_close(mine(x), mha(x, x, x, need_weights=False)[0])


def test_encoder_block_equals_pre_norm_transformer_encoder_layer(sol):
    mine = _perturbed(sol["_Block"](24, 4, mlp_ratio=2.0))
    layer = nn.TransformerEncoderLayer(24, 4, dim_feedforward=48, dropout=0.0,
                                       activation="gelu", layer_norm_eps=1e-6, batch_first=True,
                                       norm_first=True).double().eval()
    mapping = {"norm1": "norm1", "attn.qkv.weight": "self_attn.in_proj_weight",
               "attn.qkv.bias": "self_attn.in_proj_bias", "attn.proj": "self_attn.out_proj",
               "norm2": "norm2", "mlp.fc1": "linear1", "mlp.fc2": "linear2"}
    state = {}
    for name, value in mine.state_dict().items():
        prefix = next(k for k in mapping if name.startswith(k))
        state[mapping[prefix] + name[len(prefix):]] = value
    layer.load_state_dict(state)
    x = torch.randn(2, 9, 24, dtype=DT)
    torch.testing.assert_close(mine(x), layer(x))


@pytest.mark.slow
def test_vision_transformer_equals_timm_vit_tiny(sol):
    ref = _perturbed(timm.create_model("vit_tiny_patch16_224", pretrained=False))
    mine = sol["VisionTransformer"](embed_dim=192, depth=12, num_heads=3).double().eval()
    mine.load_state_dict(ref.state_dict())  # strict
    _same_outputs_and_gradients(mine, ref, torch.randn(2, 3, 224, 224, dtype=DT))


def test_small_vision_transformer_equals_timm_on_another_configuration(sol):
    kwargs = dict(img_size=28, patch_size=7, in_chans=1, num_classes=5, embed_dim=32, depth=2,
                  num_heads=4, mlp_ratio=2.0)
    ref = _perturbed(timm.models.vision_transformer.VisionTransformer(**kwargs))
    mine = sol["VisionTransformer"](**kwargs).double().eval()
    mine.load_state_dict(ref.state_dict())
    _same_outputs_and_gradients(mine, ref, torch.randn(3, 1, 28, 28, dtype=DT))


def test_vit_b16_has_timms_names_and_86_567_656_parameters(sol):
    with torch.device("meta"):
        mine = sol["VisionTransformer"]()
        ref = timm.create_model("vit_base_patch16_224", pretrained=False)
    assert {k: v.shape for k, v in mine.state_dict().items()} == {
        k: v.shape for k, v in ref.state_dict().items()}
    assert _count(mine) == _count(ref) == 86_567_656


@pytest.mark.parametrize("args", [(16, 48, 24, 192), (12, 20, 5, 30)])
def test_mixer_block_equals_timm(sol, args):
    num_patches, dim, tokens, channels = args
    ref = _perturbed(TimmMixerBlock(dim, num_patches, mlp_ratio=(tokens / dim, channels / dim)))
    mine = sol["MixerBlock"](*args).double().eval()
    mine.load_state_dict(ref.state_dict())
    _same_outputs_and_gradients(mine, ref, torch.randn(2, num_patches, dim, dtype=DT))


@pytest.mark.slow
def test_mlp_mixer_equals_timm_mixer_s16(sol):
    ref = timm.create_model("mixer_s16_224", pretrained=False)
    assert not ref.head.weight.any()  # timm starts the head at zero: _perturbed moves it
    ref = _perturbed(ref)
    mine = sol["MLPMixer"]().double().eval()
    mine.load_state_dict(ref.state_dict())  # strict
    assert _count(mine) == _count(ref) == 18_528_264
    _same_outputs_and_gradients(mine, ref, torch.randn(1, 3, 224, 224, dtype=DT))


def test_small_mlp_mixer_equals_timm_on_another_configuration(sol):
    ref = _perturbed(timm.models.mlp_mixer.MlpMixer(
        num_classes=5, img_size=28, in_chans=1, patch_size=7, num_blocks=2, embed_dim=32,
        mlp_ratio=(0.25, 2.0)))
    mine = sol["MLPMixer"](img_size=28, patch_size=7, in_chans=1, num_classes=5, embed_dim=32,
                           depth=2, mlp_ratio=(0.25, 2.0)).double().eval()
    mine.load_state_dict(ref.state_dict())
    _same_outputs_and_gradients(mine, ref, torch.randn(3, 1, 28, 28, dtype=DT))

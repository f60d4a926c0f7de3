"""Hidden checks of a6_vit_mixer: patches, the patch embedding, the Vision Transformer and the
MLP-Mixer, against timm's (its models built here, in the grader, with perturbed weights)."""


import timm
import torch
import torch.nn.functional as F
from timm.layers import PatchEmbed
from timm.models.mlp_mixer import MixerBlock as TimmMixerBlock
from timm.models.mlp_mixer import MlpMixer
from timm.models.vision_transformer import VisionTransformer as TimmViT
from torch import nn

from autograder.checks import Assignment, Forbid
from autograder.checks.cache import ReferenceCache

A = Assignment("a6_vit_mixer", title="Vision Transformer and MLP-Mixer")

# CURRICULUM.md lists no forbidden call for a6: the graded code is the student's own (own-code
# rule on every class), and nothing of timm's or torchvision's may run inside it.
OWN_MODEL = Forbid(packages=["torchvision", "timm"])

A.item("patchify", forbid=OWN_MODEL)
A.item("PatchEmbedding", kind="class", forbid=OWN_MODEL)
A.item("VisionTransformer", kind="class", forbid=OWN_MODEL)
A.item("MixerBlock", kind="class", forbid=OWN_MODEL)
A.item("MLPMixer", kind="class", forbid=OWN_MODEL)


# ------------------------------------------------------------------------------------------------
# references, their weights, and a cache shared by the submissions of a grading run

# A reference depends only on the check variant's seed, the same for every submission of a
# grading run (and for every wrong implementation of an audit), so a class's full-size models
# cost one; a submission uses about 35 entries (under 100 MB in all).
_cached = ReferenceCache(64)


def _perturb(ref: nn.Module, generator: torch.Generator) -> nn.Module:
    """``ref`` in float64, eval mode, with every parameter moved off its initial value: a default
    (LayerNorm's ones and zeros, a zero bias, timm's near-zero [CLS] token and Mixer's zero head)
    would hide the mistake of a model that ignores it. Weight matrices keep their scale (each row
    rescaled, plus a little noise, so that a zero head becomes random); vectors, the [CLS] token
    and the position embeddings get noise of their own. Every value is then rounded to
    bfloat16's precision, so that the weights travel as bfloat16 (a quarter of float64's bytes)
    and load exactly into float32 and float64. (The noise is drawn in float32: float64 draws
    take most of a full-size model's grading time.)"""
    ref = ref.float()
    with torch.no_grad():
        for name, p in ref.named_parameters():
            noise = torch.randn(p.shape, generator=generator)
            if name.endswith(("cls_token", "pos_embed")):
                p.add_(0.3 * noise)
            elif p.dim() > 1:
                scale = 1 + 0.2 * torch.randn(p.shape[0], generator=generator)
                p.mul_(scale.view(-1, *[1] * (p.dim() - 1))).add_(0.02 * noise)
            else:
                p.add_(0.1 * noise)
            p.copy_(p.to(torch.bfloat16))
    return ref.double().eval()


def _weights(ref: nn.Module) -> dict:
    """The perturbed reference's state_dict as bfloat16 (which holds its values exactly)."""
    return {k: v.to(torch.bfloat16) for k, v in ref.state_dict().items()}


def _spec(key: tuple, builder) -> dict:
    """State_dict keys and shapes of a reference built on the meta device (no memory, no init)."""
    def make():
        with torch.device("meta"):  # keys and shapes only: nothing allocated
            return builder().state_dict()

    return _cached(("spec",) + key, make)


def _parameter_count(t, model) -> int:
    count = 0
    for shape, *_ in t.describe(model).get("parameters", {}).values():
        n = 1
        for s in shape:
            n *= int(s)
        count += n
    return count


def _load(t, model, weights: dict, train: bool = False):
    """The student's module, with the reference's state_dict keys and shapes, holding its
    weights (strict), in eval mode (or train mode)."""
    t.assert_state_dict_matches(model, weights)
    t.load_state_dict(model, weights)
    model.train() if train else model.eval()
    return model


def _only_gradients(model, params) -> None:
    """Only these parameters get gradients (a full-size model's all would be tens of MB, and the
    first layer's gradient has come back through all the others)."""
    model.requires_grad_(False)
    for name in params:
        target = model
        for part in name.split("."):
            target = getattr(target, part)
        target.requires_grad_(True)


def _compare(t, build, label: str, reference, x_shape, out_shape, op: str, params=None,
             train: bool = False) -> None:
    """The student's module (``build()``, remote) loads the weights of ``reference()``
    perturbed, and gives its output and the gradients of the input and of its parameters (all,
    or ``params``), in eval mode (or train mode, where a model without dropout is the same)."""
    x = t.randn(*x_shape, requires_grad=True)
    g = t.randn(*out_shape)
    model = build()  # first: a constructor that raises costs no reference

    def make():
        with torch.random.fork_rng():
            torch.manual_seed(t.seed)
            ref = reference()
        ref = _perturb(ref, torch.Generator().manual_seed(t.seed))
        if params is not None:
            for name, p in ref.named_parameters():  # no time spent on gradients nobody compares
                p.requires_grad_(name in params)
        want = t.reference_grad(ref, x, grad_output=g)
        return _weights(ref), want.output, want.inputs[0], dict(want.params)

    weights, want_output, want_input, want_params = _cached((label, t.seed, x_shape), make)
    _load(t, model, weights, train)
    if params is not None:
        _only_gradients(model, params)
    got = t.grad(model, x, grad_output=g)
    t.assert_close(got.output, want_output, op=op)
    t.assert_close(got.inputs[0], want_input, op="grad", what="gradient of the input")
    for name, grad in want_params.items():
        if grad is not None:
            t.assert_close(got.params.get(name), grad, op="grad", what=f"gradient of {name}")


# ------------------------------------------------------------------------------------------------
# patchify

def _patches(images: torch.Tensor, p: int) -> torch.Tensor:
    """The reference: F.unfold's columns are the flattened (C, P, P) patches, row-major."""
    return F.unfold(images, kernel_size=p, stride=p).transpose(1, 2)


def _check_patchify(t, cases) -> None:
    for shape, p in cases:
        x = t.randn(*shape)
        t.assert_close(t.student.patchify(x, p), t.reference(_patches, x, p), op="exact")


@A.check("patchify", points=2)
def patchify_matches_unfold(t):
    """patchify gives F.unfold's patches (row-major, each flattened in (C, P, P) order) on
    batches of non-square images with 1 to 4 channels."""
    _check_patchify(t, [((2, 3, 8, 12), 4), ((3, 1, 6, 9), 3), ((2, 4, 10, 15), 5),
                        ((1, 3, 32, 16), 8)])


@A.check("patchify", points=1)
def patchify_reading_order(t):
    """patchify(images, P)[b, n] is the patch in grid row n // (W / P), column n % (W / P), its
    pixels in channel, row, column order (checked on a 3-channel 6x9 image, P = 3)."""
    b, c, h, w, p = 2, 3, 6, 9, 3
    x = t.randn(b, c, h, w)
    got = t.student.patchify(x, p)
    t.assert_true(isinstance(got, torch.Tensor) and tuple(got.shape) == (b, 6, c * p * p),
                  f"{t.last_call} should return a ({b}, 6, {c * p * p}) tensor")
    for n in range(6):
        i, j = divmod(n, w // p)
        want = x[:, :, i * p:(i + 1) * p, j * p:(j + 1) * p].reshape(b, -1)
        t.assert_close(got[:, n], want.double(), op="exact",
                       what=f"patch {n} (grid row {i}, column {j})")


@A.check("patchify", points=1, dtypes=None)
def patchify_rejects_indivisible_sizes(t):
    """patchify raises ValueError when the height or the width is not a multiple of P."""
    for shape, p in [((1, 3, 10, 8), 4), ((2, 1, 8, 10), 4), ((1, 3, 7, 7), 2),
                     ((1, 2, 9, 12), 6)]:
        with t.raises(ValueError):
            t.student.patchify(t.randn(*shape), p)


# ------------------------------------------------------------------------------------------------
# PatchEmbedding

def _timm_patch_embed(img_size, patch_size, in_chans, embed_dim):
    return PatchEmbed(img_size=img_size, patch_size=patch_size, in_chans=in_chans,
                      embed_dim=embed_dim)


@A.check("PatchEmbedding", points=1, dtypes=None, show_expected=True)
def patch_embedding_names_and_num_patches(t):
    """PatchEmbedding has timm PatchEmbed's proj (a Conv2d with bias: keys and shapes) and
    num_patches = (img_size / patch_size) ** 2."""
    for args in [(224, 16, 3, 768), (32, 8, 3, 48), (30, 6, 1, 20)]:
        model = t.student.PatchEmbedding(*args)
        t.assert_state_dict_matches(model, _spec(("PatchEmbed",) + args,
                                                 lambda a=args: _timm_patch_embed(*a)))
        t.assert_equal(model.attr("num_patches"), (args[0] // args[1]) ** 2,
                       what=f"PatchEmbedding{args}.num_patches")
        t.release(model)


@A.check("PatchEmbedding", points=2)
def patch_embedding_matches_timm(t):
    """PatchEmbedding equals timm's PatchEmbed with its weights: tokens (B, N, D) and the
    gradients of the input and of proj, for 3-channel 32x32 and 1-channel 28x28 images."""
    for args, x_shape in [((32, 8, 3, 48), (2, 3, 32, 32)), ((28, 7, 1, 20), (3, 1, 28, 28))]:
        n = (args[0] // args[1]) ** 2
        _compare(t, lambda a=args: t.build(t.student.PatchEmbedding, *a), f"PatchEmbed{args}",
                 lambda a=args: _timm_patch_embed(*a), x_shape, (x_shape[0], n, args[3]),
                 op="conv")


# ------------------------------------------------------------------------------------------------
# VisionTransformer

SMALL_VIT = dict(img_size=32, patch_size=8, in_chans=3, num_classes=10, embed_dim=48, depth=2,
                 num_heads=3)
OTHER_VIT = dict(img_size=28, patch_size=7, in_chans=1, num_classes=5, embed_dim=32,
                 depth=1, num_heads=4, mlp_ratio=2.0)
VIT_TINY = dict(embed_dim=192, depth=12, num_heads=3)


def _key(kwargs: dict) -> tuple:
    return tuple(sorted(kwargs.items()))


def _check_vit(t, kwargs, x_shape, train=False, params=None, reference=None):
    _compare(t, lambda: t.build(t.student.VisionTransformer, **kwargs),
             f"ViT{_key(kwargs)}", reference or (lambda: TimmViT(**kwargs)), x_shape,
             (x_shape[0], kwargs.get("num_classes", 1000)), op="model", params=params,
             train=train)


@A.check("VisionTransformer", points=1, dtypes=None)
def vit_names(t):
    """VisionTransformer has timm's state_dict keys and shapes (patch_embed.proj, cls_token,
    pos_embed, blocks.i.{norm1, attn.qkv, attn.proj, norm2, mlp.fc1, mlp.fc2}, norm, head)."""
    for kwargs in (SMALL_VIT, OTHER_VIT):
        model = t.student.VisionTransformer(**kwargs)
        t.assert_state_dict_matches(model, _spec(("ViT",) + _key(kwargs),
                                                 lambda k=kwargs: TimmViT(**k)))
        t.release(model)


@A.check("VisionTransformer", points=3, timeout=20.0)
def vit_matches_timm(t):
    """A small VisionTransformer (32x32 images, patch 8, width 48, 3 heads, 2 blocks) loads timm's
    weights and gives its logits and every gradient, in eval mode (pre-norm blocks, LayerNorm eps
    1e-6, exact GELU, scores scaled by 1/sqrt(head_dim), classified from [CLS])."""
    _check_vit(t, SMALL_VIT, (2, 3, 32, 32))


@A.check("VisionTransformer", points=1, timeout=20.0)
def vit_train_mode(t):
    """In train mode the VisionTransformer still equals timm's (no dropout: timm's defaults)."""
    _check_vit(t, SMALL_VIT, (3, 3, 32, 32), train=True, params=["head.weight"])


@A.check("VisionTransformer", points=1, timeout=20.0)
def vit_other_configuration(t):
    """VisionTransformer follows its arguments: 1-channel 28x28 images, patch 7, width 32, 4
    heads, mlp_ratio 2.0, 5 classes, one block."""
    _check_vit(t, OTHER_VIT, (2, 1, 28, 28))


VIT_TINY_GRADS = ["cls_token", "pos_embed", "patch_embed.proj.weight", "blocks.0.attn.qkv.weight",
                  "blocks.11.mlp.fc2.weight", "norm.weight", "head.weight", "head.bias"]


# float32 only: a full-size model in float64 in the worker doubles the time of the largest check
# for nothing the small float64 checks do not prove.
@A.check("VisionTransformer", points=2, dtypes=("float32",), timeout=60.0)
def vit_tiny_matches_timm(t):
    """VisionTransformer(embed_dim=192, depth=12, num_heads=3) loads timm's vit_tiny_patch16_224
    state_dict (strict, every parameter perturbed) and gives its logits and gradients on 224x224
    images."""
    _check_vit(t, VIT_TINY, (2, 3, 224, 224), params=VIT_TINY_GRADS,
               reference=lambda: timm.create_model("vit_tiny_patch16_224", pretrained=False))


@A.check("VisionTransformer", points=1, dtypes=None, timeout=60.0)
def vit_b16_parameters(t):
    """VisionTransformer() is ViT-B/16: timm vit_base_patch16_224's keys and shapes, 86,567,656
    parameters."""
    model = t.student.VisionTransformer()
    t.assert_state_dict_matches(model, _spec(("vit_base_patch16_224",), lambda: timm.create_model(
        "vit_base_patch16_224", pretrained=False)))
    count = _parameter_count(t, model)
    if count != 86_567_656:
        t.fail(f"VisionTransformer() has {count:,} parameters, expected 86,567,656")


# ------------------------------------------------------------------------------------------------
# MixerBlock

def _timm_mixer_block(num_patches, dim, tokens_mlp_dim, channels_mlp_dim):
    # timm computes the widths as int(ratio * dim): these ratios are exact
    return TimmMixerBlock(dim, num_patches, mlp_ratio=(tokens_mlp_dim / dim,
                                                       channels_mlp_dim / dim))


BLOCKS = [(16, 48, 24, 192), (12, 20, 5, 30), (16, 16, 8, 32)]


@A.check("MixerBlock", points=1, dtypes=None)
def mixer_block_names(t):
    """MixerBlock has timm's keys and shapes: norm1, mlp_tokens.fc1 (num_patches ->
    tokens_mlp_dim), mlp_tokens.fc2, norm2, mlp_channels.fc1 (dim -> channels_mlp_dim),
    mlp_channels.fc2."""
    for args in BLOCKS:
        model = t.student.MixerBlock(*args)
        t.assert_state_dict_matches(model, _spec(("MixerBlock",) + args,
                                                 lambda a=args: _timm_mixer_block(*a)))
        t.release(model)


def _check_block(t, args, batch) -> None:
    num_patches, dim = args[:2]
    _compare(t, lambda: t.build(t.student.MixerBlock, *args), f"MixerBlock{args}",
             lambda: _timm_mixer_block(*args), (batch, num_patches, dim),
             (batch, num_patches, dim), op="norm")


@A.check("MixerBlock", points=2)
def mixer_block_matches_timm(t):
    """MixerBlock equals timm's with its weights (16 patches, width 48; 12 patches, width 20):
    output and every gradient (LayerNorm eps 1e-6, exact GELU, a residual around each MLP)."""
    _check_block(t, BLOCKS[0], 2)
    _check_block(t, BLOCKS[1], 3)


@A.check("MixerBlock", points=1)
def mixer_block_square_table(t):
    """MixerBlock mixes tokens across patches, not channels, when the table is square (16
    patches of width 16, where a missing transpose raises no error)."""
    _check_block(t, BLOCKS[2], 2)


# ------------------------------------------------------------------------------------------------
# MLPMixer

SMALL_MIXER = dict(img_size=32, patch_size=8, in_chans=3, num_classes=10, embed_dim=48, depth=2)
OTHER_MIXER = dict(img_size=28, patch_size=7, in_chans=1, num_classes=5, embed_dim=32, depth=1,
                   mlp_ratio=(0.25, 2.0))
MIXER_S16 = dict()


def _timm_mixer(img_size=224, patch_size=16, in_chans=3, num_classes=1000, embed_dim=512,
                depth=8, mlp_ratio=(0.5, 4.0)):
    return MlpMixer(num_classes=num_classes, img_size=img_size, in_chans=in_chans,
                    patch_size=patch_size, num_blocks=depth, embed_dim=embed_dim,
                    mlp_ratio=mlp_ratio)


def _check_mixer(t, kwargs, x_shape, params=None, reference=None):
    _compare(t, lambda: t.build(t.student.MLPMixer, **kwargs), f"Mixer{_key(kwargs)}",
             reference or (lambda: _timm_mixer(**kwargs)), x_shape,
             (x_shape[0], kwargs.get("num_classes", 1000)), op="model", params=params)


@A.check("MLPMixer", points=1, dtypes=None)
def mixer_names(t):
    """MLPMixer has timm's state_dict keys and shapes (stem.proj, blocks.i.{norm1,
    mlp_tokens.fc1, mlp_tokens.fc2, norm2, mlp_channels.fc1, mlp_channels.fc2}, norm, head)."""
    for kwargs in (SMALL_MIXER, OTHER_MIXER):
        model = t.student.MLPMixer(**kwargs)
        t.assert_state_dict_matches(model, _spec(("Mixer",) + _key(kwargs),
                                                 lambda k=kwargs: _timm_mixer(**k)))
        t.release(model)


@A.check("MLPMixer", points=3, timeout=20.0)
def mixer_matches_timm(t):
    """A small MLPMixer (32x32 images, patch 8, width 48, 2 blocks) loads timm's weights and
    gives its logits and every gradient (final LayerNorm, then the average over the patches)."""
    _check_mixer(t, SMALL_MIXER, (2, 3, 32, 32))


@A.check("MLPMixer", points=1, timeout=20.0)
def mixer_other_configuration(t):
    """MLPMixer follows its arguments: 1-channel 28x28 images, patch 7, width 32, mlp_ratio
    (0.25, 2.0), 5 classes, one block."""
    _check_mixer(t, OTHER_MIXER, (2, 1, 28, 28))


MIXER_S16_GRADS = ["stem.proj.weight", "blocks.0.mlp_tokens.fc1.weight",
                   "blocks.7.mlp_channels.fc2.weight", "norm.weight", "head.weight", "head.bias"]


@A.check("MLPMixer", points=2, dtypes=("float32",), timeout=60.0)
def mixer_s16_matches_timm(t):
    """MLPMixer() loads timm's mixer_s16_224 state_dict (strict, every parameter perturbed, the
    zero head included) and gives its logits and gradients on 224x224 images."""
    _check_mixer(t, MIXER_S16, (1, 3, 224, 224), params=MIXER_S16_GRADS,
                 reference=lambda: timm.create_model("mixer_s16_224", pretrained=False))


@A.check("MLPMixer", points=1, dtypes=None, timeout=60.0)
def mixer_s16_parameters(t):
    """MLPMixer() is Mixer-S/16: timm mixer_s16_224's keys and shapes, 18,528,264 parameters."""
    model = t.student.MLPMixer()
    t.assert_state_dict_matches(model, _spec(("mixer_s16_224",), lambda: timm.create_model(
        "mixer_s16_224", pretrained=False)))
    count = _parameter_count(t, model)
    if count != 18_528_264:
        t.fail(f"MLPMixer() has {count:,} parameters, expected 18,528,264")

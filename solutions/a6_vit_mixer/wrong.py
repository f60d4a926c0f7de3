"""Plausible wrong implementations of a6_vit_mixer's graded items.

``WRONG[name]`` lists (description, source) pairs; each source is a complete definition of ``name``
that replaces the solution's one. It may use what the solution notebook defines besides
(``patchify``, ``PatchEmbedding``, ``_MLP``, ``_Attention``, ``_Block``, ``MixerBlock``, ``math``,
``torch``, ``nn``, ``F``). A mistake in a helper (the attention, the encoder block, the MLP) is
written as the student makes it: the source redefines that helper before the graded class that
uses it. ``tests/test_assignments.py`` proves the hidden checks catch each one, and ``autograder
audit a6_vit_mixer`` shows which checks do.

Most sources are the solution with one change, made by ``_swap`` (which refuses a change that no
longer applies, so that this file cannot silently drift from the solution).
"""


def _swap(source: str, *changes: tuple[str, str]) -> str:
    """``source`` with each (old, new) change made wherever ``old`` occurs."""
    for old, new in changes:
        if old not in source:
            raise ValueError(f"wrong.py: {old!r} is not in the source")
        source = source.replace(old, new)
    return source


# ------------------------------------------------------------------------------------------------
# the solution's definitions, the starting point of most mistakes

_PATCHIFY = '''
def patchify(images, patch_size):
    b, c, h, w = images.shape
    p = patch_size
    if h % p or w % p:
        raise ValueError(f"a {h}x{w} image cannot be cut into {p}x{p} patches")
    x = images.reshape(b, c, h // p, p, w // p, p)
    x = x.permute(0, 2, 4, 1, 3, 5)
    return x.reshape(b, (h // p) * (w // p), c * p * p)
'''

_PATCH_EMBEDDING = '''
class PatchEmbedding(nn.Module):
    def __init__(self, img_size=224, patch_size=16, in_chans=3, embed_dim=768):
        super().__init__()
        self.num_patches = (img_size // patch_size) ** 2
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)
'''

_MLP_SOURCE = '''
class _MLP(nn.Module):
    def __init__(self, in_features, hidden_features):
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_features, in_features)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))
'''

_ATTENTION = '''
class _Attention(nn.Module):
    def __init__(self, dim, num_heads):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, n, dim = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.num_heads, self.head_dim)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        weights = (q @ k.transpose(-2, -1) / math.sqrt(self.head_dim)).softmax(dim=-1)
        out = (weights @ v).transpose(1, 2).reshape(b, n, dim)
        return self.proj(out)
'''

_BLOCK = '''
class _Block(nn.Module):
    def __init__(self, dim, num_heads, mlp_ratio=4.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = _Attention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = _MLP(dim, int(dim * mlp_ratio))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))
'''

_VIT = '''
class VisionTransformer(nn.Module):
    def __init__(self, img_size=224, patch_size=16, in_chans=3, num_classes=1000, embed_dim=768,
                 depth=12, num_heads=12, mlp_ratio=4.0):
        super().__init__()
        self.patch_embed = PatchEmbedding(img_size, patch_size, in_chans, embed_dim)
        num_patches = self.patch_embed.num_patches
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(0.02 * torch.randn(1, num_patches + 1, embed_dim))
        self.blocks = nn.Sequential(*[_Block(embed_dim, num_heads, mlp_ratio)
                                      for _ in range(depth)])
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)
        self.head = nn.Linear(embed_dim, num_classes)

    def forward(self, x):
        x = self.patch_embed(x)
        cls = self.cls_token.expand(x.shape[0], -1, -1)
        x = torch.cat([cls, x], dim=1) + self.pos_embed
        x = self.norm(self.blocks(x))
        return self.head(x[:, 0])
'''

_MIXER_BLOCK = '''
class MixerBlock(nn.Module):
    def __init__(self, num_patches, dim, tokens_mlp_dim, channels_mlp_dim):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp_tokens = _MLP(num_patches, tokens_mlp_dim)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp_channels = _MLP(dim, channels_mlp_dim)

    def forward(self, x):
        x = x + self.mlp_tokens(self.norm1(x).transpose(1, 2)).transpose(1, 2)
        return x + self.mlp_channels(self.norm2(x))
'''

_MIXER = '''
class MLPMixer(nn.Module):
    def __init__(self, img_size=224, patch_size=16, in_chans=3, num_classes=1000, embed_dim=512,
                 depth=8, mlp_ratio=(0.5, 4.0)):
        super().__init__()
        self.stem = PatchEmbedding(img_size, patch_size, in_chans, embed_dim)
        tokens_dim, channels_dim = (int(r * embed_dim) for r in mlp_ratio)
        self.blocks = nn.Sequential(*[
            MixerBlock(self.stem.num_patches, embed_dim, tokens_dim, channels_dim)
            for _ in range(depth)])
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)
        self.head = nn.Linear(embed_dim, num_classes)

    def forward(self, x):
        x = self.norm(self.blocks(self.stem(x)))
        return self.head(x.mean(dim=1))
'''

_TANH_MLP = _swap(_MLP_SOURCE, ("nn.GELU()", 'nn.GELU(approximate="tanh")'))
_DEFAULT_EPS = ("nn.LayerNorm(dim, eps=1e-6)", "nn.LayerNorm(dim)")

WRONG: dict[str, list[tuple[str, str]]] = {
    "patchify": [
        ("reads the patches column by column (column-major grid)",
         _swap(_PATCHIFY, ("x.permute(0, 2, 4, 1, 3, 5)", "x.permute(0, 4, 2, 1, 3, 5)"))),
        ("flattens each patch in (P, P, C) order, channels last",
         _swap(_PATCHIFY, ("x.permute(0, 2, 4, 1, 3, 5)", "x.permute(0, 2, 4, 3, 5, 1)"))),
        ("reshapes to (B, N, C*P*P) without permuting the axes", '''
def patchify(images, patch_size):
    b, c, h, w = images.shape
    p = patch_size
    if h % p or w % p:
        raise ValueError("image size not divisible by the patch size")
    return images.reshape(b, (h // p) * (w // p), c * p * p)
'''),
        ("returns F.unfold's columns, (B, C*P*P, N), without the transpose", '''
def patchify(images, patch_size):
    h, w = images.shape[-2:]
    if h % patch_size or w % patch_size:
        raise ValueError("image size not divisible by the patch size")
    return F.unfold(images, kernel_size=patch_size, stride=patch_size)
'''),
        ("fills a torch.zeros output, created without dtype and device", '''
def patchify(images, patch_size):
    b, c, h, w = images.shape
    p = patch_size
    if h % p or w % p:
        raise ValueError("image size not divisible by the patch size")
    out = torch.zeros(b, (h // p) * (w // p), c * p * p)
    n = 0
    for i in range(h // p):
        for j in range(w // p):
            out[:, n] = images[:, :, i * p:(i + 1) * p, j * p:(j + 1) * p].reshape(b, -1)
            n += 1
    return out
'''),
        ("checks only the height; a width that is not a multiple of P is cropped", '''
def patchify(images, patch_size):
    h = images.shape[2]
    if h % patch_size:
        raise ValueError("height not divisible by the patch size")
    return F.unfold(images, kernel_size=patch_size, stride=patch_size).transpose(1, 2)
'''),
        ("asserts divisibility (AssertionError, not ValueError)",
         _swap(_PATCHIFY, ('''    if h % p or w % p:
        raise ValueError(f"a {h}x{w} image cannot be cut into {p}x{p} patches")''',
                           '''    assert h % p == 0 and w % p == 0, "not divisible"'''))),
    ],
    "PatchEmbedding": [
        ("a Linear layer on patchify's output instead of the Conv2d", '''
class PatchEmbedding(nn.Module):
    def __init__(self, img_size=224, patch_size=16, in_chans=3, embed_dim=768):
        super().__init__()
        self.patch_size = patch_size
        self.num_patches = (img_size // patch_size) ** 2
        self.proj = nn.Linear(in_chans * patch_size * patch_size, embed_dim)

    def forward(self, x):
        return self.proj(patchify(x, self.patch_size))
'''),
        ("reshapes the (B, D, N) output to (B, N, D) instead of transposing it",
         _swap(_PATCH_EMBEDDING, ("self.proj(x).flatten(2).transpose(1, 2)",
                                  "self.proj(x).flatten(2).reshape(x.shape[0], -1, "
                                  "self.proj.out_channels)"))),
        ("tokens in column-major order (the grid transposed before flattening)",
         _swap(_PATCH_EMBEDDING, ("self.proj(x).flatten(2)", "self.proj(x).transpose(2, 3)"
                                                              ".flatten(2)"))),
        ("num_patches = img_size // patch_size, not squared",
         _swap(_PATCH_EMBEDDING, ("(img_size // patch_size) ** 2", "img_size // patch_size"))),
        ("a Conv2d without bias",
         _swap(_PATCH_EMBEDDING, ("stride=patch_size)", "stride=patch_size, bias=False)"))),
    ],
    "VisionTransformer": [
        ("adds the position embeddings to the patches before prepending [CLS]",
         _swap(_VIT, ('''        cls = self.cls_token.expand(x.shape[0], -1, -1)
        x = torch.cat([cls, x], dim=1) + self.pos_embed''',
                      '''        x = x + self.pos_embed[:, 1:]
        cls = self.cls_token.expand(x.shape[0], -1, -1)
        x = torch.cat([cls, x], dim=1)'''))),
        ("classifies from the mean of the tokens instead of the [CLS] token",
         _swap(_VIT, ("self.head(x[:, 0])", "self.head(x.mean(dim=1))"))),
        ("classifies from the last token instead of the [CLS] token",
         _swap(_VIT, ("self.head(x[:, 0])", "self.head(x[:, -1])"))),
        ("LayerNorms with PyTorch's default eps (1e-5)",
         _swap(_BLOCK, _DEFAULT_EPS)
         + _swap(_VIT, ("nn.LayerNorm(embed_dim, eps=1e-6)", "nn.LayerNorm(embed_dim)"))),
        ("the tanh approximation of GELU in the MLP", _TANH_MLP + _VIT),
        ("attention scores not scaled by 1/sqrt(head_dim)",
         _swap(_ATTENTION, (" / math.sqrt(self.head_dim)", "")) + _VIT),
        ("attention scores scaled by 1/sqrt(dim) instead of 1/sqrt(head_dim)",
         _swap(_ATTENTION, ("math.sqrt(self.head_dim)", "math.sqrt(dim)")) + _VIT),
        ("softmax over the queries (dim=-2) instead of the keys",
         _swap(_ATTENTION, (".softmax(dim=-1)", ".softmax(dim=-2)")) + _VIT),
        ("splits qkv as (B, N, heads, 3, head_dim) instead of (B, N, 3, heads, head_dim)",
         _swap(_ATTENTION, ("reshape(b, n, 3, self.num_heads, self.head_dim)",
                            "reshape(b, n, self.num_heads, 3, self.head_dim)"),
               ("qkv.permute(2, 0, 3, 1, 4)", "qkv.permute(3, 0, 2, 1, 4)")) + _VIT),
        ("heads as (B, heads, N, head_dim) by a reshape instead of a transpose", '''
class _Attention(nn.Module):
    def __init__(self, dim, num_heads):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, n, dim = x.shape
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        q, k, v = (t.reshape(b, self.num_heads, n, self.head_dim) for t in (q, k, v))
        weights = (q @ k.transpose(-2, -1) / math.sqrt(self.head_dim)).softmax(dim=-1)
        out = (weights @ v).reshape(b, n, dim)
        return self.proj(out)
''' + _VIT),
        ("post-norm blocks (norm after the residual sum) instead of pre-norm",
         _swap(_BLOCK, ('''        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))''',
                        '''        x = self.norm1(x + self.attn(x))
        return self.norm2(x + self.mlp(x))''')) + _VIT),
        ("dropout (p = 0.1) in the MLP, as in the paper's training recipe",
         _swap(_MLP_SOURCE, ("self.fc2(self.act(self.fc1(x)))",
                             "self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))"),
               ("        self.fc2 = nn.Linear(hidden_features, in_features)",
                "        self.fc2 = nn.Linear(hidden_features, in_features)\n"
                "        self.drop = nn.Dropout(0.1)")) + _VIT),
        ("no final LayerNorm before the head",
         _swap(_VIT, ("        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)\n", ""),
               ("x = self.norm(self.blocks(x))", "x = self.blocks(x)"))),
        ("ignores mlp_ratio: the MLP is always 4 * dim wide",
         _swap(_BLOCK, ("_MLP(dim, int(dim * mlp_ratio))", "_MLP(dim, 4 * dim)")) + _VIT),
        ("a qkv Linear without bias",
         _swap(_ATTENTION, ("nn.Linear(dim, 3 * dim)", "nn.Linear(dim, 3 * dim, bias=False)"))
         + _VIT),
        ("position embeddings for the patches only, (1, N, D): [CLS] gets none",
         _swap(_VIT, ("torch.randn(1, num_patches + 1, embed_dim)",
                      "torch.randn(1, num_patches, embed_dim)"),
               ('''        cls = self.cls_token.expand(x.shape[0], -1, -1)
        x = torch.cat([cls, x], dim=1) + self.pos_embed''',
                '''        cls = self.cls_token.expand(x.shape[0], -1, -1)
        x = torch.cat([cls, x + self.pos_embed], dim=1)'''))),
    ],
    "MixerBlock": [
        ("token-mixing MLP applied without the transpose (it mixes channels)",
         _swap(_MIXER_BLOCK, ("self.mlp_tokens(self.norm1(x).transpose(1, 2)).transpose(1, 2)",
                              "self.mlp_tokens(self.norm1(x))"))),
        ("LayerNorms with PyTorch's default eps (1e-5)",
         _swap(_MIXER_BLOCK, _DEFAULT_EPS)),
        ("the tanh approximation of GELU", _TANH_MLP + _MIXER_BLOCK),
        ("one LayerNorm for both MLPs (norm2 never used)",
         _swap(_MIXER_BLOCK, ("self.mlp_channels(self.norm2(x))",
                              "self.mlp_channels(self.norm1(x))"))),
        ("no residual connection around the token mixing",
         _swap(_MIXER_BLOCK, ("x = x + self.mlp_tokens", "x = self.mlp_tokens"))),
        ("token-MLP and channel-MLP widths swapped",
         _swap(_MIXER_BLOCK, ("_MLP(num_patches, tokens_mlp_dim)",
                              "_MLP(num_patches, channels_mlp_dim)"),
               ("_MLP(dim, channels_mlp_dim)", "_MLP(dim, tokens_mlp_dim)"))),
        ("transposes first, then normalizes over the patches", '''
class MixerBlock(nn.Module):
    def __init__(self, num_patches, dim, tokens_mlp_dim, channels_mlp_dim):
        super().__init__()
        self.norm1 = nn.LayerNorm(num_patches, eps=1e-6)
        self.mlp_tokens = _MLP(num_patches, tokens_mlp_dim)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp_channels = _MLP(dim, channels_mlp_dim)

    def forward(self, x):
        x = x + self.mlp_tokens(self.norm1(x.transpose(1, 2))).transpose(1, 2)
        return x + self.mlp_channels(self.norm2(x))
'''),
    ],
    "MLPMixer": [
        ("classifies from the first token (a ViT habit) instead of the average",
         _swap(_MIXER, ("self.head(x.mean(dim=1))", "self.head(x[:, 0])"))),
        ("averages the tokens before the final LayerNorm",
         _swap(_MIXER, ('''        x = self.norm(self.blocks(self.stem(x)))
        return self.head(x.mean(dim=1))''', '''        x = self.blocks(self.stem(x))
        return self.head(self.norm(x.mean(dim=1)))'''))),
        ("max-pools over the patches instead of averaging",
         _swap(_MIXER, ("self.head(x.mean(dim=1))", "self.head(x.amax(dim=1))"))),
        ("token-MLP width as a fraction of the number of patches, not of the width",
         _swap(_MIXER, ("tokens_dim, channels_dim = (int(r * embed_dim) for r in mlp_ratio)",
                        "tokens_dim = int(mlp_ratio[0] * self.stem.num_patches)\n"
                        "        channels_dim = int(mlp_ratio[1] * embed_dim)"))),
        ("ignores mlp_ratio: always (0.5, 4.0)",
         _swap(_MIXER, ("(int(r * embed_dim) for r in mlp_ratio)",
                        "int(0.5 * embed_dim), int(4.0 * embed_dim)"))),
        ("names the patch embedding patch_embed (ViT's name) instead of stem",
         _swap(_MIXER, ("self.stem = PatchEmbedding", "self.patch_embed = PatchEmbedding"),
               ("self.stem.num_patches", "self.patch_embed.num_patches"),
               ("self.blocks(self.stem(x))", "self.blocks(self.patch_embed(x))"))),
        ("no final LayerNorm before the pooling",
         _swap(_MIXER, ("        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)\n", ""),
               ("x = self.norm(self.blocks(self.stem(x)))", "x = self.blocks(self.stem(x))"))),
    ],
}

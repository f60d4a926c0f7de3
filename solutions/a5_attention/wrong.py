"""Plausible wrong implementations of a5_attention's graded items.

``WRONG[name]`` lists (description, source) pairs; each source is a complete definition of ``name``
that replaces the solution's one. It may use what the solution notebook defines besides (``math``,
``OrderedDict``, ``torch``, ``F``, ``nn`` and the other graded items). The hidden checks must catch
each one: ``tests/test_assignments.py`` proves it, and ``autograder audit a5_attention`` shows
which checks catch which.
"""

WRONG: dict[str, list[tuple[str, str]]] = {
    "scaled_dot_product_attention": [
        ("takes the softmax over the queries (dim=-2) instead of the keys", '''
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-2)
    return weights @ v, weights
'''),
        ("does not scale the scores", '''
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights
'''),
        ("scales the scores by 1/d instead of 1/sqrt(d)", '''
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / q.shape[-1]
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights
'''),
        ("reads d as k.size(1): the number of keys of a batched input", '''
def scaled_dot_product_attention(q, k, v, mask=None):
    d_k = k.size(1)
    scores = q @ k.transpose(-2, -1) / math.sqrt(d_k)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights
'''),
        ("inverts the mask (nn.MultiheadAttention's convention: True = blocked)", '''
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights
'''),
        ("sets masked scores to 0 instead of -inf", '''
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores * mask
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights
'''),
        ("zeroes masked weights after the softmax without renormalizing the rows", '''
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    weights = torch.softmax(scores, dim=-1)
    if mask is not None:
        weights = weights * mask
    return weights @ v, weights
'''),
        ("returns the weights detached from the graph", '''
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights.detach()
'''),
        ("hand-written softmax without subtracting the row maximum (overflows)", '''
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    e = torch.exp(scores)
    weights = e / e.sum(dim=-1, keepdim=True)
    return weights @ v, weights
'''),
        ("calls F.scaled_dot_product_attention for the output (forbidden)", '''
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask), weights
'''),
    ],
    "causal_mask": [
        ("allows the future: True on and above the diagonal", '''
def causal_mask(n, device=None):
    return torch.ones(n, n, dtype=torch.bool, device=device).triu()
'''),
        ("excludes the diagonal: a token may not attend to itself", '''
def causal_mask(n, device=None):
    return torch.ones(n, n, dtype=torch.bool, device=device).tril(-1)
'''),
        ("returns a float 0/1 matrix, not a boolean mask", '''
def causal_mask(n, device=None):
    return torch.tril(torch.ones(n, n, device=device))
'''),
        ("nn.Transformer's convention: True above the diagonal (blocked)", '''
def causal_mask(n, device=None):
    return torch.ones(n, n, dtype=torch.bool, device=device).triu(1)
'''),
        ("takes no device argument", '''
def causal_mask(n):
    return torch.ones(n, n, dtype=torch.bool).tril()
'''),
    ],
    "sinusoidal_positional_encoding": [
        ("puts all sines in the first half and all cosines in the second", '''
def sinusoidal_positional_encoding(num_positions, dim):
    t = torch.arange(num_positions, dtype=torch.float64)[:, None]
    angles = t * 10000.0 ** (-torch.arange(0, dim, 2, dtype=torch.float64) / dim)
    return torch.cat([angles.sin(), angles.cos()], dim=1).to(torch.get_default_dtype())
'''),
        ("swaps sin and cos", '''
def sinusoidal_positional_encoding(num_positions, dim):
    t = torch.arange(num_positions, dtype=torch.float64)[:, None]
    angles = t * 10000.0 ** (-torch.arange(0, dim, 2, dtype=torch.float64) / dim)
    pe = torch.stack([angles.cos(), angles.sin()], dim=-1).reshape(num_positions, dim)
    return pe.to(torch.get_default_dtype())
'''),
        ("one frequency per dimension: the cosine at 2i+1 uses 10000^((2i+1)/dim)", '''
def sinusoidal_positional_encoding(num_positions, dim):
    t = torch.arange(num_positions, dtype=torch.float32)[:, None]
    angles = t / 10000 ** (torch.arange(dim) / dim)
    pe = torch.zeros(num_positions, dim)
    pe[:, 0::2] = torch.sin(angles[:, 0::2])
    pe[:, 1::2] = torch.cos(angles[:, 1::2])
    return pe
'''),
        ("forgets the factor 2: frequency 10000^(-i/dim) for pair i", '''
def sinusoidal_positional_encoding(num_positions, dim):
    pe = torch.zeros(num_positions, dim)
    t = torch.arange(num_positions, dtype=torch.float32)[:, None]
    i = torch.arange(dim // 2, dtype=torch.float32)
    pe[:, 0::2] = torch.sin(t / 10000 ** (i / dim))
    pe[:, 1::2] = torch.cos(t / 10000 ** (i / dim))
    return pe
'''),
        ("counts positions from 1", '''
def sinusoidal_positional_encoding(num_positions, dim):
    t = torch.arange(1, num_positions + 1, dtype=torch.float64)[:, None]
    angles = t * 10000.0 ** (-torch.arange(0, dim, 2, dtype=torch.float64) / dim)
    pe = torch.stack([angles.sin(), angles.cos()], dim=-1).reshape(num_positions, dim)
    return pe.to(torch.get_default_dtype())
'''),
        ("slices a precomputed table of max_len=5000 positions (the PyTorch tutorial's)", '''
def sinusoidal_positional_encoding(num_positions, dim, max_len=5000):
    pe = torch.zeros(max_len, dim)
    position = torch.arange(0, max_len, dtype=torch.float).unsqueeze(1)
    div_term = torch.exp(torch.arange(0, dim, 2).float() * (-math.log(10000.0) / dim))
    pe[:, 0::2] = torch.sin(position * div_term)
    pe[:, 1::2] = torch.cos(position * div_term)
    return pe[:num_positions]
'''),
    ],
    "MultiHeadSelfAttention": [
        ("splits heads with reshape(B, heads, N, head_dim), mixing tokens", '''
class MultiHeadSelfAttention(nn.Module):
    def __init__(self, dim, num_heads, qkv_bias=True):
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, mask=None):
        B, N, dim = x.shape
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        q, k, v = (z.reshape(B, self.num_heads, N, dim // self.num_heads) for z in (q, k, v))
        if mask is not None and mask.dim() == 3:
            mask = mask[:, None]
        out, _ = scaled_dot_product_attention(q, k, v, mask)
        return self.proj(out.reshape(B, N, dim))
'''),
        ("scales the queries by dim ** -0.5 before the attention (scaled twice)", '''
class MultiHeadSelfAttention(nn.Module):
    def __init__(self, dim, num_heads, qkv_bias=True):
        super().__init__()
        self.num_heads = num_heads
        self.scale = dim ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, mask=None):
        B, N, dim = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, dim // self.num_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        if mask is not None and mask.dim() == 3:
            mask = mask[:, None]
        out, _ = scaled_dot_product_attention(q * self.scale, k, v, mask)
        return self.proj(out.transpose(1, 2).reshape(B, N, dim))
'''),
        ("splits qkv as reshape(B, N, heads, 3, head_dim): q, k, v interleaved per head", '''
class MultiHeadSelfAttention(nn.Module):
    def __init__(self, dim, num_heads, qkv_bias=True):
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, mask=None):
        B, N, dim = x.shape
        qkv = self.qkv(x).reshape(B, N, self.num_heads, 3, dim // self.num_heads)
        q, k, v = qkv.permute(3, 0, 2, 1, 4).unbind(0)
        if mask is not None and mask.dim() == 3:
            mask = mask[:, None]
        out, _ = scaled_dot_product_attention(q, k, v, mask)
        return self.proj(out.transpose(1, 2).reshape(B, N, dim))
'''),
        ("inverts the mask before attending (nn.MultiheadAttention's convention)", '''
class MultiHeadSelfAttention(nn.Module):
    def __init__(self, dim, num_heads, qkv_bias=True):
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, mask=None):
        B, N, dim = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, dim // self.num_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        if mask is not None:
            mask = ~mask if mask.dim() != 3 else ~mask[:, None]
        out, _ = scaled_dot_product_attention(q, k, v, mask)
        return self.proj(out.transpose(1, 2).reshape(B, N, dim))
'''),
        ("gives a (B, N, N) mask no head axis (broadcast against the heads)", '''
class MultiHeadSelfAttention(nn.Module):
    def __init__(self, dim, num_heads, qkv_bias=True):
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, mask=None):
        B, N, dim = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, dim // self.num_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        out, _ = scaled_dot_product_attention(q, k, v, mask)
        return self.proj(out.transpose(1, 2).reshape(B, N, dim))
'''),
        ("ignores qkv_bias: qkv always has a bias", '''
class MultiHeadSelfAttention(nn.Module):
    def __init__(self, dim, num_heads, qkv_bias=True):
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, mask=None):
        B, N, dim = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, dim // self.num_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        if mask is not None and mask.dim() == 3:
            mask = mask[:, None]
        out, _ = scaled_dot_product_attention(q, k, v, mask)
        return self.proj(out.transpose(1, 2).reshape(B, N, dim))
'''),
        ("drops proj's bias too when qkv_bias=False", '''
class MultiHeadSelfAttention(nn.Module):
    def __init__(self, dim, num_heads, qkv_bias=True):
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim, bias=qkv_bias)

    def forward(self, x, mask=None):
        B, N, dim = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, dim // self.num_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        if mask is not None and mask.dim() == 3:
            mask = mask[:, None]
        out, _ = scaled_dot_product_attention(q, k, v, mask)
        return self.proj(out.transpose(1, 2).reshape(B, N, dim))
'''),
        ("wraps nn.MultiheadAttention (not the student's own code)", '''
class MultiHeadSelfAttention(nn.Module):
    def __init__(self, dim, num_heads, qkv_bias=True):
        super().__init__()
        self.num_heads = num_heads
        self.mha = nn.MultiheadAttention(dim, num_heads, bias=qkv_bias, batch_first=True)

    def forward(self, x, mask=None):
        return self.mha(x, x, x, attn_mask=None if mask is None else ~mask)[0]
'''),
    ],
    "MultiHeadCrossAttention": [
        ("takes the values first and the keys second from kv", '''
class MultiHeadCrossAttention(nn.Module):
    def __init__(self, dim, num_heads):
        super().__init__()
        self.num_heads = num_heads
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, context, mask=None):
        B, N, dim = x.shape
        M, head_dim = context.shape[1], dim // self.num_heads
        q = self.q(x).reshape(B, N, self.num_heads, head_dim).transpose(1, 2)
        kv = self.kv(context).reshape(B, M, 2, self.num_heads, head_dim)
        v, k = kv.permute(2, 0, 3, 1, 4).unbind(0)
        if mask is not None and mask.dim() == 3:
            mask = mask[:, None]
        out, _ = scaled_dot_product_attention(q, k, v, mask)
        return self.proj(out.transpose(1, 2).reshape(B, N, dim))
'''),
        ("splits kv as reshape(B, M, heads, 2, head_dim): keys and values interleaved per head", '''
class MultiHeadCrossAttention(nn.Module):
    def __init__(self, dim, num_heads):
        super().__init__()
        self.num_heads = num_heads
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, context, mask=None):
        B, N, dim = x.shape
        M, head_dim = context.shape[1], dim // self.num_heads
        q = self.q(x).reshape(B, N, self.num_heads, head_dim).transpose(1, 2)
        kv = self.kv(context).reshape(B, M, self.num_heads, 2, head_dim)
        k, v = kv.permute(3, 0, 2, 1, 4).unbind(0)
        if mask is not None and mask.dim() == 3:
            mask = mask[:, None]
        out, _ = scaled_dot_product_attention(q, k, v, mask)
        return self.proj(out.transpose(1, 2).reshape(B, N, dim))
'''),
        ("inverts the mask before attending", '''
class MultiHeadCrossAttention(nn.Module):
    def __init__(self, dim, num_heads):
        super().__init__()
        self.num_heads = num_heads
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, context, mask=None):
        B, N, dim = x.shape
        M, head_dim = context.shape[1], dim // self.num_heads
        q = self.q(x).reshape(B, N, self.num_heads, head_dim).transpose(1, 2)
        kv = self.kv(context).reshape(B, M, 2, self.num_heads, head_dim)
        k, v = kv.permute(2, 0, 3, 1, 4).unbind(0)
        if mask is not None:
            mask = ~mask if mask.dim() != 3 else ~mask[:, None]
        out, _ = scaled_dot_product_attention(q, k, v, mask)
        return self.proj(out.transpose(1, 2).reshape(B, N, dim))
'''),
        ("gives a (B, N, M) mask no head axis (broadcast against the heads)", '''
class MultiHeadCrossAttention(nn.Module):
    def __init__(self, dim, num_heads):
        super().__init__()
        self.num_heads = num_heads
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, context, mask=None):
        B, N, dim = x.shape
        M, head_dim = context.shape[1], dim // self.num_heads
        q = self.q(x).reshape(B, N, self.num_heads, head_dim).transpose(1, 2)
        kv = self.kv(context).reshape(B, M, 2, self.num_heads, head_dim)
        k, v = kv.permute(2, 0, 3, 1, 4).unbind(0)
        out, _ = scaled_dot_product_attention(q, k, v, mask)
        return self.proj(out.transpose(1, 2).reshape(B, N, dim))
'''),
        ("separate k and v projections instead of one kv", '''
class MultiHeadCrossAttention(nn.Module):
    def __init__(self, dim, num_heads):
        super().__init__()
        self.num_heads = num_heads
        self.q = nn.Linear(dim, dim)
        self.k = nn.Linear(dim, dim)
        self.v = nn.Linear(dim, dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, context, mask=None):
        B, N, dim = x.shape
        M, head_dim = context.shape[1], dim // self.num_heads
        q = self.q(x).reshape(B, N, self.num_heads, head_dim).transpose(1, 2)
        k = self.k(context).reshape(B, M, self.num_heads, head_dim).transpose(1, 2)
        v = self.v(context).reshape(B, M, self.num_heads, head_dim).transpose(1, 2)
        if mask is not None and mask.dim() == 3:
            mask = mask[:, None]
        out, _ = scaled_dot_product_attention(q, k, v, mask)
        return self.proj(out.transpose(1, 2).reshape(B, N, dim))
'''),
    ],
    "TransformerEncoderBlock": [
        ("LayerNorm with PyTorch's default eps 1e-5", '''
class TransformerEncoderBlock(nn.Module):
    def __init__(self, dim, num_heads, mlp_ratio=4.0, pre_norm=True):
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.pre_norm = pre_norm
        self.norm1 = nn.LayerNorm(dim)
        self.attn = MultiHeadSelfAttention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(OrderedDict(
            fc1=nn.Linear(dim, hidden), act=nn.GELU(), fc2=nn.Linear(hidden, dim)))

    def forward(self, x, mask=None):
        if self.pre_norm:
            x = x + self.attn(self.norm1(x), mask)
            return x + self.mlp(self.norm2(x))
        x = self.norm1(x + self.attn(x, mask))
        return self.norm2(x + self.mlp(x))
'''),
        ("tanh-approximated GELU", '''
class TransformerEncoderBlock(nn.Module):
    def __init__(self, dim, num_heads, mlp_ratio=4.0, pre_norm=True):
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.pre_norm = pre_norm
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = MultiHeadSelfAttention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = nn.Sequential(OrderedDict(
            fc1=nn.Linear(dim, hidden), act=nn.GELU(approximate="tanh"),
            fc2=nn.Linear(hidden, dim)))

    def forward(self, x, mask=None):
        if self.pre_norm:
            x = x + self.attn(self.norm1(x), mask)
            return x + self.mlp(self.norm2(x))
        x = self.norm1(x + self.attn(x, mask))
        return self.norm2(x + self.mlp(x))
'''),
        ("ReLU in the MLP, as in the original transformer", '''
class TransformerEncoderBlock(nn.Module):
    def __init__(self, dim, num_heads, mlp_ratio=4.0, pre_norm=True):
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.pre_norm = pre_norm
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = MultiHeadSelfAttention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = nn.Sequential(OrderedDict(
            fc1=nn.Linear(dim, hidden), act=nn.ReLU(), fc2=nn.Linear(hidden, dim)))

    def forward(self, x, mask=None):
        if self.pre_norm:
            x = x + self.attn(self.norm1(x), mask)
            return x + self.mlp(self.norm2(x))
        x = self.norm1(x + self.attn(x, mask))
        return self.norm2(x + self.mlp(x))
'''),
        ("ignores pre_norm: always pre-norm", '''
class TransformerEncoderBlock(nn.Module):
    def __init__(self, dim, num_heads, mlp_ratio=4.0, pre_norm=True):
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = MultiHeadSelfAttention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = nn.Sequential(OrderedDict(
            fc1=nn.Linear(dim, hidden), act=nn.GELU(), fc2=nn.Linear(hidden, dim)))

    def forward(self, x, mask=None):
        x = x + self.attn(self.norm1(x), mask)
        return x + self.mlp(self.norm2(x))
'''),
        ("post-norm that normalizes the branch, x + norm(attn(x)), not the sum", '''
class TransformerEncoderBlock(nn.Module):
    def __init__(self, dim, num_heads, mlp_ratio=4.0, pre_norm=True):
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.pre_norm = pre_norm
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = MultiHeadSelfAttention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = nn.Sequential(OrderedDict(
            fc1=nn.Linear(dim, hidden), act=nn.GELU(), fc2=nn.Linear(hidden, dim)))

    def forward(self, x, mask=None):
        if self.pre_norm:
            x = x + self.attn(self.norm1(x), mask)
            return x + self.mlp(self.norm2(x))
        x = x + self.norm1(self.attn(x, mask))
        return x + self.norm2(self.mlp(x))
'''),
        ("pre-norm that normalizes the residual stream itself: x = norm1(x); x = x + attn(x)", '''
class TransformerEncoderBlock(nn.Module):
    def __init__(self, dim, num_heads, mlp_ratio=4.0, pre_norm=True):
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.pre_norm = pre_norm
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = MultiHeadSelfAttention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = nn.Sequential(OrderedDict(
            fc1=nn.Linear(dim, hidden), act=nn.GELU(), fc2=nn.Linear(hidden, dim)))

    def forward(self, x, mask=None):
        if self.pre_norm:
            x = self.norm1(x)
            x = x + self.attn(x, mask)
            x = self.norm2(x)
            return x + self.mlp(x)
        x = self.norm1(x + self.attn(x, mask))
        return self.norm2(x + self.mlp(x))
'''),
        ("does not pass the mask to the attention", '''
class TransformerEncoderBlock(nn.Module):
    def __init__(self, dim, num_heads, mlp_ratio=4.0, pre_norm=True):
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.pre_norm = pre_norm
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = MultiHeadSelfAttention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = nn.Sequential(OrderedDict(
            fc1=nn.Linear(dim, hidden), act=nn.GELU(), fc2=nn.Linear(hidden, dim)))

    def forward(self, x, mask=None):
        if self.pre_norm:
            x = x + self.attn(self.norm1(x))
            return x + self.mlp(self.norm2(x))
        x = self.norm1(x + self.attn(x))
        return self.norm2(x + self.mlp(x))
'''),
        ("dropout 0.1 in the MLP (changes the output in train mode)", '''
class TransformerEncoderBlock(nn.Module):
    def __init__(self, dim, num_heads, mlp_ratio=4.0, pre_norm=True):
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.pre_norm = pre_norm
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = MultiHeadSelfAttention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = nn.Sequential(OrderedDict(
            fc1=nn.Linear(dim, hidden), act=nn.GELU(), drop=nn.Dropout(0.1),
            fc2=nn.Linear(hidden, dim)))

    def forward(self, x, mask=None):
        if self.pre_norm:
            x = x + self.attn(self.norm1(x), mask)
            return x + self.mlp(self.norm2(x))
        x = self.norm1(x + self.attn(x, mask))
        return self.norm2(x + self.mlp(x))
'''),
        ("MLP hidden width 4 * dim, whatever mlp_ratio", '''
class TransformerEncoderBlock(nn.Module):
    def __init__(self, dim, num_heads, mlp_ratio=4.0, pre_norm=True):
        super().__init__()
        self.pre_norm = pre_norm
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = MultiHeadSelfAttention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = nn.Sequential(OrderedDict(
            fc1=nn.Linear(dim, 4 * dim), act=nn.GELU(), fc2=nn.Linear(4 * dim, dim)))

    def forward(self, x, mask=None):
        if self.pre_norm:
            x = x + self.attn(self.norm1(x), mask)
            return x + self.mlp(self.norm2(x))
        x = self.norm1(x + self.attn(x, mask))
        return self.norm2(x + self.mlp(x))
'''),
        ("wraps nn.TransformerEncoderLayer (not the student's own code)", '''
class TransformerEncoderBlock(nn.Module):
    def __init__(self, dim, num_heads, mlp_ratio=4.0, pre_norm=True):
        super().__init__()
        self.layer = nn.TransformerEncoderLayer(
            dim, num_heads, int(dim * mlp_ratio), dropout=0.0, activation="gelu",
            layer_norm_eps=1e-6, batch_first=True, norm_first=pre_norm)

    def forward(self, x, mask=None):
        return self.layer(x, src_mask=None if mask is None else ~mask)
'''),
    ],
    "TransformerDecoderBlock": [
        ("forgets the causal mask in the self-attention", '''
class TransformerDecoderBlock(nn.Module):
    def __init__(self, dim, num_heads, mlp_ratio=4.0):
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.self_attn = MultiHeadSelfAttention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.cross_attn = MultiHeadCrossAttention(dim, num_heads)
        self.norm3 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = nn.Sequential(OrderedDict(
            fc1=nn.Linear(dim, hidden), act=nn.GELU(), fc2=nn.Linear(hidden, dim)))

    def forward(self, x, context, context_mask=None):
        x = x + self.self_attn(self.norm1(x))
        x = x + self.cross_attn(self.norm2(x), context, context_mask)
        return x + self.mlp(self.norm3(x))
'''),
        ("normalizes the context with norm2 as well", '''
class TransformerDecoderBlock(nn.Module):
    def __init__(self, dim, num_heads, mlp_ratio=4.0):
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.self_attn = MultiHeadSelfAttention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.cross_attn = MultiHeadCrossAttention(dim, num_heads)
        self.norm3 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = nn.Sequential(OrderedDict(
            fc1=nn.Linear(dim, hidden), act=nn.GELU(), fc2=nn.Linear(hidden, dim)))

    def forward(self, x, context, context_mask=None):
        x = x + self.self_attn(self.norm1(x), causal_mask(x.shape[1], device=x.device))
        x = x + self.cross_attn(self.norm2(x), self.norm2(context), context_mask)
        return x + self.mlp(self.norm3(x))
'''),
        ("does not pass context_mask to the cross-attention", '''
class TransformerDecoderBlock(nn.Module):
    def __init__(self, dim, num_heads, mlp_ratio=4.0):
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.self_attn = MultiHeadSelfAttention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.cross_attn = MultiHeadCrossAttention(dim, num_heads)
        self.norm3 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = nn.Sequential(OrderedDict(
            fc1=nn.Linear(dim, hidden), act=nn.GELU(), fc2=nn.Linear(hidden, dim)))

    def forward(self, x, context, context_mask=None):
        x = x + self.self_attn(self.norm1(x), causal_mask(x.shape[1], device=x.device))
        x = x + self.cross_attn(self.norm2(x), context)
        return x + self.mlp(self.norm3(x))
'''),
        ("cross-attention before the causal self-attention", '''
class TransformerDecoderBlock(nn.Module):
    def __init__(self, dim, num_heads, mlp_ratio=4.0):
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.self_attn = MultiHeadSelfAttention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.cross_attn = MultiHeadCrossAttention(dim, num_heads)
        self.norm3 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = nn.Sequential(OrderedDict(
            fc1=nn.Linear(dim, hidden), act=nn.GELU(), fc2=nn.Linear(hidden, dim)))

    def forward(self, x, context, context_mask=None):
        x = x + self.cross_attn(self.norm2(x), context, context_mask)
        x = x + self.self_attn(self.norm1(x), causal_mask(x.shape[1], device=x.device))
        return x + self.mlp(self.norm3(x))
'''),
        ("post-norm decoder (the original transformer's) instead of pre-norm", '''
class TransformerDecoderBlock(nn.Module):
    def __init__(self, dim, num_heads, mlp_ratio=4.0):
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.self_attn = MultiHeadSelfAttention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.cross_attn = MultiHeadCrossAttention(dim, num_heads)
        self.norm3 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = nn.Sequential(OrderedDict(
            fc1=nn.Linear(dim, hidden), act=nn.GELU(), fc2=nn.Linear(hidden, dim)))

    def forward(self, x, context, context_mask=None):
        x = self.norm1(x + self.self_attn(x, causal_mask(x.shape[1], device=x.device)))
        x = self.norm2(x + self.cross_attn(x, context, context_mask))
        return self.norm3(x + self.mlp(x))
'''),
        ("MLP as an unnamed nn.Sequential (state_dict keys mlp.0, mlp.2)", '''
class TransformerDecoderBlock(nn.Module):
    def __init__(self, dim, num_heads, mlp_ratio=4.0):
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.self_attn = MultiHeadSelfAttention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.cross_attn = MultiHeadCrossAttention(dim, num_heads)
        self.norm3 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, x, context, context_mask=None):
        x = x + self.self_attn(self.norm1(x), causal_mask(x.shape[1], device=x.device))
        x = x + self.cross_attn(self.norm2(x), context, context_mask)
        return x + self.mlp(self.norm3(x))
'''),
        ("wraps nn.TransformerDecoderLayer (not the student's own code)", '''
class TransformerDecoderBlock(nn.Module):
    def __init__(self, dim, num_heads, mlp_ratio=4.0):
        super().__init__()
        self.layer = nn.TransformerDecoderLayer(
            dim, num_heads, int(dim * mlp_ratio), dropout=0.0, activation="gelu",
            layer_norm_eps=1e-6, batch_first=True, norm_first=True)

    def forward(self, x, context, context_mask=None):
        n = x.shape[1]
        return self.layer(x, context, tgt_mask=~causal_mask(n, device=x.device),
                          memory_mask=None if context_mask is None else ~context_mask)
'''),
    ],
}

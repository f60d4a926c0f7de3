"""Plausible wrong implementations of a1_convolution's graded items.

``WRONG[name]`` lists (description, source) pairs; each source is a complete definition of ``name``
that replaces the solution's one. It may use what the solution notebook defines besides (``_pair``,
``conv_output_size``, ``conv2d``, ``math``, ``torch``, ``F``). The hidden checks must catch
each one: ``tests/test_assignments.py`` proves it, and ``autograder audit a1_convolution`` shows
which checks catch which.
"""

WRONG: dict[str, list[tuple[str, str]]] = {
    "conv_output_size": [
        ("forgets dilation", '''
def conv_output_size(size, kernel_size, stride=1, padding=0, dilation=1):
    return (size + 2 * padding - kernel_size) // stride + 1
'''),
        ("rounds up instead of down", '''
def conv_output_size(size, kernel_size, stride=1, padding=0, dilation=1):
    return math.ceil((size + 2 * padding - dilation * (kernel_size - 1) - 1) / stride) + 1
'''),
        ("counts the padding on one side only", '''
def conv_output_size(size, kernel_size, stride=1, padding=0, dilation=1):
    return (size + padding - dilation * (kernel_size - 1) - 1) // stride + 1
'''),
        ("returns a float (true division)", '''
def conv_output_size(size, kernel_size, stride=1, padding=0, dilation=1):
    return (size + 2 * padding - dilation * (kernel_size - 1) - 1) / stride + 1
'''),
        ("dilated kernel spans D*K pixels (off by one)", '''
def conv_output_size(size, kernel_size, stride=1, padding=0, dilation=1):
    return (size + 2 * padding - dilation * kernel_size) // stride + 1
'''),
    ],
    "conv2d_naive": [
        ("ignores padding", '''
def conv2d_naive(x, weight, bias=None, stride=1, padding=0):
    sh, sw = _pair(stride)
    n, c, h, w = x.shape
    c_out, _, kh, kw = weight.shape
    h_out, w_out = (h - kh) // sh + 1, (w - kw) // sw + 1
    out = x.new_zeros(n, c_out, h_out, w_out)
    for i in range(h_out):
        for j in range(w_out):
            window = x[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw]
            out[:, :, i, j] = (window.unsqueeze(1) * weight).sum(dim=(2, 3, 4))
    if bias is not None:
        out = out + bias.view(1, -1, 1, 1)
    return out
'''),
        ("flips the kernel (true convolution)", '''
def conv2d_naive(x, weight, bias=None, stride=1, padding=0):
    sh, sw = _pair(stride)
    ph, pw = _pair(padding)
    n, c, h, w = x.shape
    c_out, _, kh, kw = weight.shape
    h_out = conv_output_size(h, kh, sh, ph)
    w_out = conv_output_size(w, kw, sw, pw)
    x_pad = F.pad(x, (pw, pw, ph, ph))
    weight = weight.flip(2, 3)
    out = x.new_zeros(n, c_out, h_out, w_out)
    for i in range(h_out):
        for j in range(w_out):
            window = x_pad[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw]
            out[:, :, i, j] = (window.unsqueeze(1) * weight).sum(dim=(2, 3, 4))
    if bias is not None:
        out = out + bias.view(1, -1, 1, 1)
    return out
'''),
        ("ignores the bias", '''
def conv2d_naive(x, weight, bias=None, stride=1, padding=0):
    sh, sw = _pair(stride)
    ph, pw = _pair(padding)
    n, c, h, w = x.shape
    c_out, _, kh, kw = weight.shape
    h_out = conv_output_size(h, kh, sh, ph)
    w_out = conv_output_size(w, kw, sw, pw)
    x_pad = F.pad(x, (pw, pw, ph, ph))
    out = x.new_zeros(n, c_out, h_out, w_out)
    for i in range(h_out):
        for j in range(w_out):
            window = x_pad[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw]
            out[:, :, i, j] = (window.unsqueeze(1) * weight).sum(dim=(2, 3, 4))
    return out
'''),
        ("uses the H stride along W too", '''
def conv2d_naive(x, weight, bias=None, stride=1, padding=0):
    sh, _ = _pair(stride)
    ph, pw = _pair(padding)
    n, c, h, w = x.shape
    c_out, _, kh, kw = weight.shape
    h_out = conv_output_size(h, kh, sh, ph)
    w_out = conv_output_size(w, kw, sh, pw)
    x_pad = F.pad(x, (pw, pw, ph, ph))
    out = x.new_zeros(n, c_out, h_out, w_out)
    for i in range(h_out):
        for j in range(w_out):
            window = x_pad[:, :, i * sh:i * sh + kh, j * sh:j * sh + kw]
            out[:, :, i, j] = (window.unsqueeze(1) * weight).sum(dim=(2, 3, 4))
    if bias is not None:
        out = out + bias.view(1, -1, 1, 1)
    return out
'''),
        ("creates the output with torch.zeros, without dtype and device", '''
def conv2d_naive(x, weight, bias=None, stride=1, padding=0):
    sh, sw = _pair(stride)
    ph, pw = _pair(padding)
    n, c, h, w = x.shape
    c_out, _, kh, kw = weight.shape
    h_out = conv_output_size(h, kh, sh, ph)
    w_out = conv_output_size(w, kw, sw, pw)
    x_pad = F.pad(x, (pw, pw, ph, ph))
    out = torch.zeros(n, c_out, h_out, w_out)
    for i in range(h_out):
        for j in range(w_out):
            window = x_pad[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw]
            out[:, :, i, j] = (window.unsqueeze(1) * weight).sum(dim=(2, 3, 4))
    if bias is not None:
        out = out + bias.view(1, -1, 1, 1)
    return out
'''),
        ("calls F.unfold (forbidden here)", '''
def conv2d_naive(x, weight, bias=None, stride=1, padding=0):
    n, c, h, w = x.shape
    c_out, _, kh, kw = weight.shape
    h_out = conv_output_size(h, kh, _pair(stride)[0], _pair(padding)[0])
    w_out = conv_output_size(w, kw, _pair(stride)[1], _pair(padding)[1])
    cols = F.unfold(x, (kh, kw), padding=padding, stride=stride)
    out = (weight.reshape(c_out, -1) @ cols).view(n, c_out, h_out, w_out)
    if bias is not None:
        out = out + bias.view(1, -1, 1, 1)
    return out
'''),
    ],
    "conv2d": [
        ("ignores padding", '''
def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    stride, dilation = _pair(stride), _pair(dilation)
    n, c, h, w = x.shape
    c_out, c_per_group, kh, kw = weight.shape
    h_out = conv_output_size(h, kh, stride[0], 0, dilation[0])
    w_out = conv_output_size(w, kw, stride[1], 0, dilation[1])
    cols = F.unfold(x, (kh, kw), dilation=dilation, stride=stride)
    cols = cols.view(n, groups, c_per_group * kh * kw, h_out * w_out)
    weight = weight.reshape(groups, c_out // groups, c_per_group * kh * kw)
    out = (weight @ cols).view(n, c_out, h_out, w_out)
    if bias is not None:
        out = out + bias.view(1, -1, 1, 1)
    return out
'''),
        ("flips the kernel (true convolution)", '''
def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    stride, padding, dilation = _pair(stride), _pair(padding), _pair(dilation)
    n, c, h, w = x.shape
    c_out, c_per_group, kh, kw = weight.shape
    h_out = conv_output_size(h, kh, stride[0], padding[0], dilation[0])
    w_out = conv_output_size(w, kw, stride[1], padding[1], dilation[1])
    cols = F.unfold(x, (kh, kw), dilation=dilation, padding=padding, stride=stride)
    cols = cols.view(n, groups, c_per_group * kh * kw, h_out * w_out)
    weight = weight.flip(2, 3).reshape(groups, c_out // groups, c_per_group * kh * kw)
    out = (weight @ cols).view(n, c_out, h_out, w_out)
    if bias is not None:
        out = out + bias.view(1, -1, 1, 1)
    return out
'''),
        ("ignores the stride along W", '''
def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    padding, dilation = _pair(padding), _pair(dilation)
    stride = (_pair(stride)[0], 1)
    n, c, h, w = x.shape
    c_out, c_per_group, kh, kw = weight.shape
    h_out = conv_output_size(h, kh, stride[0], padding[0], dilation[0])
    w_out = conv_output_size(w, kw, stride[1], padding[1], dilation[1])
    cols = F.unfold(x, (kh, kw), dilation=dilation, padding=padding, stride=stride)
    cols = cols.view(n, groups, c_per_group * kh * kw, h_out * w_out)
    weight = weight.reshape(groups, c_out // groups, c_per_group * kh * kw)
    out = (weight @ cols).view(n, c_out, h_out, w_out)
    if bias is not None:
        out = out + bias.view(1, -1, 1, 1)
    return out
'''),
        ("pads into torch.zeros without dtype and device", '''
def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    stride, padding, dilation = _pair(stride), _pair(padding), _pair(dilation)
    n, c, h, w = x.shape
    c_out, c_per_group, kh, kw = weight.shape
    x_pad = torch.zeros(n, c, h + 2 * padding[0], w + 2 * padding[1])
    x_pad[:, :, padding[0]:padding[0] + h, padding[1]:padding[1] + w] = x
    h_out = conv_output_size(h, kh, stride[0], padding[0], dilation[0])
    w_out = conv_output_size(w, kw, stride[1], padding[1], dilation[1])
    cols = F.unfold(x_pad, (kh, kw), dilation=dilation, stride=stride)
    cols = cols.view(n, groups, c_per_group * kh * kw, h_out * w_out)
    weight = weight.reshape(groups, c_out // groups, c_per_group * kh * kw)
    out = (weight.to(cols.dtype) @ cols).view(n, c_out, h_out, w_out)
    if bias is not None:
        out = out + bias.view(1, -1, 1, 1).to(out.dtype)
    return out
'''),
        ("ignores the bias", '''
def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    stride, padding, dilation = _pair(stride), _pair(padding), _pair(dilation)
    n, c, h, w = x.shape
    c_out, c_per_group, kh, kw = weight.shape
    h_out = conv_output_size(h, kh, stride[0], padding[0], dilation[0])
    w_out = conv_output_size(w, kw, stride[1], padding[1], dilation[1])
    cols = F.unfold(x, (kh, kw), dilation=dilation, padding=padding, stride=stride)
    cols = cols.view(n, groups, c_per_group * kh * kw, h_out * w_out)
    weight = weight.reshape(groups, c_out // groups, c_per_group * kh * kw)
    return (weight @ cols).view(n, c_out, h_out, w_out)
'''),
        ("splits the columns into groups along the wrong axis", '''
def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    stride, padding, dilation = _pair(stride), _pair(padding), _pair(dilation)
    n, c, h, w = x.shape
    c_out, c_per_group, kh, kw = weight.shape
    h_out = conv_output_size(h, kh, stride[0], padding[0], dilation[0])
    w_out = conv_output_size(w, kw, stride[1], padding[1], dilation[1])
    cols = F.unfold(x, (kh, kw), dilation=dilation, padding=padding, stride=stride)
    cols = cols.view(n, c_per_group * kh * kw, groups, h_out * w_out).transpose(1, 2)
    weight = weight.reshape(groups, c_out // groups, c_per_group * kh * kw)
    out = (weight @ cols).reshape(n, c_out, h_out, w_out)
    if bias is not None:
        out = out + bias.view(1, -1, 1, 1)
    return out
'''),
        ("ignores dilation", '''
def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    stride, padding = _pair(stride), _pair(padding)
    n, c, h, w = x.shape
    c_out, c_per_group, kh, kw = weight.shape
    h_out = conv_output_size(h, kh, stride[0], padding[0])
    w_out = conv_output_size(w, kw, stride[1], padding[1])
    cols = F.unfold(x, (kh, kw), padding=padding, stride=stride)
    cols = cols.view(n, groups, c_per_group * kh * kw, h_out * w_out)
    weight = weight.reshape(groups, c_out // groups, c_per_group * kh * kw)
    out = (weight @ cols).view(n, c_out, h_out, w_out)
    if bias is not None:
        out = out + bias.view(1, -1, 1, 1)
    return out
'''),
        ("calls F.conv2d (forbidden)", '''
def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return F.conv2d(x, weight, bias, stride, padding, dilation, groups)
'''),
        ("loops over output positions (too slow)", '''
def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    (sh, sw), (ph, pw), (dh, dw) = _pair(stride), _pair(padding), _pair(dilation)
    n, c, h, w = x.shape
    c_out, c_per_group, kh, kw = weight.shape
    h_out = conv_output_size(h, kh, sh, ph, dh)
    w_out = conv_output_size(w, kw, sw, pw, dw)
    x = F.pad(x, (pw, pw, ph, ph))
    k_per_group = c_out // groups
    out = x.new_zeros(n, c_out, h_out, w_out)
    for b in range(n):
        for g in range(groups):
            w_g = weight[g * k_per_group:(g + 1) * k_per_group].reshape(k_per_group, -1)
            x_g = x[b, g * c_per_group:(g + 1) * c_per_group]
            for i in range(h_out):
                for j in range(w_out):
                    window = x_g[:, i * sh:i * sh + dh * (kh - 1) + 1:dh,
                                 j * sw:j * sw + dw * (kw - 1) + 1:dw]
                    out[b, g * k_per_group:(g + 1) * k_per_group, i, j] = w_g @ window.reshape(-1)
    if bias is not None:
        out = out + bias.view(1, -1, 1, 1)
    return out
'''),
    ],
    "max_pool2d": [
        ("pads with zeros instead of -inf", '''
def max_pool2d(x, kernel_size, stride=None, padding=0):
    kh, kw = _pair(kernel_size)
    sh, sw = _pair(kernel_size if stride is None else stride)
    ph, pw = _pair(padding)
    x = F.pad(x, (pw, pw, ph, ph))
    return x.unfold(2, kh, sh).unfold(3, kw, sw).amax(dim=(-2, -1))
'''),
        ("stride defaults to 1", '''
def max_pool2d(x, kernel_size, stride=None, padding=0):
    kh, kw = _pair(kernel_size)
    sh, sw = _pair(1 if stride is None else stride)
    ph, pw = _pair(padding)
    x = F.pad(x, (pw, pw, ph, ph), value=-math.inf)
    return x.unfold(2, kh, sh).unfold(3, kw, sw).amax(dim=(-2, -1))
'''),
        ("creates the output with torch.zeros, without dtype and device", '''
def max_pool2d(x, kernel_size, stride=None, padding=0):
    kh, kw = _pair(kernel_size)
    sh, sw = _pair(kernel_size if stride is None else stride)
    ph, pw = _pair(padding)
    n, c, h, w = x.shape
    x = F.pad(x, (pw, pw, ph, ph), value=-math.inf)
    h_out, w_out = conv_output_size(h, kh, sh, ph), conv_output_size(w, kw, sw, pw)
    out = torch.zeros(n, c, h_out, w_out)
    for i in range(h_out):
        for j in range(w_out):
            out[:, :, i, j] = x[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw].amax(dim=(2, 3))
    return out
'''),
        ("uses kernel_size[0] for both axes", '''
def max_pool2d(x, kernel_size, stride=None, padding=0):
    kh, _ = _pair(kernel_size)
    sh, sw = _pair(kernel_size if stride is None else stride)
    ph, pw = _pair(padding)
    x = F.pad(x, (pw, pw, ph, ph), value=-math.inf)
    return x.unfold(2, kh, sh).unfold(3, kh, sw).amax(dim=(-2, -1))
'''),
        ("calls F.max_pool2d (forbidden)", '''
def max_pool2d(x, kernel_size, stride=None, padding=0):
    return F.max_pool2d(x, kernel_size, stride, padding)
'''),
    ],
    "avg_pool2d": [
        ("excludes the padding from the count", '''
def avg_pool2d(x, kernel_size, stride=None, padding=0):
    kh, kw = _pair(kernel_size)
    sh, sw = _pair(kernel_size if stride is None else stride)
    ph, pw = _pair(padding)
    total = F.pad(x, (pw, pw, ph, ph)).unfold(2, kh, sh).unfold(3, kw, sw).sum(dim=(-2, -1))
    ones = F.pad(torch.ones_like(x), (pw, pw, ph, ph))
    count = ones.unfold(2, kh, sh).unfold(3, kw, sw).sum(dim=(-2, -1))
    return total / count
'''),
        ("stride defaults to 1", '''
def avg_pool2d(x, kernel_size, stride=None, padding=0):
    kh, kw = _pair(kernel_size)
    sh, sw = _pair(1 if stride is None else stride)
    ph, pw = _pair(padding)
    x = F.pad(x, (pw, pw, ph, ph))
    return x.unfold(2, kh, sh).unfold(3, kw, sw).mean(dim=(-2, -1))
'''),
        ("divides by kH * kH (assumes a square kernel)", '''
def avg_pool2d(x, kernel_size, stride=None, padding=0):
    kh, kw = _pair(kernel_size)
    sh, sw = _pair(kernel_size if stride is None else stride)
    ph, pw = _pair(padding)
    x = F.pad(x, (pw, pw, ph, ph))
    return x.unfold(2, kh, sh).unfold(3, kw, sw).sum(dim=(-2, -1)) / (kh * kh)
'''),
        ("ignores padding", '''
def avg_pool2d(x, kernel_size, stride=None, padding=0):
    kh, kw = _pair(kernel_size)
    sh, sw = _pair(kernel_size if stride is None else stride)
    return x.unfold(2, kh, sh).unfold(3, kw, sw).mean(dim=(-2, -1))
'''),
        ("calls F.avg_pool2d (forbidden)", '''
def avg_pool2d(x, kernel_size, stride=None, padding=0):
    return F.avg_pool2d(x, kernel_size, stride, padding)
'''),
    ],
    "Conv2dFunction": [
        ("forward drops the bias (added only in a test, not in forward)", '''
class Conv2dFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, stride=1, padding=0):
        ctx.save_for_backward(x, weight)
        ctx.has_bias, ctx.stride, ctx.padding = bias is not None, stride, padding
        return conv2d(x, weight, None, stride=stride, padding=padding)

    @staticmethod
    def backward(ctx, grad_out):
        x, weight = ctx.saved_tensors
        n, _, h, w = x.shape
        c_out, _, kh, kw = weight.shape
        cols = F.unfold(x, (kh, kw), padding=ctx.padding, stride=ctx.stride)
        grad_out = grad_out.reshape(n, c_out, -1)
        grad_weight = (grad_out @ cols.transpose(1, 2)).sum(0).view_as(weight)
        grad_cols = weight.reshape(c_out, -1).t() @ grad_out
        grad_x = F.fold(grad_cols, (h, w), (kh, kw), padding=ctx.padding, stride=ctx.stride)
        grad_bias = grad_out.sum(dim=(0, 2)) if ctx.has_bias else None
        return grad_x, grad_weight, grad_bias, None, None
'''),
        ("weight gradient from the first image only", '''
class Conv2dFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, stride=1, padding=0):
        ctx.save_for_backward(x, weight)
        ctx.has_bias, ctx.stride, ctx.padding = bias is not None, stride, padding
        return conv2d(x, weight, bias, stride=stride, padding=padding)

    @staticmethod
    def backward(ctx, grad_out):
        x, weight = ctx.saved_tensors
        n, _, h, w = x.shape
        c_out, _, kh, kw = weight.shape
        cols = F.unfold(x, (kh, kw), padding=ctx.padding, stride=ctx.stride)
        grad_out = grad_out.reshape(n, c_out, -1)
        grad_weight = (grad_out[0] @ cols[0].t()).view_as(weight)
        grad_cols = weight.reshape(c_out, -1).t() @ grad_out
        grad_x = F.fold(grad_cols, (h, w), (kh, kw), padding=ctx.padding, stride=ctx.stride)
        grad_bias = grad_out.sum(dim=(0, 2)) if ctx.has_bias else None
        return grad_x, grad_weight, grad_bias, None, None
'''),
        ("bias gradient averaged over the batch instead of summed", '''
class Conv2dFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, stride=1, padding=0):
        ctx.save_for_backward(x, weight)
        ctx.has_bias, ctx.stride, ctx.padding = bias is not None, stride, padding
        return conv2d(x, weight, bias, stride=stride, padding=padding)

    @staticmethod
    def backward(ctx, grad_out):
        x, weight = ctx.saved_tensors
        n, _, h, w = x.shape
        c_out, _, kh, kw = weight.shape
        grad_bias = grad_out.sum(dim=(2, 3)).mean(dim=0) if ctx.has_bias else None
        cols = F.unfold(x, (kh, kw), padding=ctx.padding, stride=ctx.stride)
        grad_out = grad_out.reshape(n, c_out, -1)
        grad_weight = (grad_out @ cols.transpose(1, 2)).sum(0).view_as(weight)
        grad_cols = weight.reshape(c_out, -1).t() @ grad_out
        grad_x = F.fold(grad_cols, (h, w), (kh, kw), padding=ctx.padding, stride=ctx.stride)
        return grad_x, grad_weight, grad_bias, None, None
'''),
        ("folds the input gradient without stride and padding", '''
class Conv2dFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, stride=1, padding=0):
        ctx.save_for_backward(x, weight)
        ctx.has_bias, ctx.stride, ctx.padding = bias is not None, stride, padding
        return conv2d(x, weight, bias, stride=stride, padding=padding)

    @staticmethod
    def backward(ctx, grad_out):
        x, weight = ctx.saved_tensors
        n, _, h, w = x.shape
        c_out, _, kh, kw = weight.shape
        cols = F.unfold(x, (kh, kw), padding=ctx.padding, stride=ctx.stride)
        grad_out = grad_out.reshape(n, c_out, -1)
        grad_weight = (grad_out @ cols.transpose(1, 2)).sum(0).view_as(weight)
        grad_cols = weight.reshape(c_out, -1).t() @ grad_out
        grad_x = F.fold(grad_cols, (h, w), (kh, kw))
        grad_bias = grad_out.sum(dim=(0, 2)) if ctx.has_bias else None
        return grad_x, grad_weight, grad_bias, None, None
'''),
        ("returns a bias gradient when bias is None", '''
class Conv2dFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, stride=1, padding=0):
        ctx.save_for_backward(x, weight)
        ctx.stride, ctx.padding = stride, padding
        return conv2d(x, weight, bias, stride=stride, padding=padding)

    @staticmethod
    def backward(ctx, grad_out):
        x, weight = ctx.saved_tensors
        n, _, h, w = x.shape
        c_out, _, kh, kw = weight.shape
        cols = F.unfold(x, (kh, kw), padding=ctx.padding, stride=ctx.stride)
        grad_out = grad_out.reshape(n, c_out, -1)
        grad_weight = (grad_out @ cols.transpose(1, 2)).sum(0).view_as(weight)
        grad_cols = weight.reshape(c_out, -1).t() @ grad_out
        grad_x = F.fold(grad_cols, (h, w), (kh, kw), padding=ctx.padding, stride=ctx.stride)
        return grad_x, grad_weight, grad_out.sum(dim=(0, 2)), None, None
'''),
        ("backward recomputes the forward and calls torch.autograd.grad (forbidden)", '''
class Conv2dFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, stride=1, padding=0):
        ctx.save_for_backward(x, weight, bias)
        ctx.stride, ctx.padding = stride, padding
        return conv2d(x, weight, bias, stride=stride, padding=padding)

    @staticmethod
    def backward(ctx, grad_out):
        x, weight, bias = ctx.saved_tensors
        inputs = [x.detach().requires_grad_(), weight.detach().requires_grad_()]
        if bias is not None:
            inputs.append(bias.detach().requires_grad_())
        with torch.enable_grad():
            out = conv2d(*inputs[:2], inputs[2] if bias is not None else None,
                         stride=ctx.stride, padding=ctx.padding)
            grads = torch.autograd.grad(out, inputs, grad_out)
        grad_bias = grads[2] if bias is not None else None
        return grads[0], grads[1], grad_bias, None, None
'''),
        ("backward uses torch.nn.grad (forbidden)", '''
class Conv2dFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, stride=1, padding=0):
        ctx.save_for_backward(x, weight)
        ctx.has_bias, ctx.stride, ctx.padding = bias is not None, stride, padding
        return conv2d(x, weight, bias, stride=stride, padding=padding)

    @staticmethod
    def backward(ctx, grad_out):
        x, weight = ctx.saved_tensors
        grad_x = torch.nn.grad.conv2d_input(x.shape, weight, grad_out, ctx.stride, ctx.padding)
        grad_weight = torch.nn.grad.conv2d_weight(x, weight.shape, grad_out, ctx.stride,
                                                  ctx.padding)
        grad_bias = grad_out.sum(dim=(0, 2, 3)) if ctx.has_bias else None
        return grad_x, grad_weight, grad_bias, None, None
'''),
        ("forward calls F.conv2d instead of conv2d (forbidden)", '''
class Conv2dFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, stride=1, padding=0):
        ctx.save_for_backward(x, weight)
        ctx.has_bias, ctx.stride, ctx.padding = bias is not None, stride, padding
        return F.conv2d(x, weight, bias, stride=stride, padding=padding)

    @staticmethod
    def backward(ctx, grad_out):
        x, weight = ctx.saved_tensors
        n, _, h, w = x.shape
        c_out, _, kh, kw = weight.shape
        cols = F.unfold(x, (kh, kw), padding=ctx.padding, stride=ctx.stride)
        grad_out = grad_out.reshape(n, c_out, -1)
        grad_weight = (grad_out @ cols.transpose(1, 2)).sum(0).view_as(weight)
        grad_cols = weight.reshape(c_out, -1).t() @ grad_out
        grad_x = F.fold(grad_cols, (h, w), (kh, kw), padding=ctx.padding, stride=ctx.stride)
        grad_bias = grad_out.sum(dim=(0, 2)) if ctx.has_bias else None
        return grad_x, grad_weight, grad_bias, None, None
'''),
    ],
    "receptive_field": [
        ("ignores the strides", '''
def receptive_field(layers):
    return 1 + sum(kernel_size - 1 for kernel_size, _ in layers)
'''),
        ("applies a layer's own stride to its kernel", '''
def receptive_field(layers):
    field, jump = 1, 1
    for kernel_size, stride in layers:
        jump *= stride
        field += (kernel_size - 1) * jump
    return field
'''),
        ("starts from 0 instead of 1", '''
def receptive_field(layers):
    field, jump = 0, 1
    for kernel_size, stride in layers:
        field += (kernel_size - 1) * jump
        jump *= stride
    return field
'''),
        ("fails on an empty list", '''
def receptive_field(layers):
    field, jump = layers[0][0], layers[0][1]
    for kernel_size, stride in layers[1:]:
        field += (kernel_size - 1) * jump
        jump *= stride
    return field
'''),
    ],
}

"""Plausible wrong implementations of a2_training's graded items.

``WRONG[name]`` lists (description, source) pairs; each source is a complete definition of ``name``
that replaces the solution's one. It may use what the solution notebook defines besides (``math``,
``torch``, ``nn``, ``F``, ``batch_norm2d`` and the other graded items). The hidden checks must
catch each one: ``tests/test_assignments.py`` proves it, and ``autograder audit a2_training``
shows which checks catch which.
"""

# The solution's batch_norm2d with one piece swapped out: {normalize}, {update} and {eval_stats}.
_BATCH_NORM = '''
def batch_norm2d(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    if training:
        mean = x.mean(dim=(0, 2, 3))
        var = x.var(dim=(0, 2, 3), correction=0)
        count = x.numel() // x.shape[1]
        with torch.no_grad():
            running_mean.mul_(1 - momentum).add_(momentum * mean)
            running_var.mul_(1 - momentum).add_(momentum * var * count / (count - 1))
    else:
        mean, var = running_mean, running_var
    shape = (1, -1, 1, 1)
    out = (x - mean.view(shape)) / torch.sqrt(var.view(shape) + eps)
    if gamma is not None:
        out = out * gamma.view(shape)
    if beta is not None:
        out = out + beta.view(shape)
    return out
'''


def _bn(old: str, new: str) -> str:
    assert old in _BATCH_NORM, old
    return _BATCH_NORM.replace(old, new)


# The solution's BatchNorm2d with one piece swapped out.
_BN_MODULE = '''
class BatchNorm2d(nn.Module):
    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))

    def forward(self, x):
        if self.training:
            self.num_batches_tracked.add_(1)
        return batch_norm2d(x, self.weight, self.bias, self.running_mean, self.running_var,
                            self.training, self.momentum, self.eps)
'''


def _bn_module(old: str, new: str) -> str:
    assert old in _BN_MODULE, old
    return _BN_MODULE.replace(old, new)


_LAYER_NORM = '''
def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    dims = tuple(range(-len(normalized_shape), 0))
    mean = x.mean(dim=dims, keepdim=True)
    var = x.var(dim=dims, keepdim=True, correction=0)
    out = (x - mean) / torch.sqrt(var + eps)
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out
'''


def _ln(old: str, new: str) -> str:
    assert old in _LAYER_NORM, old
    return _LAYER_NORM.replace(old, new)


_XAVIER = '''
def xavier_normal_(tensor, gain=1.0):
    if tensor.dim() < 2:
        raise ValueError("xavier_normal_ needs a tensor with at least 2 dimensions")
    receptive_field = math.prod(tensor.shape[2:])
    fan_in, fan_out = tensor.shape[1] * receptive_field, tensor.shape[0] * receptive_field
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    with torch.no_grad():
        return tensor.normal_(0.0, std)
'''


def _xavier(old: str, new: str) -> str:
    assert old in _XAVIER, old
    return _XAVIER.replace(old, new)


_KAIMING = '''
def kaiming_normal_(tensor, nonlinearity="relu"):
    gains = {"linear": 1.0, "sigmoid": 1.0, "tanh": 5.0 / 3, "relu": math.sqrt(2.0)}
    if tensor.dim() < 2:
        raise ValueError("kaiming_normal_ needs a tensor with at least 2 dimensions")
    fan_in = tensor.shape[1] * math.prod(tensor.shape[2:])
    std = gains[nonlinearity] / math.sqrt(fan_in)
    with torch.no_grad():
        return tensor.normal_(0.0, std)
'''


def _kaiming(old: str, new: str) -> str:
    assert old in _KAIMING, old
    return _KAIMING.replace(old, new)


_SGD = '''
class SGD(torch.optim.Optimizer):
    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                if group["weight_decay"] != 0:
                    g = g.add(p, alpha=group["weight_decay"])
                if group["momentum"] != 0:
                    state = self.state[p]
                    if "momentum_buffer" not in state:
                        state["momentum_buffer"] = g.clone()
                    else:
                        state["momentum_buffer"].mul_(group["momentum"]).add_(g)
                    g = state["momentum_buffer"]
                p.add_(g, alpha=-group["lr"])
'''


def _sgd(old: str, new: str) -> str:
    assert old in _SGD, old
    return _SGD.replace(old, new)


_ADAM = '''
class Adam(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps))

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                state["step"] += 1
                t = state["step"]
                m, v = state["exp_avg"], state["exp_avg_sq"]
                m.mul_(beta1).add_(g, alpha=1 - beta1)
                v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
                m_hat = m / (1 - beta1**t)
                v_hat = v / (1 - beta2**t)
                p.addcdiv_(m_hat, v_hat.sqrt().add_(group["eps"]), value=-group["lr"])
'''


def _adam(old: str, new: str) -> str:
    assert old in _ADAM, old
    return _ADAM.replace(old, new)


_LENET = '''
class LeNet5(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, kernel_size=5)
        self.pool1 = nn.MaxPool2d(kernel_size=2, stride=2)
        self.conv2 = nn.Conv2d(6, 16, kernel_size=5)
        self.pool2 = nn.MaxPool2d(kernel_size=2, stride=2)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, num_classes)

    def forward(self, x):
        x = self.pool1(F.relu(self.conv1(x)))
        x = self.pool2(F.relu(self.conv2(x)))
        x = x.flatten(1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)
'''


def _lenet(old: str, new: str) -> str:
    assert old in _LENET, old
    return _LENET.replace(old, new)


WRONG: dict[str, list[tuple[str, str]]] = {
    "batch_norm2d": [
        ("normalizes with the unbiased batch variance", _bn(
            "var = x.var(dim=(0, 2, 3), correction=0)", "var = x.var(dim=(0, 2, 3))")),
        ("updates running_var with the biased batch variance", _bn(
            "momentum * var * count / (count - 1)", "momentum * var")),
        ("applies momentum the wrong way round (keeps 10% of the old statistics)", _bn(
            """            running_mean.mul_(1 - momentum).add_(momentum * mean)
            running_var.mul_(1 - momentum).add_(momentum * var * count / (count - 1))""",
            """            running_mean.mul_(momentum).add_((1 - momentum) * mean)
            running_var.mul_(momentum).add_((1 - momentum) * var * count / (count - 1))""")),
        ("rebinds running_mean and running_var instead of updating them in place", _bn(
            """            running_mean.mul_(1 - momentum).add_(momentum * mean)
            running_var.mul_(1 - momentum).add_(momentum * var * count / (count - 1))""",
            """            running_mean = (1 - momentum) * running_mean + momentum * mean
            running_var = (1 - momentum) * running_var + momentum * var * count / (count - 1)""")),
        ("normalizes with the batch statistics in evaluation mode too", _bn(
            "        mean, var = running_mean, running_var",
            "        mean, var = x.mean(dim=(0, 2, 3)), x.var(dim=(0, 2, 3), correction=0)")),
        ("updates the running statistics in evaluation mode too", _bn(
            "        mean, var = running_mean, running_var",
            """        mean, var = running_mean.clone(), running_var.clone()
        with torch.no_grad():
            running_mean.mul_(1 - momentum).add_(momentum * x.mean(dim=(0, 2, 3)))
            running_var.mul_(1 - momentum).add_(momentum * x.var(dim=(0, 2, 3)))""")),
        ("adds eps outside the square root", _bn(
            "torch.sqrt(var.view(shape) + eps)", "(torch.sqrt(var.view(shape)) + eps)")),
        ("fails when gamma and beta are None", _bn(
            """    if gamma is not None:
        out = out * gamma.view(shape)
    if beta is not None:
        out = out + beta.view(shape)""",
            "    out = out * gamma.view(shape) + beta.view(shape)")),
        ("normalizes each image on its own (statistics over H and W only)", '''
def batch_norm2d(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    shape = (1, -1, 1, 1)
    if training:
        mean = x.mean(dim=(2, 3), keepdim=True)
        var = x.var(dim=(2, 3), keepdim=True, correction=0)
        with torch.no_grad():
            running_mean.mul_(1 - momentum).add_(momentum * mean.mean(dim=(0, 2, 3)))
            running_var.mul_(1 - momentum).add_(momentum * var.mean(dim=(0, 2, 3)))
    else:
        mean, var = running_mean.view(shape), running_var.view(shape)
    out = (x - mean) / torch.sqrt(var + eps)
    if gamma is not None:
        out = out * gamma.view(shape)
    if beta is not None:
        out = out + beta.view(shape)
    return out
'''),
        ("detaches the batch statistics (no gradient through the mean and variance)", _bn(
            "out = (x - mean.view(shape)) / torch.sqrt(var.view(shape) + eps)",
            "out = (x - mean.detach().view(shape)) / torch.sqrt(var.detach().view(shape) + eps)")),
        ("calls F.batch_norm (forbidden here)", '''
def batch_norm2d(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    return F.batch_norm(x, running_mean, running_var, gamma, beta, training, momentum, eps)
'''),
    ],
    "BatchNorm2d": [
        ("forgets num_batches_tracked", _bn_module(
            '        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))'
            "\n", "").replace("""        if self.training:
            self.num_batches_tracked.add_(1)
""", "")),
        ("registers the running statistics as parameters", _bn_module(
            """        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))""",
            """        frozen = dict(requires_grad=False)
        self.running_mean = nn.Parameter(torch.zeros(num_features), **frozen)
        self.running_var = nn.Parameter(torch.ones(num_features), **frozen)""")),
        ("keeps num_batches_tracked as a float tensor", _bn_module(
            "torch.tensor(0, dtype=torch.long)", "torch.tensor(0.0)")),
        ("initializes weight and bias at random", _bn_module(
            """        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))""",
            """        self.weight = nn.Parameter(torch.rand(num_features))
        self.bias = nn.Parameter(torch.randn(num_features))""")),
        ("counts batches in eval mode too", _bn_module(
            """        if self.training:
            self.num_batches_tracked.add_(1)""", "        self.num_batches_tracked.add_(1)")),
        ("normalizes with the batch statistics in eval mode (always training=True)", _bn_module(
            "                            self.training, self.momentum, self.eps)",
            "                            True, self.momentum, self.eps)")),
        ("ignores its eps and momentum (always 1e-5 and 0.1)", _bn_module(
            "                            self.training, self.momentum, self.eps)",
            "                            self.training)")),
        ("passes copies of the running statistics, which are never updated", _bn_module(
            "self.running_mean, self.running_var,",
            "self.running_mean.clone(), self.running_var.clone(),")),
        ("detaches weight and bias (they get no gradient)", _bn_module(
            "return batch_norm2d(x, self.weight, self.bias,",
            "return batch_norm2d(x, self.weight.detach(), self.bias.detach(),")),
        ("wraps nn.BatchNorm2d (forbidden here)", '''
class BatchNorm2d(nn.Module):
    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__()
        self.bn = nn.BatchNorm2d(num_features, eps=eps, momentum=momentum)

    def forward(self, x):
        return self.bn(x)
'''),
    ],
    "layer_norm": [
        ("normalizes with the unbiased variance", _ln(
            "var = x.var(dim=dims, keepdim=True, correction=0)",
            "var = x.var(dim=dims, keepdim=True)")),
        ("normalizes over the last dimension only, whatever normalized_shape says", _ln(
            "dims = tuple(range(-len(normalized_shape), 0))", "dims = (-1,)")),
        ("takes an int normalized_shape for the number of dimensions", _ln(
            """    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    dims = tuple(range(-len(normalized_shape), 0))""",
            """    if isinstance(normalized_shape, int):
        dims = tuple(range(-normalized_shape, 0))
    else:
        dims = tuple(range(-len(normalized_shape), 0))""")),
        ("normalizes over every dimension but the first", _ln(
            "dims = tuple(range(-len(normalized_shape), 0))",
            "dims = tuple(range(1, x.dim()))")),
        ("adds eps outside the square root", _ln(
            "out = (x - mean) / torch.sqrt(var + eps)",
            "out = (x - mean) / (torch.sqrt(var) + eps)")),
        ("skips the bias when there is no weight", _ln(
            """    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias""",
            """    if weight is not None:
        out = out * weight
        if bias is not None:
            out = out + bias""")),
        ("computes the statistics without gradient (under torch.no_grad)", _ln(
            """    mean = x.mean(dim=dims, keepdim=True)
    var = x.var(dim=dims, keepdim=True, correction=0)""",
            """    with torch.no_grad():
        mean = x.mean(dim=dims, keepdim=True)
        var = x.var(dim=dims, keepdim=True, correction=0)""")),
        ("calls F.layer_norm (forbidden here)", '''
def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    return F.layer_norm(x, normalized_shape, weight, bias, eps)
'''),
    ],
    "xavier_normal_": [
        ("ignores the receptive field of conv weights", _xavier(
            "receptive_field = math.prod(tensor.shape[2:])", "receptive_field = 1")),
        ("uses fan_in only (std gain / sqrt(fan_in))", _xavier(
            "std = gain * math.sqrt(2.0 / (fan_in + fan_out))",
            "std = gain * math.sqrt(1.0 / fan_in)")),
        ("scales the variance, not the standard deviation, by gain", _xavier(
            "std = gain * math.sqrt(2.0 / (fan_in + fan_out))",
            "std = math.sqrt(gain * 2.0 / (fan_in + fan_out))")),
        ("ignores gain", _xavier(
            "std = gain * math.sqrt(2.0 / (fan_in + fan_out))",
            "std = math.sqrt(2.0 / (fan_in + fan_out))")),
        ("draws from a uniform distribution with the right std", _xavier(
            "return tensor.normal_(0.0, std)",
            "return tensor.uniform_(-math.sqrt(3.0) * std, math.sqrt(3.0) * std)")),
        ("returns a new tensor instead of filling the given one", _xavier(
            """    with torch.no_grad():
        return tensor.normal_(0.0, std)""",
            "    return torch.randn_like(tensor) * std")),
        ("fills without torch.no_grad() (fails on a weight that requires grad)", _xavier(
            """    with torch.no_grad():
        return tensor.normal_(0.0, std)""",
            "    return tensor.normal_(0.0, std)")),
        ("does not check the number of dimensions (IndexError for a vector)", _xavier(
            """    if tensor.dim() < 2:
        raise ValueError("xavier_normal_ needs a tensor with at least 2 dimensions")
""", "")),
        ("calls nn.init.xavier_normal_ (forbidden here)", '''
def xavier_normal_(tensor, gain=1.0):
    return nn.init.xavier_normal_(tensor, gain=gain)
'''),
    ],
    "kaiming_normal_": [
        ("uses fan_out instead of fan_in", _kaiming(
            "fan_in = tensor.shape[1] * math.prod(tensor.shape[2:])",
            "fan_in = tensor.shape[0] * math.prod(tensor.shape[2:])")),
        ("ignores the receptive field of conv weights", _kaiming(
            "fan_in = tensor.shape[1] * math.prod(tensor.shape[2:])",
            "fan_in = tensor.shape[1]")),
        ("uses gain 1 for tanh", _kaiming('"tanh": 5.0 / 3', '"tanh": 1.0')),
        ("always uses ReLU's gain", _kaiming(
            "std = gains[nonlinearity] / math.sqrt(fan_in)",
            "std = math.sqrt(2.0) / math.sqrt(fan_in)")),
        ("takes 2 / fan_in for the standard deviation (it is the variance)", _kaiming(
            "std = gains[nonlinearity] / math.sqrt(fan_in)",
            "std = gains[nonlinearity] ** 2 / fan_in")),
        ("draws from a uniform distribution with the right std", _kaiming(
            "return tensor.normal_(0.0, std)",
            "return tensor.uniform_(-math.sqrt(3.0) * std, math.sqrt(3.0) * std)")),
        ("returns a new tensor instead of filling the given one", _kaiming(
            """    with torch.no_grad():
        return tensor.normal_(0.0, std)""",
            "    return std * torch.randn(tensor.shape, dtype=tensor.dtype, device=tensor.device)"
        )),
        ("does not check the number of dimensions (IndexError for a vector)", _kaiming(
            """    if tensor.dim() < 2:
        raise ValueError("kaiming_normal_ needs a tensor with at least 2 dimensions")
""", "")),
        ("calls nn.init.kaiming_normal_ (forbidden here)", '''
def kaiming_normal_(tensor, nonlinearity="relu"):
    return nn.init.kaiming_normal_(tensor, nonlinearity=nonlinearity)
'''),
    ],
    "SGD": [
        ("adds weight decay after momentum (to the update, not the gradient)", _sgd(
            """                if group["weight_decay"] != 0:
                    g = g.add(p, alpha=group["weight_decay"])
                if group["momentum"] != 0:""",
            """                if group["momentum"] != 0:""").replace(
            """                p.add_(g, alpha=-group["lr"])""",
            """                if group["weight_decay"] != 0:
                    g = g.add(p, alpha=group["weight_decay"])
                p.add_(g, alpha=-group["lr"])""")),
        ("averages the momentum buffer (buf = m*buf + (1 - m)*g)", _sgd(
            """state["momentum_buffer"].mul_(group["momentum"]).add_(g)""",
            """state["momentum_buffer"].mul_(group["momentum"]).add_(
                            g, alpha=1 - group["momentum"])""")),
        ("uses a Nesterov step (g + m*buf)", _sgd(
            """                    g = state["momentum_buffer"]""",
            """                    g = g + group["momentum"] * state["momentum_buffer"]""")),
        ("reads lr and momentum from self.defaults, not from the parameter's group", _sgd(
            'p.add_(g, alpha=-group["lr"])', 'p.add_(g, alpha=-self.defaults["lr"])').replace(
            'mul_(group["momentum"])', 'mul_(self.defaults["momentum"])')),
        ("decays parameters that have no gradient (a missing gradient taken as zero)", _sgd(
            """                if p.grad is None:
                    continue
                g = p.grad""",
            """                g = p.grad if p.grad is not None else torch.zeros_like(p)""")),
        ("subtracts the weight decay from the gradient", _sgd(
            'g = g.add(p, alpha=group["weight_decay"])',
            'g = g.sub(p, alpha=group["weight_decay"])')),
        ("keeps the momentum buffers in an attribute of its own, not in self.state", _sgd(
            "weight_decay=weight_decay))\n",
            "weight_decay=weight_decay))\n        self.buffers = {}\n").replace(
            "state = self.state[p]", "state = self.buffers.setdefault(p, {})")),
        ("rebinds the parameter instead of updating it in place", _sgd(
            'p.add_(g, alpha=-group["lr"])', 'p = p - group["lr"] * g')),
        ("subclasses torch.optim.SGD (the library's answer)", '''
class SGD(torch.optim.SGD):
    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        super().__init__(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
'''),
    ],
    "Adam": [
        ("has no bias correction", _adam(
            """                m_hat = m / (1 - beta1**t)
                v_hat = v / (1 - beta2**t)""",
            """                m_hat, v_hat = m, v.clone()""")),
        ("adds eps inside the square root", _adam(
            'p.addcdiv_(m_hat, v_hat.sqrt().add_(group["eps"]), value=-group["lr"])',
            'p.addcdiv_(m_hat, (v_hat + group["eps"]).sqrt(), value=-group["lr"])')),
        ("counts steps once per step() for all parameters, not per parameter", _adam(
            """        for group in self.param_groups:
            beta1, beta2 = group["betas"]""",
            """        self.t = getattr(self, "t", 0) + 1
        for group in self.param_groups:
            beta1, beta2 = group["betas"]""").replace(
            """                state["step"] += 1
                t = state["step"]""", """                t = self.t""")),
        ("bias-corrects with the step count before incrementing it", _adam(
            """                state["step"] += 1
                t = state["step"]""",
            """                t = state["step"]
                state["step"] += 1""")),
        ("keeps the moments in an attribute of its own, not in self.state", _adam(
            """        super().__init__(params, dict(lr=lr, betas=betas, eps=eps))""",
            """        super().__init__(params, dict(lr=lr, betas=betas, eps=eps))
        self.moments = {}""").replace(
            "                state = self.state[p]",
            "                state = self.moments.setdefault(p, {})")),
        ("uses the default betas for every group", _adam(
            'beta1, beta2 = group["betas"]', 'beta1, beta2 = self.defaults["betas"]')),
        ("averages |g| instead of g squared in the second moment", _adam(
            "v.mul_(beta2).addcmul_(g, g, value=1 - beta2)",
            "v.mul_(beta2).add_(g.abs(), alpha=1 - beta2)")),
        ("calls torch.optim.adam.adam, the functional form (forbidden here)", '''
class Adam(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps))

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            for p in params:
                if not self.state[p]:
                    self.state[p]["step"] = torch.tensor(0.0, dtype=torch.float32)
                    self.state[p]["exp_avg"] = torch.zeros_like(p)
                    self.state[p]["exp_avg_sq"] = torch.zeros_like(p)
            state = [self.state[p] for p in params]
            torch.optim.adam.adam(
                params, [p.grad for p in params], [s["exp_avg"] for s in state],
                [s["exp_avg_sq"] for s in state], [], [s["step"] for s in state],
                amsgrad=False, beta1=group["betas"][0], beta2=group["betas"][1],
                lr=group["lr"], weight_decay=0.0, eps=group["eps"], maximize=False)
'''),
    ],
    "LeNet5": [
        ("pools by averaging", _lenet(
            """        self.pool1 = nn.MaxPool2d(kernel_size=2, stride=2)""",
            """        self.pool1 = nn.AvgPool2d(kernel_size=2, stride=2)""").replace(
            """        self.pool2 = nn.MaxPool2d(kernel_size=2, stride=2)""",
            """        self.pool2 = nn.AvgPool2d(kernel_size=2, stride=2)""")),
        ("has no ReLU after fc2", _lenet(
            "x = F.relu(self.fc2(x))", "x = self.fc2(x)")),
        ("uses tanh instead of ReLU", _lenet(
            "x = self.pool1(F.relu(self.conv1(x)))", "x = self.pool1(torch.tanh(self.conv1(x)))"
        ).replace("x = self.pool2(F.relu(self.conv2(x)))",
                  "x = self.pool2(torch.tanh(self.conv2(x)))")),
        ("returns probabilities (softmax after fc3)", _lenet(
            "return self.fc3(x)", "return F.softmax(self.fc3(x), dim=1)")),
        ("flattens channels last", _lenet(
            "x = x.flatten(1)", "x = x.permute(0, 2, 3, 1).flatten(1)")),
        ("has convolutions without bias", _lenet(
            "nn.Conv2d(1, 6, kernel_size=5)", "nn.Conv2d(1, 6, kernel_size=5, bias=False)").replace(
            "nn.Conv2d(6, 16, kernel_size=5)", "nn.Conv2d(6, 16, kernel_size=5, bias=False)")),
        ("ignores num_classes (always 10 outputs)", _lenet(
            "nn.Linear(84, num_classes)", "nn.Linear(84, 10)")),
        ("pools with F.max_pool2d in forward: no pool1 and pool2 submodules", _lenet(
            """        self.pool1 = nn.MaxPool2d(kernel_size=2, stride=2)
""", "").replace("""        self.pool2 = nn.MaxPool2d(kernel_size=2, stride=2)
""", "").replace("self.pool1(", "F.max_pool2d(").replace("self.pool2(", "F.max_pool2d(").replace(
            "self.conv1(x)))", "self.conv1(x)), 2)").replace(
            "self.conv2(x)))", "self.conv2(x)), 2)")),
        ("names its layers features and classifier (torchvision's style)", '''
class LeNet5(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2, 2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2, 2))
        self.classifier = nn.Sequential(
            nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
            nn.Linear(84, num_classes))

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))
'''),
    ],
}

"""Plausible wrong implementations of a4_efficient_cnns's graded items.

``WRONG[name]`` lists (description, source) pairs; each source is a complete definition of ``name``
that replaces the solution's one. It may use what the solution notebook defines besides (``_pair``,
``_double_conv``, ``OrderedDict``, ``math``, ``torch``, ``nn``, ``F``). The hidden checks must
catch each one: ``tests/test_assignments.py`` proves it, and ``autograder audit a4_efficient_cnns``
shows which checks catch which.
"""

WRONG: dict[str, list[tuple[str, str]]] = {
    "count_macs": [
        ("counts the biases too", '''
def count_macs(model, input_shape):
    total = 0

    def hook(module, inputs, output):
        nonlocal total
        if isinstance(module, nn.Conv2d):
            total += output.numel() * module.weight[0].numel()
        else:
            total += output.numel() * module.in_features
        if module.bias is not None:
            total += output.numel()

    modes = [(m, m.training) for m in model.modules()]
    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (nn.Conv2d, nn.Linear))]
    first = next(model.parameters())
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(input_shape, dtype=first.dtype, device=first.device))
    finally:
        for handle in handles:
            handle.remove()
        for m, training in modes:
            m.training = training
    return total
'''),
        ("ignores groups (C_in * kH * kW per output)", '''
def count_macs(model, input_shape):
    total = 0

    def hook(module, inputs, output):
        nonlocal total
        if isinstance(module, nn.Conv2d):
            kh, kw = module.kernel_size
            total += output.numel() * module.in_channels * kh * kw
        else:
            total += output.numel() * module.in_features

    modes = [(m, m.training) for m in model.modules()]
    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (nn.Conv2d, nn.Linear))]
    first = next(model.parameters())
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(input_shape, dtype=first.dtype, device=first.device))
    finally:
        for handle in handles:
            handle.remove()
        for m, training in modes:
            m.training = training
    return total
'''),
        ("counts transposed convolutions too (every _ConvNd)", '''
def count_macs(model, input_shape):
    total = 0

    def hook(module, inputs, output):
        nonlocal total
        if isinstance(module, nn.Linear):
            total += output.numel() * module.in_features
        else:
            total += output.numel() * module.weight[0].numel()

    modes = [(m, m.training) for m in model.modules()]
    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (nn.modules.conv._ConvNd, nn.Linear))]
    first = next(model.parameters())
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(input_shape, dtype=first.dtype, device=first.device))
    finally:
        for handle in handles:
            handle.remove()
        for m, training in modes:
            m.training = training
    return total
'''),
        ("counts one image, not the batch (output[0])", '''
def count_macs(model, input_shape):
    total = 0

    def hook(module, inputs, output):
        nonlocal total
        if isinstance(module, nn.Conv2d):
            total += output[0].numel() * module.weight[0].numel()
        else:
            total += output[0].numel() * module.in_features

    modes = [(m, m.training) for m in model.modules()]
    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (nn.Conv2d, nn.Linear))]
    first = next(model.parameters())
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(input_shape, dtype=first.dtype, device=first.device))
    finally:
        for handle in handles:
            handle.remove()
        for m, training in modes:
            m.training = training
    return total
'''),
        ("counts a Linear layer as batch * in * out (ignores token dimensions)", '''
def count_macs(model, input_shape):
    total = 0

    def hook(module, inputs, output):
        nonlocal total
        if isinstance(module, nn.Conv2d):
            total += output.numel() * module.weight[0].numel()
        else:
            total += input_shape[0] * module.in_features * module.out_features

    modes = [(m, m.training) for m in model.modules()]
    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (nn.Conv2d, nn.Linear))]
    first = next(model.parameters())
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(input_shape, dtype=first.dtype, device=first.device))
    finally:
        for handle in handles:
            handle.remove()
        for m, training in modes:
            m.training = training
    return total
'''),
        ("makes the input with torch.zeros(input_shape): float32 on the CPU", '''
def count_macs(model, input_shape):
    total = 0

    def hook(module, inputs, output):
        nonlocal total
        if isinstance(module, nn.Conv2d):
            total += output.numel() * module.weight[0].numel()
        else:
            total += output.numel() * module.in_features

    modes = [(m, m.training) for m in model.modules()]
    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (nn.Conv2d, nn.Linear))]
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(input_shape))
    finally:
        for handle in handles:
            handle.remove()
        for m, training in modes:
            m.training = training
    return total
'''),
        ("leaves the model in eval mode", '''
def count_macs(model, input_shape):
    total = 0

    def hook(module, inputs, output):
        nonlocal total
        if isinstance(module, nn.Conv2d):
            total += output.numel() * module.weight[0].numel()
        else:
            total += output.numel() * module.in_features

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (nn.Conv2d, nn.Linear))]
    first = next(model.parameters())
    model.eval()
    with torch.no_grad():
        model(torch.zeros(input_shape, dtype=first.dtype, device=first.device))
    for handle in handles:
        handle.remove()
    return total
'''),
        ("runs the model in its own mode: train mode updates BatchNorm's statistics", '''
def count_macs(model, input_shape):
    total = 0

    def hook(module, inputs, output):
        nonlocal total
        if isinstance(module, nn.Conv2d):
            total += output.numel() * module.weight[0].numel()
        else:
            total += output.numel() * module.in_features

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (nn.Conv2d, nn.Linear))]
    first = next(model.parameters())
    try:
        with torch.no_grad():
            model(torch.zeros(input_shape, dtype=first.dtype, device=first.device))
    finally:
        for handle in handles:
            handle.remove()
    return total
'''),
        ("restores the mode with model.train(was_training): a frozen BatchNorm is unfrozen", '''
def count_macs(model, input_shape):
    total = 0

    def hook(module, inputs, output):
        nonlocal total
        if isinstance(module, nn.Conv2d):
            total += output.numel() * module.weight[0].numel()
        else:
            total += output.numel() * module.in_features

    was_training = model.training
    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (nn.Conv2d, nn.Linear))]
    first = next(model.parameters())
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(input_shape, dtype=first.dtype, device=first.device))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return total
'''),
    ],
    "DepthwiseSeparableConv": [
        ("a standard 3x3 convolution (no groups) instead of a depthwise one", '''
class DepthwiseSeparableConv(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.depthwise = nn.Conv2d(in_channels, in_channels, 3, stride=stride, padding=1,
                                   bias=False)
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)

    def forward(self, x):
        x = F.relu(self.bn1(self.depthwise(x)))
        return F.relu(self.bn2(self.pointwise(x)))
'''),
        ("the stride on the pointwise convolution", '''
class DepthwiseSeparableConv(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.depthwise = nn.Conv2d(in_channels, in_channels, 3, padding=1, groups=in_channels,
                                   bias=False)
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)

    def forward(self, x):
        x = F.relu(self.bn1(self.depthwise(x)))
        return F.relu(self.bn2(self.pointwise(x)))
'''),
        ("no ReLU after the last batch norm", '''
class DepthwiseSeparableConv(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.depthwise = nn.Conv2d(in_channels, in_channels, 3, stride=stride, padding=1,
                                   groups=in_channels, bias=False)
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)

    def forward(self, x):
        x = F.relu(self.bn1(self.depthwise(x)))
        return self.bn2(self.pointwise(x))
'''),
        ("convolutions with a bias before their batch norms", '''
class DepthwiseSeparableConv(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.depthwise = nn.Conv2d(in_channels, in_channels, 3, stride=stride, padding=1,
                                   groups=in_channels)
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1)
        self.bn2 = nn.BatchNorm2d(out_channels)

    def forward(self, x):
        x = F.relu(self.bn1(self.depthwise(x)))
        return F.relu(self.bn2(self.pointwise(x)))
'''),
        ("ReLU6 (MobileNetV2's) instead of ReLU", '''
class DepthwiseSeparableConv(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.depthwise = nn.Conv2d(in_channels, in_channels, 3, stride=stride, padding=1,
                                   groups=in_channels, bias=False)
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)

    def forward(self, x):
        x = F.relu6(self.bn1(self.depthwise(x)))
        return F.relu6(self.bn2(self.pointwise(x)))
'''),
        ("torchvision's Conv2dNormActivation for the two stages", '''
class DepthwiseSeparableConv(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        from torchvision.ops import Conv2dNormActivation

        self.depthwise = Conv2dNormActivation(in_channels, in_channels, 3, stride=stride,
                                              groups=in_channels)
        self.pointwise = Conv2dNormActivation(in_channels, out_channels, 1)

    def forward(self, x):
        return self.pointwise(self.depthwise(x))
'''),
    ],
    "InvertedResidual": [
        ("ReLU6 after the projection (no linear bottleneck)", '''
class InvertedResidual(nn.Module):
    def __init__(self, in_channels, out_channels, stride, expand_ratio):
        super().__init__()
        hidden = round(in_channels * expand_ratio)
        self.use_residual = stride == 1 and in_channels == out_channels
        self.expand = None
        if expand_ratio != 1:
            self.expand = nn.Sequential(nn.Conv2d(in_channels, hidden, 1, bias=False),
                                        nn.BatchNorm2d(hidden), nn.ReLU6())
        self.depthwise = nn.Sequential(
            nn.Conv2d(hidden, hidden, 3, stride=stride, padding=1, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden), nn.ReLU6())
        self.project = nn.Sequential(nn.Conv2d(hidden, out_channels, 1, bias=False),
                                     nn.BatchNorm2d(out_channels), nn.ReLU6())

    def forward(self, x):
        out = x if self.expand is None else self.expand(x)
        out = self.project(self.depthwise(out))
        return x + out if self.use_residual else out
'''),
        ("a residual whenever the channels match, also with stride 2", '''
class InvertedResidual(nn.Module):
    def __init__(self, in_channels, out_channels, stride, expand_ratio):
        super().__init__()
        hidden = round(in_channels * expand_ratio)
        self.use_residual = in_channels == out_channels
        self.expand = None
        if expand_ratio != 1:
            self.expand = nn.Sequential(nn.Conv2d(in_channels, hidden, 1, bias=False),
                                        nn.BatchNorm2d(hidden), nn.ReLU6())
        self.depthwise = nn.Sequential(
            nn.Conv2d(hidden, hidden, 3, stride=stride, padding=1, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden), nn.ReLU6())
        self.project = nn.Sequential(nn.Conv2d(hidden, out_channels, 1, bias=False),
                                     nn.BatchNorm2d(out_channels))

    def forward(self, x):
        out = x if self.expand is None else self.expand(x)
        out = self.project(self.depthwise(out))
        return x + out if self.use_residual else out
'''),
        ("an expand stage even when expand_ratio is 1", '''
class InvertedResidual(nn.Module):
    def __init__(self, in_channels, out_channels, stride, expand_ratio):
        super().__init__()
        hidden = round(in_channels * expand_ratio)
        self.use_residual = stride == 1 and in_channels == out_channels
        self.expand = nn.Sequential(nn.Conv2d(in_channels, hidden, 1, bias=False),
                                    nn.BatchNorm2d(hidden), nn.ReLU6())
        self.depthwise = nn.Sequential(
            nn.Conv2d(hidden, hidden, 3, stride=stride, padding=1, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden), nn.ReLU6())
        self.project = nn.Sequential(nn.Conv2d(hidden, out_channels, 1, bias=False),
                                     nn.BatchNorm2d(out_channels))

    def forward(self, x):
        out = self.project(self.depthwise(self.expand(x)))
        return x + out if self.use_residual else out
'''),
        ("ReLU instead of ReLU6", '''
class InvertedResidual(nn.Module):
    def __init__(self, in_channels, out_channels, stride, expand_ratio):
        super().__init__()
        hidden = round(in_channels * expand_ratio)
        self.use_residual = stride == 1 and in_channels == out_channels
        self.expand = None
        if expand_ratio != 1:
            self.expand = nn.Sequential(nn.Conv2d(in_channels, hidden, 1, bias=False),
                                        nn.BatchNorm2d(hidden), nn.ReLU())
        self.depthwise = nn.Sequential(
            nn.Conv2d(hidden, hidden, 3, stride=stride, padding=1, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden), nn.ReLU())
        self.project = nn.Sequential(nn.Conv2d(hidden, out_channels, 1, bias=False),
                                     nn.BatchNorm2d(out_channels))

    def forward(self, x):
        out = x if self.expand is None else self.expand(x)
        out = self.project(self.depthwise(out))
        return x + out if self.use_residual else out
'''),
        ("hidden width truncated with int() instead of rounded", '''
class InvertedResidual(nn.Module):
    def __init__(self, in_channels, out_channels, stride, expand_ratio):
        super().__init__()
        hidden = int(in_channels * expand_ratio)
        self.use_residual = stride == 1 and in_channels == out_channels
        self.expand = None
        if expand_ratio != 1:
            self.expand = nn.Sequential(nn.Conv2d(in_channels, hidden, 1, bias=False),
                                        nn.BatchNorm2d(hidden), nn.ReLU6())
        self.depthwise = nn.Sequential(
            nn.Conv2d(hidden, hidden, 3, stride=stride, padding=1, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden), nn.ReLU6())
        self.project = nn.Sequential(nn.Conv2d(hidden, out_channels, 1, bias=False),
                                     nn.BatchNorm2d(out_channels))

    def forward(self, x):
        out = x if self.expand is None else self.expand(x)
        out = self.project(self.depthwise(out))
        return x + out if self.use_residual else out
'''),
        ("the stride on the expanding 1x1 convolution instead of the depthwise one", '''
class InvertedResidual(nn.Module):
    def __init__(self, in_channels, out_channels, stride, expand_ratio):
        super().__init__()
        hidden = round(in_channels * expand_ratio)
        self.use_residual = stride == 1 and in_channels == out_channels
        self.expand = None
        depthwise_stride = stride
        if expand_ratio != 1:
            self.expand = nn.Sequential(nn.Conv2d(in_channels, hidden, 1, stride=stride,
                                                  bias=False),
                                        nn.BatchNorm2d(hidden), nn.ReLU6())
            depthwise_stride = 1
        self.depthwise = nn.Sequential(
            nn.Conv2d(hidden, hidden, 3, stride=depthwise_stride, padding=1, groups=hidden,
                      bias=False),
            nn.BatchNorm2d(hidden), nn.ReLU6())
        self.project = nn.Sequential(nn.Conv2d(hidden, out_channels, 1, bias=False),
                                     nn.BatchNorm2d(out_channels))

    def forward(self, x):
        out = x if self.expand is None else self.expand(x)
        out = self.project(self.depthwise(out))
        return x + out if self.use_residual else out
'''),
        ("BatchNorm with Keras' momentum (0.99): running statistics barely move", '''
class InvertedResidual(nn.Module):
    def __init__(self, in_channels, out_channels, stride, expand_ratio):
        super().__init__()
        hidden = round(in_channels * expand_ratio)
        self.use_residual = stride == 1 and in_channels == out_channels
        self.expand = None
        if expand_ratio != 1:
            self.expand = nn.Sequential(nn.Conv2d(in_channels, hidden, 1, bias=False),
                                        nn.BatchNorm2d(hidden, momentum=0.01), nn.ReLU6())
        self.depthwise = nn.Sequential(
            nn.Conv2d(hidden, hidden, 3, stride=stride, padding=1, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden, momentum=0.01), nn.ReLU6())
        self.project = nn.Sequential(nn.Conv2d(hidden, out_channels, 1, bias=False),
                                     nn.BatchNorm2d(out_channels, momentum=0.01))

    def forward(self, x):
        out = x if self.expand is None else self.expand(x)
        out = self.project(self.depthwise(out))
        return x + out if self.use_residual else out
'''),
        ("subclasses torchvision's InvertedResidual and renames its layers", '''
from torchvision.models.mobilenetv2 import InvertedResidual as _TorchvisionIR


class InvertedResidual(_TorchvisionIR):
    def __init__(self, in_channels, out_channels, stride, expand_ratio):
        super().__init__(in_channels, out_channels, stride, expand_ratio)
        layers = list(self.conv)
        del self.conv
        if expand_ratio != 1:
            self.expand = layers.pop(0)
        self.depthwise = layers[0]
        self.project = nn.Sequential(layers[1], layers[2])

    def forward(self, x):
        out = self.expand(x) if hasattr(self, "expand") else x
        out = self.project(self.depthwise(out))
        return x + out if self.use_res_connect else out
'''),
    ],
    "SqueezeExcitation": [
        ("squeezes with a global max instead of the average", '''
class SqueezeExcitation(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        squeezed = max(1, channels // reduction)
        self.fc1 = nn.Conv2d(channels, squeezed, 1)
        self.fc2 = nn.Conv2d(squeezed, channels, 1)

    def forward(self, x):
        scale = x.amax(dim=(2, 3), keepdim=True)
        return x * torch.sigmoid(self.fc2(F.relu(self.fc1(scale))))
'''),
        ("channels // reduction without max(1, ...): no channel left for small C", '''
class SqueezeExcitation(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        self.fc1 = nn.Conv2d(channels, channels // reduction, 1)
        self.fc2 = nn.Conv2d(channels // reduction, channels, 1)

    def forward(self, x):
        scale = x.mean(dim=(2, 3), keepdim=True)
        return x * torch.sigmoid(self.fc2(F.relu(self.fc1(scale))))
'''),
        ("adds the gate to the input instead of multiplying", '''
class SqueezeExcitation(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        squeezed = max(1, channels // reduction)
        self.fc1 = nn.Conv2d(channels, squeezed, 1)
        self.fc2 = nn.Conv2d(squeezed, channels, 1)

    def forward(self, x):
        scale = x.mean(dim=(2, 3), keepdim=True)
        return x + torch.sigmoid(self.fc2(F.relu(self.fc1(scale))))
'''),
        ("nn.Linear layers for the excitation (the paper's FC), not 1x1 convolutions", '''
class SqueezeExcitation(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        squeezed = max(1, channels // reduction)
        self.fc1 = nn.Linear(channels, squeezed)
        self.fc2 = nn.Linear(squeezed, channels)

    def forward(self, x):
        scale = self.fc2(F.relu(self.fc1(x.mean(dim=(2, 3)))))
        return x * torch.sigmoid(scale)[:, :, None, None]
'''),
        ("hard sigmoid (MobileNetV3's gate) instead of the sigmoid", '''
class SqueezeExcitation(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        squeezed = max(1, channels // reduction)
        self.fc1 = nn.Conv2d(channels, squeezed, 1)
        self.fc2 = nn.Conv2d(squeezed, channels, 1)

    def forward(self, x):
        scale = x.mean(dim=(2, 3), keepdim=True)
        return x * F.hardsigmoid(self.fc2(F.relu(self.fc1(scale))))
'''),
        ("torchvision.ops.SqueezeExcitation under this name", '''
from torchvision.ops import SqueezeExcitation as _TorchvisionSE


class SqueezeExcitation(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        se = _TorchvisionSE(channels, max(1, channels // reduction))
        self.fc1, self.fc2 = se.fc1, se.fc2
        self.se = se

    def forward(self, x):
        return self.se(x)
'''),
    ],
    "ResNeXtBottleneck": [
        ("groups on the 1x1 convolutions too", '''
class ResNeXtBottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, cardinality=32, base_width=4, stride=1):
        super().__init__()
        width = int(planes * base_width / 64) * cardinality
        out_channels = planes * self.expansion
        self.conv1 = nn.Conv2d(inplanes, width, 1, groups=cardinality, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, groups=cardinality,
                               bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out_channels, 1, groups=cardinality, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.downsample = None
        if stride != 1 or inplanes != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(inplanes, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return F.relu(out + identity)
'''),
        ("width forgets the cardinality (one group's width)", '''
class ResNeXtBottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, cardinality=32, base_width=4, stride=1):
        super().__init__()
        width = int(planes * base_width / 64)
        out_channels = planes * self.expansion
        self.conv1 = nn.Conv2d(inplanes, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, groups=cardinality,
                               bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out_channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.downsample = None
        if stride != 1 or inplanes != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(inplanes, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return F.relu(out + identity)
'''),
        ("the stride on the first 1x1 convolution (the original ResNet)", '''
class ResNeXtBottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, cardinality=32, base_width=4, stride=1):
        super().__init__()
        width = int(planes * base_width / 64) * cardinality
        out_channels = planes * self.expansion
        self.conv1 = nn.Conv2d(inplanes, width, 1, stride=stride, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1, groups=cardinality, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out_channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.downsample = None
        if stride != 1 or inplanes != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(inplanes, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return F.relu(out + identity)
'''),
        ("projects the shortcut only when the stride is 2", '''
class ResNeXtBottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, cardinality=32, base_width=4, stride=1):
        super().__init__()
        width = int(planes * base_width / 64) * cardinality
        out_channels = planes * self.expansion
        self.conv1 = nn.Conv2d(inplanes, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, groups=cardinality,
                               bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out_channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.downsample = None
        if stride != 1:
            self.downsample = nn.Sequential(
                nn.Conv2d(inplanes, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return F.relu(out + identity)
'''),
        ("no ReLU after the addition", '''
class ResNeXtBottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, cardinality=32, base_width=4, stride=1):
        super().__init__()
        width = int(planes * base_width / 64) * cardinality
        out_channels = planes * self.expansion
        self.conv1 = nn.Conv2d(inplanes, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, groups=cardinality,
                               bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out_channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.downsample = None
        if stride != 1 or inplanes != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(inplanes, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        return self.bn3(self.conv3(out)) + identity
'''),
    ],
    "channel_shuffle": [
        ("swaps the wrong axes: views as (N, C / g, g, H, W)", '''
def channel_shuffle(x, groups):
    n, c, h, w = x.shape
    return x.reshape(n, c // groups, groups, h, w).transpose(1, 2).reshape(n, c, h, w)
'''),
        ("gathers every groups-th channel (x[:, i::groups]): the inverse shuffle", '''
def channel_shuffle(x, groups):
    return torch.cat([x[:, i::groups] for i in range(groups)], dim=1)
'''),
        ("reshapes without the transpose (nothing moves)", '''
def channel_shuffle(x, groups):
    n, c, h, w = x.shape
    return x.reshape(n, groups, c // groups, h, w).reshape(n, c, h, w)
'''),
        ("transposes the channel axis with the height axis", '''
def channel_shuffle(x, groups):
    n, c, h, w = x.shape
    return x.reshape(n, groups, c // groups, h, w).transpose(2, 3).reshape(n, c, h, w)
'''),
        ("calls nn.ChannelShuffle (forbidden)", '''
def channel_shuffle(x, groups):
    return nn.ChannelShuffle(groups)(x)
'''),
    ],
    "DenseBlock": [
        ("concatenates the newest features first", '''
class DenseBlock(nn.Module):
    def __init__(self, num_layers, in_channels, growth_rate, bn_size=4):
        super().__init__()
        width = bn_size * growth_rate
        for i in range(num_layers):
            c = in_channels + i * growth_rate
            self.add_module(f"denselayer{i + 1}", nn.Sequential(OrderedDict([
                ("norm1", nn.BatchNorm2d(c)), ("relu1", nn.ReLU()),
                ("conv1", nn.Conv2d(c, width, 1, bias=False)),
                ("norm2", nn.BatchNorm2d(width)), ("relu2", nn.ReLU()),
                ("conv2", nn.Conv2d(width, growth_rate, 3, padding=1, bias=False))])))

    def forward(self, x):
        for layer in self.children():
            x = torch.cat([layer(x), x], 1)
        return x
'''),
        ("returns only the new features, without the block's input", '''
class DenseBlock(nn.Module):
    def __init__(self, num_layers, in_channels, growth_rate, bn_size=4):
        super().__init__()
        width = bn_size * growth_rate
        for i in range(num_layers):
            c = in_channels + i * growth_rate
            self.add_module(f"denselayer{i + 1}", nn.Sequential(OrderedDict([
                ("norm1", nn.BatchNorm2d(c)), ("relu1", nn.ReLU()),
                ("conv1", nn.Conv2d(c, width, 1, bias=False)),
                ("norm2", nn.BatchNorm2d(width)), ("relu2", nn.ReLU()),
                ("conv2", nn.Conv2d(width, growth_rate, 3, padding=1, bias=False))])))

    def forward(self, x):
        features = [x]
        for layer in self.children():
            features.append(layer(torch.cat(features, 1)))
        return torch.cat(features[1:], 1)
'''),
        ("each layer reads only the previous layer's output (a plain chain)", '''
class DenseBlock(nn.Module):
    def __init__(self, num_layers, in_channels, growth_rate, bn_size=4):
        super().__init__()
        width = bn_size * growth_rate
        for i in range(num_layers):
            c = in_channels if i == 0 else growth_rate
            self.add_module(f"denselayer{i + 1}", nn.Sequential(OrderedDict([
                ("norm1", nn.BatchNorm2d(c)), ("relu1", nn.ReLU()),
                ("conv1", nn.Conv2d(c, width, 1, bias=False)),
                ("norm2", nn.BatchNorm2d(width)), ("relu2", nn.ReLU()),
                ("conv2", nn.Conv2d(width, growth_rate, 3, padding=1, bias=False))])))

    def forward(self, x):
        features, out = [x], x
        for layer in self.children():
            out = layer(out)
            features.append(out)
        return torch.cat(features, 1)
'''),
        ("post-activation layers (conv - BN - ReLU) instead of BN - ReLU - conv", '''
class DenseBlock(nn.Module):
    def __init__(self, num_layers, in_channels, growth_rate, bn_size=4):
        super().__init__()
        width = bn_size * growth_rate
        for i in range(num_layers):
            c = in_channels + i * growth_rate
            self.add_module(f"denselayer{i + 1}", nn.Sequential(OrderedDict([
                ("conv1", nn.Conv2d(c, width, 1, bias=False)),
                ("norm1", nn.BatchNorm2d(width)), ("relu1", nn.ReLU()),
                ("conv2", nn.Conv2d(width, growth_rate, 3, padding=1, bias=False)),
                ("norm2", nn.BatchNorm2d(growth_rate)), ("relu2", nn.ReLU())])))

    def forward(self, x):
        features = [x]
        for layer in self.children():
            features.append(layer(torch.cat(features, 1)))
        return torch.cat(features, 1)
'''),
        ("dropout after every layer (DenseNet's drop_rate for CIFAR)", '''
class DenseBlock(nn.Module):
    def __init__(self, num_layers, in_channels, growth_rate, bn_size=4):
        super().__init__()
        width = bn_size * growth_rate
        for i in range(num_layers):
            c = in_channels + i * growth_rate
            self.add_module(f"denselayer{i + 1}", nn.Sequential(OrderedDict([
                ("norm1", nn.BatchNorm2d(c)), ("relu1", nn.ReLU()),
                ("conv1", nn.Conv2d(c, width, 1, bias=False)),
                ("norm2", nn.BatchNorm2d(width)), ("relu2", nn.ReLU()),
                ("conv2", nn.Conv2d(width, growth_rate, 3, padding=1, bias=False)),
                ("drop", nn.Dropout(0.2))])))

    def forward(self, x):
        features = [x]
        for layer in self.children():
            features.append(layer(torch.cat(features, 1)))
        return torch.cat(features, 1)
'''),
        ("subclasses nn.ModuleDict, as torchvision's _DenseBlock does", '''
class DenseBlock(nn.ModuleDict):
    def __init__(self, num_layers, in_channels, growth_rate, bn_size=4):
        super().__init__()
        width = bn_size * growth_rate
        for i in range(num_layers):
            c = in_channels + i * growth_rate
            self[f"denselayer{i + 1}"] = nn.Sequential(OrderedDict([
                ("norm1", nn.BatchNorm2d(c)), ("relu1", nn.ReLU()),
                ("conv1", nn.Conv2d(c, width, 1, bias=False)),
                ("norm2", nn.BatchNorm2d(width)), ("relu2", nn.ReLU()),
                ("conv2", nn.Conv2d(width, growth_rate, 3, padding=1, bias=False))]))

    def forward(self, x):
        features = [x]
        for layer in self.values():
            features.append(layer(torch.cat(features, 1)))
        return torch.cat(features, 1)
'''),
    ],
    "conv_transpose2d": [
        ("forgets to crop the padding", '''
def conv_transpose2d(x, weight, bias=None, stride=1, padding=0):
    sh, sw = _pair(stride)
    n, c_in, h, w = x.shape
    _, c_out, kh, kw = weight.shape
    full_h, full_w = (h - 1) * sh + kh, (w - 1) * sw + kw
    cols = weight.reshape(c_in, c_out * kh * kw).t() @ x.reshape(n, c_in, h * w)
    out = F.fold(cols, (full_h, full_w), (kh, kw), stride=(sh, sw))
    if bias is not None:
        out = out + bias.view(1, -1, 1, 1)
    return out
'''),
        ("crops 2 * padding from the end only (output shifted)", '''
def conv_transpose2d(x, weight, bias=None, stride=1, padding=0):
    sh, sw = _pair(stride)
    ph, pw = _pair(padding)
    n, c_in, h, w = x.shape
    _, c_out, kh, kw = weight.shape
    full_h, full_w = (h - 1) * sh + kh, (w - 1) * sw + kw
    cols = weight.reshape(c_in, c_out * kh * kw).t() @ x.reshape(n, c_in, h * w)
    full = F.fold(cols, (full_h, full_w), (kh, kw), stride=(sh, sw))
    out = full[:, :, :full_h - 2 * ph, :full_w - 2 * pw]
    if bias is not None:
        out = out + bias.view(1, -1, 1, 1)
    return out
'''),
        ("flips the kernel (a convolution's transpose written as a true convolution)", '''
def conv_transpose2d(x, weight, bias=None, stride=1, padding=0):
    sh, sw = _pair(stride)
    ph, pw = _pair(padding)
    n, c_in, h, w = x.shape
    _, c_out, kh, kw = weight.shape
    weight = weight.flip(2, 3)
    full_h, full_w = (h - 1) * sh + kh, (w - 1) * sw + kw
    cols = weight.reshape(c_in, c_out * kh * kw).t() @ x.reshape(n, c_in, h * w)
    full = F.fold(cols, (full_h, full_w), (kh, kw), stride=(sh, sw))
    out = full[:, :, ph:full_h - ph, pw:full_w - pw]
    if bias is not None:
        out = out + bias.view(1, -1, 1, 1)
    return out
'''),
        ("scatters with step 1, ignoring the stride", '''
def conv_transpose2d(x, weight, bias=None, stride=1, padding=0):
    ph, pw = _pair(padding)
    n, c_in, h, w = x.shape
    _, c_out, kh, kw = weight.shape
    full_h, full_w = h - 1 + kh, w - 1 + kw
    cols = weight.reshape(c_in, c_out * kh * kw).t() @ x.reshape(n, c_in, h * w)
    full = F.fold(cols, (full_h, full_w), (kh, kw))
    out = full[:, :, ph:full_h - ph, pw:full_w - pw]
    if bias is not None:
        out = out + bias.view(1, -1, 1, 1)
    return out
'''),
        ("reads the weight as (C_out, C_in, kH, kW), a convolution's layout", '''
def conv_transpose2d(x, weight, bias=None, stride=1, padding=0):
    sh, sw = _pair(stride)
    ph, pw = _pair(padding)
    n, c_in, h, w = x.shape
    c_out = weight.shape[1]
    kh, kw = weight.shape[2:]
    weight = weight.transpose(0, 1).reshape(c_in, c_out, kh, kw)
    full_h, full_w = (h - 1) * sh + kh, (w - 1) * sw + kw
    cols = weight.reshape(c_in, c_out * kh * kw).t() @ x.reshape(n, c_in, h * w)
    full = F.fold(cols, (full_h, full_w), (kh, kw), stride=(sh, sw))
    out = full[:, :, ph:full_h - ph, pw:full_w - pw]
    if bias is not None:
        out = out + bias.view(1, -1, 1, 1)
    return out
'''),
        ("F.conv2d of the zero-stuffed input with the flipped kernel (the same operator)", '''
def conv_transpose2d(x, weight, bias=None, stride=1, padding=0):
    sh, sw = _pair(stride)
    ph, pw = _pair(padding)
    n, c_in, h, w = x.shape
    kh, kw = weight.shape[2:]
    stuffed = x.new_zeros(n, c_in, (h - 1) * sh + 1, (w - 1) * sw + 1)
    stuffed[:, :, ::sh, ::sw] = x
    kernel = weight.transpose(0, 1).flip(2, 3)
    return F.conv2d(stuffed, kernel, bias, padding=(kh - 1 - ph, kw - 1 - pw))
'''),
        ("ignores the bias", '''
def conv_transpose2d(x, weight, bias=None, stride=1, padding=0):
    sh, sw = _pair(stride)
    ph, pw = _pair(padding)
    n, c_in, h, w = x.shape
    _, c_out, kh, kw = weight.shape
    full_h, full_w = (h - 1) * sh + kh, (w - 1) * sw + kw
    cols = weight.reshape(c_in, c_out * kh * kw).t() @ x.reshape(n, c_in, h * w)
    full = F.fold(cols, (full_h, full_w), (kh, kw), stride=(sh, sw))
    return full[:, :, ph:full_h - ph, pw:full_w - pw]
'''),
    ],
    "UNet": [
        ("concatenates the skip after the upsampled map", '''
class UNet(nn.Module):
    def __init__(self, in_channels, num_classes, base_channels=16, depth=3):
        super().__init__()
        ch = [base_channels * 2**i for i in range(depth + 1)]
        self.inc = _double_conv(in_channels, ch[0])
        self.downs = nn.ModuleList([_double_conv(ch[i], ch[i + 1]) for i in range(depth)])
        self.ups = nn.ModuleList([nn.ConvTranspose2d(ch[depth - j], ch[depth - j - 1], 2, stride=2)
                                  for j in range(depth)])
        self.up_convs = nn.ModuleList([_double_conv(2 * ch[depth - j - 1], ch[depth - j - 1])
                                       for j in range(depth)])
        self.outc = nn.Conv2d(ch[0], num_classes, 1)

    def forward(self, x):
        x = self.inc(x)
        skips = []
        for down in self.downs:
            skips.append(x)
            x = down(F.max_pool2d(x, 2))
        for up, conv, skip in zip(self.ups, self.up_convs, reversed(skips)):
            x = conv(torch.cat([up(x), skip], 1))
        return self.outc(x)
'''),
        ("average pooling on the way down", '''
class UNet(nn.Module):
    def __init__(self, in_channels, num_classes, base_channels=16, depth=3):
        super().__init__()
        ch = [base_channels * 2**i for i in range(depth + 1)]
        self.inc = _double_conv(in_channels, ch[0])
        self.downs = nn.ModuleList([_double_conv(ch[i], ch[i + 1]) for i in range(depth)])
        self.ups = nn.ModuleList([nn.ConvTranspose2d(ch[depth - j], ch[depth - j - 1], 2, stride=2)
                                  for j in range(depth)])
        self.up_convs = nn.ModuleList([_double_conv(2 * ch[depth - j - 1], ch[depth - j - 1])
                                       for j in range(depth)])
        self.outc = nn.Conv2d(ch[0], num_classes, 1)

    def forward(self, x):
        x = self.inc(x)
        skips = []
        for down in self.downs:
            skips.append(x)
            x = down(F.avg_pool2d(x, 2))
        for up, conv, skip in zip(self.ups, self.up_convs, reversed(skips)):
            x = conv(torch.cat([skip, up(x)], 1))
        return self.outc(x)
'''),
        ("bilinear upsampling and a 1x1 convolution instead of the transposed convolution", '''
class UNet(nn.Module):
    def __init__(self, in_channels, num_classes, base_channels=16, depth=3):
        super().__init__()
        ch = [base_channels * 2**i for i in range(depth + 1)]
        self.inc = _double_conv(in_channels, ch[0])
        self.downs = nn.ModuleList([_double_conv(ch[i], ch[i + 1]) for i in range(depth)])
        self.ups = nn.ModuleList([nn.Conv2d(ch[depth - j], ch[depth - j - 1], 1)
                                  for j in range(depth)])
        self.up_convs = nn.ModuleList([_double_conv(2 * ch[depth - j - 1], ch[depth - j - 1])
                                       for j in range(depth)])
        self.outc = nn.Conv2d(ch[0], num_classes, 1)

    def forward(self, x):
        x = self.inc(x)
        skips = []
        for down in self.downs:
            skips.append(x)
            x = down(F.max_pool2d(x, 2))
        for up, conv, skip in zip(self.ups, self.up_convs, reversed(skips)):
            x = up(F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False))
            x = conv(torch.cat([skip, x], 1))
        return self.outc(x)
'''),
        ("double convs without their second ReLU", '''
def _double_conv_missing_relu(a, b):
    return nn.Sequential(nn.Conv2d(a, b, 3, padding=1, bias=False), nn.BatchNorm2d(b), nn.ReLU(),
                         nn.Conv2d(b, b, 3, padding=1, bias=False), nn.BatchNorm2d(b))


class UNet(nn.Module):
    def __init__(self, in_channels, num_classes, base_channels=16, depth=3):
        super().__init__()
        ch = [base_channels * 2**i for i in range(depth + 1)]
        self.inc = _double_conv_missing_relu(in_channels, ch[0])
        self.downs = nn.ModuleList([_double_conv_missing_relu(ch[i], ch[i + 1])
                                    for i in range(depth)])
        self.ups = nn.ModuleList([nn.ConvTranspose2d(ch[depth - j], ch[depth - j - 1], 2, stride=2)
                                  for j in range(depth)])
        self.up_convs = nn.ModuleList([_double_conv_missing_relu(2 * ch[depth - j - 1],
                                                                 ch[depth - j - 1])
                                       for j in range(depth)])
        self.outc = nn.Conv2d(ch[0], num_classes, 1)

    def forward(self, x):
        x = self.inc(x)
        skips = []
        for down in self.downs:
            skips.append(x)
            x = down(F.max_pool2d(x, 2))
        for up, conv, skip in zip(self.ups, self.up_convs, reversed(skips)):
            x = conv(torch.cat([skip, up(x)], 1))
        return self.outc(x)
'''),
        ("the up path listed from the shallowest level (ups.0 is the last upsampling)", '''
class UNet(nn.Module):
    def __init__(self, in_channels, num_classes, base_channels=16, depth=3):
        super().__init__()
        ch = [base_channels * 2**i for i in range(depth + 1)]
        self.inc = _double_conv(in_channels, ch[0])
        self.downs = nn.ModuleList([_double_conv(ch[i], ch[i + 1]) for i in range(depth)])
        self.ups = nn.ModuleList([nn.ConvTranspose2d(ch[i + 1], ch[i], 2, stride=2)
                                  for i in range(depth)])
        self.up_convs = nn.ModuleList([_double_conv(2 * ch[i], ch[i]) for i in range(depth)])
        self.outc = nn.Conv2d(ch[0], num_classes, 1)

    def forward(self, x):
        x = self.inc(x)
        skips = []
        for down in self.downs:
            skips.append(x)
            x = down(F.max_pool2d(x, 2))
        for i in reversed(range(len(self.ups))):
            x = self.up_convs[i](torch.cat([skips[i], self.ups[i](x)], 1))
        return self.outc(x)
'''),
        ("keeps the skips after pooling (each level's output, one level too deep)", '''
class UNet(nn.Module):
    def __init__(self, in_channels, num_classes, base_channels=16, depth=3):
        super().__init__()
        ch = [base_channels * 2**i for i in range(depth + 1)]
        self.inc = _double_conv(in_channels, ch[0])
        self.downs = nn.ModuleList([_double_conv(ch[i], ch[i + 1]) for i in range(depth)])
        self.ups = nn.ModuleList([nn.ConvTranspose2d(ch[depth - j], ch[depth - j - 1], 2, stride=2)
                                  for j in range(depth)])
        self.up_convs = nn.ModuleList([_double_conv(2 * ch[depth - j - 1], ch[depth - j - 1])
                                       for j in range(depth)])
        self.outc = nn.Conv2d(ch[0], num_classes, 1)

    def forward(self, x):
        x = self.inc(x)
        skips = []
        for down in self.downs:
            x = down(F.max_pool2d(x, 2))
            skips.append(x)
        for up, conv, skip in zip(self.ups, self.up_convs, reversed(skips)):
            x = conv(torch.cat([skip, up(x)], 1))
        return self.outc(x)
'''),
        ("dropout at the bottom of the U, as the original paper", '''
class UNet(nn.Module):
    def __init__(self, in_channels, num_classes, base_channels=16, depth=3):
        super().__init__()
        ch = [base_channels * 2**i for i in range(depth + 1)]
        self.inc = _double_conv(in_channels, ch[0])
        self.downs = nn.ModuleList([_double_conv(ch[i], ch[i + 1]) for i in range(depth)])
        self.ups = nn.ModuleList([nn.ConvTranspose2d(ch[depth - j], ch[depth - j - 1], 2, stride=2)
                                  for j in range(depth)])
        self.up_convs = nn.ModuleList([_double_conv(2 * ch[depth - j - 1], ch[depth - j - 1])
                                       for j in range(depth)])
        self.outc = nn.Conv2d(ch[0], num_classes, 1)
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        x = self.inc(x)
        skips = []
        for down in self.downs:
            skips.append(x)
            x = down(F.max_pool2d(x, 2))
        x = self.drop(x)
        for up, conv, skip in zip(self.ups, self.up_convs, reversed(skips)):
            x = conv(torch.cat([skip, up(x)], 1))
        return self.outc(x)
'''),
    ],
}

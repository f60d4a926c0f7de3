"""Plausible wrong implementations of a3_cnn_architectures' graded items.

``WRONG[name]`` lists (description, source) pairs; each source is a complete definition of ``name``
that replaces the solution's one. It may use what the solution notebook defines besides (``nn``,
``torch``, ``OrderedDict``, ``BasicBlock``, ``Bottleneck``, ``ResNet``, ...). The hidden checks
must catch each one: ``tests/test_assignments.py`` proves it, and ``autograder audit
a3_cnn_architectures`` shows which checks catch which.
"""


def _template(text: str, **defaults: str):
    """Makes wrong implementations from the solution's code ``text``, whose ``@NAME@`` slots hold
    ``defaults`` (the solution's code) unless a keyword argument puts a bug there."""
    def make(**bugs: str) -> str:
        unknown = set(bugs) - set(defaults)
        if unknown:
            raise KeyError(f"no slot {sorted(unknown)} in this template")
        source = text
        for slot, code in {**defaults, **bugs}.items():
            source = source.replace(f"@{slot.upper()}@", code)
        return source

    return make


_VGG_TABLE = '''
def vgg_table(cfg, in_channels=3, image_size=224, num_classes=1000):
    h = w = image_size
    c = in_channels
    rows = [{"name": "input", "shape": (h, w, c), "activations": h * w * c, "params": 0}]
    for v in cfg:
        if v == "M":
            h, w = h // 2, w // 2
            rows.append({"name": "pool2", "shape": (h, w, c), "activations": h * w * c,
                         "params": @POOL_PARAMS@})
        else:
            rows.append({"name": f"conv3-{v}", "shape": (h, w, v), "activations": h * w * v,
                         "params": @CONV_PARAMS@})
            c = v
    fan_in = @FC1_IN@
    for width in (4096, 4096, num_classes):
        rows.append({"name": f"fc-{width}", "shape": (1, 1, width), "activations": width,
                     "params": @FC_PARAMS@})
        fan_in = width
    return rows
'''


_vgg_table = _template(_VGG_TABLE, pool_params="0", conv_params="3 * 3 * c * v",
                       fc1_in="h * w * c", fc_params="fan_in * width")


_MAKE_VGG = '''
def make_vgg(cfg, num_classes=1000, in_channels=3):
    layers = []
    c = @IN_CHANNELS@
    for v in cfg:
        if v == "M":
            layers.append(@POOL@)
        else:
            layers += [@CONV@]
            c = v
    classifier = nn.Sequential(@CLASSIFIER@)
    return nn.Sequential(OrderedDict([
        ("features", nn.Sequential(*layers)),
        ("avgpool", @AVGPOOL@),
        ("flatten", nn.Flatten(1)),
        ("classifier", classifier),
    ]))
'''

_CLASSIFIER = '''
        nn.Linear(@FC1_IN@, 4096), nn.ReLU(inplace=True), nn.Dropout(p=0.5),
        nn.Linear(4096, 4096), nn.ReLU(inplace=True), nn.Dropout(p=0.5),
        nn.Linear(4096, num_classes),
    '''


_make_vgg = _template(
    _MAKE_VGG, in_channels="in_channels", pool="nn.MaxPool2d(kernel_size=2, stride=2)",
    conv="nn.Conv2d(c, v, kernel_size=3, padding=1), nn.ReLU(inplace=True)",
    classifier=_CLASSIFIER, fc1_in="c * 7 * 7", avgpool="nn.AdaptiveAvgPool2d((7, 7))")


_INCEPTION = '''
class InceptionModule(nn.Module):
    def __init__(self, in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj):
        super().__init__()
        self.branch1 = nn.Sequential(nn.Conv2d(in_channels, ch1x1, kernel_size=1),
                                     nn.ReLU(inplace=True))
        self.branch2 = nn.Sequential(
            nn.Conv2d(in_channels, ch3x3red, kernel_size=1), nn.ReLU(inplace=True),
            nn.Conv2d(ch3x3red, ch3x3, kernel_size=3, padding=1), @LAST_RELU@)
        self.branch3 = nn.Sequential(
            nn.Conv2d(in_channels, ch5x5red, kernel_size=1), nn.ReLU(inplace=True),
            nn.Conv2d(ch5x5red, ch5x5, @FIVE@), @LAST_RELU@)
        self.branch4 = nn.Sequential(
            @POOL@,
            nn.Conv2d(in_channels, pool_proj, kernel_size=1), nn.ReLU(inplace=True))

    def forward(self, x):
        return torch.cat(@ORDER@, dim=1)
'''


_inception = _template(
    _INCEPTION, last_relu="nn.ReLU(inplace=True)", five="kernel_size=5, padding=2",
    pool="nn.MaxPool2d(kernel_size=3, stride=1, padding=1)",
    order="[self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)]")


_BASIC = '''
class BasicBlock(nn.Module):
    expansion = @EXPANSION@

    def __init__(self, inplanes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, kernel_size=3, stride=@STRIDE1@, padding=1,
                               bias=@BIAS@)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=@STRIDE2@, padding=1,
                               bias=@BIAS@)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if @PROJECT@:
            self.downsample = nn.Sequential(
                nn.Conv2d(inplanes, planes, kernel_size=1, stride=stride, bias=False),
                @SHORTCUT_BN@
            )

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return @OUT@
'''


_basic = _template(
    _BASIC, expansion="1", stride1="stride", stride2="1", bias="False",
    project="stride != 1 or inplanes != planes", shortcut_bn="nn.BatchNorm2d(planes),",
    out="self.relu(out + shortcut)")


_BOTTLENECK = '''
class Bottleneck(nn.Module):
    expansion = @EXPANSION@

    def __init__(self, inplanes, planes, stride=1):
        super().__init__()
        width = planes * self.expansion
        self.conv1 = nn.Conv2d(inplanes, planes, kernel_size=1, stride=@STRIDE1@, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=@STRIDE2@, padding=1,
                               bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, width, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if @PROJECT@:
            self.downsample = nn.Sequential(
                nn.Conv2d(inplanes, width, kernel_size=1, stride=stride, bias=False),
                @SHORTCUT_BN@
            )

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = @MIDDLE@
        out = self.bn3(self.conv3(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return @OUT@
'''


_bottleneck = _template(
    _BOTTLENECK, expansion="4", stride1="1", stride2="stride",
    project="stride != 1 or inplanes != width", shortcut_bn="nn.BatchNorm2d(width),",
    middle="self.relu(self.bn2(self.conv2(out)))", out="self.relu(out + shortcut)")


_RESNET = '''
class ResNet(nn.Module):
    def __init__(self, block, layers, num_classes=1000):
        super().__init__()
        inplanes = 64

        def stage(planes, blocks, stride):
            nonlocal inplanes
            modules = [block(inplanes, planes, stride)]
            inplanes = @NEXT_INPLANES@
            modules += [block(inplanes, planes) for _ in range(1, @BLOCKS@)]
            return nn.Sequential(*modules)

        self.conv1 = nn.Conv2d(3, 64, @STEM@, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = stage(64, layers[0], stride=@FIRST_STRIDE@)
        self.layer2 = stage(128, layers[1], stride=2)
        self.layer3 = stage(256, layers[2], stride=2)
        self.layer4 = stage(512, layers[3], stride=2)
        self.avgpool = @AVGPOOL@
        self.fc = nn.Linear(@FC_IN@, num_classes)

    def forward(self, x):
        x = @STEM_FORWARD@
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))
'''


_resnet = _template(
    _RESNET, next_inplanes="planes * block.expansion", blocks="blocks",
    stem="kernel_size=7, stride=2, padding=3", first_stride="1",
    avgpool="nn.AdaptiveAvgPool2d((1, 1))", fc_in="512 * block.expansion",
    stem_forward="self.maxpool(self.relu(self.bn1(self.conv1(x))))")


WRONG: dict[str, list[tuple[str, str]]] = {
    "vgg_table": [
        ("counts the biases in the parameters", _vgg_table(
            conv_params="3 * 3 * c * v + v", fc_params="fan_in * width + width")),
        ("FC1's weights from a fixed 7x7x512 input, whatever the image size and configuration",
         _vgg_table(fc1_in="7 * 7 * 512")),
        ("pooling rows count parameters, as if a pool were a 2x2 convolution",
         _vgg_table(pool_params="2 * 2 * c * c")),
        ("shapes in PyTorch's (C, H, W) order", _vgg_table().replace(
            '"shape": (h, w, c)', '"shape": (c, h, w)').replace(
            '"shape": (h, w, v)', '"shape": (v, h, w)').replace(
            '"shape": (1, 1, width)', '"shape": (width, 1, 1)')),
        ("activations as numpy integers (np.prod)", '''
def vgg_table(cfg, in_channels=3, image_size=224, num_classes=1000):
    import numpy as np

    h = w = image_size
    c = in_channels
    rows = [{"name": "input", "shape": (h, w, c), "activations": np.prod((h, w, c)),
             "params": 0}]
    for v in cfg:
        if v == "M":
            h, w = h // 2, w // 2
            rows.append({"name": "pool2", "shape": (h, w, c),
                         "activations": np.prod((h, w, c)), "params": 0})
        else:
            rows.append({"name": f"conv3-{v}", "shape": (h, w, v),
                         "activations": np.prod((h, w, v)), "params": 3 * 3 * c * v})
            c = v
    fan_in = h * w * c
    for width in (4096, 4096, num_classes):
        rows.append({"name": f"fc-{width}", "shape": (1, 1, width), "activations": width,
                     "params": fan_in * width})
        fan_in = width
    return rows
'''),
        ("no input row", _vgg_table().replace(
            'rows = [{"name": "input", "shape": (h, w, c), "activations": h * w * c, '
            '"params": 0}]', "rows = []")),
        ("always 1000 classes", _vgg_table().replace(
            "(4096, 4096, num_classes)", "(4096, 4096, 1000)")),
        ("the first convolution reads 3 channels, whatever in_channels",
         _vgg_table().replace("    c = in_channels\n", "    c = 3\n")),
        ("pooling rounds up (ceil) instead of down", _vgg_table().replace(
            "h, w = h // 2, w // 2", "h, w = (h + 1) // 2, (w + 1) // 2")),
    ],
    "make_vgg": [
        ("classifier without dropout", _make_vgg(classifier='''
        nn.Linear(c * 7 * 7, 4096), nn.ReLU(inplace=True),
        nn.Linear(4096, 4096), nn.ReLU(inplace=True),
        nn.Linear(4096, num_classes),
    ''')),
        ("no adaptive average pooling: the features are flattened as they are",
         _make_vgg(avgpool="nn.Identity()")),
        ("FC1 reads 512 * 7 * 7 features, whatever the last convolution's width",
         _make_vgg(fc1_in="512 * 7 * 7")),
        ("the first convolution reads 3 channels, whatever in_channels",
         _make_vgg(in_channels="3")),
        ("BatchNorm after every convolution (torchvision's vgg16_bn)", _make_vgg(
            conv="nn.Conv2d(c, v, kernel_size=3, padding=1), nn.BatchNorm2d(v), "
                 "nn.ReLU(inplace=True)")),
        ("average pooling instead of max pooling", _make_vgg(pool="nn.AvgPool2d(2, 2)")),
        ("global average pooling (1x1) with FC1 reading C features", _make_vgg(
            avgpool="nn.AdaptiveAvgPool2d((1, 1))", fc1_in="c")),
        ("builds torchvision's VGG (forbidden)", '''
def make_vgg(cfg, num_classes=1000, in_channels=3):
    from torchvision.models.vgg import VGG, make_layers

    return VGG(make_layers(cfg), num_classes=num_classes)
'''),
    ],
    "InceptionModule": [
        ("concatenates the pooling branch first", _inception(
            order="[self.branch4(x), self.branch1(x), self.branch2(x), self.branch3(x)]")),
        ("concatenates the 5x5 branch before the 3x3 branch", _inception(
            order="[self.branch1(x), self.branch3(x), self.branch2(x), self.branch4(x)]")),
        ("5x5 convolution with padding 1", _inception(five="kernel_size=5, padding=1")),
        ("no ReLU after the 3x3 and 5x5 convolutions", _inception(
            last_relu="nn.Identity()")),
        ("average pooling in the pooling branch", _inception(
            pool="nn.AvgPool2d(kernel_size=3, stride=1, padding=1)")),
        ("max pooling without padding in the pooling branch", _inception(
            pool="nn.MaxPool2d(kernel_size=3, stride=1)")),
        ("3x3 convolution in the third branch (torchvision's GoogLeNet quirk)", _inception(
            five="kernel_size=3, padding=1")),
        ("BatchNorm after every convolution (torchvision's BasicConv2d)", '''
class InceptionModule(nn.Module):
    def __init__(self, in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj):
        super().__init__()

        def conv(c_in, c_out, k):
            return [nn.Conv2d(c_in, c_out, k, padding=k // 2, bias=False), nn.BatchNorm2d(c_out),
                    nn.ReLU(inplace=True)]

        self.branch1 = nn.Sequential(*conv(in_channels, ch1x1, 1))
        self.branch2 = nn.Sequential(*conv(in_channels, ch3x3red, 1), *conv(ch3x3red, ch3x3, 3))
        self.branch3 = nn.Sequential(*conv(in_channels, ch5x5red, 1), *conv(ch5x5red, ch5x5, 5))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1),
                                     *conv(in_channels, pool_proj, 1))

    def forward(self, x):
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)
'''),
    ],
    "conv_macs": [
        ("counts FLOPs: two operations per multiply-add", '''
def conv_macs(in_channels, out_channels, kernel_size, out_h, out_w):
    kh, kw = kernel_size if isinstance(kernel_size, (tuple, list)) else (kernel_size, kernel_size)
    return 2 * out_h * out_w * out_channels * in_channels * kh * kw
'''),
        ("counts the bias: one more addition per output value", '''
def conv_macs(in_channels, out_channels, kernel_size, out_h, out_w):
    kh, kw = kernel_size if isinstance(kernel_size, (tuple, list)) else (kernel_size, kernel_size)
    return out_h * out_w * out_channels * (in_channels * kh * kw + 1)
'''),
        ("assumes an int kernel size (kernel_size ** 2)", '''
def conv_macs(in_channels, out_channels, kernel_size, out_h, out_w):
    return out_h * out_w * out_channels * in_channels * kernel_size ** 2
'''),
        ("uses out_h for both output dimensions", '''
def conv_macs(in_channels, out_channels, kernel_size, out_h, out_w):
    kh, kw = kernel_size if isinstance(kernel_size, (tuple, list)) else (kernel_size, kernel_size)
    return out_h * out_h * out_channels * in_channels * kh * kw
'''),
        ("returns a numpy integer (np.prod)", '''
def conv_macs(in_channels, out_channels, kernel_size, out_h, out_w):
    import numpy as np

    kh, kw = kernel_size if isinstance(kernel_size, (tuple, list)) else (kernel_size, kernel_size)
    return np.prod([out_h, out_w, out_channels, in_channels, kh, kw])
'''),
        ("returns millions, a float", '''
def conv_macs(in_channels, out_channels, kernel_size, out_h, out_w):
    kh, kw = kernel_size if isinstance(kernel_size, (tuple, list)) else (kernel_size, kernel_size)
    return out_h * out_w * out_channels * in_channels * kh * kw / 1e6
'''),
    ],
    "BasicBlock": [
        ("no ReLU after the addition", _basic(out="out + shortcut")),
        ("ReLU on the residual branch before the addition, none after",
         _basic(out="self.relu(out) + shortcut")),
        ("projection shortcut without BatchNorm", _basic(shortcut_bn="")),
        ("projection only when the stride changes, not when only the channels do",
         _basic(project="stride != 1")),
        ("stride on the second 3x3 convolution", _basic(stride1="1", stride2="stride")),
        ("convolutions with a bias, before BatchNorm", _basic(bias="True")),
        ("a projection shortcut in every block, even where the identity fits",
         _basic(project="True")),
        ("expansion = 4, copied from Bottleneck", _basic(expansion="4")),
    ],
    "Bottleneck": [
        ("stride on the first 1x1 convolution (the paper's ResNet v1)",
         _bottleneck(stride1="stride", stride2="1")),
        ("expands the channels by 2 instead of 4", _bottleneck(expansion="2")),
        ("no ReLU after the addition", _bottleneck(out="out + shortcut")),
        ("projection only when the stride changes, not when only the channels do",
         _bottleneck(project="stride != 1")),
        ("projection shortcut without BatchNorm", _bottleneck(shortcut_bn="")),
        ("no ReLU after bn2", _bottleneck(middle="self.bn2(self.conv2(out))")),
    ],
    "ResNet": [
        ("no max pooling after the stem", _resnet(
            stem_forward="self.relu(self.bn1(self.conv1(x)))")),
        ("fc reads 512 features, whatever the block's expansion", _resnet(fc_in="512")),
        ("stride 2 in the first stage too", _resnet(first_stride="2")),
        ("the later blocks of a stage read planes channels, not planes * expansion",
         _resnet(next_inplanes="planes")),
        ("a fixed 7x7 average pooling (only 224x224 images work)",
         _resnet(avgpool="nn.AvgPool2d(7)")),
        ("two blocks per stage, whatever layers says", _resnet(blocks="2")),
        ("a 3x3 stem convolution with stride 1 (a CIFAR stem)", _resnet(
            stem="kernel_size=3, stride=1, padding=1")),
        ("no ReLU after the stem's BatchNorm", _resnet(
            stem_forward="self.maxpool(self.bn1(self.conv1(x)))")),
    ],
    "resnet18": [
        ("built from Bottleneck blocks", '''
def resnet18(num_classes=1000):
    return ResNet(Bottleneck, [2, 2, 2, 2], num_classes=num_classes)
'''),
        ("ResNet-34's layers [3, 4, 6, 3]", '''
def resnet18(num_classes=1000):
    return ResNet(BasicBlock, [3, 4, 6, 3], num_classes=num_classes)
'''),
        ("returns torchvision's resnet18 (forbidden)", '''
def resnet18(num_classes=1000):
    import torchvision

    return torchvision.models.resnet18(num_classes=num_classes)
'''),
        ("removes the stem's max pooling for small images", '''
def resnet18(num_classes=1000):
    model = ResNet(BasicBlock, [2, 2, 2, 2], num_classes=num_classes)
    model.maxpool = nn.Identity()
    return model
'''),
        ("always 10 classes", '''
def resnet18(num_classes=1000):
    return ResNet(BasicBlock, [2, 2, 2, 2], num_classes=10)
'''),
    ],
    "resnet50": [
        ("built from BasicBlock with [3, 4, 6, 3] (that is ResNet-34)", '''
def resnet50(num_classes=1000):
    return ResNet(BasicBlock, [3, 4, 6, 3], num_classes=num_classes)
'''),
        ("ResNet-101's layers [3, 4, 23, 3]", '''
def resnet50(num_classes=1000):
    return ResNet(Bottleneck, [3, 4, 23, 3], num_classes=num_classes)
'''),
        ("returns torchvision's resnet50 (forbidden)", '''
def resnet50(num_classes=1000):
    from torchvision.models import resnet50 as theirs

    return theirs(num_classes=num_classes)
'''),
        ("a fixed 7x7 average pooling (only 224x224 images work)", '''
def resnet50(num_classes=1000):
    model = ResNet(Bottleneck, [3, 4, 6, 3], num_classes=num_classes)
    model.avgpool = nn.AvgPool2d(7)
    return model
'''),
    ],
}

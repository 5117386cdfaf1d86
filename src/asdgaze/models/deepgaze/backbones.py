"""The four DeepGaze IIE backbones, built so that their state-dict keys match ``deepgaze2e.pth``.

Each backbone is a plain torchvision / ``efficientnet-pytorch`` network (built with ``weights=None``:
the weights come from the checkpoint). ``*_features`` runs a network only up to its last hooked
layer and returns the hooked outputs in the published concatenation order (spec.md §4). The layers
after the last hook stay in the module tree, because strict loading needs their keys, but never run.
"""

from __future__ import annotations

import math
from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

# The published EfficientNet-B5 fixes every conv's "same" padding as if its input were 456x456.
EFFICIENTNET_PAD_SIZE = 456

# Readout channels per backbone, in model order (spec.md §2).
READOUT_CHANNELS = (2048, 2416, 2048, 2560)
BACKBONE_NAMES = ("shapenet_resnet50", "efficientnet_b5", "densenet201", "resnext50_32x4d")


def static_same_pad(kernel: int, stride: int, size: int = EFFICIENTNET_PAD_SIZE) -> tuple[int, int]:
    """Left/right zero padding of a static "same" conv whose input is assumed ``size`` px wide.

    ``p = max((ceil(size / stride) - 1) * stride + kernel - size, 0)``, split ``(p // 2, p - p // 2)``.

    >>> static_same_pad(3, 2), static_same_pad(5, 2), static_same_pad(5, 1), static_same_pad(1, 1)
    ((0, 1), (1, 2), (2, 2), (0, 0))
    """
    p = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
    return p // 2, p - p // 2


def build_resnet50() -> nn.Module:
    """ShapeNet-C: a torchvision ResNet-50, wrapped in a one-child ``module`` Sequential as upstream."""
    from torchvision.models import resnet50

    return nn.Sequential(OrderedDict(module=resnet50(weights=None)))


def build_efficientnet_b5() -> nn.Module:
    """EfficientNet-B5 from ``efficientnet-pytorch`` with the published (456 px everywhere) padding.

    efficientnet-pytorch 0.7.x tracks the feature-map size when it fixes each conv's padding; the
    published model used 456 px for every layer. We reset every conv's padding with
    :func:`static_same_pad`, which changes ``_blocks.13`` and ``_blocks.27`` depthwise convs.
    """
    from efficientnet_pytorch import EfficientNet
    from efficientnet_pytorch.utils import Conv2dStaticSamePadding

    net = EfficientNet.from_name("efficientnet-b5", num_classes=1000)
    for module in net.modules():
        if isinstance(module, Conv2dStaticSamePadding):
            kh, kw = module.kernel_size
            sh, sw = module.stride
            if (kh, kw) == (1, 1):
                continue  # 1x1 convs never pad (and the SE convs were built for a 1x1 input)
            left, right = static_same_pad(kw, sw)
            top, bottom = static_same_pad(kh, sh)
            module.static_padding = nn.ZeroPad2d((left, right, top, bottom))
    return net


def build_densenet201() -> nn.Module:
    from torchvision.models import densenet201

    return densenet201(weights=None)


def build_resnext50() -> nn.Module:
    from torchvision.models import resnext50_32x4d

    return resnext50_32x4d(weights=None)


BUILDERS = (build_resnet50, build_efficientnet_b5, build_densenet201, build_resnext50)


def _bottleneck(block: nn.Module, x: torch.Tensor, capture: dict[str, torch.Tensor], prefix: str,
                wanted: set[str], stop: str | None) -> torch.Tensor | None:
    """torchvision Bottleneck forward that records conv outputs; returns None if stopped early."""
    identity = x
    y = block.conv1(x)
    if prefix + "conv1" in wanted:
        capture[prefix + "conv1"] = y
    if stop == prefix + "conv1":
        return None
    y = block.conv2(block.relu(block.bn1(y)))
    if prefix + "conv2" in wanted:
        capture[prefix + "conv2"] = y
    if stop == prefix + "conv2":
        return None
    y = block.bn3(block.conv3(block.relu(block.bn2(y))))
    if block.downsample is not None:
        identity = block.downsample(x)
    return block.relu(y + identity)


def _resnet_features(net: nn.Module, x: torch.Tensor, hooks: tuple[str, ...]) -> list[torch.Tensor]:
    wanted = set(hooks)
    last = max(hooks, key=lambda h: (h.split(".")[0], int(h.split(".")[1]), h.split(".")[2]))
    capture: dict[str, torch.Tensor] = {}
    x = net.maxpool(net.relu(net.bn1(net.conv1(x))))
    done = False
    for layer_name in ("layer1", "layer2", "layer3", "layer4"):
        for i, block in enumerate(getattr(net, layer_name)):
            out = _bottleneck(block, x, capture, f"{layer_name}.{i}.", wanted, last)
            if out is None:
                done = True
                break
            x = out
        if done:
            break
    return [capture[h] for h in hooks]


SHAPENET_HOOKS = ("layer3.0.conv2", "layer3.3.conv2", "layer3.5.conv1", "layer3.5.conv2",
                  "layer4.1.conv2", "layer4.2.conv2")
RESNEXT_HOOKS = ("layer3.5.conv1", "layer3.5.conv2", "layer3.4.conv2", "layer4.2.conv2")


def shapenet_features(net: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    return _resnet_features(net.module, x, SHAPENET_HOOKS)


def resnext_features(net: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    return _resnet_features(net, x, RESNEXT_HOOKS)


def _static_conv(conv: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """A ``Conv2dStaticSamePadding``; symmetric zero pads go into the conv itself (no padded copy)."""
    pad = getattr(conv.static_padding, "padding", (0, 0, 0, 0))
    left, right, top, bottom = pad
    if left == right and top == bottom:
        return F.conv2d(x, conv.weight, conv.bias, conv.stride, (top, left), conv.dilation, conv.groups)
    return conv(x)


def efficientnet_features(net: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """Outputs of ``_blocks.24/26._depthwise_conv`` (before ``_bn1``) and ``_blocks.35._project_conv``."""
    # swish = x * sigmoid(x); in place only on fresh BatchNorm outputs (never on a captured tensor)
    x = F.silu(net._bn0(net._conv_stem(x)), inplace=True)
    capture: list[torch.Tensor] = []
    for idx, block in enumerate(net._blocks):
        inputs = x
        if block._block_args.expand_ratio != 1:
            x = F.silu(block._bn0(block._expand_conv(x)), inplace=True)
        x = _static_conv(block._depthwise_conv, x)
        if idx in (24, 26):
            capture.append(x)
        x = F.silu(block._bn1(x), inplace=True)
        if block.has_se:
            s = F.adaptive_avg_pool2d(x, 1)
            s = block._se_expand(F.silu(block._se_reduce(s)))
            x = x.mul_(torch.sigmoid(s))
        x = block._project_conv(x)
        if idx == 35:
            capture.append(x)
            break
        x = block._bn2(x)
        args = block._block_args
        # Same test as the published block: a list-valued stride ([1]) never skips (spec.md §4).
        if block.id_skip and args.stride == 1 and args.input_filters == args.output_filters:
            x = x + inputs  # drop-connect is off in eval
    return capture


def densenet_features(net: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """``denselayer32.norm1`` (before its ReLU), ``denselayer32.conv1``, ``denselayer31.conv2``."""
    f = net.features
    for name, module in f.named_children():
        if name == "denseblock4":
            break
        x = module(x)
    feats = [x]
    layer31 = None
    for name, layer in f.denseblock4.named_children():
        if name == "denselayer32":
            n1 = layer.norm1(torch.cat(feats, 1))
            c1 = layer.conv1(F.relu(n1))  # not in place: n1 is a readout input
            return [n1, c1, layer31]
        new = layer(feats)
        if name == "denselayer31":
            layer31 = new
        feats.append(new)
    raise RuntimeError("DenseNet-201 has no denselayer32")


FEATURE_FUNCS = (shapenet_features, efficientnet_features, densenet_features, resnext_features)

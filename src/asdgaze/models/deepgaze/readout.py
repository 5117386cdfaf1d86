"""Readout heads and finalizers of DeepGaze IIE: the checkpoint's module layout and the plain forward.

These modules carry the parameters with the published key names (``layernorm0``, ``conv0``,
``bias0``, ...) and implement the per-component forward of spec.md §3 literally. The fast path in
:mod:`asdgaze.models.deepgaze.fused` reads the same parameters and computes the same function.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

LN_EPS = 1e-12  # the published readout LayerNorm eps


def layer_norm_chw(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """Per-sample normalisation over all of (C, h, w), then a per-channel affine map.

    ``y = (x - mean_{c,h,w}) / sqrt(var_{c,h,w} + 1e-12) * weight[c] + bias[c]`` (biased variance).

    >>> x = torch.arange(8.0).reshape(1, 2, 2, 2)
    >>> y = layer_norm_chw(x, torch.ones(2), torch.zeros(2))
    >>> abs(round(float(y.mean()), 6)), round(float(y.var(unbiased=False)), 4)
    (0.0, 1.0)
    """
    shape = x.shape[1:]
    w = weight[:, None, None].expand(shape)
    b = bias[:, None, None].expand(shape)
    return F.layer_norm(x, shape, w, b, eps=LN_EPS)


class ChannelLayerNorm(nn.Module):
    """LayerNorm over (C, h, w) with per-channel affine parameters (keys ``weight``, ``bias``)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return layer_norm_chw(x, self.weight, self.bias)


class Bias(nn.Module):
    """A per-channel additive bias (key ``bias``)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.bias[None, :, None, None]


class _Part0(nn.Module):
    """The one-input "multi-input" wrappers of the fixation-selection network (``*_part0``)."""

    def __init__(self, name: str, module: nn.Module) -> None:
        super().__init__()
        self.add_module(name, module)
        self._name = name

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return getattr(self, self._name)(x)


def _conv1x1(c_in: int, c_out: int) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, 1, bias=False)


class SaliencyNetwork(nn.Module):
    """LN(C) -> 1x1 C->8 -> bias -> softplus -> LN(8) -> 8->16 -> bias -> softplus -> LN(16) -> 16->1 -> bias -> softplus."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        sizes = (channels, 8, 16, 1)
        for i in range(3):
            self.add_module(f"layernorm{i}", ChannelLayerNorm(sizes[i]))
            self.add_module(f"conv{i}", _conv1x1(sizes[i], sizes[i + 1]))
            self.add_module(f"bias{i}", Bias(sizes[i + 1]))
            self.add_module(f"softplus{i}", nn.Softplus())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i in range(3):
            x = getattr(self, f"layernorm{i}")(x)
            x = getattr(self, f"conv{i}")(x)
            x = getattr(self, f"bias{i}")(x)
            x = F.softplus(x)
        return x


class FixationSelectionNetwork(nn.Module):
    """LN(1) -> 1x1 1->128 -> bias -> softplus -> LN(128) -> 128->16 -> bias -> softplus -> 16->1."""

    def __init__(self) -> None:
        super().__init__()
        self.layernorm0 = _Part0("layernorm_part0", ChannelLayerNorm(1))
        self.conv0 = _Part0("conv_part0", _conv1x1(1, 128))
        self.bias0 = Bias(128)
        self.layernorm1 = ChannelLayerNorm(128)
        self.conv1 = _conv1x1(128, 16)
        self.bias1 = Bias(16)
        self.conv2 = _conv1x1(16, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.softplus(self.bias0(self.conv0(self.layernorm0(x))))
        x = F.softplus(self.bias1(self.conv1(self.layernorm1(x))))
        return self.conv2(x)


def gaussian_taps(sigma: torch.Tensor) -> torch.Tensor:
    """Normalised 1-D Gaussian taps for a scalar ``sigma`` (pixels), computed in float32 as published.

    Length ``K = 2 * ceil(3 * sigma) + 1``; tap ``t`` is ``exp(-((t - (K - 1) / 2) / sigma)^2 / 2)``,
    then divided by the sum.

    >>> taps = gaussian_taps(torch.tensor(1.0))
    >>> taps.shape[0], round(float(taps.sum()), 6), int(taps.argmax())
    (7, 1.0, 3)
    """
    sigma = sigma.detach().to(torch.float32)
    half = int(torch.ceil(3.0 * sigma).item())
    t = torch.arange(2 * half + 1, dtype=torch.float32, device=sigma.device) - half
    g = torch.exp(-0.5 * (t / sigma) ** 2)
    return g / g.sum()


class GaussianBlur(nn.Module):
    """Separable Gaussian blur with replicate padding, first along H then W (key ``sigma``)."""

    def __init__(self, sigma: float = 8.0) -> None:
        super().__init__()
        self.sigma = nn.Parameter(torch.tensor(sigma))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        taps = gaussian_taps(self.sigma).to(x.dtype)
        pad = (taps.shape[0] - 1) // 2
        c = x.shape[1]
        x = F.pad(x, (0, 0, pad, pad), mode="replicate")
        x = F.conv2d(x, taps.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)
        x = F.pad(x, (pad, pad, 0, 0), mode="replicate")
        return F.conv2d(x, taps.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)


def downscale_half(x: torch.Tensor) -> torch.Tensor:
    """Nearest x0.5 (``recompute_scale_factor=False``): keep pixels (2i, 2j), size floor(H/2) x floor(W/2).

    >>> downscale_half(torch.arange(15.0).reshape(1, 1, 3, 5)).tolist()
    [[[[0.0, 2.0]]]]
    """
    h2, w2 = x.shape[-2] // 2, x.shape[-1] // 2
    return x[..., : 2 * h2 : 2, : 2 * w2 : 2]


class Finalizer(nn.Module):
    """Blur the readout at half resolution, add the weighted centre bias, upsample, normalise."""

    def __init__(self) -> None:
        super().__init__()
        self.center_bias_weight = nn.Parameter(torch.ones(1))
        self.gauss = GaussianBlur()

    def forward(self, readout: torch.Tensor, centerbias: torch.Tensor) -> torch.Tensor:
        height, width = centerbias.shape[-2:]
        cb = downscale_half(centerbias)
        x = F.interpolate(readout, size=cb.shape[-2:], mode="nearest")
        x = self.gauss(x)[:, 0]
        x = x + self.center_bias_weight * cb
        x = F.interpolate(x[:, None], size=(height, width), mode="nearest")[:, 0]
        return x - torch.logsumexp(x, dim=(1, 2), keepdim=True)


def log_mean_exp(stack: torch.Tensor, dim: int) -> torch.Tensor:
    """``log(mean(exp(stack), dim))``, computed stably; the equal-weight mixture of log densities.

    >>> float(log_mean_exp(torch.tensor([0.0, 0.0]), 0))
    0.0
    """
    return torch.logsumexp(stack, dim=dim) - math.log(stack.shape[dim])

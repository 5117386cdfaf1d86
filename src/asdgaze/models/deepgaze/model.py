"""DeepGaze IIE (Linardos, Kümmerer, Press & Bethge 2021, arXiv:2105.12441), checkpoint-exact.

The module tree reproduces the state-dict keys of the published ``deepgaze2e.pth`` so that it
loads with ``strict=True``; the forward computes the published function (spec.md §3):

    out = log_mean_exp_b( log_mean_exp_k( finalizer_bk( fixsel_bk( saliency_bk( readout_b(image) )), cb )))

over 4 backbones b and 30 components k each. The default path is the exact fused rewrite of
:mod:`asdgaze.models.deepgaze.fused`; ``reference=True`` runs the 120 components one by one.
"""

from __future__ import annotations

import contextlib
import math
import os
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from asdgaze.data.images import ImageError, pixel_range_problem, to_rgb
from asdgaze.models.centerbias import resolve_centerbias
from asdgaze.models.deepgaze.backbones import BUILDERS, FEATURE_FUNCS, READOUT_CHANNELS
from asdgaze.models.deepgaze.cache import resolve_weights
from asdgaze.models.deepgaze.checkpoint import check_state_dict, load_state_dict_file
from asdgaze.models.deepgaze.fused import FusedHeads, half_res_counts, upsample_full
from asdgaze.models.deepgaze.limits import MIN_SIZE  # noqa: F401 - re-exported
from asdgaze.models.deepgaze.readout import (
    FixationSelectionNetwork,
    Finalizer,
    SaliencyNetwork,
    downscale_half,
    log_mean_exp,
)

N_COMPONENTS = 30
PRECISIONS = ("fp32", "tf32", "fp16", "bf16")

_MEAN = torch.tensor([0.485, 0.456, 0.406], dtype=torch.float64)
_STD = torch.tensor([0.229, 0.224, 0.225], dtype=torch.float64)


class Normalizer(nn.Module):
    """x / 255, minus the ImageNet mean, divided by the std; each step in float64, rounded to float32."""

    def __init__(self) -> None:
        super().__init__()
        # (mean, std) per device, copied once: on a GPU each copy from ordinary memory would wait
        # for the queued kernels (a stream sync per backbone and batch)
        self._constants: dict[torch.device, tuple[torch.Tensor, torch.Tensor]] = {}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.device not in self._constants:
            self._constants[x.device] = (_MEAN.to(x.device).view(1, 3, 1, 1), _STD.to(x.device).view(1, 3, 1, 1))
        mean, std = self._constants[x.device]
        x = x / 255.0
        x = (x.double() - mean).to(x.dtype)
        return (x.double() / std).to(x.dtype)


class Features(nn.Module):
    """``models.b.features``: ``features.0`` is the Normalizer, ``features.1`` the backbone network."""

    def __init__(self, index: int) -> None:
        super().__init__()
        self.index = index
        self.features = nn.Sequential(Normalizer(), BUILDERS[index]())

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Hooked layer outputs of the normalised half-resolution image, in concatenation order.

        The backbone runs in channels-last layout (about 20 % faster on CPU; same arithmetic up to
        summation order, max 9e-6 nats on the reference cases).
        """
        x = self.features[0](x).contiguous(memory_format=torch.channels_last)
        return FEATURE_FUNCS[self.index](self.features[1], x)


class BackboneModel(nn.Module):
    """One backbone with its 30 readout components (``models.b``)."""

    def __init__(self, index: int) -> None:
        super().__init__()
        c = READOUT_CHANNELS[index]
        self.features = Features(index)
        self.saliency_networks = nn.ModuleList(SaliencyNetwork(c) for _ in range(N_COMPONENTS))
        self.fixation_selection_networks = nn.ModuleList(FixationSelectionNetwork() for _ in range(N_COMPONENTS))
        self.finalizers = nn.ModuleList(Finalizer() for _ in range(N_COMPONENTS))

    def readout_input(self, x_half: torch.Tensor, grid: tuple[int, int], precision: str = "fp32") -> torch.Tensor:
        """Hooked features resized (legacy nearest) to the readout grid and concatenated: (B, C, h, w)."""
        if x_half.device.type == "cpu" and x_half.shape[0] > 1:
            # oneDNN picks batch-size-dependent conv kernels for small maps, so a batch would differ
            # from the same images one at a time by up to ~1e-5 nats. Per image, CPU results do not
            # depend on batch composition, at no cost for photos (measured: 4 x 600x800 is faster
            # one by one on 2 cores; 4 x 192x256 costs 0.65 s instead of 0.4 s).
            return torch.cat([self.readout_input(x_half[i:i + 1], grid, precision) for i in range(x_half.shape[0])])
        with _autocast(x_half.device, precision):
            feats = self.features(x_half)
        return torch.cat([F.interpolate(f.float(), size=grid, mode="nearest") for f in feats], dim=1)

    def reference_log_density(self, readout: torch.Tensor, centerbias: torch.Tensor) -> torch.Tensor:
        """Per-component forward at full resolution, then the 30-way mixture: (B, H, W)."""
        preds = []
        for sal, fix, fin in zip(self.saliency_networks, self.fixation_selection_networks, self.finalizers):
            preds.append(fin(fix(sal(readout)), centerbias))
        return log_mean_exp(torch.stack(preds), 0)


@contextlib.contextmanager
def _autocast(device: torch.device, precision: str) -> Iterator[None]:
    if precision in ("fp32", "tf32"):
        yield
        return
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    with torch.autocast(device_type=device.type, dtype=dtype):
        yield


@contextlib.contextmanager
def no_tf32(enabled: bool = False) -> Iterator[None]:
    """Turn TF32 off (fp32 stays exact), or on with ``enabled``, for cuDNN convs and cuBLAS matmuls in the block."""
    saved = (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32)
    torch.backends.cudnn.allow_tf32 = enabled
    torch.backends.cuda.matmul.allow_tf32 = enabled
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def check_image_tensor(image: torch.Tensor, name: str = "image") -> torch.Tensor:
    """Validate a (B, 3, H, W) image batch (uint8, or float in 0..255) and return it as float32."""
    if not isinstance(image, torch.Tensor):
        raise ImageError(f"{name}: expected a torch.Tensor, got {type(image).__name__}")
    if image.ndim != 4 or image.shape[1] != 3:
        raise ImageError(f"{name}: expected shape (B, 3, H, W) with RGB channels, got {tuple(image.shape)}")
    h, w = image.shape[-2:]
    if min(h, w) < MIN_SIZE:
        raise ImageError(f"{name}: image of {h}x{w} px is too small; DeepGaze IIE needs at least "
                         f"{MIN_SIZE} px per side")
    if image.dtype == torch.uint8:
        return image.float()
    if not image.is_floating_point():
        raise ImageError(f"{name}: unsupported dtype {image.dtype}; use uint8 or float 0..255")
    vmin, vmax = float(image.min()), float(image.max())
    integral = bool(torch.all(image == image.round())) if vmax <= 1.0 else True
    problem = pixel_range_problem(vmin, vmax, integral)
    if problem:
        raise ImageError(f"{name}: {problem}")
    return image.float()


class DeepGazeIIE(nn.Module):
    """DeepGaze IIE with the published checkpoint layout; always in eval mode.

    Linardos, Kümmerer, Press & Bethge (2021), "Calibrated prediction in and out-of-domain for
    state-of-the-art saliency modeling", arXiv:2105.12441; weights ``deepgaze2e.pth`` (release
    v1.0.0 of github.com/matthias-k/DeepGaze). Input: RGB 0..255 (B, 3, H, W) and a centre-bias log
    density (B, H, W); output: log density (B, 1, H, W), ``logsumexp`` over (H, W) = 0.

    Args:
        reference: run the 120 readout components one by one (the literal published computation)
            instead of the fused exact path. Both match the published outputs within 1e-4 nats
            (measured max 1.0e-5 on the reference cases).
        precision: ``"fp32"`` (default, exact; TF32 is switched off on GPU), ``"tf32"`` (TF32
            convs and matmuls on GPU; on CPU the same as fp32), or ``"bf16"`` /
            ``"fp16"`` autocast for the backbones only (readouts stay fp32). Not the same output:
            measured max |Δ log density| against fp32 with synthetic weights on CPU: bf16 0.047
            (192x256), 0.097 (191x255), 0.42 (768x1024); fp16 0.007 (192x256), 0.011 (191x255).

    >>> DeepGazeIIE.from_checkpoint  # doctest: +ELLIPSIS
    <bound method DeepGazeIIE.from_checkpoint of <class '...DeepGazeIIE'>>
    """

    def __init__(self, reference: bool = False, precision: str = "fp32") -> None:
        super().__init__()
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        self.models = nn.ModuleList(BackboneModel(b) for b in range(4))
        self.reference = reference
        self.precision = precision
        self._fused: list[FusedHeads] | None = None
        self._counts: dict[tuple, tuple[torch.Tensor, torch.Tensor]] = {}
        for p in self.parameters():
            p.requires_grad_(False)
        super().train(False)

    # -- mode: the model is inference-only (spec.md §6: train() corrupts the BatchNorm statistics)
    def train(self, mode: bool = True) -> "DeepGazeIIE":
        if mode:
            raise RuntimeError("DeepGaze IIE is inference-only: train() would switch BatchNorm to batch "
                               "statistics and overwrite the running statistics of the checkpoint")
        return super().train(False)

    # -- loading
    @classmethod
    def from_pretrained(cls, device: str | torch.device = "cpu", reference: bool = False,
                        precision: str = "fp32") -> "DeepGazeIIE":
        """The published weights from the cache (``asdgaze weights download`` puts them there).

        Raises :class:`~asdgaze.errors.WeightsError` naming the cache path when they are absent.
        """
        return cls.from_checkpoint(None, device=device, reference=reference, precision=precision)

    @classmethod
    def from_checkpoint(cls, path: str | os.PathLike | None = None, device: str | torch.device = "cpu",
                        reference: bool = False, precision: str = "fp32", mmap: bool = False) -> "DeepGazeIIE":
        """Build the model and load ``path`` (a ``deepgaze2e.pth`` state dict) with ``strict=True``.

        ``path=None`` reads the cached ``deepgaze2e.pth`` (as :meth:`from_pretrained`). The modules
        are created on the meta device and the checkpoint tensors are assigned, so no random
        initialisation runs and the weights are held once (peak memory: one copy). ``mmap=True``
        maps the file instead of reading it first (for a GPU: each tensor is copied from the map
        to the device; on a CPU the model would keep the mapped file resident).
        """
        path = resolve_weights(path)
        state = load_state_dict_file(path, mmap=mmap)
        return cls._build(state, device, reference, precision, str(path))

    @classmethod
    def check_checkpoint(cls, path: str | os.PathLike | None = None) -> Path:
        """Check names and shapes of a checkpoint without loading its data (memory-mapped); return its path.

        For commands that must refuse a wrong file before they start any work.
        """
        path = resolve_weights(path)
        with torch.device("meta"):
            expected = cls().state_dict()
        state = load_state_dict_file(path, mmap=True)
        for k in expected:  # as in _build: a missing BatchNorm counter is accepted
            if k.endswith("num_batches_tracked"):
                state.setdefault(k, expected[k])
        check_state_dict(expected, state, str(path))
        return path

    @classmethod
    def from_state_dict(cls, state: dict[str, torch.Tensor], device: str | torch.device = "cpu",
                        reference: bool = False, precision: str = "fp32", source: str = "state dict") -> "DeepGazeIIE":
        """Like :meth:`from_checkpoint` for a state dict in memory (the dict itself is not modified)."""
        return cls._build(dict(state), device, reference, precision, source)

    @classmethod
    def _build(cls, state: dict[str, torch.Tensor], device, reference: bool, precision: str,
               source: str) -> "DeepGazeIIE":
        """Strict-load ``state`` (a dict this function may modify) into a model built on the meta device."""
        with torch.device("meta"):
            model = cls(reference=reference, precision=precision)
        expected = model.state_dict()
        # Like torch's BatchNorm loader for old checkpoints: a missing counter (unused in eval) is 0.
        for k in expected:
            if k.endswith("num_batches_tracked") and k not in state:
                state[k] = torch.tensor(0, dtype=torch.long)
        check_state_dict(expected, state, source)
        for k, v in state.items():
            v = v.to(device)
            if v.ndim == 4 and ".features.features.1." in k:
                # backbone conv weights in the layout of the channels-last input (Features.forward);
                # converted one by one so that the old copy is freed at once
                v = v.contiguous(memory_format=torch.channels_last)
            state[k] = v
        model.load_state_dict(state, strict=True, assign=True)
        for p in model.parameters():
            p.requires_grad_(False)
        return model

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):  # type: ignore[override]
        self._fused = None
        return super().load_state_dict(state_dict, strict=strict, assign=assign)

    def _apply(self, fn, *args, **kwargs):  # .to(), .cuda(), .double(): fused copies are stale
        self._fused = None
        return super()._apply(fn, *args, **kwargs)

    def fused_heads(self) -> list[FusedHeads]:
        if self._fused is None:
            self._fused = [FusedHeads.from_modules(m.saliency_networks, m.fixation_selection_networks, m.finalizers)
                           for m in self.models]
        return self._fused

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    # -- forward
    def forward(self, image: torch.Tensor, centerbias: torch.Tensor) -> torch.Tensor:
        """Log density (B, 1, H, W) of image (B, 3, H, W, RGB 0..255) with centre bias (B, H, W) log density."""
        return self.forward_parts(image, centerbias)["output"]

    @torch.inference_mode()
    def forward_parts(self, image: torch.Tensor, centerbias: torch.Tensor, reference: bool | None = None,
                      precision: str | None = None, parts: bool = False) -> dict:
        """The output and, if ``parts``, the per-backbone outputs and readout inputs (as in reference_seed0.pt)."""
        reference = self.reference if reference is None else reference
        precision = self.precision if precision is None else precision
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        if isinstance(image, torch.Tensor):  # copy uint8 to the device, convert there (4x less to copy)
            image = image.to(self.device, non_blocking=True)
        image = check_image_tensor(image)
        b, _, height, width = image.shape
        if centerbias.shape != (b, height, width):
            raise ValueError(f"centerbias must have shape {(b, height, width)} (B, H, W), got {tuple(centerbias.shape)}")
        cb = centerbias.to(device=self.device, dtype=torch.float32)
        if image.device.type == "cpu" and b > 1 and not parts:
            # On CPU each image runs alone, so that its map does not depend on which images share its
            # batch (oneDNN's kernels differ by batch size at the 1e-6 level): a sharded or resumed
            # run is byte-identical to a whole one. The backbones ran per image anyway (readout_input).
            outs = [self.forward_parts(image[i:i + 1], cb[i:i + 1], reference, precision)["output"] for i in range(b)]
            return {"output": torch.cat(outs)}
        # TF32 only when asked for ("tf32"); on CPU there is no TF32 and "tf32" equals "fp32"
        tf32 = no_tf32(precision == "tf32") if image.device.type == "cuda" else contextlib.nullcontext()
        with tf32:
            x_half = downscale_half(image)
            grid = (math.ceil(height / 32), math.ceil(width / 32))
            readouts = [m.readout_input(x_half, grid, precision) for m in self.models]
            if reference:
                per = [m.reference_log_density(r, cb) for m, r in zip(self.models, readouts)]
                out = log_mean_exp(torch.stack(per), 0)
            else:
                cb_half = downscale_half(cb)
                key = (height, width, image.device)
                if key not in self._counts:  # bincount on a GPU syncs: once per size
                    self._counts[key] = half_res_counts(height, width, image.device)
                rows, cols = self._counts[key]
                half = [h.log_density_half(h.readout(r), cb_half, rows, cols)
                        for h, r in zip(self.fused_heads(), readouts)]
                out = upsample_full(log_mean_exp(torch.stack(half), 0), height, width)
                per = [upsample_full(p, height, width) for p in half] if parts else None
        result = {"output": out[:, None]}
        if parts:
            result["per_backbone_output"] = [p[:, None] for p in per]
            result["readout_input"] = readouts
        return result

    # -- convenience
    def predict(self, images, centerbias=None, batch_size: int = 8, precision: str | None = None,
                reference: bool | None = None):
        """Log densities of one or more RGB images.

        Args:
            images: an (H, W, 3) array (uint8, or float 0..255), a list of such arrays (sizes may
                differ; equal sizes are batched together), or a (B, 3, H, W) / (3, H, W) tensor.
            centerbias: ``None`` or ``"uniform"`` (zeros), a
                :class:`asdgaze.models.centerbias.CenterBias`, a callable ``(h, w) -> log density``,
                or an (H, W) / (B, H, W) log-density array or tensor matching the image size.
            batch_size: images per forward pass.

        Returns:
            float32 log density: (H, W) array for one array, a list of arrays for a list, a
            (B, H, W) tensor for tensor input. Each sums to 1 after ``exp``.
        """
        if isinstance(images, torch.Tensor):
            batch = images[None] if images.ndim == 3 else images
            cb = _centerbias_tensor(centerbias, batch.shape[0], batch.shape[-2], batch.shape[-1])
            outs = [self.forward_parts(batch[i:i + batch_size], cb[i:i + batch_size], reference, precision)["output"][:, 0]
                    for i in range(0, batch.shape[0], batch_size)]
            return torch.cat(outs).cpu()
        single = isinstance(images, np.ndarray)
        arrays = [images] if single else list(images)
        arrays = [to_rgb(a, f"images[{i}]") for i, a in enumerate(arrays)]
        results: list[np.ndarray | None] = [None] * len(arrays)
        for idx in batches_by_size([a.shape[:2] for a in arrays], batch_size):
            h, w = arrays[idx[0]].shape[:2]
            x = torch.from_numpy(np.stack([arrays[i] for i in idx])).permute(0, 3, 1, 2)
            cb = _centerbias_tensor(centerbias, len(idx), h, w)
            out = self.forward_parts(x, cb, reference, precision)["output"][:, 0].cpu().numpy()
            for j, i in enumerate(idx):
                results[i] = out[j]
        return results[0] if single else results


def batches_by_size(sizes: Sequence[tuple[int, int]], batch_size: int) -> list[list[int]]:
    """Group indices of equal (H, W) into batches of at most ``batch_size``, in first-seen order.

    >>> batches_by_size([(2, 2), (3, 3), (2, 2), (2, 2)], 2)
    [[0, 2], [3], [1]]
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    groups: dict[tuple[int, int], list[int]] = {}
    for i, s in enumerate(sizes):
        groups.setdefault(tuple(s), []).append(i)
    return [g[i:i + batch_size] for g in groups.values() for i in range(0, len(g), batch_size)]


def _centerbias_tensor(centerbias, b: int, h: int, w: int) -> torch.Tensor:
    if centerbias is None or (isinstance(centerbias, str) and centerbias == "uniform"):
        return torch.zeros(b, h, w)
    if isinstance(centerbias, (str, os.PathLike)):
        centerbias = resolve_centerbias(centerbias)
    if hasattr(centerbias, "log_density"):
        centerbias = centerbias.log_density
    if callable(centerbias):
        one = torch.as_tensor(np.asarray(centerbias(h, w)), dtype=torch.float32)
        return one.expand(b, h, w)
    t = torch.as_tensor(np.asarray(centerbias) if not isinstance(centerbias, torch.Tensor) else centerbias,
                        dtype=torch.float32)
    if t.shape == (h, w):
        return t.expand(b, h, w)
    if t.shape == (b, h, w):
        return t
    raise ValueError(f"centerbias of shape {tuple(t.shape)} does not match images of {h}x{w}")

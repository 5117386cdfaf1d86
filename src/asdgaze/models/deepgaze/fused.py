"""The fast, exact path of DeepGaze IIE: 30 heads as one network, fused finalizers, half-res mixtures.

Every step is an exact rewrite of spec.md §3 (only the order of floating-point operations changes;
spec.md §9 lists them and their measured deviation, <= 3e-5 nats):

* The first LayerNorm of all 30 saliency networks normalises the same features, so the
  normalisation is computed once and each component's scale ``g`` and shift ``b`` are folded into
  its first 1x1 conv: ``W (g * xn + b) + c = (W diag g) xn + (W b + c)``. The 30 first layers form
  one 1x1 conv C -> 240; the later layers are grouped convs (groups = 30).
* The finalizer's nearest resize (readout grid -> half resolution), replicate padding and separable
  Gaussian blur are all linear maps along one axis, so each axis becomes one matrix per component
  (built in float64 from the float32 taps): ``blurred = M_h @ readout @ M_w^T``.
* Nearest upsampling to full size is the same gather for every component, so the per-component
  normalisation is done at half resolution with weights ``rows_i * cols_j`` (how many
  full-resolution rows/cols copy half-resolution row i / col j). The 30-way and 4-way mixtures are
  done at half resolution and the result is upsampled once.
* The per-component normalisation and the 30-way mixture share one ``exp`` pass (see
  :meth:`FusedHeads.log_density_half`), with a logsumexp fallback if float32 could underflow.

Measured against the published outputs (reference_seed0.pt): max 1.0e-5 nats; tolerance 1e-4.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from asdgaze.models.deepgaze.readout import LN_EPS, gaussian_taps


def nearest_index(n_in: int, n_out: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """Source index of each output position for PyTorch's legacy ``'nearest'`` resize of n_in -> n_out.

    Computed by resizing an index ramp with ``F.interpolate`` itself, so the rule (``floor(dst *
    n_in / n_out)`` in PyTorch's own arithmetic) is exactly the one the published model used.

    >>> nearest_index(3, 7).tolist()
    [0, 0, 0, 1, 1, 2, 2]
    """
    ramp = torch.arange(n_in, dtype=torch.float64, device=device).view(1, 1, n_in)
    return F.interpolate(ramp, size=n_out, mode="nearest").view(n_out).long()


def _norm(x: torch.Tensor, n_dims: int) -> torch.Tensor:
    """Per-sample (x - mean) / sqrt(var + 1e-12) over the last ``n_dims`` dims, no affine part.

    ``F.layer_norm`` without weights: several times faster on CPU than ``torch.var_mean``.
    """
    return F.layer_norm(x, x.shape[-n_dims:], eps=LN_EPS)


@dataclass
class FusedHeads:
    """The parameters of one backbone's 30 components, stacked and folded (see module docstring)."""

    w0: torch.Tensor  # (K*8, C, 1, 1) first saliency conv with LN0 folded in
    b0: torch.Tensor  # (K*8,)
    g1: torch.Tensor  # (1, K, 8, 1, 1)
    s1: torch.Tensor
    w1: torch.Tensor  # (K*16, 8, 1, 1) grouped
    b1: torch.Tensor  # (K*16,)
    g2: torch.Tensor  # (1, K, 16, 1, 1)
    s2: torch.Tensor
    w2: torch.Tensor  # (K, 16, 1, 1) grouped
    b2: torch.Tensor  # (K,)
    f0w: torch.Tensor  # (1, K, 128, 1, 1) fixation-selection conv0 with LN(1) scale folded in
    f0b: torch.Tensor  # (1, K, 128, 1, 1) ... and shift + bias0
    fg1: torch.Tensor  # (1, K, 128, 1, 1)
    fs1: torch.Tensor
    fw1: torch.Tensor  # (K*16, 128, 1, 1) grouped
    fb1: torch.Tensor  # (K*16,)
    fw2: torch.Tensor  # (K, 16, 1, 1) grouped
    cbw: torch.Tensor  # (K,)
    taps: torch.Tensor  # (K, L) float32 Gaussian taps, zero-padded to the longest, centred
    # every centre-bias weight >= 0: read once here (on a GPU each read is a sync that stalls the launch queue)
    cbw_nonneg: bool | None = None

    def __post_init__(self) -> None:
        if self.cbw_nonneg is None:
            self.cbw_nonneg = bool((self.cbw >= 0).all())

    @classmethod
    def from_modules(cls, saliency, fixation, finalizers) -> "FusedHeads":
        k = len(saliency)
        with torch.no_grad():
            w0 = torch.stack([n.conv0.weight[:, :, 0, 0] * n.layernorm0.weight[None, :] for n in saliency])
            b0 = torch.stack([n.conv0.weight[:, :, 0, 0] @ n.layernorm0.bias + n.bias0.bias for n in saliency])

            def st(get):
                return torch.stack([get(n) for n in saliency])

            fconv0 = torch.stack([n.conv0.conv_part0.weight[:, 0, 0, 0] for n in fixation])  # (K, 128)
            fg0 = torch.stack([n.layernorm0.layernorm_part0.weight[0] for n in fixation])  # (K,)
            fs0 = torch.stack([n.layernorm0.layernorm_part0.bias[0] for n in fixation])
            fbias0 = torch.stack([n.bias0.bias for n in fixation])
            taps = [gaussian_taps(f.gauss.sigma) for f in finalizers]
            longest = max(t.shape[0] for t in taps)
            padded = torch.zeros(k, longest, dtype=torch.float32, device=taps[0].device)
            for i, t in enumerate(taps):
                off = (longest - t.shape[0]) // 2
                padded[i, off : off + t.shape[0]] = t
            return cls(
                w0=w0.reshape(k * 8, -1)[:, :, None, None].contiguous(),
                b0=b0.reshape(k * 8).contiguous(),
                g1=st(lambda n: n.layernorm1.weight)[None, :, :, None, None],
                s1=st(lambda n: n.layernorm1.bias)[None, :, :, None, None],
                w1=st(lambda n: n.conv1.weight).reshape(k * 16, 8, 1, 1).contiguous(),
                b1=st(lambda n: n.bias1.bias).reshape(k * 16),
                g2=st(lambda n: n.layernorm2.weight)[None, :, :, None, None],
                s2=st(lambda n: n.layernorm2.bias)[None, :, :, None, None],
                w2=st(lambda n: n.conv2.weight).reshape(k, 16, 1, 1).contiguous(),
                b2=st(lambda n: n.bias2.bias).reshape(k),
                f0w=(fconv0 * fg0[:, None])[None, :, :, None, None],
                f0b=(fconv0 * fs0[:, None] + fbias0)[None, :, :, None, None],
                fg1=torch.stack([n.layernorm1.weight for n in fixation])[None, :, :, None, None],
                fs1=torch.stack([n.layernorm1.bias for n in fixation])[None, :, :, None, None],
                fw1=torch.stack([n.conv1.weight for n in fixation]).reshape(k * 16, 128, 1, 1).contiguous(),
                fb1=torch.stack([n.bias1.bias for n in fixation]).reshape(k * 16),
                fw2=torch.stack([n.conv2.weight for n in fixation]).reshape(k, 16, 1, 1).contiguous(),
                cbw=torch.stack([f.center_bias_weight[0] for f in finalizers]),
                taps=padded,
            )

    @property
    def components(self) -> int:
        return self.cbw.shape[0]

    def readout(self, features: torch.Tensor) -> torch.Tensor:
        """Readout maps of all components, (B, C, h, w) -> (B, K, h, w) (before the finalizer)."""
        b, _, h, w = features.shape
        k = self.components
        x = F.softplus(F.conv2d(_norm(features, 3), self.w0, self.b0))
        x = torch.addcmul(self.s1, _norm(x.view(b, k, 8, h, w), 3), self.g1)
        x = F.softplus(F.conv2d(x.view(b, k * 8, h, w), self.w1, self.b1, groups=k))
        x = torch.addcmul(self.s2, _norm(x.view(b, k, 16, h, w), 3), self.g2)
        sal = F.softplus(F.conv2d(x.view(b, k * 16, h, w), self.w2, self.b2, groups=k))  # (B, K, h, w)
        x = torch.addcmul(self.f0b, _norm(sal, 2)[:, :, None], self.f0w)  # (B, K, 128, h, w)
        x = torch.addcmul(self.fs1, _norm(F.softplus(x), 3), self.fg1)
        x = F.softplus(F.conv2d(x.view(b, k * 128, h, w), self.fw1, self.fb1, groups=k))
        return F.conv2d(x, self.fw2, groups=k)

    def blur_matrix(self, n_grid: int, n_half: int) -> torch.Tensor:
        """(K, n_half, n_grid): nearest resize n_grid -> n_half, replicate pad, Gaussian blur, as one map."""
        length = self.taps.shape[1]
        pad = (length - 1) // 2
        device = self.taps.device
        src = nearest_index(n_grid, n_half, device)
        pos = (torch.arange(n_half, device=device)[:, None] + torch.arange(length, device=device)[None, :] - pad)
        cols = src[pos.clamp(0, n_half - 1)]  # (n_half, L)
        k = self.components
        m = torch.zeros(k, n_half, n_grid, dtype=torch.float64, device=device)
        m.scatter_add_(2, cols.expand(k, n_half, length), self.taps.double()[:, None, :].expand(k, n_half, length))
        return m.to(torch.float32)

    def log_density_half(self, readout: torch.Tensor, cb_half: torch.Tensor, rows: torch.Tensor,
                         cols: torch.Tensor) -> torch.Tensor:
        """Mixture of the K components at half resolution, (B, K, h, w) -> (B, h2, w2).

        ``rows`` (h2,) and ``cols`` (w2,) count how often the final nearest upsample copies each
        half-resolution row / column, so the result, gathered to full size, is the normalised
        mixture log density. With ``z_k`` the finalizer output of component k, ``E_k = exp(z_k -
        c_k)`` for some ``c_k >= max z_k`` and ``s_k = sum_ij rows_i cols_j E_kij``, the mixture is
        ``log(sum_k E_k / s_k) - log K``: one exp pass instead of two logsumexps. Where that
        sum could have lost terms to float32 underflow we use the logsumexp form.
        """
        h2, w2 = cb_half.shape[-2:]
        mh = self.blur_matrix(readout.shape[-2], h2)
        mw = self.blur_matrix(readout.shape[-1], w2)
        # Shift each component by an upper bound of its maximum before exp() (saves a pass over z):
        # blur rows sum to 1, so max(blurred) <= max(readout); cb_shift = cb - max(cb) <= 0 when
        # the centre-bias weights are >= 0 (else shift by the true maximum).
        r_top = readout.amax(dim=(2, 3), keepdim=True)
        z = torch.matmul(mh, torch.matmul(readout - r_top, mw.transpose(1, 2)))  # (B, K, h2, w2)
        if self.cbw_nonneg:
            cb_shift = cb_half - cb_half.amax(dim=(1, 2), keepdim=True)
            z.addcmul_(self.cbw[None, :, None, None], cb_shift[:, None])
            e = torch.exp(z)
        else:
            z.addcmul_(self.cbw[None, :, None, None], cb_half[:, None])
            e = torch.exp(z - z.amax(dim=(2, 3), keepdim=True))
        s = torch.matmul(torch.matmul(e, cols), rows)  # (B, K)
        inv = 1.0 / s
        mix = torch.matmul(inv[:, None, :], e.flatten(2)).view(-1, h2, w2)
        # Terms that underflowed (or went subnormal, < 1.2e-38) add at most K * 1.2e-38 * max(1/s)
        # to a pixel; keep this path only where that is below 1e-8 of every pixel's value.
        safe = torch.isfinite(inv).all() & (mix.amin(dim=(1, 2)) >= 1e8 * self.components * 1.2e-38 * inv.amax(dim=1)).all()
        if bool(safe):
            return mix.log_() - math.log(self.components)
        log_w = rows.log()[:, None] + cols.log()[None, :]
        z = z - torch.logsumexp(z + log_w, dim=(2, 3), keepdim=True)  # shifts of z cancel here
        return torch.logsumexp(z, dim=1) - math.log(self.components)


def half_res_counts(height: int, width: int, device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """How many of the H rows / W columns the final nearest upsample copies from each half-res row / column.

    >>> [c.tolist() for c in half_res_counts(5, 4)]
    [[3.0, 2.0], [2.0, 2.0]]
    """
    h2, w2 = height // 2, width // 2
    rows = torch.bincount(nearest_index(h2, height, device), minlength=h2).to(torch.float32)
    cols = torch.bincount(nearest_index(w2, width, device), minlength=w2).to(torch.float32)
    return rows, cols


def upsample_full(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Nearest upsample of (B, h2, w2) to (B, H, W) with the legacy rule (a gather)."""
    ri = nearest_index(x.shape[-2], height, x.device)
    ci = nearest_index(x.shape[-1], width, x.device)
    return x[:, ri][:, :, ci]

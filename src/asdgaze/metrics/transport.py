"""Earth mover's distance in the MIT convention (``EMD.m``), solved exactly with POT.

Reference: MIT Saliency Benchmark code (cvzoya/saliency, code_forMetrics: EMD.m, which calls
Pele & Werman's FastEMD ``emd_hat_gd_metric_mex`` with extra-mass penalty 0); Bylinskii et al.,
"What do different evaluation metrics tell us about saliency models?", IEEE TPAMI 41(3), 2019.
Spec: ``docs/specs/metrics.md`` section 3.9.

FastEMD first moves the common mass min(a_i, b_i) of every bin at zero cost (valid because the
ground distance is a metric) and then solves min-cost flow on the remainders. We do the same
pre-flow and hand the non-negative, equal-sum remainders to POT's exact network simplex
(``ot.emd2``). Plain ``ot.emd2`` on the raw histograms would be wrong: bicubic overshoot leaves
negative bins, on which POT silently returns 0.
"""

from __future__ import annotations

import math
import warnings
from functools import lru_cache

import os

import numpy as np


def _import_pot_without_backends():
    """Import POT without its optional torch/jax/cupy/tensorflow backends (only NumPy is used).

    POT imports torch when installed, which costs seconds, and evaluate must stay torch-free so
    its worker pool can fork. The variables are restored; an earlier ``import ot`` is kept as is.
    """
    keys = ("POT_BACKEND_DISABLE_PYTORCH", "POT_BACKEND_DISABLE_JAX", "POT_BACKEND_DISABLE_CUPY",
            "POT_BACKEND_DISABLE_TENSORFLOW")
    saved = {k: os.environ.get(k) for k in keys}
    os.environ.update({k: "1" for k in keys})
    try:
        import ot
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return ot


ot = _import_pot_without_backends()

from asdgaze.maps.imresize import imresize
from asdgaze.metrics._checks import positive_int, real_map
from asdgaze.metrics._prepared import PreparedSaliency

__all__ = ["emd"]


@lru_cache(maxsize=8)
def _ground_distance(shape: tuple[int, int]) -> np.ndarray:
    """Euclidean distance between all cell pairs of an (h, w) grid, cells in row-major order."""
    r, c = np.divmod(np.arange(shape[0] * shape[1]), shape[1])
    d = np.hypot(r[:, None] - r[None, :], c[:, None] - c[None, :]).astype(np.float64)
    d.setflags(write=False)
    return d


def _transport_cost(a: np.ndarray, b: np.ndarray) -> float:
    """EMD between two (h, w) histograms of equal total mass 1 (negative bins allowed)."""
    d = (a - b).ravel()
    src = np.flatnonzero(d > 0)  # surplus of a after the pre-flow
    snk = np.flatnonzero(d < 0)  # surplus of b
    if src.size == 0 or snk.size == 0:
        return 0.0
    if a.size <= 4096:  # 24x32 at 768x1024: cache the full (cells x cells) matrix once
        dist = _ground_distance(a.shape)[np.ix_(src, snk)]
    else:
        (r1, c1), (r2, c2) = np.divmod(src, a.shape[1]), np.divmod(snk, a.shape[1])
        dist = np.hypot(r1[:, None] - r2[None, :], c1[:, None] - c2[None, :]).astype(np.float64)
    with warnings.catch_warnings():  # POT warns as well as logging; the log is checked below
        warnings.simplefilter("ignore", UserWarning)
        cost, log = ot.emd2(d[src], -d[snk], dist, numItermax=10_000_000, log=True)
    if log.get("warning"):
        # Rounding can leave the two surpluses unequal beyond POT's tolerance (large bins from a map
        # with mixed signs); EMD scales with the mass, so solve with both normalised to 1 instead.
        mass = float(d[src].sum())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            cost, log = ot.emd2(d[src] / mass, -d[snk] / float(-d[snk].sum()), dist, numItermax=10_000_000,
                                log=True)
        cost = float(cost) * mass
        if log.get("warning"):
            raise RuntimeError(f"emd: the exact transport solver did not converge: {log['warning']}")
    return float(cost)


def _emd(prep: PreparedSaliency, density_small: np.ndarray) -> float:
    b = prep.emd_downscaled(density_small.shape)
    sa = density_small.sum()
    sb = b.sum()
    if sa == 0 or sb == 0:
        return math.nan
    # A map whose positive and negative values (nearly) cancel has no meaningful normalisation.
    if abs(sb) <= 1e-9 * float(np.abs(b).sum()):
        return math.nan
    return _transport_cost(density_small / sa, b / sb)


def downscale_density(density: np.ndarray, downsize: int) -> np.ndarray:
    """EMD's first step: ``imresize(C, 1/downsize)`` (ceil(H/d) x ceil(W/d) cells)."""
    return imresize(density, 1.0 / downsize)


def emd(saliency: np.ndarray, density: np.ndarray, *, downsize: int = 32) -> float:
    """Earth mover's distance between the fixation density and the saliency map (MIT ``EMD.m``).

    ``a = imresize(C, 1/downsize)`` (MATLAB bicubic, so ceil(H/d) x ceil(W/d) cells),
    ``b = imresize(S, size(a))``, both divided by their sums (no clipping of negative bins).
    ``EMD = min over flows f >= 0 of sum f_ij D_ij`` moving a onto b, where D is the Euclidean
    distance between cell centres in cell units. Lower is better; 0 for identical maps.

    Args:
        saliency: (h, w) saliency map.
        density: (H, W) continuous fixation map C.
        downsize: integer shrink factor (MIT default 32).

    Returns:
        Distance in downsampled-cell units; NaN if a downscaled map sums to zero.

    Example:
        >>> c = np.zeros((4, 4)); c[0, 0] = 1.0
        >>> s = np.zeros((4, 4)); s[0, 3] = 1.0
        >>> emd(s, c, downsize=1)
        3.0
    """
    d = real_map(density, "density")
    s = real_map(saliency, "saliency")
    k = positive_int(downsize, "downsize")
    prep = PreparedSaliency(s, d.shape)
    return _emd(prep, downscale_density(d, k))

"""Distribution-based metrics in the MIT convention: CC, KL divergence and SIM.

The saliency map is compared with the continuous fixation map C (blurred fixations, 0..1).
Reference: MIT Saliency Benchmark code (cvzoya/saliency, code_forMetrics: CC.m, KLdiv.m,
similarity.m); Bylinskii et al., "What do different evaluation metrics tell us about saliency
models?", IEEE TPAMI 41(3), 2019. Spec: ``docs/specs/metrics.md`` sections 3.5-3.7.
"""

from __future__ import annotations

import math

import numpy as np

from asdgaze.metrics._checks import real_map
from asdgaze.metrics._prepared import EPS, PreparedDensity, PreparedSaliency

__all__ = ["cc", "kl_div", "sim"]


def _cc(prep: PreparedSaliency, c: PreparedDensity) -> float:
    # Constancy is tested directly (a rounded mean can leave a ~1e-17 spread).
    if prep.constant or c.centered is None:
        return math.nan
    sc, ss = prep.centered
    dc, sd = c.centered
    if not ss * sd > 0:  # spreads that underflow (subnormal maps): no defined correlation
        return math.nan
    return float(np.dot(sc, dc) / math.sqrt(ss * sd))


def _kl(prep: PreparedSaliency, c: PreparedDensity) -> float:
    if not c.has_mass:  # no fixations: KLdiv.m gives 0, a perfect score; undefined here
        return math.nan
    q = c.kl_probability
    t = q / prep.kl_model
    t += EPS
    with np.errstate(invalid="ignore", divide="ignore"):
        np.log(t, out=t)  # a negative saliency map gives NaN here, as MATLAB gives a complex value
    return float(np.dot(q, t))


def _sim(prep: PreparedSaliency, c: PreparedDensity) -> float:
    if not c.has_mass:  # no fixations: similarity.m gives 0, a plausible score; undefined here
        return math.nan
    ps = prep.sim_probability
    pc = c.sim_probability
    if ps is None or pc is None:
        return math.nan
    return float(np.minimum(ps, pc).sum())


def _density(density: np.ndarray) -> np.ndarray:
    return real_map(density, "density")


def cc(saliency: np.ndarray, density: np.ndarray) -> float:
    """Pearson linear correlation coefficient (MIT ``CC.m``).

    ``CC = sum((S - mean S)(C - mean C)) / sqrt(sum((S - mean S)^2) sum((C - mean C)^2))`` over all
    pixels, with S resized to C's grid (MATLAB ``corr2``).

    Args:
        saliency: (h, w) saliency map.
        density: (H, W) continuous fixation map C.

    Returns:
        Correlation in [-1, 1]; NaN if either map is constant.

    Example:
        >>> cc(np.array([[0.0, 1.0], [2.0, 3.0]]), np.array([[0.0, 2.0], [4.0, 6.0]]))
        1.0
    """
    d = _density(density)
    prep = PreparedSaliency(real_map(saliency, "saliency"), d.shape)
    return _cc(prep, PreparedDensity(d))


def kl_div(saliency: np.ndarray, density: np.ndarray) -> float:
    """KL divergence KL(C || S) in nats (MIT ``KLdiv.m``); lower is better.

    ``P = S/sum(S)``, ``Q = C/sum(C)`` (each only if the map has a nonzero pixel; no min-max);
    ``KL = sum Q * ln(eps + Q/(P + eps))`` with eps = 2.2e-16. S is resized to C's grid.

    Args:
        saliency: (h, w) saliency map (non-negative for a meaningful value).
        density: (H, W) continuous fixation map C.

    Returns:
        Divergence in nats (0 for identical distributions); NaN for an all-zero C (no fixations),
        where ``KLdiv.m`` returns 0.

    Example:
        >>> round(kl_div(np.array([[1.0, 1.0]]), np.array([[1.0, 0.0]])), 12)  # ln 2
        0.69314718056
    """
    d = _density(density)
    prep = PreparedSaliency(real_map(saliency, "saliency"), d.shape)
    return _kl(prep, PreparedDensity(d))


def sim(saliency: np.ndarray, density: np.ndarray) -> float:
    """Similarity / histogram intersection (MIT ``similarity.m``).

    Each map with a nonzero pixel is min-max scaled, then divided by its sum (P_S, P_C);
    ``SIM = sum min(P_S, P_C)``. S is resized to C's grid.

    Args:
        saliency: (h, w) saliency map.
        density: (H, W) continuous fixation map C.

    Returns:
        Score in [0, 1] (1 for identical maps); NaN if a map is a nonzero constant, or for an
        all-zero C (no fixations), where ``similarity.m`` returns 0.

    Example:
        >>> sim(np.array([[0.0, 1.0, 1.0]]), np.array([[0.0, 2.0, 0.0]]))
        0.5
    """
    d = _density(density)
    prep = PreparedSaliency(real_map(saliency, "saliency"), d.shape)
    return _sim(prep, PreparedDensity(d))

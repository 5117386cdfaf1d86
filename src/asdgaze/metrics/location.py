"""Location-based metrics in the MIT convention: NSS and information gain (InfoGain).

Both read the map at the fixated pixels F+ of a binary fixation map (duplicates collapse).
Reference: MIT Saliency Benchmark code (cvzoya/saliency, code_forMetrics: NSS.m, InfoGain.m);
Bylinskii et al., "What do different evaluation metrics tell us about saliency models?",
IEEE TPAMI 41(3), 2019. Spec: ``docs/specs/metrics.md`` sections 3.4 and 3.8.
"""

from __future__ import annotations

import math

import numpy as np

from asdgaze.metrics._checks import bool_map, real_map
from asdgaze.metrics._prepared import EPS, PreparedSaliency

__all__ = ["nss", "info_gain"]


def _nss(prep: PreparedSaliency, fix: np.ndarray) -> float:
    z = prep.zscore
    if z is None or fix.size == 0:
        return math.nan
    return float(z[fix].mean())


def _info_gain(prep: PreparedSaliency, base: PreparedSaliency, fix: np.ndarray) -> float:
    ps = prep.probability
    if ps is None or fix.size == 0:
        return math.nan
    pb = base.probability
    # A constant baseline has no min-max (MATLAB: all NaN); take it as the uniform distribution.
    pb_fix = pb[fix] if pb is not None else np.full(fix.size, 1.0 / ps.size)
    return float(np.mean(np.log2(EPS + ps[fix]) - np.log2(EPS + pb_fix)))


def nss(saliency: np.ndarray, fixation_map: np.ndarray) -> float:
    """Normalized scanpath saliency (MIT ``NSS.m``).

    ``NSS = mean over fixated pixels of (S - mean S)/std S``, with S resized to the fixation grid
    and std the sample standard deviation (N - 1), as MATLAB ``std``.

    Args:
        saliency: (h, w) saliency map, any real dtype.
        fixation_map: (H, W) bool, True at fixated pixels (each pixel counts once).

    Returns:
        Score in standard deviations; NaN for an empty fixation map or a constant map.

    Example:
        >>> s = np.array([[0.0, 1.0], [2.0, 3.0]])
        >>> round(nss(s, np.array([[False, False], [False, True]])), 6)  # (3-1.5)/std
        1.161895
    """
    f = bool_map(fixation_map, "fixation_map")
    prep = PreparedSaliency(real_map(saliency, "saliency"), f.shape)
    return _nss(prep, np.flatnonzero(f))


def info_gain(saliency: np.ndarray, fixation_map: np.ndarray, baseline: np.ndarray) -> float:
    """Information gain over a baseline map (MIT ``InfoGain.m``), in bits per fixated pixel.

    Both maps are resized to the fixation grid, min-max scaled and divided by their sums
    (P_S, P_B); ``IG = mean over F+ of log2(eps + P_S) - log2(eps + P_B)`` with eps = 2.2e-16.
    The min-max step makes this differ from the probabilistic IG of pysaliency.
    A constant baseline, for which MATLAB's min-max gives all NaN, is taken as the uniform
    distribution P_B = 1/(H·W) (our extension, so that IG over a uniform baseline is defined).

    Args:
        saliency: (h, w) saliency map.
        fixation_map: (H, W) bool.
        baseline: (h', w') baseline map (e.g. a centre bias), any real dtype.

    Returns:
        Bits per fixated pixel; NaN for an empty fixation map or a constant saliency map.

    Example:
        >>> f = np.array([[True, False], [False, False]])
        >>> ig = info_gain(np.array([[1.0, 0.5], [0.5, 0.0]]), f, np.array([[1.0, 1.0], [1.0, 0.0]]))
        >>> round(ig, 12)  # log2(0.5) - log2(1/3) = log2(1.5)
        0.584962500721
    """
    f = bool_map(fixation_map, "fixation_map")
    prep = PreparedSaliency(real_map(saliency, "saliency"), f.shape)
    base = PreparedSaliency(real_map(baseline, "baseline"), f.shape)
    return _info_gain(prep, base, np.flatnonzero(f))

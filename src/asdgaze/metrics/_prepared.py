"""A saliency map prepared once for one target pixel grid, with lazily cached derived maps.

Both the single-metric functions and :func:`asdgaze.metrics.suite.score_mit` run every metric on
this object, so the fast path shares the work (resize, min-max, z-score, EMD downscale) and still
gives bit-identical values.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from asdgaze.maps.imresize import imresize
from asdgaze.metrics._checks import CONSTANT_RTOL, is_constant

EPS = float(np.finfo(np.float64).eps)  # MATLAB eps = 2.220446049250313e-16


def minmax(a: np.ndarray, inplace: bool = False) -> np.ndarray | None:
    """(a - min a)/(max a - min a); ``None`` for a constant map (MATLAB would give all NaN; a map constant
    up to rounding would give rounding noise stretched to 0..1: :func:`~asdgaze.metrics._checks.is_constant`).

    ``inplace=True`` overwrites ``a`` (for temporaries the caller owns).
    """
    lo = a.min()
    hi = a.max()
    if not hi > lo or hi - lo <= CONSTANT_RTOL * max(abs(lo), abs(hi)):
        return None
    if inplace:
        a -= lo
        out = a
    else:
        out = a - lo
    out /= hi - lo
    return out


def trapz(x: np.ndarray, y: np.ndarray) -> float:
    """Trapezoid area under y(x), as MATLAB ``trapz(x, y)``."""
    return float(np.dot(np.diff(x), y[:-1] + y[1:]) / 2)


class PreparedSaliency:
    """A float64 saliency map and its derived forms on a ``shape`` grid (cached on first use)."""

    def __init__(self, saliency: np.ndarray, shape: tuple[int, int]) -> None:
        self.original = saliency
        self.shape = tuple(shape)

    @cached_property
    def resized(self) -> np.ndarray:
        """imresize(S, shape); the exact identity (no copy) when the sizes already agree."""
        if self.original.shape == self.shape:
            return self.original
        return imresize(self.original, output_shape=self.shape)

    @cached_property
    def flat(self) -> np.ndarray:
        return self.resized.ravel()

    @cached_property
    def constant(self) -> bool:
        return is_constant(self.flat)

    @cached_property
    def normalized(self) -> np.ndarray | None:
        """minmax(resized), flat; None for a constant map."""
        return minmax(self.flat)

    @cached_property
    def zscore(self) -> np.ndarray | None:
        """(S - mean)/std with the sample std (N-1), as MATLAB ``std``; None if constant."""
        s = self.flat
        # Test constancy directly: the std of a constant map can round to ~1e-17 instead of 0.
        if self.constant:
            return None
        sd = s.std(ddof=1)
        if not sd > 0:  # a spread that underflows (subnormal values) cannot be z-scored
            return None
        return (s - s.mean()) / sd

    @cached_property
    def centered(self) -> tuple[np.ndarray, float]:
        """(S - mean S, sum of squares), for the Pearson correlation."""
        c = self.flat - self.flat.mean()
        return c, float(np.dot(c, c))

    @cached_property
    def kl_model(self) -> np.ndarray:
        """P + eps with P = S/sum(S) (only if S has a nonzero pixel), for KLdiv."""
        s = self.flat
        p = s / s.sum() if np.any(s) else s.copy()
        p += EPS
        return p

    @cached_property
    def probability(self) -> np.ndarray | None:
        """minmax(S)/sum, as SIM and InfoGain use; None if S is constant."""
        n = self.normalized
        if n is None:
            return None
        return n / n.sum()

    def emd_downscaled(self, shape: tuple[int, int]) -> np.ndarray:
        """imresize(S, shape) from the original map (EMD's second resize), cached per shape."""
        cache = self.__dict__.setdefault("_emd_cache", {})
        key = tuple(shape)
        if key not in cache:
            cache[key] = imresize(self.original, output_shape=key)
        return cache[key]

    @cached_property
    def sim_probability(self) -> np.ndarray | None:
        """SIM's P_S: the map itself if all zero (MATLAB leaves it), else :attr:`probability`."""
        return sim_probability(self.flat, self.probability)


def sim_probability(a: np.ndarray, cached: np.ndarray | None = None) -> np.ndarray | None:
    """SIM's probability map of flat ``a`` (``cached``: minmax(a)/sum if already made); None if constant."""
    if not np.any(a):
        return a  # MATLAB leaves an all-zero map as it is
    if cached is not None:
        return cached
    n = minmax(a)
    return None if n is None else n / n.sum()


class PreparedDensity:
    """A continuous fixation map C (checked, 2-D) and what the distribution metrics derive from it alone,
    cached on first use: one group's target on one image is scored against every model, and these parts
    are then computed once, not once per model. The same operations as on a fresh map: the same values."""

    def __init__(self, density: np.ndarray) -> None:
        self.map = density

    @cached_property
    def flat(self) -> np.ndarray:
        return self.map.ravel()

    @cached_property
    def has_mass(self) -> bool:
        return bool(np.any(self.flat))

    @cached_property
    def centered(self) -> tuple[np.ndarray, float] | None:
        """(C - mean C, sum of squares) for CC; None if C is constant."""
        d = self.flat
        if is_constant(d):
            return None
        dc = d - d.mean()
        return dc, float(np.dot(dc, dc))

    @cached_property
    def kl_probability(self) -> np.ndarray:
        """Q = C/sum(C) for KLdiv (C must have mass)."""
        return self.flat / self.flat.sum()

    @cached_property
    def sim_probability(self) -> np.ndarray | None:
        return sim_probability(self.flat)

    def emd_downscaled(self, downsize: int) -> np.ndarray:
        """imresize(C, 1/downsize) (EMD's first step), cached per factor."""
        cache = self.__dict__.setdefault("_emd_cache", {})
        if downsize not in cache:
            cache[downsize] = imresize(self.map, 1.0 / downsize)
        return cache[downsize]

"""ROC-area metrics in the MIT saliency benchmark convention: AUC-Judd, AUC-Borji, shuffled AUC.

Reference: MIT Saliency Benchmark code (cvzoya/saliency, code_forMetrics: AUC_Judd.m,
AUC_Borji.m, AUC_shuffled.m); Bylinskii, Judd, Oliva, Torralba, Durand, "What do different
evaluation metrics tell us about saliency models?", IEEE TPAMI 41(3), 2019.
Spec: ``docs/specs/metrics.md`` sections 3.1-3.3.

Index conventions (for the ``draws`` / ``permutations`` arguments):
    * ``draws`` holds **0-based row-major flat indices** into the (H, W) fixation-map grid, i.e.
      ``row * W + col`` -- the numpy ``ravel()`` order. MATLAB's ``randi`` draws are 1-based
      column-major; convert them with :func:`matlab_to_flat`.
    * ``permutations`` holds **0-based positions in the column-major list of other_map's nonzero
      pixels** (the order of MATLAB ``find(otherMap > 0)``), exactly as AUC_shuffled.m uses them;
      a MATLAB ``randperm`` array converts by subtracting 1.
"""

from __future__ import annotations

import math

import numpy as np

from asdgaze.metrics._checks import bool_map, positive_float, positive_int, real_map
from asdgaze.metrics._prepared import PreparedSaliency, minmax, trapz

__all__ = ["auc_judd", "auc_borji", "auc_shuffled", "matlab_to_flat", "other_candidates"]

_BINS = 1 << 16  # histogram bins for exact threshold counting (power of two: v*_BINS is exact)


def matlab_to_flat(index: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Convert MATLAB 1-based column-major linear indices to 0-based row-major flat indices.

    MATLAB index k addresses row ``(k-1) mod H`` and column ``(k-1) div H`` (0-based); the numpy
    flat index of that pixel is ``row * W + col``.

    Args:
        index: integer array of MATLAB linear indices in 1..H*W (any shape).
        shape: (H, W) of the map they index.

    Returns:
        int64 array of the same shape with values in 0..H*W-1.

    Example:
        >>> matlab_to_flat(np.array([1, 2, 3, 4, 5, 6]), (2, 3)).tolist()
        [0, 3, 1, 4, 2, 5]
    """
    h, w = int(shape[0]), int(shape[1])
    k = np.asarray(index, dtype=np.int64)
    if k.size and (k.min() < 1 or k.max() > h * w):
        raise ValueError(f"matlab_to_flat: indices must lie in 1..{h * w}, got {k.min()}..{k.max()}")
    row, col = np.divmod(k - 1, h)[::-1]
    return row * w + col


def other_candidates(other_map: np.ndarray) -> np.ndarray:
    """Flat (row-major) indices of other_map's nonzero pixels, listed in column-major order.

    This is the candidate list that ``permutations`` index into (MATLAB ``find(otherMap > 0)``).

    Example:
        >>> other_candidates(np.array([[True, False], [True, True]])).tolist()
        [0, 2, 3]
    """
    o = np.asarray(other_map)
    flat = np.flatnonzero(o)  # row-major; re-sort by (column, row) for MATLAB's order
    rows, cols = np.divmod(flat, o.shape[1])
    return flat[np.argsort(cols * o.shape[0] + rows, kind="stable")]


def _count_at_least(v: np.ndarray, th: np.ndarray) -> np.ndarray:
    """#{v >= t} for each t in ``th``; v flat in [0, 1]. Exact, without sorting all of ``v``.

    Pixels are binned by floor(v * 2^16), which is monotone in v. Pixels in bins above a
    threshold's bin count in full; only the few pixels sharing a bin with some threshold are
    sorted and compared exactly.
    """
    b = (v * _BINS).astype(np.int32)
    above_bin = v.size - np.cumsum(np.bincount(b, minlength=_BINS + 1))  # #{bin > k}
    tb = (th * _BINS).astype(np.int32)
    mark = np.zeros(_BINS + 1, dtype=bool)
    mark[tb] = True
    cand = np.sort(v[mark[b]])
    cand_b = (cand * _BINS).astype(np.int32)  # sorted too, since the binning is monotone
    # Candidates with bin <= tb minus those below t: exactly those in bin tb with v >= t.
    same_bin = np.searchsorted(cand_b, tb, side="right") - np.searchsorted(cand, th, side="left")
    return above_bin[tb] + same_bin


def _judd(prep: PreparedSaliency, fix: np.ndarray, jitter: bool, rng: np.random.Generator) -> float:
    n = fix.size
    # A constant map carries no ranking: NaN, as for every other metric. (MATLAB would jitter it and
    # return a random value near 0.5 that looks like a real score.)
    if n == 0 or prep.constant:
        return math.nan
    if jitter:
        # MIT adds U(0,1)/1e7 on the raw scale of S, before min-max, to break ties.
        s = rng.random(prep.flat.size)
        s /= 10000000
        s += prep.flat
        sn = minmax(s, inplace=True)
    else:
        sn = prep.normalized
    if sn is None:
        return math.nan
    npix = sn.size
    if n >= npix:
        return math.nan
    th = np.sort(sn[fix])[::-1]
    above = _count_at_least(sn, th)
    i = np.arange(1, n + 1, dtype=np.float64)
    tp = np.concatenate(([0.0], i / n, [1.0]))
    fp = np.concatenate(([0.0], (above - i) / (npix - n), [1.0]))
    return trapz(fp, tp)


def _split_aucs(pos: np.ndarray, neg: np.ndarray, step: float) -> float:
    """Mean over splits of the ROC area with fixed thresholds 0, step, 2*step, ... (exact decimals).

    pos: (n,) positive values; neg: (n_neg, n_splits) negatives per split, all in [0, 1].
    Thresholds above a split's maximum only add (0, 0) points, i.e. zero area, so one common
    threshold list serves every split.
    """
    n = pos.size
    top = max(float(pos.max()), float(neg.max()))
    k = np.arange(int(math.floor(top / step)) + 2, dtype=np.float64)
    th = np.round(k * step, 12)[::-1]  # descending
    tp = np.concatenate(([0.0], (pos[None, :] >= th[:, None]).sum(axis=1) / n, [1.0]))
    fp_counts = (neg[None, :, :] >= th[:, None, None]).sum(axis=1) / neg.shape[0]
    ones = np.ones((1, neg.shape[1]))
    fp = np.concatenate((0 * ones, fp_counts, ones), axis=0)
    areas = (np.diff(fp, axis=0) * (tp[:-1] + tp[1:])[:, None]).sum(axis=0) / 2
    return float(areas.mean())


def _borji(prep: PreparedSaliency, fix: np.ndarray, draws: np.ndarray, step: float) -> float:
    if fix.size <= 1:
        return math.nan
    sn = prep.normalized
    if sn is None:
        return math.nan
    return _split_aucs(sn[fix], sn[draws], step)


def _shuffled(
    prep: PreparedSaliency, fix: np.ndarray, cand: np.ndarray, perms: np.ndarray, step: float
) -> float:
    if fix.size == 0 or cand.size == 0:
        return math.nan
    sn = prep.normalized
    if sn is None:
        return math.nan
    n_o = min(fix.size, cand.size)
    return _split_aucs(sn[fix], sn[cand[perms[:n_o]]], step)


def borji_draws(n: int, n_pixels: int, n_splits: int, rng: np.random.Generator) -> np.ndarray:
    """Random negatives for AUC-Borji: (n, n_splits) flat indices, uniform with replacement."""
    return rng.integers(0, n_pixels, size=(n, n_splits))


def shuffle_permutations(
    n_candidates: int, n_used: int, n_splits: int, rng: np.random.Generator
) -> np.ndarray:
    """The first ``n_used`` entries of a random permutation of the candidates, per split.

    Returns (n_used, n_splits) positions; each column is drawn without replacement, which is
    the leading part of a uniform random permutation (all that AUC_shuffled.m uses).
    """
    out = np.empty((n_used, n_splits), dtype=np.int64)
    for k in range(n_splits):
        out[:, k] = rng.choice(n_candidates, size=n_used, replace=False)
    return out


def _default_rng(rng: np.random.Generator | None) -> np.random.Generator:
    return np.random.default_rng(0) if rng is None else rng


def auc_judd(
    saliency: np.ndarray,
    fixation_map: np.ndarray,
    *,
    jitter: bool = True,
    rng: np.random.Generator | None = None,
) -> float:
    """AUC-Judd (MIT ``AUC_Judd.m``): ROC area with fixated pixels as thresholds.

    S is resized to the fixation grid (only if the sizes differ), optionally jittered by
    U(0,1)/1e7 on its raw scale, and min-max scaled. With the n fixated-pixel values sorted in
    descending order as thresholds theta_i: ``tp_i = i/n``,
    ``fp_i = (#{S >= theta_i} - i)/(Npix - n)``; the ROC (0,0), (fp_i, tp_i), (1,1) is integrated
    by the trapezoid rule. Negatives are all unfixated pixels.

    Args:
        saliency: (h, w) saliency map, any real dtype (computed in float64).
        fixation_map: (H, W) bool, True where at least one fixation fell.
        jitter: add the MIT tie-breaking jitter (default True). The jitter acts on the raw scale,
            so feed maps in a [0, 1]-like range, never a raw density of ~1e-6 values.
        rng: numpy Generator for the jitter; ``None`` uses ``np.random.default_rng(0)``.

    Returns:
        Score in [0, 1]; NaN for an empty fixation map or a constant saliency map (also with
        jitter on, where the MATLAB code would score the jitter alone).

    Example:
        >>> s = np.array([[0.9, 0.1, 0.5], [0.3, 0.7, 0.2]])
        >>> f = np.array([[True, False, False], [False, True, False]])
        >>> auc_judd(s, f, jitter=False)
        1.0
    """
    f = bool_map(fixation_map, "fixation_map")
    prep = PreparedSaliency(real_map(saliency, "saliency"), f.shape)
    return _judd(prep, np.flatnonzero(f), jitter, _default_rng(rng))


def auc_borji(
    saliency: np.ndarray,
    fixation_map: np.ndarray,
    *,
    n_splits: int = 100,
    step_size: float = 0.1,
    rng: np.random.Generator | None = None,
    draws: np.ndarray | None = None,
) -> float:
    """AUC-Borji (MIT ``AUC_Borji.m``): positives vs uniformly drawn pixels, fixed thresholds.

    S is resized (if sizes differ) and min-max scaled. Positives: S at the n fixated pixels. For
    each split, n negatives are drawn uniformly with replacement from all pixels (fixated ones
    included). Thresholds are ``0, step, 2*step, ...`` up to the split's maximum value, as exact
    decimals (``round(k*step, 12)``), descending; ``tp = #{pos >= t}/n``, ``fp = #{neg >= t}/n``,
    plus (0,0) and (1,1); trapezoid area, averaged over splits.

    Args:
        saliency: (h, w) saliency map.
        fixation_map: (H, W) bool.
        n_splits: number of random splits (ignored when ``draws`` is given).
        step_size: threshold step on the min-max scaled map.
        rng: numpy Generator for the draws; ``None`` uses ``np.random.default_rng(0)``.
        draws: optional (n, n_splits) int array of 0-based row-major flat pixel indices
            (column s = split s), to reproduce given draws; see :func:`matlab_to_flat`.

    Returns:
        Score in [0, 1]; NaN if fewer than two pixels are fixated or S is constant.

    Example:
        >>> s = np.array([[1.0, 0.0], [0.0, 0.0]])
        >>> f = np.array([[True, False], [False, True]])
        >>> auc_borji(s, f, draws=np.array([[1], [2]]))
        0.75
    """
    f = bool_map(fixation_map, "fixation_map")
    prep = PreparedSaliency(real_map(saliency, "saliency"), f.shape)
    step = positive_float(step_size, "step_size")
    fix = np.flatnonzero(f)
    if draws is None:
        draws = borji_draws(fix.size, f.size, positive_int(n_splits, "n_splits"), _default_rng(rng))
    else:
        draws = np.asarray(draws)
        if draws.ndim != 2 or draws.shape[0] != fix.size:
            raise ValueError(f"draws: expected shape ({fix.size}, n_splits), got {draws.shape}")
        if draws.size and (draws.min() < 0 or draws.max() >= f.size):
            raise ValueError(f"draws: flat indices must lie in 0..{f.size - 1}")
    return _borji(prep, fix, draws, step)


def auc_shuffled(
    saliency: np.ndarray,
    fixation_map: np.ndarray,
    other_map: np.ndarray,
    *,
    n_splits: int = 100,
    step_size: float = 0.1,
    rng: np.random.Generator | None = None,
    permutations: np.ndarray | None = None,
) -> float:
    """Shuffled AUC (MIT ``AUC_shuffled.m``): negatives are fixated pixels of other images.

    As :func:`auc_borji`, except: candidate negatives are the nonzero pixels of ``other_map``
    (listed column-major); each split takes the first ``n_o = min(n, #candidates)`` entries of a
    random permutation of them (without replacement inside a split); ``fp = #{neg >= t}/n_o``
    while ``tp`` stays over n.

    Args:
        saliency: (h, w) saliency map.
        fixation_map: (H, W) bool, this image's fixated pixels.
        other_map: (H, W) bool, union of fixations on other images (same group).
        n_splits: number of random splits (ignored when ``permutations`` is given).
        step_size: threshold step on the min-max scaled map.
        rng: numpy Generator for the permutations; ``None`` uses ``np.random.default_rng(0)``.
        permutations: optional (m, n_splits) int array, m >= n_o, of 0-based positions in the
            column-major candidate list (:func:`other_candidates`); MATLAB ``randperm`` - 1.

    Returns:
        Score in [0, 1]; NaN for an empty fixation map, an empty other_map or a constant S.

    Example:
        >>> s = np.array([[1.0, 0.0], [0.5, 0.0]])
        >>> f = np.array([[True, False], [False, False]])
        >>> o = np.array([[False, True], [True, False]])
        >>> auc_shuffled(s, f, o, permutations=np.array([[1], [0]]))
        1.0
    """
    f = bool_map(fixation_map, "fixation_map")
    o = bool_map(other_map, "other_map", f.shape)
    prep = PreparedSaliency(real_map(saliency, "saliency"), f.shape)
    step = positive_float(step_size, "step_size")
    fix = np.flatnonzero(f)
    cand = other_candidates(o)
    if permutations is None:
        permutations = shuffle_permutations(
            cand.size, min(fix.size, cand.size), positive_int(n_splits, "n_splits"), _default_rng(rng)
        )
    else:
        permutations = np.asarray(permutations)
        n_o = min(fix.size, cand.size)
        if permutations.ndim != 2 or permutations.shape[0] < n_o:
            raise ValueError(f"permutations: expected shape (>= {n_o}, n_splits), got {permutations.shape}")
        if permutations.size and (permutations.min() < 0 or permutations.max() >= cand.size):
            raise ValueError(f"permutations: positions must lie in 0..{cand.size - 1}")
    return _shuffled(prep, fix, cand, permutations, step)

"""Saliency metrics in the probabilistic convention (pysaliency 0.2.22, Kümmerer et al.).

Pure, vectorised functions of one image. Fixations are 0-based pixel coordinates ``(x, y)``
(x = column), read at the pixel ``(int(y), int(x))`` as pysaliency does; Saliency4ASD's 1-based
coordinates must be passed as ``x - 1, y - 1``. Coordinates outside ``[0, W) x [0, H)`` raise
(pysaliency would silently wrap a negative index). Duplicated fixations count every time.

Per-fixation values (``*_per_fixation``, :func:`log_likelihoods`, :func:`information_gains`)
exist for every metric that is an average over fixations, so that a group comparison can
re-average them; the scalar function is their mean.

Definitions: ``docs/specs/metrics.md`` section 4; Kümmerer, Wallis & Bethge, "Saliency
benchmarking made easy: separating models, maps and metrics", ECCV 2018.
Metric-specific maps and the whole-image scorer live in :mod:`asdgaze.metrics.prob_scoring`.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy.ndimage import gaussian_filter1d

from asdgaze.metrics._checks import is_constant as _is_constant
from asdgaze.metrics._checks import real_map, same_shape
from asdgaze.metrics.ranks import BinnedValues, below_and_equal

__all__ = [
    "fixation_indices",
    "rescale_fixations",
    "log_likelihoods",
    "log_likelihood",
    "information_gains",
    "information_gain",
    "auc_per_fixation",
    "auc",
    "is_constant",
    "sauc_per_fixation",
    "sauc_per_fixation_of_difference",
    "is_bounded",
    "sauc",
    "auc_judd_fixation_thresholds",
    "nss_per_fixation",
    "nss",
    "cc",
    "kl_div",
    "sim",
    "to_density",
    "has_mass",
    "gaussian_blur",
    "empirical_map",
    "MIT_KL_EPS",
]

#: The regularisation of pysaliency's ``MIT_KLDiv`` (it hard-codes 2.2204e-16, not MATLAB eps).
MIT_KL_EPS = 2.2204e-16

_LN2 = math.log(2.0)


def fixation_indices(
    shape: tuple[int, ...], xs: object, ys: object, name: str = "fixations"
) -> tuple[np.ndarray, np.ndarray]:
    """Integer (row, column) indices of 0-based fixations, truncated as ``int(y), int(x)``.

    Raises:
        ValueError: shapes differ, or a coordinate lies outside ``[0, W) x [0, H)``.

    Example:
        >>> fixation_indices((2, 3), [0.0, 2.9], [1.5, 0.2])
        (array([1, 0]), array([0, 2]))
    """
    x = np.asarray(xs, dtype=np.float64).ravel()
    y = np.asarray(ys, dtype=np.float64).ravel()
    if x.shape != y.shape:
        raise ValueError(f"{name}: {x.size} x coordinates but {y.size} y coordinates")
    h, w = shape[0], shape[1]
    bad = ~((x >= 0) & (x < w) & (y >= 0) & (y < h))
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name}: {int(bad.sum())} point(s) outside the {h}x{w} image, first (x={x[k]}, y={y[k]}) "
                         "(0-based; pass Saliency4ASD's 1-based x, y as x - 1, y - 1)")
    return y.astype(np.intp), x.astype(np.intp)


def rescale_fixations(
    xs: object, ys: object, from_shape: tuple[int, ...], to_shape: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """0-based fixations of an image of ``from_shape`` in the pixel frame of ``to_shape``.

    ``x * (W_to / W_from)``, ``y * (H_to / H_from)``, in that order of operations, as pysaliency's
    shuffled nonfixations; truncation to int happens where the map is read.

    Example:
        >>> rescale_fixations([3.0], [1.0], (4, 8), (8, 4))
        (array([1.5]), array([2.]))
    """
    x = np.asarray(xs, dtype=np.float64) * (to_shape[1] / from_shape[1])
    y = np.asarray(ys, dtype=np.float64) * (to_shape[0] / from_shape[0])
    return x, y


# --- LL and IG ----------------------------------------------------------------------------------


def log_likelihoods(log_density: np.ndarray, xs: object, ys: object) -> np.ndarray:
    """Per-fixation log-likelihood: ``log p(int(y), int(x))``, in nats.

    The absolute value, as pysaliency's ``Model.log_likelihoods`` returns it (not relative to a
    uniform model; that difference is :func:`information_gains` with ``baseline=None``, in bits).

    Args:
        log_density: (H, W) natural-log density (``logsumexp = 0``), float64.
        xs, ys: (N,) 0-based fixation coordinates.

    Returns:
        (N,) float64, nats per fixation.

    Example:
        >>> ld = np.log(np.array([[0.5, 0.25], [0.125, 0.125]]))
        >>> log_likelihoods(ld, [0, 1], [0, 0]).round(6).tolist()
        [-0.693147, -1.386294]
    """
    ld = np.asarray(log_density, dtype=np.float64)
    r, c = fixation_indices(ld.shape, xs, ys)
    return ld[r, c]


def log_likelihood(log_density: np.ndarray, xs: object, ys: object) -> float:
    """Mean of :func:`log_likelihoods` (nats per fixation); NaN without fixations.

    Example:
        >>> round(log_likelihood(np.log(np.full((2, 2), 0.25)), [0, 1], [0, 1]), 6)  # ln(1/4)
        -1.386294
    """
    v = log_likelihoods(log_density, xs, ys)
    return float(v.mean()) if v.size else math.nan


def information_gains(log_density: np.ndarray, baseline: np.ndarray | None, xs: object, ys: object) -> np.ndarray:
    """Per-fixation information gain over a baseline, in bits.

    ``IG_i = (log p(fix_i) - log p_baseline(fix_i)) / ln 2``. ``baseline=None`` is the uniform
    density ``-ln(H W)`` (pysaliency's default ``UniformModel``). No epsilon, no min-max.

    Args:
        log_density: (H, W) natural-log density of the model.
        baseline: (H, W) natural-log density of the baseline, or None for uniform.
        xs, ys: (N,) 0-based fixation coordinates.

    Returns:
        (N,) float64, bits per fixation.

    Example:
        >>> ld = np.log(np.array([[0.5, 0.25], [0.125, 0.125]]))
        >>> information_gains(ld, None, [0, 0], [0, 1]).round(12).tolist()  # log2(0.5*4), log2(0.125*4)
        [1.0, -1.0]
    """
    ld = np.asarray(log_density, dtype=np.float64)
    r, c = fixation_indices(ld.shape, xs, ys)
    if baseline is None:
        base = -math.log(ld.size)
    else:
        b = np.asarray(baseline, dtype=np.float64)
        same_shape(ld, b, "log_density", "baseline")
        base = b[r, c]
    return (ld[r, c] - base) / _LN2


def information_gain(log_density: np.ndarray, baseline: np.ndarray | None, xs: object, ys: object) -> float:
    """Mean of :func:`information_gains` (bits per fixation); NaN without fixations.

    Example:
        >>> round(information_gain(np.log(np.full((2, 2), 0.25)), None, [1], [1]), 12)
        0.0
    """
    v = information_gains(log_density, baseline, xs, ys)
    return float(v.mean()) if v.size else math.nan


# --- AUC family ---------------------------------------------------------------------------------


def _rank_fractions(positives: np.ndarray, negatives: np.ndarray, binned: BinnedValues | None = None) -> np.ndarray:
    """Per positive: ``(#(neg < pos) + 0.5 #(neg == pos)) / #neg`` (exact ROC, ties count 1/2); ``binned``:
    the negatives binned (:class:`~asdgaze.metrics.ranks.BinnedValues`), if the caller keeps them."""
    if positives.size == 0:  # no fixations: no values (their mean is NaN)
        return np.zeros(0)
    if negatives.size == 0:
        return np.full(positives.shape, math.nan)
    u, inv = np.unique(positives, return_inverse=True)
    if negatives.size <= 4 * u.size:  # few negatives: sort them and search the positives instead
        s = np.sort(negatives)
        lo = np.searchsorted(s, u, side="left")
        hi = np.searchsorted(s, u, side="right")
        below, equal = lo, hi - lo
    else:
        below, equal = below_and_equal(negatives, u, binned)
    frac = (below + 0.5 * equal) / negatives.size
    return frac[inv.ravel()]


def auc_per_fixation(saliency: np.ndarray, xs: object, ys: object, *, checked: bool = False,
                     binned: BinnedValues | None = None, constant: bool | None = None) -> np.ndarray:
    """Per-fixation AUC with all pixels as negatives (pysaliency ``AUCs``, ``nonfixations='uniform'``).

    ``AUC_i = (#{pixels with s < s_i} + 0.5 #{pixels with s = s_i}) / (H W)``, where s_i is the
    map at fixation i; fixated pixels are negatives too. Their mean is the exact area under the
    ROC curve over all thresholds. A constant map (:func:`is_constant`) gives 0.5: its rounding noise is no
    ranking.

    Args:
        saliency: (H, W) any real map (only the order matters).
        xs, ys: (N,) 0-based fixation coordinates.
        checked: ``saliency`` is known to be a finite 2-D float64 array (a LogDensity's density): its
            check is not repeated.
        binned: ``BinnedValues.of(saliency)`` if the caller keeps it (one map scored for several groups).
        constant: :func:`is_constant` of the map if the caller knows it (None: tested here).

    Returns:
        (N,) float64 in [0, 1].

    Example:
        >>> s = np.array([[0.0, 1.0], [1.0, 3.0]])
        >>> auc_per_fixation(s, [1, 1], [0, 1]).tolist()  # (1 + 0.5*2)/4, (3 + 0.5)/4
        [0.5, 0.875]
    """
    s = saliency if checked else real_map(saliency, "saliency")
    r, c = fixation_indices(s.shape, xs, ys)
    if is_constant(s) if constant is None else constant:
        return np.full(r.size, 0.5)
    return _rank_fractions(s[r, c], s.ravel(), binned)


def is_constant(a: np.ndarray) -> bool:
    """Whether a map is constant (:func:`asdgaze.metrics._checks.is_constant`: up to a relative tolerance);
    then each fixation's AUC is 0.5 and its NSS 0.

    >>> is_constant(np.full((2, 3), 0.25)), is_constant(np.eye(2)), is_constant(np.array([[1.0, np.nan, 1.0]]))
    (True, False, False)
    """
    return _is_constant(a)


def auc(saliency: np.ndarray, xs: object, ys: object) -> float:
    """Mean of :func:`auc_per_fixation` (the image's AUC); NaN without fixations.

    Example:
        >>> auc(np.ones((3, 3)), [0, 2], [1, 1])
        0.5
    """
    v = auc_per_fixation(saliency, xs, ys)
    return float(v.mean()) if v.size else math.nan


def sauc_per_fixation(saliency: np.ndarray, xs: object, ys: object, other_xs: object, other_ys: object) -> np.ndarray:
    """Per-fixation shuffled AUC: negatives are the given fixations of other images.

    As pysaliency's ``sAUCs`` (``nonfixations='shuffled'``): the caller passes all fixations of
    all other images, already rescaled to this image's size (``x * W_this / W_other``, same for
    y); they are truncated to int here. Duplicates are kept, no subsampling, no splits; exact
    ROC with ties counted 1/2.

    Args:
        saliency: (H, W) any real map.
        xs, ys: (N,) 0-based fixations on this image (positives).
        other_xs, other_ys: (M,) 0-based negatives in this image's pixel frame.

    Returns:
        (N,) float64 in [0, 1]; NaN when M = 0.

    Example:
        >>> s = np.array([[0.0, 1.0], [2.0, 3.0]])
        >>> sauc_per_fixation(s, [1], [1], [0, 1, 1], [0, 0, 1]).tolist()  # (2 + 0.5)/3
        [0.8333333333333334]
    """
    s = real_map(saliency, "saliency")
    r, c = fixation_indices(s.shape, xs, ys)
    nr, nc = fixation_indices(s.shape, other_xs, other_ys, name="other images' fixations")
    if nr.size and is_constant(s):  # rounding noise is no ranking: every pair ties
        return np.full(r.size, 0.5)
    return _rank_fractions(s[r, c], s[nr, nc])


def sauc_per_fixation_of_difference(a: np.ndarray, b: np.ndarray, xs: object, ys: object, other_xs: object,
                                    other_ys: object, bounded: bool | None = None) -> np.ndarray:
    """``sauc_per_fixation(a - b, ...)`` (the metric-specific map ``log p - log p_shuffled``), subtracting
    only at the pixels it reads: each value is the same single subtraction.

    The whole map a - b is formed (and checked, with the same error) only where it might not be finite:
    unless ``bounded`` (or, if None, a check here) says that both maps are finite and below 1e300 in
    magnitude, so that their difference is finite everywhere.

    Example:
        >>> a, b = np.array([[0.0, 1.0], [2.0, 3.0]]), np.ones((2, 2))
        >>> sauc_per_fixation_of_difference(a, b, [1], [1], [0, 1, 1], [0, 0, 1]).tolist()
        [0.8333333333333334]
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if bounded is None:
        bounded = a.ndim == 2 and a.shape == b.shape and is_bounded(a) and is_bounded(b)
    if not bounded:
        return sauc_per_fixation(a - b, xs, ys, other_xs, other_ys)
    r, c = fixation_indices(a.shape, xs, ys)
    nr, nc = fixation_indices(a.shape, other_xs, other_ys, name="other images' fixations")
    return _rank_fractions(a[r, c] - b[r, c], a[nr, nc] - b[nr, nc])


def is_bounded(a: np.ndarray, limit: float = 1e300) -> bool:
    """Whether a non-empty map is finite with every value below ``limit`` in magnitude (False with NaN).

    >>> is_bounded(np.zeros((2, 2))), is_bounded(np.array([[0.0, -np.inf]])), is_bounded(np.zeros((0, 2)))
    (True, False, False)
    """
    a = np.asarray(a)
    return bool(a.size and -limit < a.min() and a.max() < limit)


def sauc(saliency: np.ndarray, xs: object, ys: object, other_xs: object, other_ys: object) -> float:
    """Mean of :func:`sauc_per_fixation`; NaN without fixations or without negatives.

    Example:
        >>> sauc(np.array([[0.0, 1.0]]), [1], [0], [0], [0])
        1.0
    """
    v = sauc_per_fixation(saliency, xs, ys, other_xs, other_ys)
    return float(v.mean()) if v.size else math.nan


def auc_judd_fixation_thresholds(saliency: np.ndarray, xs: object, ys: object) -> float:
    """pysaliency's Judd-style AUC without noise (``AUC_per_image(nonfixations='unfixated',
    thresholds='fixations')``): a reference value, not the MIT AUC-Judd.

    Negatives: the unfixated pixels. Thresholds: every positive value (duplicates included, they
    add no area), plus the sentinels ``max + 1`` and the global minimum. ROC points
    ``(#neg >= t / #neg, #pos >= t / #pos)`` from (0, 0), joined by the trapezoid rule.

    Args:
        saliency: (H, W) any real map.
        xs, ys: (N,) 0-based fixations.

    Returns:
        AUC in [0, 1]; NaN without fixations or without unfixated pixels.

    Example:
        >>> s = np.array([[0.0, 1.0], [2.0, 3.0]])
        >>> auc_judd_fixation_thresholds(s, [1], [1])  # ROC (0,0) (0,1) (1,1)
        1.0
    """
    s = real_map(saliency, "saliency")
    r, c = fixation_indices(s.shape, xs, ys)
    if r.size == 0:
        return math.nan
    fixated = np.zeros(s.shape, dtype=bool)
    fixated[r, c] = True
    pos = s[r, c]
    neg = s[~fixated]
    if neg.size == 0:
        return math.nan
    thr = np.unique(np.concatenate([pos, [max(pos.max(), neg.max()) + 1.0, min(pos.min(), neg.min())]]))
    below_neg, _ = below_and_equal(neg, thr)
    below_pos, _ = below_and_equal(pos, thr)
    # Descending thresholds give the ROC from (0, 0); counts of values >= t.
    fp = (neg.size - below_neg[::-1]) / neg.size
    tp = (pos.size - below_pos[::-1]) / pos.size
    fp = np.concatenate([[0.0], fp])
    tp = np.concatenate([[0.0], tp])
    return float(np.sum(np.diff(fp) * (tp[1:] + tp[:-1]) / 2.0))


# --- NSS ----------------------------------------------------------------------------------------


def nss_per_fixation(saliency: np.ndarray, xs: object, ys: object,
                     moments: tuple[float, float] | None = None, *, checked: bool = False) -> np.ndarray:
    """Per-fixation NSS: ``(s_i - mean s) / std s`` with the population std (ddof 0).

    As pysaliency's ``metrics.NSS``: a constant map is only centred (all zeros), not NaN; a map constant up
    to rounding (:func:`is_constant`) too, where pysaliency would divide rounding by rounding (the uniform
    density of an 800x600 image gave 1.0). ``checked``: as for :func:`auc_per_fixation`.

    Example:
        >>> s = np.array([[0.0, 1.0], [2.0, 3.0]])
        >>> nss_per_fixation(s, [1, 1], [1, 1]).round(6).tolist()  # 1.5 / sqrt(1.25), twice
        [1.341641, 1.341641]
    """
    s = saliency if checked else real_map(saliency, "saliency")
    r, c = fixation_indices(s.shape, xs, ys)
    mean, std = map_moments(s) if moments is None else moments
    if not std:
        return np.zeros(r.size)
    return (s[r, c] - mean) / std


def map_moments(s: np.ndarray) -> tuple[float, float]:
    """(mean, population std) of a map, the std 0 for a constant map (:func:`is_constant`): NSS's per-map
    part (``moments=`` of :func:`nss_per_fixation`)."""
    return s.mean(), 0.0 if is_constant(s) else s.std()


def nss(saliency: np.ndarray, xs: object, ys: object) -> float:
    """Mean of :func:`nss_per_fixation` (standard deviations); NaN without fixations.

    Example:
        >>> round(nss(np.array([[0.0, 1.0], [2.0, 3.0]]), [0], [0]), 6)
        -1.341641
    """
    v = nss_per_fixation(saliency, xs, ys)
    return float(v.mean()) if v.size else math.nan


# --- map-based: CC, KL, SIM ---------------------------------------------------------------------


def cc(saliency: np.ndarray, empirical: np.ndarray) -> float:
    """Pearson correlation of two maps over all pixels (pysaliency ``metrics.CC``).

    ``CC = sum(a' b') / sqrt(sum(a'^2) sum(b'^2))`` with a' = a - mean a, b' likewise.
    If only ``saliency`` is constant the result is 0.0; if ``empirical`` is constant, NaN.

    Args:
        saliency: (H, W) model map.
        empirical: (H, W) empirical (blurred fixation) map.

    Example:
        >>> cc(np.array([[0.0, 1.0], [2.0, 3.0]]), np.array([[0.0, 2.0], [4.0, 6.0]]))
        1.0
        >>> cc(np.ones((2, 2)), np.array([[0.0, 1.0], [0.0, 0.0]]))
        0.0
    """
    a = real_map(saliency, "saliency")
    b = real_map(empirical, "empirical")
    same_shape(a, b, "saliency", "empirical")
    return cc_centered(centered(a), centered(b))


def centered(a: np.ndarray) -> tuple[np.ndarray, float]:
    """``(ravel(a - mean a), sum of its squares)``: CC's per-map part, reusable across CC calls.

    ``ravel`` is taken once (a blurred map is Fortran-ordered, so each ravel copies). A constant map
    (:func:`is_constant`) has sum of squares 0: its rounding is no spread."""
    flat = (a - a.mean()).ravel()
    return flat, 0.0 if is_constant(a) else float(np.dot(flat, flat))


def cc_centered(a: tuple[np.ndarray, float], b: tuple[np.ndarray, float]) -> float:
    """:func:`cc` from two :func:`centered` maps of the same shape."""
    (af, saa), (bf, sbb) = a, b
    if sbb == 0.0:
        return math.nan
    if saa == 0.0:
        return 0.0
    r = float(np.dot(af, bf)) / math.sqrt(saa * sbb)
    return max(-1.0, min(1.0, r))  # as np.corrcoef, clip rounding past +-1


def to_density(saliency: np.ndarray, minimum_value: float = 0.0) -> np.ndarray:
    """A map as a density, as pysaliency converts one: shift a negative minimum to 0, add
    ``minimum_value``, divide by the sum; a zero-sum map becomes uniform. No min-max.

    Example:
        >>> to_density(np.array([[-1.0, 1.0]])).tolist()
        [[0.0, 1.0]]
    """
    s = real_map(saliency, "saliency")
    m = s.min()
    if m < 0:
        s = s - m
    if minimum_value:
        s = s + minimum_value
    total = s.sum()
    if total:
        return s / total
    return np.full(s.shape, 1.0 / s.size)


def kl_div(saliency: np.ndarray, empirical: np.ndarray, *, minimum_value: float = 0.0,
           log_regularization: float = MIT_KL_EPS, quotient_regularization: float = MIT_KL_EPS) -> float:
    """Image-based KL divergence KL(empirical || model), in nats (pysaliency
    ``image_based_kl_divergence``); lower is better.

    Both maps become densities with :func:`to_density` (``minimum_value``); then
    ``KL = sum Q ln(log_reg + Q / (P + quot_reg))`` with Q the empirical and P the model density,
    or ``sum Q (ln Q - ln P)`` when both regularisations are 0. The defaults are
    pysaliency's ``MIT_KLDiv`` (the Tübingen/MIT benchmark setting): minimum_value 0,
    both regularisations 2.2204e-16. Pixels with Q = 0 contribute 0. An all-zero empirical map
    (no fixations) gives NaN, where pysaliency would score against the uniform density.

    Example:
        >>> q = np.array([[0.5, 0.5]])
        >>> kl_div(q, q) < 1e-12
        True
        >>> round(kl_div(np.array([[0.25, 0.75]]), q, log_regularization=0, quotient_regularization=0), 6)
        0.143841
    """
    p = to_density(saliency, minimum_value)
    q = to_density(empirical, minimum_value)
    same_shape(p, q, "saliency", "empirical")
    if not has_mass(empirical):
        return math.nan
    return kl_densities(p, q, log_regularization, quotient_regularization)


def kl_densities(p: np.ndarray, q: np.ndarray, log_regularization: float = MIT_KL_EPS,
                 quotient_regularization: float = MIT_KL_EPS) -> float:
    """:func:`kl_div` from the two :func:`to_density` maps (model ``p``, empirical ``q``)."""
    if log_regularization > 0:
        # Q = 0 gives 0 * ln(log_reg + 0) = 0 here, so no mask is needed; in place for speed.
        # C order whatever p's layout (a blurred map is Fortran-ordered): the same values, and
        # t.ravel() below needs no copy
        t = np.add(p, quotient_regularization, order="C")
        np.divide(q, t, out=t)
        t += log_regularization
        with np.errstate(divide="ignore"):
            np.log(t, out=t)
        return float(np.dot(q.ravel(), t.ravel()))
    nz = q > 0
    qn = q[nz]
    with np.errstate(divide="ignore"):
        if quotient_regularization:
            terms = qn * np.log(qn / (p[nz] + quotient_regularization))
        else:
            terms = qn * (np.log(qn) - np.log(p[nz]))
    return float(terms.sum())


def sim(saliency: np.ndarray, empirical: np.ndarray) -> float:
    """Histogram intersection ``sum min(P, Q)`` of the two densities (pysaliency ``metrics.SIM``).

    Densities by :func:`to_density` with minimum_value 0: **no min-max**, unlike MIT SIM. An
    all-zero empirical map (no fixations) gives NaN, as in :func:`kl_div`.

    Example:
        >>> sim(np.array([[1.0, 3.0]]), np.array([[1.0, 1.0]]))
        0.75
    """
    p = to_density(saliency)
    q = to_density(empirical)
    same_shape(p, q, "saliency", "empirical")
    if not has_mass(empirical):
        return math.nan
    return sim_densities(p, q)


def has_mass(empirical: np.ndarray) -> bool:
    """False for an all-zero empirical map (no fixations): :func:`to_density` would make it uniform
    and KL and SIM would score the model against that, a plausible number for nothing.

    >>> has_mass(np.zeros((2, 2))), has_mass(np.eye(2))
    (False, True)
    """
    return bool(np.any(np.asarray(empirical)))


def sim_densities(p: np.ndarray, q: np.ndarray) -> float:
    """:func:`sim` from the two :func:`to_density` maps."""
    return float(np.minimum(p, q).sum())


# --- Gaussian blur and the empirical map --------------------------------------------------------


@lru_cache(maxsize=16)
def _blur_matrix(n: int, sigma: float, mode: str, truncate: float) -> np.ndarray:
    """(n, n) matrix G with ``G @ v == gaussian_filter1d(v, sigma, mode=mode, truncate=truncate)``.

    G is ``gaussian_filter1d(np.eye(n), ...)``. With zero padding ("constant") column j is the response
    to a delta at j: the kernel's weights themselves (each output sums one weight times 1 and zeros,
    exactly), so G is the Toeplitz matrix of one delta's response, gathered instead of filtering n
    columns (~70 ms at n = 1024; the same numbers). Other modes fold weights at the borders: filtered.
    """
    if mode == "constant":
        delta = np.zeros(2 * n - 1)
        delta[n - 1] = 1.0
        u = gaussian_filter1d(delta, sigma, mode=mode, truncate=truncate)
        i = np.arange(n)
        g = u[(n - 1) + i[:, None] - i[None, :]]  # G[i, j] = response at i to a delta at j
    else:
        g = gaussian_filter1d(np.eye(n), sigma, axis=0, mode=mode, truncate=truncate)
    g.setflags(write=False)
    return g


_BAND_BLOCK = 96  # rows per block of the banded product (fastest of 64-192 at 768x1024, sigma 43)


@lru_cache(maxsize=16)
def _blur_blocks(n: int, sigma: float, mode: str, truncate: float) -> tuple[tuple[int, int, int, int], ...]:
    """Row blocks of the blur matrix with the column range holding their nonzero weights.

    The truncated Gaussian is banded (half-width truncate * sigma), so each block of output rows
    reads only a slice of the input: about half the work of the dense product at sigma 43.
    """
    g = _blur_matrix(n, sigma, mode, truncate)
    blocks = []
    for r0 in range(0, n, _BAND_BLOCK):
        r1 = min(n, r0 + _BAND_BLOCK)
        nz = np.flatnonzero(np.any(g[r0:r1] != 0, axis=0))
        blocks.append((r0, r1, int(nz[0]), int(nz[-1]) + 1) if nz.size else (r0, r1, 0, 0))
    return tuple(blocks)


def _blur_axis0(a: np.ndarray, sigma: float, mode: str, truncate: float) -> np.ndarray:
    g = _blur_matrix(a.shape[0], sigma, mode, truncate)
    out = np.zeros((a.shape[0], a.shape[1]))
    for r0, r1, c0, c1 in _blur_blocks(a.shape[0], sigma, mode, truncate):
        if c1 > c0:
            np.matmul(g[r0:r1, c0:c1], a[c0:c1], out=out[r0:r1])
    return out


def gaussian_blur(values: np.ndarray, sigma: float, mode: str = "constant", truncate: float = 4.0) -> np.ndarray:
    """``scipy.ndimage.gaussian_filter(values, sigma, mode=mode, truncate=truncate)`` as banded
    matrix products with cached filter matrices: at sigma 43 on 768x1024 several times faster
    than the direct 345-tap filter, and equal up to rounding.

    Example:
        >>> from scipy.ndimage import gaussian_filter
        >>> a = np.random.default_rng(0).random((200, 130))
        >>> want = gaussian_filter(a, 3.0, mode="reflect")
        >>> bool(np.allclose(gaussian_blur(a, 3.0, "reflect"), want, rtol=0, atol=1e-14))
        True
    """
    a = np.asarray(values, dtype=np.float64)
    sigma, truncate = float(sigma), float(truncate)
    rows = _blur_axis0(a, sigma, mode, truncate)
    return _blur_axis0(rows.T, sigma, mode, truncate).T


def empirical_map(shape: tuple[int, int], xs: object, ys: object, sigma: float, mode: str = "reflect",
                  truncate: float = 4.0) -> np.ndarray:
    """Fixation counts (duplicates add up) blurred by a Gaussian, as pysaliency's ``FixationMap``
    with ``kernel_size=sigma`` (``gaussian_filter``, default ``mode='reflect'``).

    Computed as ``Gy[:, rows] @ Gx[:, cols].T`` over the fixations, without building the count map.

    Example:
        >>> from scipy.ndimage import gaussian_filter
        >>> counts = np.zeros((9, 11)); counts[4, 5] = 2; counts[0, 10] = 1
        >>> bool(np.allclose(empirical_map((9, 11), [5, 5, 10], [4, 4, 0], 2.0),
        ...                  gaussian_filter(counts, 2.0, mode="reflect"), rtol=0, atol=1e-15))
        True
    """
    r, c = fixation_indices(shape, xs, ys)
    gy = _blur_matrix(int(shape[0]), float(sigma), mode, float(truncate))
    gx = _blur_matrix(int(shape[1]), float(sigma), mode, float(truncate))
    return gy[:, r] @ gx[:, c].T

"""Exact counts of a map's values below and equal to a few thresholds: the AUC's rank fractions.

For a map of non-negative finite float64 values (a density), the IEEE bit patterns read as integers are in
the order of the values, so one pass bins every pixel by the top bits of (bits - smallest bits) and a
cumulative histogram counts the pixels of every lower bin at once; only the few pixels that share a bin
with some threshold are sorted and compared with it. The counts are integers, so they equal those of a
binary search of every pixel (:func:`searched_below_and_equal`), which serves any other input. The binning
depends on the map alone: :class:`BinnedValues` is made once per map and serves every group's thresholds.
"""

from __future__ import annotations

import numpy as np

__all__ = ["BinnedValues", "below_and_equal", "searched_below_and_equal"]

_INF_BITS = int(np.array(np.inf).view(np.int64))
_BIN_BITS = 16  # at most 2**16 + 1 bins
_MIN_SIZE = 1 << 15  # smaller arrays: the binary search is as fast


def searched_below_and_equal(values: np.ndarray, thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For sorted unique ``thresholds`` t_i: counts of ``values`` < t_i and == t_i.

    One binary search per value into the short threshold list, so a 768x1024 map against a few
    hundred fixations costs one pass over the map (no sort of the map).
    """
    k = thresholds.size
    j = np.searchsorted(thresholds, values, side="left")  # number of thresholds < v
    jc = np.minimum(j, k - 1)
    eq = (j < k) & (thresholds[jc] == values)
    n_eq = np.bincount(j[eq], minlength=k)[:k]
    # v < t_i  <=>  j <= i and not (v == t_i): cumulative count of j, minus the ties.
    n_le_index = np.cumsum(np.bincount(j, minlength=k + 1)[:k])
    return n_le_index - n_eq, n_eq


def _bits(a: np.ndarray) -> np.ndarray | None:
    """The int64 bit patterns of float64 ``a`` when all are finite and non-negative without -0.0 (then
    they order as the values, and equal values have equal bits); else None."""
    if a.dtype != np.float64 or a.ndim != 1 or not a.size:
        return None
    b = a.view(np.int64)
    return b if int(b.min()) >= 0 and int(b.max()) < _INF_BITS else None


class BinnedValues:
    """A flat map's values binned by their bit patterns (see the module docstring); None from :meth:`of`
    when they are not all finite and non-negative (then :func:`searched_below_and_equal` serves)."""

    def __init__(self, values: np.ndarray, bits: np.ndarray) -> None:
        self.values = values
        lo, hi = int(bits.min()), int(bits.max())
        self.lo = lo
        self.shift = max(0, (hi - lo).bit_length() - _BIN_BITS)
        self.n_bins = ((hi - lo) >> self.shift) + 1
        self.key = bits - lo
        self.key >>= self.shift
        self.below_bin = np.zeros(self.n_bins + 1, dtype=np.int64)  # [b]: values in bins below b
        np.cumsum(np.bincount(self.key, minlength=self.n_bins), out=self.below_bin[1:])

    @classmethod
    def of(cls, values: np.ndarray) -> "BinnedValues | None":
        v = np.ascontiguousarray(values).ravel()
        bits = _bits(v)
        return None if bits is None else cls(v, bits)

    def below_and_equal(self, thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """:func:`searched_below_and_equal` of these values (None for thresholds that are not all finite
        and non-negative)."""
        tb = _bits(np.asarray(thresholds))
        if tb is None:
            return None
        tk = np.clip((tb - self.lo) >> self.shift, -1, self.n_bins)  # -1 / n_bins: below / above every value
        inside = (tk >= 0) & (tk < self.n_bins)
        mark = np.zeros(self.n_bins, dtype=bool)
        mark[tk[inside]] = True
        cand = np.sort(self.values[mark[self.key]])  # the values sharing a bin with some threshold
        cand_key = (cand.view(np.int64) - self.lo) >> self.shift
        left = np.searchsorted(cand, thresholds, side="left")
        right = np.searchsorted(cand, thresholds, side="right")
        tkc = np.clip(tk, 0, self.n_bins)
        # lower bins in full, plus the candidates of t's own bin below t
        below = self.below_bin[tkc] + left - np.searchsorted(cand_key, tkc, side="left")
        return below, right - left


def below_and_equal(values: np.ndarray, thresholds: np.ndarray,
                    binned: BinnedValues | None = None) -> tuple[np.ndarray, np.ndarray]:
    """For sorted unique ``thresholds`` t_i: counts of ``values`` < t_i and == t_i, exactly.

    ``binned``: :class:`BinnedValues` of these same ``values``, when the caller keeps one.

    >>> below_and_equal(np.array([0.0, 0.5, 0.5, 2.0]), np.array([0.5, 3.0]))
    (array([1, 4]), array([2, 0]))
    """
    if binned is None and values.size >= _MIN_SIZE:
        binned = BinnedValues.of(values)
    counts = None if binned is None else binned.below_and_equal(thresholds)
    return counts if counts is not None else searched_below_and_equal(values, thresholds)

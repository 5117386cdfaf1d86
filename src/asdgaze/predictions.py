"""Typed model predictions: a natural-log density or a saliency map, never confused.

- :class:`LogDensity`: ``log p`` over the pixels of one image, natural log, with
  ``logsumexp(log p) = 0`` within a tolerance. Only a log-density can be scored by the
  probabilistic LL and IG (metrics.md section 4.1-4.2); it can also be scored as a saliency map.
- :class:`SaliencyMap`: any real map whose *order* (or monotone scale) carries the prediction.
  It has no probabilistic meaning, so it cannot give LL or IG.

Conversion rules (explicit, one direction only):

- ``LogDensity.density()``: ``exp(log p)``, sums to 1.
- ``LogDensity.as_saliency()``: ``exp(log p - max log p)``, the density divided by its maximum,
  in (0, 1]. This is what :func:`asdgaze.maps.io.load_map` gives the MIT metrics: every MIT
  metric is invariant to the positive scale except AUC-Judd's 1e-7 jitter, which acts on the
  map's own scale and would reorder the pixels of a raw density (values near 1e-6).
- A ``SaliencyMap`` never becomes a ``LogDensity`` (:func:`require_log_density` raises).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

import numpy as np
from scipy.special import logsumexp

from asdgaze.errors import MapError

__all__ = ["LogDensity", "SaliencyMap", "Prediction", "require_log_density", "checked_log_density",
           "resize_density", "log_density_of", "LOGSUMEXP_TOL"]

#: The one tolerance on |logsumexp(log p)| of everything read or made as a log-density (maps, templates,
#: priors, predictor outputs). DeepGaze computes in float32; its log-densities sum to 1 within about 1e-6,
#: and a float16 ``.npy`` within about 1e-4. A larger offset means the array is not a normalised log-density.
LOGSUMEXP_TOL = 1e-3
# |logsumexp| below which subtracting it leaves a log-density normalised within 1e-9 (LogDensity.normalized)
_SHIFT_EXACT = 2.0 ** 20


def _frozen_2d(values: object, what: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 2 or arr.size == 0:
        raise MapError(f"{what}: expected a non-empty 2-D (H, W) array, got shape {arr.shape}")
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)) or arr.dtype == np.bool_:
        raise MapError(f"{what}: expected real numbers, got dtype {arr.dtype}")
    arr = np.array(arr, dtype=np.float64)  # a private copy, so freezing it freezes nobody else's data
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class LogDensity:
    """A natural-log density over the pixels of one image (float64, read-only).

    Args:
        values: (H, W) log p; ``-inf`` is allowed (zero density), NaN and ``+inf`` are not.
        tol: allowed |logsumexp(values)|; use :meth:`normalized` to renormalise instead.

    Raises:
        MapError: wrong shape or dtype, NaN / +inf, all ``-inf``, or not normalised within ``tol``.

    Example:
        >>> ld = LogDensity(np.log(np.full((2, 2), 0.25)))
        >>> ld.shape, float(ld.density().sum())
        ((2, 2), 1.0)
        >>> ld.as_saliency().values.tolist()
        [[1.0, 1.0], [1.0, 1.0]]
    """

    values: np.ndarray
    tol: float = LOGSUMEXP_TOL

    def __post_init__(self) -> None:
        arr = _frozen_2d(self.values, "log-density")
        if np.isnan(arr).any() or (arr == np.inf).any():
            raise MapError("log-density: contains NaN or +inf")
        if not np.isfinite(arr.max()):
            raise MapError("log-density: no finite value (all -inf)")
        lse = float(logsumexp(arr))
        if not abs(lse) <= self.tol:
            raise MapError(f"log-density: does not sum to 1 (logsumexp = {lse:.3g}, tolerance {self.tol:g}); "
                           "use LogDensity.normalized() to renormalise")
        object.__setattr__(self, "values", arr)

    @classmethod
    def normalized(cls, log_values: object) -> "LogDensity":
        """Build from any finite-max log map by subtracting its logsumexp (e.g. after a resize)."""
        arr = _frozen_2d(log_values, "log-density")
        if np.isnan(arr).any() or (arr == np.inf).any() or not np.isfinite(arr.max()):
            raise MapError("log-density: contains NaN or +inf, or has no finite value")
        lse = float(logsumexp(arr))
        if abs(lse) < _SHIFT_EXACT:
            # The terms that count lie within ~750 of the maximum, so subtracting lse moves each by less
            # than 1e-13 and lse itself is off by under 1e-9: the result's logsumexp is 0 within 1e-9,
            # far inside any tolerance, and checking it again would only repeat the work.
            return cls._trusted(arr - lse)
        return cls(arr - lse)

    @classmethod
    def _trusted(cls, values: np.ndarray) -> "LogDensity":
        """A LogDensity of ``values`` (float64 (H, W), owned by the caller, passing every check of
        ``__post_init__`` by construction), without running the checks or copying."""
        obj = object.__new__(cls)
        values.setflags(write=False)
        object.__setattr__(obj, "values", values)
        object.__setattr__(obj, "tol", LOGSUMEXP_TOL)
        return obj

    @property
    def shape(self) -> tuple[int, int]:
        return self.values.shape  # type: ignore[return-value]

    def density(self) -> np.ndarray:
        """``exp(log p)``: a float64 probability map that sums to 1 (within ``tol``)."""
        return np.exp(self.values)

    def as_saliency(self) -> "SaliencyMap":
        """The density divided by its maximum, for saliency-map metrics (see module docstring)."""
        return SaliencyMap(np.exp(self.values - self.values.max()))


@dataclass(frozen=True, eq=False)
class SaliencyMap:
    """A saliency map on any monotone scale (float64, read-only, finite).

    It carries no probabilities: LL and IG refuse it (:func:`require_log_density`).

    Example:
        >>> SaliencyMap([[0, 3], [1, 2]]).values.dtype
        dtype('float64')
    """

    values: np.ndarray

    def __post_init__(self) -> None:
        arr = _frozen_2d(self.values, "saliency map")
        if not np.isfinite(arr).all():
            raise MapError("saliency map: contains NaN or inf")
        object.__setattr__(self, "values", arr)

    @property
    def shape(self) -> tuple[int, int]:
        return self.values.shape  # type: ignore[return-value]

    def as_saliency(self) -> "SaliencyMap":
        return self


Prediction = Union[LogDensity, SaliencyMap]


def require_log_density(pred: Prediction, metric: str) -> LogDensity:
    """Return ``pred`` if it is a :class:`LogDensity`, else raise naming the metric.

    Example:
        >>> require_log_density(SaliencyMap([[1.0, 2.0]]), "ig")
        Traceback (most recent call last):
        ...
        asdgaze.errors.MapError: ig needs a log-density (--maps-kind log-density); a saliency map has no probabilities
    """
    if isinstance(pred, LogDensity):
        return pred
    raise MapError(f"{metric} needs a log-density (--maps-kind log-density); a saliency map has no probabilities")


def checked_log_density(values: object) -> LogDensity:
    """A predictor's output as a LogDensity: checked, and renormalised only where rounding left it outside
    :data:`LOGSUMEXP_TOL` (a predictor's densities are normalised by construction); a LogDensity as it is."""
    if isinstance(values, LogDensity):
        return values
    try:
        return LogDensity(values)
    except MapError:
        return LogDensity.normalized(values)


def log_density_of(p: np.ndarray) -> LogDensity:
    """``checked_log_density(np.log(p))`` for a probability map ``p`` that is normalised by construction
    (a fitted baseline's), with a cheaper check: when p is non-negative and sums to 1 within 1e-9, log p
    has no NaN or +inf and its logsumexp is within ~1e-9 of 0 (exp(log p) = p within 1e-13 relative), so
    every check of :class:`LogDensity` passes and none is run. Any other ``p`` is checked as before."""
    arr = np.asarray(p)
    if (arr.ndim == 2 and arr.size and arr.dtype == np.float64 and arr.min() >= 0
            and abs(float(arr.sum()) - 1.0) <= 1e-9):
        return LogDensity._trusted(np.log(arr))
    return checked_log_density(np.log(arr))


def resize_density(d: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A density resampled to ``shape`` (bilinear, pixel-area aligned) and renormalised.

    >>> float(resize_density(np.full((2, 2), 0.25), (4, 4)).sum())
    1.0
    """
    from scipy.ndimage import zoom

    if d.shape == tuple(shape):
        return d
    z = zoom(d, (shape[0] / d.shape[0], shape[1] / d.shape[1]), order=1, mode="nearest", grid_mode=True)
    if z.shape != tuple(shape):  # zoom rounds the output size; never expected with exact factors
        raise ValueError(f"resampling {d.shape} to {tuple(shape)} gave {z.shape}")
    z = np.maximum(z, 0.0)
    return z / z.sum()

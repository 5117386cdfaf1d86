"""Input checks shared by every metric: shapes, dtypes and finiteness, with clear messages."""

from __future__ import annotations

import numpy as np


def real_map(a: object, name: str) -> np.ndarray:
    """Return ``a`` as a finite 2-D float64 array, or raise naming the argument and the problem."""
    arr = np.asarray(a)
    if arr.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D (H, W) map, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name}: empty map of shape {arr.shape}")
    if arr.dtype == np.bool_ or not (
        np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)
    ):
        raise TypeError(f"{name}: expected a real-valued map, got dtype {arr.dtype}")
    # Integer maps are converted to double first: MATLAB's uint8 arithmetic breaks the MIT code.
    arr = np.asarray(arr, dtype=np.float64)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name}: contains NaN or infinite values")
    return arr


#: A map whose values span at most this fraction of their largest magnitude is constant, in every metric
#: of both conventions: float32 maps carry ~6e-8 of rounding per operation, and a mean of a constant map
#: rounds (the std of a constant 800x600 density came out as 4e-22, and its NSS as 1.0).
CONSTANT_RTOL = 1e-6


def is_constant(a: np.ndarray) -> bool:
    """Whether a map is constant up to :data:`CONSTANT_RTOL` of its largest magnitude (an all-zero map is);
    False with NaN.

    >>> is_constant(np.full((2, 3), 0.25)), is_constant(np.eye(2)), is_constant(np.array([[1.0, np.nan, 1.0]]))
    (True, False, False)
    >>> is_constant(np.array([[1.0, 1.0 + 1e-12]])), is_constant(np.array([[1.0, 1.0 + 1e-3]]))
    (True, False)
    """
    flat = np.asarray(a).ravel()
    lo, hi = flat.min(), flat.max()
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return False
    return bool(hi - lo <= CONSTANT_RTOL * max(abs(lo), abs(hi)))


def bool_map(a: object, name: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """Return ``a`` as a 2-D bool array (optionally of a given shape), or raise."""
    arr = np.asarray(a)
    if arr.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D (H, W) map, got shape {arr.shape}")
    if arr.dtype != np.bool_:
        raise TypeError(
            f"{name}: expected a bool fixation map, got dtype {arr.dtype} "
            "(convert with `map > 0`; a 0/255 PNG must not be used as counts)"
        )
    if shape is not None and arr.shape != tuple(shape):
        raise ValueError(f"{name}: shape {arr.shape} does not match the fixation map {tuple(shape)}")
    return arr


def same_shape(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    """Raise if two maps that must share a pixel grid do not."""
    if a.shape != b.shape:
        raise ValueError(f"{name_a} has shape {a.shape} but {name_b} has shape {b.shape}")


def positive_int(v: object, name: str) -> int:
    """Return ``v`` as a positive int, or raise."""
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or int(v) < 1:
        raise ValueError(f"{name}: expected a positive integer, got {v!r}")
    return int(v)


def positive_float(v: object, name: str) -> float:
    """Return ``v`` as a positive finite float, or raise."""
    f = float(v)  # type: ignore[arg-type]
    if not (f > 0 and np.isfinite(f)):
        raise ValueError(f"{name}: expected a positive finite number, got {v!r}")
    return f

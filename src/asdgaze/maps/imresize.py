"""MATLAB-compatible ``imresize`` (bicubic, antialiased when shrinking) for float64 maps.

The MIT saliency benchmark resizes saliency maps with MATLAB's default ``imresize``; every other
resizer (cv2, PIL, skimage) gives different numbers, which moves EMD and any metric where sizes
differ. This is an independent implementation of the algorithm described in
``docs/specs/metrics.md`` section 2.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

__all__ = ["imresize", "resize_weights"]


def _cubic(t: np.ndarray) -> np.ndarray:
    """Keys cubic convolution kernel with a = -0.5 (MATLAB's ``cubic``)."""
    at = np.abs(t)
    at2 = at * at
    at3 = at2 * at
    return (1.5 * at3 - 2.5 * at2 + 1) * (at <= 1) + (-0.5 * at3 + 2.5 * at2 - 4 * at + 2) * (
        (1 < at) & (at <= 2)
    )


def _contributions(n_in: int, n_out: int, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-output weights and 0-based input indices along one axis (MATLAB ``contributions``)."""
    if scale < 1:
        # Antialiasing: stretch the kernel by 1/scale so it low-passes before subsampling.
        def h(x: np.ndarray) -> np.ndarray:
            return scale * _cubic(scale * x)

        width = 4.0 / scale
    else:
        h = _cubic
        width = 4.0
    x = np.arange(1, n_out + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1 - 1 / scale)
    left = np.floor(u - width / 2)
    taps = math.ceil(width) + 2
    idx = left[:, None] + np.arange(taps)[None, :]
    w = h(u[:, None] - idx)
    w = w / w.sum(axis=1, keepdims=True)
    # Mirror out-of-range taps: 1..n, n..1, repeated (MATLAB's symmetric padding).
    aux = np.concatenate([np.arange(n_in), np.arange(n_in - 1, -1, -1)])
    idx0 = aux[np.mod(idx.astype(np.int64) - 1, 2 * n_in)]
    keep = np.any(w != 0, axis=0)
    return w[:, keep], idx0[:, keep]


@lru_cache(maxsize=64)
def _weight_matrix(n_in: int, n_out: int, scale: float) -> np.ndarray:
    w, idx = _contributions(n_in, n_out, scale)
    m = np.zeros((n_out, n_in), dtype=np.float64)
    rows = np.broadcast_to(np.arange(n_out)[:, None], idx.shape)
    np.add.at(m, (rows, idx), w)  # mirrored taps can hit one input twice: accumulate
    m.setflags(write=False)
    return m


def resize_weights(n_in: int, n_out: int, scale: float | None = None) -> np.ndarray:
    """The (n_out, n_in) matrix that resizes one axis the way MATLAB ``imresize`` does.

    Args:
        n_in: input length along the axis.
        n_out: output length along the axis.
        scale: the scale MATLAB uses for the kernel; ``None`` means ``n_out / n_in``.

    Returns:
        Read-only float64 matrix ``M`` with ``out = M @ in`` along that axis; rows sum to 1.

    Example:
        >>> resize_weights(3, 3).tolist()
        [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    """
    s = n_out / n_in if scale is None else float(scale)
    return _weight_matrix(int(n_in), int(n_out), s)


def imresize(
    a: np.ndarray,
    scale: float | None = None,
    output_shape: tuple[int, int] | None = None,
) -> np.ndarray:
    """Resize a 2-D map exactly like MATLAB ``imresize(A, scale)`` / ``imresize(A, [m n])``.

    Bicubic (Keys, a = -0.5); when shrinking the kernel is widened to ``h(t) = s*k(s*t)``
    (antialiasing). For output index j (1-based) the centre in input coordinates is
    ``u = j/s + 0.5*(1 - 1/s)``; taps ``floor(u - w/2) + 0..ceil(w)+1`` get weights ``h(u - i)``
    normalised to sum 1, out-of-range taps are mirrored, and the axes are processed in order of
    increasing scale. Float64 output, not clipped (cubic overshoot can go below the input minimum).

    Args:
        a: 2-D array (H, W), any real dtype; computed in float64.
        scale: scalar scale factor; output shape is ``ceil(scale*H) x ceil(scale*W)``.
        output_shape: target ``(rows, cols)``; the scale per axis is then ``out/in``.
            Give exactly one of ``scale`` and ``output_shape``.

    Returns:
        float64 array of the output shape. Equal input and output size returns a copy.

    Reference:
        MATLAB Image Processing Toolbox ``imresize`` (default method); used by the MIT saliency
        benchmark code (cvzoya/saliency, code_forMetrics).

    Example:
        >>> import numpy as np
        >>> imresize(np.full((8, 8), 3.0), 0.5)
        array([[3., 3., 3., 3.],
               [3., 3., 3., 3.],
               [3., 3., 3., 3.],
               [3., 3., 3., 3.]])
    """
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"imresize: expected a 2-D array, got shape {a.shape}")
    if a.shape[0] < 1 or a.shape[1] < 1:
        raise ValueError(f"imresize: empty input of shape {a.shape}")
    if (scale is None) == (output_shape is None):
        raise ValueError("imresize: give exactly one of scale and output_shape")
    if scale is not None:
        s = float(scale)
        if not (s > 0 and math.isfinite(s)):
            raise ValueError(f"imresize: scale must be positive and finite, got {scale!r}")
        out = (math.ceil(s * a.shape[0]), math.ceil(s * a.shape[1]))
        scales = (s, s)
    else:
        out = (int(output_shape[0]), int(output_shape[1]))
        if out[0] < 1 or out[1] < 1:
            raise ValueError(f"imresize: output_shape must be positive, got {output_shape!r}")
        scales = (out[0] / a.shape[0], out[1] / a.shape[1])
    if out == a.shape and scales == (1.0, 1.0):
        return a.copy()
    res = a
    # Stable sort by scale: with equal scales rows go first, as in MATLAB.
    for axis in sorted((0, 1), key=lambda k: scales[k]):
        if scales[axis] == 1.0 and out[axis] == res.shape[axis]:
            continue  # the scale-1 kernel is an exact identity
        m = _weight_matrix(res.shape[axis], out[axis], scales[axis])
        res = m @ res if axis == 0 else res @ m.T
    return np.ascontiguousarray(res)

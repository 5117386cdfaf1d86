"""Image-independent log-densities: uniform and a fixed Gaussian centre bias (the predictors that score
them are in :mod:`asdgaze.models.simple`)."""

from __future__ import annotations

import numpy as np

#: Default Gaussian width as a fraction of each image side (our documented choice, see
#: :func:`gaussian_center_log_density`).
CENTER_SIGMA_FRACTION = 0.25


def _check_shape(height: int, width: int) -> None:
    if int(height) < 1 or int(width) < 1:
        raise ValueError(f"image size must be positive, got {height}x{width}")


def uniform_log_density(height: int, width: int) -> np.ndarray:
    """Uniform log-density: every pixel gets log(1 / (H*W)).

    Args:
        height, width: image size in pixels.

    Returns:
        float64 array (height, width).

    Example:
        >>> ld = uniform_log_density(2, 4)
        >>> round(float(np.exp(ld).sum()), 12), bool(ld[0, 0] == -np.log(8))
        (1.0, True)
    """
    _check_shape(height, width)
    return np.full((height, width), -np.log(float(height) * float(width)))


def gaussian_center_log_density(height: int, width: int, sigma_fraction: float = CENTER_SIGMA_FRACTION) -> np.ndarray:
    """Log-density of an axis-aligned Gaussian centred on the image.

    p(r, c) ∝ exp(-(r + 0.5 - H/2)² / (2 σ_y²) - (c + 0.5 - W/2)² / (2 σ_x²)),
    σ_y = sigma_fraction · H, σ_x = sigma_fraction · W, evaluated at pixel centres and
    normalised to sum 1 over the H×W grid. The width follows the image's aspect ratio, like the
    centre baseline of Judd et al. (ICCV 2009); the default fraction 1/4 is this project's choice,
    a fixed prior that is not fitted to any data set (fitted centre biases come later).

    Args:
        height, width: image size in pixels.
        sigma_fraction: σ of each axis as a fraction of that side's length.

    Returns:
        float64 array (height, width) with logsumexp 0.

    Example:
        >>> ld = gaussian_center_log_density(5, 7)
        >>> round(float(np.exp(ld).sum()), 12), [int(i) for i in np.unravel_index(ld.argmax(), ld.shape)]
        (1.0, [2, 3])
    """
    _check_shape(height, width)
    if not sigma_fraction > 0:
        raise ValueError(f"sigma_fraction must be > 0, got {sigma_fraction}")
    from scipy.special import logsumexp  # here: importing the models package stays free of scipy

    r = (np.arange(height) + 0.5 - height / 2) / (sigma_fraction * height)
    c = (np.arange(width) + 0.5 - width / 2) / (sigma_fraction * width)
    log_p = -0.5 * (r[:, None] ** 2 + c[None, :] ** 2)
    return log_p - logsumexp(log_p)

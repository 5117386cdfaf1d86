"""Centre-bias priors for DeepGaze IIE: log densities over the pixels of an image.

* ``uniform``: zeros (after normalisation, ``-log(H * W)`` everywhere).
* ``mit1003``: the published 1024x1024 MIT1003 template (``centerbias_mit1003.npy``, in the weights
  cache), rescaled to H x W as the published example does:
  ``scipy.ndimage.zoom(template, (H / 1024, W / 1024), order=0, mode="nearest")``, then
  ``-= logsumexp``.
* a ``.npy`` file: any 2-D log-density template, rescaled the same way.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


def check_template(template: np.ndarray, name: str) -> np.ndarray:
    """A centre-bias template must be a finite 2-D float array (a log density up to a constant).

    >>> check_template(np.zeros((3, 3)), "t").shape
    (3, 3)
    """
    a = np.asarray(template)
    if a.ndim != 2 or a.shape[0] < 1 or a.shape[1] < 1:
        raise ValueError(f"{name}: a centre-bias template must be a 2-D array, got shape {a.shape}")
    if a.dtype.kind not in "fiu":
        raise ValueError(f"{name}: a centre-bias template must be numeric, got {a.dtype}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name}: the centre-bias template contains NaN or infinity")
    return a.astype(np.float64)


def rescale_log_density(template: np.ndarray, height: int, width: int) -> np.ndarray:
    """Nearest-neighbour zoom of a log-density template to (height, width), then subtract its logsumexp.

    Returns float64 (height, width) with ``logsumexp == 0``.

    >>> cb = rescale_log_density(np.zeros((4, 4)), 2, 3)
    >>> cb.shape, round(float(np.exp(cb).sum()), 12)
    ((2, 3), 1.0)
    """
    from scipy.ndimage import zoom
    from scipy.special import logsumexp

    t = np.asarray(template, dtype=np.float64)
    if t.shape != (height, width):
        t = zoom(t, (height / t.shape[0], width / t.shape[1]), order=0, mode="nearest")
        if t.shape != (height, width):  # zoom rounds the output size; never expected for sane sizes
            raise ValueError(f"centre-bias zoom gave {t.shape}, expected {(height, width)}")
    return t - logsumexp(t)


@dataclass
class CenterBias:
    """A centre-bias choice: ``kind`` is "uniform", "mit1003" or "file"; ``path`` the template file."""

    kind: str
    path: str | None = None
    template: np.ndarray | None = field(default=None, repr=False)

    def log_density(self, height: int, width: int) -> np.ndarray:
        """float64 (height, width) log density of the prior.

        >>> CenterBias("uniform").log_density(1, 2).tolist() == [[np.log(0.5)] * 2]
        True
        """
        if self.template is None:
            return np.full((height, width), -np.log(height * width))
        return rescale_log_density(self.template, height, width)

    def describe(self) -> dict:
        """What goes into a run manifest."""
        from asdgaze.io import sha256_file

        out: dict = {"kind": self.kind}
        if self.path is not None:
            out["path"] = self.path
            out["sha256"] = sha256_file(self.path)
        return out


def resolve_centerbias(spec: str | os.PathLike | None) -> CenterBias:
    """``"uniform"`` / ``None``, ``"mit1003"`` (the cached template; error if missing), or a .npy path.

    >>> resolve_centerbias("uniform").kind
    'uniform'
    """
    if spec is None or str(spec) == "uniform":
        return CenterBias("uniform")
    if str(spec) == "mit1003":
        from asdgaze.models.deepgaze.weights import resolve_centerbias_template

        p = resolve_centerbias_template()
        return CenterBias("mit1003", str(p), check_template(np.load(p), str(p)))
    p = Path(spec).expanduser()
    if p.suffix != ".npy":
        raise ValueError(f"--centerbias must be 'mit1003', 'uniform' or a .npy file, got {spec!r}")
    if not p.is_file():
        raise FileNotFoundError(f"centre-bias file {p} does not exist")
    return CenterBias("file", str(p), check_template(np.load(p), str(p)))

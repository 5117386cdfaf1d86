"""Centre-bias priors for DeepGaze IIE: log densities over the pixels of an image. No torch.

The names are those of every prior option (:mod:`asdgaze.models.prior_names`); DeepGaze IIE takes the fixed
ones (a prior fitted to fixations is refused: predict has none):

* ``uniform``: ``-log(H * W)`` everywhere.
* ``gaussian``: the fixed centre Gaussian of :mod:`asdgaze.models.baselines` (σ = 1/4 of each side).
* ``mit1003``: the published 1024x1024 float64 MIT1003 template (``centerbias_mit1003.npy``, in the
  weights cache), rescaled to H x W as the published example does:
  ``scipy.ndimage.zoom(template, (H / 1024, W / 1024), order=0, mode="nearest")``, then
  ``-= logsumexp``.
* a ``.npy`` file: any 2-D log-density template (finite, ``logsumexp`` 0 within 1e-3, the one
  tolerance :data:`asdgaze.predictions.LOGSUMEXP_TOL`), rescaled
  the same way.

Files are read with pickling disabled, checked for content, and hashed from the same bytes that
were loaded, so the sha256 in a manifest is that of the template actually used.
"""

from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from asdgaze.errors import AsdgazeError, MapError, OptionsError, WeightsError
from asdgaze.models.deepgaze.cache import CENTERBIAS_FILE, CENTERBIAS_SHAPE, URLS, resolve_centerbias_template
from asdgaze.models.prior_names import FITTED, FIXED, canonical
from asdgaze.predictions import LOGSUMEXP_TOL

#: Every name ``--centerbias`` accepts besides a file: the fixed priors (``centerbias-mit1003`` = ``mit1003``).
NAMES = FIXED
#: How far from 0 the logsumexp of a template file may be: the one tolerance of every log-density.
LSE_TOLERANCE = LOGSUMEXP_TOL


def log_density_problem(a: np.ndarray) -> str | None:
    """What keeps ``a`` from being a 2-D log density (finite, ``logsumexp`` 0 within 1e-3), or None.

    >>> log_density_problem(np.log(np.full((2, 2), 0.25))) is None
    True
    >>> log_density_problem(np.full((2, 5), 0.5))
    'values in [0, 1] summing to 5: this looks like a saliency map, not a log density'
    """
    from scipy.special import logsumexp

    if a.ndim != 2 or a.size == 0:
        return f"an array of shape {a.shape}; a centre-bias template is a 2-D (height, width) log density"
    if a.dtype.kind not in "fiub":
        return f"an array of {a.dtype} values; a centre-bias template is a float log density"
    x = a.astype(np.float64)
    finite = np.isfinite(x)
    if not finite.all():
        n_nan, n_inf = int(np.isnan(x).sum()), int(np.isinf(x).sum())
        return (f"{n_nan} NaN and {n_inf} infinite values out of {x.size}; a centre-bias template must be "
                "finite everywhere")
    lse = float(logsumexp(x))
    if abs(lse) <= LSE_TOLERANCE:
        return None
    lo, hi, total = float(x.min()), float(x.max()), float(x.sum())
    if lo >= 0 and hi <= 1:
        if abs(total - 1) <= LSE_TOLERANCE:
            return ("values in [0, 1] summing to 1: this looks like a probability map, not a log density "
                    "(save the natural log of it)")
        return f"values in [0, 1] summing to {total:.4g}: this looks like a saliency map, not a log density"
    if lo >= 0:
        return (f"values in [{lo:.4g}, {hi:.4g}], none negative: this looks like a saliency map, not a log "
                "density (natural-log probabilities are at most 0)")
    return (f"logsumexp is {lse:.4g}, not 0 (within {LSE_TOLERANCE:g}): not a normalised log density "
            "(subtract its logsumexp before saving)")


def mit1003_problem(a: np.ndarray) -> str | None:
    """What keeps ``a`` from being the published MIT1003 template (1024x1024 float64 log density)."""
    if a.shape != CENTERBIAS_SHAPE or a.dtype != np.float64:
        h, w = CENTERBIAS_SHAPE
        return (f"a {'x'.join(map(str, a.shape)) or 'scalar'} {a.dtype} array; the MIT1003 centre bias "
                f"({CENTERBIAS_FILE}, {URLS[CENTERBIAS_FILE]}) is a {h}x{w} float64 log density")
    return log_density_problem(a)


def read_npy(path: str | os.PathLike, error: type[AsdgazeError] = MapError) -> tuple[np.ndarray, str]:
    """The array in a ``.npy`` file and the sha256 of the bytes it was read from.

    Pickled content is never executed: such a file is refused as not being an array of numbers.
    """
    from asdgaze.maps.io import npy_size_problem

    path = Path(path)
    problem = npy_size_problem(path)  # from the header: a file declaring a huge array is not read whole
    if problem:
        raise error(f"{path}: {problem}")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise error(f"{path}: cannot read ({e.strerror or e})") from None
    try:
        a = np.load(io.BytesIO(data), allow_pickle=False)
    except Exception:  # noqa: BLE001 - every reader failure means the same thing to the user
        a = None
    if not isinstance(a, np.ndarray) or a.dtype.hasobject:
        raise error(f"{path}: not a NumPy .npy file holding an array of numbers "
                    "(expected a 2-D float log density)")
    return a, hashlib.sha256(data).hexdigest()


def load_template(path: str | os.PathLike, mit1003: bool = False) -> tuple[np.ndarray, str]:
    """Read and check a centre-bias template: float64 array and the file's sha256.

    ``mit1003=True`` also requires the published 1024x1024 float64 layout and raises
    :class:`WeightsError` (a reference file that is not what it claims); otherwise :class:`MapError`.
    """
    error = WeightsError if mit1003 else MapError
    a, sha = read_npy(path, error)
    problem = mit1003_problem(a) if mit1003 else log_density_problem(a)
    if problem:
        raise error(f"{path}: {problem}")
    return a.astype(np.float64), sha


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
    """A centre-bias choice: ``kind`` is one of :data:`NAMES` or "file"; ``path`` the template file.

    ``sha256`` is that of the bytes the template was read from (set by :func:`resolve_centerbias`).
    """

    kind: str
    path: str | None = None
    template: np.ndarray | None = field(default=None, repr=False)
    sha256: str | None = None

    def log_density(self, height: int, width: int) -> np.ndarray:
        """float64 (height, width) log density of the prior.

        >>> CenterBias("uniform").log_density(1, 2).tolist() == [[np.log(0.5)] * 2]
        True
        """
        if self.kind == "gaussian":
            from asdgaze.models.baselines import gaussian_center_log_density

            return gaussian_center_log_density(height, width)
        if self.template is None:
            return np.full((height, width), -np.log(float(height) * float(width)))
        return rescale_log_density(self.template, height, width)

    def describe(self) -> dict:
        """What goes into a run manifest: kind, and the file's path and sha256 when a file was used."""
        out: dict = {"kind": self.kind}
        if self.kind == "gaussian":
            from asdgaze.models.baselines import CENTER_SIGMA_FRACTION

            out["sigma_fraction"] = CENTER_SIGMA_FRACTION
        if self.path is not None:
            if self.sha256 is None:
                from asdgaze.io import sha256_file

                self.sha256 = sha256_file(self.path)
            out["path"] = self.path
            out["sha256"] = self.sha256
        return out


def resolve_centerbias(spec: str | os.PathLike | None) -> CenterBias:
    """``"uniform"`` / ``None``, ``"gaussian"``, ``"mit1003"`` (the cached template), or a .npy path.

    Raises :class:`WeightsError` when the MIT1003 template is missing or not the published one,
    :class:`MapError` for a file that is not a log density, :class:`OptionsError` for anything else.

    >>> resolve_centerbias("gaussian").describe()
    {'kind': 'gaussian', 'sigma_fraction': 0.25}
    """
    if isinstance(spec, CenterBias):
        return spec
    name = "uniform" if spec is None else canonical(spec)
    if name in FITTED:
        raise OptionsError(f"--centerbias {spec}: fitted to the fixations, which predict has none of; use one of "
                           f"{', '.join(FIXED)} or a .npy log-density file")
    if name == "uniform":
        return CenterBias("uniform")
    if name == "gaussian":
        return CenterBias("gaussian")
    if name == "mit1003":
        p = resolve_centerbias_template()
        template, sha = load_template(p, mit1003=True)
        return CenterBias("mit1003", str(p), template, sha)
    p = Path(spec).expanduser()
    if p.suffix.lower() != ".npy":
        raise OptionsError(f"--centerbias: {str(spec)!r} is none of {', '.join(NAMES)} and not a .npy file")
    if not p.is_file():
        raise MapError(f"{p}: centre-bias file does not exist")
    template, sha = load_template(p)
    return CenterBias("file", str(p), template, sha)

"""A saliency-map model made a density, the way the saliency benchmark converts classic models.

The conversion is pysaliency's (``optimize_for_information_gain``, its torch framework with a density
target and log-scale nonlinearity values; Kümmerer, Wallis & Bethge, PNAS 2015)::

    s    = clip((map - min) / (max - min), 0, 1)       min, max over every map of the model
    b    = blur_sigma(s)                                Gaussian, sigma in image pixels, edges repeated
    f(b) = piecewise linear through (k / 19, exp(l_k)), k = 0..19, l nondecreasing
    d    = sqrt(X^2 / a^2 + Y^2 / (1 - a^2)) / sqrt(1 / a^2 + 1 / (1 - a^2)),  X, Y from -1 to 1 across the image
    c(d) = piecewise linear through (m / 11, c_m), m = 0..11, c_m > 0
    p    = f(b) c(d) / sum over the image

Its parameters (sigma, the 20 l_k, the 12 c_m, a) maximise the log-likelihood of the fixations (both
groups pooled, the image average of each image's mean, as pysaliency's default ``average='image'``),
**cross-validated over images**: the images are split into k folds (:func:`asdgaze.models.fitting.folds`)
and the images of each fold are scored with the parameters fitted on the other folds, so no image is ever
scored by a conversion fitted on its own fixations. The fit runs on a coarse grid of each image
(:class:`~asdgaze.models.fitting.CellGrid`); for a given sigma and a it is a smooth problem in l and c with
analytic gradients (L-BFGS-B; the normaliser of each image is the bilinear form ``y' M c`` of the
nonlinearity's and the centre bias's knot values), and sigma and a are searched around it (a log grid of
sigma then Brent's method, then Brent's method on a). Deterministic: no random step but the folds.

The converted model keeps the map's own MIT scores (its saliency map is the map as given) and adds the
probabilistic ones; every row of the latter says "converted from a saliency map".
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from asdgaze.data.types import Dataset, Stimulus
from asdgaze.errors import AsdgazeError
from asdgaze.models.base import Traits
from asdgaze.models.fitting import ADAPT_CELLS, GRID_CELLS, CellGrid, blur, blur_image, fit_in_parallel, folds

__all__ = ["ConvertedModel", "ConversionParams", "convert_model", "N_NONLINEARITY", "N_CENTERBIAS", "CV_FOLDS",
           "CONVERTED"]

N_NONLINEARITY = 20
N_CENTERBIAS = 12
CV_FOLDS = 5
#: What the rows of a converted model say of the map they scored.
CONVERTED = "converted from a saliency map (fitted blur, nonlinearity and centre bias, cross-validated over images)"
_XS = np.linspace(0.0, 1.0, N_NONLINEARITY)
_XC = np.linspace(0.0, 1.0, N_CENTERBIAS)
_ALPHA0 = 0.5 * math.sqrt(2.0)  # pysaliency's start: a circle in normalised coordinates
_ALPHA_RANGE = (0.1, 0.9)
_DELTA_MAX = 50.0  # one step of the log nonlinearity
_LOG_Y_MIN = -100.0  # pysaliency's lower bound on the log nonlinearity (no zero density)
_LOG_C = (math.log(1e-6), math.log(1e3))  # pysaliency's bounds on the centre bias' values


@dataclass(frozen=True)
class ConversionParams:
    """One fold's fitted conversion; ``log_ys`` at the knots 0, 1/19, ..., 1, ``centerbias`` at 0, 1/11, ..., 1."""

    sigma: float
    log_ys: tuple[float, ...]
    centerbias: tuple[float, ...]
    alpha: float
    mean_log_likelihood: float  # nats per fixation, image average, on the images it was fitted on
    n_images: int
    n_fixations: int

    def describe(self) -> dict[str, Any]:
        # significant digits, not decimals: a small centre-bias value rounded to 1e-6 would change the density
        return {**asdict(self), "sigma_unit": "image pixels", "log_ys": [float(f"{v:.9g}") for v in self.log_ys],
                "centerbias": [float(f"{v:.9g}") for v in self.centerbias]}


def _hat(values: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Lower knot and the weight of the upper one of values in [0, 1] on n equally spaced knots."""
    u = np.clip(values, 0.0, 1.0) * (n - 1)
    k = np.minimum(np.floor(u).astype(np.int64), n - 2)
    return k, u - k


def distance_map(shape: tuple[int, int], alpha: float, ys: np.ndarray | None = None,
                 xs: np.ndarray | None = None) -> np.ndarray:
    """pysaliency's normalised elliptic distance from the image centre, at pixel centres (or at ``ys``,
    ``xs`` in pixel coordinates, a pixel spanning [i, i + 1))."""
    h, w = shape
    if ys is None:
        ys, xs = np.meshgrid(np.arange(h) + 0.5, np.arange(w) + 0.5, indexing="ij")
    # pixel i at -1 + 2 i / (n - 1) (torch.linspace(-1, 1, n)), +1e-6 as pysaliency
    y = (-1.0 + 2.0 * (ys - 0.5) / max(h - 1, 1)) + 1e-6
    x = (-1.0 + 2.0 * (xs - 0.5) / max(w - 1, 1)) + 1e-6
    beta2 = 1.0 - alpha ** 2
    d = np.sqrt(x ** 2 / alpha ** 2 + y ** 2 / beta2)
    return d / math.sqrt(1.0 / alpha ** 2 + 1.0 / beta2)


@lru_cache(maxsize=256)
def _cell_distance(grid: CellGrid, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """The centre bias' knots (lower knot, weight of the upper) at the cells of ``grid``."""
    yc, xc = grid.centres()
    return _hat(distance_map((grid.height, grid.width), alpha, yc, xc).ravel(), N_CENTERBIAS)


@dataclass
class _Image:
    """One image's data for the fit: its grid, its normalised map's cell means, its fixations' cells."""

    stem: str
    grid: CellGrid
    s: np.ndarray  # (gh, gw) cell means of the normalised map
    cells: np.ndarray  # flat cell index of every fixation (both groups)


class _Problem:
    """The fit's data for one (sigma, alpha): per image the matrix M and per fixation the knots it reads."""

    def __init__(self, images: list[_Image], sigma: float, alpha: float) -> None:
        n_img = len(images)
        m_size = N_NONLINEARITY * N_CENTERBIAS
        idx, wts, fk, ff, fm, fg, fw = [], [], [], [], [], [], []
        for i, im in enumerate(images):
            b = blur(im.s, sigma / im.grid.cell).ravel() if sigma > 0 else im.s.ravel()
            k, f = _hat(b, N_NONLINEARITY)
            m, g = _cell_distance(im.grid, alpha)
            n = im.grid.counts.ravel()
            for dk, wk in ((0, 1.0 - f), (1, f)):
                for dm, wm in ((0, 1.0 - g), (1, g)):
                    idx.append(i * m_size + (k + dk) * N_CENTERBIAS + (m + dm))
                    wts.append(n * wk * wm)
            c, times = np.unique(im.cells, return_counts=True)  # fixations sharing a cell: one term
            fk.append(k[c]); ff.append(f[c]); fm.append(m[c]); fg.append(g[c])
            fw.append(times / (n_img * len(im.cells)))
        self.n_img = n_img
        self.M = np.bincount(np.concatenate(idx), np.concatenate(wts), minlength=n_img * m_size
                             ).reshape(n_img, N_NONLINEARITY, N_CENTERBIAS)
        self.fk, self.ff = np.concatenate(fk), np.concatenate(ff)
        self.fm, self.fg = np.concatenate(fm), np.concatenate(fg)
        self.fw = np.concatenate(fw)

    def objective(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """Minus the image-averaged mean log-likelihood (nats; the constant -log of the cell's pixels is left
        out, the same for every parameter) and its gradient in theta = (19 steps of l, 12 log c)."""
        delta, log_c = theta[:N_NONLINEARITY - 1], theta[N_NONLINEARITY - 1:]
        l = -np.concatenate([np.cumsum(delta[::-1])[::-1], [0.0]])  # l_19 = 0, l_k = -(delta_k+1 + ... )
        y, c = np.exp(l), np.exp(log_c)
        fy = (1.0 - self.ff) * y[self.fk] + self.ff * y[self.fk + 1]
        gc = (1.0 - self.fg) * c[self.fm] + self.fg * c[self.fm + 1]
        mc = self.M @ c  # (img, N)
        z = mc @ y
        if np.any(fy <= 0) or np.any(gc <= 0) or np.any(z <= 0):
            return math.inf, np.zeros_like(theta)
        value = float(np.sum(self.fw * (np.log(fy) + np.log(gc))) - np.mean(np.log(z)))
        wf, wg = self.fw / fy, self.fw / gc
        dy = (np.bincount(self.fk, wf * (1.0 - self.ff), N_NONLINEARITY)
              + np.bincount(self.fk + 1, wf * self.ff, N_NONLINEARITY) - (mc / z[:, None]).mean(0))
        yM = np.einsum("k,ikm->im", y, self.M)
        dc = (np.bincount(self.fm, wg * (1.0 - self.fg), N_CENTERBIAS)
              + np.bincount(self.fm + 1, wg * self.fg, N_CENTERBIAS) - (yM / z[:, None]).mean(0))
        dl = dy * y
        d_delta = -np.cumsum(dl)[:-1]  # l_k depends on delta_j for j > k
        return -value, -np.concatenate([d_delta, dc * c])


def _start() -> np.ndarray:
    delta = np.full(N_NONLINEARITY - 1, 8.0 / (N_NONLINEARITY - 1))  # pysaliency: l = 8 * linspace(-1, 0, 20)
    return np.concatenate([delta, np.log(np.linspace(1.1, 0.9, N_CENTERBIAS))])


def _inner(problem: _Problem, theta0: np.ndarray) -> tuple[float, np.ndarray]:
    from scipy.optimize import minimize

    bounds = [(0.0, _DELTA_MAX)] * (N_NONLINEARITY - 1) + [_LOG_C] * N_CENTERBIAS
    res = minimize(problem.objective, theta0, jac=True, method="L-BFGS-B", bounds=bounds,
                   options={"maxiter": 2000, "ftol": 1e-9, "gtol": 1e-6})  # tighter: same LL to 1e-6, 1.3x the time
    return float(res.fun), np.asarray(res.x)


def fit_conversion(images: list[_Image]) -> ConversionParams:
    """Maximum-likelihood conversion on ``images`` (see the module docstring)."""
    from scipy.optimize import minimize_scalar

    cell = min(im.grid.cell for im in images)
    side = max(max(im.grid.height, im.grid.width) for im in images)
    candidates = [0.0] + list(np.geomspace(cell / 2.0, side / 4.0, 6))
    tried: dict[tuple[float, float], tuple[float, np.ndarray]] = {}
    best_theta = [_start()]

    def at(sigma: float, alpha: float) -> float:
        key = (float(sigma), float(alpha))
        if key not in tried:
            value, theta = _inner(_Problem(images, *key), best_theta[0])
            tried[key] = (value, theta)
            if value <= min(v for v, _ in tried.values()):
                best_theta[0] = theta  # warm start of the next search step
        return tried[key][0]

    values = [at(s, _ALPHA0) for s in candidates]
    k = int(np.argmin(values))
    sigma = candidates[k]
    if k > 0:
        lo = candidates[k - 1] if k > 1 else candidates[1] / 2.0
        hi = candidates[min(k + 1, len(candidates) - 1)]
        minimize_scalar(lambda ls: at(math.exp(ls), _ALPHA0), bounds=(math.log(lo), math.log(hi)),
                        method="bounded", options={"xatol": 0.05})
        sigma = min((s for s, a in tried if a == _ALPHA0), key=lambda s: tried[(s, _ALPHA0)][0])
    minimize_scalar(lambda a: at(sigma, a), bounds=_ALPHA_RANGE, method="bounded", options={"xatol": 0.03})
    (sigma, alpha), (value, theta) = min(tried.items(), key=lambda kv: kv[1][0])
    delta, log_c = theta[:N_NONLINEARITY - 1], theta[N_NONLINEARITY - 1:]
    l = -np.concatenate([np.cumsum(delta[::-1])[::-1], [0.0]])
    n_fix = int(sum(len(im.cells) for im in images))
    # the objective leaves out each fixation's -log(pixels in its cell): add it back (pixels, not cells)
    const = float(np.mean([-np.log(im.grid.counts.ravel()[im.cells]).mean() for im in images]))
    return ConversionParams(float(sigma), tuple(float(v) for v in l), tuple(float(v) for v in np.exp(log_c)),
                            float(alpha), -value + const, len(images), n_fix)


def converted_log_density(s_norm: np.ndarray, params: ConversionParams, cb: np.ndarray | None = None) -> np.ndarray:
    """The converted log-density of one normalised map (in [0, 1], at the image's size)."""
    b = blur_image(s_norm, params.sigma, "nearest") if params.sigma > 0 else s_norm
    f = np.interp(b, _XS, np.exp(np.maximum(np.asarray(params.log_ys), _LOG_Y_MIN)))
    if cb is None:
        cb = centre_bias(s_norm.shape, params)
    p = f * cb
    return np.log(p) - math.log(p.sum())


def centre_bias(shape: tuple[int, int], params: ConversionParams) -> np.ndarray:
    return np.interp(distance_map(shape, params.alpha), _XC, np.asarray(params.centerbias))


@dataclass
class ConvertedModel:
    """A saliency-map predictor (a folder of maps) with its cross-validated conversion to a density.

    The MIT convention scores the map as the wrapped predictor reads it; the probabilistic one scores the
    converted density, whose parameters are those of the fold the image belongs to."""

    inner: Any
    fold_of: dict[str, int]
    params: list[ConversionParams]
    saliency_min: float
    saliency_max: float
    seed: int
    fold_images: list[list[str]] = field(default_factory=list)
    grid_cells: int = GRID_CELLS
    cells: dict = field(default_factory=dict, repr=False)  # stem -> (grid, normalised map's cell means), adaptation
    _cb: dict = field(default_factory=dict, repr=False)
    _recent: tuple = field(default=(None, None), repr=False)

    traits = Traits(density=True)
    prob_map_note = CONVERTED

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def maps(self) -> dict:
        return self.inner.maps

    @property
    def mit_map_scored(self) -> str:
        return self.inner.mit_map_scored

    @property
    def missing(self) -> list[str]:
        return self.inner.missing

    @property
    def hdf5_sha256(self) -> str | None:
        return self.inner.hdf5_sha256

    def __getstate__(self) -> dict:  # a copy sent to a process leaves the kept map behind
        return {**self.__dict__, "_recent": (None, None), "_cb": {}, "cells": {}}

    def covers(self, stem: str) -> bool:
        return self.inner.covers(stem) and stem in self.fold_of

    def notes(self) -> list[str]:
        return []

    def where(self, stimulus: Stimulus) -> str:
        return self.inner.where(stimulus)

    def digest(self, stimulus: Stimulus) -> str | None:
        return self.inner.digest(stimulus)

    def saliency_map(self, stimulus: Stimulus, group: str | None = None, density=None) -> np.ndarray:
        """The map as the MIT code reads it (the wrapped predictor's), kept for the density of this image."""
        sal = self.inner.saliency_map(stimulus, group)
        self._recent = (stimulus.id, sal)
        return sal

    def normalised_map(self, stimulus: Stimulus) -> np.ndarray:
        """The map at the image's size (resized as the MIT code resizes it), min-max normalised and clipped."""
        stem, sal = self._recent
        if stem != stimulus.id:
            sal = self.inner.saliency_map(stimulus)
        return normalise(sal, stimulus.shape, self.saliency_min, self.saliency_max)

    def log_density(self, stimulus: Stimulus, group: str | None = None, exclude_viewers: Collection[int] = ()):
        return self.prediction(stimulus).values

    def prediction(self, stimulus: Stimulus, group: str | None = None):
        from asdgaze.predictions import LogDensity

        return LogDensity._trusted(self.fold_log_density(stimulus, self.fold_of[stimulus.id]))

    def fold_log_density(self, stimulus: Stimulus, fold: int) -> np.ndarray:
        """The log-density of ``stimulus`` under the conversion of fold ``fold``."""
        params = self.params[fold]
        key = (fold, stimulus.shape)
        if key not in self._cb:
            self._cb[key] = centre_bias(stimulus.shape, params)
        return converted_log_density(self.normalised_map(stimulus), params, self._cb[key])

    def grid_density(self, stimulus: Stimulus, grid: CellGrid, fold: int | None = None) -> np.ndarray:
        """The per-pixel density on the cells of ``grid`` under the conversion of ``fold`` (default: the
        image's own), computed on the grid as the fit computes it (for the adaptation's fits)."""
        own = self.cells.get(stimulus.id)
        if own is None or own[0] != grid:
            raise AsdgazeError(f"{self.name}: no cells of image {stimulus.id} on a grid of {grid.cell} px")
        params = self.params[self.fold_of[stimulus.id] if fold is None else fold]
        s = blur(own[1], params.sigma / grid.cell) if params.sigma > 0 else own[1]
        f = np.interp(s, _XS, np.exp(np.maximum(np.asarray(params.log_ys), _LOG_Y_MIN)))
        yc, xc = grid.centres()
        cb = np.interp(distance_map((grid.height, grid.width), params.alpha, yc, xc), _XC, np.asarray(params.centerbias))
        p = f * cb
        return p / float((p * grid.counts).sum())

    def describe(self) -> dict[str, Any]:
        return {**self.inner.describe(), "probabilistic": True, "converted": self.conversion()}

    def conversion(self) -> dict[str, Any]:
        return {"method": CONVERTED, "reference": "pysaliency optimize_for_information_gain (Kümmerer, Wallis & "
                "Bethge, PNAS 2015): blur, nonlinearity of the min-max normalised map, centre bias of the "
                "distance from the centre, multiplied and normalised",
                "saliency_min": self.saliency_min, "saliency_max": self.saliency_max, "seed": self.seed,
                "grid_cells": self.grid_cells, "folds": [{"images": imgs, "params": p.describe()}
                                                         for imgs, p in zip(self.fold_images, self.params)]}

    def record(self, sha256: dict[str, str]) -> dict[str, Any]:
        return {**self.inner.record(sha256), "probabilistic": True, "converted": self.conversion()}


def normalise(sal: np.ndarray, shape: tuple[int, int], lo: float, hi: float) -> np.ndarray:
    if sal.shape != tuple(shape):
        from asdgaze.maps.imresize import imresize

        sal = imresize(sal, output_shape=tuple(shape))
    return np.clip((sal - lo) / (hi - lo), 0.0, 1.0)


def convert_model(inner: Any, dataset: Dataset, groups: tuple[str, ...], seed: int, notes: list[str],
                  k: int = CV_FOLDS, workers: int | None = None) -> Any:
    """``inner`` (a saliency-map predictor) with its cross-validated conversion, or ``inner`` itself with a
    note saying why it cannot be converted (fewer than two images with fixations, constant maps)."""
    stems = [s for s in dataset.stimuli if inner.covers(s)]
    # One reading of each map: its range, and its cell sums where it has its image's size (then normalising
    # is affine and commutes with the sums); a map of another size is read again once the range is known.
    ranges: dict[str, tuple[float, float]] = {}
    sums: dict[str, dict[int, np.ndarray] | None] = {}
    for stem in stems:
        st = dataset.stimuli[stem]
        try:
            sal = inner.saliency_map(st)
        except AsdgazeError:
            continue  # that image fails when it is scored
        ranges[stem] = (float(sal.min()), float(sal.max()))
        sums[stem] = ({n: CellGrid.for_shape(st.shape, n).sums(sal) for n in (GRID_CELLS, ADAPT_CELLS)}
                      if sal.shape == st.shape else None)
    if not ranges:
        notes.append(f"model {inner.name}: not converted to a density: none of its maps could be read")
        return inner
    lo = min(r[0] for r in ranges.values())
    hi = max(r[1] for r in ranges.values())
    with_fix = [s for s in ranges if any(len(dataset.fixations.get(g, {}).get(s, ())) for g in groups)]
    why = ("every map is constant" if not hi > lo else
           f"cross-validation needs fixations on at least 2 images (there are {len(with_fix)})"
           if len(with_fix) < 2 else None)
    if why:
        notes.append(f"model {inner.name}: not converted to a density: {why}; scored in the MIT convention only")
        return inner
    data, cells = {}, {}
    for stem in with_fix:
        st = dataset.stimuli[stem]
        grids = {n: CellGrid.for_shape(st.shape, n) for n in (GRID_CELLS, ADAPT_CELLS)}
        if sums[stem] is None:
            full = normalise(inner.saliency_map(st), st.shape, lo, hi)
            means = {n: g.means(full) for n, g in grids.items()}
        else:
            means = {n: (sums[stem][n] / g.counts - lo) / (hi - lo) for n, g in grids.items()}
        cells[stem] = (grids[ADAPT_CELLS], means[ADAPT_CELLS])
        rows, cols = [], []
        for g in groups:
            f = dataset.fixations.get(g, {}).get(stem)
            if f is not None and len(f):
                r, c = f.rows_cols()
                rows.append(r)
                cols.append(c)
        grid = grids[GRID_CELLS]
        data[stem] = _Image(stem, grid, means[GRID_CELLS], grid.cells(np.concatenate(rows), np.concatenate(cols)))
    # Folds over the images with fixations; the others (nothing to score, but their densities enter sAUC's
    # shuffled density) and unreadable maps (they fail when scored) take the folds in turn.
    parts = folds(with_fix, k, seed)
    rest = sorted(set(stems) - set(with_fix))
    for i, stem in enumerate(rest):
        parts[i % len(parts)].append(stem)
    params = fit_in_parallel(fit_conversion, [[data[s] for s in with_fix if s not in set(test)] for test in parts],
                             workers)
    fold_of = {s: j for j, part in enumerate(parts) for s in part}
    return ConvertedModel(inner, fold_of, params, lo, hi, seed, [sorted(p) for p in parts], cells=cells)

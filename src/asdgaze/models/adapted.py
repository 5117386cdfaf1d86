"""A density model refitted to each group: how the groups look, apart from what they look at.

For group g, the adapted density of an image is (Kümmerer, Khanuja & Bethge's dataset-specific parameters,
ICCV 2025, here per group)::

    q(x) = (1 - u) r(x) + u / (H W),        r(x) ∝ (blur_sigma p)(x) ** gamma * CB(x) ** w

with p the model's density and CB the fixed centre Gaussian (sigma = 1/4 of each image side), and four
interpretable parameters per group:

- ``sigma``: spread, a Gaussian blur of the density (image pixels);
- ``gamma``: sharpness, 1 / temperature (below 1: a flatter density, more exploration);
- ``w``: centre-bias weight (0: no centre bias beyond the model's own; 2: the centre Gaussian squared);
- ``u``: the share of fixations that land anywhere (a uniform mixture).

They maximise the group's log-likelihood (the image average of each image's mean), **cross-validated over
images**: each image is scored with the parameters fitted on the other folds' fixations of its group (and,
for a converted map, on densities converted without that fold). The fit runs on a coarse grid of each image;
the spread is searched on a log grid of sigma and then fitted with the others (the density interpolated
between neighbouring sigmas), with analytic gradients (L-BFGS-B). Bootstrap CIs over images (the same
resampled images for both groups) come from refitting on every resample.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from asdgaze.data.types import Dataset, Stimulus
from asdgaze.errors import AsdgazeError
from asdgaze.models.base import Traits
from asdgaze.models.baselines import CENTER_SIGMA_FRACTION
from asdgaze.models.fitting import ADAPT_CELLS, CellGrid, blur, blur_image, fit_in_parallel, folds

__all__ = ["AdaptedModel", "AdaptParams", "adapt_model", "ADAPT_CELLS", "PARAMETERS", "SUFFIX"]

SUFFIX = "+adapted"
#: The parameters, in order, with their bounds and what they mean.
PARAMETERS = {"sigma": "spread (Gaussian blur of the density, image pixels)",
              "gamma": "sharpness (1 / temperature; below 1 a flatter density)",
              "w": "centre-bias weight (exponent of the centre Gaussian, sigma 1/4 of each side; 0 none)",
              "u": "uniform share (fixations that land anywhere)"}
_BOUNDS = {"gamma": (0.05, 5.0), "w": (-5.0, 20.0), "u": (0.0, 0.95)}
_N_SIGMAS = 14  # nonzero sigmas of the search grid (neighbours 1.24x apart from half a cell to 1/4 of the side)


@dataclass(frozen=True)
class AdaptParams:
    """One group's fitted parameters (one fold's, the whole data's or one bootstrap resample's)."""

    sigma: float
    gamma: float
    w: float
    u: float
    mean_log_likelihood: float = math.nan  # nats per fixation, image average, where fitted
    n_images: int = 0
    n_fixations: int = 0

    def values(self) -> dict[str, float]:
        return {k: getattr(self, k) for k in PARAMETERS}


def centre_term(shape: tuple[int, int], ys: np.ndarray | None = None, xs: np.ndarray | None = None) -> np.ndarray:
    """-log of the centre Gaussian (up to a constant) at pixel centres, or at ``ys``, ``xs`` (pixel coordinates)."""
    h, w = shape
    if ys is None:
        ys, xs = np.meshgrid(np.arange(h) + 0.5, np.arange(w) + 0.5, indexing="ij")
    return 0.5 * (((ys - h / 2) / (CENTER_SIGMA_FRACTION * h)) ** 2 + ((xs - w / 2) / (CENTER_SIGMA_FRACTION * w)) ** 2)


def adapt_log_density(log_p: np.ndarray, params: AdaptParams, rho: np.ndarray | None = None) -> np.ndarray:
    """The adapted log-density of one image at full resolution, from the model's log-density ``log_p``."""
    p = np.exp(log_p - log_p.max())
    if params.sigma > 0:
        p = blur_image(p, params.sigma, "reflect")
    if rho is None:
        rho = centre_term(log_p.shape)
    a = params.gamma * np.log(np.maximum(p, np.finfo(float).tiny)) - params.w * rho
    a -= a.max()
    r = np.exp(a)
    r /= r.sum()
    q = (1.0 - params.u) * r + params.u / r.size
    return np.log(q)


class _GroupData:
    """One group's images on the grid: the model's blurred densities at every sigma of the search, the
    centre term, pixels per cell, and the fixations' cells with their weights."""

    def __init__(self, items: list[tuple[CellGrid, np.ndarray, np.ndarray]], sigmas: np.ndarray) -> None:
        """``items``: per image (grid, the model's per-pixel density on the cells (gh, gw), fixation cells)."""
        self.sigmas = sigmas
        dens, rho, n, img, fc, ft, fi = [], [], [], [], [], [], []
        start = 0
        self.starts = []
        for i, (grid, p, cells) in enumerate(items):
            self.starts.append(start)
            dens.append(np.stack([blur(p, s / grid.cell, "reflect").ravel() for s in sigmas]))
            yc, xc = grid.centres()
            rho.append(centre_term((grid.height, grid.width), yc, xc).ravel())
            n.append(grid.counts.ravel())
            img.append(np.full(p.size, i))
            c, times = np.unique(cells, return_counts=True)
            fc.append(start + c)
            ft.append(times / len(cells))  # each image's fixations weigh 1 in all
            fi.append(np.full(len(c), i))
            start += p.size
        self.starts = np.asarray(self.starts)
        self.dens = np.maximum(np.concatenate(dens, axis=1), np.finfo(float).tiny)  # (K, C)
        self.log_dens = np.log(self.dens)
        self.rho = np.concatenate(rho)
        self.n = np.concatenate(n)
        self.img = np.concatenate(img)
        self.n_img = len(items)
        self.npix = np.add.reduceat(self.n, self.starts)
        self.fc, self.ft, self.fi = np.concatenate(fc), np.concatenate(ft), np.concatenate(fi)
        self.const = -np.log(self.n[self.fc])  # each fixation's -log(pixels of its cell)
        self.n_fix = int(sum(len(c) for _, _, c in items))

    def objective(self, theta: np.ndarray, weights: np.ndarray) -> tuple[float, np.ndarray]:
        """Minus the weighted image-average mean log-likelihood and its gradient in (t, gamma, w, u); t indexes
        the sigma grid, the density linear between grid points."""
        t, gamma, w, u = theta
        k = min(int(math.floor(t)), len(self.sigmas) - 2)
        f = t - k
        p = (1.0 - f) * self.dens[k] + f * self.dens[k + 1]
        log_p = np.log(p) if f > 0 else self.log_dens[k]
        a = gamma * log_p - w * self.rho + np.log(self.n)
        amax = np.maximum.reduceat(a, self.starts)
        e = np.exp(a - amax[self.img])
        s = np.add.reduceat(e, self.starts)
        qt = e / s[self.img]  # each cell's mass under r
        q = (1.0 - u) * qt + u * self.n / self.npix[self.img]
        c = self.fc
        fw = self.ft * weights[self.fi] / weights.sum()
        value = float(np.sum(fw * (np.log(q[c]) + self.const)))
        g = fw / q[c]
        grads = []
        for da in (gamma * (self.dens[k + 1] - self.dens[k]) / p, log_p, -self.rho):
            mean = np.add.reduceat(qt * da, self.starts)
            grads.append((1.0 - u) * float(np.sum(g * qt[c] * (da[c] - mean[self.fi]))))
        grads.append(float(np.sum(g * (self.n[c] / self.npix[self.fi] - qt[c]))))
        return -value, -np.asarray(grads)

    def sigma_of(self, t: float) -> float:
        """The blur of the same variance as the mixture of the two neighbouring blurs that ``t`` stands for."""
        k = min(int(math.floor(t)), len(self.sigmas) - 2)
        f = t - k
        a, b = self.sigmas[k], self.sigmas[k + 1]
        return float(math.sqrt((1 - f) * a * a + f * b * b))

    def fit(self, weights: np.ndarray | None = None, start: np.ndarray | None = None) -> tuple[AdaptParams, np.ndarray]:
        """The maximum-likelihood parameters (with ``weights`` per image: a bootstrap resample); without a
        ``start``, the spread is first profiled over the sigma grid."""
        from scipy.optimize import minimize

        wts = np.ones(self.n_img) if weights is None else np.asarray(weights, dtype=np.float64)
        last = len(self.sigmas) - 1
        bounds = [(0.0, float(last)), _BOUNDS["gamma"], _BOUNDS["w"], _BOUNDS["u"]]
        opts = {"maxiter": 500, "ftol": 1e-10, "gtol": 1e-7}

        def run(theta0, b):
            r = minimize(self.objective, theta0, args=(wts,), jac=True, method="L-BFGS-B", bounds=b, options=opts)
            return float(r.fun), np.asarray(r.x)

        if start is None:
            theta = np.array([0.0, 1.0, 0.0, 0.01])
            profile = []
            for k in range(len(self.sigmas)):
                theta = run(np.r_[float(k), theta[1:]], [(float(k), float(k))] + bounds[1:])[1]
                profile.append((self.objective(theta, wts)[0], theta))
            k = int(np.argmin([v for v, _ in profile]))
            start = profile[k][1]
            bounds[0] = (float(max(k - 1, 0)), float(min(k + 1, last)))
        value, theta = run(start, bounds)
        n = int(np.count_nonzero(wts))
        return AdaptParams(self.sigma_of(theta[0]), float(theta[1]), float(theta[2]), float(theta[3]), -value, n,
                           self.n_fix), theta


def _search_sigmas(items: list[tuple[CellGrid, np.ndarray, np.ndarray]]) -> np.ndarray:
    cell = min(g.cell for g, _, _ in items)
    side = max(max(g.height, g.width) for g, _, _ in items)
    return np.r_[0.0, np.geomspace(cell / 2.0, side / 4.0, _N_SIGMAS)]


@dataclass
class AdaptedModel:
    """``base`` refitted per group (see the module docstring): ``params[group][fold]`` scores the images of
    that fold."""

    base: Any
    name: str
    fold_of: dict[str, int]
    params: dict[str, list[AdaptParams]]
    fold_images: list[list[str]]
    whole: dict[str, AdaptParams] = field(default_factory=dict)  # fitted on every image (reported)
    boot: dict[str, list[AdaptParams]] = field(default_factory=dict)  # bootstrap resamples (CIs)
    seed: int = 0
    sigma_max: dict[str, float] = field(default_factory=dict)  # each group's largest searched spread
    _rho: dict = field(default_factory=dict, repr=False)

    traits = Traits(group_dependent=True)
    mit_map_scored = "exp(log p) scaled to max 1 (float64)"

    def covers(self, stem: str) -> bool:
        return self.base.covers(stem) and stem in self.fold_of

    def saliency_map(self, stimulus: Stimulus, group: str | None = None, density=None) -> np.ndarray:
        log_p = density() if density is not None else self.log_density(stimulus, group)
        return np.exp(log_p - log_p.max())

    def where(self, stimulus: Stimulus) -> str:
        return self.base.where(stimulus)

    def notes(self) -> list[str]:
        return []

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_rho": {}}

    def log_density(self, stimulus: Stimulus, group: str | None = None, exclude_viewers: Collection[int] = ()):
        return self.prediction(stimulus, group).values

    def prediction(self, stimulus: Stimulus, group: str | None = None):
        from asdgaze.models.base import checked_prediction
        from asdgaze.predictions import LogDensity

        if group not in self.params:
            raise AsdgazeError(f"{self.name}: not fitted for group {group!r}")
        params = self.params[group][self.fold_of[stimulus.id]]
        if stimulus.shape not in self._rho:
            self._rho[stimulus.shape] = centre_term(stimulus.shape)
        base = checked_prediction(self.base, stimulus, None)
        return LogDensity._trusted(adapt_log_density(base.values, params, self._rho[stimulus.shape]))

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "kind": "adapted", "base": self.base.name, "parameters": PARAMETERS,
                "method": "per-group refit of the base model's density, cross-validated over images "
                          "(asdgaze.models.adapted)",
                "seed": self.seed, "whole": {g: asdict(p) for g, p in self.whole.items()},
                "bounds": {g: {"sigma": [0.0, m], **{k: list(b) for k, b in _BOUNDS.items()}}
                           for g, m in self.sigma_max.items()},
                "ci": {g: _ci(b) for g, b in self.boot.items()},
                "bootstrap": {"n_resamples": len(next(iter(self.boot.values()), [])),
                              "values": {g: [p.values() for p in b] for g, b in self.boot.items()}},
                "folds": [{"images": imgs, "params": {g: asdict(ps[j]) for g, ps in self.params.items()}}
                          for j, imgs in enumerate(self.fold_images)]}


def _ci(boot: list[AdaptParams]) -> dict[str, list[float]] | None:
    if not boot:
        return None
    return {k: [float(np.percentile([getattr(p, k) for p in boot], q)) for q in (2.5, 97.5)] for k in PARAMETERS}


def _grid_density(base: Any, stim: Stimulus, grid: CellGrid, fold: int | None) -> np.ndarray:
    """The base model's per-pixel density on the cells of ``grid`` (a converted map: under the conversion of
    ``fold``, so that no fold's fixations shape the densities its own adaptation is fitted to)."""
    own = getattr(base, "grid_density", None)
    if own is not None:
        return own(stim, grid, fold)
    from asdgaze.models.base import checked_prediction

    d = checked_prediction(base, stim, None).density()
    return grid.sums(d) / grid.counts


def adapt_model(base: Any, name: str, dataset: Dataset, groups: tuple[str, ...], seed: int, notes: list[str], *,
                k: int = 5, n_resamples: int = 200, workers: int | None = None) -> AdaptedModel | None:
    """``base`` refitted per group, cross-validated over images, with bootstrap resamples of the whole fit;
    None (with a note) where a group has fixations on fewer than 2 images."""
    stems = [s for s in dataset.stimuli if base.covers(s)]
    by_group = {g: [s for s in stems if len(dataset.fixations.get(g, {}).get(s, ()))] for g in groups}
    few = [g for g, s in by_group.items() if len(s) < 2]
    if few or not groups:
        notes.append(f"model {base.name}: no {name}: cross-validation needs fixations of each group on at least 2 "
                     f"images ({', '.join(few) or 'no group'} has fewer)")
        return None
    with_fix = sorted(set().union(*by_group.values()))
    parts = folds(with_fix, k, seed)
    rest = sorted(set(stems) - set(with_fix))
    for i, stem in enumerate(rest):
        parts[i % len(parts)].append(stem)
    fold_of = {s: j for j, part in enumerate(parts) for s in part}
    grids = {s: CellGrid.for_shape(dataset.stimuli[s].shape, ADAPT_CELLS) for s in with_fix}
    cells = {}
    for g in groups:
        for s in by_group[g]:
            r, c = dataset.fixations[g][s].rows_cols()
            cells[(g, s)] = grids[s].cells(r, c)
    folded = hasattr(base, "grid_density") and getattr(base, "fold_of", None) is not None
    densities: dict[tuple[str, int | None], np.ndarray] = {}
    failed: list[str] = []

    def density(s: str, fold: int | None) -> np.ndarray | None:
        key = (s, fold if folded else None)
        if key not in densities:
            try:
                densities[key] = _grid_density(base, dataset.stimuli[s], grids[s], key[1])
            except AsdgazeError as e:
                failed.append(f"{s}: {e}")
                densities[key] = None
        return densities[key]

    def group_data(g: str, images: list[str], fold: int | None) -> _GroupData | None:
        items = [(grids[s], d, cells[(g, s)]) for s in images if (d := density(s, fold)) is not None]
        return _GroupData(items, _search_sigmas(items)) if len(items) >= 1 else None

    tasks, keys, empty = [], [], []
    for j, test in enumerate(parts):
        held = set(test)
        for g in groups:
            tasks.append(group_data(g, [s for s in by_group[g] if s not in held], j))
            keys.append((g, j))
            if tasks[-1] is None:
                empty.append(f"{g} in fold {j + 1}")
    if empty:
        notes.append(f"model {base.name}: {name} is the model itself (not adapted) for {', '.join(empty)}: every "
                     "image with fixations of that group is in that fold")
    # the whole data (each image's density as scored: a converted map under its own fold's conversion)
    whole = {}
    for g in groups:
        items = [(grids[s], d, cells[(g, s)]) for s in by_group[g] if (d := density(s, fold_of[s])) is not None]
        whole[g] = _GroupData(items, _search_sigmas(items))
    if failed:
        notes.append(f"model {base.name}: {name} fitted without {len(failed)} map(s) that could not be read "
                     f"(first: {failed[0]}); those images fail when scored")
    fits = fit_in_parallel(_fit_task, [t for t in tasks] + [whole[g] for g in groups], workers)
    params: dict[str, list[AdaptParams]] = {g: [None] * len(parts) for g in groups}  # type: ignore[list-item]
    for (g, j), (p, _) in zip(keys, fits[:len(tasks)]):
        params[g][j] = p
    whole_fit = {g: fits[len(tasks) + i] for i, g in enumerate(groups)}
    boot = _bootstrap(whole, whole_fit, by_group, n_resamples, seed, workers)
    return AdaptedModel(base, name, fold_of, params, [sorted(p) for p in parts],
                        {g: p for g, (p, _) in whole_fit.items()}, boot, seed,
                        {g: float(d.sigmas[-1]) for g, d in whole.items()})


def _fit_task(data: _GroupData | None):
    if data is None:
        return AdaptParams(0.0, 1.0, 0.0, 0.0), None
    return data.fit()


def _boot_task(task):
    data, weights, start = task
    return data.fit(weights, start)[0]


def _bootstrap(whole: dict[str, _GroupData], fitted: dict, by_group: dict[str, list[str]], n: int, seed: int,
               workers: int | None) -> dict[str, list[AdaptParams]]:
    """Refits on ``n`` resamples of the images (the same images for every group), from the whole fit."""
    if n < 1:
        return {}
    images = sorted(set().union(*by_group.values()))
    rng = np.random.default_rng([int(seed), 1818])
    draws = [np.bincount(rng.integers(0, len(images), len(images)), minlength=len(images)) for _ in range(n)]
    index = {s: i for i, s in enumerate(images)}
    tasks = []
    for g, data in whole.items():
        pos = np.array([index[s] for s in by_group[g]])
        for d in draws:
            w = d[pos].astype(np.float64)
            if w.sum() == 0:  # none of the group's images drawn: this resample says nothing of the group
                w = np.ones(len(pos))
            tasks.append((data, w, fitted[g][1]))
    out = fit_in_parallel(_boot_task, tasks, workers)
    return {g: out[i * n:(i + 1) * n] for i, g in enumerate(whole)}

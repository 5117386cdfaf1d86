"""Baselines fitted to the fixations themselves: a fitted centre bias, the gold standard, the other group.

* ``centerbias`` (:class:`FittedCenterBias`): for image s and group g, the grid KDE (see
  :mod:`asdgaze.models.kde`) of group g's fixations on every *other* image, in normalised image
  coordinates, mixed with the uniform density:
  ``p = (1 - w) KDE_sigma + w / (H W)``. sigma (a fraction of each image side) and w are the
  values maximising the leave-one-image-out log-likelihood of all of group g's fixations.
* ``gold-standard`` (:class:`GoldStandard`, Kümmerer, Wallis & Bethge, PNAS 2015): for viewer v of
  group g on image s, the pixel KDE of the fixations of the *other* viewers of g on s, mixed with the
  fitted centre bias of g for s: ``p = (1 - w) KDE_sigma + w CB``. sigma (pixels) and w maximise the
  leave-one-viewer-out log-likelihood of all of group g's fixations over the dataset. It is the noise
  ceiling; :meth:`GoldStandard.loo_log_likelihoods` scores every fixation by the density built
  without its own viewer.
* ``other-group`` (:class:`OtherGroupPredictor`): for group g on image s, the other group's
  gold-standard density with all its viewers (its fitted sigma, w and centre bias).

Parameters are fitted per group (or given, ``params={group: (sigma, weight)}``). The search is a
log-spaced grid followed by bounded Brent on log sigma between the best point's neighbours; for each sigma the weight w is the exact maximiser of a
concave function on [0, 1] (bounded Brent). Ranges, grids and results are in ``describe()``.
Log-likelihoods are natural logs of pixel probabilities (nats per fixation).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import asdict, dataclass, field

import numpy as np

from asdgaze.data.types import Dataset, Stimulus
from asdgaze.errors import DataError, OptionsError
import asdgaze.models.kde as kde
from asdgaze.models.base import PredictorBase, Traits
from asdgaze.models.registry import register_baseline

__all__ = ["FitResult", "FittedCenterBias", "GoldStandard", "OtherGroupPredictor", "best_mixture_weight"]

#: Grid cells per image side for the centre-bias KDE.
CB_GRID = 64
#: Centre-bias bandwidth search, fraction of each image side.
CB_SIGMA_RANGE = (0.04, 1.0)
#: Gold-standard bandwidth search, pixels.
GOLD_SIGMA_RANGE = (2.0, 256.0)
#: Points of the coarse log-spaced grid; tolerance of the refinement on log sigma.
COARSE_POINTS = 9
REFINE_XATOL = 0.005


@dataclass
class FitResult:
    """One group's fitted bandwidth and mixture weight, with how they were found."""

    sigma: float
    weight: float
    mean_log_likelihood: float  # nats per fixation, held out
    n_fixations: int
    sigma_unit: str
    search: dict = field(default_factory=dict)


def best_mixture_weight(p_model: np.ndarray, p_mix: np.ndarray) -> tuple[float, float]:
    """The w in [0, 1] maximising sum(log((1 - w) p_model + w p_mix)), and that maximum.

    The objective is concave in w, so the bounded search finds its global maximum.

    >>> w, _ = best_mixture_weight(np.array([1.0, 1.0]), np.array([0.5, 0.5]))
    >>> round(w, 4)
    0.0
    """
    from scipy.optimize import minimize_scalar  # here: importing the models package stays free of scipy

    p_model = np.asarray(p_model, dtype=np.float64)
    p_mix = np.asarray(p_mix, dtype=np.float64)
    if len(p_model) == 0:
        return 1.0, 0.0

    def nll(w: float) -> float:
        with np.errstate(divide="ignore"):  # a zero-probability fixation at a bound: -log 0 = inf
            return -float(np.sum(np.log((1.0 - w) * p_model + w * p_mix)))

    res = minimize_scalar(nll, bounds=(0.0, 1.0), method="bounded", options={"xatol": 1e-6})
    w = float(res.x)
    # the optimum may sit exactly on a bound, which the bounded method only approaches
    best = min(((nll(c), c) for c in (0.0, w, 1.0) if np.isfinite(nll(c))), default=(np.inf, w))
    return best[1], -best[0]


def _search(evaluate, lo: float, hi: float) -> tuple[float, float, float, dict]:
    """Maximise ``evaluate(sigmas) -> list[(weight, ll)]`` over sigma in [lo, hi]: a coarse log grid,
    then bounded Brent on log sigma between the best grid point's neighbours (to 0.5 % in sigma).
    Returns sigma, weight, ll and a record of every evaluation."""
    from scipy.optimize import minimize_scalar

    coarse = np.geomspace(lo, hi, COARSE_POINTS)
    tried: dict[float, tuple[float, float]] = dict(zip(coarse.tolist(), evaluate(coarse)))
    k = int(np.argmax([tried[s][1] for s in coarse.tolist()]))
    a, b = coarse[max(k - 1, 0)], coarse[min(k + 1, len(coarse) - 1)]

    def neg(log_s: float) -> float:
        s = float(np.exp(log_s))
        if s not in tried:
            tried[s] = evaluate(np.array([s]))[0]
        return -tried[s][1]

    minimize_scalar(neg, bounds=(np.log(a), np.log(b)), method="bounded", options={"xatol": REFINE_XATOL})
    sigmas = sorted(tried)
    best = max(sigmas, key=lambda s: tried[s][1])
    record = {
        "range": [lo, hi],
        "coarse_grid": [float(s) for s in coarse],
        "refined_between": [float(a), float(b)],
        "evaluated_sigma": [float(s) for s in sigmas],
        "total_log_likelihood": [float(tried[s][1]) for s in sigmas],
        "weight": [float(tried[s][0]) for s in sigmas],
        "at_range_edge": bool(best <= lo * (1 + 1e-9) or best >= hi * (1 - 1e-9)),
    }
    return float(best), float(tried[best][0]), float(tried[best][1]), record


def _jsonable(obj):
    """NaN (a value that could not be estimated) becomes None, so manifests are strict JSON."""
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


def _pixels(dataset: Dataset, group: str, sid: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Integer rows, cols and viewer ids of a group's fixations on an image; DataError if outside."""
    st = dataset.stimuli[sid]
    f = dataset.fixations_for(group, sid)
    if not np.all(f.in_bounds(st.height, st.width)):
        raise DataError(f"{st.path}: group {group} has fixations outside the {st.width}x{st.height} image")
    r, c = f.rows_cols()
    return r, c, np.asarray(f.viewer, dtype=np.int64)


def _check_group(dataset: Dataset, group: str | None, who: str) -> str:
    if group is None:
        raise OptionsError(f"the {who} baseline needs a group (one of {', '.join(dataset.groups)})")
    if group not in dataset.fixations:
        raise OptionsError(f"group {group!r} is not in the dataset (groups: {', '.join(dataset.groups)})")
    return group


@register_baseline("centerbias", label="centre bias (fitted)", default=True, reference=True,
                   help="a 2-D Gaussian KDE of the group's fixations on the other images, mixed with uniform")
class FittedCenterBias(PredictorBase):
    """Leave-one-image-out fitted centre bias per group; fitted at construction (see the module docstring).
    It is the density of the group's fixations on the other images, so it is its own shuffled density."""

    name = "centerbias"
    traits = Traits(group_dependent=True, own_shuffle=True)

    @classmethod
    def fit(cls, context) -> "FittedCenterBias":
        return cls(context.dataset, context.groups)

    def __init__(self, dataset: Dataset, groups: Collection[str] | None = None, grid: int = CB_GRID,
                 sigma_range: tuple[float, float] = CB_SIGMA_RANGE,
                 params: dict[str, tuple[float, float]] | None = None) -> None:
        self.dataset = dataset
        self.params = dict(params or {})
        self.grid = int(grid)
        self.sigma_range = (float(sigma_range[0]), float(sigma_range[1]))
        self.groups = list(groups) if groups is not None else dataset.groups
        self.fits: dict[str, FitResult] = {}
        self._hist: dict[str, dict[str, np.ndarray]] = {}
        self._total: dict[str, np.ndarray] = {}
        self._recent: tuple = (None, {})  # ((stimulus id, shape), {group: probability}): see probability()
        for g in self.groups:
            _check_group(dataset, g, self.name)
            self._fit_group(g)

    # -- fitting --

    def _fit_group(self, g: str) -> None:
        sids = [s for s in self.dataset.stimuli if len(self.dataset.fixations_for(g, s))]
        hists, rows, cols, img = [], [], [], []
        for k, sid in enumerate(sids):
            st = self.dataset.stimuli[sid]
            r, c, _ = _pixels(self.dataset, g, sid)
            h = np.zeros((self.grid, self.grid))
            kde.bin_fixations(h, r, c, st.height, st.width)
            hists.append(h)
            rows.append(r)
            cols.append(c)
            img.append(np.full(len(r), k))
        self._hist[g] = dict(zip(sids, hists))
        n = int(sum(len(r) for r in rows))
        if g in self.params:
            sig, w = self.params[g]
            self.fits[g] = FitResult(float(sig), float(w), float("nan"), n, "fraction of image side", {"given": True})
            return
        if n == 0 or len(sids) < 2:  # nothing to learn from other images: the uniform density
            self.fits[g] = FitResult(float("nan"), 1.0, float("nan"), n, "fraction of image side",
                                     {"note": "fewer than 2 images with fixations; uniform"})
            return
        h_all = np.stack(hists)
        # per fixation: its image's index and interpolation weights (same numbers as its binning)
        corners = []
        for k, sid in enumerate(sids):
            st = self.dataset.stimuli[sid]
            ay, fy = kde.linear_weights(rows[k], st.height, self.grid)
            ax, fx = kde.linear_weights(cols[k], st.width, self.grid)
            corners.append((ay, fy, ax, fx))
        ay = np.concatenate([c[0] for c in corners]); fy = np.concatenate([c[1] for c in corners])
        ax = np.concatenate([c[2] for c in corners]); fx = np.concatenate([c[3] for c in corners])
        img_idx = np.concatenate(img)
        # each image's pixel-sum weights over grid cells (column sums of its interpolation matrices)
        sums_y = np.stack([kde.interpolation_matrix(self.dataset.stimuli[s].height, self.grid).sum(0) for s in sids])
        sums_x = np.stack([kde.interpolation_matrix(self.dataset.stimuli[s].width, self.grid).sum(0) for s in sids])
        uniform = np.array([1.0 / (self.dataset.stimuli[s].height * self.dataset.stimuli[s].width) for s in sids])
        p_uni = uniform[img_idx]

        def evaluate(sigmas: np.ndarray) -> list[tuple[float, float]]:
            out = []
            for s in sigmas:
                p = self._loo_probs(h_all, s, ay, fy, ax, fx, img_idx, sums_y, sums_x, uniform)
                out.append(best_mixture_weight(p, p_uni))
            return out

        sigma, w, ll, record = _search(evaluate, *self.sigma_range)
        record["grid_cells"] = self.grid
        self.fits[g] = FitResult(sigma, w, ll / n, n, "fraction of image side", record)

    def _loo_probs(self, h_all, sigma, ay, fy, ax, fx, img_idx, sums_y, sums_x, uniform) -> np.ndarray:
        """Probability of each fixation's pixel under the KDE of the other images (before mixing)."""
        m = kde.grid_gaussian(self.grid, sigma)
        d = m @ (h_all.sum(0)[None] - h_all) @ m.T  # (S, G, G): smoothing is linear, so total minus own
        np.maximum(d, 0.0, out=d)  # rounding can leave -1e-16 where an image holds all the mass
        z = np.einsum("sa,sab,sb->s", sums_y, d, sums_x)
        q = ((1 - fy) * (1 - fx) * d[img_idx, ay, ax] + (1 - fy) * fx * d[img_idx, ay, ax + 1]
             + fy * (1 - fx) * d[img_idx, ay + 1, ax] + fy * fx * d[img_idx, ay + 1, ax + 1])
        zz = z[img_idx]
        return np.where(zz > 0, q / np.where(zz > 0, zz, 1.0), uniform[img_idx])

    # -- predicting --

    def _group(self, group: str | None) -> str:
        g = _check_group(self.dataset, group, self.name)
        if g not in self.fits:
            raise OptionsError(f"the centre bias was not fitted for group {g!r}")
        return g

    def probability(self, stimulus: Stimulus, group: str) -> np.ndarray:
        """Pixel probabilities (H, W, sums to 1, read-only) of the centre bias for ``group`` on
        ``stimulus``, built without that stimulus' fixations.

        The maps of the last stimulus asked for are kept: scoring an image asks for each group's map
        several times (this baseline, the other group's density, a prior), and each is made once."""
        g = self._group(group)
        key = (stimulus.id, stimulus.shape)
        recent = getattr(self, "_recent", (None, {}))  # one read: another thread may replace it meanwhile
        if recent[0] == key and g in recent[1]:
            return recent[1][g]
        p = self._probability(stimulus, g)
        p.setflags(write=False)
        if recent[0] == key:
            recent[1][g] = p
        else:
            self._recent = (key, {g: p})
        return p

    def _probability(self, stimulus: Stimulus, g: str) -> np.ndarray:
        fit = self.fits[g]
        h, w = stimulus.shape
        uni = 1.0 / (h * w)
        if fit.weight >= 1.0 or not np.isfinite(fit.sigma) or not self._hist[g]:
            return np.full((h, w), uni)
        q = kde.grid_to_pixels(self._smoothed_others(stimulus, g), h, w)
        return (1.0 - fit.weight) * q + fit.weight * uni

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_recent": (None, {})}  # a copy sent to a process leaves the maps behind

    def _smoothed_others(self, stimulus: Stimulus, g: str) -> np.ndarray:
        hists = self._hist[g]
        own = hists.get(stimulus.id)
        total = self._total.setdefault(g, sum(hists.values(), np.zeros((self.grid, self.grid))))
        if own is None:
            others = total
        elif own.sum() < 0.5 * total.sum():
            others = total - own
        else:  # this image holds most of the mass: sum the others, avoiding cancellation
            others = sum((h for sid, h in hists.items() if sid != stimulus.id), np.zeros((self.grid, self.grid)))
        m = kde.grid_gaussian(self.grid, self.fits[g].sigma)
        return np.maximum(m @ others @ m.T, 0.0)

    def probability_at(self, stimulus: Stimulus, group: str, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """``probability(stimulus, group)[rows, cols]`` without building the full map."""
        g = self._group(group)
        fit = self.fits[g]
        h, w = stimulus.shape
        uni = 1.0 / (h * w)
        if fit.weight >= 1.0 or not np.isfinite(fit.sigma) or not self._hist[g]:
            return np.full(len(rows), uni)
        d = self._smoothed_others(stimulus, g)
        ay, fy = kde.linear_weights(rows, h, self.grid)
        ax, fx = kde.linear_weights(cols, w, self.grid)
        q = ((1 - fy) * (1 - fx) * d[ay, ax] + (1 - fy) * fx * d[ay, ax + 1]
             + fy * (1 - fx) * d[ay + 1, ax] + fy * fx * d[ay + 1, ax + 1])
        z = kde.interpolation_matrix(h, self.grid).sum(0) @ d @ kde.interpolation_matrix(w, self.grid).sum(0)
        q = q / z if z > 0 else np.full(len(rows), uni)
        return (1.0 - fit.weight) * q + fit.weight * uni

    def log_density(self, stimulus: Stimulus, group: str | None = None,
                    exclude_viewers: Collection[int] = ()) -> np.ndarray:
        """``exclude_viewers`` is ignored: this image's fixations are never used for it."""
        return np.log(self.probability(stimulus, group))

    def prediction(self, stimulus: Stimulus, group: str | None = None):
        """:meth:`log_density` as a LogDensity, checked on the probabilities it is the log of."""
        from asdgaze.predictions import log_density_of  # here: importing the models package stays free of scipy

        return log_density_of(self.probability(stimulus, group))

    def describe(self) -> dict:
        return {"name": self.name, "grid_cells": self.grid,
                "fits": {g: _jsonable(asdict(f)) for g, f in self.fits.items()}}

    def notes(self) -> list[str]:
        return [f"the fitted centre bias of group {g} is the uniform density: fewer than 2 images have fixations of "
                "that group, so there is nothing to learn from other images; an information gain against it is one "
                "against uniform" for g, f in self.fits.items() if "note" in f.search]


@register_baseline("gold-standard", label="gold standard (noise ceiling)", default=True,
                   help="the noise ceiling: each viewer predicted from the other viewers of the group and image")
class GoldStandard(PredictorBase):
    """Leave-one-viewer-out KDE of a group's fixations on the same image, mixed with the fitted centre bias."""

    name = "gold-standard"
    traits = Traits(group_dependent=True, ceiling=True, leaves_viewers_out=True)

    @classmethod
    def fit(cls, context) -> "GoldStandard":
        return cls(context.dataset, context.get("centerbias"), context.groups)

    def __init__(self, dataset: Dataset, centerbias: FittedCenterBias | None = None,
                 groups: Collection[str] | None = None,
                 sigma_range: tuple[float, float] = GOLD_SIGMA_RANGE,
                 params: dict[str, tuple[float, float]] | None = None) -> None:
        self.dataset = dataset
        self.params = dict(params or {})
        self.groups = list(groups) if groups is not None else dataset.groups
        self.centerbias = centerbias if centerbias is not None else FittedCenterBias(dataset, self.groups)
        self.sigma_range = (float(sigma_range[0]), float(sigma_range[1]))
        self.fits: dict[str, FitResult] = {}
        for g in self.groups:
            _check_group(dataset, g, self.name)
            self._fit_group(g)

    def _cb_at(self, st: Stimulus, g: str, r: np.ndarray, c: np.ndarray) -> np.ndarray:
        return self.centerbias.probability_at(st, g, r, c)

    def _fit_group(self, g: str) -> None:
        items = []  # per image: stimulus, rows, cols, viewers, centre bias at the fixations
        for sid, st in self.dataset.stimuli.items():
            if not len(self.dataset.fixations_for(g, sid)):
                continue
            r, c, v = _pixels(self.dataset, g, sid)
            items.append((st, r, c, v, self._cb_at(st, g, r, c)))
        n = int(sum(len(it[1]) for it in items))
        if g in self.params:
            sig, w = self.params[g]
            self.fits[g] = FitResult(float(sig), float(w), float("nan"), n, "pixels", {"given": True})
            return
        if n == 0:
            self.fits[g] = FitResult(float("nan"), 1.0, float("nan"), 0, "pixels", {"note": "no fixations"})
            return
        cb = np.concatenate([it[4] for it in items])

        def evaluate(sigmas: np.ndarray) -> list[tuple[float, float]]:
            kd = np.concatenate([self._loo_kde(st, r, c, v, sigmas, np.float32) for st, r, c, v, _ in items],
                                axis=1)
            out = []
            for k in range(len(sigmas)):
                has = np.isfinite(kd[k])  # a viewer alone on an image has no others: centre bias only
                w, ll = best_mixture_weight(kd[k][has], cb[has])
                out.append((w, ll + float(np.sum(np.log(cb[~has])))))
            return out

        sigma, w, ll, record = _search(evaluate, *self.sigma_range)
        self.fits[g] = FitResult(sigma, w, ll / n, n, "pixels", record)

    @staticmethod
    def _loo_kde(st: Stimulus, r: np.ndarray, c: np.ndarray, v: np.ndarray, sigmas,
                 dtype=np.float64) -> np.ndarray:
        """(len(sigmas), n): each fixation's pixel probability under the KDE of the other viewers
        (NaN where the viewer is the only one). The search uses float32 kernels (3x faster exp;
        1e-6 relative error, far below the differences between grid points)."""
        order = np.argsort(v, kind="stable")  # viewers contiguous, so per-viewer sums are reduceat
        rs, cs, vs = r[order], c[order], v[order]
        starts = np.flatnonzero(np.r_[True, vs[1:] != vs[:-1]])
        counts = np.diff(np.r_[starts, len(vs)])
        vi = np.repeat(np.arange(len(starts)), counts)
        n_other = len(vs) - counts[vi]
        dy = (rs[:, None] - rs[None, :]).astype(dtype)
        dx = (cs[:, None] - cs[None, :]).astype(dtype)
        d2 = dy * dy + dx * dx
        out = np.empty((len(sigmas), len(r)))
        for k, s in enumerate(sigmas):
            z = kde.truncated_norm_1d(rs, st.height, s) * kde.truncated_norm_1d(cs, st.width, s)
            kmat = np.exp(d2 * dtype(-0.5 / (s * s)))
            kmat /= z.astype(dtype)[None, :]
            # (avoid BLAS here: a tiny matmul under thread contention costs 30x a reduction)
            by_viewer = np.add.reduceat(kmat, starts, axis=1, dtype=np.float64)
            own = by_viewer[np.arange(len(vs)), vi]
            with np.errstate(invalid="ignore", divide="ignore"):
                loo = np.where(n_other > 0, (by_viewer.sum(1) - own) / n_other, np.nan)
            out[k, order] = loo
        return out

    def loo_log_likelihoods(self, stimulus_id: str, group: str) -> np.ndarray:
        """Per-fixation log-likelihood (nats, log pixel probability) of ``group``'s fixations on an
        image, each fixation scored by the gold standard built without its own viewer. Same order
        as ``dataset.fixations_for(group, stimulus_id)``."""
        g = self._group(group)
        st = self.dataset.stimuli[stimulus_id]
        r, c, v = _pixels(self.dataset, g, stimulus_id)
        if len(r) == 0:
            return np.zeros(0)
        fit = self.fits[g]
        cb = self._cb_at(st, g, r, c)
        kd = self._loo_kde(st, r, c, v, [fit.sigma])[0]
        p = np.where(np.isfinite(kd), (1.0 - fit.weight) * np.nan_to_num(kd) + fit.weight * cb, cb)
        return np.log(p)

    def _group(self, group: str | None) -> str:
        g = _check_group(self.dataset, group, self.name)
        if g not in self.fits:
            raise OptionsError(f"the gold standard was not fitted for group {g!r}")
        return g

    def mit_loo_maps(self, stimulus: Stimulus, group: str, max_side: int) -> Iterator:
        """Its MIT-convention maps: for every viewer with others beside them, the continuous fixation map of
        the others by the dataset's recipe (:func:`asdgaze.data.loo_maps.leave_one_viewer_out`)."""
        from asdgaze.data.loo_maps import leave_one_viewer_out

        return leave_one_viewer_out(self.dataset, self._group(group), stimulus.id, max_side)

    def loo_log_densities(self, stimulus: Stimulus, group: str) -> Iterator[tuple[int, np.ndarray]]:
        """(viewer, log-density built without that viewer) for every viewer of ``group`` on
        ``stimulus``: the same maps as ``log_density(stimulus, group, [viewer])``, faster, since the
        kernels of all viewers are summed once and each viewer's own are subtracted."""
        g = self._group(group)
        fit = self.fits[g]
        cb = self.centerbias.probability(stimulus, g)
        r, c, v = _pixels(self.dataset, g, stimulus.id)
        viewers = np.unique(v)
        if len(r) == 0 or not np.isfinite(fit.sigma):
            for viewer in viewers:
                yield int(viewer), np.log(cb)
            return
        ky = kde.kernel_matrix_1d(stimulus.height, r, fit.sigma)
        kx = kde.kernel_matrix_1d(stimulus.width, c, fit.sigma)
        total = ky @ kx.T
        for viewer in viewers:
            own = v == viewer
            n_other = len(r) - int(own.sum())
            if n_other == 0:
                yield int(viewer), np.log(cb)
                continue
            dens = np.maximum(total - ky[:, own] @ kx[:, own].T, 0.0) / n_other
            yield int(viewer), np.log((1.0 - fit.weight) * dens + fit.weight * cb)

    def probability(self, stimulus: Stimulus, group: str | None,
                    exclude_viewers: Collection[int] = ()) -> np.ndarray:
        g = self._group(group)
        fit = self.fits[g]
        cb = self.centerbias.probability(stimulus, g)
        if stimulus.id not in self.dataset.stimuli:
            return cb
        r, c, v = _pixels(self.dataset, g, stimulus.id)
        keep = ~np.isin(v, np.asarray(list(exclude_viewers), dtype=np.int64))
        if not np.any(keep) or not np.isfinite(fit.sigma):
            return cb
        dens = kde.pixel_kde(r[keep], c[keep], stimulus.height, stimulus.width, fit.sigma)
        return (1.0 - fit.weight) * dens + fit.weight * cb

    def log_density(self, stimulus: Stimulus, group: str | None = None,
                    exclude_viewers: Collection[int] = ()) -> np.ndarray:
        """Density of ``group`` on ``stimulus`` from its viewers other than ``exclude_viewers``
        (viewer ids of that image and group); the leave-one-out map of viewer v is
        ``exclude_viewers=[v]``."""
        return np.log(self.probability(stimulus, group, exclude_viewers))

    def prediction(self, stimulus: Stimulus, group: str | None = None):
        """:meth:`log_density` (all viewers) as a LogDensity, checked on the probabilities it is the log of."""
        from asdgaze.predictions import log_density_of

        return log_density_of(self.probability(stimulus, group))

    def describe(self) -> dict:
        return {"name": self.name, "fits": {g: _jsonable(asdict(f)) for g, f in self.fits.items()},
                "centerbias": self.centerbias.describe()}

    def notes(self) -> list[str]:
        return self.centerbias.notes()


@register_baseline("other-group", label="the other group", default=True, groups=2,
                   help="each group's fixations predicted by the other group's density on the same image")
class OtherGroupPredictor(PredictorBase):
    """Group g's fixations predicted by another group's gold-standard density (all its viewers)."""

    name = "other-group"
    traits = Traits(group_dependent=True)

    @classmethod
    def fit(cls, context) -> "OtherGroupPredictor":
        return cls(context.get("gold-standard"))

    def __init__(self, gold: GoldStandard, source: dict[str, str] | None = None) -> None:
        self.gold = gold
        if source is None:
            if len(gold.groups) != 2:
                raise OptionsError("the other-group baseline needs exactly two groups, or a source group "
                                   f"for each (groups: {', '.join(gold.groups)})")
            a, b = gold.groups
            source = {a: b, b: a}
        self.source = dict(source)

    def log_density(self, stimulus: Stimulus, group: str | None = None,
                    exclude_viewers: Collection[int] = ()) -> np.ndarray:
        """``exclude_viewers`` (viewers of ``group``) is ignored: none of them is used."""
        return self.gold.log_density(stimulus, self._source(group))

    def prediction(self, stimulus: Stimulus, group: str | None = None):
        return self.gold.prediction(stimulus, self._source(group))

    def _source(self, group: str | None) -> str:
        if group not in self.source:
            raise OptionsError(f"the other-group baseline has no source group for {group!r}")
        return self.source[group]

    def describe(self) -> dict:
        return {"name": self.name, "source": self.source, "gold_standard": self.gold.describe()}

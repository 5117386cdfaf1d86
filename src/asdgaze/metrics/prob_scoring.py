"""Score one log-density prediction with every probabilistic metric, in one of two modes.

- ``"density"``: every metric on p = exp(log p) itself (LL/IG on log p), which is what
  pysaliency's plain ``DensitySaliencyMapModel`` calls compute.
- ``"metric-specific"`` (Kümmerer, Wallis & Bethge, ECCV 2018; metrics.md section 4.6): each
  metric gets the map that maximises its expected score under p:

  ==========  =====================================================================
  auc         p (any monotone transform scores the same)
  sauc        log p - log p_shuffled (p_shuffled: the model's mean prediction on the other images)
  nss         p
  ll, ig      log p
  cc, kl      p blurred with the empirical map's Gaussian (``Blur``)
  sim         approximation: the same blurred p as CC/KL (pysaliency optimises a SIM map
              iteratively, which is too slow here; the blurred density is the expected
              empirical map, the optimum's starting point). Documented, not exact.
  ==========  =====================================================================

:func:`score_probabilistic` returns the values, the per-fixation values (LL, IG, AUC, sAUC, NSS)
and, per metric, a short description of the map that was scored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable, Literal, Sequence

import numpy as np
from scipy.ndimage import zoom

from asdgaze.metrics import probabilistic as P
from asdgaze.metrics._checks import real_map, same_shape
from asdgaze.predictions import LogDensity

__all__ = ["PROB_METRICS", "Blur", "ProbScore", "ShuffledBaseline", "score_probabilistic", "map_descriptions",
           "shuffled_negatives", "MODES"]

PROB_METRICS: tuple[str, ...] = ("ll", "ig", "auc", "sauc", "nss", "cc", "kl", "sim")
MODES: tuple[str, ...] = ("metric-specific", "density")
Mode = Literal["metric-specific", "density"]


@dataclass(frozen=True)
class Blur:
    """The Gaussian of the empirical map: sigma in pixels and scipy's boundary ``mode``.

    Saliency4ASD's shipped maps use sigma 43 with zero padding ("constant"); pysaliency's
    ``FixationMap`` reflects. (Saliency4ASD's even 258-tap kernel also shifts by half a pixel;
    this blur does not.)
    """

    sigma: float = 43.0
    mode: str = "constant"

    def describe(self) -> str:
        return f"p blurred (Gaussian sigma={self.sigma:g} px, mode={self.mode})"


def _resize_density(d: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A density resampled to ``shape`` (bilinear, pixel-area aligned) and renormalised."""
    if d.shape == tuple(shape):
        return d
    z = zoom(d, (shape[0] / d.shape[0], shape[1] / d.shape[1]), order=1, mode="nearest", grid_mode=True)
    if z.shape != tuple(shape):  # zoom rounds the output size; never expected with exact factors
        raise ValueError(f"resampling {d.shape} to {tuple(shape)} gave {z.shape}")
    z = np.maximum(z, 0.0)
    return z / z.sum()


class ShuffledBaseline:
    """Leave-one-out mean of a model's densities over the images of a dataset, for sAUC's
    ``log p - log p_shuffled``: add every image's log-density, then ask for one image's baseline.

    The mean lives on one grid (``shape``); memory is one (H, W) sum, not a stack. Images of
    another size are resampled bilinearly onto the grid and renormalised, and the baseline is
    resampled back to the asking image's size (pysaliency's benchmark uses a 500x500 grid; with
    Saliency4ASD's images of one size no resampling happens).

    Example:
        >>> a = LogDensity(np.log(np.array([[0.5, 0.5]]))); b = LogDensity(np.log(np.array([[0.25, 0.75]])))
        >>> sb = ShuffledBaseline((1, 2)); sb.add(a); sb.add(b)
        >>> np.exp(sb.log_density_without(a)).tolist()
        [[0.25, 0.75]]
    """

    def __init__(self, shape: tuple[int, int]) -> None:
        self.shape = (int(shape[0]), int(shape[1]))
        self.total = np.zeros(self.shape)
        self.count = 0
        self.parts: dict[object, np.ndarray] = {}  # key -> that image's resampled density (small grid)

    def add(self, pred: LogDensity, key: object = None) -> None:
        """Add one image's density; with ``key`` its resampled density is kept, so that
        :meth:`log_density_without` need not recompute it (the same array: same result)."""
        self.add_part(_resize_density(pred.density(), self.shape), key)

    def add_part(self, part: np.ndarray, key: object = None) -> None:
        """Add one image's density already resampled to ``shape`` (as :meth:`add` resamples it)."""
        self.total += part
        self.count += 1
        if key is not None:
            self.parts[key] = part

    def log_density_without(self, pred: LogDensity, key: object = None) -> np.ndarray:
        """log of the mean density of the other images, on ``pred``'s grid (``pred`` must have been added,
        under ``key`` if one is given)."""
        if self.count < 2:
            raise ValueError("shuffled baseline: needs at least two images")
        part = self.parts.get(key) if key is not None else None
        rest = self.total - (_resize_density(pred.density(), self.shape) if part is None else part)
        # Rounding can leave tiny negatives where pred held nearly all the mass; keep the density positive.
        rest = np.maximum(rest, np.finfo(float).tiny)
        rest = _resize_density(rest / rest.sum(), pred.shape)
        rest = np.maximum(rest, np.finfo(float).tiny)
        return np.log(rest) - math.log(rest.sum())


def shuffled_negatives(
    others: Iterable[tuple[object, object, tuple[int, int]]], shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """sAUC negatives for one image: every fixation of every *other* image, rescaled to ``shape``.

    Args:
        others: ``(xs, ys, (H_other, W_other))`` per other image (same group), 0-based.
        shape: (H, W) of the image being scored.

    Returns:
        (xs, ys) float arrays in this image's frame (duplicates kept; truncated when scored).

    Example:
        >>> shuffled_negatives([([3.0], [1.0], (4, 8)), ([0.5], [0.5], (2, 2))], (8, 4))
        (array([1.5, 1. ]), array([2., 2.]))
    """
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    for ox, oy, oshape in others:
        rx, ry = P.rescale_fixations(ox, oy, oshape, shape)
        xs.append(rx.ravel())
        ys.append(ry.ravel())
    if not xs:
        return np.zeros(0), np.zeros(0)
    return np.concatenate(xs), np.concatenate(ys)


def map_descriptions(mode: Mode, blur: Blur = Blur()) -> dict[str, str]:
    """Which map each metric scores in ``mode`` (for manifests and reports).

    Example:
        >>> map_descriptions("metric-specific")["sauc"], map_descriptions("density")["cc"]
        ('log p - log p_shuffled', 'p')
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if mode == "density":
        return {m: ("log p" if m in ("ll", "ig") else "p") for m in PROB_METRICS}
    return {
        "ll": "log p",
        "ig": "log p",
        "auc": "p",
        "sauc": "log p - log p_shuffled",
        "nss": "p",
        "cc": blur.describe(),
        "kl": blur.describe(),
        "sim": blur.describe() + " (approximation of the SIM-optimal map)",
    }


@dataclass
class ProbScore:
    values: dict[str, float] = field(default_factory=dict)
    per_fixation: dict[str, np.ndarray] = field(default_factory=dict)
    maps: dict[str, str] = field(default_factory=dict)


def score_probabilistic(
    prediction: LogDensity,
    xs: object,
    ys: object,
    *,
    empirical: np.ndarray | None = None,
    baseline: LogDensity | None = None,
    other_xs: object | None = None,
    other_ys: object | None = None,
    shuffled: np.ndarray | None = None,
    mode: Mode = "metric-specific",
    blur: Blur = Blur(),
    blurred: np.ndarray | None = None,
    metrics: Sequence[str] = PROB_METRICS,
    derived: dict | None = None,
    empirical_derived: dict | None = None,
) -> ProbScore:
    """All probabilistic metrics of one image for one group.

    Args:
        prediction: the model's log-density on this image.
        xs, ys: (N,) 0-based fixations of the group on this image.
        empirical: (H, W) empirical map for CC/KL/SIM (e.g. the shipped Saliency4ASD map, or
            :func:`asdgaze.metrics.probabilistic.empirical_map`); required for those metrics.
        baseline: IG baseline log-density; None means uniform.
        other_xs, other_ys: sAUC negatives, other images' fixations already in this image's frame
            (:func:`asdgaze.metrics.probabilistic.rescale_fixations`); required for sAUC.
        shuffled: (H, W) log p_shuffled (:class:`ShuffledBaseline`); required for sAUC in
            ``"metric-specific"`` mode, ignored in ``"density"`` mode.
        mode: ``"metric-specific"`` or ``"density"`` (module docstring).
        blur: the empirical map's Gaussian, for the metric-specific CC/KL/SIM map.
        blurred: that blurred density, if already computed (it depends on the image only, not
            on the group: about 60 ms at 768x1024, so compute it once per image and pass it).
        metrics: a subset of :data:`PROB_METRICS`.
        derived: a dict kept by the caller for this prediction (and ``blurred``): maps derived from
            it (p, its moments, the scored map's density and centring) are computed once and reused
            when the same prediction is scored for another group. Same values as without it.
        empirical_derived: the same for ``empirical`` (shared by every model on this image and group).

    Returns:
        :class:`ProbScore`: ``values`` per metric, ``per_fixation`` for ll, ig (bits), auc,
        sauc, nss, and ``maps``: the map each metric scored.

    Example:
        >>> ld = LogDensity(np.log(np.array([[0.1, 0.2], [0.3, 0.4]])))
        >>> s = score_probabilistic(ld, [1.0], [1.0], metrics=("ll", "auc"), mode="density")
        >>> round(s.values["ll"], 6), s.values["auc"], s.maps["auc"]
        (-0.916291, 0.875, 'p')
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    unknown = [m for m in metrics if m not in PROB_METRICS]
    if unknown:
        raise ValueError(f"unknown probabilistic metric(s) {', '.join(unknown)}; expected {', '.join(PROB_METRICS)}")
    if not isinstance(prediction, LogDensity):
        raise TypeError("score_probabilistic needs a LogDensity; a SaliencyMap has no probabilities")
    logp = prediction.values
    for name, arr in (("empirical", empirical), ("shuffled", shuffled), ("blurred", blurred)):
        if arr is not None and np.shape(arr) != logp.shape:
            raise ValueError(f"{name}: shape {np.shape(arr)} differs from the prediction's {logp.shape}")
    if baseline is not None and baseline.shape != logp.shape:
        raise ValueError(f"baseline: shape {baseline.shape} differs from the prediction's {logp.shape}")
    derived = {} if derived is None else derived
    emp = {} if empirical_derived is None else empirical_derived

    def get(d: dict, key: str, make):
        if key not in d:
            d[key] = make()
        return d[key]

    p = get(derived, "p", prediction.density)
    out = ProbScore()
    specific = mode == "metric-specific"
    described = map_descriptions(mode, blur)

    def put(name: str, per_fix: np.ndarray) -> None:
        out.per_fixation[name] = per_fix
        out.values[name] = float(per_fix.mean()) if per_fix.size else math.nan
        out.maps[name] = described[name]

    if "ll" in metrics:
        put("ll", P.log_likelihoods(logp, xs, ys))
    if "ig" in metrics:
        base = None if baseline is None else baseline.values
        put("ig", P.information_gains(logp, base, xs, ys))
    if "auc" in metrics:
        put("auc", P.auc_per_fixation(p, xs, ys))
    if "nss" in metrics:
        put("nss", P.nss_per_fixation(p, xs, ys, moments=get(derived, "moments", lambda: P.map_moments(p))))
    if "sauc" in metrics:
        if other_xs is None or other_ys is None:
            raise ValueError("sauc needs the other images' fixations (other_xs, other_ys)")
        if specific:
            if shuffled is None:
                raise ValueError("sauc in metric-specific mode needs the shuffled log-density (shuffled=)")
            put("sauc", P.sauc_per_fixation(logp - np.asarray(shuffled, dtype=float), xs, ys, other_xs, other_ys))
        else:
            put("sauc", P.sauc_per_fixation(p, xs, ys, other_xs, other_ys))
    map_metrics = [m for m in ("cc", "kl", "sim") if m in metrics]
    if map_metrics:
        if empirical is None:
            raise ValueError(f"{', '.join(map_metrics)} need the empirical map (empirical=)")
        if specific:
            smap = get(derived, "smap", lambda: P.gaussian_blur(p, blur.sigma, blur.mode) if blurred is None
                       else np.asarray(blurred, float))
        else:
            smap = p
        a = real_map(smap, "saliency")
        b = real_map(empirical, "empirical")
        same_shape(a, b, "saliency", "empirical")
        for m in map_metrics:
            if m == "cc":
                out.values[m] = P.cc_centered(get(derived, "smap_centered", lambda: P.centered(a)),
                                              get(emp, "centered", lambda: P.centered(b)))
            elif not get(emp, "has_mass", lambda: P.has_mass(b)):  # no fixations: as P.kl_div and P.sim
                out.values[m] = math.nan
            else:
                pd_ = get(derived, "smap_density", lambda: P.to_density(a))
                qd = get(emp, "density", lambda: P.to_density(b))
                out.values[m] = P.kl_densities(pd_, qd) if m == "kl" else P.sim_densities(pd_, qd)
            out.maps[m] = described[m]
    return out

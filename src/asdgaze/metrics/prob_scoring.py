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

from asdgaze.metrics import probabilistic as P
from asdgaze.metrics import registry as _registry
from asdgaze.metrics.prob_scorers import ProbInputs
from asdgaze.predictions import LogDensity
from asdgaze.recipe import S4A_SIGMA
from asdgaze.predictions import resize_density as _resize_density

__all__ = ["PROB_METRICS", "Blur", "ProbScore", "ShuffledBaseline", "score_probabilistic", "map_descriptions",
           "shuffled_negatives", "MODES"]

#: The probabilistic metrics scored by default (the registry's, in reporting order).
PROB_METRICS: tuple[str, ...] = _registry.defaults("probabilistic")
MODES: tuple[str, ...] = ("metric-specific", "density")
Mode = Literal["metric-specific", "density"]


@dataclass(frozen=True)
class Blur:
    """The Gaussian of the empirical map: sigma in pixels and scipy's boundary ``mode``.

    Saliency4ASD's shipped maps use sigma 43 with zero padding ("constant"); pysaliency's
    ``FixationMap`` reflects. (Saliency4ASD's even 258-tap kernel also shifts by half a pixel;
    this blur does not.)
    """

    sigma: float = S4A_SIGMA
    mode: str = "constant"

    def describe(self) -> str:
        return f"p blurred (Gaussian sigma={self.sigma:g} px, mode={self.mode})"


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
    """Which map each probabilistic metric scores in ``mode`` (for manifests and reports), from the registry.

    Example:
        >>> map_descriptions("metric-specific")["sauc"], map_descriptions("density")["cc"]
        ('log p - log p_shuffled', 'p')
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    return {m.name: m.scored_map(mode, blur.describe()) for m in _registry.metrics_for("probabilistic")}


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
    specs = {m.name: m for m in _registry.metrics_for("probabilistic")}  # read per call: the one list
    unknown = [m for m in metrics if m not in specs]
    if unknown:
        raise ValueError(f"unknown probabilistic metric(s) {', '.join(unknown)}; expected {', '.join(specs)}")
    if not isinstance(prediction, LogDensity):
        raise TypeError("score_probabilistic needs a LogDensity; a SaliencyMap has no probabilities")
    logp = prediction.values
    for name, arr in (("empirical", empirical), ("shuffled", shuffled), ("blurred", blurred)):
        if arr is not None and np.shape(arr) != logp.shape:
            raise ValueError(f"{name}: shape {np.shape(arr)} differs from the prediction's {logp.shape}")
    if baseline is not None and baseline.shape != logp.shape:
        raise ValueError(f"baseline: shape {baseline.shape} differs from the prediction's {logp.shape}")
    inputs = ProbInputs(prediction, xs, ys, empirical, None if baseline is None else baseline.values, other_xs,
                        other_ys, shuffled, mode == "metric-specific", blur, blurred,
                        {} if derived is None else derived, {} if empirical_derived is None else empirical_derived)
    out = ProbScore()
    for m in metrics:
        spec = specs[m]
        value, per_fix = spec.scorer(inputs, m)
        out.values[m] = value
        if per_fix is not None:
            out.per_fixation[m] = per_fix
        out.maps[m] = spec.scored_map(mode, blur.describe())
    return out

"""All nine MIT-convention metrics for one saliency map against several groups, sharing work.

The evaluate command calls :func:`score_mit` once per image (typically from a
``concurrent.futures.ProcessPoolExecutor`` over images). The saliency map is resized,
min-max scaled, z-scored and EMD-downscaled once per image and reused for every group and metric;
the baseline is prepared once. Values are bit-identical to the single-metric functions of
:mod:`asdgaze.metrics` called with the same random streams.

Random streams: the stochastic metrics (``auc_judd`` jitter, ``auc_borji`` draws,
``auc_shuffled`` permutations) of group g on image i use
``metric_rng(seed, image_id, g, metric)`` (:mod:`asdgaze.metrics.streams`), so results are
reproducible and independent of processing order, worker count and which metrics were asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Mapping, Sequence

import numpy as np

from asdgaze.metrics import registry as _registry
from asdgaze.metrics._checks import bool_map, positive_float, positive_int, real_map, same_shape
from asdgaze.metrics._prepared import PreparedDensity, PreparedSaliency
from asdgaze.metrics.mit_scorers import MitInputs

if TYPE_CHECKING:  # typing only: metrics does not import the data package
    from asdgaze.data.types import Fixations

__all__ = ["MIT_METRICS", "Target", "score_mit"]

# Derived from the registry (kept under this name for callers that import it).
MIT_METRICS: tuple[str, ...] = tuple(m.name for m in _registry.metrics_for("mit"))

_UNSET = object()


class Target:
    """One group's ground truth on one image: its fixations and the maps derived from them.

    Built either from the maps (``Target(fixation_map, density, other_map)``) or from the
    fixations (:meth:`from_fixations`), in which case the binary map is
    ``fixations.binary_map(*shape)`` and the continuous map comes from ``make_density()``, each
    made on first use and cached.

    Attributes:
        fixation_map: (H, W) bool, True at fixated pixels.
        density: (H, W) float64 continuous fixation map C in 0..1.
        other_map: (H, W) bool union of other images' fixations, for shuffled AUC (or None).
        fixations: the group's :class:`~asdgaze.data.types.Fixations` on the image (x, y with
            duplicates, viewer ids), or None when built from maps only.
        derived: what :func:`score_mit` derives from the target alone (fixated pixels, the prepared
            continuous map, sAUC's candidates), kept for every map scored against it; so a target must
            not be changed once scored.
    """

    def __init__(self, fixation_map: np.ndarray | None = None, density: np.ndarray | None = None,
                 other_map: np.ndarray | None = None, *, fixations: Fixations | None = None,
                 shape: tuple[int, int] | None = None,
                 make_density: Callable[[], np.ndarray] | None = None) -> None:
        if fixation_map is None and (fixations is None or shape is None):
            raise ValueError("Target: give fixation_map, or fixations and shape")
        if density is None and make_density is None:
            raise ValueError("Target: give density or make_density")
        self.fixations = fixations
        self.shape = shape
        self.other_map = other_map
        self._fixation_map = fixation_map
        self._density = density
        self._make_density = make_density
        self.derived: dict = {}

    @classmethod
    def from_fixations(cls, fixations: Fixations, shape: tuple[int, int], make_density: Callable[[], np.ndarray],
                       other_map: np.ndarray | None = None) -> "Target":
        """A target whose maps are derived on demand from ``fixations`` on an image of ``shape`` (H, W)."""
        return cls(None, None, other_map, fixations=fixations, shape=shape, make_density=make_density)

    @property
    def fixation_map(self) -> np.ndarray:
        if self._fixation_map is None:
            self._fixation_map = self.fixations.binary_map(*self.shape)
        return self._fixation_map

    @property
    def density(self) -> np.ndarray:
        if self._density is None:
            self._density = self._make_density()
        return self._density


def score_mit(
    saliency: np.ndarray,
    targets: Mapping[str, Target],
    baseline: np.ndarray,
    *,
    metrics: Sequence[str] = MIT_METRICS,
    seed: int = 0,
    n_splits: int = 100,
    step_size: float = 0.1,
    image_id: object = "",
    emd_downsize: int = 32,
    prepared: dict[tuple[int, int], PreparedSaliency] | None = None,
    baseline_prepared: dict[tuple[int, int], PreparedSaliency] | None = None,
) -> dict[str, dict[str, float]]:
    """Score one saliency map against each group's targets with the MIT-convention metrics.

    Each entry equals the corresponding single-metric function: ``auc_judd`` (jitter on),
    ``auc_borji``, ``auc_shuffled``, ``nss``, ``cc`` (S vs C), ``kl`` = :func:`kl_div` (S vs C),
    ``sim`` (S vs C), ``ig`` = :func:`info_gain` (S vs ``baseline``), ``emd`` (S vs C).

    Args:
        saliency: (h, w) saliency map, any real dtype.
        targets: group name -> :class:`Target`.
        baseline: (h', w') baseline map for information gain (needed only if "ig" is asked for).
        metrics: metric names, MIT entries of the registry (:mod:`asdgaze.metrics.registry`; default:
            :data:`MIT_METRICS`, the registry's MIT names when this module was imported).
        seed: base seed of the random streams (see the module docstring).
        n_splits: splits of AUC-Borji and shuffled AUC.
        step_size: threshold step of AUC-Borji and shuffled AUC.
        image_id: identifier of the image, mixed into the random streams so every image gets its
            own draws; pass the stimulus id.
        emd_downsize: EMD shrink factor (MIT: 32).
        prepared, baseline_prepared: caches (shape -> prepared map) kept by a caller that scores the
            same ``saliency`` (or ``baseline``) array again, e.g. on every image of one size; derived
            forms are then computed once. Pass a cache only with the array it was filled from.

    Returns:
        ``{group: {metric: value}}`` in the order of ``metrics``; NaN where a metric is undefined.

    Example:
        >>> f = np.zeros((4, 6), bool); f[1, 2] = f[2, 4] = True
        >>> y, x = np.mgrid[0:4, 0:6]
        >>> c = np.exp(-((y - 1.5) ** 2 + (x - 3) ** 2) / 4)
        >>> out = score_mit(c, {"TD": Target(f, c, f)}, np.ones((4, 6)) + c, metrics=("cc", "sim"))
        >>> out
        {'TD': {'cc': 1.0, 'sim': 1.0}}
    """
    specs = {m.name: m for m in _registry.metrics_for("mit")}  # read per call: the registry is the one list
    wanted = tuple(metrics)
    unknown = [m for m in wanted if m not in specs]
    if unknown:
        raise ValueError(f"metrics: unknown name(s) {unknown}; choose from {tuple(specs)}")
    needs = set().union(*(specs[m].needs for m in wanted))
    s = real_map(saliency, "saliency")
    n_splits = positive_int(n_splits, "n_splits")
    step = positive_float(step_size, "step_size")
    downsize = positive_int(emd_downsize, "emd_downsize")
    base = real_map(baseline, "baseline") if "baseline" in needs else None

    preps: dict[tuple[int, int], PreparedSaliency] = {} if prepared is None else prepared
    bases: dict[tuple[int, int], PreparedSaliency] = {} if baseline_prepared is None else baseline_prepared
    out: dict[str, dict[str, float]] = {}
    for group, t in targets.items():
        f = bool_map(t.fixation_map, f"targets[{group!r}].fixation_map")
        shape = f.shape
        kept = t.derived  # parts of the target alone, made once for every map scored against it
        if "fix" not in kept:
            kept["fix"] = np.flatnonzero(f)
        c = None
        if "continuous_map" in needs:
            if "density" not in kept:
                d = real_map(t.density, f"targets[{group!r}].density")
                same_shape(d, f, f"targets[{group!r}].density", f"targets[{group!r}].fixation_map")
                kept["density"] = PreparedDensity(d)
            c = kept["density"]
        prep = preps[shape] if shape in preps else preps.setdefault(shape, PreparedSaliency(s, shape))

        def base_prep(shape: tuple[int, int] = shape) -> PreparedSaliency:
            return bases[shape] if shape in bases else bases.setdefault(shape, PreparedSaliency(base, shape))

        inputs = MitInputs(prep, kept["fix"], shape, group, c, t.other_map,
                           base_prep if base is not None else None, seed, image_id, n_splits, step, downsize,
                           kept)
        out[group] = {m: specs[m].scorer(inputs, m) for m in wanted}
    return out

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

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from asdgaze.metrics import auc as _auc
from asdgaze.metrics import distribution as _dist
from asdgaze.metrics import transport as _emd
from asdgaze.metrics import location as _loc
from asdgaze.metrics._checks import bool_map, positive_float, positive_int, real_map, same_shape
from asdgaze.metrics._prepared import PreparedSaliency
from asdgaze.metrics.streams import metric_rng

__all__ = ["MIT_METRICS", "Target", "score_mit"]

MIT_METRICS: tuple[str, ...] = (
    "auc_judd",
    "auc_borji",
    "auc_shuffled",
    "nss",
    "cc",
    "kl",
    "sim",
    "ig",
    "emd",
)


@dataclass
class Target:
    """One group's ground truth on one image.

    Attributes:
        fixation_map: (H, W) bool, True at fixated pixels.
        density: (H, W) float64 continuous fixation map C in 0..1.
        other_map: (H, W) bool union of other images' fixations, for shuffled AUC (or None).
    """

    fixation_map: np.ndarray
    density: np.ndarray
    other_map: np.ndarray | None = None


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
        metrics: metric names, a subset of :data:`MIT_METRICS`.
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
    wanted = tuple(metrics)
    unknown = [m for m in wanted if m not in MIT_METRICS]
    if unknown:
        raise ValueError(f"metrics: unknown name(s) {unknown}; choose from {MIT_METRICS}")
    s = real_map(saliency, "saliency")
    n_splits = positive_int(n_splits, "n_splits")
    step = positive_float(step_size, "step_size")
    downsize = positive_int(emd_downsize, "emd_downsize")
    base = real_map(baseline, "baseline") if "ig" in wanted else None

    preps: dict[tuple[int, int], PreparedSaliency] = {} if prepared is None else prepared
    bases: dict[tuple[int, int], PreparedSaliency] = {} if baseline_prepared is None else baseline_prepared
    out: dict[str, dict[str, float]] = {}
    for group, t in targets.items():
        f = bool_map(t.fixation_map, f"targets[{group!r}].fixation_map")
        shape = f.shape
        need_density = any(m in wanted for m in ("cc", "kl", "sim", "emd"))
        if need_density:
            c = real_map(t.density, f"targets[{group!r}].density")
            same_shape(c, f, f"targets[{group!r}].density", f"targets[{group!r}].fixation_map")
            cflat = c.ravel()
        prep = preps[shape] if shape in preps else preps.setdefault(shape, PreparedSaliency(s, shape))
        fix = np.flatnonzero(f)
        res: dict[str, float] = {}
        for m in wanted:
            if m == "auc_judd":
                res[m] = _auc._judd(prep, fix, True, metric_rng(seed, image_id, group, m))
            elif m == "auc_borji":
                rng = metric_rng(seed, image_id, group, m)
                draws = _auc.borji_draws(fix.size, f.size, n_splits, rng)
                res[m] = _auc._borji(prep, fix, draws, step)
            elif m == "auc_shuffled":
                if t.other_map is None:
                    raise ValueError(f"targets[{group!r}].other_map is None but 'auc_shuffled' was requested")
                o = bool_map(t.other_map, f"targets[{group!r}].other_map", shape)
                cand = _auc.other_candidates(o)
                rng = metric_rng(seed, image_id, group, m)
                perms = _auc.shuffle_permutations(cand.size, min(fix.size, cand.size), n_splits, rng)
                res[m] = _auc._shuffled(prep, fix, cand, perms, step)
            elif m == "nss":
                res[m] = _loc._nss(prep, fix)
            elif m == "cc":
                res[m] = _dist._cc(prep, cflat)
            elif m == "kl":
                res[m] = _dist._kl(prep, cflat)
            elif m == "sim":
                res[m] = _dist._sim(prep, cflat)
            elif m == "ig":
                bprep = bases[shape] if shape in bases else bases.setdefault(shape, PreparedSaliency(base, shape))
                res[m] = _loc._info_gain(prep, bprep, fix)
            elif m == "emd":
                res[m] = _emd._emd(prep, _emd.downscale_density(c, downsize))
            else:  # pragma: no cover - guarded above
                res[m] = math.nan
        out[group] = res
    return out

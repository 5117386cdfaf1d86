"""The probabilistic convention (pysaliency) for one model on one image: rows and per-fixation values."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from asdgaze.data.types import Dataset
from asdgaze.evaluation.models import _SHAPE_CACHE, GOLD_MAP, IGBaseline, Model, Shuffled
from asdgaze.metrics import probabilistic as P
from asdgaze.metrics.prob_scoring import PROB_METRICS, Blur, map_descriptions, score_probabilistic, shuffled_negatives

#: The gold standard is scored on these only (per fixation, leave-one-viewer-out; see the README).
GOLD_METRICS = ("ll", "ig")
LN2 = math.log(2.0)


def other_fixations(dataset: Dataset, group: str, stem: str) -> tuple[np.ndarray, np.ndarray]:
    """sAUC negatives: every fixation of every other image of ``group``, in ``stem``'s frame."""
    shape = dataset.stimuli[stem].shape
    others = []
    for sid, fix in dataset.fixations.get(group, {}).items():
        if sid == stem or sid not in dataset.stimuli or not len(fix):
            continue
        others.append((fix.x, fix.y, dataset.stimuli[sid].shape))
    return shuffled_negatives(others, shape)


def score_model_prob(model: Model, dataset: Dataset, stem: str, groups: tuple[str, ...],
                     empirical: dict[str, np.ndarray], ig_base: IGBaseline, shuffled: Shuffled,
                     mode: str, metrics: tuple[str, ...], blur: Blur, cache: dict | None = None
                     ) -> tuple[list[dict], list[dict]]:
    """Rows (model, convention, metric, value, ...) and per-fixation rows of ``model`` on ``stem``.

    ``cache``: one image's densities and sAUC negatives, shared between models."""
    cache = {} if cache is None else cache
    stim = dataset.stimuli[stem]
    rows: list[dict[str, Any]] = []
    per_fix: list[dict[str, Any]] = []
    described = map_descriptions(mode, blur)  # type: ignore[arg-type]
    pred = None
    derived: dict = {}
    for group in groups:
        fix = dataset.fixations_for(group, stem)
        xs, ys = fix.x, fix.y
        base = ig_base.log_density(stim, group, cache)
        common = dict(image=stem, group=group, convention="probabilistic", n_fixations=len(fix),
                      model=model.name, n_viewers=fix.n_viewers)
        if model.kind == "baseline" and model.name == "gold-standard":
            ll = model.predictor.loo_log_likelihoods(stem, group)
            values = {"ll": ll, "ig": (ll - P.log_likelihoods(base.values, xs, ys)) / LN2}
            for m in (m for m in metrics if m in GOLD_METRICS):
                v = values[m]
                rows.append({**common, "metric": m, "value": float(v.mean()) if v.size else math.nan,
                             "baseline": ig_base.option if m == "ig" else "", "saliency_map": GOLD_MAP})
                per_fix.append(_fix_rows(model.name, m, group, fix.viewer, v))
            continue
        if pred is None or model.group_dependent:
            pred = model.log_density(stim, group, cache)
            # maps derived from this density (p, its blur, moments...), reused for the other group;
            # a shape-only density (uniform) keeps them for every image of its size
            derived = (_SHAPE_CACHE.setdefault(("derived", model.name, stim.shape, mode, blur), {})
                       if model.shape_only else {})
        ox = oy = shuf = None
        if "sauc" in metrics:
            if ("others", group) not in cache:
                cache[("others", group)] = other_fixations(dataset, group, stem)
            ox, oy = cache[("others", group)]
            if mode == "metric-specific":
                shuf = shuffled.log_density(model, group, stem, pred)
        score = score_probabilistic(pred, xs, ys, empirical=empirical[group], baseline=base, other_xs=ox,
                                    other_ys=oy, shuffled=shuf, mode=mode, blur=blur, metrics=metrics,
                                    derived=derived, empirical_derived=cache.setdefault(("empirical", group), {}))  # type: ignore[arg-type]
        for m in metrics:
            rows.append({**common, "metric": m, "value": float(score.values[m]),
                         "baseline": ig_base.option if m == "ig" else "", "saliency_map": described[m]})
            if m in score.per_fixation:
                per_fix.append(_fix_rows(model.name, m, group, fix.viewer, score.per_fixation[m]))
    return rows, per_fix


def _fix_rows(model: str, metric: str, group: str, viewer: np.ndarray, values: np.ndarray) -> dict[str, Any]:
    """One (model, metric, group) block of per-fixation values, compact (expanded when written)."""
    return {"model": model, "metric": metric, "group": group, "viewer": [int(v) for v in viewer],
            "value": [float(x) for x in values]}


__all__ = ["score_model_prob", "other_fixations", "GOLD_METRICS", "PROB_METRICS"]

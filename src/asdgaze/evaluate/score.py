"""One image, every model, both conventions: a pure function of the plan and the image's id.

:func:`score_image` returns the image's rows, per-fixation values, notes and failures; a bad input fails
its (image, group) pairs for that model, never the run. What each model is and needs is read from its
traits and from the metric registry, never from its name.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np

from asdgaze.data.fixmaps import continuous_map, other_fixation_map
from asdgaze.data.loo_maps import grid_factor
from asdgaze.data.types import Dataset
from asdgaze.errors import AsdgazeError
from asdgaze.evaluate.options import EvaluateOptions
from asdgaze.evaluate.regions import region_rows
from asdgaze.evaluate.scored import ImageCache, Scored, WorkerCache
from asdgaze.evaluate.shuffled import Shuffled
from asdgaze.maps.io import check_aspect
from asdgaze.metrics import registry
from asdgaze.metrics._checks import is_constant
from asdgaze.metrics.prob_scoring import Blur, score_probabilistic, shuffled_negatives
from asdgaze.metrics.probabilistic import log_likelihoods
from asdgaze.metrics.streams import metric_rng
from asdgaze.metrics.suite import Target, score_mit
from asdgaze.models.priors import Prior

__all__ = ["Plan", "score_image", "LOO_MAP", "loo_mit_map"]

LN2 = math.log(2.0)
#: The map a leave-one-viewer-out model (the gold standard) scores.
LOO_MAP = ("leave-one-viewer-out: each viewer's fixations scored by the density of the other viewers "
           "of the same group on the same image (KDE mixed with the fitted centre bias)")


@dataclass
class Plan:
    """Everything scoring one image needs; built once (:mod:`asdgaze.evaluate.plan`), read-only after."""

    dataset: Dataset
    options: EvaluateOptions
    models: list[Scored]
    mit_prior: Prior
    prob_prior: Prior | None = None
    shuffled: Shuffled = field(default_factory=Shuffled)
    blur: Blur = Blur()

    @property
    def groups(self) -> tuple[str, ...]:
        return tuple(self.options.groups or self.dataset.groups)


def score_image(plan: Plan, stem: str, worker: WorkerCache | None = None) -> dict[str, Any]:
    """Score one image with every model and convention: its rows, per-fixation values, notes and failures."""
    t0 = time.perf_counter()
    dataset = plan.dataset
    failures: list[list[str]] = []
    ok_groups = []
    for group in plan.groups:
        problem = dataset.problem(group, stem)
        if problem is not None:
            failures.append([stem, group, problem])
        elif stem not in dataset.stimuli:
            failures.append([stem, group, f"image {stem}: no readable image for these fixations"])
        elif group not in dataset.fixations:  # every file of the group failed to load
            failures.append([stem, group, f"group {group}: no readable fixations for any image"])
        elif len(dataset.fixations_for(group, stem)) == 0:  # every metric is undefined (MIT's KL, SIM: a false 0)
            failures.append([stem, group, dataset.no_fixations(group, stem)])
        else:
            ok_groups.append(group)
    rows: list[dict[str, Any]] = []
    notes: list[list[Any]] = []
    per_fix: list[dict[str, Any]] = []
    cache = ImageCache(worker=worker or WorkerCache())  # this image's densities, shared by every step
    if ok_groups:
        try:
            rows, notes, per_fix, failed = _image_rows(plan, stem, tuple(ok_groups), cache)
            failures += failed
        except AsdgazeError as e:  # anything else is a bug and must surface
            failures += [[stem, g, str(e)] for g in ok_groups]
            rows, per_fix = [], []
    out = {"image": stem, "rows": rows, "per_fixation": per_fix, "notes": notes, "failures": failures}
    if dataset.regions is not None:  # where the groups look (evaluate/regions.py); only with regions
        out.update(region_rows(plan, stem, tuple(ok_groups), {r["model"] for r in rows}, cache))
    return {**out, "seconds": time.perf_counter() - t0}


def _targets(plan: Plan, stem: str, groups: tuple[str, ...]) -> dict[str, Target]:
    dataset, options = plan.dataset, plan.options
    h, w = dataset.stimuli[stem].shape
    targets: dict[str, Target] = {}
    for group in groups:
        fix = dataset.fixations_for(group, stem)
        rng = metric_rng(options.seed, stem, group, "other_images")
        other = other_fixation_map(dataset, group, stem, n_other=options.shuffled_n_other, rng=rng)
        targets[group] = Target.from_fixations(fix, (h, w), partial(continuous_map, dataset, group, stem), other)
        targets[group].density  # made here: a bad N_s.png fails the image once, not once per model
    return targets


def _image_rows(plan: Plan, stem: str, groups: tuple[str, ...], cache: ImageCache
                ) -> tuple[list[dict[str, Any]], list[list[Any]], list[dict[str, Any]], list[list[str]]]:
    """Rows, notes, per-fixation blocks and failures of every model on one image."""
    conventions = plan.options.conventions
    rows: list[dict[str, Any]] = []
    notes: list[list[Any]] = []
    per_fix: list[dict[str, Any]] = []
    failures: list[list[str]] = []
    targets = _targets(plan, stem, groups)
    single = len(plan.models) == 1
    for model in plan.models:
        if not model.predictor.covers(stem):
            continue
        try:
            if "mit" in conventions:
                t = time.perf_counter()
                rows_of = _mit_loo_rows if model.traits.leaves_viewers_out else _mit_rows
                r, n = rows_of(plan, model, stem, groups, targets, cache)
                rows += r
                notes += n
                notes.append(["timing", f"{model.name}/mit", time.perf_counter() - t])
            if "probabilistic" in conventions and model.traits.density:
                t = time.perf_counter()
                r, pf = _prob_rows(plan, model, stem, groups, {g: targets[g].density for g in groups}, cache)
                rows += r
                per_fix += pf
                notes.append(["timing", f"{model.name}/probabilistic", time.perf_counter() - t])
        except AsdgazeError as e:
            if single:
                raise
            rows = [r for r in rows if r["model"] != model.name]
            per_fix = [b for b in per_fix if b["model"] != model.name]
            failures += [[stem, g, f"{model.name}: {e}"] for g in groups]
    return rows, notes, per_fix, failures


def _mit_baseline(plan: Plan, stem: str, group: str, cache: ImageCache) -> tuple[np.ndarray, dict]:
    """The MIT IG baseline map and its prepared forms; a prior that depends on the image's size alone is
    made and prepared once per size and process."""
    stim = plan.dataset.stimuli[stem]
    if "ig" not in plan.options.metrics:
        return cache.worker.get(("mit_baseline_unused", stim.shape), lambda: (np.ones(stim.shape), {}))
    prior = plan.mit_prior
    make = (lambda: (prior.mit_map(stim, group), {}))
    if prior.shape_only:
        return cache.worker.get(("mit_baseline", stim.shape), make)
    return cache.get(("mit_baseline", group if prior.group_dependent else None), make)


def _mit_rows(plan: Plan, model: Scored, stem: str, groups: tuple[str, ...], targets: dict[str, Target],
              cache: ImageCache) -> tuple[list[dict[str, Any]], list[list[str]]]:
    dataset, options = plan.dataset, plan.options
    stim = dataset.stimuli[stem]
    h, w = stim.shape
    notes: list[list[str]] = []  # [kind, text]: kinds are summed up once per run
    kw = dict(metrics=options.metrics, seed=options.seed, image_id=stem, n_splits=options.n_splits,
              step_size=options.step_size)
    scores: dict[str, dict[str, float]] = {}
    # one map for every group unless it depends on the group; then one per group
    for batch in ([(g,) for g in groups] if model.traits.group_dependent or plan.mit_prior.group_dependent
                  else [groups]):
        sal, read_notes = model.saliency(stim, batch[0], cache)
        notes += read_notes
        where = model.predictor.where(stim)
        if sal.shape != (h, w):
            check_aspect(where, sal.shape, stem, (h, w), options.allow_aspect_change)
            mh, mw = sal.shape
            # score_mit resizes it per metric exactly as the MIT code does (EMD from the original size).
            notes.append(["resized", f"{where}: map is {mw}x{mh}, image {stem} is {w}x{h} (width x height)"])
        if is_constant(sal) and not model.traits.shape_only:
            notes.append(["constant", f"{where}: constant map (every pixel {sal.flat[0]:.6g})"])
        prepared = (cache.worker.get(("mit_prepared", id(model.predictor), (h, w)), dict)
                    if model.traits.shape_only else None)
        base, base_prepared = _mit_baseline(plan, stem, batch[0], cache)
        scores.update(score_mit(sal, {g: targets[g] for g in batch}, base, prepared=prepared,
                                baseline_prepared=base_prepared, **kw))
    described = model.predictor.mit_map_scored
    rows = []
    for group in groups:
        fix = dataset.fixations_for(group, stem)
        for metric in options.metrics:
            rows.append(dict(model=model.name, convention="mit", image=stem, group=group, metric=metric,
                             value=float(scores[group][metric]),
                             baseline=options.ig_baseline if metric == "ig" else "", n_fixations=len(fix),
                             n_viewers=fix.n_viewers, saliency_map=described))
    return rows, notes


def loo_mit_map(f: int) -> str:
    """The map the MIT convention's leave-one-viewer-out model (the gold standard) scores, on cells of f px."""
    grid = "full resolution" if f == 1 else f"a grid of {f}x{f}-pixel cells (recipe's Gaussian / {f})"
    return ("leave-one-viewer-out: each viewer's fixations against the continuous fixation map of the other "
            f"viewers of the same group and image (the dataset's recipe), on {grid}; mean over the viewers")


def _mit_loo_rows(plan: Plan, model: Scored, stem: str, groups: tuple[str, ...], targets: dict[str, Target],
                  cache: ImageCache) -> tuple[list[dict[str, Any]], list[list[str]]]:
    """The MIT rows of a leave-one-viewer-out model: every metric the registry lets the ceiling score (EMD
    excepted), per viewer against the map of the others, averaged over the viewers with a value."""
    dataset, options = plan.dataset, plan.options
    specs = {m.name: m for m in registry.metrics_for("mit")}
    metrics = tuple(m for m in options.metrics if not specs[m].no_ceiling)
    stim = dataset.stimuli[stem]
    kw = dict(metrics=metrics, seed=options.seed, image_id=stem, n_splits=options.n_splits,
              step_size=options.step_size)
    rows: list[dict[str, Any]] = []
    notes: list[list[str]] = []
    f = grid_factor(stim.shape, options.ceiling_grid)
    prepared: dict[int, dict] = {}  # the baseline on the grid, prepared once for every viewer (and group)
    for group in groups:
        fix = dataset.fixations_for(group, stem)
        base, _ = _mit_baseline(plan, stem, group, cache)
        other = targets[group].other_map
        other = None if other is None else _cells_any(other, f)
        bases = prepared.setdefault(id(base), {})
        values: dict[str, list[float]] = {m: [] for m in metrics}
        for vm in model.predictor.mit_loo_maps(stim, group, options.ceiling_grid):
            key = f"{group}/viewer {vm.viewer}"
            t = Target(vm.own.binary_map(*vm.shape), None, other, make_density=vm.own_map)
            for m, v in score_mit(vm.others, {key: t}, base, baseline_prepared=bases, **kw)[key].items():
                values[m].append(v)
        n_scored = len(values[metrics[0]]) if metrics else 0
        if metrics and n_scored == 0:
            notes.append(["one viewer", f"image {stem}, group {group}: one viewer, so no MIT ceiling"])
        for metric in metrics:
            v = np.asarray(values[metric], dtype=np.float64)
            value = float(np.mean(v[np.isfinite(v)])) if np.isfinite(v).any() else math.nan
            rows.append(dict(model=model.name, convention="mit", image=stem, group=group, metric=metric, value=value,
                             baseline=options.ig_baseline if metric == "ig" else "", n_fixations=len(fix),
                             n_viewers=int(np.isfinite(v).sum()), saliency_map=loo_mit_map(f)))
    return rows, notes


def _cells_any(a: np.ndarray, f: int) -> np.ndarray:
    """A bool map on cells of f x f pixels: True where any pixel of the cell is."""
    if f == 1:
        return a
    h, w = a.shape
    padded = np.zeros((-(-h // f) * f, -(-w // f) * f), dtype=bool)
    padded[:h, :w] = a
    return padded.reshape(padded.shape[0] // f, f, padded.shape[1] // f, f).any(axis=(1, 3))


def other_fixations(dataset: Dataset, group: str, stem: str) -> tuple[np.ndarray, np.ndarray]:
    """sAUC negatives: every fixation of every other image of ``group``, in ``stem``'s frame."""
    shape = dataset.stimuli[stem].shape
    others = []
    for sid, fix in dataset.fixations.get(group, {}).items():
        if sid == stem or sid not in dataset.stimuli or not len(fix):
            continue
        others.append((fix.x, fix.y, dataset.stimuli[sid].shape))
    return shuffled_negatives(others, shape)


def _prob_rows(plan: Plan, model: Scored, stem: str, groups: tuple[str, ...], empirical: dict[str, np.ndarray],
               cache: ImageCache) -> tuple[list[dict], list[dict]]:
    """Rows and per-fixation blocks of ``model`` on ``stem`` in the probabilistic convention."""
    dataset, options = plan.dataset, plan.options
    stim = dataset.stimuli[stem]
    mode, blur, metrics = options.saliency_maps, plan.blur, options.prob_metrics
    prior = plan.prob_prior
    specs = {m.name: m for m in registry.metrics_for("probabilistic")}
    rows: list[dict[str, Any]] = []
    per_fix: list[dict[str, Any]] = []
    pred = None
    derived: dict = {}
    for group in groups:
        fix = dataset.fixations_for(group, stem)
        xs, ys = fix.x, fix.y
        base = cache.get(prior.cache_key(group), lambda: prior.log_density(stim, group))
        common = dict(image=stem, group=group, convention="probabilistic", n_fixations=len(fix),
                      model=model.name, n_viewers=fix.n_viewers)
        if model.traits.leaves_viewers_out:
            # per viewer against the density without that viewer: only the metrics that need nothing else
            ll = model.predictor.loo_log_likelihoods(stem, group)
            values = {"ll": ll, "ig": (ll - log_likelihoods(base.values, xs, ys)) / LN2}
            for m in (m for m in metrics if m in values):
                v = values[m]
                rows.append({**common, "metric": m, "value": float(v.mean()) if v.size else math.nan,
                             "baseline": prior.option if m == "ig" else "", "saliency_map": LOO_MAP})
                per_fix.append(_fix_rows(model.name, m, group, fix.viewer, v))
            continue
        if pred is None or model.traits.group_dependent:
            pred = model.density(stim, group, cache)
            # maps derived from this density (p, its blur, moments...), reused for the other group;
            # a shape-only density (uniform) keeps them for every image of its size
            derived = (cache.worker.get(("derived", id(model.predictor), stim.shape, mode, blur), dict)
                       if model.traits.shape_only else {})
        ox = oy = shuf = None
        if "sauc" in metrics:
            ox, oy = cache.get(("others", group), lambda: other_fixations(dataset, group, stem))
            if mode == "metric-specific":  # one per image unless the model depends on the group
                shuf = cache.get(("shuffled",) + model.key(group),
                                 lambda: plan.shuffled.log_density(model, group, stem, pred))
        score = score_probabilistic(pred, xs, ys, empirical=empirical[group], baseline=base, other_xs=ox,
                                    other_ys=oy, shuffled=shuf, mode=mode, blur=blur, metrics=metrics,
                                    derived=derived, empirical_derived=cache.get(("empirical", group), dict))
        for m in metrics:
            rows.append({**common, "metric": m, "value": float(score.values[m]),
                         "baseline": prior.option if "baseline" in specs[m].needs else "",
                         "saliency_map": model.prob_map(score.maps[m])})
            if m in score.per_fixation:
                per_fix.append(_fix_rows(model.name, m, group, fix.viewer, score.per_fixation[m]))
    return rows, per_fix


def _fix_rows(model: str, metric: str, group: str, viewer: np.ndarray, values: np.ndarray) -> dict[str, Any]:
    """One (model, metric, group) block of per-fixation values, compact (expanded when written)."""
    return {"model": model, "metric": metric, "group": group, "viewer": np.asarray(viewer, np.int64).tolist(),
            "value": np.asarray(values, np.float64).tolist()}

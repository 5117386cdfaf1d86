"""The plan of an evaluate run, made once before any image is scored: the models (maps checked, baselines
fitted on every image), the two information-gain priors and sAUC's shuffled densities."""

from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from asdgaze.data.types import Dataset
from asdgaze.errors import AsdgazeError
from asdgaze.evaluate.options import EvaluateError, EvaluateOptions
from asdgaze.evaluate.resume import DescribedBaseline
from asdgaze.evaluate.score import Plan
from asdgaze.evaluate.scored import Scored
from asdgaze.evaluate.shuffled import Shuffled
from asdgaze.metrics.prob_scoring import Blur
from asdgaze.models import registry
from asdgaze.models.maps import open_maps
from asdgaze.models.priors import Prior, resolve_prior

__all__ = ["open_map_models", "mit_prior", "make_plan", "default_workers"]


def default_workers(workers: int | None) -> int:
    """The number of worker processes: as given, else the CPU cores, at most 8."""
    return workers if workers is not None else min(os.cpu_count() or 1, 8)


def open_map_models(dataset: Dataset, sources: dict[str, Path], options: EvaluateOptions
                    ) -> tuple[list[Scored], list[str], list[str], EvaluateOptions]:
    """The folders and HDF5 files of maps as scored models, checked before any work: (models, stems
    without a map, notes, options with ``maps_kind`` implied by an HDF5 file)."""
    models, missing, notes = [], [], []
    for name, source in sources.items():
        try:
            m = open_maps(name, source, dataset, options.maps_kind, allow_missing=options.allow_missing,
                          allow_aspect_change=options.allow_aspect_change,
                          probabilistic_only=options.conventions == ("probabilistic",) and not options.convert)
        except AsdgazeError as e:
            raise EvaluateError(str(e)) from e
        models.append(Scored(name, m))
        missing += [s for s in m.missing if s not in missing]
        notes += m.found_notes
    if options.maps_kind is None and any(m.predictor.hdf5_sha256 for m in models):
        options = replace(options, maps_kind="log-density")  # implied: an HDF5 file holds log-densities
    return models, missing, notes, options


def mit_prior(options: EvaluateOptions, dataset: Dataset) -> Prior:
    """The MIT information gain's baseline, resolved before any work."""
    try:
        return resolve_prior(options.ig_baseline, "--ig-baseline", dataset=dataset, groups=tuple(options.groups),
                             file_kind=options.ig_baseline_kind)
    except AsdgazeError as e:
        raise EvaluateError(str(e)) from e


def make_plan(dataset: Dataset, options: EvaluateOptions, models: list[Scored], prior: Prior, stems: list[str],
              workers: int | None, reused: tuple | None, notes: list[str]) -> tuple[Plan, dict[str, Any], dict]:
    """Fit the baselines and the probabilistic IG baseline and build the shuffled densities, on every image
    (``stems``: the scored ones); with ``reused`` (a finished run's or shard's description of it) nothing is
    fitted. Returns the plan, the probabilistic baseline's description and the seconds of each step."""
    groups = tuple(options.groups)
    t_plan: dict[str, float] = {}
    fitted: dict[str, Any] = {}
    t0 = time.perf_counter()
    if reused is None:
        try:
            fitted = registry.fit(dataset, options.baselines, groups)
        except AsdgazeError as e:
            raise EvaluateError(str(e)) from e
        models = models + [Scored(name, p) for name, p in fitted.items()]
        t_plan["fit_baselines"] = time.perf_counter() - t0
    else:
        models = models + [Scored(d["name"], DescribedBaseline(d)) for d in reused[0]]
    prob_models = [m for m in models if m.traits.density]
    if "probabilistic" in options.conventions:
        for m in models:
            if m not in prob_models:
                notes.append(f"model {m.name}: the probabilistic convention needs .npy log-densities "
                             "(--maps-kind log-density) or --convert (a saliency map made a density); only the MIT "
                             "convention was scored")
    plan = Plan(dataset, options, models, prior, None, Shuffled(), Blur(dataset.fixmap_sigma))
    prob_info: dict[str, Any] = {}
    if reused is not None:
        prob_info = reused[1]
    elif "probabilistic" in options.conventions and prob_models:
        try:
            plan.prob_prior = resolve_prior(options.prob_ig_baseline, "--prob-ig-baseline", dataset=dataset,
                                            groups=groups, fitted=fitted)
        except AsdgazeError as e:
            raise EvaluateError(str(e)) from e
        prob_info = plan.prob_prior.info
        t0 = time.perf_counter()
        if options.saliency_maps == "metric-specific" and "sauc" in options.prob_metrics:
            n = max(1, min(default_workers(workers), len(stems)))
            plan.shuffled.build_all(prob_models, dataset, list(stems), groups, workers=n)
        t_plan["shuffled_densities"] = time.perf_counter() - t0
    _fit_notes(plan, notes)
    return plan, prob_info, t_plan


def derived_models(dataset: Dataset, options: EvaluateOptions, models: list[Scored], workers: int | None,
                   notes: list[str], t_plan: dict[str, float]) -> list[Scored]:
    """The models with each saliency-map model converted to a density (``options.convert``) and, after them,
    each density model refitted per group (``options.adapt``), fitted on every image."""
    if not (options.convert or options.adapt):
        return models
    if "probabilistic" not in options.conventions:
        notes.append("--convert/--adapt: not applied: they make densities, and the probabilistic convention is "
                     "not scored")
        return models
    from asdgaze.models.adapted import SUFFIX, adapt_model
    from asdgaze.models.converted import convert_model

    groups = tuple(g for g in options.groups if g in dataset.fixations)
    n = default_workers(workers)
    out = list(models)
    t0 = time.perf_counter()
    if options.convert:
        out = [m if m.traits.density else
               Scored(m.name, convert_model(m.predictor, dataset, groups, options.seed, notes, options.cv_folds, n))
               for m in out]
        t_plan["convert"] = time.perf_counter() - t0
    if options.adapt:
        t0 = time.perf_counter()
        taken = {m.name for m in out}
        for m in [m for m in out if m.traits.density]:
            name = m.name + SUFFIX
            if name in taken:
                raise EvaluateError(f"--adapt: the adapted model of {m.name} would be called {name}, the name of "
                                    "another model; rename that model")
            adapted = adapt_model(m.predictor, name, dataset, groups, options.seed, notes, k=options.cv_folds,
                                  n_resamples=options.adapt_resamples, workers=n)
            if adapted is not None:
                out.append(Scored(name, adapted))
        t_plan["adapt"] = time.perf_counter() - t0
    return out


def _fit_notes(plan: Plan, notes: list[str]) -> None:
    """What the fitted models and priors say of their fits (a centre bias that fell back to uniform), and a
    metric that the data cannot give (shuffled AUC with one image per group), once each."""
    for pred in [m.predictor for m in plan.models] + [p.predictor for p in (plan.mit_prior, plan.prob_prior)
                                                      if p is not None and p.predictor is not None]:
        notes += [n for n in pred.notes() if n not in notes]
    few = [g for g in plan.groups if len(plan.dataset.fixations.get(g, {})) < 2]
    wants = {"auc_shuffled"} & set(plan.options.metrics) or {"sauc"} & set(plan.options.prob_metrics)
    if few and wants:
        note = (f"shuffled AUC is undefined (n/a) for group(s) {', '.join(few)}: its negatives are the group's "
                "fixations on the other images, and there is no other image")
        if note not in notes:
            notes.append(note)

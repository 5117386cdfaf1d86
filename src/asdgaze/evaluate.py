"""Score saliency maps against each group's fixations with the MIT-convention metrics.

The library side of ``asdgaze evaluate``: :func:`evaluate` takes a dataset and a folder of maps
named by image stem, scores every (image, group) pair with the metrics of
:mod:`asdgaze.metrics.suite`, and writes ``per_image.csv``, ``summary.csv``, ``summary.json``
and ``manifest.json`` into the output folder.

Each finished image is saved at once (atomically) as ``parts/<stem>.json`` in the output folder, so
an interrupted run resumes: a rerun with the same settings scores only the images without a part,
and the final CSVs are byte-identical to an uninterrupted run. The same parts let ``shard="K/N"``
score one shard of the images per job; a plain call on the folder then merges (see
:mod:`asdgaze.evaluation.shards`).
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import json
import multiprocessing
import os
import signal
import sys
import threading
import time
import warnings
from concurrent.futures.process import BrokenProcessPool
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from asdgaze.data.fixmaps import continuous_map, other_fixation_map
from asdgaze.data.types import Dataset, Fixations
from asdgaze.evaluation.models import (_SHAPE_CACHE, DEFAULT_BASELINES, IGBaseline, Model, Shuffled, fit_baselines,
                                       hdf5_model, resolve_prob_baseline)
from asdgaze.evaluation.procs import start_method
from asdgaze.evaluation.prob import score_model_prob
from asdgaze.evaluation.summary import PER_FIXATION_COLUMNS, PER_IMAGE_COLUMNS, read_results, summarise  # noqa: F401 (read_results: the reader, re-exported)
from asdgaze.io import sha256_file, write_json_atomic, write_text_atomic
from asdgaze.errors import AsdgazeError, MapError, OptionsError, OutputError
from asdgaze.maps.hdf5 import is_hdf5_source
from asdgaze.maps.io import (MapKind, MapKindError, MapScaleWarning, check_aspect, check_map, find_maps, load_map,
                             map_key)
from asdgaze.metrics.prob_scoring import MODES, PROB_METRICS, Blur, map_descriptions
from asdgaze.metrics.registry import CONVENTIONS
from asdgaze.metrics.streams import metric_rng
from asdgaze.metrics.suite import MIT_METRICS, Target, score_mit
from asdgaze.models.fitted import BASELINES
from asdgaze.evaluation.shards import DescribedBaseline, found_shards, reusable_plan, shard_files
from asdgaze.folderlock import FolderClaim
from asdgaze.runfolder import (fingerprint, parse_shard, prepare, refuse_shard_overwrite, select_shard, shard_name,
                               versions)
from asdgaze.models.baselines import CENTER_SIGMA_FRACTION, gaussian_center_log_density, uniform_log_density

CONVENTION = "mit"
PARTS = "parts"  # sub-folder of the output folder with one finished image per file
OUTPUT_FILES = ("per_image.csv", "summary.csv", "summary.json", "manifest.json")


class EvaluateError(OptionsError):
    """Inputs that cannot be evaluated (missing maps, unknown groups, bad baseline, output folder in use)."""


class EvaluateWarning(UserWarning):
    """Something every user of the results should know (constant maps, resized maps, loader notes)."""


class EvaluateInterrupted(KeyboardInterrupt):
    """Ctrl-C during scoring; ``done`` images are saved in ``parts_dir`` and a rerun resumes."""

    def __init__(self, done: int, total: int, parts_dir: Path) -> None:
        super().__init__(f"interrupted: {done} of {total} images finished (saved in {parts_dir}); "
                         "rerun the same command to resume")
        self.done, self.total, self.parts_dir = done, total, parts_dir


class Failure(NamedTuple):
    """An (image, group) pair that was not scored; ``error`` reads "<file>: <problem>"."""

    image: str
    group: str
    error: str


@dataclass(frozen=True)
class EvaluateOptions:
    """Every choice that changes a score; all of them are written to ``manifest.json``.

    groups: groups to score (None: all groups of the dataset).
    maps_kind: what ``.npy`` maps hold: "saliency" or "log-density" (scored as exp(log p)). An HDF5
        file of maps always holds log-densities: None becomes "log-density", "saliency" is refused.
    ig_baseline: baseline map of information gain: "gaussian" (centre Gaussian, σ = 1/4 of each
        side), "uniform", "mit1003" (the cached MIT1003 centre-bias template that ``predict
        --centerbias mit1003`` uses, rescaled to each image), or a path to a template map
        (``.npy`` read as ``ig_baseline_kind``, or PNG).
    shuffled_n_other: number of other images (same group) whose fixations form the shuffled-AUC
        negatives; None means all other images.
    seed: root seed of every random draw (AUC jitter, Borji/shuffled splits, choice of other images).
    allow_aspect_change: score maps whose aspect ratio differs from their image's by more than 1 %
        (resized); otherwise such an image fails (a transposed or cropped map).
    baselines: baseline models scored beside the maps (``asdgaze.models.fitted.BASELINES``; the
        command line's default is :data:`DEFAULT_BASELINES`, the library's none).
    conventions: "mit" and/or "probabilistic" (pysaliency); default both.
    saliency_maps: probabilistic convention: "metric-specific" (each metric on the map that is
        optimal under the density, metrics.md 4.6) or "density" (every metric on p itself).
    prob_ig_baseline: baseline of the probabilistic information gain: a baseline name (default the
        fitted centre bias) or a ``.npy`` log-density file.
    prob_metrics: probabilistic metrics to score.
    fixmap_sigma: Gaussian (pixels) of the continuous fixation map recipe, for a dataset read from
        a fixation table (None: the dataset's own, ``dataset.fixmap_sigma``, 43 px for Saliency4ASD;
        a Saliency4ASD folder refuses another value). The metric-specific CC/KL/SIM map is blurred
        with the same Gaussian.
    mit1003: folder of MIT1003 stimuli: count the dataset images that are MIT1003 images (a note).
    """

    groups: tuple[str, ...] | None = None
    maps_kind: MapKind | None = None
    ig_baseline: str = "gaussian"
    ig_baseline_kind: MapKind = "log-density"
    shuffled_n_other: int | None = 10
    n_splits: int = 100
    step_size: float = 0.1
    seed: int = 0
    allow_missing: bool = False
    metrics: tuple[str, ...] = MIT_METRICS
    allow_aspect_change: bool = False
    baselines: tuple[str, ...] = ()
    conventions: tuple[str, ...] = ("mit", "probabilistic")
    saliency_maps: str = "metric-specific"
    prob_ig_baseline: str = "centerbias"
    prob_metrics: tuple[str, ...] = PROB_METRICS
    fixmap_sigma: float | None = None
    mit1003: str | None = None


@dataclass
class EvaluateResult:
    per_image: pd.DataFrame
    summary: pd.DataFrame
    out_dir: Path
    files: dict[str, Path]
    missing: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)  # (image, group, "<file>: <problem>"): not scored
    resumed: list[str] = field(default_factory=list)  # images taken from an earlier, interrupted run
    per_fixation: pd.DataFrame | None = None  # PER_FIXATION_COLUMNS, probabilistic per-fixation metrics
    mit1003: dict[str, Any] | None = None  # the --mit1003 match: n_images, n_matched, matches
    shard: tuple[int, int] | None = None  # (K, N) of a shard: only its images, no tables written
    shard_images: list[str] = field(default_factory=list)
    shards: list[dict[str, Any]] = field(default_factory=list)  # a merge: the shards found (manifest "shards")

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def shard_line(self) -> str | None:
        """What a shard did and what comes next (None for a whole run)."""
        if self.shard is None:
            return None
        n = self.per_image["image"].nunique()
        return f"shard {self.shard[0]}/{self.shard[1]}: {n} images scored; run without --shard to merge"


@dataclass
class Baseline:
    """The resolved information-gain baseline: a fixed template, a centre-bias prior, or built in."""

    option: str
    template: np.ndarray | None = None
    prior: Any = None  # asdgaze.models.centerbias.CenterBias for "mit1003"

    def map(self, height: int, width: int) -> np.ndarray:
        if self.prior is not None:
            log_p = self.prior.log_density(height, width)
            return np.exp(log_p - log_p.max())
        return baseline_map(self.option, self.template, height, width)


def load_baseline_template(options: EvaluateOptions) -> tuple[np.ndarray | None, dict[str, Any]]:
    """Resolve a built-in or file ``options.ig_baseline``: (template or None, its description)."""
    b, info = resolve_baseline(options)
    return b.template, info


def resolve_baseline(options: EvaluateOptions) -> tuple[Baseline, dict[str, Any]]:
    """Resolve ``options.ig_baseline`` once, before any scoring (names as predict's ``--centerbias``).

    Raises EvaluateError for a name that is not built in, a missing template, or an unreadable file.
    """
    option = str(options.ig_baseline)
    if option in ("gaussian", "uniform"):
        return Baseline(option), {"kind": option}
    if option == "mit1003":
        from asdgaze.models.centerbias import resolve_centerbias

        try:
            prior = resolve_centerbias("mit1003")
        except (AsdgazeError, OSError, ValueError, ImportError) as e:  # ImportError: locating the cache needs torch
            raise EvaluateError(f"--ig-baseline mit1003: {str(e).replace('--centerbias', '--ig-baseline')}") from e
        return Baseline(option, prior=prior), {**prior.describe(), "path": str(Path(prior.path).resolve()),
                                                 "content": "log-density, rescaled to each image"}
    path = Path(option).expanduser()
    if not path.is_file():
        raise EvaluateError(f"--ig-baseline: {option!r} is neither 'gaussian', 'uniform', 'mit1003' "
                            "nor an existing file")
    kind = "saliency" if path.suffix.lower() == ".png" else options.ig_baseline_kind
    sha = None
    if kind == "log-density":  # the centre-bias loader's checks: a saliency array is not a log-density
        from asdgaze.models.centerbias import load_template

        try:
            _, sha = load_template(path.resolve())
        except MapError as e:
            raise EvaluateError(f"--ig-baseline: {e}") from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MapScaleWarning)
            template = load_map(path, kind)
    except MapError as e:
        raise EvaluateError(f"--ig-baseline: {e}") from e
    return Baseline(option, template=template), {"kind": "file", "path": str(path.resolve()), "content": kind,
                                                 "sha256": sha or sha256_file(path)}


def baseline_map(option: str, template: np.ndarray | None, height: int, width: int) -> np.ndarray:
    """The information-gain baseline for one image, float64.

    A template is returned at its own size; the metric resizes it to the image as MIT's
    ``InfoGain.m`` does.
    """
    if template is not None:
        return template
    if option == "gaussian":
        return np.exp(gaussian_center_log_density(height, width, CENTER_SIGMA_FRACTION))
    return np.exp(uniform_log_density(height, width))



@dataclass
class Context:
    """Everything scoring one image needs; built once by :func:`evaluate` (the plan), read-only after.

    :func:`score_image` is a pure function of a context and an image id, so a run can be resumed
    or sharded by image.
    """

    dataset: Dataset
    options: EvaluateOptions
    models: list[Model]
    mit_baseline: Baseline
    ig_base: IGBaseline | None = None
    shuffled: Shuffled | None = None
    blur: Blur = Blur()


# Per-process state of the worker pool (set once by _init_worker): the context only.
_STATE: dict[str, Any] = {}


def _init_worker(ctx: Context, in_pool: bool = True, started: Any = None) -> None:
    _STATE["ctx"] = ctx
    if started is not None:  # tells the parent that a worker came up (see _run_pool)
        started.set()
    _SHAPE_CACHE.clear()  # per-size maps of this run only (another run may use another IG baseline)
    if in_pool:
        # Ctrl-C is the parent's to handle: it stops the pool and says how to resume.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        # A forked worker shares the task pipe with its siblings and never sees it close: leave when
        # the parent is gone (killed), instead of lingering.
        parent = os.getppid()
        threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
        # One BLAS/OpenMP thread per worker process: the pool already uses the cores.
        threadpool_limits(1)


def _exit_with_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


def _score_image(stem: str) -> dict[str, Any]:
    return score_image(_STATE["ctx"], stem)


def score_image(ctx: Context, stem: str) -> dict[str, Any]:
    """Score one image with every model and convention: its rows, per-fixation values, notes and
    failures (a bad input fails its (image, group) pairs for that model, not the run)."""
    t0 = time.perf_counter()
    dataset, options = ctx.dataset, ctx.options
    groups = tuple(options.groups or dataset.groups)
    failures: list[list[str]] = []
    ok_groups = []
    for group in groups:
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
    notes: list[list[str]] = []
    per_fix: list[dict[str, Any]] = []
    if ok_groups:
        try:
            rows, notes, per_fix, failed = _score_image_rows(ctx, stem, tuple(ok_groups))
            failures += failed
        except AsdgazeError as e:  # anything else is a bug and must surface
            failures += [[stem, g, str(e)] for g in ok_groups]
            rows, per_fix = [], []
    return {"image": stem, "rows": rows, "per_fixation": per_fix, "notes": notes, "failures": failures,
            "seconds": time.perf_counter() - t0}


def _targets(ctx: Context, stem: str, groups: tuple[str, ...]) -> dict[str, Target]:
    dataset, options = ctx.dataset, ctx.options
    h, w = dataset.stimuli[stem].shape
    targets: dict[str, Target] = {}
    for group in groups:
        fix = dataset.fixations_for(group, stem)
        rng = metric_rng(options.seed, stem, group, "other_images")
        other = other_fixation_map(dataset, group, stem, n_other=options.shuffled_n_other, rng=rng)
        targets[group] = Target.from_fixations(fix, (h, w), partial(continuous_map, dataset, group, stem), other)
        targets[group].density  # made here, as before: a bad N_s.png fails the image once, not once per model
    return targets


def _score_image_rows(ctx: Context, stem: str, groups: tuple[str, ...]
                      ) -> tuple[list[dict[str, Any]], list[list[str]], list[dict[str, Any]], list[list[str]]]:
    """Rows, notes, per-fixation blocks and failures of every model on one image."""
    dataset, options = ctx.dataset, ctx.options
    rows: list[dict[str, Any]] = []
    notes: list[list[str]] = []
    per_fix: list[dict[str, Any]] = []
    failures: list[list[str]] = []
    targets = _targets(ctx, stem, groups)
    single = len(ctx.models) == 1
    cache: dict = {}  # this image's densities, shared by the conventions and the IG baseline
    for model in ctx.models:
        if model.kind == "maps" and stem not in model.maps:
            continue
        try:
            if "mit" in options.conventions and not (model.kind == "baseline" and model.name == "gold-standard"):
                t = time.perf_counter()
                r, n = _mit_rows(ctx, model, stem, groups, targets, cache)
                rows += r
                notes += n
                notes.append(["timing", f"{model.name}/mit", time.perf_counter() - t])
            if "probabilistic" in options.conventions and (model.kind == "baseline" or model.log_density_maps):
                t = time.perf_counter()
                empirical = {g: targets[g].density for g in groups}
                r, pf = score_model_prob(model, dataset, stem, groups, empirical, ctx.ig_base, ctx.shuffled,
                                         options.saliency_maps, options.prob_metrics, ctx.blur, cache)
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


def _mit_rows(ctx: Context, model: Model, stem: str, groups: tuple[str, ...], targets: dict[str, Target],
              cache: dict | None = None) -> tuple[list[dict[str, Any]], list[list[str]]]:
    dataset, options = ctx.dataset, ctx.options
    h, w = dataset.stimuli[stem].shape
    notes: list[list[str]] = []  # [kind, text]: kinds are summed up once per run
    # The IG baseline depends on the image's size only: built and prepared once per size and process.
    bkey = ("mit_baseline", h, w, "ig" in options.metrics)
    if bkey not in _SHAPE_CACHE:
        _SHAPE_CACHE[bkey] = (ctx.mit_baseline.map(h, w) if "ig" in options.metrics else np.ones((h, w)), {})
    base, base_prepared = _SHAPE_CACHE[bkey]
    kw = dict(metrics=options.metrics, seed=options.seed, image_id=stem, n_splits=options.n_splits,
              step_size=options.step_size, baseline_prepared=base_prepared)
    if model.kind == "maps":
        path = model.maps[stem]
        check_map(path, stem, (h, w), options.allow_aspect_change)  # from the header, before reading it
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            saliency = load_map(path, options.maps_kind)
        notes += [["scale" if issubclass(c.category, MapScaleWarning) else "map", str(c.message)] for c in caught]
        if saliency.shape != (h, w):
            check_aspect(path, saliency.shape, stem, (h, w), options.allow_aspect_change)
            mh, mw = saliency.shape
            # score_mit resizes it per metric exactly as the MIT code does (EMD from the original size).
            notes.append(["resized", f"{path}: map is {mw}x{mh}, image {stem} is {w}x{h} (width x height)"])
        if not saliency.max() > saliency.min():
            notes.append(["constant", f"{path}: constant map (every pixel {saliency.flat[0]:.6g})"])
        scores = score_mit(saliency, targets, base, **kw)
        described = MIT_MAP_SCORED[options.maps_kind == "log-density"]
    else:  # a baseline's density, scaled to max 1 as a log-density map is (per group if it depends on it)
        scores = {}
        stim = dataset.stimuli[stem]
        prepared: dict | None = None
        if model.shape_only:  # one saliency map (and its prepared forms) for every image of this size
            skey = ("mit_saliency", model.name, h, w)
            if skey not in _SHAPE_CACHE:
                _SHAPE_CACHE[skey] = (model.log_density(stim, groups[0], cache).as_saliency().values, {})
            shared, prepared = _SHAPE_CACHE[skey]
        else:
            shared = None if model.group_dependent else model.log_density(stim, groups[0], cache).as_saliency().values
        for g in groups:
            sal = shared if shared is not None else model.log_density(stim, g, cache).as_saliency().values
            scores.update(score_mit(sal, {g: targets[g]}, base, prepared=prepared, **kw))
        described = MIT_MAP_SCORED[True]
    rows = []
    for group in groups:
        fix = dataset.fixations_for(group, stem)
        for metric in options.metrics:
            rows.append(dict(model=model.name, convention=CONVENTION, image=stem, group=group, metric=metric,
                             value=float(scores[group][metric]),
                             baseline=options.ig_baseline if metric == "ig" else "", n_fixations=len(fix),
                             n_viewers=fix.n_viewers, saliency_map=described))
    return rows, notes


MIT_MAP_SCORED = {True: "exp(log p) scaled to max 1 (float64)", False: "map as given (float64)"}



def _fixation_digest(dataset: Dataset, groups: tuple[str, ...], stems: Any = None) -> str:
    h = hashlib.sha256()
    for group in groups:
        for stem in (dataset.stimuli if stems is None else stems):
            f = dataset.fixations.get(group, {}).get(stem, Fixations.empty())  # a group may have only problems
            h.update(f"{group}/{stem}/{len(f)}".encode())
            problem = dataset.problem(group, stem)
            if problem is not None:  # the digest of a dataset without problems is unchanged
                h.update(f"/problem:{problem}".encode())
            for arr in (f.x, f.y, f.duration, f.viewer):
                h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()


def _settings(dataset: Dataset, options: EvaluateOptions, baseline_info: dict[str, Any],
              models: dict[str, str] | None = None) -> dict[str, Any]:
    """What must match for a folder's earlier results to be reused (maps and fixations: per image)."""
    opts = _jsonable(asdict(options))
    opts.pop("allow_missing")  # which images are scored, not how
    opts.pop("mit1003")  # a note, not a score
    out = {"dataset": dataset.name, "options": opts, "ig_baseline": baseline_info}
    if models:
        out["maps"] = models
    return out


def _read_part(path: Path, key: dict[str, Any]) -> dict[str, Any] | None:
    """A finished image from an earlier run, if complete and made from the same map and fixations."""
    try:
        part = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(part, dict) or part.get("key") != key or part.get("failures"):
        return None  # other inputs, or a failure that a rerun may not repeat
    return part


def _model_folders(maps: Any) -> dict[str, Path]:
    """``maps`` as {model name: folder}: a folder is the model "maps"; None is no folder."""
    if maps is None:
        return {}
    if isinstance(maps, (str, os.PathLike)):
        return {"maps": Path(maps).expanduser().resolve()}
    out = {}
    for name, folder in dict(maps).items():
        name = str(name)
        if not name or "," in name or name in BASELINES:
            raise EvaluateError(f"--maps {name}=...: a model name must be non-empty, without commas, and not "
                                f"a baseline's name ({', '.join(BASELINES)})")
        out[name] = Path(folder).expanduser().resolve()
    return out


def _check_options(dataset: Dataset, options: EvaluateOptions, workers: int | None) -> EvaluateOptions:
    groups = tuple(dict.fromkeys(options.groups)) if options.groups else tuple(dataset.groups)
    if isinstance(options.seed, bool) or not isinstance(options.seed, int) or options.seed < 0:
        raise EvaluateError(f"seed must be a non-negative integer, got {options.seed!r}")
    if workers is not None and workers < 1:
        raise EvaluateError(f"workers must be >= 1, got {workers}")
    unknown = [g for g in groups if g not in dataset.fixations and g not in dataset.problems]
    if unknown:
        raise EvaluateError(f"group(s) {', '.join(unknown)} not in dataset {dataset.name!r} "
                            f"(it has: {', '.join(dataset.groups)})")
    conventions = tuple(dict.fromkeys(options.conventions))
    if not conventions or any(c not in CONVENTIONS for c in conventions):
        raise EvaluateError(f"--convention: expected mit, probabilistic or both, got {', '.join(conventions) or '(none)'}")
    # a convention that is not scored may have no metrics (`--metrics auc_judd` scores the MIT convention only)
    metrics = tuple(dict.fromkeys(options.metrics))
    unknown_metrics = [m for m in metrics if m not in MIT_METRICS]
    if unknown_metrics or (not metrics and "mit" in conventions):
        raise EvaluateError(f"unknown metric(s) {', '.join(unknown_metrics) or '(none given)'}; "
                            f"known: {', '.join(MIT_METRICS)}")
    prob_metrics = tuple(dict.fromkeys(options.prob_metrics))
    bad = [m for m in prob_metrics if m not in PROB_METRICS]
    if bad or (not prob_metrics and "probabilistic" in conventions):
        raise EvaluateError(f"unknown probabilistic metric(s) {', '.join(bad) or '(none given)'}; "
                            f"known: {', '.join(PROB_METRICS)}")
    if options.saliency_maps not in MODES:
        raise EvaluateError(f"--saliency-maps: expected {' or '.join(MODES)}, got {options.saliency_maps!r}")
    baselines = tuple(dict.fromkeys(options.baselines))
    bad = [b for b in baselines if b not in BASELINES]
    if bad:
        raise EvaluateError(f"--baselines: unknown baseline(s) {', '.join(bad)} (choose from {', '.join(BASELINES)})")
    if options.fixmap_sigma is not None:
        if not (options.fixmap_sigma > 0):
            raise EvaluateError(f"--fixmap-sigma must be positive, got {options.fixmap_sigma}")
        if dataset.name == "saliency4asd" and options.fixmap_sigma != dataset.fixmap_sigma:
            raise EvaluateError(f"--fixmap-sigma {options.fixmap_sigma:g}: a Saliency4ASD folder has its own recipe "
                                f"(sigma {dataset.fixmap_sigma:g} px); --fixmap-sigma is for --table data")
    return replace(options, groups=groups, metrics=metrics, prob_metrics=prob_metrics, conventions=conventions,
                   baselines=baselines)


def evaluate(
    dataset: Dataset,
    maps: str | Path | Mapping[str, str | Path] | None,
    out_dir: str | Path,
    options: EvaluateOptions = EvaluateOptions(),
    *,
    workers: int | None = None,
    progress: bool = True,
    source: dict[str, Any] | None = None,
    overwrite: bool = False,
    shard: str | tuple[int, int] | None = None,
) -> EvaluateResult:
    """Score folders of maps and baselines against every group's fixations and write the outputs.

    Args:
        dataset: stimuli and fixations (see :mod:`asdgaze.data`).
        maps: a folder with ``<stem>.npy`` or ``<stem>.png`` per image (``.npy`` wins if both exist),
            scored as the model "maps"; or an ``.hdf5``/``.h5`` file of log-densities, one dataset per
            image named by its file name (:mod:`asdgaze.maps.hdf5`); or {model name: folder or file};
            or None (baselines only).
        out_dir: where per_image.csv, per_fixation.csv, summary.csv, summary.json and manifest.json go.
        options: every scoring choice (recorded in the manifest): conventions, baselines, ...
        workers: processes scoring images in parallel (default: the number of CPU cores, at most 8).
        progress: show a progress bar over images.
        source: how the dataset was loaded (path, table, coords, loader warnings), for the manifest.
        overwrite: discard results of another run with other settings in ``out_dir``.
        shard: ``"K/N"``: score only shard K of N of the images (the rule of ``predict --shard``)
            into ``out_dir/parts`` and write ``manifest-shard-K-of-N.json``, not the tables. The
            baselines are still fitted on every image, so the shards' parts are those of a single run;
            a call without ``shard`` on the same folder and settings (the merge) resumes every part and
            writes the tables. Shards may run at the same time into one folder.

    Returns:
        The tables and written files. An (image, group) pair that cannot be scored (unusable map,
        unreadable fixations in ``dataset.problems``, no fixation at all) is listed in ``result.failures`` (and the
        manifest) while every other pair is scored. Notes (constant or resized maps, loader notes)
        are issued once each as :class:`EvaluateWarning`.

    Raises:
        EvaluateError: bad options (unknown group, metric, baseline, convention, negative seed),
        missing maps (all missing stems are listed) while ``options.allow_missing`` is False, an output
        folder holding another run's results (or in use now by a run with other settings, see
        :mod:`asdgaze.folderlock`), or a worker process that died.
        EvaluateInterrupted: Ctrl-C; finished images are kept and a rerun resumes.
    """
    with FolderClaim() as claim:  # released on any exit; the kernel drops it if the process dies
        return _evaluate(dataset, maps, out_dir, options, workers, progress, source, overwrite, shard, claim)


def _evaluate(dataset: Dataset, maps: str | Path | Mapping[str, str | Path] | None, out_dir: str | Path,
              options: EvaluateOptions, workers: int | None, progress: bool, source: dict[str, Any] | None,
              overwrite: bool, shard: str | tuple[int, int] | None, claim: FolderClaim) -> EvaluateResult:
    t_start = time.perf_counter()
    out_dir = Path(out_dir).expanduser().resolve()
    try:
        shard_kn = parse_shard(shard)
        refuse_shard_overwrite(shard_kn, overwrite, out_dir)
    except OptionsError as e:
        raise EvaluateError(str(e)) from None
    options = _check_options(dataset, options, workers)
    if options.fixmap_sigma is not None and options.fixmap_sigma != dataset.fixmap_sigma:
        dataset = replace(dataset, fixmap_sigma=float(options.fixmap_sigma))
    groups = tuple(options.groups or ())
    folders = _model_folders(maps)
    if not folders and not options.baselines:
        raise EvaluateError("nothing to score: give --maps and/or --baselines")
    # Everything a run needs is checked before the first image is scored.
    baseline, baseline_info = resolve_baseline(options)
    models: list[Model] = []
    missing: list[str] = []
    maps_notes: list[str] = []  # datasets of an HDF5 file that match no image
    for name, folder in folders.items():
        if is_hdf5_source(folder):  # a file of log-densities (predict --outputs hdf5, pysaliency)
            try:
                model, miss, h5_notes = hdf5_model(name, folder, dataset, options.maps_kind, options.allow_missing,
                                                   options.allow_aspect_change)
            except AsdgazeError as e:
                raise EvaluateError(str(e)) from e
            models.append(model)
            missing += [s for s in miss if s not in missing]
            maps_notes += h5_notes
            continue
        try:
            found, miss = find_maps(folder, dataset.stimuli)
        except MapError as e:
            raise EvaluateError(str(e)) from e
        if miss and not options.allow_missing:
            raise EvaluateError(
                f"no map in {folder} for {len(miss)} of {len(dataset.stimuli)} images: "
                f"{', '.join(miss)} (expected <stem>.npy or <stem>.png; --allow-missing scores the rest)"
            )
        if not found:
            raise EvaluateError(f"no maps found in {folder}")
        if options.maps_kind is None and any(m.is_npy for m in found.values()):
            raise EvaluateError(f"{folder} holds .npy maps: say what they contain with "
                                "--maps-kind saliency|log-density")
        _check_maps_kind(found, options)
        missing += [s for s in miss if s not in missing]
        log_dens = options.maps_kind == "log-density" and all(m.is_npy for m in found.values())
        if options.conventions == ("probabilistic",) and not log_dens:  # nothing of this model would be scored
            raise EvaluateError(f"--convention probabilistic: the maps in {folder} are not all .npy log-densities "
                                "(--maps-kind log-density); saliency maps have no probabilities: use --convention "
                                "mit or both")
        models.append(Model(name, "maps", folder, {s: m.path for s, m in found.items()}, log_density_maps=log_dens,
                            allow_aspect_change=options.allow_aspect_change))
    if options.maps_kind is None and any(m.hdf5_sha256 for m in models):
        options = replace(options, maps_kind="log-density")  # implied: an HDF5 file holds log-densities
    settings = _settings(dataset, options, baseline_info, {n: str(f) for n, f in folders.items()} or None)
    try:
        # Runs with other settings are refused while this one holds the folder; shards share it.
        with claim.hold(out_dir, settings, "evaluate run", overwrite):
            parts_dir = prepare(out_dir, settings, overwrite, OUTPUT_FILES + ("per_fixation.csv",)
                                + tuple(p.name for p in shard_files(out_dir)))
    except OptionsError as e:
        raise EvaluateError(str(e)) from None
    mit1003 = _match_mit1003(dataset, options.mit1003) if options.mit1003 and shard_kn is None else None

    maps_by_model = {m.name: m.maps for m in models if m.kind == "maps"}
    all_maps = set().union(*maps_by_model.values()) if maps_by_model else set()
    scored = [s for s in dataset.stimuli if s in all_maps or options.baselines]
    # Pairs whose fixations could not be read fail even without an image (size unreadable).
    extra = sorted({s for g in groups for s in dataset.problems.get(g, {})} - set(dataset.stimuli) - all_maps,
                   key=_natural)
    stems = scored + extra
    # A shard scores its own images; everything fitted below still uses every image.
    mine = stems if shard_kn is None else [s for s, _ in select_shard([(s, None) for s in stems], shard_kn)]
    # hashed for this run's (or shard's) images only: a shard must not read every other shard's maps
    mine_set = set(mine)
    # A map whose header fails its image (too many pixels, another aspect ratio) is not hashed: it fails
    # when scored, and a file declaring a huge array must not be read whole here.
    map_sha = {name: {stem: key for stem, p in mp.items() if stem in mine_set
                      if (key := map_key(p, stem, dataset.stimuli[stem].shape, options.allow_aspect_change))}
               for name, mp in maps_by_model.items()}
    # A model is scored probabilistically only when every map of its folder is a .npy log-density: a
    # part made while a map was still a PNG (another shard's predict unfinished) lacks those rows.
    prob_maps = sorted(m.name for m in models if m.log_density_maps)
    # A part carries the fingerprint of the settings it was made with: one made with others (or by
    # a version that recorded none) is scored again, never reused.
    settings_fp = fingerprint(settings)
    keys = {stem: {"settings": settings_fp, "map_sha256": {n: d.get(stem, "") for n, d in map_sha.items()},
                   "fixations_sha256": _fixation_digest(dataset, groups, [stem]),
                   "probabilistic_models": prob_maps} for stem in mine}
    results: dict[str, dict[str, Any]] = {}
    for stem in mine:
        part = _read_part(parts_dir / f"{stem}.json", keys[stem])
        if part is not None:
            results[stem] = part
    resumed = [s for s in mine if s in results]
    todo = [s for s in mine if s not in results]

    # The plan: fit the baselines, the probabilistic IG baseline and the shuffled densities once, on
    # every image. With nothing left to score, an earlier run's or shard's description of it will do.
    fixations_sha = _fixation_digest(dataset, groups)
    reused = None if todo else reusable_plan(out_dir, settings, fixations_sha, prob_maps)
    run_notes: list[str] = list(maps_notes)
    fitted: dict[str, Any] = {}
    t_plan: dict[str, float] = {}
    t0 = time.perf_counter()
    if reused is None:
        try:
            fitted = fit_baselines(dataset, options.baselines, groups)
        except AsdgazeError as e:
            raise EvaluateError(str(e)) from e
        models += [Model(name, "baseline", predictor=p) for name, p in fitted.items()]
        t_plan["fit_baselines"] = time.perf_counter() - t0
    else:
        models += [Model(d["name"], "baseline", predictor=DescribedBaseline(d)) for d in reused[0]]
    prob_models = [m for m in models if m.kind == "baseline" or m.log_density_maps]
    if "probabilistic" in options.conventions:
        for m in models:
            if m not in prob_models:
                run_notes.append(f"model {m.name}: the probabilistic convention needs .npy log-densities "
                                 "(--maps-kind log-density); only the MIT convention was scored")
    ig_base, prob_base_info, shuffled = None, {}, Shuffled()
    use_prob = "probabilistic" in options.conventions and bool(prob_models)
    if reused is not None:
        prob_base_info = reused[1]
    elif use_prob:
        try:
            ig_base, prob_base_info = resolve_prob_baseline(options.prob_ig_baseline, dataset, groups, fitted)
        except AsdgazeError as e:
            raise EvaluateError(str(e)) from e
        t0 = time.perf_counter()
        if options.saliency_maps == "metric-specific" and "sauc" in options.prob_metrics:
            plan_workers = workers if workers is not None else min(os.cpu_count() or 1, 8)
            shuffled.build_all([m for m in prob_models if not (m.kind == "baseline" and m.name == "gold-standard")],
                               dataset, list(scored), groups, workers=max(1, min(plan_workers, len(scored))))
        t_plan["shuffled_densities"] = time.perf_counter() - t0

    def finish(res: dict[str, Any]) -> None:
        res["key"] = keys[res["image"]]
        write_json_atomic(parts_dir / f"{res['image']}.json", res)
        results[res["image"]] = res
        bar.update(1)

    n_workers = workers if workers is not None else min(os.cpu_count() or 1, 8)
    n_workers = max(1, min(n_workers, len(todo)))
    if n_workers > 1 and start_method() is None:
        warnings.warn("torch has started CUDA in this process, so evaluate cannot fork worker processes (and spawned "
                      "ones would re-run an unguarded script): scoring in one process; run evaluate in a process "
                      "without CUDA for parallel scoring", EvaluateWarning, stacklevel=3)
        n_workers = 1
    bar = _progress(len(mine), progress, initial=len(resumed))
    ctx = Context(dataset, options, models, baseline, ig_base, shuffled, Blur(dataset.fixmap_sigma))
    try:
        if n_workers == 1:
            with threadpool_limits(1):  # as in a worker, without changing the caller's setting after
                _init_worker(ctx, in_pool=False)
                try:
                    for stem in todo:
                        finish(_score_image(stem))
                finally:
                    _STATE.clear()
                    _SHAPE_CACHE.clear()
        else:
            _run_pool(n_workers, (ctx,), todo, finish)
    except KeyboardInterrupt:
        raise EvaluateInterrupted(len(results), len(mine), parts_dir) from None
    except OutputError as e:  # a part could not be written (disk full, read-only): the finished ones stay
        raise e.resumable(len(results), len(mine), parts_dir) from None
    finally:
        bar.close()

    failures = [Failure(*f) for stem in mine for f in results[stem]["failures"]]
    rows = [r for stem in mine for r in results[stem]["rows"]]
    detail = [n for stem in mine for n in results[stem]["notes"] if n[0] != "timing"]
    split: dict[str, float] = {}  # seconds per model/convention, summed over images (all workers)
    for stem in mine:
        for n in results[stem]["notes"]:
            if n[0] == "timing":
                split[n[1]] = split.get(n[1], 0.0) + float(n[2])
    notes = list(dataset.notes) + run_notes + _summarise_notes(detail, options)
    if mit1003 is not None:
        notes.append(mit1003["note"])
    for n in notes:
        warnings.warn(n, EvaluateWarning, stacklevel=3)
    per_image = pd.DataFrame(rows, columns=list(PER_IMAGE_COLUMNS))
    per_fixation = _per_fixation_frame(mine, results)
    summary = summarise(per_image)
    run = {
        "models": models, "map_sha256": map_sha, "missing": missing, "failures": failures,
        "notes": notes, "note_detail": [t for _, t in detail], "baseline": baseline_info,
        "prob_baseline": prob_base_info, "mit1003": mit1003,
        "source": source or {}, "workers": n_workers, "settings": settings, "resumed": resumed,
        "seconds": {stem: results[stem]["seconds"] for stem in mine}, "total_s": time.perf_counter() - t_start,
        "plan_s": t_plan, "split_s": split, "fixations_sha256": fixations_sha,
        "plan_from": None if reused is None else reused[2],
    }
    try:
        if shard_kn is not None:  # the tables are the merge's: a shard only records what it did
            path = write_shard_manifest(out_dir, shard_kn, mine, dataset, run)
            return EvaluateResult(per_image, summary, out_dir, {path.name: path}, missing, notes, failures, resumed,
                                  per_fixation, mit1003, shard=shard_kn, shard_images=mine)
        run["shards"] = found_shards(out_dir, settings)
        files = _write_outputs(out_dir, dataset, options, per_image, per_fixation, summary, run)
    except OutputError as e:  # every part is saved: a rerun only writes the tables
        raise e.resumable(len(results), len(mine), parts_dir) from None
    return EvaluateResult(per_image, summary, out_dir, files, missing, notes, failures, resumed, per_fixation,
                          mit1003, shards=run["shards"])


def write_shard_manifest(out_dir: Path, shard: tuple[int, int], images: list[str], dataset: Dataset,
                         run: dict[str, Any]) -> Path:
    """``manifest-shard-K-of-N.json``: the shard's images, failures and timings, the settings shared with
    the other shards and the merge, and the plan's description (a merge with every part reuses it)."""
    path = out_dir / shard_name(shard)
    write_json_atomic(path, _finite_json({
        "tool": "asdgaze evaluate --shard",
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "versions": versions(),
        "shard": {"k": shard[0], "n": shard[1], "images": images},
        "settings": run["settings"],
        "dataset": {"name": dataset.name, "root": str(Path(dataset.root).resolve()),
                    "n_images": len(dataset.stimuli), "fixations_sha256": run["fixations_sha256"]},
        "models": [m.describe() for m in run["models"]],
        "prob_ig_baseline": run["prob_baseline"],
        "failures": [f._asdict() for f in run["failures"]],
        "missing": run["missing"],
        "notes": run["notes"],
        "resumed": run["resumed"],
        "plan_from": run["plan_from"],
        "timings": {"total_s": round(run["total_s"], 3), "workers": run["workers"],
                    "plan_s": {k: round(v, 3) for k, v in run["plan_s"].items()},
                    "per_image_s": {k: round(v, 4) for k, v in run["seconds"].items()}},
    }))
    return path


def _per_fixation_frame(stems: list[str], results: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """The per-fixation blocks of every image as one long table (PER_FIXATION_COLUMNS)."""
    cols: dict[str, list] = {c: [] for c in PER_FIXATION_COLUMNS}
    for stem in stems:
        for b in results[stem].get("per_fixation", []):
            n = len(b["value"])
            cols["model"].append(np.repeat(np.array([b["model"]], dtype=object), n))
            cols["convention"].append(np.repeat(np.array(["probabilistic"], dtype=object), n))
            cols["metric"].append(np.repeat(np.array([b["metric"]], dtype=object), n))
            cols["image"].append(np.repeat(np.array([stem], dtype=object), n))
            cols["group"].append(np.repeat(np.array([b["group"]], dtype=object), n))
            cols["viewer"].append(np.asarray(b["viewer"], dtype=np.int64))
            cols["value"].append(np.asarray(b["value"], dtype=np.float64))
    if not cols["value"]:
        return pd.DataFrame(columns=list(PER_FIXATION_COLUMNS))
    return pd.DataFrame({c: np.concatenate(v) for c, v in cols.items()})


def _match_mit1003(dataset: Dataset, folder: str) -> dict[str, Any]:
    """How many of the dataset's images are MIT1003 images (perceptual hash), for the note and manifest."""
    from asdgaze.data.mit1003 import match_mit1003

    try:
        matches = match_mit1003(dataset, folder)
    except (AsdgazeError, OSError, ValueError) as e:
        raise EvaluateError(f"--mit1003 {folder}: {e}") from e
    hits = {stem: {"file": str(m.mit1003_file), "hash_distance": m.distance} for stem, m in matches.items()}
    n = len(dataset.stimuli)
    return {"folder": str(Path(folder).expanduser().resolve()), "n_images": n, "n_matched": len(hits),
            "matches": hits,
            "note": f"MIT1003 check: {len(hits)} of {n} images match an image of {folder} (perceptual hash); "
                    "DeepGaze IIE was trained on MIT1003, so its scores on those images are optimistic"}



#: Seconds a started pool may take to bring up its first worker (a spawned one imports numpy, scipy, ...).
WORKER_START_S = 120.0


def _run_pool(n_workers: int, init_args: tuple, todo: list[str], finish) -> None:
    """Score ``todo`` in worker processes; a worker that dies ends the run at once with a clear error."""
    method = start_method()
    ctx = multiprocessing.get_context(method)
    started = ctx.Event()
    pool = cf.ProcessPoolExecutor(n_workers, mp_context=ctx, initializer=_init_worker,
                                  initargs=(*init_args, True, started))
    done = False
    try:
        futures = [pool.submit(_score_image, stem) for stem in todo]
        # A spawned worker re-runs the caller's script first; an unguarded script that calls evaluate
        # then never reaches the worker loop (nor exits): wait for one worker, not forever.
        deadline = time.monotonic() + WORKER_START_S
        while not started.wait(0.5) and not any(f.done() for f in futures):
            if time.monotonic() > deadline:
                raise EvaluateError(
                    f"no worker process started within {WORKER_START_S:g} s ({method} start); if you run evaluate "
                    "from a script, put the call under `if __name__ == \"__main__\":`, or use workers=1 "
                    "(--workers 1)")
        for fut in cf.as_completed(futures):
            finish(fut.result())
        done = True
    except BrokenProcessPool as e:
        hint = ("if you run evaluate from a script, put the call under `if __name__ == \"__main__\":`; "
                if method == "spawn" else "")
        raise EvaluateError(f"a worker process died while scoring ({e}); images finished so far are saved and a "
                            f"rerun resumes; {hint}--workers 1 runs in one process and shows the error") from None
    finally:
        if done:
            pool.shutdown(wait=True)
        else:  # stop at once: queued images are dropped, running ones ended (their parts are not written)
            procs = list((getattr(pool, "_processes", None) or {}).values())
            pool.shutdown(wait=False, cancel_futures=True)
            for p in procs:
                if p.is_alive():
                    p.terminate()


def _check_maps_kind(found: dict[str, Any], options: EvaluateOptions) -> None:
    """Stop before any scoring if the first .npy map is a log-density passed as --maps-kind saliency."""
    if options.maps_kind != "saliency":
        return
    first = next((m.path for m in found.values() if m.is_npy), None)
    if first is None:
        return
    try:
        load_map(first, "saliency")
    except MapKindError as e:
        raise EvaluateError(str(e)) from e
    except MapError:
        pass  # an unusable map fails its image later, with the others scored


def _summarise_notes(detail: list[list[str]], options: EvaluateOptions) -> list[str]:
    """One note per kind of issue, naming every image concerned (the terminal shows each once)."""
    by_kind: dict[str, list[str]] = {}
    for kind, text in detail:
        by_kind.setdefault(kind, []).append(text)
    notes = list(by_kind.pop("map", []))
    if "scale" in by_kind:
        items = by_kind["scale"]
        notes.append(f"{len(items)} map(s) read as log-densities do not sum to 1 (first: {items[0]}); if they are "
                     "saliency maps, use --maps-kind saliency")
    if "resized" in by_kind:
        items = by_kind["resized"]
        notes.append(f"{len(items)} map(s) differ in size from their image and were resized with MATLAB-style "
                     f"bicubic imresize as the MIT code does: {'; '.join(items)}")
    if "constant" in by_kind:
        items = by_kind["constant"]
        notes.append(f"{len(items)} constant map(s): most metrics are undefined (NaN) for them, so n differs "
                     f"between metrics in the summary: {'; '.join(items)}")
    return notes


def _natural(stem: str) -> tuple:
    return (0, int(stem), "") if stem.isdigit() else (1, 0, stem)


def _progress(total: int, enabled: bool, initial: int = 0):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, unit="img", desc="evaluate", disable=not enabled, file=sys.stderr)


SALIENCY4ASD_CAVEAT = (
    "The Saliency4ASD images are very likely a subset of MIT1003, on which DeepGaze IIE was trained "
    "(and its centre bias fitted): absolute DeepGaze scores are optimistic; ASD-vs-TD comparisons on "
    "the same images remain meaningful. Report a centre-bias baseline beside any model."
)


def saliency4asd_caveat(mit1003: dict[str, Any] | None = None) -> str:
    """The MIT1003 caveat; with a ``--mit1003`` match it states the measured count."""
    if not mit1003:
        return SALIENCY4ASD_CAVEAT + " (Not measured: --mit1003 DIR counts the matching images.)"
    return (f"{mit1003['n_matched']} of {mit1003['n_images']} images match an MIT1003 image (perceptual hash, "
            f"{mit1003['folder']}); DeepGaze IIE was trained on MIT1003 (and its centre bias fitted there): "
            "absolute DeepGaze scores on those images are optimistic; ASD-vs-TD comparisons on the same images "
            "remain meaningful. Report the baselines beside any model.")


GOLD_DESCRIPTION = (
    "gold-standard (noise ceiling): probabilistic LL and IG only, each fixation scored by the density of the "
    "other viewers of the same group on the same image (leave-one-viewer-out KDE mixed with the fitted centre "
    "bias; bandwidth and weight fitted by held-out log-likelihood). Its other metrics would need one map per "
    "left-out viewer and are not scored; no viewer is ever scored against a density holding its own fixations."
)


def score_description(options: EvaluateOptions, dataset_name: str = "",
                      mit1003: dict[str, Any] | None = None) -> dict[str, Any]:
    """Plain-language statement of what was scored, written into every output."""
    caveat = {"caveat": saliency4asd_caveat(mit1003)} if dataset_name == "saliency4asd" or mit1003 else {}
    out: dict[str, Any] = {
        **caveat,
        "convention": "mit: MIT Saliency Benchmark code (cvzoya/saliency, code_forMetrics), "
                      "fixation maps with duplicates collapsed",
        "maps": ("log-density maps scored as the density exp(log p) in float64, scaled to max 1"
                 if options.maps_kind == "log-density" else "maps scored as given (float64)"),
        "ig_baseline": {
            "gaussian": f"centre Gaussian, sigma = {CENTER_SIGMA_FRACTION} x each image side (fixed, not fitted)",
            "uniform": "uniform map",
            "mit1003": "MIT1003 centre-bias template (as predict --centerbias mit1003), rescaled to each image",
        }.get(options.ig_baseline, f"template file {options.ig_baseline} "
                                   f"({'saliency' if options.ig_baseline.lower().endswith('.png') else options.ig_baseline_kind})"),
        "shuffled_auc_negatives": (
            f"fixations of {options.shuffled_n_other} random other images of the same group"
            if options.shuffled_n_other else "fixations of all other images of the same group"
        ) + ", rescaled to this image's size",
    }
    if "probabilistic" in options.conventions:
        out["probabilistic"] = {
            "convention": "pysaliency 0.2.22 definitions (Kümmerer, Wallis & Bethge, ECCV 2018); duplicated "
                          "fixations count every time; summary: image average (mean) and fixation-weighted average",
            "saliency_maps": options.saliency_maps,
            "maps_scored": map_descriptions(options.saliency_maps, Blur(options.fixmap_sigma or 43.0)),  # type: ignore[arg-type]
            "ig_baseline": options.prob_ig_baseline,
            "sauc_negatives": "all fixations of all other images of the same group, rescaled to this image's size",
            "p_shuffled": "metric-specific sAUC: mean of the model's densities on the other images (same group for "
                          "group-dependent baselines), summed on a 96x128 grid and resampled bilinearly; for the "
                          "fitted centre bias, itself (it is the density of the other images' fixations), so its "
                          "metric-specific sAUC is 0.5",
        }
    if "gold-standard" in options.baselines:
        out["gold_standard"] = GOLD_DESCRIPTION
    return out


def _continuous_map_sources(dataset: Dataset, groups: tuple[str, ...]) -> dict[str, Any]:
    """Which continuous maps (C of CC, KL, SIM, EMD) were shipped files and which were rebuilt."""
    out: dict[str, Any] = {}
    for group in groups:
        shipped = dataset.fixation_maps.get(group, {})
        out[group] = {
            "shipped": {stem: {"path": str(Path(p).resolve()), "sha256": sha256_file(p)} for stem, p in shipped.items()
                        if stem in dataset.stimuli},
            "rebuilt_with_saliency4asd_recipe": [stem for stem in dataset.stimuli if stem not in shipped],
        }
    return out


def _write_outputs(out_dir: Path, dataset: Dataset, options: EvaluateOptions, per_image: pd.DataFrame,
                   per_fixation: pd.DataFrame, summary: pd.DataFrame, run: dict[str, Any]) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    names = ("per_image.csv", "summary.csv", "summary.json", "manifest.json")
    files = {name: out_dir / name for name in names}
    write_text_atomic(files["per_image.csv"], per_image.to_csv(index=False, float_format="%.10g"))
    if len(per_fixation):
        files["per_fixation.csv"] = out_dir / "per_fixation.csv"
        write_text_atomic(files["per_fixation.csv"], per_fixation.to_csv(index=False, float_format="%.10g"))
    else:
        (out_dir / "per_fixation.csv").unlink(missing_ok=True)
    write_text_atomic(files["summary.csv"], summary.to_csv(index=False, float_format="%.10g"))
    described = score_description(options, dataset.name, run["mit1003"])
    groups = tuple(options.groups or ())
    mit1003 = None if run["mit1003"] is None else {k: v for k, v in run["mit1003"].items() if k != "note"}
    summary_json = {
        "description": described,
        "options": _jsonable(asdict(options)),
        "models": [m.name for m in run["models"]],
        "mit1003": mit1003,
        "not_scored": {"missing_map": run["missing"], "failed": [f._asdict() for f in run["failures"]]},
        "summary": json.loads(summary.to_json(orient="records")),
    }
    write_json_atomic(files["summary.json"], summary_json)
    maps_models = [m for m in run["models"] if m.kind == "maps"]
    folder_records = {m.name: {"name": m.name, "folder": str(m.folder), "missing": run["missing"],
                               "rule": "<stem>.npy is used when both <stem>.npy and <stem>.png exist",
                               "files": {stem: str(p) for stem, p in m.maps.items()},
                               "sha256": run["map_sha256"][m.name],
                               "probabilistic": m.log_density_maps, **_hdf5_record(m)} for m in maps_models}
    manifest = {
        "tool": "asdgaze evaluate",
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "versions": versions(),
        "dataset": {"name": dataset.name, "root": str(Path(dataset.root).resolve()), "n_images": len(dataset.stimuli),
                    "groups": list(groups), "source": run["source"],
                    "fixations_sha256": run["fixations_sha256"],
                    "continuous_maps": _continuous_map_sources(dataset, groups),
                    "fixation_map_recipe": {
                        "sigma_px": dataset.fixmap_sigma,
                        "kernel_taps": 258 if dataset.fixmap_sigma == 43.0 else max(1, int(round(6 * dataset.fixmap_sigma))),
                        "padding": "zero", "scaling": "min-max to 0..1",
                        "source": "--fixmap-sigma" if options.fixmap_sigma is not None else "dataset default"}},
        # one folder: its record; several: one record per model name
        "maps": (folder_records[maps_models[0].name] if len(maps_models) == 1 else folder_records),
        "missing": run["missing"],
        "models": [m.describe() for m in run["models"]],
        "ig_baseline": run["baseline"],
        "prob_ig_baseline": run["prob_baseline"],
        "mit1003": mit1003,
        "options": _jsonable(asdict(options)),
        "description": described,
        "seeds": {"root": options.seed,
                  "streams": "asdgaze.metrics.streams.metric_rng(seed, image, group, metric); "
                             "metric 'other_images' draws the shuffled-AUC images"},
        "failures": [f._asdict() for f in run["failures"]],
        "notes": run["notes"],
        "note_detail": run["note_detail"],
        "settings": run["settings"],
        "resumed": run["resumed"],
        "shards": run["shards"],  # the shard manifests found (same settings): what each scored
        "plan_from": run["plan_from"],  # None: fitted here; else the manifest whose fitted plan was reused
        "timings": {"total_s": round(run["total_s"], 3), "workers": run["workers"],
                    "plan_s": {k: round(v, 3) for k, v in run["plan_s"].items()},
                    "model_convention_s": {k: round(v, 3) for k, v in run["split_s"].items()},
                    "per_image_s": {k: round(v, 4) for k, v in run["seconds"].items()}},
    }
    write_json_atomic(files["manifest.json"], _finite_json(manifest))
    return files


def _hdf5_record(model: Model) -> dict[str, Any]:
    """The manifest's extra facts about maps read from one HDF5 file (none for a folder)."""
    if model.hdf5_sha256 is None:
        return {}
    return {"hdf5_sha256": model.hdf5_sha256,
            "rule": "one dataset per image named by its file name (e.g. 12.png), else by its stem; log-densities; "
                    "sha256 per image: of the dataset's shape, dtype and bytes"}


def _finite_json(obj: Any) -> Any:
    """NaN/inf (e.g. an unfitted bandwidth) as null, so the manifest is strict JSON."""
    if isinstance(obj, dict):
        return {k: _finite_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite_json(v) for v in obj]
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


def _jsonable(d: dict[str, Any]) -> dict[str, Any]:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in d.items()}

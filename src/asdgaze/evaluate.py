"""Score saliency maps against each group's fixations with the MIT-convention metrics.

The library side of ``asdgaze evaluate``: :func:`evaluate` takes a dataset and a folder of maps
named by image stem, scores every (image, group) pair with the nine metrics of
:mod:`asdgaze.metrics.suite`, and writes ``per_image.csv``, ``summary.csv``, ``summary.json``
and ``manifest.json`` into the output folder.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import json
import multiprocessing
import os
import sys
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from asdgaze.data.fixmaps import continuous_map, other_fixation_map
from asdgaze.data.types import Dataset
from asdgaze.io import package_versions, sha256_file, write_json_atomic, write_text_atomic
from asdgaze.errors import AsdgazeError, DataError, MapError, OptionsError
from asdgaze.maps.io import MapKind, find_maps, load_map
from asdgaze.metrics.streams import metric_rng
from asdgaze.metrics.suite import MIT_METRICS, Target, score_mit
from asdgaze.models.baselines import CENTER_SIGMA_FRACTION, gaussian_center_log_density, uniform_log_density

CONVENTION = "mit"


class EvaluateError(OptionsError):
    """Inputs that cannot be evaluated (missing maps, unknown groups, bad baseline)."""


@dataclass(frozen=True)
class EvaluateOptions:
    """Every choice that changes a score; all of them are written to ``manifest.json``.

    groups: groups to score (None: all groups of the dataset).
    maps_kind: what ``.npy`` maps hold: "saliency" or "log-density" (scored as exp(log p)).
    ig_baseline: baseline map of information gain: "gaussian" (centre Gaussian, σ = 1/4 of each
        side), "uniform", or a path to a template map (``.npy`` read as ``ig_baseline_kind``, or PNG).
    shuffled_n_other: number of other images (same group) whose fixations form the shuffled-AUC
        negatives; None means all other images.
    seed: root seed of every random draw (AUC jitter, Borji/shuffled splits, choice of other images).
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


@dataclass
class EvaluateResult:
    per_image: pd.DataFrame
    summary: pd.DataFrame
    out_dir: Path
    files: dict[str, Path]
    missing: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (image, reason): not scored

    @property
    def ok(self) -> bool:
        return not self.failures


def load_baseline_template(options: EvaluateOptions) -> tuple[np.ndarray | None, dict[str, Any]]:
    """Resolve ``options.ig_baseline`` once: (template or None for the built-in maps, its description).

    Raises EvaluateError for a name that is neither built in nor an existing file.
    """
    if options.ig_baseline in ("gaussian", "uniform"):
        return None, {"kind": options.ig_baseline}
    path = Path(options.ig_baseline)
    if not path.is_file():
        raise EvaluateError(f"--ig-baseline: {options.ig_baseline!r} is neither 'gaussian', 'uniform' "
                            "nor an existing file")
    kind = "saliency" if path.suffix.lower() == ".png" else options.ig_baseline_kind
    try:
        template = load_map(path, kind)
    except MapError as e:
        raise EvaluateError(f"--ig-baseline: {e}") from e
    return template, {"kind": "file", "path": str(path), "content": kind, "sha256": sha256_file(path)}


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


# Per-process state of the worker pool (set once by _init_worker).
_STATE: dict[str, Any] = {}


def _init_worker(dataset: Dataset, maps: dict[str, Path], options: EvaluateOptions,
                 template: np.ndarray | None) -> None:
    _STATE.update(dataset=dataset, maps=maps, options=options, template=template)
    # One BLAS/OpenMP thread per worker process: the pool already uses the cores.
    threadpool_limits(1)


def _score_image(stem: str) -> tuple[str, list[dict[str, Any]], list[str], float, str | None]:
    """Score one image; a bad input becomes (.., reason) instead of ending the whole run."""
    t0 = time.perf_counter()
    try:
        rows, notes = _score_image_rows(stem)
    except AsdgazeError as e:  # anything else is a bug and must surface
        return stem, [], [], time.perf_counter() - t0, str(e)
    return stem, rows, notes, time.perf_counter() - t0, None


def _score_image_rows(stem: str) -> tuple[list[dict[str, Any]], list[str]]:
    dataset: Dataset = _STATE["dataset"]
    options: EvaluateOptions = _STATE["options"]
    stim = dataset.stimuli[stem]
    h, w = stim.shape
    notes: list[str] = []
    path = _STATE["maps"][stem]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        saliency = load_map(path, options.maps_kind)
    notes += [str(c.message) for c in caught]
    if saliency.shape != (h, w):
        # score_mit resizes it per metric exactly as the MIT code does (EMD from the original size).
        notes.append(
            f"{path}: map is {saliency.shape[0]}x{saliency.shape[1]}, image {stem} is {h}x{w}; "
            "resized with MATLAB-style bicubic imresize as the MIT code does"
        )
    groups = options.groups or tuple(dataset.groups)
    targets: dict[str, Target] = {}
    for group in groups:
        fix = dataset.fixations_for(group, stem)
        rng = metric_rng(options.seed, stem, group, "other_images")
        other = other_fixation_map(dataset, group, stem, n_other=options.shuffled_n_other, rng=rng)
        targets[group] = Target(
            fixation_map=fix.binary_map(h, w),
            density=continuous_map(dataset, group, stem),
            other_map=other,
        )
    base = baseline_map(options.ig_baseline, _STATE["template"], h, w)
    scores = score_mit(
        saliency, targets, base, metrics=options.metrics, seed=options.seed, image_id=stem,
        n_splits=options.n_splits, step_size=options.step_size,
    )
    rows = []
    for group in groups:
        n_fix = len(dataset.fixations_for(group, stem))
        for metric in options.metrics:
            rows.append(dict(image=stem, group=group, metric=metric, value=scores[group][metric],
                             convention=CONVENTION, n_fixations=n_fix))
    return rows, notes


def summarise(per_image: pd.DataFrame) -> pd.DataFrame:
    """Mean, SD (ddof 1) and n (images with a finite score) per group and metric."""
    finite = per_image[np.isfinite(per_image["value"].astype(float))]
    g = finite.groupby(["group", "metric"], sort=False)["value"]
    summary = g.agg(mean="mean", sd="std", n="count").reset_index()
    total = per_image.groupby(["group", "metric"], sort=False)["value"].size().rename("n_images").reset_index()
    summary = summary.merge(total, on=["group", "metric"], how="right")
    summary["n"] = summary["n"].fillna(0).astype(int)
    return summary[["group", "metric", "mean", "sd", "n", "n_images"]]


def _fixation_digest(dataset: Dataset, groups: tuple[str, ...]) -> str:
    h = hashlib.sha256()
    for group in groups:
        for stem in dataset.stimuli:
            f = dataset.fixations_for(group, stem)
            h.update(f"{group}/{stem}/{len(f)}".encode())
            for arr in (f.x, f.y, f.duration, f.viewer):
                h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()


def evaluate(
    dataset: Dataset,
    maps_dir: str | Path,
    out_dir: str | Path,
    options: EvaluateOptions = EvaluateOptions(),
    *,
    workers: int | None = None,
    progress: bool = True,
    source: dict[str, Any] | None = None,
) -> EvaluateResult:
    """Score every map in ``maps_dir`` against every group's fixations and write the outputs.

    Args:
        dataset: stimuli and fixations (see :mod:`asdgaze.data`).
        maps_dir: folder with ``<stem>.npy`` or ``<stem>.png`` per image.
        out_dir: where per_image.csv, summary.csv, summary.json and manifest.json go.
        options: every scoring choice (recorded in the manifest).
        workers: processes scoring images in parallel (default: the number of CPU cores, at most 8).
        progress: show a progress bar over images.
        source: how the dataset was loaded (path, table, coords, loader warnings), for the manifest.

    Returns:
        The tables and written files. An image whose map cannot be used is not scored: it is
        listed in ``result.failures`` (and the manifest) while every other image is.

    Raises:
        EvaluateError: bad options (unknown group or metric, negative seed, baseline file), or maps
        missing for some images (all missing stems are listed) while ``options.allow_missing`` is False.
    """
    t_start = time.perf_counter()
    out_dir = Path(out_dir)
    groups = tuple(dict.fromkeys(options.groups)) if options.groups else tuple(dataset.groups)
    if isinstance(options.seed, bool) or not isinstance(options.seed, int) or options.seed < 0:
        raise EvaluateError(f"seed must be a non-negative integer, got {options.seed!r}")
    if workers is not None and workers < 1:
        raise EvaluateError(f"workers must be >= 1, got {workers}")
    unknown = [g for g in groups if g not in dataset.fixations]
    if unknown:
        raise EvaluateError(f"group(s) {', '.join(unknown)} not in dataset {dataset.name!r} "
                            f"(it has: {', '.join(dataset.groups)})")
    options = EvaluateOptions(**{**asdict(options), "groups": groups})
    unknown_metrics = [m for m in options.metrics if m not in MIT_METRICS]
    if unknown_metrics:
        raise EvaluateError(f"unknown metric(s) {', '.join(unknown_metrics)}; known: {', '.join(MIT_METRICS)}")
    template, baseline_info = load_baseline_template(options)
    found, missing = find_maps(maps_dir, dataset.stimuli)
    if missing and not options.allow_missing:
        raise EvaluateError(
            f"no map in {maps_dir} for {len(missing)} of {len(dataset.stimuli)} images: "
            f"{', '.join(missing)} (expected <stem>.npy or <stem>.png; --allow-missing scores the rest)"
        )
    if not found:
        raise EvaluateError(f"no maps found in {maps_dir}")
    if options.maps_kind is None and any(m.is_npy for m in found.values()):
        raise EvaluateError(f"{maps_dir} holds .npy maps: say what they contain with "
                            "--maps-kind saliency|log-density")
    maps = {stem: m.path for stem, m in found.items()}
    stems = list(maps)

    n_workers = workers if workers is not None else min(os.cpu_count() or 1, 8)
    n_workers = max(1, min(n_workers, len(stems)))
    results: dict[str, tuple[list[dict[str, Any]], list[str], float, str | None]] = {}
    bar = _progress(len(stems), progress)
    init_args = (dataset, maps, options, template)
    try:
        if n_workers == 1:
            with threadpool_limits(1):  # as in a worker, without changing the caller's setting after
                _init_worker(*init_args)
                for stem in stems:
                    results[stem] = _score_image(stem)[1:]
                    bar.update(1)
                _STATE.clear()
        else:
            ctx = multiprocessing.get_context("spawn")  # safe beside torch threads
            with cf.ProcessPoolExecutor(n_workers, mp_context=ctx, initializer=_init_worker,
                                        initargs=init_args) as pool:
                futures = [pool.submit(_score_image, stem) for stem in stems]
                for fut in cf.as_completed(futures):
                    stem, *rest = fut.result()
                    results[stem] = tuple(rest)
                    bar.update(1)
    finally:
        bar.close()
    failures = [(stem, results[stem][3]) for stem in stems if results[stem][3] is not None]

    rows = [r for stem in stems for r in results[stem][0]]
    notes = [n for stem in stems for n in results[stem][1]]
    for n in notes:
        warnings.warn(n, stacklevel=2)
    per_image = pd.DataFrame(rows, columns=["image", "group", "metric", "value", "convention", "n_fixations"])
    summary = summarise(per_image)
    run = {
        "maps_dir": maps_dir, "maps": maps, "missing": missing, "failures": failures, "notes": notes,
        "baseline": baseline_info, "source": source or {}, "workers": n_workers,
        "seconds": {stem: results[stem][2] for stem in stems}, "total_s": time.perf_counter() - t_start,
    }
    files = _write_outputs(out_dir, dataset, options, per_image, summary, run)
    return EvaluateResult(per_image, summary, out_dir, files, missing, notes, failures)


def _progress(total: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="img", desc="evaluate", disable=not enabled, file=sys.stderr)


SALIENCY4ASD_CAVEAT = (
    "The Saliency4ASD images are very likely a subset of MIT1003, on which DeepGaze IIE was trained "
    "(and its centre bias fitted): absolute DeepGaze scores are optimistic; ASD-vs-TD comparisons on "
    "the same images remain meaningful. Report a centre-bias baseline beside any model."
)


def score_description(options: EvaluateOptions, dataset_name: str = "") -> dict[str, str]:
    """Plain-language statement of what was scored, written into every output."""
    caveat = {"caveat": SALIENCY4ASD_CAVEAT} if dataset_name == "saliency4asd" else {}
    return {
        **caveat,
        "convention": "mit: MIT Saliency Benchmark code (cvzoya/saliency, code_forMetrics), "
                      "fixation maps with duplicates collapsed",
        "maps": ("log-density maps scored as the density exp(log p) in float64, scaled to max 1"
                 if options.maps_kind == "log-density" else "maps scored as given (float64)"),
        "ig_baseline": {
            "gaussian": f"centre Gaussian, sigma = {CENTER_SIGMA_FRACTION} x each image side (fixed, not fitted)",
            "uniform": "uniform map",
        }.get(options.ig_baseline, f"template file {options.ig_baseline} "
                                   f"({'saliency' if options.ig_baseline.lower().endswith('.png') else options.ig_baseline_kind})"),
        "shuffled_auc_negatives": (
            f"fixations of {options.shuffled_n_other} random other images of the same group"
            if options.shuffled_n_other else "fixations of all other images of the same group"
        ) + ", rescaled to this image's size",
    }


def _continuous_map_sources(dataset: Dataset, groups: tuple[str, ...]) -> dict[str, Any]:
    """Which continuous maps (C of CC, KL, SIM, EMD) were shipped files and which were rebuilt."""
    out: dict[str, Any] = {}
    for group in groups:
        shipped = dataset.fixation_maps.get(group, {})
        out[group] = {
            "shipped": {stem: {"path": str(p), "sha256": sha256_file(p)} for stem, p in shipped.items()
                        if stem in dataset.stimuli},
            "rebuilt_with_saliency4asd_recipe": [stem for stem in dataset.stimuli if stem not in shipped],
        }
    return out


def _write_outputs(out_dir: Path, dataset: Dataset, options: EvaluateOptions, per_image: pd.DataFrame,
                   summary: pd.DataFrame, run: dict[str, Any]) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {name: out_dir / name for name in ("per_image.csv", "summary.csv", "summary.json", "manifest.json")}
    write_text_atomic(files["per_image.csv"], per_image.to_csv(index=False, float_format="%.10g"))
    write_text_atomic(files["summary.csv"], summary.to_csv(index=False, float_format="%.10g"))
    described = score_description(options, dataset.name)
    groups = tuple(options.groups or ())
    summary_json = {
        "description": described,
        "options": _jsonable(asdict(options)),
        "not_scored": {"missing_map": run["missing"], "failed": [{"image": i, "error": e} for i, e in run["failures"]]},
        "summary": json.loads(summary.to_json(orient="records")),
    }
    write_json_atomic(files["summary.json"], summary_json)
    manifest = {
        "tool": "asdgaze evaluate",
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "versions": package_versions("numpy", "scipy", "pandas", "POT", "pillow"),
        "dataset": {"name": dataset.name, "root": str(dataset.root), "n_images": len(dataset.stimuli),
                    "groups": list(groups), "source": run["source"],
                    "fixations_sha256": _fixation_digest(dataset, groups),
                    "continuous_maps": _continuous_map_sources(dataset, groups)},
        "maps": {"folder": str(run["maps_dir"]), "missing": run["missing"],
                 "sha256": {stem: sha256_file(p) for stem, p in run["maps"].items()}},
        "ig_baseline": run["baseline"],
        "options": _jsonable(asdict(options)),
        "description": described,
        "seeds": {"root": options.seed,
                  "streams": "asdgaze.metrics.streams.metric_rng(seed, image, group, metric); "
                             "metric 'other_images' draws the shuffled-AUC images"},
        "failures": [{"image": i, "error": e} for i, e in run["failures"]],
        "notes": run["notes"],
        "timings": {"total_s": round(run["total_s"], 3), "workers": run["workers"],
                    "per_image_s": {k: round(v, 4) for k, v in run["seconds"].items()}},
    }
    write_json_atomic(files["manifest.json"], manifest)
    return files


def _jsonable(d: dict[str, Any]) -> dict[str, Any]:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in d.items()}

"""Score saliency maps against each group's fixations with the MIT-convention metrics.

The library side of ``asdgaze evaluate``: :func:`evaluate` takes a dataset and a folder of maps
named by image stem, scores every (image, group) pair with the metrics of
:mod:`asdgaze.metrics.suite`, and writes ``per_image.csv``, ``summary.csv``, ``summary.json``
and ``manifest.json`` into the output folder.

Each finished image is saved at once (atomically) as ``parts/<stem>.json`` in the output folder, so
an interrupted run resumes: a rerun with the same settings scores only the images without a part,
and the final CSVs are byte-identical to an uninterrupted run.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import json
import multiprocessing
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import warnings
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from asdgaze.data.fixmaps import continuous_map, other_fixation_map
from asdgaze.data.types import Dataset, Fixations
from asdgaze.io import package_versions, sha256_file, write_json_atomic, write_text_atomic
from asdgaze.errors import AsdgazeError, MapError, OptionsError
from asdgaze.maps.io import MapKind, MapKindError, MapScaleWarning, find_maps, load_map
from asdgaze.metrics.streams import metric_rng
from asdgaze.metrics.suite import MIT_METRICS, Target, score_mit
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
    maps_kind: what ``.npy`` maps hold: "saliency" or "log-density" (scored as exp(log p)).
    ig_baseline: baseline map of information gain: "gaussian" (centre Gaussian, σ = 1/4 of each
        side), "uniform", "mit1003" (the cached MIT1003 centre-bias template that ``predict
        --centerbias mit1003`` uses, rescaled to each image), or a path to a template map
        (``.npy`` read as ``ig_baseline_kind``, or PNG).
    shuffled_n_other: number of other images (same group) whose fixations form the shuffled-AUC
        negatives; None means all other images.
    seed: root seed of every random draw (AUC jitter, Borji/shuffled splits, choice of other images).
    allow_aspect_change: score maps whose aspect ratio differs from their image's by more than 1 %
        (resized); otherwise such an image fails (a transposed or cropped map).
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

    @property
    def ok(self) -> bool:
        return not self.failures


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
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MapScaleWarning)
            template = load_map(path, kind)
    except MapError as e:
        raise EvaluateError(f"--ig-baseline: {e}") from e
    return Baseline(option, template=template), {"kind": "file", "path": str(path.resolve()), "content": kind,
                                                 "sha256": sha256_file(path)}


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


def _init_worker(dataset: Dataset, maps: dict[str, Path], options: EvaluateOptions, baseline: Baseline,
                 in_pool: bool = True) -> None:
    _STATE.update(dataset=dataset, maps=maps, options=options, baseline=baseline)
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
    """Score one image: its rows, notes and failures (a bad input fails its pairs, not the run)."""
    t0 = time.perf_counter()
    dataset: Dataset = _STATE["dataset"]
    options: EvaluateOptions = _STATE["options"]
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
        else:
            ok_groups.append(group)
    rows: list[dict[str, Any]] = []
    notes: list[list[str]] = []
    if ok_groups:
        try:
            rows, notes = _score_image_rows(stem, tuple(ok_groups))
        except AsdgazeError as e:  # anything else is a bug and must surface
            failures += [[stem, g, str(e)] for g in ok_groups]
            rows = []
    return {"image": stem, "rows": rows, "notes": notes, "failures": failures,
            "seconds": time.perf_counter() - t0}


def _score_image_rows(stem: str, groups: tuple[str, ...]) -> tuple[list[dict[str, Any]], list[list[str]]]:
    dataset: Dataset = _STATE["dataset"]
    options: EvaluateOptions = _STATE["options"]
    stim = dataset.stimuli[stem]
    h, w = stim.shape
    notes: list[list[str]] = []  # [kind, text]: kinds are summed up once per run
    path = _STATE["maps"][stem]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        saliency = load_map(path, options.maps_kind)
    notes += [["scale" if issubclass(c.category, MapScaleWarning) else "map", str(c.message)] for c in caught]
    if saliency.shape != (h, w):
        mh, mw = saliency.shape
        change = abs((mw / mh) / (w / h) - 1)
        if change > 0.01 and not options.allow_aspect_change:
            raise MapError(f"{path}: map is {mh}x{mw} (height x width), image {stem} is {h}x{w}: the aspect "
                           f"ratio differs by {100 * change:.1f} % (a transposed or cropped map?); "
                           "--allow-aspect-change scores it resized")
        # score_mit resizes it per metric exactly as the MIT code does (EMD from the original size).
        notes.append(["resized", f"{path}: map is {mh}x{mw}, image {stem} is {h}x{w}"])
    if not saliency.max() > saliency.min():
        notes.append(["constant", f"{path}: constant map (every pixel {saliency.flat[0]:.6g})"])
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
    base = _STATE["baseline"].map(h, w) if "ig" in options.metrics else np.ones((h, w))
    scores = score_mit(
        saliency, targets, base, metrics=options.metrics, seed=options.seed, image_id=stem,
        n_splits=options.n_splits, step_size=options.step_size,
    )
    rows = []
    for group in groups:
        n_fix = len(dataset.fixations_for(group, stem))
        for metric in options.metrics:
            rows.append(dict(image=stem, group=group, metric=metric, value=float(scores[group][metric]),
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


def _settings(dataset: Dataset, options: EvaluateOptions, baseline_info: dict[str, Any]) -> dict[str, Any]:
    """What must match for a folder's earlier results to be reused (maps and fixations: per image)."""
    opts = _jsonable(asdict(options))
    opts.pop("allow_missing")  # which images are scored, not how
    return {"dataset": dataset.name, "options": opts, "ig_baseline": baseline_info}


def _prepare_out_dir(out_dir: Path, settings: dict[str, Any], overwrite: bool) -> None:
    """Refuse a folder holding another run's results (unless overwrite); check that it is writable."""
    parts = out_dir / PARTS
    previous = None
    for f in (parts / "settings.json", out_dir / "manifest.json"):
        if f.is_file():
            try:
                data = json.loads(f.read_text(encoding="utf-8"))
                previous = data.get("settings", "unknown") if isinstance(data, dict) else "unreadable"
            except (OSError, ValueError):
                previous = "unreadable"
            break
    if previous is not None and previous != settings:
        if not overwrite:
            raise EvaluateError(f"{out_dir}: holds results of another evaluate run (different settings); "
                                "use another --out folder or --overwrite")
    if previous is not None and (previous != settings or overwrite):
        shutil.rmtree(parts, ignore_errors=True)
        for name in OUTPUT_FILES:
            (out_dir / name).unlink(missing_ok=True)
    try:
        parts.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=parts):
            pass
    except OSError as e:
        raise EvaluateError(f"{out_dir}: output folder not usable ({e.strerror or e})") from e
    write_json_atomic(parts / "settings.json", {"settings": settings})


def _read_part(path: Path, key: dict[str, str]) -> dict[str, Any] | None:
    """A finished image from an earlier run, if complete and made from the same map and fixations."""
    try:
        part = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(part, dict) or part.get("key") != key or part.get("failures"):
        return None  # other inputs, or a failure that a rerun may not repeat
    return part


def evaluate(
    dataset: Dataset,
    maps_dir: str | Path,
    out_dir: str | Path,
    options: EvaluateOptions = EvaluateOptions(),
    *,
    workers: int | None = None,
    progress: bool = True,
    source: dict[str, Any] | None = None,
    overwrite: bool = False,
) -> EvaluateResult:
    """Score every map in ``maps_dir`` against every group's fixations and write the outputs.

    Args:
        dataset: stimuli and fixations (see :mod:`asdgaze.data`).
        maps_dir: folder with ``<stem>.npy`` or ``<stem>.png`` per image (``.npy`` wins if both exist).
        out_dir: where per_image.csv, summary.csv, summary.json and manifest.json go.
        options: every scoring choice (recorded in the manifest).
        workers: processes scoring images in parallel (default: the number of CPU cores, at most 8).
        progress: show a progress bar over images.
        source: how the dataset was loaded (path, table, coords, loader warnings), for the manifest.
        overwrite: discard results of another run with other settings in ``out_dir``.

    Returns:
        The tables and written files. An (image, group) pair that cannot be scored (unusable map,
        unreadable fixations in ``dataset.problems``) is listed in ``result.failures`` (and the
        manifest) while every other pair is scored. Notes (constant or resized maps, loader notes)
        are issued once each as :class:`EvaluateWarning`.

    Raises:
        EvaluateError: bad options (unknown group or metric, negative seed, baseline), missing maps
        (all missing stems are listed) while ``options.allow_missing`` is False, an output folder
        holding another run, or a worker process that died.
        EvaluateInterrupted: Ctrl-C; finished images are kept and a rerun resumes.
    """
    t_start = time.perf_counter()
    out_dir = Path(out_dir).expanduser().resolve()
    maps_dir = Path(maps_dir).expanduser().resolve()
    groups = tuple(dict.fromkeys(options.groups)) if options.groups else tuple(dataset.groups)
    if isinstance(options.seed, bool) or not isinstance(options.seed, int) or options.seed < 0:
        raise EvaluateError(f"seed must be a non-negative integer, got {options.seed!r}")
    if workers is not None and workers < 1:
        raise EvaluateError(f"workers must be >= 1, got {workers}")
    unknown = [g for g in groups if g not in dataset.fixations and g not in dataset.problems]
    if unknown:
        raise EvaluateError(f"group(s) {', '.join(unknown)} not in dataset {dataset.name!r} "
                            f"(it has: {', '.join(dataset.groups)})")
    metrics = tuple(dict.fromkeys(options.metrics))
    unknown_metrics = [m for m in metrics if m not in MIT_METRICS]
    if unknown_metrics or not metrics:
        raise EvaluateError(f"unknown metric(s) {', '.join(unknown_metrics) or '(none given)'}; "
                            f"known: {', '.join(MIT_METRICS)}")
    options = EvaluateOptions(**{**asdict(options), "groups": groups, "metrics": metrics})
    # Everything a run needs is checked before the first image is scored.
    baseline, baseline_info = resolve_baseline(options)
    try:
        found, missing = find_maps(maps_dir, dataset.stimuli)
    except MapError as e:
        raise EvaluateError(str(e)) from e
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
    _check_maps_kind(found, options)
    settings = _settings(dataset, options, baseline_info)
    _prepare_out_dir(out_dir, settings, overwrite)

    maps = {stem: m.path for stem, m in found.items()}
    # Pairs whose fixations could not be read fail even without an image (size unreadable).
    extra = sorted({s for g in groups for s in dataset.problems.get(g, {})} - set(dataset.stimuli) - set(maps),
                   key=_natural)
    stems = [s for s in dataset.stimuli if s in maps] + extra
    map_sha = {stem: sha256_file(p) for stem, p in maps.items()}
    parts_dir = out_dir / PARTS
    keys = {stem: {"map_sha256": map_sha.get(stem, ""), "fixations_sha256": _fixation_digest(dataset, groups, [stem])}
            for stem in stems}
    results: dict[str, dict[str, Any]] = {}
    for stem in stems:
        part = _read_part(parts_dir / f"{stem}.json", keys[stem])
        if part is not None:
            results[stem] = part
    resumed = [s for s in stems if s in results]
    todo = [s for s in stems if s not in results]

    def finish(res: dict[str, Any]) -> None:
        res["key"] = keys[res["image"]]
        write_json_atomic(parts_dir / f"{res['image']}.json", res)
        results[res["image"]] = res
        bar.update(1)

    n_workers = workers if workers is not None else min(os.cpu_count() or 1, 8)
    n_workers = max(1, min(n_workers, len(todo)))
    bar = _progress(len(stems), progress, initial=len(resumed))
    init_args = (dataset, maps, options, baseline)
    try:
        if n_workers == 1:
            with threadpool_limits(1):  # as in a worker, without changing the caller's setting after
                _init_worker(*init_args, in_pool=False)
                try:
                    for stem in todo:
                        finish(_score_image(stem))
                finally:
                    _STATE.clear()
        else:
            _run_pool(n_workers, init_args, todo, finish)
    except KeyboardInterrupt:
        raise EvaluateInterrupted(len(results), len(stems), parts_dir) from None
    finally:
        bar.close()

    failures = [Failure(*f) for stem in stems for f in results[stem]["failures"]]
    rows = [r for stem in stems for r in results[stem]["rows"]]
    detail = [n for stem in stems for n in results[stem]["notes"]]
    notes = list(dataset.notes) + _summarise_notes(detail, options)
    for n in notes:
        warnings.warn(n, EvaluateWarning, stacklevel=2)
    per_image = pd.DataFrame(rows, columns=["image", "group", "metric", "value", "convention", "n_fixations"])
    summary = summarise(per_image)
    run = {
        "maps_dir": maps_dir, "maps": maps, "map_sha256": map_sha, "missing": missing, "failures": failures,
        "notes": notes, "note_detail": [t for _, t in detail], "baseline": baseline_info,
        "source": source or {}, "workers": n_workers, "settings": settings, "resumed": resumed,
        "seconds": {stem: results[stem]["seconds"] for stem in stems}, "total_s": time.perf_counter() - t_start,
    }
    files = _write_outputs(out_dir, dataset, options, per_image, summary, run)
    return EvaluateResult(per_image, summary, out_dir, files, missing, notes, failures, resumed)


def _run_pool(n_workers: int, init_args: tuple, todo: list[str], finish) -> None:
    """Score ``todo`` in worker processes; a worker that dies ends the run at once with a clear error."""
    # fork: the workers do not re-import the caller's script (a spawn pool hangs or fails on a script
    # without an `if __name__ == "__main__":` guard). evaluate never imports torch, so no torch
    # threads are forked; where fork is unavailable or unsafe (Windows, macOS) spawn is used.
    method = "fork" if sys.platform.startswith("linux") and "torch" not in sys.modules else "spawn"
    ctx = multiprocessing.get_context(method)
    pool = cf.ProcessPoolExecutor(n_workers, mp_context=ctx, initializer=_init_worker, initargs=init_args)
    done = False
    try:
        futures = [pool.submit(_score_image, stem) for stem in todo]
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
            "mit1003": "MIT1003 centre-bias template (as predict --centerbias mit1003), rescaled to each image",
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
            "shipped": {stem: {"path": str(Path(p).resolve()), "sha256": sha256_file(p)} for stem, p in shipped.items()
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
        "not_scored": {"missing_map": run["missing"], "failed": [f._asdict() for f in run["failures"]]},
        "summary": json.loads(summary.to_json(orient="records")),
    }
    write_json_atomic(files["summary.json"], summary_json)
    manifest = {
        "tool": "asdgaze evaluate",
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "versions": package_versions("numpy", "scipy", "pandas", "POT", "pillow"),
        "dataset": {"name": dataset.name, "root": str(Path(dataset.root).resolve()), "n_images": len(dataset.stimuli),
                    "groups": list(groups), "source": run["source"],
                    "fixations_sha256": _fixation_digest(dataset, groups),
                    "continuous_maps": _continuous_map_sources(dataset, groups)},
        "maps": {"folder": str(run["maps_dir"]), "missing": run["missing"],
                 "rule": "<stem>.npy is used when both <stem>.npy and <stem>.png exist",
                 "files": {stem: str(p) for stem, p in run["maps"].items()},
                 "sha256": run["map_sha256"]},
        "ig_baseline": run["baseline"],
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
        "timings": {"total_s": round(run["total_s"], 3), "workers": run["workers"],
                    "per_image_s": {k: round(v, 4) for k, v in run["seconds"].items()}},
    }
    write_json_atomic(files["manifest.json"], manifest)
    return files


def _jsonable(d: dict[str, Any]) -> dict[str, Any]:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in d.items()}

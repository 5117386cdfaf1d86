"""The models one evaluate run scores: folders of maps and baselines, behind one small record.

A folder of maps is read as the MIT code reads it (:func:`asdgaze.maps.io.load_map`) for the
MIT convention and, for ``.npy`` log-densities, as a :class:`~asdgaze.predictions.LogDensity`
for the probabilistic convention (a saliency map has no probabilities: that model's
probabilistic rows are not written, and a note says so). Baselines are predictors
(:mod:`asdgaze.models.predictor`, :mod:`asdgaze.models.fitted`) fitted once, before scoring.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from asdgaze.data.types import Dataset, Stimulus
from asdgaze.errors import AsdgazeError, MapError, OptionsError
from asdgaze.evaluation.procs import start_method
from asdgaze.maps.hdf5 import H5Map, describe_extra, find_h5_maps, stimulus_paths
from asdgaze.maps.io import check_aspect, check_map, load_prediction
from asdgaze.metrics.prob_scoring import ShuffledBaseline, _resize_density
from asdgaze.predictions import LogDensity

#: Baselines scored by default: every one that needs no file.
DEFAULT_BASELINES: tuple[str, ...] = ("uniform", "centerbias", "gold-standard", "other-group")


def default_baselines(groups) -> tuple[str, ...]:
    """:data:`DEFAULT_BASELINES` for these groups: other-group compares two groups, so only with two."""
    return tuple(b for b in DEFAULT_BASELINES if b != "other-group" or len(groups) == 2)

#: Baselines whose density depends on the group scored.
GROUP_DEPENDENT = frozenset({"centerbias", "gold-standard", "other-group"})
#: Grid of the shuffled (mean) density of sAUC's metric-specific map, rows x columns.
SHUFFLED_GRID = (96, 128)

#: Per process: densities and derived maps of shape-only models (``Model.shape_only``), by size.
_SHAPE_CACHE: dict = {}

GOLD_MAP = ("leave-one-viewer-out: each viewer's fixations scored by the density of the other viewers "
            "of the same group on the same image (KDE mixed with the fitted centre bias)")


@dataclass
class Model:
    """One scored model: a folder of maps (``maps``: stem -> file) or a baseline (``predictor``)."""

    name: str
    kind: str  # "maps" or "baseline"
    folder: Path | None = None
    maps: dict[str, Path | H5Map] = field(default_factory=dict)  # files, or datasets of one HDF5 file
    predictor: Any = None
    log_density_maps: bool = False  # a maps folder of .npy log-densities: scored probabilistically too
    allow_aspect_change: bool = False  # --allow-aspect-change: a map of another aspect ratio is resized
    hdf5_sha256: str | None = None  # maps from one HDF5 file (``folder``): that file's sha256

    @property
    def group_dependent(self) -> bool:
        return self.kind == "baseline" and self.name in GROUP_DEPENDENT

    def log_density(self, stim: Stimulus, group: str, cache: dict | None = None) -> LogDensity:
        """The model's log-density on ``stim`` (for ``group``); MapError for an unusable map.

        ``cache`` (one image's): the density is computed once per image (and group, where it
        depends on it) and shared by both conventions and the IG baseline."""
        if cache is None:
            return self._log_density(stim, group)
        if self.shape_only:  # the same density on every image of this size: kept for the whole process
            key = ("shape", id(self.predictor), stim.shape)
            if key not in _SHAPE_CACHE:
                _SHAPE_CACHE[key] = self._log_density(stim, group)
            return _SHAPE_CACHE[key]
        key = (id(self.predictor) if self.kind == "baseline" else self.name, group if self.group_dependent else None)
        if key not in cache:
            cache[key] = self._log_density(stim, group)
        return cache[key]

    @property
    def shape_only(self) -> bool:
        """The density depends on the image's size only (uniform), not on its id, group or fixations."""
        from asdgaze.models.predictor import UniformPredictor

        return self.kind == "baseline" and type(self.predictor) is UniformPredictor

    def _log_density(self, stim: Stimulus, group: str) -> LogDensity:
        if self.kind == "baseline":
            return _baseline_density(self.predictor, stim, group)
        path = self.maps[stim.id]
        # The MIT convention's reading of the same file reports its warnings; no catch_warnings here:
        # it changes process-wide state and this runs in threads.
        check_map(path, stim.id, stim.shape, self.allow_aspect_change)  # from the header, before reading it
        pred = load_prediction(path, "log-density", warn=False)
        if pred.shape != stim.shape:  # resized as the MIT side resizes (within 1 % of the aspect, or allowed)
            check_aspect(path, pred.shape, stim.id, stim.shape, self.allow_aspect_change)
            d = _resize_density(pred.density(), stim.shape)
            pred = LogDensity.normalized(np.log(np.maximum(d, np.finfo(float).tiny)))
        if not np.all(np.isfinite(pred.values)):
            raise MapError(f"{path}: the log-density contains -inf (zero probability); the probabilistic "
                           "convention needs a positive density everywhere")
        return pred

    def describe(self) -> dict[str, Any]:
        if self.kind == "maps":
            hdf5 = {} if self.hdf5_sha256 is None else {"hdf5_sha256": self.hdf5_sha256}
            return {"name": self.name, "kind": "maps", "folder": str(self.folder),
                    "probabilistic": self.log_density_maps, **hdf5}
        return {"kind": "baseline", **self.predictor.describe(), "name": self.name}


def hdf5_model(name: str, path: Path, dataset: Dataset, maps_kind: str | None, allow_missing: bool,
               allow_aspect_change: bool) -> tuple[Model, list[str], list[str]]:
    """A model whose maps are the log-densities of one HDF5 file: (model, stems without a map, notes).

    Checked before any scoring: OptionsError for ``--maps-kind saliency``, missing stimuli (unless
    ``allow_missing``) or no match at all; MapError for a file that is no readable HDF5 file."""
    from asdgaze.io import sha256_file

    if maps_kind not in (None, "log-density"):
        raise OptionsError(f"--maps {path}: an HDF5 file holds log-densities; --maps-kind {maps_kind} does not "
                           "apply to it (leave --maps-kind out or give log-density)")
    paths = stimulus_paths(dataset.stimuli)
    found, missing, extra = find_h5_maps(path, paths)
    if missing and not allow_missing:
        raise OptionsError(f"no map in {path} for {len(missing)} of {len(dataset.stimuli)} images: "
                           f"{', '.join(missing)} (expected a dataset named by the image's file name, e.g. "
                           f"{Path(paths[missing[0]]).name}; --allow-missing scores the rest)")
    if not found:
        raise OptionsError(f"{path}: no dataset matches an image of the dataset (datasets are named by the "
                           "image's file name, e.g. 12.png)")
    note = describe_extra(path, extra)
    model = Model(name, "maps", path, dict(found), log_density_maps=True, allow_aspect_change=allow_aspect_change,
                  hdf5_sha256=sha256_file(path))
    return model, missing, [note] if note else []


def fit_baselines(dataset: Dataset, names: tuple[str, ...], groups: tuple[str, ...]) -> dict[str, Any]:
    """The baseline predictors ``names``, fitted once on ``groups`` (they share one centre bias fit)."""
    from asdgaze.models.fitted import BASELINES, FittedCenterBias, GoldStandard, OtherGroupPredictor
    from asdgaze.models.predictor import CenterBiasMIT1003Predictor, UniformPredictor

    unknown = [n for n in names if n not in BASELINES]
    if unknown:
        raise OptionsError(f"--baselines: unknown baseline(s) {', '.join(unknown)} (choose from {', '.join(BASELINES)})")
    fitted_groups = [g for g in groups if g in dataset.fixations]
    out: dict[str, Any] = {}
    cb = gold = None
    for name in names:
        if name == "uniform":
            out[name] = UniformPredictor()
        elif name == "centerbias-mit1003":
            out[name] = CenterBiasMIT1003Predictor()
        else:
            if cb is None:
                cb = FittedCenterBias(dataset, fitted_groups)
            if name == "centerbias":
                out[name] = cb
                continue
            if gold is None:
                gold = GoldStandard(dataset, cb, fitted_groups)
            if name == "gold-standard":
                out[name] = gold
            else:
                if len(fitted_groups) != 2:
                    raise OptionsError("--baselines other-group needs exactly two groups "
                                       f"(scored: {', '.join(fitted_groups)})")
                out[name] = OtherGroupPredictor(gold)
    return out


def _baseline_density(predictor: Any, stim: Stimulus, group: str) -> LogDensity:
    """A baseline's log-density; predictors return normalised log-densities, so one check suffices
    (renormalised only if rounding left it outside the tolerance)."""
    arr = predictor.log_density(stim, group)
    try:
        return LogDensity(arr)
    except MapError:
        return LogDensity.normalized(arr)


class IGBaseline:
    """The probabilistic information gain's baseline: a baseline predictor or a log-density file."""

    def __init__(self, option: str, predictor: Any = None, template: np.ndarray | None = None) -> None:
        self.option, self.predictor, self.template = option, predictor, template

    def log_density(self, stim: Stimulus, group: str, cache: dict | None = None) -> LogDensity:
        if self.predictor is not None:
            if cache is None:
                return _baseline_density(self.predictor, stim, group)
            from asdgaze.models.fitted import FittedCenterBias, GoldStandard, OtherGroupPredictor

            dependent = isinstance(self.predictor, (FittedCenterBias, GoldStandard, OtherGroupPredictor))
            key = (id(self.predictor), group if dependent else None)
            if key not in cache:
                cache[key] = _baseline_density(self.predictor, stim, group)
            return cache[key]
        d = np.exp(self.template - self.template.max())
        d = _resize_density(d / d.sum(), stim.shape)
        return LogDensity.normalized(np.log(np.maximum(d, np.finfo(float).tiny)))


def resolve_prob_baseline(option: str, dataset: Dataset, groups: tuple[str, ...],
                          fitted: dict[str, Any]) -> tuple[IGBaseline, dict[str, Any]]:
    """``--prob-ig-baseline``: a baseline name (reusing an already fitted one) or a ``.npy`` log-density."""
    from asdgaze.models.fitted import BASELINES

    if option in BASELINES:
        if option == "gold-standard":
            raise OptionsError("--prob-ig-baseline: the gold standard is the ceiling, not a baseline")
        pred = fitted.get(option) or fit_baselines(dataset, (option,), groups)[option]
        return IGBaseline(option, predictor=pred), {"kind": option, **pred.describe()}
    path = Path(option).expanduser()
    if path.suffix.lower() != ".npy" or not path.is_file():
        raise OptionsError(f"--prob-ig-baseline: {option!r} is neither a baseline ({', '.join(BASELINES)}) "
                           "nor an existing .npy log-density file")
    from asdgaze.models.centerbias import load_template

    try:  # the centre-bias loader's checks: finite, 2-D, logsumexp 0 (a saliency array is refused)
        arr, sha = load_template(path.resolve())
    except MapError as e:
        raise OptionsError(f"--prob-ig-baseline: {e}") from None
    return IGBaseline(option, template=np.asarray(arr, dtype=np.float64)), {
        "kind": "file", "path": str(path.resolve()), "sha256": sha,
        "content": "log-density, resampled bilinearly to each image and renormalised"}


# The plan's inputs in a plan worker (set by _plan_init): jobs (model, group key), dataset, groups.
_PLAN: dict[str, Any] = {}


def _plan_init(jobs: list, dataset: Dataset, groups: tuple[str, ...], in_pool: bool = False) -> None:
    _PLAN.update(jobs=jobs, dataset=dataset, groups=groups)
    if in_pool:  # one BLAS thread per plan process: the pool already uses the cores
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)


def _plan_part(task: tuple[int, str]) -> np.ndarray | None:
    """One image's density of one (model, group) job, resampled to the shuffled grid (None: not used)."""
    j, stem = task
    model, g = _PLAN["jobs"][j]
    dataset = _PLAN["dataset"]
    grp = g if g is not None else _PLAN["groups"][0]
    stim = dataset.stimuli.get(stem)
    if stim is None or (model.kind == "maps" and stem not in model.maps):
        return None
    if model.group_dependent and not len(dataset.fixations.get(grp, {}).get(stem, ())):
        return None
    try:
        pred = model.log_density(stim, grp)
    except AsdgazeError:
        return None  # this image fails when it is scored
    return _resize_density(pred.density(), SHUFFLED_GRID)


class Shuffled:
    """Per (model, group) the sum of the model's densities over the images (sAUC's p_shuffled)."""

    def __init__(self) -> None:
        self.sums: dict[tuple[str, str | None], ShuffledBaseline] = {}
        self.added: dict[tuple[str, str | None], set[str]] = {}

    def build(self, model: Model, dataset: Dataset, stems: list[str], groups: tuple[str, ...]) -> None:
        self.build_all([model], dataset, stems, groups, workers=1)

    def build_all(self, models: list[Model], dataset: Dataset, stems: list[str], groups: tuple[str, ...],
                  workers: int = 1) -> None:
        """The sums of every model that needs one, each image's density resampled to the small grid
        in ``workers`` processes (fork; threads where fork is unavailable). The parts are added in image
        order, so the sums do not depend on the workers."""
        jobs = [(m, g) for m in models if not self.is_own_shuffle(m)
                for g in (list(groups) if m.group_dependent else [None])]
        if not jobs:
            return
        tasks = [(j, stem) for j in range(len(jobs)) for stem in stems]
        args = (jobs, dataset, groups)
        if workers > 1 and start_method() == "fork":
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                                     initializer=_plan_init, initargs=(*args, True)) as pool:
                parts = list(pool.map(_plan_part, tasks, chunksize=max(1, len(tasks) // (8 * workers))))
        else:
            from concurrent.futures import ThreadPoolExecutor

            # numpy releases the GIL in exp/log/matmul: two threads nearly halve this step
            _plan_init(*args)
            try:
                with ThreadPoolExecutor(2) as tpool:
                    parts = list(tpool.map(_plan_part, tasks))
            finally:
                _PLAN.clear()
        for j, (model, g) in enumerate(jobs):
            sb = ShuffledBaseline(SHUFFLED_GRID)
            added: set[str] = set()
            for stem, part in zip(stems, parts[j * len(stems):(j + 1) * len(stems)]):
                if part is not None:
                    sb.add_part(part, key=stem)
                    added.add(stem)
            self.sums[(model.name, g)] = sb
            self.added[(model.name, g)] = added

    @staticmethod
    def is_own_shuffle(model: Model) -> bool:
        """The fitted centre bias already is the density of the other images' fixations: its own
        p_shuffled (and the uniform density is its own mean). (The mean of its predictions on the other images would hold this image's
        fixations, and push its sAUC below 0.5.)"""
        # uniform: the mean of uniform densities is uniform (exact), so it is its own as well
        return model.kind == "baseline" and model.name in ("centerbias", "uniform")

    def log_density(self, model: Model, group: str, stem: str, pred: LogDensity) -> np.ndarray:
        if self.is_own_shuffle(model):
            return pred.values
        key = (model.name, group if model.group_dependent else None)
        sb, added = self.sums[key], self.added[key]
        if sb.count - (stem in added) < 1:  # no other image: nothing to shuffle, a flat p_shuffled
            return np.full(pred.shape, -np.log(pred.shape[0] * pred.shape[1]))
        if stem in added:
            return sb.log_density_without(pred, key=stem)
        mean = sb.total / sb.total.sum()
        d = _resize_density(mean, pred.shape)
        return np.log(np.maximum(d, np.finfo(float).tiny))

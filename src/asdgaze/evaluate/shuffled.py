"""sAUC's shuffled density (metric-specific map ``log p - log p_shuffled``): per (model, group) the sum of
the model's densities over the images, each resampled to a small grid, built once in the plan.

A model that is its own shuffled density (``Traits.own_shuffle``: uniform, the fitted centre bias) needs
none; a model scored leave-one-viewer-out (the gold standard) is scored on LL and IG only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from asdgaze.data.types import Dataset
from asdgaze.errors import AsdgazeError
from asdgaze.procs import start_method
from asdgaze.metrics.prob_scoring import ShuffledBaseline
from asdgaze.predictions import LogDensity, resize_density

__all__ = ["Shuffled", "SHUFFLED_GRID"]

#: Grid of the shuffled (mean) density of sAUC's metric-specific map, rows x columns.
SHUFFLED_GRID = (96, 128)

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
    if stim is None or not model.predictor.covers(stem):
        return None
    if model.traits.group_dependent and not len(dataset.fixations.get(grp, {}).get(stem, ())):
        return None
    try:
        pred = model.density(stim, grp)
    except AsdgazeError:
        return None  # this image fails when it is scored
    return resize_density(pred.density(), SHUFFLED_GRID)


def needs_shuffled(model: Any) -> bool:
    """Whether ``model``'s metric-specific sAUC needs a shuffled density built in the plan."""
    t = model.traits
    return t.density and not t.own_shuffle and not t.leaves_viewers_out


class Shuffled:
    """Per (model, group) the sum of the model's densities over the images (sAUC's p_shuffled)."""

    def __init__(self) -> None:
        self.sums: dict[tuple[str, str | None], ShuffledBaseline] = {}
        self.added: dict[tuple[str, str | None], set[str]] = {}

    def build_all(self, models: list, dataset: Dataset, stems: list[str], groups: tuple[str, ...],
                  workers: int = 1) -> None:
        """The sums of every model that needs one, each image's density resampled to the small grid
        in ``workers`` processes (fork; threads where fork is unavailable). The parts are added in image
        order, so the sums do not depend on the workers."""
        jobs = [(m, g) for m in models if needs_shuffled(m)
                for g in (list(groups) if m.traits.group_dependent else [None])]
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

            from threadpoolctl import threadpool_limits

            # numpy releases the GIL in exp/log/matmul: two threads nearly halve this step, each with one
            # BLAS thread (a BLAS pool per thread on top would make it three times slower)
            _plan_init(*args)
            try:
                with threadpool_limits(1), ThreadPoolExecutor(2) as tpool:
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

    def log_density(self, model: Any, group: str, stem: str, pred: LogDensity) -> np.ndarray:
        if model.traits.own_shuffle:
            return pred.values
        key = (model.name, group if model.traits.group_dependent else None)
        sb, added = self.sums[key], self.added[key]
        if sb.count - (stem in added) < 1:  # no other image: nothing to shuffle, a flat p_shuffled
            return np.full(pred.shape, -np.log(pred.shape[0] * pred.shape[1]))
        if stem in added:
            return sb.log_density_without(pred, key=stem)
        mean = sb.total / sb.total.sum()
        d = resize_density(mean, pred.shape)
        return np.log(np.maximum(d, np.finfo(float).tiny))

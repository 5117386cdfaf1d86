"""What the fitted models share: folds over images, a coarse grid of each image, likelihoods, blurs.

Fitting a model to fixations touches every image many times, so fits run on a reduced-resolution grid of
each image (:class:`CellGrid`: square cells of ``cell`` pixels, the last row and column of cells cut by the
image's edge) where a fixation is the cell it falls in. A density over the cells is a density over the
pixels that is uniform within each cell, so log-likelihoods on the grid are per pixel, in nats, comparable
with those of the full-resolution model. Cross-validation splits the images into k folds (:func:`folds`),
deterministically for a seed. Numpy and scipy only (evaluate stays free of torch).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

__all__ = ["folds", "CellGrid", "ADAPT_CELLS", "log_likelihood", "blur", "blur_image", "fit_in_parallel", "GRID_CELLS"]

#: Cells along an image's longer side for the fits: the conversion's and the (more often repeated) adaptation's.
GRID_CELLS = 48
ADAPT_CELLS = 32


def folds(stems: Sequence[str], k: int, seed: int) -> list[list[str]]:
    """``stems`` split into ``min(k, len(stems))`` folds of nearly equal size, at random but the same for the
    same stems, k and seed (the order the stems are given in does not matter).

    >>> folds(["a", "b", "c"], 5, 0) == folds(["c", "a", "b"], 5, 0)
    True
    >>> sorted(len(f) for f in folds([str(i) for i in range(10)], 3, 1))
    [3, 3, 4]
    """
    ordered = sorted(dict.fromkeys(stems))
    if not ordered:
        return []
    k = max(1, min(int(k), len(ordered)))
    perm = np.random.default_rng([int(seed), 18]).permutation(len(ordered))
    return [sorted(ordered[i] for i in perm[j::k]) for j in range(k)]


@dataclass(frozen=True)
class CellGrid:
    """An image of ``height`` x ``width`` pixels in square cells of ``cell`` pixels.

    >>> g = CellGrid.for_shape((30, 41), 8)
    >>> g.cell, g.shape, int(g.counts.sum())
    (6, (5, 7), 1230)
    """

    height: int
    width: int
    cell: int

    @classmethod
    def for_shape(cls, shape: tuple[int, int], cells: int = GRID_CELLS) -> "CellGrid":
        h, w = int(shape[0]), int(shape[1])
        return cls(h, w, max(1, math.ceil(max(h, w) / cells)))

    @property
    def shape(self) -> tuple[int, int]:
        return math.ceil(self.height / self.cell), math.ceil(self.width / self.cell)

    @property
    def counts(self) -> np.ndarray:
        """Pixels per cell (gh, gw)."""
        rows = np.minimum(self.cell, self.height - self.cell * np.arange(self.shape[0]))
        cols = np.minimum(self.cell, self.width - self.cell * np.arange(self.shape[1]))
        return np.outer(rows, cols).astype(np.float64)

    def sums(self, values: np.ndarray) -> np.ndarray:
        """Each cell's sum of a full-resolution (height, width) array."""
        a = np.asarray(values, dtype=np.float64)
        if a.shape != (self.height, self.width):
            raise ValueError(f"expected a {self.height}x{self.width} array, got {a.shape}")
        a = np.add.reduceat(a, np.arange(0, self.height, self.cell), axis=0)
        return np.add.reduceat(a, np.arange(0, self.width, self.cell), axis=1)

    def means(self, values: np.ndarray) -> np.ndarray:
        """Each cell's mean of a full-resolution array (a saliency map on the grid)."""
        return self.sums(values) / self.counts

    def cells(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """The flat cell index of integer pixel ``rows``, ``cols``."""
        r = np.asarray(rows, dtype=np.int64) // self.cell
        c = np.asarray(cols, dtype=np.int64) // self.cell
        return r * self.shape[1] + c

    def centres(self) -> tuple[np.ndarray, np.ndarray]:
        """The cells' centres in pixel coordinates (y, x), each (gh, gw), of the pixels they hold."""
        ys = (self.cell * np.arange(self.shape[0]) + np.minimum(self.cell, self.height - self.cell *
                                                                 np.arange(self.shape[0])) / 2.0)
        xs = (self.cell * np.arange(self.shape[1]) + np.minimum(self.cell, self.width - self.cell *
                                                                 np.arange(self.shape[1])) / 2.0)
        return np.meshgrid(ys, xs, indexing="ij")


def log_likelihood(log_mass: np.ndarray, cells: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Per fixation, the natural log of its pixel's probability under a density over cells that is uniform
    within each cell: ``log_mass`` (a normalised log-probability per cell, any shape) at the fixation's
    cell, less the log of that cell's pixel count.

    >>> float(log_likelihood(np.log(np.array([0.5, 0.5])), np.array([1]), np.array([2.0, 2.0]))[0])
    -1.3862943611198906
    """
    flat_m = np.asarray(log_mass, dtype=np.float64).ravel()
    flat_n = np.asarray(counts, dtype=np.float64).ravel()
    return flat_m[cells] - np.log(flat_n[cells])


def blur(values: np.ndarray, sigma: float, mode: str = "nearest") -> np.ndarray:
    """A Gaussian blur of ``sigma`` (in the array's own pixels) truncated at 4 sigma; ``sigma`` 0 leaves it
    as it is. ``mode`` "nearest" repeats the edge (pysaliency's replicate padding), "reflect" keeps a
    density's mass in the image."""
    a = np.asarray(values, dtype=np.float64)
    if not sigma > 0:
        return a.copy()
    from scipy.ndimage import gaussian_filter

    return gaussian_filter(a, float(sigma), mode=mode, truncate=4.0)


_BLOCK = 128  # output rows per block of the banded product


@lru_cache(maxsize=48)
def _axis_blocks(n: int, sigma: float, mode: str) -> tuple[tuple[int, int, int, np.ndarray], ...]:
    """The blur along one axis of length ``n`` as a matrix (scipy's kernel: radius int(4 sigma + 0.5),
    normalised weights; "nearest" repeats the edge, "reflect" mirrors it), kept as row blocks with the
    band of columns they read."""
    r = int(4.0 * sigma + 0.5)
    t = np.arange(-r, r + 1)
    k = np.exp(-0.5 * (t / sigma) ** 2)
    k /= k.sum()
    p = np.arange(n)[:, None] + t[None, :]
    if mode == "nearest":
        j = np.clip(p, 0, n - 1)
    else:  # reflect: ... b a | a b c ... (period 2n)
        m = np.mod(p, 2 * n)
        j = np.where(m < n, m, 2 * n - 1 - m)
    rows = np.repeat(np.arange(n), len(t))
    g = np.bincount(rows * n + j.ravel(), np.tile(k, n), minlength=n * n).reshape(n, n)
    blocks = []
    for r0 in range(0, n, _BLOCK):
        r1 = min(n, r0 + _BLOCK)
        nz = np.flatnonzero(np.any(g[r0:r1] != 0, axis=0))
        c0, c1 = int(nz[0]), int(nz[-1]) + 1
        blocks.append((r0, r1, c0, np.ascontiguousarray(g[r0:r1, c0:c1])))
    return tuple(blocks)


def _blur_axis0(a: np.ndarray, sigma: float, mode: str) -> np.ndarray:
    out = np.empty((a.shape[0], a.shape[1]))
    for r0, r1, c0, g in _axis_blocks(a.shape[0], float(sigma), mode):
        np.matmul(g, a[c0:c0 + g.shape[1]], out=out[r0:r1])
    return out


def blur_image(values: np.ndarray, sigma: float, mode: str = "nearest") -> np.ndarray:
    """:func:`blur` of a full-resolution image as banded matrix products (several times faster than
    scipy's direct filter at tens of pixels; equal up to rounding).

    >>> a = np.random.default_rng(0).random((40, 30))
    >>> bool(np.allclose(blur_image(a, 3.0, "reflect"), blur(a, 3.0, "reflect"), rtol=0, atol=1e-13))
    True
    >>> bool(np.allclose(blur_image(a, 2.5), blur(a, 2.5), rtol=0, atol=1e-13))
    True
    """
    a = np.asarray(values, dtype=np.float64)
    if not sigma > 0:
        return a.copy()
    return _blur_axis0(_blur_axis0(a, sigma, mode).T, sigma, mode).T


_TASKS: dict = {}  # the function and its tasks, inherited by forked fit processes


def _run_task(i: int):
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):  # the same sums in every process (and one thread each)
        return _TASKS["fn"](_TASKS["tasks"][i])


def fit_in_parallel(fn, tasks: list, workers: int | None = None) -> list:
    """``[fn(t) for t in tasks]`` in up to ``workers`` forked processes (fits of independent folds or
    groups); in this process where fork is unavailable. The results do not depend on the workers."""
    from asdgaze.procs import start_method

    n = max(1, min(int(workers or 1), len(tasks)))
    _TASKS.update(fn=fn, tasks=tasks)
    try:
        if n == 1 or start_method() != "fork":
            return [_run_task(i) for i in range(len(tasks))]
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(n, mp_context=multiprocessing.get_context("fork")) as pool:
            return list(pool.map(_run_task, range(len(tasks))))
    finally:
        _TASKS.clear()

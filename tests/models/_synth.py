"""Synthetic datasets for the fitted baselines: known generating processes, no files needed."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from asdgaze.data.types import Dataset, Fixations, Stimulus


def make_dataset(fixations: dict[str, dict[str, Fixations]], height: int, width: int) -> Dataset:
    stems = sorted({s for per in fixations.values() for s in per}, key=lambda s: (len(s), s))
    stimuli = {s: Stimulus(s, Path(f"/nonexistent/{s}.png"), height, width) for s in stems}
    return Dataset("synthetic", Path("/nonexistent"), stimuli, fixations)


def clipped(rng: np.random.Generator, mean, sd, n: int, size: int) -> np.ndarray:
    """Integer pixel coordinates drawn from N(mean, sd), redrawn until inside [0, size)."""
    out = np.empty(n)
    todo = np.arange(n)
    while len(todo):
        v = np.floor(rng.normal(np.broadcast_to(mean, (n,))[todo], sd))
        ok = (v >= 0) & (v < size)
        out[todo[ok]] = v[ok]
        todo = todo[~ok]
    return out


def centred_dataset(rng, n_images: int, groups: tuple[str, ...], n_viewers: int, n_fix: int,
                    height: int, width: int, sd_fraction: float = 0.2) -> Dataset:
    """Saliency4ASD-sized shape: every viewer's fixations from a centred Gaussian plus per-image targets."""
    fix: dict[str, dict[str, Fixations]] = {}
    for g in groups:
        fix[g] = {}
        for i in range(n_images):
            n = n_viewers * n_fix
            ty = rng.uniform(0.2, 0.8, 4) * height
            tx = rng.uniform(0.2, 0.8, 4) * width
            k = rng.integers(0, 4, n)
            y = clipped(rng, ty[k], 30.0, n, height)
            x = clipped(rng, tx[k], 30.0, n, width)
            fix[g][str(i + 1)] = Fixations.from_arrays(x, y, np.full(n, 300.0), np.repeat(np.arange(n_viewers), n_fix))
    return make_dataset(fix, height, width)

"""The MIT convention's noise ceiling: each viewer's fixations against the map of the other viewers.

For one group on one image, viewer v's target is v's own fixations (their binary map, and their
continuous map by the dataset's recipe) and v's prediction is the continuous fixation map made by the
same recipe from the other viewers of the group on the image (duplicates collapse, as in any binary
map). A group with one viewer on an image has no ceiling there.

Cost: one map per viewer (8-17 per group and image on Saliency4ASD) and every MIT metric on each, so the
maps are made on a grid of ``f`` x ``f``-pixel cells, ``f`` the smallest integer factor that brings the
image's longer side to at most ``max_side`` cells (``max_side`` 0: full resolution, ``f`` = 1). A
fixation at (x, y) lands in cell (floor(y / f), floor(x / f)); the recipe's Gaussian is divided by ``f``
(sigma / f, kernel taps / f).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from asdgaze.data.fixmaps import saliency4asd_fixation_map
from asdgaze.data.types import Dataset, Fixations

__all__ = ["grid_factor", "ViewerMaps", "leave_one_viewer_out"]


def grid_factor(shape: tuple[int, int], max_side: int) -> int:
    """The cell size f: the smallest integer with ceil(max(shape) / f) <= max_side (1 for max_side 0).

    >>> grid_factor((768, 1024), 256), grid_factor((600, 800), 256), grid_factor((30, 40), 256)
    (4, 4, 1)
    """
    if max_side <= 0:
        return 1
    return max(1, math.ceil(max(shape) / max_side))


@dataclass(frozen=True)
class ViewerMaps:
    """One viewer's target and prediction on the grid: ``own`` (their fixations in cell coordinates),
    ``others`` (the recipe's continuous map of the other viewers, 0..1) and ``own_map()``."""

    viewer: int
    own: Fixations
    others: np.ndarray
    sigma: float
    taps: int

    @property
    def shape(self) -> tuple[int, int]:
        return self.others.shape

    def own_map(self) -> np.ndarray:
        """The viewer's own continuous map (the target of CC, KL, SIM), by the same recipe."""
        return saliency4asd_fixation_map(self.own.binary_map(*self.shape), sigma=self.sigma, kernel_size=self.taps)


def leave_one_viewer_out(dataset: Dataset, group: str, stem: str, max_side: int) -> Iterator[ViewerMaps]:
    """:class:`ViewerMaps` of every viewer of ``group`` on image ``stem`` who has others beside them."""
    stim = dataset.stimuli[stem]
    f = grid_factor(stim.shape, max_side)
    h, w = -(-stim.height // f), -(-stim.width // f)
    recipe = dataset.format.recipe(dataset.fixmap_sigma)
    sigma, taps = recipe.sigma / f, max(1, round(recipe.kernel_taps / f))
    fix = dataset.fixations_for(group, stem)
    cells = Fixations.from_arrays(np.floor(fix.x) // f, np.floor(fix.y) // f, fix.duration, fix.viewer)
    for viewer in np.unique(cells.viewer):
        mine = cells.viewer == viewer
        if mine.all():
            continue
        others = saliency4asd_fixation_map(cells.select(~mine).binary_map(h, w), sigma=sigma, kernel_size=taps)
        yield ViewerMaps(int(viewer), cells.select(mine), others, sigma, taps)

"""The small set of types every loader produces and every later stage consumes.

Coordinates are 0-based floats with x the column and y the row; pixel (row, col) covers
[row, row+1) x [col, col+1), so a fixation lies in pixel (floor(y), floor(x)).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from asdgaze.data.format_base import PLAIN, DatasetFormat
from asdgaze.recipe import S4A_SIGMA


@dataclass(frozen=True)
class Stimulus:
    """One image shown to the viewers. ``id`` is the file stem (e.g. ``"17"``)."""

    id: str
    path: Path
    height: int
    width: int

    @property
    def shape(self) -> tuple[int, int]:
        return (self.height, self.width)


@dataclass(frozen=True)
class Fixations:
    """The fixations of one group on one image, as parallel 1-D arrays.

    x, y: 0-based pixel coordinates (float64). duration: milliseconds (NaN if unknown).
    viewer: index of the viewer within the group for this image (int64). In Saliency4ASD the
    k-th viewer of one image is not necessarily the k-th viewer of another image.
    """

    x: np.ndarray
    y: np.ndarray
    duration: np.ndarray
    viewer: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.x)
        for name in ("y", "duration", "viewer"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"Fixations.{name} has {len(getattr(self, name))} entries, x has {n}")

    def __len__(self) -> int:
        return len(self.x)

    @classmethod
    def empty(cls) -> "Fixations":
        f = np.zeros(0, dtype=np.float64)
        return cls(f, f.copy(), f.copy(), np.zeros(0, dtype=np.int64))

    @classmethod
    def from_arrays(cls, x, y, duration=None, viewer=None) -> "Fixations":
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        n = len(x)
        d = np.full(n, np.nan) if duration is None else np.asarray(duration, dtype=np.float64)
        v = np.zeros(n, dtype=np.int64) if viewer is None else np.asarray(viewer, dtype=np.int64)
        return cls(x, y, d, v)

    @property
    def n_viewers(self) -> int:
        return int(len(np.unique(self.viewer)))

    def rows_cols(self) -> tuple[np.ndarray, np.ndarray]:
        """Integer pixel indices (row, col) of every fixation, duplicates kept."""
        return np.floor(self.y).astype(np.int64), np.floor(self.x).astype(np.int64)

    def in_bounds(self, height: int, width: int) -> np.ndarray:
        """Boolean mask of fixations that fall inside a height x width image."""
        return (self.x >= 0) & (self.x < width) & (self.y >= 0) & (self.y < height)

    def select(self, mask: np.ndarray) -> "Fixations":
        return Fixations(self.x[mask], self.y[mask], self.duration[mask], self.viewer[mask])

    def binary_map(self, height: int, width: int) -> np.ndarray:
        """Binary fixation map (bool, height x width): True where at least one fixation fell.

        Raises ValueError if any fixation is outside the image (loaders drop those first).
        """
        if not np.all(self.in_bounds(height, width)):
            raise ValueError(f"fixation outside a {height}x{width} image")
        fmap = np.zeros((height, width), dtype=bool)
        r, c = self.rows_cols()
        fmap[r, c] = True
        return fmap


@dataclass
class Dataset:
    """Stimuli plus, for each group, the fixations on each stimulus.

    fixations[group][stimulus_id] -> Fixations (an image a group never saw is absent).
    fixation_maps[group][stimulus_id] -> path of a shipped continuous map (``N_s.png``), if any.
    problems[group][stimulus_id] -> "<file>: <problem>" for an (image, group) whose fixations could
    not be read (missing, empty or malformed scanpath file). Such a pair is absent from
    ``fixations``; every stage reports it as a failure and goes on with the others.
    notes: things the loader repaired or wants the user to know (e.g. a truncated image whose size
    was still readable); shown once and written to every manifest.
    fixmap_sigma: the continuous fixation map recipe's Gaussian (see :mod:`asdgaze.data.fixmaps`).
    format: the dataset format it was read as (:mod:`asdgaze.data.formats`; a Dataset built in Python:
    ``PLAIN``, whose recipe's Gaussian is ``fixmap_sigma``).
    """

    name: str
    root: Path
    stimuli: dict[str, Stimulus]
    fixations: dict[str, dict[str, Fixations]]
    fixation_maps: dict[str, dict[str, Path]] = field(default_factory=dict)
    problems: dict[str, dict[str, str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    #: Gaussian (pixels) of the dataset's continuous fixation map recipe (Saliency4ASD: 43, with a
    #: 6-sigma kernel and zero padding); a fixation table takes it from ``--fixmap-sigma``.
    fixmap_sigma: float = S4A_SIGMA
    #: How the dataset is laid out (:mod:`asdgaze.data.formats`): its recipe, options and caveats.
    format: DatasetFormat = PLAIN
    #: per group, the file its fixations were read from, for messages: a table, or a pattern with
    #: ``<image>`` for one file per image (Saliency4ASD's scanpath files); default the dataset root
    fixations_source: dict[str, str] = field(default_factory=dict)
    #: labelled boxes per image (:class:`asdgaze.data.regions.Regions`), or None: no region analysis
    regions: Any = None

    def no_fixations(self, group: str, stimulus_id: str) -> str:
        """The failure of a pair without a single fixation: "<file>: no fixations of group G for image S"."""
        where = self.fixations_source.get(group, str(self.root)).replace("<image>", stimulus_id)
        return f"{where}: no fixations of group {group} for image {stimulus_id}"

    def problem(self, group: str, stimulus_id: str) -> str | None:
        """Why (group, stimulus_id) has no usable fixations, or None if it has."""
        return self.problems.get(group, {}).get(stimulus_id)

    @property
    def groups(self) -> list[str]:
        return list(self.fixations)

    def __len__(self) -> int:
        return len(self.stimuli)

    def fixations_for(self, group: str, stimulus_id: str) -> Fixations:
        if group not in self.fixations:
            raise KeyError(f"group {group!r} not in dataset {self.name!r} (groups: {', '.join(self.groups)})")
        return self.fixations[group].get(stimulus_id, Fixations.empty())

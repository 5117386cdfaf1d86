"""Data in: loaders for Saliency4ASD and plain folders, into the types of :mod:`asdgaze.data.types`.

- :func:`load_dataset` picks the loader: a folder with the Saliency4ASD layout ->
  :func:`load_saliency4asd`; a folder of images plus a table -> :func:`load_table_dataset`.
- :func:`load_demo` loads the bundled 8-image demo (real OSIE images and fixations, arbitrary
  ASD/TD split; see ``asdgaze/demo/README.md``).
- Bad input that makes the whole dataset unusable raises :class:`DataError` (a ValueError) as
  "<file>: <problem>". A problem with one (image, group) pair (a missing, empty or malformed
  scanpath file or table row, an unreadable image) does not: it goes into
  ``Dataset.problems[group][image]`` and the other pairs load. Repairs (a damaged image whose size
  was still readable, a wrong-size shipped map) go into ``Dataset.notes``; dropped fixations are
  reported with ``warnings.warn(..., DataWarning)``, one warning per file.
- Images larger than ``ASDGAZE_MAX_PIXELS`` pixels (default 89,478,485) are refused on their
  header, before decoding (argument ``max_pixels`` in Python).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Literal

from asdgaze.data._checks import DEFAULT_MAX_PIXELS, MAX_PIXELS_ENV
from asdgaze.data.errors import DataError, DataWarning
from asdgaze.data.fixmaps import (
    continuous_map,
    other_fixation_map,
    saliency4asd_fixation_map,
    to_png8,
)
from asdgaze.data.formats import demo_path, detect
from asdgaze.data.regions import attach_regions, read_regions
from asdgaze.data.saliency4asd import find_saliency4asd_parts, load_saliency4asd, read_scanpath
from asdgaze.data.table import load_table_dataset
from asdgaze.data.types import Dataset, Fixations, Stimulus


__all__ = [
    "DEFAULT_MAX_PIXELS",
    "MAX_PIXELS_ENV",
    "DataError",
    "DataWarning",
    "Dataset",
    "Fixations",
    "Stimulus",
    "continuous_map",
    "demo_dataset_path",
    "find_saliency4asd_parts",
    "load_dataset",
    "load_demo",
    "load_saliency4asd",
    "load_table_dataset",
    "other_fixation_map",
    "read_scanpath",
    "saliency4asd_fixation_map",
    "to_png8",
]


def load_dataset(
    path: str | os.PathLike,
    *,
    table: str | os.PathLike | None = None,
    coords: Literal["0-based", "1-based"] | None = None,
    groups: Iterable[str] | None = None,
    max_pixels: int | None = None,
    regions: str | os.PathLike | None = None,
) -> Dataset:
    """Load a dataset, choosing the loader from the arguments.

    - ``table`` given: ``path`` is a folder of images and ``table`` a CSV/TSV of fixations;
      ``coords`` ("0-based" or "1-based") is then required (:func:`load_table_dataset`).
    - otherwise ``path`` must hold the Saliency4ASD layout (``TrainingDataset/``,
      ``TrainingData/`` or a flattened copy; :func:`load_saliency4asd`). Its coordinates are
      always 1-based, so ``coords`` may only be None or "1-based".

    Args:
        path: dataset folder (Saliency4ASD) or images folder (with ``table``).
        table: fixation table for a plain images folder.
        coords: coordinate convention of ``table``.
        groups: groups to load (default: all).
        max_pixels: largest image accepted (default ``$ASDGAZE_MAX_PIXELS`` or 89,478,485 pixels).
        regions: a table ``image,x1,y1,x2,y2,label`` of labelled boxes in image pixels
            (:mod:`asdgaze.data.regions`); default: the dataset's own (Saliency4ASD's
            ``AdditionalData/ImageAnnotations.csv``), if any. ``Dataset.regions`` holds them.

    Per-(image, group) failures do not raise: they are in ``Dataset.problems`` (see the loaders).

    Example:
        >>> ds = load_dataset(demo_dataset_path(), groups=["TD"])
        >>> ds.groups, len(ds)
        (['TD'], 8)
    """
    fmt = detect(Path(path), table)
    ds = fmt.load(Path(path), table=table, coords=coords, groups=groups, max_pixels=max_pixels)
    return attach_regions(ds, read_regions(regions, ds.stimuli) if regions is not None else fmt.find_regions(ds))


def demo_dataset_path() -> Path:
    """Path of the bundled demo dataset's ``TrainingDataset`` folder (Saliency4ASD layout).

    Example:
        >>> demo_dataset_path().name
        'TrainingDataset'
    """
    return demo_path()


def load_demo() -> Dataset:
    """The bundled demo: 8 OSIE images (800x600) with real adult fixations split arbitrarily into
    "ASD" (observers 1-7) and "TD" (8-15). No diagnosis; no group difference expected.

    Example:
        >>> ds = load_demo()
        >>> ds.name, ds.groups, len(ds)
        ('asdgaze-demo', ['ASD', 'TD'], 8)
    """
    return load_dataset(demo_dataset_path())

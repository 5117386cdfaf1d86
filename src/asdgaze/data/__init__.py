"""Data in: loaders for Saliency4ASD and plain folders, into the types of :mod:`asdgaze.data.types`.

- :func:`load_dataset` picks the loader: a folder with the Saliency4ASD layout ->
  :func:`load_saliency4asd`; a folder of images plus a table -> :func:`load_table_dataset`.
- :func:`load_demo` loads the bundled 8-image demo (real OSIE images and fixations, arbitrary
  ASD/TD split; see ``asdgaze/demo/README.md``).
- Bad input raises :class:`DataError` (a ValueError) naming the file and the problem; dropped
  fixations are reported with ``warnings.warn(..., DataWarning)``, one warning per file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Literal

from asdgaze.data.errors import DataError, DataWarning
from asdgaze.data.fixmaps import (
    continuous_map,
    other_fixation_map,
    saliency4asd_fixation_map,
    to_png8,
)
from asdgaze.data.saliency4asd import find_saliency4asd_parts, load_saliency4asd, read_scanpath
from asdgaze.data.table import load_table_dataset
from asdgaze.data.types import Dataset, Fixations, Stimulus

__all__ = [
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

    Example:
        >>> ds = load_dataset(demo_dataset_path(), groups=["TD"])
        >>> ds.groups, len(ds)
        (['TD'], 8)
    """
    if table is not None:
        if coords is None:
            raise ValueError(
                f"coords is required with a table ({table}): say whether its x, y are '0-based' or '1-based'"
            )
        return load_table_dataset(path, table, coords=coords, groups=groups)
    if coords not in (None, "1-based"):
        raise ValueError(f"Saliency4ASD coordinates are 1-based; coords={coords!r} applies only to a table")
    root = Path(path)
    if root.is_file():
        raise DataError(
            f"{root} is a file; pass a Saliency4ASD folder, or an images folder with table=... and coords=..."
        )
    try:
        find_saliency4asd_parts(root)
    except DataError as exc:
        raise DataError(f"{exc}. For a plain folder of images, pass table=<fixations CSV/TSV> and coords=...") from None
    return load_saliency4asd(root, groups=groups)


def demo_dataset_path() -> Path:
    """Path of the bundled demo dataset's ``TrainingDataset`` folder (Saliency4ASD layout).

    Example:
        >>> demo_dataset_path().name
        'TrainingDataset'
    """
    return Path(__file__).resolve().parent.parent / "demo" / "TrainingDataset"


def load_demo() -> Dataset:
    """The bundled demo: 8 OSIE images (800x600) with real adult fixations split arbitrarily into
    "ASD" (observers 1-7) and "TD" (8-15). No diagnosis; no group difference expected.

    Example:
        >>> ds = load_demo()
        >>> ds.name, ds.groups, len(ds)
        ('asdgaze-demo', ['ASD', 'TD'], 8)
    """
    ds = load_saliency4asd(demo_dataset_path())
    ds.name = "asdgaze-demo"
    return ds

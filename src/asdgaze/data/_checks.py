"""Shared input checks and small readers for the data loaders (one place, one wording)."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
from PIL import Image

from asdgaze.data.errors import DataError, DataWarning
from asdgaze.data.types import Stimulus

#: File extensions recognised as images (lower case).
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".gif", ".webp", ".ppm", ".pgm")

_EXIF_ORIENTATION = 0x0112
_INT_RE = re.compile(r"^\d+$")


def check_binary_map(binary: np.ndarray, name: str) -> np.ndarray:
    """Validate a 2-D fixation map and return it as bool (nonzero -> True)."""
    arr = np.asarray(binary)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D (H, W) array, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    if arr.dtype == np.bool_:
        return arr
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be boolean or numeric, got dtype {arr.dtype}")
    return arr != 0


def image_size(path: Path) -> tuple[int, int]:
    """(height, width) of an image as displayed: EXIF orientations 5-8 swap the two.

    Reads the header and verifies the file's structure, so a corrupt image raises DataError
    naming the file and the problem.
    """
    try:
        with Image.open(path) as im:  # verify() must come straight after open
            im.verify()
        with Image.open(path) as im:
            width, height = im.size
            orientation = im.getexif().get(_EXIF_ORIENTATION, 1)
    except (OSError, SyntaxError, ValueError, RuntimeError, Image.DecompressionBombError) as exc:
        raise DataError(f"cannot read image {path}: {exc}") from exc
    if orientation in (5, 6, 7, 8):  # rotated by 90 degrees when displayed
        width, height = height, width
    if width <= 0 or height <= 0:
        raise DataError(f"image {path} has an empty size {width}x{height}")
    return int(height), int(width)


def stimulus_sort_key(stem: str) -> tuple:
    """Numeric stems in numeric order (1, 2, 10), then other stems alphabetically."""
    return (0, int(stem), "") if _INT_RE.match(stem) else (1, 0, stem)


def is_image_file(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_EXTENSIONS and not path.name.startswith(".")


def image_files(folder: Path) -> list[Path]:
    """Image files (by suffix) directly inside ``folder``, numeric stems in numeric order."""
    return sorted((p for p in folder.iterdir() if is_image_file(p)), key=lambda p: (stimulus_sort_key(p.stem), p.name))


def read_stimuli(folder: Path, what: str) -> dict[str, Stimulus]:
    """Every image in ``folder`` as a Stimulus keyed by stem, with its size read from the file.

    ``what`` names the folder in error messages (e.g. "Images folder").
    """
    files = image_files(folder)
    if not files:
        raise DataError(f"{what} {folder} holds no image files")
    stimuli: dict[str, Stimulus] = {}
    for p in files:
        if p.stem in stimuli:
            raise DataError(f"{what} {folder}: two images share the id {p.stem!r} "
                            f"({stimuli[p.stem].path.name}, {p.name})")
        h, w = image_size(p)
        stimuli[p.stem] = Stimulus(p.stem, p, h, w)
    return stimuli


def warn_dropped(path: Path, n_dropped: int, n_total: int, what: str) -> None:
    """One DataWarning per file, naming the file and the count."""
    if n_dropped:
        warnings.warn(
            f"{path}: dropped {n_dropped} of {n_total} {what}",
            DataWarning,
            stacklevel=3,
        )

"""Shared input checks and small readers for the data loaders (one place, one wording)."""

from __future__ import annotations

import contextlib
import os
import re
import struct
import warnings
from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image, UnidentifiedImageError

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


#: Default largest image accepted, in pixels (Pillow's own default limit). Raise it with the
#: ``ASDGAZE_MAX_PIXELS`` environment variable or the ``max_pixels`` argument of the readers.
DEFAULT_MAX_PIXELS = 89_478_485
MAX_PIXELS_ENV = "ASDGAZE_MAX_PIXELS"


def max_pixels_limit(max_pixels: int | None = None) -> int:
    """The pixel limit in force: ``max_pixels`` if given, else ``$ASDGAZE_MAX_PIXELS``, else the default."""
    if max_pixels is not None:
        if int(max_pixels) != max_pixels or max_pixels < 1:
            raise ValueError(f"max_pixels must be a positive integer, got {max_pixels!r}")
        return int(max_pixels)
    env = os.environ.get(MAX_PIXELS_ENV, "").strip()
    if not env:
        return DEFAULT_MAX_PIXELS
    try:
        value = int(env.replace("_", ""))
    except ValueError:
        value = 0
    if value < 1:
        raise DataError(f"{MAX_PIXELS_ENV}={env!r}: expected a positive whole number of pixels")
    return value


def _too_big(path: Path, width: int | None, height: int | None, limit: int) -> DataError:
    size = f"{width}x{height} = {width * height:,} pixels" if width and height else "too many pixels"
    return DataError(
        f"{path}: image is {size}, over the limit of {limit:,} pixels (a guard against "
        f"decompression bombs and running out of memory); to accept it set the environment "
        f"variable {MAX_PIXELS_ENV}=N (from Python: max_pixels=N)"
    )


@contextlib.contextmanager
def open_image(path: Path, max_pixels: int | None = None) -> Iterator[Image.Image]:
    """``PIL.Image.open`` with our pixel limit (checked on the header, before any decoding).

    Pillow's own check is silenced between 1x and 2x its limit (ours applies instead); above
    2x Pillow refuses the header, reported with the same DataError.
    """
    limit = max_pixels_limit(max_pixels)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(path)
    except Image.DecompressionBombError as exc:
        m = re.search(r"\((\d+) pixels\)", str(exc))
        n = int(m.group(1)) if m else None
        if n is not None and n <= limit:
            raise DataError(f"{path}: image has {n:,} pixels, more than Pillow accepts "
                            f"(PIL.Image.MAX_IMAGE_PIXELS * 2)") from None
        raise _too_big(path, None, None, limit) from None
    with im:
        w, h = im.size
        if w * h > limit:
            raise _too_big(path, w, h, limit)
        yield im


def probe_image(path: Path, max_pixels: int | None = None) -> tuple[int, int, str | None]:
    """(height, width, damage) of an image as displayed: EXIF orientations 5-8 swap the two.

    ``damage`` is None for a sound file, else why the pixel data cannot be decoded (truncated or
    corrupt) although the header still gives the size. Raises DataError "<file>: <problem>"
    when the size itself cannot be read (missing, zero-byte, not an image, over the pixel limit).
    """
    try:
        with open_image(path, max_pixels) as im:
            width, height = im.size
            try:
                orientation = im.getexif().get(_EXIF_ORIENTATION, 1)
            except Exception:  # noqa: BLE001 - a broken EXIF block only loses the orientation
                orientation = 1
    except DataError:
        raise
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except UnidentifiedImageError:
        what = "empty file (0 bytes)" if _size_or_none(path) == 0 else "not a readable image file"
        raise DataError(f"{path}: {what}") from None
    except (OSError, SyntaxError, ValueError, RuntimeError, struct.error) as exc:
        raise DataError(f"{path}: cannot read the image header ({exc})") from None
    if orientation in (5, 6, 7, 8):  # rotated by 90 degrees when displayed
        width, height = height, width
    if width <= 0 or height <= 0:
        raise DataError(f"{path}: image has an empty size {width}x{height}")
    damage = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:  # verify() must come straight after open
                im.verify()
    except Exception as exc:  # noqa: BLE001 - any decoder complaint means damaged pixel data
        damage = str(exc) or type(exc).__name__
    return int(height), int(width), damage


def _size_or_none(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


def image_size(path: Path, *, max_pixels: int | None = None) -> tuple[int, int]:
    """(height, width) of an image as displayed (EXIF orientations 5-8 swap the two).

    Raises DataError "<file>: <problem>" for a file whose size cannot be read or whose pixel data
    is damaged (truncated, corrupt), or that is over the pixel limit (see :func:`max_pixels_limit`).
    """
    height, width, damage = probe_image(Path(path), max_pixels)
    if damage is not None:
        raise DataError(f"{path}: damaged image data ({damage})")
    return height, width


def stimulus_sort_key(stem: str) -> tuple:
    """Numeric stems in numeric order (1, 2, 10), then other stems alphabetically."""
    return (0, int(stem), "") if _INT_RE.match(stem) else (1, 0, stem)


def is_image_file(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_EXTENSIONS and not path.name.startswith(".")


def image_files(folder: Path) -> list[Path]:
    """Image files (by suffix) directly inside ``folder``, numeric stems in numeric order."""
    return sorted((p for p in folder.iterdir() if is_image_file(p)), key=lambda p: (stimulus_sort_key(p.stem), p.name))


def read_stimuli(
    folder: Path, what: str, *, max_pixels: int | None = None, allow_empty: bool = False
) -> tuple[dict[str, Stimulus], dict[str, str], list[str]]:
    """Every image in ``folder`` as a Stimulus keyed by stem, with its size read from the file.

    Returns (stimuli, unreadable, notes): ``unreadable[stem]`` is "<file>: <problem>" for an image
    whose size cannot be read (left out of ``stimuli``); ``notes`` names each image whose pixel data
    is damaged but whose header still gave the size (kept: scoring needs only the size).
    ``what`` names the folder in error messages (e.g. "Images folder"). With ``allow_empty`` the
    caller checks the result itself (with :func:`check_some_stimuli`).
    """
    files = image_files(folder)
    stimuli: dict[str, Stimulus] = {}
    unreadable: dict[str, str] = {}
    notes: list[str] = []
    seen: dict[str, Path] = {}
    for p in files:
        if p.stem in seen:
            raise DataError(f"{folder}: two images share the id {p.stem!r} ({seen[p.stem].name}, {p.name})")
        seen[p.stem] = p
        read_stimulus(p, p.stem, stimuli, unreadable, notes, max_pixels)
    if not allow_empty:
        check_some_stimuli(folder, what, stimuli, unreadable)
    return stimuli, unreadable, notes


def read_stimulus(path: Path, sid: str, stimuli: dict[str, Stimulus], unreadable: dict[str, str],
                  notes: list[str], max_pixels: int | None = None) -> None:
    """Read one image's size into ``stimuli[sid]``, or its problem into ``unreadable[sid]``."""
    try:
        h, w, damage = probe_image(path, max_pixels)
    except DataError as exc:
        unreadable[sid] = str(exc)
        return
    if damage is not None:
        notes.append(f"{path}: damaged image data ({damage}); its size {w}x{h} (WxH) was read from the "
                     "header and used for scoring")
    stimuli[sid] = Stimulus(sid, path, h, w)


def check_some_stimuli(folder: Path, what: str, stimuli: dict, unreadable: dict[str, str]) -> None:
    """DataError when ``folder`` gave no image, or none that can be read."""
    if not stimuli and not unreadable:
        raise DataError(f"{folder}: {what} holds no image files ({', '.join(IMAGE_EXTENSIONS)})")
    if not stimuli:
        first = next(iter(unreadable.values()))
        raise DataError(f"{folder}: none of the {len(unreadable)} image files can be read (first: {first})")


def warn_dropped(path: Path, n_dropped: int, n_total: int, what: str) -> None:
    """One DataWarning per file, naming the file and the count."""
    if n_dropped:
        warnings.warn(
            f"{path}: dropped {n_dropped} of {n_total} {what}",
            DataWarning,
            stacklevel=3,
        )

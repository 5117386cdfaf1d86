"""Reading and writing saliency-map files named by image stem.

Accepted files, per stem: ``<stem>.npy`` (a float map; whether it holds a saliency map or a
natural-log density must be stated, see :data:`MAP_KINDS`) and map images ``<stem>.png``, ``.tif``,
``.tiff``, ``.jpg``, ``.jpeg`` (8- or 16-bit grey, or an RGB whose channels are grey, read as value / 255
or value / 65535; :mod:`asdgaze.maps.images`). When several exist the ``.npy`` file is used, since it
keeps full precision, then the first image in :data:`MAP_SUFFIXES` order (lossless first). Every problem
a user can cause raises :class:`MapError` naming the file.

A map's size is read from its header first (:func:`map_size`, :func:`check_map`), so a file that
declares a huge array (more pixels than ``ASDGAZE_MAX_PIXELS``), or one of another aspect ratio
than its image, is refused before any of its data is read or hashed.
"""

from __future__ import annotations

import os
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Literal

import numpy as np
from scipy.special import logsumexp

from asdgaze.errors import MapError
from asdgaze.predictions import LOGSUMEXP_TOL
from asdgaze.io import PNG_RENDERING_KEY, write_npy_atomic
from asdgaze.maps.hdf5 import H5Map, map_digest
from asdgaze.maps.images import (IMAGE_SUFFIXES, PNG_SIGNATURE, SUFFIX_FORMAT, image_header, is_image,
                                 read_map_image)

MapKind = Literal["saliency", "log-density"]
MAP_KINDS: tuple[str, ...] = ("saliency", "log-density")
MAP_SUFFIXES = (".npy",) + IMAGE_SUFFIXES
ZIP_MAGIC = b"PK\x03\x04"  # an .npz archive (np.load opens one whatever its name)


class MapKindError(MapError):
    """The file holds another kind of map than ``--maps-kind`` says (a log-density read as saliency)."""


class MapScaleWarning(UserWarning):
    """A log-density that does not sum to 1 (perhaps a saliency map given as --maps-kind log-density)."""


@dataclass(frozen=True)
class MapFile:
    stem: str
    path: Path

    @property
    def is_npy(self) -> bool:
        return self.path.suffix.lower() == ".npy"


def find_maps(maps_dir: str | Path, stems: Iterable[str]) -> tuple[dict[str, MapFile], list[str]]:
    """Locate the map file of every stem in ``maps_dir``; the map of an image in a sub-folder of a
    table's images folder (id ``a/1``) lies in the same sub-folder (``a/1.npy``).

    Returns (found, missing): found maps stem -> MapFile, missing lists stems with no file.
    """
    maps_dir = Path(maps_dir)
    if not maps_dir.is_dir():
        raise MapError(f"maps folder not found: {maps_dir}")
    # One listing per folder; suffixes match case-insensitively (1.PNG is a map too).
    listings: dict[str, dict[tuple[str, str], Path]] = {}

    def listing(sub: str) -> dict[tuple[str, str], Path]:
        if sub not in listings:
            folder = maps_dir / sub
            try:
                listings[sub] = ({(p.stem, p.suffix.lower()): p for p in folder.iterdir() if p.is_file()}
                                 if not sub or folder.is_dir() else {})
            except OSError as e:
                raise MapError(f"{folder}: cannot list the maps folder ({e.strerror or e})") from e
        return listings[sub]

    found: dict[str, MapFile] = {}
    missing: list[str] = []
    for stem in stems:
        sub, _, name = stem.rpartition("/")
        by_key = listing(sub)
        for suffix in MAP_SUFFIXES:
            p = by_key.get((name, suffix))
            if p is not None:
                found[stem] = MapFile(stem, p)
                break
        else:
            missing.append(stem)
    return found, missing


NOT_PLAIN_NPY = ("not a plain numeric .npy array (pickled, object or damaged content is not read; save a 2-D "
                 "float array with numpy.save)")


def load_map(path: str | Path | H5Map, kind: MapKind | None, *, warn: bool = True) -> np.ndarray:
    """Load one map as the float64 saliency map that the MIT-convention metrics score.

    - ``.npy`` with kind ``"saliency"``: the array as float64.
    - ``.npy`` with kind ``"log-density"``: the density exp(log p) in float64 (never an 8-bit
      rendering), divided by its maximum. Every MIT metric is invariant to that positive scale
      except through AUC-Judd's 1e-7 jitter, which the MIT code adds on the map's own scale and
      which would reorder the pixels of a raw density (values near 1e-6). A log-density whose
      logsumexp is off 0 by more than 1e-3 gives a warning (``warn=False``: none, for a second
      reading of a file whose first reading reported it; cheaper and thread-safe than silencing it).
    - a map image (``.png``, ``.tif``, ``.tiff``, ``.jpg``, ``.jpeg``): 8-bit / 255 or 16-bit / 65535
      (kind is ignored; an image is always a saliency map); a colour image is refused.
    - an :class:`~asdgaze.maps.hdf5.H5Map` (a dataset of an HDF5 file): a log-density, read and
      checked as a ``.npy`` log-density (any other kind is refused).

    Raises:
        MapError: unreadable file, wrong dimensionality, non-finite values, or an ``.npy`` map
        with ``kind=None``.
    """
    if not isinstance(path, H5Map) and is_image(path):
        return _load_image(Path(path), warn)
    arr = _load_array(path, kind)
    if kind == "log-density":
        arr = _check_log_density(arr, path, warn)
        return np.exp(arr - arr.max())
    if not np.all(np.isfinite(arr)):
        raise MapError(f"{path}: saliency map contains NaN or inf")
    # A log-density read as saliency: negative values whose exp sums to 1. Scored as given it
    # would be an order-preserving but wrong map for CC, KL, SIM and EMD; stop instead.
    if arr.min() < 0 and abs(float(logsumexp(arr))) <= LOGSUMEXP_TOL:
        raise MapKindError(f"{path}: looks like a log-density (negative values whose exp sums to 1), not a "
                           "saliency map; use --maps-kind log-density")
    peak = float(np.abs(arr).max())
    if 0 < peak < 1e-3:
        warnings.warn(f"{path}: saliency values are tiny (max {peak:.3g}); AUC-Judd's 1e-7 jitter acts on the "
                      "map's own scale and will reorder pixels. Rescale the map, or pass a log-density with "
                      "--maps-kind log-density", stacklevel=2)
    return arr


def check_aspect(path: object, map_shape: tuple[int, int], image: str, image_shape: tuple[int, int],
                 allow: bool = False) -> None:
    """MapError when a map's aspect ratio differs from its image's by more than 1 % (a transposed or
    cropped map?), unless ``allow`` (``--allow-aspect-change``: it is then resized like any other)."""
    (mh, mw), (h, w) = map_shape, image_shape
    change = abs((mw / mh) / (w / h) - 1)
    if change > 0.01 and not allow:
        raise MapError(f"{path}: map is {mw}x{mh}, image {image} is {w}x{h} (width x height): the aspect "
                       f"ratio differs by {100 * change:.1f} % (a transposed or cropped map?); "
                       "--allow-aspect-change scores it resized")


def check_map(path: str | Path | H5Map, image: str, image_shape: tuple[int, int],
              allow_aspect: bool = False) -> tuple[int, int]:
    """The map's (height, width) from its header, checked against its image before any value is read:
    MapError as :func:`map_size`, or as :func:`check_aspect` for another aspect ratio."""
    shape = map_size(path)
    if shape != tuple(image_shape):
        check_aspect(path, shape, image, tuple(image_shape), allow_aspect)
    return shape


def map_key(path: str | Path | H5Map, image: str, image_shape: tuple[int, int],
            allow_aspect: bool = False) -> str | None:
    """The resume key of one map (:func:`~asdgaze.maps.hdf5.map_digest`) when it passes
    :func:`check_map`; None, with nothing but the header read, when not: that image fails when it is
    scored, and a file that lies about its size is never read (or hashed) whole."""
    try:
        check_map(path, image, image_shape, allow_aspect)
    except MapError:
        return None
    return map_digest(path)


def map_size(path: str | Path | H5Map) -> tuple[int, int]:
    """A map's (height, width) from its header alone (``.npy`` header, image header, HDF5 dataset shape).

    Raises:
        MapError: the header shows an unusable map (unreadable, damaged, pickled, an ``.npz`` archive,
        truncated, not 2-D, not numbers) or more pixels than ``ASDGAZE_MAX_PIXELS`` allows.
    """
    if isinstance(path, H5Map):
        shape = _plain_2d(path, path.shape())
    elif is_image(path):
        shape = image_header(Path(path))[0]
    else:
        return _npy_size(Path(path))  # the pixels checked before the file's length
    _check_pixels(path, shape)
    return shape


def _plain_2d(path: object, shape: tuple[int, ...]) -> tuple[int, int]:
    """``shape`` without its length-1 axes (as the map is squeezed), if that is a non-empty 2-D shape."""
    squeezed = tuple(n for n in shape if n != 1)
    if len(squeezed) != 2 or 0 in squeezed:
        raise MapError(f"{path}: expected a 2-D map, got shape {squeezed}")
    return squeezed  # type: ignore[return-value]


def _check_pixels(path: object, shape: tuple[int, ...]) -> None:
    problem = _pixels_problem(shape)
    if problem:
        raise MapError(f"{path}: {problem}")


def _pixels_problem(shape: tuple[int, ...]) -> str | None:
    """Why an array of ``shape`` is too big to read (more values than ``ASDGAZE_MAX_PIXELS``), or None."""
    from asdgaze.data._checks import MAX_PIXELS_ENV, max_pixels_limit

    n, limit = int(np.prod(shape, dtype=object)), max_pixels_limit()
    if n <= limit:
        return None
    squeezed = tuple(d for d in shape if d != 1)
    what = (f"map is {squeezed[1]}x{squeezed[0]} (width x height) = {n:,} pixels" if len(squeezed) == 2
            else f"array of shape {tuple(shape)} holds {n:,} values")
    return (f"{what}, over the limit of {limit:,} pixels (a guard against running out of memory; nothing of it "
            f"was read); to accept it set the environment variable {MAX_PIXELS_ENV}=N")


def _truncation_problem(shape: tuple[int, ...], dtype: np.dtype, stored: int) -> str | None:
    needed = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if stored >= needed:
        return None
    return (f"truncated: its header declares {needed:,} bytes of {dtype} values (shape {shape}) but the file "
            f"holds {stored:,}")


def npy_size_problem(path: str | Path) -> str | None:
    """What is wrong with the size an ``.npy`` file's header declares (more values than
    ``ASDGAZE_MAX_PIXELS`` allows, more bytes than the file holds), read from the header alone; None
    when nothing is, or when there is no plain header (the file's reader then says what it is)."""
    try:
        shape, dtype, stored = _npy_header(Path(path))
    except MapError:
        return None
    if dtype.hasobject:
        return None
    return _pixels_problem(shape) or _truncation_problem(shape, dtype, stored)


def _npy_header(path: Path) -> tuple[tuple[int, ...], np.dtype, int]:
    """(shape, dtype, bytes stored after the header) of an ``.npy`` file, from its header; a sub-array
    dtype's axes are added to the shape. MapError for a file without a header numpy reads."""
    fmt = np.lib.format
    readers = {(1, 0): fmt.read_array_header_1_0, (2, 0): fmt.read_array_header_2_0}
    try:
        with open(path, "rb") as f:
            if f.read(len(ZIP_MAGIC)) == ZIP_MAGIC:
                raise MapError(f"{path}: a zip archive (an .npz file?), not a .npy array; save one 2-D array "
                               "with numpy.save")
            f.seek(0)
            try:
                # np.save writes version 3.0 only for non-Latin-1 field names: never a plain numeric array
                shape, _, dtype = readers[fmt.read_magic(f)](f)
            except Exception:  # noqa: BLE001 - no .npy header, or one numpy cannot parse: damaged
                raise MapError(f"{path}: {NOT_PLAIN_NPY}") from None
            stored = os.fstat(f.fileno()).st_size - f.tell()
    except OSError as e:
        raise MapError(f"{path}: cannot read ({e.strerror or e})") from None
    if dtype.hasobject:
        return tuple(shape), dtype, stored
    return tuple(shape) + dtype.shape, dtype.base, stored


def _npy_size(path: Path) -> tuple[int, int]:
    """The (height, width) an ``.npy`` file's header declares, checked against the file's length."""
    shape, dtype, stored = _npy_header(path)
    if dtype.hasobject:
        raise MapError(f"{path}: {NOT_PLAIN_NPY}")
    size = _plain_2d(path, shape)
    if not np.issubdtype(dtype, np.number) or np.issubdtype(dtype, np.complexfloating):
        raise MapError(f"{path}: expected numbers, got dtype {dtype}")
    problem = _pixels_problem(size) or _truncation_problem(shape, dtype, stored)
    if problem:
        raise MapError(f"{path}: {problem}")
    return size


def _load_array(path: str | Path | H5Map, kind: MapKind | None) -> np.ndarray:
    """The map's values as a 2-D float64 array (an ``.npy`` file or an HDF5 dataset); MapError if not."""
    if isinstance(path, H5Map):
        if kind != "log-density":
            raise MapError(f"{path}: an HDF5 file holds log-densities; it cannot be read as --maps-kind {kind}")
        map_size(path)  # the shape and the pixel limit before any value is read
        arr = path.read()
    else:
        path = Path(path)
        if kind is None:
            raise MapError(
                f"{path}: .npy maps need --maps-kind saliency|log-density "
                "(a log-density is scored as exp(log p); a saliency map as it is)"
            )
        if kind not in MAP_KINDS:
            raise MapError(f"unknown map kind {kind!r}; expected one of {', '.join(MAP_KINDS)}")
        map_size(path)  # the header: a file declaring a huge, damaged or pickled array is not read
        try:
            arr = np.load(path, allow_pickle=False)
        except OSError as e:
            if e.errno is None:  # numpy's own complaint about the content, not the file system's
                raise MapError(f"{path}: {NOT_PLAIN_NPY}") from None
            raise MapError(f"{path}: cannot read ({e.strerror or e})") from None
        except Exception:  # noqa: BLE001 - pickled, object, truncated or not .npy: the same thing to the user
            raise MapError(f"{path}: {NOT_PLAIN_NPY}") from None
    arr = np.squeeze(np.asarray(arr))
    if arr.ndim != 2 or arr.size == 0:
        raise MapError(f"{path}: expected a 2-D map, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise MapError(f"{path}: expected numbers, got dtype {arr.dtype}")
    return arr.astype(np.float64)


def _check_log_density(arr: np.ndarray, path: object, warn: bool) -> np.ndarray:
    """``arr`` (float64 log p) if usable: no NaN or +inf, some finite value; warns if it does not sum to 1."""
    if np.any(np.isnan(arr)) or np.any(arr == np.inf):
        raise MapError(f"{path}: log-density contains NaN or +inf")
    if not np.isfinite(arr.max()):
        raise MapError(f"{path}: log-density has no finite value (all -inf)")
    if not warn:  # the sum only serves the warning
        return arr
    lse = float(logsumexp(arr))
    if abs(lse) > LOGSUMEXP_TOL:
        warnings.warn(f"{path}: log-density does not sum to 1 (logsumexp = {lse:.4g}); scored as given",
                      MapScaleWarning, stacklevel=3)
    return arr


def load_prediction(path: str | Path | H5Map, kind: MapKind | None, *, warn: bool = True):
    """Load one map as a typed prediction: a :class:`~asdgaze.predictions.LogDensity` (``.npy`` or
    HDF5 dataset, kind ``"log-density"``, renormalised to logsumexp 0) or a
    :class:`~asdgaze.predictions.SaliencyMap` (``.npy`` saliency, or any map image).

    The type decides what a metric may do with it: the probabilistic LL and IG need log p itself;
    the MIT convention scores ``LogDensity.as_saliency()``, which equals :func:`load_map`'s array
    (apart from the renormalisation, which no MIT metric sees). Raises MapError as :func:`load_map`.
    """
    from asdgaze.predictions import LogDensity, SaliencyMap

    if (not isinstance(path, H5Map) and is_image(path)) or kind != "log-density":
        return SaliencyMap(load_map(path, kind, warn=warn))
    # read once, with the same checks and warnings as load_map
    return LogDensity.normalized(_check_log_density(_load_array(path, kind), path, warn))


def png_rendering(path: str | Path) -> str | None:
    """What a PNG's :data:`~asdgaze.io.PNG_RENDERING_KEY` text chunk says: the file is a picture (e.g.
    ``asdgaze predict``'s density picture, not linear in probability), not a map to score; None for a map.
    Only the chunks before the pixels are read (no decoder: a hostile file is reported when read)."""
    key = PNG_RENDERING_KEY.encode("latin-1") + b"\0"
    try:
        with open(path, "rb") as f:
            if f.read(8) != PNG_SIGNATURE:
                return None
            while len(head := f.read(8)) == 8:
                length, kind = struct.unpack(">I4s", head)
                if kind in (b"IDAT", b"IEND"):
                    return None
                if kind == b"tEXt" and length <= 4096:
                    data = f.read(length)
                    if data.startswith(key):
                        return data[len(key):].decode("latin-1")
                    f.seek(4, os.SEEK_CUR)  # the CRC
                else:
                    f.seek(length + 4, os.SEEK_CUR)
    except OSError:
        return None
    return None


def rendering_error(subject: str, what: str) -> str:
    """Why a picture is not scored, and what to score instead; ``subject`` names the file(s)."""
    return (f"{subject}: picture(s) made by asdgaze predict, not maps to score (grey level = {what}); score the "
            "log densities beside them (<stem>.npy, predict's npy output) with --maps-kind log-density")


def _load_image(path: Path, warn: bool = True) -> np.ndarray:
    shape, fmt = image_header(path)
    _check_pixels(path, shape)
    what = png_rendering(path) if fmt == "PNG" else None
    if what is not None:
        raise MapError(rendering_error(str(path), what))
    named = SUFFIX_FORMAT[path.suffix.lower()]
    if fmt != named and warn:  # e.g. a JPEG named .png
        lossy = ", but JPEG compression has altered its values; save maps as PNG or .npy" if fmt == "JPEG" else ""
        warnings.warn(f"{path}: a {fmt} file, not a {named}: read as a grayscale map{lossy}", stacklevel=3)
    return read_map_image(path, fmt)


def save_npy(path: str | Path, arr: np.ndarray) -> None:
    """Write ``arr`` to ``path`` (.npy) atomically."""
    write_npy_atomic(path, arr)

"""Reading and writing saliency-map files named by image stem.

Accepted files, per stem: ``<stem>.npy`` (a float map; whether it holds a saliency map or a
natural-log density must be stated, see :data:`MAP_KINDS`) and ``<stem>.png`` (8- or 16-bit
grayscale, read as value / 255 or value / 65535). When both exist the ``.npy`` file is used,
since it keeps full precision. Every problem a user can cause raises :class:`MapError` naming the file.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Literal

import numpy as np
from scipy.special import logsumexp

from asdgaze.errors import MapError
from asdgaze.io import read_gray_png, write_npy_atomic
from asdgaze.maps.hdf5 import H5Map

MapKind = Literal["saliency", "log-density"]
MAP_KINDS: tuple[str, ...] = ("saliency", "log-density")
MAP_SUFFIXES = (".npy", ".png")


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
    """Locate the map file of every stem in ``maps_dir``.

    Returns (found, missing): found maps stem -> MapFile, missing lists stems with no file.
    """
    maps_dir = Path(maps_dir)
    if not maps_dir.is_dir():
        raise MapError(f"maps folder not found: {maps_dir}")
    # One listing of the folder; suffixes match case-insensitively (1.PNG is a map too).
    try:
        by_key = {(p.stem, p.suffix.lower()): p for p in maps_dir.iterdir() if p.is_file()}
    except OSError as e:
        raise MapError(f"{maps_dir}: cannot list the maps folder ({e.strerror or e})") from e
    found: dict[str, MapFile] = {}
    missing: list[str] = []
    for stem in stems:
        for suffix in MAP_SUFFIXES:
            p = by_key.get((stem, suffix))
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
    - ``.png``: 8-bit / 255 or 16-bit / 65535 (kind is ignored; a PNG is always a saliency map).
    - an :class:`~asdgaze.maps.hdf5.H5Map` (a dataset of an HDF5 file): a log-density, read and
      checked as a ``.npy`` log-density (any other kind is refused).

    Raises:
        MapError: unreadable file, wrong dimensionality, non-finite values, or an ``.npy`` map
        with ``kind=None``.
    """
    if not isinstance(path, H5Map) and Path(path).suffix.lower() == ".png":
        return _load_png(Path(path))
    arr = _load_array(path, kind)
    if kind == "log-density":
        arr = _check_log_density(arr, path, warn)
        return np.exp(arr - arr.max())
    if not np.all(np.isfinite(arr)):
        raise MapError(f"{path}: saliency map contains NaN or inf")
    # A log-density read as saliency: negative values whose exp sums to 1. Scored as given it
    # would be an order-preserving but wrong map for CC, KL, SIM and EMD; stop instead.
    if arr.min() < 0 and abs(float(logsumexp(arr))) <= 1e-3:
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
        raise MapError(f"{path}: map is {mh}x{mw} (height x width), image {image} is {h}x{w}: the aspect "
                       f"ratio differs by {100 * change:.1f} % (a transposed or cropped map?); "
                       "--allow-aspect-change scores it resized")


def _load_array(path: str | Path | H5Map, kind: MapKind | None) -> np.ndarray:
    """The map's values as a 2-D float64 array (an ``.npy`` file or an HDF5 dataset); MapError if not."""
    if isinstance(path, H5Map):
        if kind != "log-density":
            raise MapError(f"{path}: an HDF5 file holds log-densities; it cannot be read as --maps-kind {kind}")
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
    lse = float(logsumexp(arr))
    if abs(lse) > 1e-3 and warn:
        warnings.warn(f"{path}: log-density does not sum to 1 (logsumexp = {lse:.4g}); scored as given",
                      MapScaleWarning, stacklevel=3)
    return arr


def load_prediction(path: str | Path | H5Map, kind: MapKind | None, *, warn: bool = True):
    """Load one map as a typed prediction: a :class:`~asdgaze.predictions.LogDensity` (``.npy`` or
    HDF5 dataset, kind ``"log-density"``, renormalised to logsumexp 0) or a
    :class:`~asdgaze.predictions.SaliencyMap` (``.npy`` saliency, or any ``.png``).

    The type decides what a metric may do with it: the probabilistic LL and IG need log p itself;
    the MIT convention scores ``LogDensity.as_saliency()``, which equals :func:`load_map`'s array
    (apart from the renormalisation, which no MIT metric sees). Raises MapError as :func:`load_map`.
    """
    from asdgaze.predictions import LogDensity, SaliencyMap

    if (not isinstance(path, H5Map) and Path(path).suffix.lower() == ".png") or kind != "log-density":
        return SaliencyMap(load_map(path, kind, warn=warn))
    # read once, with the same checks and warnings as load_map
    return LogDensity.normalized(_check_log_density(_load_array(path, kind), path, warn))


def _load_png(path: Path) -> np.ndarray:
    try:
        return read_gray_png(path)
    except ValueError as e:
        raise MapError(f"PNG map {e}") from e


def save_npy(path: str | Path, arr: np.ndarray) -> None:
    """Write ``arr`` to ``path`` (.npy) atomically."""
    write_npy_atomic(path, arr)

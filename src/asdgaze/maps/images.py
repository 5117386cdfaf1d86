"""Saliency maps saved as images: PNG, TIFF and JPEG, 8- or 16-bit, grey or an RGB whose channels are grey.

Published saliency models mostly come as JPEG or PNG images (the MIT benchmark distributes JPEGs). A map
image holds one grey value per pixel, read as value / 255 (8-bit) or value / 65535 (16-bit). A colour
image (channels that differ) is refused: it is a rendering of a map (a heat-map colour scale, an overlay),
whose colours do not order the pixels. JPEG's lossy coding may leave grey channels a level or two apart
(:data:`JPEG_GREY_LEVELS`); such a JPEG is read as the mean of its channels.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np

from asdgaze.errors import MapError
from asdgaze.io import image_pixels, read_gray_png

__all__ = ["IMAGE_SUFFIXES", "image_header", "read_map_image", "JPEG_GREY_LEVELS"]

#: Map image suffixes, in the order a folder's files are preferred for one stem (lossless first).
IMAGE_SUFFIXES = (".png", ".tif", ".tiff", ".jpg", ".jpeg")
#: The format each suffix names (a file whose content is another format is read with a note).
SUFFIX_FORMAT = {".png": "PNG", ".tif": "TIFF", ".tiff": "TIFF", ".jpg": "JPEG", ".jpeg": "JPEG"}
#: How far apart (8-bit levels) the channels of a grey JPEG may be: its lossy coding rounds them apart.
JPEG_GREY_LEVELS = 2
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def is_image(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() in SUFFIX_FORMAT


def _label(path: Path) -> str:
    return f"{SUFFIX_FORMAT.get(path.suffix.lower(), 'image')} map {path}"


def image_header(path: str | os.PathLike) -> tuple[tuple[int, int], str]:
    """(height, width) and format (``"PNG"``, ``"JPEG"``, ``"TIFF"``, ...) of a map image, from its header."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            head = f.read(24)
    except OSError as e:
        raise MapError(f"{_label(path)}: cannot read ({e.strerror or e})") from None
    if head[:8] == PNG_SIGNATURE and head[12:16] == b"IHDR":  # the PNG standard's first chunk
        w, h = struct.unpack(">II", head[16:24])
        return (h, w), "PNG"
    from PIL import Image

    try:  # Pillow reads the header only
        with Image.open(path) as im:
            return (im.size[1], im.size[0]), str(im.format)
    except Exception as e:  # noqa: BLE001 - Pillow raises many types for files it cannot identify
        raise MapError(f"{_label(path)}: cannot read image ({e})") from None


def read_map_image(path: str | os.PathLike, fmt: str) -> np.ndarray:
    """The grey values of a map image as float64 in [0, 1]; MapError naming the file and the problem."""
    path = Path(path)
    if fmt == "PNG":
        try:
            return read_gray_png(path)
        except ValueError as e:
            raise MapError(f"PNG map {e}") from e
    try:
        arr, mode = image_pixels(path)
    except ValueError as e:
        raise MapError(str(e).replace(str(path), _label(path), 1)) from None
    if mode in ("RGB", "RGBA", "LA", "P", "PA"):
        arr = _grey(path, arr, fmt)
    if mode == "1":
        return arr.astype(np.float64)
    if mode in ("L", "LA", "RGB", "RGBA", "P", "PA"):
        return arr.astype(np.float64) / 255.0
    if mode.startswith("I;16") or (mode == "I" and arr.size and 0 <= arr.min() and arr.max() <= 65535):
        return arr.astype(np.float64) / 65535.0
    raise MapError(f"{_label(path)}: a {fmt} image of mode {mode}; a map image is 8- or 16-bit grey (save "
                   "other numbers as a 2-D .npy array)")


def _grey(path: Path, arr: np.ndarray, fmt: str) -> np.ndarray:
    """The grey channel of an image whose colour channels are equal (within JPEG's rounding for a JPEG)."""
    if arr.shape[2] < 3:  # grey + alpha: the grey channel
        return arr[..., 0]
    rgb = arr[..., :3].astype(np.int16)
    spread = rgb.max(axis=2) - rgb.min(axis=2)
    allowed = JPEG_GREY_LEVELS if fmt == "JPEG" else 0
    if spread.max() > allowed:
        r, c = np.unravel_index(int(np.argmax(spread)), spread.shape)
        raise MapError(f"{path}: a colour image (pixel x={c}, y={r} is RGB {tuple(int(v) for v in rgb[r, c])}): "
                       "a rendering of a map (a colour scale or an overlay), not a map, whose colours do not "
                       "order the pixels; save the map itself as a grayscale image or a .npy array")
    return rgb.mean(axis=2) if allowed else arr[..., 0]

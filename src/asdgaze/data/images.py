"""Image loading and validation: every image enters the models as RGB, 8-bit range, (H, W, 3).

Rules (the same for files, numpy arrays and tensors):

* Files: the pixel limit (``ASDGAZE_MAX_PIXELS``, default 89,478,485) is checked on the header
  first, so a huge or hostile file gives a DataError instead of exhausting memory; EXIF
  orientation is applied; grayscale, palette, CMYK and RGBA/LA images become RGB (the
  alpha channel is dropped); 16-bit images are scaled to 8 bits by ``round(v * 255 / 65535)``.
* Arrays: (H, W), (H, W, 1), (H, W, 3) or (H, W, 4); uint8 as is, uint16 scaled as above, floats
  must lie in 0..255. A float image whose values all lie in 0..1 and are not all whole numbers is
  refused: it is almost surely ``ToTensor()``-style 0..1 scaling, which DeepGaze IIE silently turns
  into an almost image-independent prediction (it divides by 255 itself).
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np

from asdgaze.data._checks import image_files, open_image
from asdgaze.errors import DataError



class ImageError(DataError):
    """An image that cannot be used, with the file (or argument) name and the reason."""


def pixel_range_problem(vmin: float, vmax: float, all_integral: bool) -> str | None:
    """Why float pixel values with this min / max cannot be 0..255 RGB, or None if they can.

    >>> pixel_range_problem(0.0, 255.0, True) is None
    True
    >>> pixel_range_problem(0.0, 0.98, False)[:30]
    'values lie in 0..1, not 0..255'
    """
    if not (np.isfinite(vmin) and np.isfinite(vmax)):
        return "values contain NaN or infinity"
    if vmin < 0 or vmax > 255:
        return f"values must lie in 0..255 but range from {vmin:g} to {vmax:g}"
    if vmax <= 1.0 and not all_integral:
        return ("values lie in 0..1, not 0..255: the image looks scaled by 1/255 (e.g. torchvision "
                "ToTensor()); DeepGaze IIE divides by 255 itself, so such input gives an almost "
                "image-independent prediction. Multiply by 255 or pass the uint8 image")
    return None


def scale_16bit(values: np.ndarray) -> np.ndarray:
    """16-bit intensities to 8 bits: ``round(v * 255 / 65535)``.

    >>> scale_16bit(np.array([0, 257, 65535])).tolist()
    [0, 1, 255]
    """
    return np.rint(values.astype(np.float64) * (255.0 / 65535.0)).astype(np.uint8)


def to_rgb(image: np.ndarray, name: str = "image") -> np.ndarray:
    """Validate an image array and return it as (H, W, 3): uint8, or float32 in 0..255.

    Args:
        image: (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) array; uint8, uint16 or float in 0..255.
        name: used in error messages (a file name or argument name).

    >>> to_rgb(np.zeros((2, 3), np.uint8)).shape
    (2, 3, 3)
    >>> to_rgb(np.full((2, 2, 3), 0.5))
    Traceback (most recent call last):
    ...
    asdgaze.data.images.ImageError: image: values lie in 0..1, not 0..255: the image looks scaled by 1/255 (e.g. torchvision ToTensor()); DeepGaze IIE divides by 255 itself, so such input gives an almost image-independent prediction. Multiply by 255 or pass the uint8 image
    """
    a = np.asarray(image)
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3 or a.shape[2] not in (1, 3, 4):
        raise ImageError(f"{name}: expected an (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) image, got shape {a.shape}"
                         + (" (channels first? use (H, W, 3))" if a.ndim == 3 and a.shape[0] in (1, 3) else ""))
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise ImageError(f"{name}: empty image of shape {a.shape}")
    if a.shape[2] == 1:
        a = np.repeat(a, 3, axis=2)
    elif a.shape[2] == 4:
        a = a[:, :, :3]
    if a.dtype == np.uint8:
        return np.ascontiguousarray(a)
    if a.dtype == np.uint16:
        return scale_16bit(a)
    if a.dtype.kind in "iu":
        vmin, vmax = int(a.min()), int(a.max())
        if vmin < 0 or vmax > 255:
            raise ImageError(f"{name}: integer values must lie in 0..255 but range from {vmin} to {vmax}")
        return a.astype(np.uint8)
    if a.dtype.kind == "f":
        vmin, vmax = float(a.min()), float(a.max())
        problem = pixel_range_problem(vmin, vmax, bool(np.all(a == np.round(a))) if vmax <= 1.0 else True)
        if problem:
            raise ImageError(f"{name}: {problem}")
        return a.astype(np.float32)
    raise ImageError(f"{name}: unsupported pixel type {a.dtype}")


def load_image(path: str | os.PathLike, *, max_pixels: int | None = None) -> np.ndarray:
    """Read an image file as an (H, W, 3) uint8 RGB array (rules in the module docstring).

    Raises ImageError "<file>: <problem>" for a missing, empty, truncated or corrupt file, and for
    an image over the pixel limit (``max_pixels``, else ``$ASDGAZE_MAX_PIXELS``, else 89,478,485),
    which is checked on the header before any pixel is decoded.

    >>> import tempfile
    >>> from PIL import Image
    >>> p = Path(tempfile.mkdtemp()) / "g.png"
    >>> Image.fromarray(np.full((4, 5), 7, np.uint8)).save(p)
    >>> img = load_image(p); img.shape, img.dtype, int(img[0, 0, 2])
    ((4, 5, 3), dtype('uint8'), 7)
    """
    from PIL import ImageOps, UnidentifiedImageError

    path = Path(path)
    try:
        with open_image(path, max_pixels) as im:
            im.load()
            im = ImageOps.exif_transpose(im)
            mode = im.mode
            if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
                a = np.asarray(im)
                if mode == "I" and a.min() < 0:
                    raise ImageError(f"{path}: negative 32-bit pixel values")
                return np.ascontiguousarray(np.repeat(scale_16bit(a)[:, :, None], 3, axis=2))
            if mode == "F":
                return to_rgb(np.asarray(im, dtype=np.float32), str(path)).astype(np.uint8)
            if mode != "RGB":
                if mode == "P" and "transparency" in im.info:
                    im = im.convert("RGBA")
                im = im.convert("RGB")
            a = np.asarray(im, dtype=np.uint8)
    except ImageError:
        raise
    except DataError as e:  # over the pixel limit
        raise ImageError(str(e)) from None
    except FileNotFoundError:
        raise ImageError(f"{path}: file not found") from None
    except UnidentifiedImageError:
        empty = path.is_file() and path.stat().st_size == 0
        raise ImageError(f"{path}: {'empty file (0 bytes)' if empty else 'not a readable image file'}") from None
    except (OSError, SyntaxError, ValueError, struct.error) as e:
        raise ImageError(f"{path}: cannot decode image ({e})") from None
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise ImageError(f"{path}: empty image")
    return np.ascontiguousarray(a)


def list_images(folder: str | os.PathLike) -> list[Path]:
    """Image files (by suffix, case-insensitive) directly inside ``folder``, numeric stems in numeric order.

    >>> list_images(Path(__file__).parent / "no-such-folder")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    asdgaze.data.images.ImageError: ... not a folder
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ImageError(f"{folder}: not a folder")
    return image_files(folder)

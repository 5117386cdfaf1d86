"""What ``asdgaze predict`` writes per image, each file atomically (temp file + rename).

* ``npy``: ``maps/<stem>.npy``, the (H, W) natural-log density at the image's own size, float32
  (``logsumexp == 0`` within 1e-5) or, with ``npy_dtype="float16"``, float16 (half the size; the
  log density is rounded to 11 significant bits: at most 2**-11 relative, i.e. <= 0.008 nats for
  values down to -16, <= 0.016 nats down to -32).
* ``png``: ``maps/<stem>.png``, 8-bit grayscale ``round(255 * p / max(p))``, ``p = exp(log density)``.
* ``overlay``: ``overlays/<stem>.jpg``, the image with the 8-bit density blended over it (for looking at).
* ``hdf5``: one file ``maps.hdf5`` for the whole run (see :mod:`asdgaze.predict.hdf5`).

An image counts as finished when all its selected per-image files exist. Because every file
appears only by an atomic rename, a file under its final name is always complete.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Sequence

import numpy as np

from asdgaze.errors import OptionsError, OutputError  # noqa: F401 (OutputError: re-exported, predict's name for it)
from asdgaze.io import atomic_path, cannot_write, npy_bytes

PNG_NORMALISATION = "round(255 * p / max(p)), p = exp(log density)"
OUTPUTS = ("npy", "png", "overlay", "hdf5")
DEFAULT_OUTPUTS = ("npy", "png", "overlay")
PER_IMAGE = ("npy", "png", "overlay")
NPY_DTYPES = ("float32", "float16")
# zlib level 1: at 768x1024 about 4x faster than PIL's default (6) for a few % larger files; the
# pixels are the same at every level.
DEFAULT_PNG_LEVEL = 1
_STRIP = 64  # rows per strip in the writers' image arithmetic


def parse_outputs(value: str | Sequence[str] | None) -> tuple[str, ...]:
    """``"npy,png"`` or a sequence -> a tuple in canonical order; unknown names are an OptionsError.

    >>> parse_outputs("overlay, npy")
    ('npy', 'overlay')
    """
    if value is None:
        return DEFAULT_OUTPUTS
    names = [v.strip() for v in (value.split(",") if isinstance(value, str) else value) if v.strip()]
    unknown = [n for n in names if n not in OUTPUTS]
    if unknown or not names:
        raise OptionsError(f"--outputs: expected a comma-separated list of {', '.join(OUTPUTS)}, got {value!r}")
    return tuple(o for o in OUTPUTS if o in names)


def density_png(log_density: np.ndarray) -> np.ndarray:
    """8-bit grayscale of a log density: ``round(255 * p / max(p))`` with ``p = exp(log density)``.

    >>> density_png(np.log(np.array([[0.1, 0.2], [0.3, 0.4]]))).tolist()
    [[64, 128], [191, 255]]
    """
    ld = np.asarray(log_density)
    top = float(ld.max())
    out = np.empty(ld.shape, np.uint8)
    # in strips of rows: the same float64 arithmetic per pixel, but small temporaries, so a writer
    # thread adds little to memory while the model runs beside it
    for r in range(0, ld.shape[0], _STRIP):
        p = np.exp(ld[r:r + _STRIP].astype(np.float64) - top)
        out[r:r + _STRIP] = np.rint(255.0 * p)
    return out


def overlay_image(image: np.ndarray, log_density: np.ndarray, strength: float = 0.7,
                  grey: np.ndarray | None = None) -> np.ndarray:
    """RGB uint8 image with the density blended over it in black-red-yellow-white.

    Works from the 8-bit density ``q = density_png(log_density)`` (pass it as ``grey`` if already
    computed): colour and opacity ``strength * q`` come from 256-entry tables, and the blend
    ``(image * (255 - a) + heat * a) / 255`` is done in integers, so it costs a few passes over uint16.

    >>> overlay_image(np.zeros((1, 2, 3), np.uint8), np.log(np.array([[0.5, 0.5]]))).tolist()
    [[[178, 178, 178], [178, 178, 178]]]
    """
    q = density_png(log_density) if grey is None else grey
    alpha, heat = _overlay_tables(float(strength))
    out = np.empty(image.shape[:2] + (3,), np.uint8)
    for r in range(0, q.shape[0], _STRIP):  # strips of rows: small temporaries
        qs = q[r:r + _STRIP]
        a = np.take(alpha, qs)[:, :, None]  # np.take: several times faster than fancy indexing here
        blend = image[r:r + _STRIP].astype(np.uint16) * (255 - a) + np.take(heat, qs, axis=0) * a + 127
        out[r:r + _STRIP] = blend // 255
    return out


def _overlay_tables(strength: float) -> tuple[np.ndarray, np.ndarray]:
    """Opacity (uint16, 0..255*strength) and hot colour map (uint16 RGB) for each grey level 0..255."""
    v = np.arange(256) / 255.0
    alpha = np.rint(strength * 255.0 * v).astype(np.uint16)
    heat = np.rint(np.clip(np.stack([3 * v, 3 * v - 1, 3 * v - 2], axis=1), 0, 1) * 255).astype(np.uint16)
    return alpha, heat


def output_paths(out_dir: Path, stem: str, outputs: Sequence[str] = DEFAULT_OUTPUTS) -> dict[str, Path]:
    """The per-image files of ``stem`` for the selected outputs (``hdf5`` has none per image)."""
    out_dir = Path(out_dir)
    every = {"npy": out_dir / "maps" / f"{stem}.npy", "png": out_dir / "maps" / f"{stem}.png",
             "overlay": out_dir / "overlays" / f"{stem}.jpg"}
    return {k: v for k, v in every.items() if k in outputs}


def png_bytes(grey: np.ndarray, level: int = DEFAULT_PNG_LEVEL) -> bytes:
    """The PNG file of an 8-bit grayscale map, as bytes (PIL writes the same bytes to a file).

    PIL's PNG encoder holds the GIL for the whole encode: on a GPU host writing runs in worker
    processes (:mod:`asdgaze.predict.stages`), so PNG encodes there run in parallel.
    """
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(grey, mode="L").save(buf, format="PNG", compress_level=level)
    return buf.getvalue()


def write_outputs(out_dir: Path, stem: str, image: np.ndarray | None, log_density: np.ndarray,
                  outputs: Sequence[str] = DEFAULT_OUTPUTS, npy_dtype: str = "float32",
                  png_level: int = DEFAULT_PNG_LEVEL) -> None:
    """Write the selected per-image files atomically; the .npy last.

    ``image`` is used for the overlay only (None without it). Raises :class:`OutputError` naming the file when one cannot be written.
    """
    from PIL import Image

    paths = output_paths(out_dir, stem, outputs)
    current = None
    grey = density_png(log_density) if ("png" in paths or "overlay" in paths) else None
    try:
        if "overlay" in paths:
            current = paths["overlay"]
            with atomic_path(current) as tmp:  # to a real file: PIL encodes JPEG without the GIL then
                Image.fromarray(overlay_image(image, log_density, grey=grey)).save(tmp, format="JPEG", quality=90)
        if "png" in paths:
            current = paths["png"]
            data = png_bytes(grey, png_level)
            with atomic_path(current) as tmp:
                tmp.write_bytes(data)
        if "npy" in paths:
            current = paths["npy"]
            data = npy_bytes(np.asarray(log_density, dtype=np.dtype(npy_dtype)))
            with atomic_path(current) as tmp:
                tmp.write_bytes(data)
    except OutputError:
        raise
    except OSError as e:  # e.g. an encoder's error without an errno
        raise cannot_write(current, e) from e


def finished(out_dir: Path, stem: str, outputs: Sequence[str]) -> bool:
    """All selected per-image files of ``stem`` exist (each appeared by an atomic rename)."""
    return all(p.is_file() for p in output_paths(out_dir, stem, outputs).values())


def remove_partial_files(out_dir: Path, older_than_s: float | None = None) -> int:
    """Delete temp files (``.<name>.<random>.part``) a killed run left; returns how many.

    ``older_than_s``: only those not modified for that long (another run may be writing the others)."""
    import time

    n = 0
    now = time.time()
    for sub in ("maps", "overlays", "."):
        folder = Path(out_dir) / sub
        if folder.is_dir():
            for p in folder.glob(".*.part"):
                try:
                    if older_than_s is not None and now - p.stat().st_mtime < older_than_s:
                        continue
                    p.unlink()
                    n += 1
                except FileNotFoundError:  # finished (renamed) or removed meanwhile
                    continue
    return n

"""What ``asdgaze predict`` writes per image, each file atomically (temp file + rename).

* ``npy``: ``maps/<stem>.npy``, the (H, W) natural-log density at the image's own size, float32
  (``logsumexp == 0`` within 1e-5) or, with ``npy_dtype="float16"``, float16 (half the size; the
  log density is rounded to 11 significant bits: at most 2**-11 relative, i.e. <= 0.008 nats for
  values down to -16, <= 0.016 nats down to -32).
* ``png``: ``maps/<stem>.png``, 8-bit grayscale picture of the density by the levels of its cumulative
  probability (:mod:`asdgaze.predict.render`): not linear in probability, and marked so in a text chunk.
* ``overlay``: ``overlays/<stem>.jpg``, the image with the regions holding 10 %, ..., 90 % of the
  probability tinted, and a colour bar beside it (for looking at).
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
from asdgaze.io import PNG_RENDERING_KEY, atomic_path, cannot_write, npy_bytes
from asdgaze.predict.render import density_png, mass_levels, overlay_image  # noqa: F401 (density_png: re-exported)

PNG_NORMALISATION = ("round(255 * (1 - m)), m = the share of the probability in the pixels at least as likely "
                     "(levels of the cumulative probability; not linear in probability)")
#: The pictures' rendering, recorded in the settings: a folder whose pictures an earlier version made
#: (linear in probability) is refused, not completed with pictures of another kind.
RENDERING = "levels of the cumulative probability"
OUTPUTS = ("npy", "png", "overlay", "hdf5")
DEFAULT_OUTPUTS = ("npy", "png", "overlay")
PER_IMAGE = ("npy", "png", "overlay")
NPY_DTYPES = ("float32", "float16")
# zlib level 1: at 768x1024 about 4x faster than PIL's default (6) for a few % larger files; the
# pixels are the same at every level.
DEFAULT_PNG_LEVEL = 1


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


def output_paths(out_dir: Path, stem: str, outputs: Sequence[str] = DEFAULT_OUTPUTS) -> dict[str, Path]:
    """The per-image files of ``stem`` for the selected outputs (``hdf5`` has none per image)."""
    out_dir = Path(out_dir)
    every = {"npy": out_dir / "maps" / f"{stem}.npy", "png": out_dir / "maps" / f"{stem}.png",
             "overlay": out_dir / "overlays" / f"{stem}.jpg"}
    return {k: v for k, v in every.items() if k in outputs}


def png_bytes(grey: np.ndarray, level: int = DEFAULT_PNG_LEVEL) -> bytes:
    """The PNG file of :func:`density_png`'s picture, as bytes, with a text chunk saying what its grey
    levels are (``asdgaze evaluate`` refuses to score such a file as a map; the .npy is the data).

    PIL's PNG encoder holds the GIL for the whole encode: on a GPU host writing runs in worker
    processes (:mod:`asdgaze.predict.stages`), so PNG encodes there run in parallel.
    """
    from PIL import Image, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text(PNG_RENDERING_KEY, PNG_NORMALISATION)
    buf = io.BytesIO()
    Image.fromarray(grey, mode="L").save(buf, format="PNG", compress_level=level, pnginfo=info)
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
    levels = mass_levels(log_density) if ("png" in paths or "overlay" in paths) else None
    try:
        if "overlay" in paths:
            current = paths["overlay"]
            with atomic_path(current) as tmp:  # to a real file: PIL encodes JPEG without the GIL then
                Image.fromarray(overlay_image(image, log_density, levels)).save(tmp, format="JPEG", quality=90)
        if "png" in paths:
            current = paths["png"]
            data = png_bytes(density_png(log_density, levels), png_level)
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

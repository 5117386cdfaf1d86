"""Small file helpers shared by every stage: atomic writes and content hashes."""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import platform
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from asdgaze.errors import OutputError


_UMASK_LOCK = threading.Lock()


def current_umask() -> int:
    """The process umask (reading it needs setting it; the lock keeps threads from seeing 0)."""
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


#: errno values of a failed write that the user can act on (space, permissions, a file where a folder
#: should be); other OSErrors met inside a write (a network error, an unreadable source) stay as they are.
WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM,
                          errno.ENOTDIR, errno.EISDIR, errno.EEXIST, errno.ENAMETOOLONG})


def cannot_write(path: str | os.PathLike, exc: OSError) -> OutputError:
    """``exc``, met while writing ``path``, as the user's error "<path>: cannot write (<reason>)"."""
    # the system's words for the errno (h5py, for one, puts a long report in strerror)
    reason = os.strerror(exc.errno) if isinstance(exc.errno, int) else (exc.strerror or str(exc))
    other = exc.filename
    if other is not None and Path(os.fsdecode(other)).parent != Path(path).parent:  # not the file or its temp file
        reason += f": {os.fsdecode(other)}"
    return OutputError.with_errno(f"{path}: cannot write ({reason})", exc.errno)


def _is_write_error(exc: OSError, path: Path) -> bool:
    """An OSError of writing ``path`` (its folder, temp file or itself), not of something read meanwhile."""
    if isinstance(exc, OutputError) or exc.errno not in WRITE_ERRNOS:
        return False
    if exc.filename is None or not isinstance(exc.filename, (str, bytes, os.PathLike)):
        return True
    other = Path(os.fsdecode(exc.filename))
    return other.parent == path.parent or path.is_relative_to(other)


def make_dir(folder: str | os.PathLike) -> Path:
    """``mkdir -p folder``; a folder that cannot be made is an :class:`OutputError` naming it."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        if folder.exists() and not folder.is_dir():
            raise OutputError.with_errno(f"{folder}: cannot write (exists and is not a folder)", errno.ENOTDIR) from e
        raise cannot_write(folder, e) from e
    return folder


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds.

    A crash or an exception leaves either the old file or no file, never a half-written one. A write
    that fails for want of space or permission raises :class:`OutputError` "<path>: cannot write (<reason>)".
    """
    path = Path(path)
    tmp_path = None
    try:
        make_dir(path.parent)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
        tmp_path = Path(tmp)
        # mkstemp creates 0600; give the file the mode a plain open() would (0666 less the umask).
        os.fchmod(fd, 0o666 & ~current_umask())
        os.close(fd)
        yield tmp_path
        os.replace(tmp_path, path)
    except OSError as e:
        if _is_write_error(e, path):
            raise cannot_write(path, e) from e
        raise
    finally:
        if tmp_path is not None and tmp_path.exists():
            tmp_path.unlink()


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_json_atomic(path: str | os.PathLike, obj: Any, compact: bool = False) -> None:
    """``compact``: without indentation, which json encodes in C, several times faster (machine-read files)."""
    text = json.dumps(obj, separators=(",", ":"), default=str) if compact else json.dumps(obj, indent=2, default=str)
    write_text_atomic(path, text + "\n")


def npy_bytes(arr: np.ndarray) -> bytes:
    """The .npy file of ``arr``. Written with one plain write: numpy's own file writer reports a full
    disk as "N requested and M written", without the errno."""
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def write_npy_atomic(path: str | os.PathLike, arr: np.ndarray) -> None:
    write_bytes_atomic(path, npy_bytes(arr))


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def package_versions(*packages: str) -> dict[str, str | None]:
    """Python's and asdgaze's versions plus each named distribution's (None if not installed)."""
    import importlib.metadata as md

    out: dict[str, str | None] = {"python": platform.python_version(), "platform": platform.platform()}
    for name in ("asdgaze", *packages):
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            out[name] = None
    return out


#: PNG text chunk of a picture that is not a map to score (``asdgaze predict``'s density picture: levels of the
#: cumulative probability); its text says what the grey levels are.
PNG_RENDERING_KEY = "asdgaze-rendering"


def image_pixels(path: str | os.PathLike) -> tuple[np.ndarray, str]:
    """An image file's pixels (palette images as RGBA) and its PIL mode; ValueError naming the file."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            im.load()
            mode = im.mode
            if mode in ("P", "PA"):
                im = im.convert("RGBA")
            return np.asarray(im), mode
    except Exception as e:  # PIL raises many types for corrupt files
        raise ValueError(f"{path}: cannot read image ({e})") from e


def read_gray_png(path: str | os.PathLike) -> np.ndarray:
    """A grayscale map image as float64 in [0, 1]: 8-bit / 255, 16-bit / 65535, 1-bit as 0/1.

    Palette and grey+alpha images are read through their grey values (alpha ignored); a colour
    image whose channels differ is refused. Raises ValueError naming the file and the problem.
    """
    arr, mode = image_pixels(path)
    if arr.ndim == 3:
        grey = arr[..., 0]
        if arr.shape[2] >= 3 and not (np.array_equal(grey, arr[..., 1]) and np.array_equal(grey, arr[..., 2])):
            raise ValueError(f"{path}: colour image; expected a grayscale map (a colour image is a rendering of a "
                             "map, a colour scale or an overlay, whose colours do not order the pixels)")
        arr = grey
    if mode == "1":
        return arr.astype(np.float64)
    if mode.startswith("I"):  # 16-bit PNGs open as I;16 or I
        return arr.astype(np.float64) / 65535.0
    if arr.dtype == np.uint8:
        return arr.astype(np.float64) / 255.0
    raise ValueError(f"{path}: unsupported image mode {mode}")

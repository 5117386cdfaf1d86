"""Getting the DeepGaze IIE reference files into the cache: download, import, verify, record.

Files (release v1.0.0 of github.com/matthias-k/DeepGaze) go to the cache folder of
:mod:`asdgaze.models.deepgaze.cache`. Each file is written atomically and only after it is
verified: the checkpoint by a strict load into our model (this needs torch, imported only then),
the MIT1003 template by its shape and content (no torch). Its sha256 is recorded in
``<file>.sha256.json`` beside it. Nothing falls back silently: a missing file is an error naming
the path and the command that fetches it.
"""

from __future__ import annotations

import os
import shutil
import urllib.request
from pathlib import Path

from asdgaze.errors import OutputError, WeightsError
from asdgaze.io import atomic_path, sha256_file
from asdgaze.models.centerbias import load_template
from asdgaze.models.deepgaze.cache import (  # noqa: F401 - re-exported: the public names of the weights code
    CENTERBIAS_FILE,
    RELEASE,
    URLS,
    WEIGHTS_FILE,
    cache_dir,
    default_path,
    record,
    resolve_centerbias_template,
    resolve_weights,
    status,
    status_of,
    weights_sha256,
)

__all__ = ["WeightsError", "CENTERBIAS_FILE", "RELEASE", "URLS", "WEIGHTS_FILE", "cache_dir", "default_path",
           "download", "import_file", "resolve_centerbias_template", "resolve_weights", "status", "status_of",
           "weights_sha256", "require_torch"]


def require_torch(why: str) -> None:
    """Raise :class:`WeightsError` saying ``why`` torch is needed, if it cannot be imported."""
    try:
        import torch  # noqa: F401
    except ImportError:
        raise WeightsError(f"{why} needs PyTorch, which is not installed here (install asdgaze with its "
                           "torch dependencies: pip install torch torchvision efficientnet-pytorch)") from None


def _verify(path: Path, name: str) -> str:
    """Check a file before it enters the cache as ``name``; return the sha256 of what was checked."""
    if name == CENTERBIAS_FILE:
        return load_template(path, mit1003=True)[1]
    require_torch(f"checking {path} as {WEIGHTS_FILE}")
    from asdgaze.models.deepgaze.model import DeepGazeIIE

    sha = sha256_file(path)
    DeepGazeIIE.from_checkpoint(path)  # strict load: every name and shape of the published checkpoint
    return sha


def import_file(src: str | os.PathLike, name: str | None = None) -> dict:
    """Verify ``src`` and copy it atomically into the cache (as ``deepgaze2e.pth`` unless it is a .npy)."""
    src = Path(src).expanduser()
    if not src.is_file():
        raise WeightsError(f"{src}: file does not exist")
    name = name or (CENTERBIAS_FILE if src.suffix.lower() == ".npy" else WEIGHTS_FILE)
    if name not in URLS:
        raise WeightsError(f"{name}: not a file of the weights cache (expected {WEIGHTS_FILE} or {CENTERBIAS_FILE})")
    sha = _verify(src, name)
    dest = default_path(name)
    with atomic_path(dest) as tmp:
        shutil.copyfile(src, tmp)
        if sha256_file(tmp) != sha:  # the file changed between the check and the copy
            raise WeightsError(f"{src}: the file changed while it was being imported; nothing was written")
    return record(dest, str(src), sha)


def download(names: tuple[str, ...] = (WEIGHTS_FILE, CENTERBIAS_FILE), force: bool = False,
             progress: bool = True) -> list[dict]:
    """Download the published files into the cache, verify each, record its sha256."""
    unknown = [n for n in names if n not in URLS]
    if unknown:
        raise WeightsError(f"unknown file(s) {', '.join(unknown)}; the release has {WEIGHTS_FILE} and {CENTERBIAS_FILE}")
    todo = [n for n in names if force or not default_path(n).is_file()]
    if WEIGHTS_FILE in todo:  # before any download: the checkpoint cannot be verified without torch
        require_torch(f"verifying {WEIGHTS_FILE}")
    infos = []
    for name in names:
        dest = default_path(name)
        if name not in todo:
            infos.append(status_of(name))
            continue
        url = URLS[name]
        try:
            with atomic_path(dest) as tmp:
                _fetch(url, tmp, progress)
                try:
                    sha = _verify(tmp, name)
                except WeightsError as e:
                    raise WeightsError(f"downloaded {url}, but it is not the expected file: "
                                       f"{str(e).replace(str(tmp), name)}; nothing was written to {dest}") from None
        except OutputError:  # the cache folder is full or read-only: not a download problem
            raise
        except OSError as e:
            raise WeightsError(f"could not download {url} to {dest}: {e}. If this machine is offline, "
                               f"download the file elsewhere and run `asdgaze weights import FILE`") from None
        infos.append(record(dest, url, sha))
    return infos


def _fetch(url: str, dest: Path, progress: bool) -> None:
    from tqdm import tqdm

    with urllib.request.urlopen(url, timeout=60) as r, open(dest, "wb") as f:
        total = int(r.headers.get("Content-Length") or 0) or None
        with tqdm(total=total, unit="B", unit_scale=True, desc=url.rsplit("/", 1)[-1], disable=not progress) as bar:
            while block := r.read(1 << 20):
                f.write(block)
                bar.update(len(block))

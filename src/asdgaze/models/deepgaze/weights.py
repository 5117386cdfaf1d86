"""Where the DeepGaze IIE weights and the MIT1003 centre bias live, and how they get there.

Files (release v1.0.0 of github.com/matthias-k/DeepGaze) are kept in one cache folder:
``$ASDGAZE_HOME`` if set, else the platform cache folder (``platformdirs.user_cache_dir("asdgaze")``,
e.g. ``~/.cache/asdgaze`` on Linux). Each file is written atomically and verified (the checkpoint
by a strict load into our model), and its sha256 is recorded in ``<file>.sha256.json`` beside it.
Nothing falls back silently: a missing file is an error naming the path and the command that
fetches it.
"""

from __future__ import annotations

import os
import shutil
import urllib.request
from pathlib import Path

import torch

from asdgaze.errors import WeightsError
from asdgaze.io import atomic_path, sha256_file, write_json_atomic

RELEASE = "https://github.com/matthias-k/DeepGaze/releases/download/v1.0.0/"
WEIGHTS_FILE = "deepgaze2e.pth"
CENTERBIAS_FILE = "centerbias_mit1003.npy"
URLS = {WEIGHTS_FILE: RELEASE + WEIGHTS_FILE, CENTERBIAS_FILE: RELEASE + CENTERBIAS_FILE}




def cache_dir() -> Path:
    """``$ASDGAZE_HOME`` or the platform cache folder for asdgaze (not created here).

    >>> import os; os.environ["ASDGAZE_HOME"] = "/tmp/x"; str(cache_dir()); del os.environ["ASDGAZE_HOME"]
    '/tmp/x'
    """
    home = os.environ.get("ASDGAZE_HOME")
    if home:
        return Path(home).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("asdgaze"))


def default_path(name: str = WEIGHTS_FILE) -> Path:
    return cache_dir() / name


def _missing(path: Path, what: str, option: str) -> WeightsError:
    return WeightsError(
        f"{what} not found at {path}. Fetch it with `asdgaze weights download` (needs internet; "
        f"from {URLS[path.name] if path.name in URLS else RELEASE}), or copy a downloaded file in with "
        f"`asdgaze weights import FILE`, or pass {option}. Set ASDGAZE_HOME to use another folder.")


def resolve_weights(path: str | os.PathLike | None = None) -> Path:
    """The checkpoint to use: ``path`` if given (must exist), else the cached ``deepgaze2e.pth``."""
    if path is not None:
        p = Path(path).expanduser()
        if not p.is_file():
            raise WeightsError(f"weights file {p} does not exist")
        return p
    p = default_path(WEIGHTS_FILE)
    if not p.is_file():
        raise _missing(p, "DeepGaze IIE weights (deepgaze2e.pth)", "--weights PATH")
    return p


def resolve_centerbias_template(path: str | os.PathLike | None = None) -> Path:
    """The MIT1003 centre-bias template: ``path`` if given, else the cached ``centerbias_mit1003.npy``."""
    p = Path(path).expanduser() if path is not None else default_path(CENTERBIAS_FILE)
    if not p.is_file():
        raise _missing(p, "MIT1003 centre-bias template (centerbias_mit1003.npy)",
                       "--centerbias uniform or --centerbias FILE.npy")
    return p


def load_state_dict_file(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Read a checkpoint file as a state dict (tensors only: ``weights_only=True``)."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weights file {path} does not exist")
    try:
        # Not memory-mapped: each tensor gets its own buffer, so converting the conv weights to
        # channels-last frees the originals one by one (a mapped file would stay resident).
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any reader error means the same thing to the user
        raise WeightsError(f"{path}: not a readable PyTorch checkpoint ({type(e).__name__}: {e})") from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsError(f"{path}: expected a state dict of tensors (deepgaze2e.pth)")
    return state


def check_state_dict(expected: dict[str, torch.Tensor], state: dict[str, torch.Tensor], source: str) -> None:
    """Raise :class:`WeightsError` listing missing, unexpected and mis-shaped keys (strict match)."""
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    shapes = [f"{k}: {tuple(state[k].shape)} != {tuple(v.shape)}" for k, v in expected.items()
              if k in state and tuple(state[k].shape) != tuple(v.shape)]
    if missing or unexpected or shapes:
        def few(xs):
            return ", ".join(xs[:5]) + (f" ... ({len(xs)} in all)" if len(xs) > 5 else "")
        parts = [f"{len(missing)} missing ({few(missing)})" if missing else "",
                 f"{len(unexpected)} unexpected ({few(unexpected)})" if unexpected else "",
                 f"{len(shapes)} with wrong shape ({few(shapes)})" if shapes else ""]
        raise WeightsError(f"{source} is not a DeepGaze IIE checkpoint: "
                           + "; ".join(p for p in parts if p))


def _record(path: Path, source: str) -> dict:
    info = {"file": path.name, "sha256": sha256_file(path), "bytes": path.stat().st_size, "source": source}
    write_json_atomic(path.with_name(path.name + ".sha256.json"), info)
    return info


def _verify(path: Path, name: str) -> None:
    """Check a file before it enters the cache: a strict model load, or a valid template."""
    if name.endswith(".npy"):
        import numpy as np

        from asdgaze.models.centerbias import check_template

        with open(path, "rb") as f:
            check_template(np.load(f), str(path))
    else:
        from asdgaze.models.deepgaze.model import DeepGazeIIE

        DeepGazeIIE.from_checkpoint(path)


def import_file(src: str | os.PathLike, name: str | None = None) -> dict:
    """Verify ``src`` and copy it atomically into the cache (as ``deepgaze2e.pth`` unless it is a .npy)."""
    src = Path(src).expanduser()
    if not src.is_file():
        raise WeightsError(f"{src} does not exist")
    name = name or (CENTERBIAS_FILE if src.suffix == ".npy" else WEIGHTS_FILE)
    _verify(src, name)
    dest = default_path(name)
    with atomic_path(dest) as tmp:
        shutil.copyfile(src, tmp)
    return _record(dest, str(src))


def download(names: tuple[str, ...] = (WEIGHTS_FILE, CENTERBIAS_FILE), force: bool = False,
             progress: bool = True) -> list[dict]:
    """Download the published files into the cache, verify each, record its sha256."""
    infos = []
    for name in names:
        dest = default_path(name)
        if dest.is_file() and not force:
            infos.append(status_of(name))
            continue
        url = URLS[name]
        try:
            with atomic_path(dest) as tmp:
                _fetch(url, tmp, progress)
                _verify(tmp, name)
        except OSError as e:
            raise WeightsError(f"could not download {url} to {dest}: {e}. If this machine is offline, "
                               f"download the file elsewhere and run `asdgaze weights import FILE`") from None
        except (WeightsError, ValueError) as e:
            raise WeightsError(f"downloaded {url}, but it is not the expected file ({e}); nothing was "
                               f"written to {dest}") from None
        infos.append(_record(dest, url))
    return infos


def _fetch(url: str, dest: Path, progress: bool) -> None:
    from tqdm import tqdm

    with urllib.request.urlopen(url, timeout=60) as r, open(dest, "wb") as f:
        total = int(r.headers.get("Content-Length") or 0) or None
        with tqdm(total=total, unit="B", unit_scale=True, desc=url.rsplit("/", 1)[-1], disable=not progress) as bar:
            while block := r.read(1 << 20):
                f.write(block)
                bar.update(len(block))


def status_of(name: str) -> dict:
    """Presence, size and recorded sha256 of a cached file."""
    import json

    p = default_path(name)
    rec = p.with_name(p.name + ".sha256.json")
    sha = json.loads(rec.read_text())["sha256"] if rec.is_file() and p.is_file() else None
    return {"file": name, "path": str(p), "present": p.is_file(), "sha256": sha,
            "bytes": p.stat().st_size if p.is_file() else None}


def status() -> list[dict]:
    return [status_of(WEIGHTS_FILE), status_of(CENTERBIAS_FILE)]


def weights_sha256(path: str | os.PathLike) -> str:
    """sha256 of a weights file (always computed from the bytes, about 1 s for 400 MB)."""
    return sha256_file(path)

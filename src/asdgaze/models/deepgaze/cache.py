"""Where the DeepGaze IIE reference files live: the cache folder, file names, status. No torch.

Files (release v1.0.0 of github.com/matthias-k/DeepGaze) are kept in one folder:
``$ASDGAZE_HOME`` if set, else the platform cache folder (``platformdirs.user_cache_dir("asdgaze")``,
e.g. ``~/.cache/asdgaze`` on Linux). Beside each file, ``<file>.sha256.json`` records its sha256.
This is the bottom layer of the weights code: it imports nothing from the model or centre-bias
modules, so they can all import it without a cycle.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from asdgaze.errors import WeightsError
from asdgaze.io import sha256_file, write_json_atomic

RELEASE = "https://github.com/matthias-k/DeepGaze/releases/download/v1.0.0/"
WEIGHTS_FILE = "deepgaze2e.pth"
CENTERBIAS_FILE = "centerbias_mit1003.npy"
URLS = {WEIGHTS_FILE: RELEASE + WEIGHTS_FILE, CENTERBIAS_FILE: RELEASE + CENTERBIAS_FILE}
#: The published MIT1003 template: a 1024x1024 float64 natural-log density.
CENTERBIAS_SHAPE = (1024, 1024)


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
    """The cached location of ``name`` (``deepgaze2e.pth`` or ``centerbias_mit1003.npy``)."""
    return cache_dir() / name


def missing_error(path: Path, what: str, option: str) -> WeightsError:
    """The error for a reference file that is not where it should be: path, and how to get it there."""
    return WeightsError(
        f"{what} not found at {path}. Fetch it with `asdgaze weights download` (needs internet; "
        f"from {URLS.get(path.name, RELEASE)}), or copy a downloaded file in with "
        f"`asdgaze weights import FILE`, or pass {option}. Set ASDGAZE_HOME to use another folder.")


def resolve_weights(path: str | os.PathLike | None = None) -> Path:
    """The checkpoint to use: ``path`` if given (must exist), else the cached ``deepgaze2e.pth``."""
    if path is not None:
        p = Path(path).expanduser()
        if not p.is_file():
            raise WeightsError(f"{p}: weights file does not exist")
        return p
    p = default_path(WEIGHTS_FILE)
    if not p.is_file():
        raise missing_error(p, "DeepGaze IIE weights (deepgaze2e.pth)", "--weights PATH")
    return p


def resolve_centerbias_template(path: str | os.PathLike | None = None) -> Path:
    """The MIT1003 centre-bias template: ``path`` if given, else the cached ``centerbias_mit1003.npy``."""
    p = Path(path).expanduser() if path is not None else default_path(CENTERBIAS_FILE)
    if not p.is_file():
        raise missing_error(p, "MIT1003 centre-bias template (centerbias_mit1003.npy)",
                            "--centerbias gaussian, --centerbias uniform or --centerbias FILE.npy")
    return p


def record(path: Path, source: str, sha256: str | None = None) -> dict:
    """Write ``<file>.sha256.json`` beside a cached file: name, sha256, size, where it came from."""
    info = {"file": path.name, "sha256": sha256 or sha256_file(path), "bytes": path.stat().st_size,
            "source": source}
    write_json_atomic(path.with_name(path.name + ".sha256.json"), info)
    return info


def status_of(name: str) -> dict:
    """Presence, size and recorded sha256 of a cached file (nothing is re-hashed)."""
    p = default_path(name)
    rec = p.with_name(p.name + ".sha256.json")
    sha = None
    if rec.is_file() and p.is_file():
        try:
            sha = json.loads(rec.read_text()).get("sha256")
        except (ValueError, OSError, AttributeError):
            sha = None  # an unreadable record is shown as "not recorded"
    return {"file": name, "path": str(p), "present": p.is_file(), "sha256": sha,
            "bytes": p.stat().st_size if p.is_file() else None}


def status() -> list[dict]:
    """:func:`status_of` for the checkpoint and the MIT1003 template."""
    return [status_of(WEIGHTS_FILE), status_of(CENTERBIAS_FILE)]


def weights_sha256(path: str | os.PathLike) -> str:
    """sha256 of a weights file (always computed from the bytes, about 1 s for 400 MB)."""
    return sha256_file(path)


_HASH_LOCK = threading.Lock()


def cached_sha256(path: str | os.PathLike) -> str:
    """sha256 of a file, remembered with its size and mtime so an unchanged 420 MB checkpoint is read once.

    The record lives in the asdgaze cache (``file-hashes.json``); if it cannot be read or written
    the hash is simply computed.
    """
    p = Path(path).resolve()
    st = p.stat()
    key = str(p)
    cache_path = cache_dir() / "file-hashes.json"
    with _HASH_LOCK:
        try:
            cache = json.loads(cache_path.read_text())
            if not isinstance(cache, dict):
                cache = {}
        except (OSError, ValueError):
            cache = {}
        hit = cache.get(key)
        if isinstance(hit, dict) and hit.get("size") == st.st_size and hit.get("mtime_ns") == st.st_mtime_ns:
            return str(hit["sha256"])
        sha = sha256_file(p)
        cache[key] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": sha}
        try:
            write_json_atomic(cache_path, cache)
        except OSError:
            pass
        return sha


#: The published release's files, one record each (v1.0.0 of github.com/matthias-k/DeepGaze): the sha256
#: (and size) that several independent public projects downloading this release record for them. A file with
#: another hash is not the published one, whatever its name.
PUBLISHED_SHA256 = {
    WEIGHTS_FILE: "49b65724184f43a2b60426c29c12fd2b743b47ad9eb3435d3dd28e50ea4e2585",  # 419,676,716 bytes
    CENTERBIAS_FILE: "051645b7da47884c138e81f28a4afbadd99b6c3262eaf086434a9626e3578be9",
}


def provenance(name: str, sha256: str | None) -> str:
    """How a file of the weights cache relates to the published release, in words: "the published v1.0.0
    file", "not the published ... (sha256 ...)", or "unverified" where no hash is known.

    >>> provenance(WEIGHTS_FILE, PUBLISHED_SHA256[WEIGHTS_FILE])
    'the published DeepGaze IIE release v1.0.0 deepgaze2e.pth (sha256 49b65724184f...)'
    """
    published = PUBLISHED_SHA256.get(name)
    if not sha256:
        return "unverified (no sha256 recorded)"
    if published is None:
        return f"unverified: no published sha256 is known for {name}"
    if sha256 == published:
        return f"the published DeepGaze IIE release v1.0.0 {name} (sha256 {sha256[:12]}...)"
    return (f"NOT the published {name}: its sha256 {sha256[:12]}... differs from the release's {published[:12]}... "
            "(a retrained, converted or synthetic file); scores are of this file, not of DeepGaze IIE as published")

"""The settings a predict run's outputs depend on, recorded before the first output is written.

``<out>/run-settings.json`` holds them. A later run into the same folder compares its own settings
key by key and refuses a difference (naming the setting, old and new value) unless ``--overwrite``;
so an interrupted run can never be resumed with another centre bias, weights file or precision.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

from asdgaze.errors import OptionsError
from asdgaze.io import sha256_file, write_json_atomic

SETTINGS_FILE = "run-settings.json"
_CACHE_LOCK = threading.Lock()

# what each setting is called on the command line, for messages
CLI_NAMES = {"weights_sha256": "--weights (sha256)", "centerbias": "--centerbias", "precision": "--precision",
             "outputs": "--outputs", "npy_dtype": "--npy-dtype"}


def _hash_cache_file() -> Path:
    from asdgaze.models.deepgaze.weights import cache_dir

    return cache_dir() / "file-hashes.json"


def cached_sha256(path: str | os.PathLike) -> str:
    """sha256 of a file, remembered with its size and mtime so an unchanged 420 MB checkpoint is read once.

    The record lives in the asdgaze cache (``file-hashes.json``); if it cannot be read or written
    the hash is simply computed.
    """
    p = Path(path).resolve()
    st = p.stat()
    key = str(p)
    cache_path = _hash_cache_file()
    with _CACHE_LOCK:
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


def read_settings(out_dir: Path) -> dict | None:
    """The recorded settings of ``out_dir``: run-settings.json, else an older manifest's ``settings``."""
    for name, key in ((SETTINGS_FILE, None), ("manifest.json", "settings")):
        p = out_dir / name
        if p.is_file():
            try:
                data = json.loads(p.read_text())
            except ValueError:
                continue
            data = data.get(key) if key else data
            if isinstance(data, dict):
                return data
    return None


def _show(value: Any) -> str:
    if isinstance(value, dict) and "kind" in value:  # a centre bias: kind, file and its hash
        extra = f" {value['path']}" if value.get("path") else ""
        extra += f" (sha256 {value['sha256'][:12]})" if value.get("sha256") else ""
        return f"{value['kind']}{extra}"
    return json.dumps(value, sort_keys=True) if isinstance(value, (dict, list)) else repr(value)


def differences(old: dict, new: dict) -> list[str]:
    """Human-readable differences between two settings records, one per setting.

    >>> differences({"precision": "fp32"}, {"precision": "fp16"})
    ["--precision: 'fp32' before, 'fp16' now"]
    """
    out = []
    for k in sorted(set(old) | set(new)):
        if old.get(k) != new.get(k):
            out.append(f"{CLI_NAMES.get(k, k)}: {_show(old.get(k))} before, {_show(new.get(k))} now")
    return out


def check_and_record(out_dir: Path, settings: dict, overwrite: bool, has_outputs: bool) -> None:
    """Refuse settings that differ from the folder's record (unless ``overwrite``); record them.

    ``has_outputs``: the folder already holds per-image outputs. Outputs without any record of
    their settings (an older version's interrupted run) are refused too, unless ``overwrite``.
    """
    old = read_settings(out_dir)
    if not overwrite:
        # a record with no outputs yet (a run that stopped before its first image) binds nothing
        if old is not None and old != settings and has_outputs:
            diff = "; ".join(differences(old, settings))
            raise OptionsError(f"{out_dir}: holds outputs made with other settings ({diff}); use another --out "
                               f"folder, the same settings, or --overwrite to recompute everything")
        if old is None and has_outputs:
            raise OptionsError(f"{out_dir}: holds maps but no record of the settings they were made with "
                               f"({SETTINGS_FILE}); use another --out folder or --overwrite")
    if old != settings or not (out_dir / SETTINGS_FILE).is_file():
        write_json_atomic(out_dir / SETTINGS_FILE, settings)

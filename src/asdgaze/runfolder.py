"""One run folder: the settings record that decides whether earlier results may be reused.

A command that writes into a folder records its settings (``parts/settings.json`` while it runs,
``manifest.json["settings"]`` when done). A later run with other settings is refused with a
message naming every setting that differs (old and new value) unless ``overwrite`` is given,
which deletes the earlier results first. Files are written atomically (:mod:`asdgaze.io`), paths
recorded absolute.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from asdgaze.errors import OptionsError
from asdgaze.io import package_versions, write_json_atomic

PARTS = "parts"
SETTINGS = "settings.json"


def previous_settings(out_dir: Path) -> Any:
    """The settings of an earlier run in ``out_dir``: None if none, "unreadable" if damaged."""
    for f in (out_dir / PARTS / SETTINGS, out_dir / "manifest.json"):
        if f.is_file():
            try:
                data = json.loads(f.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                return "unreadable"
            return data.get("settings", "unknown") if isinstance(data, dict) else "unreadable"
    return None


def differences(old: Any, new: Any, prefix: str = "", limit: int = 6) -> list[str]:
    """``"name: old -> new"`` for each setting that differs (nested keys joined with dots).

    Example:
        >>> differences({"a": 1, "b": {"c": 2}}, {"a": 1, "b": {"c": 3}, "d": 4})
        ['b.c: 2 -> 3', 'd: (absent) -> 4']
    """
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[str] = []
        for k in list(old) + [k for k in new if k not in old]:
            name = f"{prefix}.{k}" if prefix else str(k)
            if k not in new:
                out.append(f"{name}: {_short(old[k])} -> (absent)")
            elif k not in old:
                out.append(f"{name}: (absent) -> {_short(new[k])}")
            elif old[k] != new[k]:
                out += differences(old[k], new[k], name, limit)
        return out[:limit]
    return [f"{prefix or 'settings'}: {_short(old)} -> {_short(new)}"]


def _short(v: Any) -> str:
    text = json.dumps(v, sort_keys=True, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


def prepare(out_dir: Path, settings: dict[str, Any], overwrite: bool, output_files: tuple[str, ...],
            command: str = "evaluate") -> Path:
    """Check ``out_dir`` against ``settings`` and make ``out_dir/parts``; returns the parts folder.

    Raises OptionsError naming the differing settings when the folder holds another run's results
    and ``overwrite`` is False, or when the folder is not writable.
    """
    parts = out_dir / PARTS
    previous = previous_settings(out_dir)
    if previous is not None and previous != settings:
        if not overwrite:
            diff = "; ".join(differences(previous, settings)) if isinstance(previous, dict) else str(previous)
            raise OptionsError(f"{out_dir}: holds results of another {command} run (different settings: {diff}); "
                               "use another --out folder or --overwrite")
    if previous is not None and (previous != settings or overwrite):
        shutil.rmtree(parts, ignore_errors=True)
        for name in output_files:
            (out_dir / name).unlink(missing_ok=True)
    try:
        parts.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=parts):
            pass
    except OSError as e:
        raise OptionsError(f"{out_dir}: output folder not usable ({e.strerror or e})") from e
    write_json_atomic(parts / SETTINGS, {"settings": settings})
    return parts


def versions() -> dict[str, str | None]:
    """Versions of the packages that can change a number, for the manifest."""
    return package_versions("asdgaze", "numpy", "scipy", "pandas", "POT", "pillow", "imagehash")

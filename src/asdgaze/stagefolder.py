"""One stage folder: what predict, evaluate, baselines and run share about the folder they write into.

- **Its kind.** A folder belongs to one kind of command (``evaluate``, ``predict``, ``baselines``, ``run``),
  recorded in ``.asdgaze-stage.json`` (folders of earlier versions are recognised by their files). A
  command refuses a folder of another kind, saying what it is: an evaluate into a run folder would write
  beside ``run.json`` and a later report or demo would take it for the run's own.
- **Its settings.** A run records the settings its outputs depend on before it writes them (evaluate:
  ``parts/settings.json``; predict: ``run-settings.json``) and a later run with other settings is refused,
  naming each setting that differs (old and new value), unless ``overwrite``.
- **One run at a time.** While a run works there it holds the folder (:mod:`asdgaze.folderlock`): another
  run with other settings is refused; runs with the same settings (shards) share it.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Mapping

from asdgaze.errors import OptionsError
from asdgaze.folderlock import FolderClaim
from asdgaze.io import write_json_atomic
from asdgaze.runfolder import differences

__all__ = ["StageFolder", "KINDS", "found_kind"]

MARKER = ".asdgaze-stage.json"
KINDS = ("evaluate", "predict", "baselines", "run")
#: Where each kind records its settings (relative to the folder).
SETTINGS_FILES = {"evaluate": "parts/settings.json", "predict": "run-settings.json"}


def _tool(path: Path) -> str:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    return str(data.get("tool", "")) if isinstance(data, dict) else ""


def found_kind(folder: str | Path) -> tuple[str, str] | None:
    """(kind, the file that shows it) of a folder an asdgaze command made, or None (new, or not ours)."""
    folder = Path(folder)
    marker = folder / MARKER
    if marker.is_file():
        try:
            kind = json.loads(marker.read_text(encoding="utf-8")).get("kind")
        except (OSError, ValueError, AttributeError):
            kind = None
        if kind in KINDS:
            return kind, str(marker)
    if (folder / "run.json").is_file():
        return "run", str(folder / "run.json")
    for kind, rel in SETTINGS_FILES.items():
        if (folder / rel).is_file():
            return kind, str(folder / rel)
    tool = _tool(folder / "manifest.json")
    for kind in ("evaluate", "predict", "baselines"):
        if tool.startswith(f"asdgaze {kind}"):
            return kind, str(folder / "manifest.json")
    return None


class StageFolder:
    """The output folder of one command of ``kind`` (see the module docstring)."""

    def __init__(self, path: str | Path, kind: str) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown stage kind {kind!r}")
        self.path = Path(path).expanduser().resolve()
        self.kind = kind

    @property
    def settings_file(self) -> Path:
        return self.path / SETTINGS_FILES.get(self.kind, "settings.json")

    def check_kind(self) -> None:
        """OptionsError when the folder was made by another kind of command (a run folder given to evaluate,
        an evaluate folder given to run ...)."""
        found = found_kind(self.path)
        if found is not None and found[0] != self.kind:
            kind, evidence = found
            what = "an `asdgaze run` folder" if kind == "run" else f"the output folder of `asdgaze {kind}`"
            raise OptionsError(f"{self.path}: is {what} ({evidence}), not a folder for `asdgaze {self.kind}`; use "
                               "another --out folder")

    def mark(self) -> None:
        """Record the folder's kind (first run only)."""
        marker = self.path / MARKER
        if not marker.is_file():
            write_json_atomic(marker, {"kind": self.kind, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")})

    def previous_settings(self) -> Any:
        """The settings of an earlier run here: None if none, "unreadable" if damaged."""
        candidates = [(self.settings_file, "settings" if self.kind == "evaluate" else None),
                      (self.path / "manifest.json", "settings")]
        for f, key in candidates:
            if f.is_file():
                try:
                    data = json.loads(f.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    return "unreadable"
                if not isinstance(data, dict):
                    return "unreadable"
                return data.get(key, "unknown") if key else data
        return None

    def record(self, settings: Any) -> None:
        payload = {"settings": settings} if self.kind == "evaluate" else settings
        write_json_atomic(self.settings_file, payload)

    @contextmanager
    def claim(self, settings: Any, overwrite: bool, check: Any = None) -> Iterator[FolderClaim]:
        """Hold the folder for this run (refusing another kind of folder, and another live run with other
        settings); inside the block runs ``check`` (the settings check and record) while no other run can
        check or record there. The claim lasts until the ``with`` block ends."""
        self.check_kind()
        with FolderClaim() as claim:
            with claim.hold(self.path, settings, f"{self.kind} run", overwrite):
                self.mark()
                if check is not None:
                    check(claim)
            yield claim

    def prepare(self, settings: Any, overwrite: bool, output_files: tuple[str, ...]) -> Path:
        """Evaluate's check: refuse a folder holding results of other settings (unless ``overwrite``, which
        deletes them), make ``parts/`` and record the settings; returns the parts folder."""
        parts = self.path / "parts"
        previous = self.previous_settings()
        if previous is not None and previous != settings:
            if not overwrite:
                diff = "; ".join(differences(previous, settings)) if isinstance(previous, dict) else str(previous)
                raise OptionsError(f"{self.path}: holds results of another {self.kind} run (different settings: "
                                   f"{diff}); use another --out folder or --overwrite")
        if previous is not None and (previous != settings or overwrite):
            shutil.rmtree(parts, ignore_errors=True)
            for name in output_files:
                (self.path / name).unlink(missing_ok=True)
        try:
            parts.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=parts):
                pass
        except OSError as e:
            raise OptionsError(f"{self.path}: output folder not usable ({e.strerror or e})") from e
        self.record(settings)
        return parts

    def check_outputs(self, settings: dict, overwrite: bool, has_outputs: bool,
                      labels: Mapping[str, str] | None = None) -> None:
        """Predict's check: refuse outputs made with other settings (unless ``overwrite``), and outputs
        with no record of their settings (an older version's interrupted run); record the settings."""
        old = self.previous_settings()
        old = old if isinstance(old, dict) else None
        if not overwrite:
            # a record with no outputs yet (a run that stopped before its first image) binds nothing
            if old is not None and old != settings and has_outputs:
                diff = "; ".join(differences(old, settings, labels))
                raise OptionsError(f"{self.path}: holds outputs made with other settings ({diff}); use another --out "
                                   f"folder, the same settings, or --overwrite to recompute everything")
            if old is None and has_outputs:
                raise OptionsError(f"{self.path}: holds maps but no record of the settings they were made with "
                                   f"({self.settings_file.name}); use another --out folder or --overwrite")
        if old != settings or not self.settings_file.is_file():
            self.record(settings)

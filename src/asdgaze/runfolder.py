"""The run folder of ``asdgaze run``: where each stage writes, and its done-markers.

Layout (every path relative to the run folder)::

    run.json                         settings and finished stages (the done-markers), see RunManifest
    predict/<model>/                 DeepGaze IIE: maps/<stem>.npy (log-density), maps/<stem>.png,
                                     overlays/<stem>.jpg, manifest.json
    baselines/<name>/maps/           image-only baselines: <stem>.npy (log-density)
    baselines/<name>/<group>/maps/   group-dependent baselines (fitted to that group's fixations)
    results/<model>[/<group>]/       evaluate: per_image.csv, summary.csv, summary.json, manifest.json
    compare/                         compare: group_stats.csv, group_means.csv, ... compare.json
    report/report.html               the HTML report (and the CSV of each of its tables)

A stage is marked done in ``run.json`` only after all its outputs are written; a rerun skips a
stage whose marker holds the same settings fingerprint. The fingerprint of each stage includes
the fingerprint of the stage before, so a changed upstream setting redoes everything after it.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from asdgaze.io import write_json_atomic

STAGES = ("predict", "baselines", "evaluate", "compare", "report")


def predict_dir(root: Path, model: str) -> Path:
    return root / "predict" / model


def baseline_dir(root: Path, name: str, group: str | None = None) -> Path:
    return root / "baselines" / name / group if group else root / "baselines" / name


def results_dir(root: Path) -> Path:
    return root / "results"


def compare_dir(root: Path) -> Path:
    return root / "compare"


def report_dir(root: Path) -> Path:
    return root / "report"


def fingerprint(settings: Any) -> str:
    """sha256 of the settings as canonical JSON (sorted keys; paths and other objects as text).

    >>> fingerprint({"b": 1, "a": [1, 2]}) == fingerprint({"a": [1, 2], "b": 1})
    True
    """
    text = json.dumps(settings, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


class RunManifest:
    """``run.json``: one entry per finished stage (fingerprint, settings, seconds, notes)."""

    def __init__(self, root: Path) -> None:
        self.path = Path(root) / "run.json"
        self.data: dict[str, Any] = {"tool": "asdgaze run", "stages": {}}
        if self.path.is_file():
            try:
                loaded = json.loads(self.path.read_text())
            except (OSError, ValueError):
                loaded = None  # a damaged marker file only costs a recomputation
            if isinstance(loaded, dict) and isinstance(loaded.get("stages"), dict):
                self.data = loaded

    def is_done(self, stage: str, fp: str) -> bool:
        entry = self.data["stages"].get(stage)
        return isinstance(entry, dict) and entry.get("fingerprint") == fp

    def mark_done(self, stage: str, fp: str, settings: Any, seconds: float, **extra: Any) -> None:
        """Record ``stage`` as finished; call only once every output of the stage is written."""
        self.data["stages"][stage] = {"fingerprint": fp, "settings": settings, "seconds": round(seconds, 3),
                                      "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                                      **extra}
        write_json_atomic(self.path, self.data)

    def forget(self, stage: str) -> None:
        """Drop a stage's marker before it is redone, so a kill midway never leaves a stale marker."""
        if self.data["stages"].pop(stage, None) is not None:
            write_json_atomic(self.path, self.data)

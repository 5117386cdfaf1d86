"""Run folders: the settings record of one stage's folder, and the layout of ``asdgaze run``.

One stage's folder (its kind, settings record and lock) is :mod:`asdgaze.stagefolder`'s.

**The run folder of ``asdgaze run``**: where each stage writes, and its done-markers.

Layout (every path relative to the run folder)::

    run.json                         settings and finished stages (the done-markers), see RunManifest
    predict/<model>/                 DeepGaze IIE: maps/<stem>.npy (log-density), maps/<stem>.png,
                                     overlays/<stem>.jpg, manifest.json
    results/                         evaluate (every model and baseline): per_image.csv, per_fixation.csv,
                                     summary.csv, summary.json, manifest.json, parts/
                                     (manifest-shard-K-of-N.json after ``--shard K/N``)
    compare/                         compare: group_stats.csv, group_means.csv, ... compare.json
    report/report.html               the HTML report (and the CSV of each of its tables)

**Shards** (``--shard K/N`` of predict, evaluate and run): :func:`select_shard` picks the same
images for every command; a shard never marks a stage done.

A stage is marked done in ``run.json`` only after all its outputs are written; a rerun skips a
stage whose marker holds the same settings fingerprint. The fingerprint of each stage includes
the fingerprint of the stage before, so a changed upstream setting redoes everything after it.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping, Sequence

from asdgaze.errors import OptionsError
from asdgaze.io import package_versions, write_json_atomic

STAGES = ("predict", "evaluate", "compare", "report")  # evaluate fits and scores the baselines itself


def _short(v: Any) -> str:
    """A setting's value for a message: a described file (kind, path, sha256) in words, else as JSON."""
    if isinstance(v, dict) and "kind" in v:
        text = str(v["kind"]) + (f" {v['path']}" if v.get("path") else "")
        return text + (f" (sha256 {v['sha256'][:12]})" if v.get("sha256") else "")
    text = json.dumps(v, sort_keys=True, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


def differences(old: Any, new: Any, labels: Mapping[str, str] | None = None, prefix: str = "",
                limit: int = 6) -> list[str]:
    """``"name: old -> new"`` for each setting that differs (nested keys joined with dots; ``labels``
    names top-level settings as the command line does).

    Example:
        >>> differences({"a": 1, "b": {"c": 2}}, {"a": 1, "b": {"c": 3}, "d": 4})
        ['b.c: 2 -> 3', 'd: (absent) -> 4']
    """
    labels = labels or {}
    described = any(isinstance(v, dict) and "kind" in v for v in (old, new))  # a file or prior: one value
    if isinstance(old, dict) and isinstance(new, dict) and not (prefix and described):
        out: list[str] = []
        for k in list(old) + [k for k in new if k not in old]:
            name = f"{prefix}.{k}" if prefix else labels.get(str(k), str(k))
            if k not in new:
                out.append(f"{name}: {_short(old[k])} -> (absent)")
            elif k not in old:
                out.append(f"{name}: (absent) -> {_short(new[k])}")
            elif old[k] != new[k]:
                out += differences(old[k], new[k], None, name, limit)
        return out[:limit]
    return [f"{prefix or 'settings'}: {_short(old)} -> {_short(new)}"]


def parse_shard(value: str | tuple[int, int] | None) -> tuple[int, int] | None:
    """``"K/N"`` (1 <= K <= N) -> (K, N).

    >>> parse_shard("2/3")
    (2, 3)
    """
    if value is None:
        return None
    try:
        k, n = (int(v) for v in (value.split("/") if isinstance(value, str) else value))
    except (TypeError, ValueError):
        raise OptionsError(f"--shard: expected K/N with whole numbers, e.g. 1/4, got {value!r}") from None
    if not 1 <= k <= n:
        raise OptionsError(f"--shard: expected K/N with 1 <= K <= N, got {value!r}")
    return k, n


def refuse_shard_overwrite(shard: tuple[int, int] | None, overwrite: bool, out_dir: str | Path) -> None:
    """Refuse ``--overwrite`` with ``--shard``: it deletes the outputs of every image in the folder,
    so the work of the other shards (finished, or still running) would go too."""
    if shard is not None and overwrite:
        raise OptionsError(f"--overwrite with --shard {shard[0]}/{shard[1]}: --overwrite deletes the results of "
                           f"every image in {out_dir}, the other shards' included (they may still be running); "
                           "to start over, run once without --shard with --overwrite, or give the shards a new "
                           "--out folder (the same for every shard)")


def select_shard(items: Sequence[tuple[str, Any]], shard: tuple[int, int] | None) -> list[tuple[str, Any]]:
    """Shard K of N of (stem, anything) pairs: those at positions K-1, K-1+N, ... of the stems in sorted order.

    Depends only on the set of stems, so every machine that sees the same images picks the same
    disjoint shards, and the N shards together are every image once.

    >>> [s for s, _ in select_shard([("b", 0), ("a", 0), ("c", 0)], (1, 2))]
    ['a', 'c']
    """
    if shard is None:
        return list(items)
    k, n = shard
    ordered = sorted(items, key=lambda it: it[0])
    return [it for i, it in enumerate(ordered) if i % n == k - 1]


def shard_name(shard: tuple[int, int]) -> str:
    """The manifest file of one shard (predict and evaluate name it alike)."""
    return f"manifest-shard-{shard[0]}-of-{shard[1]}.json"


def versions() -> dict[str, str | None]:
    """Versions of the packages that can change a number, for the manifest."""
    return package_versions("asdgaze", "numpy", "scipy", "pandas", "POT", "pillow", "imagehash")

def predict_dir(root: Path, model: str) -> Path:
    return root / "predict" / model


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

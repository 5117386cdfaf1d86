"""Resuming and sharding: what must match for an earlier run's finished images to be reused.

Each finished image is saved at once as ``parts/<stem>.json`` with its key (the settings' fingerprint,
the sha256 of each model's map and of the image's fixations, the models scored probabilistically); a
rerun with the same settings takes every part whose key matches and scores the rest, so the tables are
byte-identical to an uninterrupted run's. ``--shard K/N`` scores one shard's images into the same
``parts/`` and writes ``manifest-shard-K-of-N.json``; a plain run on the folder (the merge) takes every
part and, when nothing is left to score, reuses a shard's fitted plan instead of refitting.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from asdgaze.data.types import Dataset, Fixations
from asdgaze.models.base import PredictorBase, Traits

__all__ = ["settings_record", "fixation_digest", "read_part", "DescribedBaseline", "shard_files", "found_shards",
           "reusable_plan", "SHARD_GLOB"]

SHARD_GLOB = "manifest-shard-*-of-*.json"


def _jsonable(d: dict[str, Any]) -> dict[str, Any]:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in d.items()}


def settings_record(dataset: Dataset, options: Any, baseline_info: dict[str, Any],
                    models: dict[str, str] | None = None) -> dict[str, Any]:
    """What must match for a folder's earlier results to be reused (maps and fixations: per image)."""
    opts = _jsonable(asdict(options))
    opts.pop("allow_missing")  # which images are scored, not how
    opts.pop("mit1003")  # a note, not a score
    out = {"dataset": dataset.name, "options": opts, "ig_baseline": baseline_info}
    if models:
        out["maps"] = models
    return out


def fixation_digest(dataset: Dataset, groups: tuple[str, ...], stems: Any = None) -> str:
    """sha256 of the groups' fixations on ``stems`` (default: every image), problems included."""
    h = hashlib.sha256()
    for group in groups:
        for stem in (dataset.stimuli if stems is None else stems):
            f = dataset.fixations.get(group, {}).get(stem, Fixations.empty())  # a group may have only problems
            h.update(f"{group}/{stem}/{len(f)}".encode())
            problem = dataset.problem(group, stem)
            if problem is not None:  # the digest of a dataset without problems is unchanged
                h.update(f"/problem:{problem}".encode())
            for arr in (f.x, f.y, f.duration, f.viewer):
                h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()


def read_part(path: Path, key: dict[str, Any]) -> dict[str, Any] | None:
    """A finished image from an earlier run, if complete and made from the same settings, maps and fixations."""
    try:
        part = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(part, dict) or part.get("key") != key or part.get("failures"):
        return None  # other inputs, or a failure that a rerun may not repeat
    return part


class DescribedBaseline(PredictorBase):
    """A fitted baseline known by its description only (a merge reusing a shard's plan scores nothing with
    it); its traits are those the description recorded, else its registry entry's."""

    def __init__(self, description: dict[str, Any]) -> None:
        from asdgaze.models.registry import traits_of

        self.description = description
        self.name = str(description.get("name"))
        recorded = description.get("traits")
        self.traits = (Traits(**{k: bool(v) for k, v in recorded.items() if k in Traits.__dataclass_fields__})
                       if isinstance(recorded, dict) else traits_of(self.name) or Traits())

    def describe(self) -> dict[str, Any]:
        return {k: v for k, v in self.description.items() if k not in ("kind", "name", "traits")}


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # a damaged manifest only costs a refit (or a missing line in the merge's list)
    return data if isinstance(data, dict) else None


def shard_files(out_dir: Path) -> list[Path]:
    """The shard manifests in ``out_dir``, by (N, K)."""
    def order(p: Path) -> tuple[int, int]:
        parts = p.stem.split("-")  # manifest-shard-K-of-N
        try:
            return int(parts[-1]), int(parts[2])
        except (IndexError, ValueError):
            return 0, 0
    return sorted(out_dir.glob(SHARD_GLOB), key=order)


def found_shards(out_dir: Path, settings: dict[str, Any]) -> list[dict[str, Any]]:
    """What the merge's manifest says of each shard run with the same settings."""
    out = []
    for path in shard_files(out_dir):
        m = _read(path)
        if m is None or m.get("settings") != settings or not isinstance(m.get("shard"), dict):
            continue
        out.append({"file": str(path), "k": m["shard"].get("k"), "n": m["shard"].get("n"),
                    "created": m.get("created"), "images": m["shard"].get("images", []),
                    "failures": len(m.get("failures", []))})
    return out


def reusable_plan(out_dir: Path, settings: dict[str, Any], fixations_sha256: str,
                  probabilistic_models: list[str] | None = None
                  ) -> tuple[list[dict[str, Any]], dict[str, Any], str] | None:
    """(baseline model descriptions, probabilistic IG baseline, source file) of a finished run or
    shard with the same settings and fixations, or None.

    ``probabilistic_models``: the maps models scored probabilistically now (sorted names); a run or
    shard that scored other ones (a map was still a PNG then) planned otherwise and is passed over."""
    for path in [out_dir / "manifest.json", *shard_files(out_dir)]:
        m = _read(path) if path.is_file() else None
        if (m is None or m.get("settings") != settings
                or (m.get("dataset") or {}).get("fixations_sha256") != fixations_sha256
                or not isinstance(m.get("models"), list) or "prob_ig_baseline" not in m):
            continue
        prob = sorted(str(d.get("name")) for d in m["models"]
                      if isinstance(d, dict) and d.get("kind") == "maps" and d.get("probabilistic"))
        if probabilistic_models is not None and prob != sorted(probabilistic_models):
            continue
        return [d for d in m["models"] if d.get("kind") == "baseline"], m["prob_ig_baseline"], str(path)
    return None

"""Sharded evaluate: one shard's manifest, the shards a merge finds, and a finished plan reused.

``evaluate --shard K/N`` scores only shard K of the images (same rule as ``predict --shard``) into
the shared output folder's ``parts/`` and writes ``manifest-shard-K-of-N.json``; a plain
``evaluate`` on the same folder and settings (the merge) resumes every part and writes the tables.
Every shard fits the baselines on all images, so every shard's parts match a single run's.

A shard's manifest also records the plan's description (the fitted baselines, the probabilistic IG
baseline): a merge that finds every part present takes it from there instead of refitting.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SHARD_GLOB = "manifest-shard-*-of-*.json"


class DescribedBaseline:
    """A fitted baseline known by its description only: the merge scores nothing with it."""

    def __init__(self, description: dict[str, Any]) -> None:
        self.description = description

    def describe(self) -> dict[str, Any]:
        return dict(self.description)


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

"""The report's (and the terminal's) account of the group-adapted models: what of the gap generic factors explain.

It reads ``adaptation.json`` (written by evaluate with ``--adapt``; :mod:`asdgaze.analysis.adaptation`), and
makes the record again from the scores where the report compares other groups than the file's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from asdgaze.analysis.adaptation import adaptation_record, adaptation_sentences

__all__ = ["adaptation_section", "adaptation_lines", "FILE"]

FILE = "adaptation.json"


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def adaptation_section(res: Any, group_a: str, group_b: str, seed: int = 0) -> dict[str, Any] | None:
    """The section of the report's headline: ``{"title", "sentences", "file"}``, or None without adapted models.
    ``res``: the :class:`~asdgaze.analysis.results.Results` of the report."""
    record = None
    for folder in [res.root, *(res.root / name for name in res.manifests)]:
        record = _read(Path(folder) / FILE)
        if record is not None:
            break
    if record is None or record.get("groups") != [group_a, group_b]:
        models = [d for m in res.manifests.values() for d in (m.get("models") or [])]
        record = adaptation_record(res.per_image, models, group_a, group_b, seed=seed)
    sentences = converted_sentences(res) + adaptation_sentences(record)
    if not sentences:
        return None
    return {"title": "Saliency maps as densities, and what explains the gap", "sentences": sentences,
            "note": ("The adapted model (<model>+adapted) refits four generic parameters per group, cross-validated "
                     "over images: the spread (a blur of the density), the sharpness (1/temperature), the weight of "
                     "a centre bias and the share of fixations anywhere. What they explain of the gap is how the "
                     "groups look; what remains is what they look at, as far as the model misses it."),
            "file": FILE}


def converted_sentences(res: Any) -> list[str]:
    """One sentence per model converted from a saliency map (its description in the manifest)."""
    out = []
    for m in res.manifests.values():
        for d in m.get("models") or []:
            conv = d.get("converted") if isinstance(d, dict) else None
            if not isinstance(conv, dict):
                continue
            folds = conv.get("folds") or []
            sigmas = [f["params"]["sigma"] for f in folds if isinstance(f.get("params"), dict)]
            blur = f"; fitted blur {min(sigmas):.0f} to {max(sigmas):.0f} px" if sigmas else ""
            out.append(f"{d.get('name')} is a saliency map, converted to a density for its probabilistic scores "
                       f"(information gain, log-likelihood, % of ceiling): pysaliency's conversion (a blur, a monotone "
                       f"nonlinearity and a centre bias) fitted by maximum likelihood, cross-validated over "
                       f"{len(folds)} folds of images, so that no image is scored by a conversion fitted on its own "
                       f"fixations{blur}; its MIT scores are those of the map as given.")
    return out


def adaptation_lines(results_dir: str | Path) -> list[str]:
    """The sentences of ``results_dir/adaptation.json`` for the terminal (none without the file)."""
    return adaptation_sentences(_read(Path(results_dir) / FILE))

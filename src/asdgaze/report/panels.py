"""Per-image panels of the report: the images where a model fits one group worst relative to the other.

A panel shows the image, each group's fixations, the model's density on it and the difference of the two
groups' empirical densities over the image. The model is the first one with its own maps; without one (the
demo without DeepGaze IIE) the reference baseline (the fitted centre bias), fitted again on the dataset the
manifest names (the fits are deterministic, so it is the density that was scored).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from asdgaze.analysis.compare import CompareResult
from asdgaze.analysis.results import Results
from asdgaze.errors import AsdgazeError
from asdgaze.io import make_dir
from asdgaze.report import figures

__all__ = ["panels"]


def _maps_folders(res: Results) -> dict[str, tuple[str, dict]]:
    """model -> (maps folder, its manifest) for every model scored from a folder of maps."""
    out: dict[str, tuple[str, dict]] = {}
    for where, m in res.manifests.items():
        for d in m.get("models") or []:
            if isinstance(d, dict) and d.get("kind") == "maps" and d.get("folder"):
                out.setdefault(str(d["name"]), (str(d["folder"]), m))
    return out


def _dataset(manifest: dict):
    from asdgaze.data import load_dataset

    info = manifest["dataset"]
    src = info.get("source") or {}
    return load_dataset(info["root"], table=src.get("table"), coords=src.get("coords") if src.get("table") else None)


def panels(res: Results, cmp: CompareResult, out: Path, a: str, b: str, n: int) -> tuple[list[dict], str]:
    """Up to ``n`` panels per group (the images fit worst for it); returns them and a note when none."""
    from asdgaze.metrics.registry import lead_metrics
    from asdgaze.models import registry

    ranked = cmp.rankings[~cmp.rankings["is_ceiling"]]
    folders = _maps_folders(res)
    reference = next((m for m in ranked["model"].unique() if registry.is_reference(m)), None)
    model = next((m for m in ranked["model"].unique() if m in folders), reference)
    if model is None or not res.manifests:
        return [], "Per-image panels skipped: no model or reference baseline was ranked."
    r = ranked[ranked["model"] == model]
    metric = next((m.name for m in lead_metrics() if m.name in set(r["metric"])), next(iter(sorted(r["metric"])), None))
    r = r[r["metric"] == metric]
    manifest = folders[model][1] if model in folders else next(iter(res.manifests.values()))
    try:
        ds = _dataset(manifest)
        density = _density_of(model, folders, manifest, ds)
    except (KeyError, TypeError, OSError, ValueError, AsdgazeError) as e:
        return [], f"Per-image panels skipped: the dataset or maps named in manifest.json could not be read ({e})."
    from asdgaze.data.fixmaps import continuous_map
    from asdgaze.data.images import load_image

    made = []
    figs = make_dir(out / "figures")
    for worse_for in (b, a):
        for _, row in r[r["worse_for"] == worse_for].head(n).iterrows():
            stem = row["image"]
            try:
                stim = ds.stimuli[stem]
                img = load_image(stim.path)
                fa, fb = ds.fixations_for(a, stem), ds.fixations_for(b, stem)
                fig = figures.image_panel(img, density(stim, worse_for), np.c_[fa.x, fa.y], np.c_[fb.x, fb.y],
                                          continuous_map(ds, a, stem), continuous_map(ds, b, stem), (a, b),
                                          title=f"image {stem}", model=registry.label_of(model))
            except (KeyError, OSError, ValueError, AsdgazeError) as e:
                return made, f"Per-image panel for {stem} skipped: {e}"
            caption = (f"Image {stem}: {registry.label_of(model)} fits {worse_for} worse "
                       f"({figures._label(metric, row['convention'])}: {a} {row['value_a']:.3f}, {b} "
                       f"{row['value_b']:.3f}). The model's density for {worse_for}; the difference of the groups' "
                       "empirical densities over the image (PuOr: orange where the first group looked more).")
            uri = figures.save_figure(fig, figs / f"panel_{worse_for}_{stem}.png".replace("/", "%2F"), dpi=70)
            made.append({"uri": uri, "caption": caption})
    return made, "" if made else f"No image where {registry.label_of(model)} fits one group worse."


def _density_of(model: str, folders: dict[str, tuple[str, dict]], manifest: dict, ds: Any):
    """A function (stimulus, group) -> the model's density on it, as shown: its maps, or the refitted baseline."""
    from asdgaze.models import registry

    if model in folders:
        from asdgaze.models.maps import open_maps

        kind = (manifest.get("options") or {}).get("maps_kind")
        maps = open_maps(model, folders[model][0], ds, kind, allow_missing=True, allow_aspect_change=True)
        return lambda stim, group: maps.saliency_map(stim, group)
    groups = [g for g in (manifest.get("dataset") or {}).get("groups") or ds.groups if g in ds.fixations]
    pred = registry.fit(ds, (model,), groups)[model]
    return lambda stim, group: np.exp(np.asarray(pred.log_density(stim, group)))

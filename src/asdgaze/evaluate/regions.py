"""Where the groups look and where the models put their mass, per labelled region (a dataset with regions only).

For each image with regions (:mod:`asdgaze.data.regions`), each scored group and each label (the union of its
boxes; ``background``: outside every box), :func:`region_rows` gives, in ``regions.csv`` (long format,
:data:`REGION_COLUMNS`):

- ``fixation_share``: the share of the group's fixations on the image that fall in the region (every
  fixation counts, repeats included; ``n_inside`` of ``n_fixations``);
- ``area_share``: the region's pixels over the image's (the same for every group);
- ``mass``: for every density model scored on the image (maps of log-densities, the baselines; the gold
  standard with its full-group density, every viewer of the group included), the probability it puts in
  the region: the sum of exp(log p) over the region's pixels, over its sum on the image. A model scored
  as saliency maps only (MIT convention) has no density and no mass.

and, in ``region_viewers.csv`` (:data:`VIEWER_COLUMNS`), each viewer's counts, which the within-image
permutation test of :mod:`asdgaze.analysis.regions` reassigns between the groups.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from asdgaze.errors import AsdgazeError
from asdgaze.io import write_text_atomic

__all__ = ["REGION_COLUMNS", "VIEWER_COLUMNS", "REGION_FILES", "region_rows", "write_regions"]

REGION_COLUMNS = ("image", "group", "label", "measure", "model", "value", "n_inside", "n_fixations")
VIEWER_COLUMNS = ("image", "group", "viewer", "label", "n_inside", "n_fixations")
REGION_FILES = ("regions.csv", "region_viewers.csv")


def region_rows(plan: Any, stem: str, groups: tuple[str, ...], scored: set[str], cache: Any) -> dict[str, list]:
    """The region rows and per-viewer counts of image ``stem`` for ``groups`` (those with fixations) and the
    density models in ``scored`` (those with scores on this image), reusing the image's cached densities."""
    dataset = plan.dataset
    regions = dataset.regions
    if regions is None or not regions.covers(stem) or not groups:
        return {"regions": [], "region_viewers": []}
    stim = dataset.stimuli[stem]
    masks = regions.masks(stem, stim.shape)
    rows: list[list] = []
    viewers: list[list] = []
    for group in groups:
        fix = dataset.fixations_for(group, stem)
        r, c = fix.rows_cols()
        ids, which = np.unique(fix.viewer, return_inverse=True)
        per_viewer_total = np.bincount(which, minlength=len(ids))
        for label, mask in masks.items():
            inside = mask[r, c]
            n_in = int(inside.sum())
            rows.append([stem, group, label, "fixation_share", "", n_in / len(fix), n_in, len(fix)])
            rows.append([stem, group, label, "area_share", "", float(mask.sum()) / mask.size, "", ""])
            counts = np.bincount(which, weights=inside, minlength=len(ids))
            viewers += [[stem, group, int(v), label, int(k), int(n)] for v, k, n in zip(ids, counts, per_viewer_total)]
    for model in plan.models:
        if model.name not in scored or not model.traits.density:
            continue
        try:
            rows += [row for group in groups for row in _masses(model, stim, group, masks, cache)]
        except AsdgazeError:  # its failure on this image is already listed
            continue
    return {"regions": rows, "region_viewers": viewers}


def _masses(model: Any, stim: Any, group: str, masks: dict[str, np.ndarray], cache: Any) -> list[list]:
    p = np.exp(model.density(stim, group, cache).values)
    total = float(p.sum())  # a log-density sums to 1 within 1e-3: the mass is a share of the model's total
    return [[stim.id, group, label, "mass", model.name, float(p[mask].sum()) / total, "", ""]
            for label, mask in masks.items()]


def write_regions(out_dir: Path, dataset: Any, stems: list[str], results: dict[str, dict[str, Any]]
                  ) -> dict[str, Path]:
    """``regions.csv`` and ``region_viewers.csv`` of a dataset with regions; without regions, none (an earlier
    run's are removed)."""
    if dataset.regions is None:
        for name in REGION_FILES:
            (out_dir / name).unlink(missing_ok=True)
        return {}
    files = {}
    for name, key, columns in (("regions.csv", "regions", REGION_COLUMNS),
                               ("region_viewers.csv", "region_viewers", VIEWER_COLUMNS)):
        table = pd.DataFrame([row for stem in stems for row in results[stem].get(key, [])], columns=list(columns))
        files[name] = out_dir / name
        write_text_atomic(files[name], table.to_csv(index=False, float_format="%.10g"))
    return files

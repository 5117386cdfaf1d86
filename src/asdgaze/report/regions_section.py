"""The report's "Where the groups look" section: one figure, the headline sentence and the statistics table of
the regions (:mod:`asdgaze.analysis.regions`); nothing for results without ``regions.csv``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from asdgaze.analysis.regions import headline_sentence
from asdgaze.analysis.stats import MIN_IMAGES
from asdgaze.models import registry
from asdgaze.report import figures

__all__ = ["regions_section", "TABLE_NOTE"]

TABLE_NOTE = (f"Per label, over the images that have it: each group's share of fixations in the region, the region's "
              "share of the image, each model's probability mass there (the gold standard: the density of all the "
              "group's viewers), with bootstrap 95 % CIs over images; share_difference: A − B paired by image, "
              "Wilcoxon (two-sided), Holm across labels, within-image permutation test (scanpaths reassigned between "
              "the groups); mass_minus_share: a model's mass minus a group's share, Wilcoxon, Holm across the labels "
              f"of that model and group. No CI or p with fewer than {MIN_IMAGES} images.")


def regions_section(res: Any, cmp: Any, out: Path, group_a: str, group_b: str) -> dict | None:
    """The section's figure, sentence and table (``stats``: the comparison's ``cmp.regions``), or None when the
    results have no regions."""
    stats = cmp.regions
    if stats is None:
        return None
    models = list(dict.fromkeys(stats.loc[stats["statistic"] == "mass", "model"]))
    names = {m: registry.label_of(m) for m in models}
    fig = figures.regions_figure(stats, group_a, group_b, MIN_IMAGES, names)
    uri = figures.save_figure(fig, out / "figures" / "regions.png")
    n_images = res.regions["image"].nunique()
    caption = (f"Where the groups look, per labelled region ({n_images} images with regions): each group's share of "
               f"fixations (filled: {group_a} circle, {group_b} square) and each model's probability mass (hollow), "
               "in %, with bootstrap 95 % CIs over the images that have the label; grey bars: the region's share of "
               f"the image. Labels on fewer than {MIN_IMAGES} images are greyed, without CIs.")
    sentence = headline_sentence(stats, group_a, group_b)
    return {"figure": {"uri": uri, "caption": caption}, "sentence": sentence, "stats": stats, "note": TABLE_NOTE}

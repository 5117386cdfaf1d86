"""Where the groups look, per labelled region: the statistics of ``regions.csv`` (:mod:`asdgaze.evaluate.regions`).

Each label is analysed over the images that have it, paired by image like every group comparison here
(:mod:`asdgaze.analysis.stats`); ``region_stats.csv`` (:data:`STATS_COLUMNS`) has one row per label and
``statistic``:

- ``fixation_share`` (per group), ``area_share``, ``mass`` (per model; per group for a model fitted to each group):
  the mean over images with its bootstrap 95 % CI;
- ``share_difference`` (group ``A - B``): the mean over images of share(A) - share(B) (``mean_a``, ``mean_b``: the
  groups' means), its CI, the two-sided Wilcoxon p, Holm-corrected across the labels, and the within-image
  permutation test: each image's scanpaths (viewers) are reassigned between the groups, group sizes kept
  (:func:`asdgaze.analysis.permutation.permutation_test` on each fixation's 1 inside / 0 outside);
- ``mass_minus_share`` (per model and group): the mean over images of the model's mass minus the group's share
  (``mean_a``: the mass, ``mean_b``: the share), its CI and Wilcoxon p, Holm across the labels of that model
  and group: whether the model puts more (or less) of its mass on the region than the group puts fixations.

A label on fewer than :data:`asdgaze.analysis.stats.MIN_IMAGES` images gets no CI and no p. :func:`region_analysis`
gives the per-image table and the statistics of a results folder in one call; :func:`region_sentence` says the
headline in words.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from asdgaze.analysis.permutation import DEFAULT_PERMUTATIONS, FixationValues, permutation_test
from asdgaze.analysis.stats import DEFAULT_RESAMPLES, MIN_IMAGES, TOO_FEW, bootstrap_mean_ci, holm, wilcoxon_p
from asdgaze.errors import DataError

__all__ = ["STATS_COLUMNS", "RegionAnalysis", "region_stats", "region_analysis", "region_sentence",
           "headline_sentence", "results_region_stats"]

STATS_COLUMNS = ["label", "statistic", "model", "group", "n_images", "mean", "ci_low", "ci_high", "ci_method",
                 "mean_a", "mean_b", "p_wilcoxon", "p_holm", "p_permutation", "n_permutations"]


@dataclass
class RegionAnalysis:
    """A results folder's ``regions.csv`` (``per_image``), ``region_viewers.csv`` and their statistics."""

    per_image: pd.DataFrame
    viewers: pd.DataFrame | None
    stats: pd.DataFrame
    sentence: str


def _series(regions: pd.DataFrame, measure: str, model: str = "", group: str | None = None) -> pd.DataFrame:
    """(label, image) -> value of one measure; ``group`` None: one value per image (a group-free quantity)."""
    t = regions[(regions["measure"] == measure) & (regions["model"] == model)]
    if group is not None:
        t = t[t["group"] == group]
    return t.drop_duplicates(["label", "image"]).set_index(["label", "image"])["value"].astype(float)


def _row(label: str, statistic: str, values: np.ndarray, *, model: str = "", group: str = "",
         n_resamples: int, seed: int, **extra) -> dict:
    enough = len(values) >= MIN_IMAGES
    low, high, method = (bootstrap_mean_ci(values, n_resamples=n_resamples, seed=seed) if enough
                         else (math.nan, math.nan, TOO_FEW))
    row = dict(label=label, statistic=statistic, model=model, group=group, n_images=len(values),
               mean=float(values.mean()) if len(values) else math.nan, ci_low=low, ci_high=high, ci_method=method,
               mean_a=math.nan, mean_b=math.nan, p_wilcoxon=math.nan, p_holm=math.nan, p_permutation=math.nan,
               n_permutations=0)
    row.update(extra)
    return row


def _paired(x: pd.Series, y: pd.Series, label: str) -> tuple[np.ndarray, np.ndarray]:
    if label not in x.index.get_level_values(0) or label not in y.index.get_level_values(0):
        return np.zeros(0), np.zeros(0)
    j = pd.concat([x.loc[label].rename("x"), y.loc[label].rename("y")], axis=1, join="inner").sort_index()
    return j["x"].to_numpy(), j["y"].to_numpy()


def _fixation_values(viewers: pd.DataFrame, label: str) -> dict[tuple[str, str], FixationValues]:
    """Per (image, group), each fixation as 1 (in the region) or 0, with its viewer: what the permutation moves."""
    out = {}
    for (image, group), t in viewers[viewers["label"] == label].groupby(["image", "group"], sort=True):
        n, k = t["n_fixations"].to_numpy(int), t["n_inside"].to_numpy(int)
        values = np.concatenate([np.r_[np.ones(a), np.zeros(b - a)] for a, b in zip(k, n)]) if len(n) else np.zeros(0)
        out[(str(image), str(group))] = FixationValues(values, np.repeat(t["viewer"].astype(str).to_numpy(), n))
    return out


def region_stats(regions: pd.DataFrame, viewers: pd.DataFrame | None, group_a: str = "TD", group_b: str = "ASD", *,
                 group_dependent: Collection[str] | Callable[[str], bool] = (), n_resamples: int = DEFAULT_RESAMPLES,
                 n_permutations: int = DEFAULT_PERMUTATIONS, seed: int = 0) -> pd.DataFrame:
    """The statistics of ``regions`` (a ``regions.csv`` table) per label (see the module docstring).

    ``viewers``: ``region_viewers.csv`` for the permutation test (None: no permutation test);
    ``group_dependent``: the models whose prediction depends on the group (their mass is summarised per group),
    or a function saying so of a name.
    """
    dependent = group_dependent if callable(group_dependent) else set(group_dependent).__contains__
    regions = regions.copy()
    regions["model"] = regions["model"].fillna("").astype(str)
    masses = regions[regions["measure"] == "mass"]
    models = list(dict.fromkeys(masses["model"]))
    labels = sorted(set(regions["label"]) - {"background"}) + (["background"] if "background" in set(regions["label"])
                                                                 else [])
    share = {g: _series(regions, "fixation_share", group=g) for g in (group_a, group_b)}
    area = _series(regions, "area_share")
    mass = {(m, g): _series(regions, "mass", m, g) for m in models for g in (group_a, group_b)}
    kw = dict(n_resamples=n_resamples, seed=seed)
    rows = []
    for label in labels:
        for g in (group_a, group_b):
            rows.append(_row(label, "fixation_share", _values(share[g], label), group=g, **kw))
        rows.append(_row(label, "area_share", _values(area, label), **kw))
        for m in models:
            for g in ((group_a, group_b) if dependent(m) else (group_a,)):
                rows.append(_row(label, "mass", _values(mass[(m, g)], label), model=m,
                                 group=g if dependent(m) else "", **kw))
        a, b = _paired(share[group_a], share[group_b], label)
        perm = _permuted(viewers, label, len(a), group_a, group_b, n_permutations, seed)
        rows.append(_row(label, "share_difference", a - b, group=f"{group_a} - {group_b}", mean_a=_mean(a),
                         mean_b=_mean(b), p_wilcoxon=_p(a, b), **perm, **kw))
        for m in models:
            for g in (group_a, group_b):
                x, s = _paired(mass[(m, g)], share[g], label)
                rows.append(_row(label, "mass_minus_share", x - s, model=m, group=g, mean_a=_mean(x),
                                 mean_b=_mean(s), p_wilcoxon=_p(x, s), **kw))
    out = pd.DataFrame(rows, columns=STATS_COLUMNS)
    for _, idx in out[out["statistic"].isin(["share_difference", "mass_minus_share"])].groupby(
            ["statistic", "model", "group"]).groups.items():
        out.loc[idx, "p_holm"] = holm(out.loc[idx, "p_wilcoxon"])
    return out


def _values(s: pd.Series, label: str) -> np.ndarray:
    return s.loc[label].sort_index().to_numpy(dtype=float) if label in s.index.get_level_values(0) else np.zeros(0)


def _mean(x: np.ndarray) -> float:
    return float(x.mean()) if len(x) else math.nan


def _p(x: np.ndarray, y: np.ndarray) -> float:
    return wilcoxon_p(x, y) if len(x) >= MIN_IMAGES else math.nan


def _permuted(viewers: pd.DataFrame | None, label: str, n_images: int, group_a: str, group_b: str,
              n_permutations: int, seed: int) -> dict:
    """p_permutation and n_permutations of the share difference (none without viewers or with too few images)."""
    if viewers is None or n_images < MIN_IMAGES:
        return {}
    r = permutation_test(_fixation_values(viewers, label), group_a, group_b, n_permutations=n_permutations,
                         seed=seed)
    return {"p_permutation": r.p_value, "n_permutations": r.n_permutations}


def results_region_stats(res, group_a: str, group_b: str, *, n_resamples: int = DEFAULT_RESAMPLES,
                         n_permutations: int = DEFAULT_PERMUTATIONS, seed: int = 0) -> pd.DataFrame | None:
    """:func:`region_stats` of a loaded results folder (:class:`asdgaze.analysis.results.Results`), None
    when it has no ``regions.csv`` (a dataset without regions) or not both groups."""
    if res.regions is None or not {group_a, group_b} <= set(res.regions["group"]):
        return None
    return region_stats(res.regions, res.region_viewers, group_a, group_b,
                        group_dependent=lambda m: res.traits(m).group_dependent, n_resamples=n_resamples,
                        n_permutations=n_permutations, seed=seed)


def region_analysis(results, group_a: str = "TD", group_b: str = "ASD", *, n_resamples: int = DEFAULT_RESAMPLES,
                    n_permutations: int = DEFAULT_PERMUTATIONS, seed: int = 0) -> RegionAnalysis:
    """Both tables of a results folder (or loaded :class:`~asdgaze.analysis.results.Results`): ``regions.csv``
    and its statistics, with the headline sentence. DataError when the folder has no region rows."""
    from asdgaze.analysis.results import Results, load_results
    from asdgaze.models import registry

    res = results if isinstance(results, Results) else load_results(Path(results))
    stats = results_region_stats(res, group_a, group_b, n_resamples=n_resamples, n_permutations=n_permutations,
                                 seed=seed)
    if stats is None:
        raise DataError(f"{res.root}: no regions.csv with groups {group_a} and {group_b} (evaluate writes it for a "
                        "dataset with regions: Saliency4ASD's AdditionalData/ImageAnnotations.csv, or --regions FILE)")
    models = list(dict.fromkeys(res.regions.loc[res.regions["measure"] == "mass", "model"]))
    return RegionAnalysis(res.regions, res.region_viewers, stats,
                          region_sentence(stats, group_a, group_b, subjects_of(models, registry)))


def headline_sentence(stats: pd.DataFrame, group_a: str, group_b: str) -> str:
    """The headline's region sentence for the statistics ``stats`` (region_stats.csv), about the models scored
    there (:func:`subjects_of`)."""
    from asdgaze.models import registry

    models = list(dict.fromkeys(stats.loc[stats["statistic"] == "mass", "model"]))
    return region_sentence(stats, group_a, group_b, subjects_of(models, registry))


def subjects_of(models: list[str], registry) -> list[tuple[str, str]]:
    """(name, label) of the models a sentence speaks of: those that are no baseline, else the reference (the
    fitted centre bias)."""
    own = [(m, m) for m in models if registry.traits_of(m) is None]
    return own or [(m, f"the {registry.label_of(m)}") for m in models if registry.is_reference(m)]


def _supported(r) -> bool:
    """The CI excludes 0 and the Holm-corrected p is below 0.05 (with enough images for both)."""
    return (r["n_images"] >= MIN_IMAGES and math.isfinite(r["ci_low"]) and math.isfinite(r["ci_high"])
            and not (r["ci_low"] <= 0 <= r["ci_high"]) and r["p_holm"] < 0.05)


def _pct(v: float) -> str:
    return f"{100 * v:.0f} %" if math.isfinite(v) else "n/a"


def _pts(v: float) -> str:
    return f"{100 * v:+.1f}" if math.isfinite(v) else "n/a"


def _pval(p: float) -> str:
    return "n/a" if not math.isfinite(p) else "< 0.001" if p < 0.001 else f"= {p:.3f}"


def region_sentence(stats: pd.DataFrame, group_a: str, group_b: str, subjects: list[tuple[str, str]]) -> str:
    """One sentence: the label with the largest group difference the statistics support, and where each of
    ``subjects`` ((model, label)) puts its mass there against each group's share; or why there is none."""
    diffs = stats[stats["statistic"] == "share_difference"]
    tested = diffs[diffs["n_images"] >= MIN_IMAGES]
    if tested.empty:
        return (f"Regions: no label is on {MIN_IMAGES} or more images, so no difference in where the groups look is "
                "tested.")
    supported = tested[[_supported(r) for _, r in tested.iterrows()]]
    if supported.empty:
        top = tested.loc[tested["mean"].abs().idxmax()]
        return (f"Regions: on none of the {len(tested)} labels with {MIN_IMAGES} or more images does the share of "
                f"fixations differ between {group_a} and {group_b} as far as the statistics show (largest: "
                f"{top['label']}, {group_a} − {group_b} {_pts(top['mean'])} points, 95 % CI {_pts(top['ci_low'])} to "
                f"{_pts(top['ci_high'])}, Holm p {_pval(top['p_holm'])}).")
    top = supported.loc[supported["mean"].abs().idxmax()]
    label = top["label"]
    text = (f"Regions: {label} (on {top['n_images']} images) holds {_pct(top['mean_a'])} of the {group_a} fixations "
            f"and {_pct(top['mean_b'])} of the {group_b} fixations: {group_a} − {group_b} {_pts(top['mean'])} points "
            f"(95 % CI {_pts(top['ci_low'])} to {_pts(top['ci_high'])}; Wilcoxon p {_pval(top['p_holm'])}, "
            f"Holm-corrected; permutation p {_pval(top['p_permutation'])}).")
    for model, name in subjects:
        parts = []
        for g in (group_a, group_b):
            r = stats[(stats["statistic"] == "mass_minus_share") & (stats["label"] == label)
                      & (stats["model"] == model) & (stats["group"] == g)]
            if r.empty:
                continue
            r = r.iloc[0]
            where = (("more than" if r["mean"] > 0 else "less than") if _supported(r) else "not distinguishable from")
            parts.append((r["mean_a"], g, f"{where} the {g} share ({_pts(r['mean'])} points, 95 % CI "
                                       f"{_pts(r['ci_low'])} to {_pts(r['ci_high'])})"))
        if parts:
            masses = [_pct(m) for m, _, _ in parts]
            mass = masses[0] if len(set(masses)) == 1 else " and ".join(f"{m} ({g})" for m, (_, g, _) in
                                                                         zip(masses, parts))
            text += f" {name[:1].upper() + name[1:]} puts {mass} of its mass there: {' and '.join(p for *_, p in parts)}."
    return text

"""``asdgaze compare``: every group comparison of one results folder, written as CSV files.

Outputs (in ``out``): group_stats.csv, group_means.csv, paired_differences.csv,
image_rankings.csv, participant_stats.csv (only when the results carry per_participant.csv),
region_stats.csv (only with regions.csv, :mod:`asdgaze.analysis.regions`),
compare.json (groups, seeds, resamples, permutations and what was permuted).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from asdgaze.analysis.headline import Headline, headline
from asdgaze.analysis.participants import participant_stats
from asdgaze.analysis.permutation import DEFAULT_PERMUTATIONS, PerFixation, per_fixation_from_table, permutation_test
from asdgaze.analysis.rankings import image_rankings
from asdgaze.analysis.regions import headline_sentence, results_region_stats
from asdgaze.analysis.results import Results, load_results
from asdgaze.analysis.stats import DEFAULT_RESAMPLES, group_means, group_stats, paired_differences
from asdgaze.io import make_dir, write_json_atomic, write_text_atomic
from asdgaze.metrics.registry import find
from asdgaze.models.registry import traits_of

EXCHANGEABILITY = (
    "Images are the replicates of the paired tests (bootstrap CI, Wilcoxon): the two groups' scores on one image "
    "form a pair. In the permutation test only scanpaths within one image are exchangeable: the data carry no "
    "child ids across images (in Saliency4ASD the k-th viewer of one image need not be the k-th viewer of "
    "another), so group labels are shuffled within each image, keeping group sizes, never across images.")


@dataclass(frozen=True)
class CompareOptions:
    group_a: str = "TD"
    group_b: str = "ASD"
    n_resamples: int = DEFAULT_RESAMPLES
    n_permutations: int = DEFAULT_PERMUTATIONS
    seed: int = 0
    top: int = 5


@dataclass
class CompareResult:
    group_stats: pd.DataFrame
    group_means: pd.DataFrame
    paired: pd.DataFrame
    rankings: pd.DataFrame
    participants: pd.DataFrame | None
    files: dict[str, Path] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    headline: Headline | None = None  # the answer first (asdgaze.analysis.headline)
    regions: pd.DataFrame | None = None  # region_stats.csv (asdgaze.analysis.regions), with regions.csv only


def group_headline(res: Results, a: str, b: str, options: CompareOptions, regions: pd.DataFrame | None) -> Headline:
    """The comparison's headline (:mod:`asdgaze.analysis.headline`), ending with where the groups look when
    there are regions (``regions``: region_stats.csv)."""
    h = headline(res, a, b, n_resamples=options.n_resamples, seed=options.seed)
    if regions is not None:
        h.sentences.append(headline_sentence(regions, a, b))
    return h


def compare(results: Results | str | Path, out: str | Path | None = None, options: CompareOptions = CompareOptions(),
            per_fixation: Mapping[tuple[str, str, str], PerFixation] | None = None) -> CompareResult:
    """Run the image-level (and, where possible, participant-level) comparison of two groups.

    Args:
        results: a loaded :class:`Results` or a results folder.
        out: folder for the CSV files (None: write nothing).
        options: groups (differences are ``group_a - group_b``), seeds, resamples, permutations.
        per_fixation: (model, convention, metric) -> :data:`PerFixation` for the permutation
            test; default: the results' per_fixation.csv if any. Only fixation-average metrics
            are permuted.
    """
    res = results if isinstance(results, Results) else load_results(results)
    a, b = options.group_a, options.group_b
    if per_fixation is None and res.per_fixation is not None:
        per_fixation = per_fixation_from_table(res.per_fixation)
    perms, notes = _permutations(res, per_fixation or {}, options)
    stats_df = group_stats(res.per_image, a, b, n_resamples=options.n_resamples, seed=options.seed, permutations=perms)
    ceiling = res.ceiling_models()
    stats_df["is_ceiling"] = stats_df["model"].isin(ceiling)  # the gold standard: a noise ceiling
    stats_df["direction"] = [_direction(m, c) for m, c in zip(stats_df["metric"], stats_df["convention"])]
    means = group_means(res.per_image, [a, b], n_resamples=options.n_resamples, seed=options.seed)
    paired = paired_differences(res.per_image, a, b)
    rankings = image_rankings(paired, a, b, top=options.top, ceiling=ceiling)
    participants = None
    if res.per_participant is not None:
        participants = participant_stats(res.per_participant, a, b, n_resamples=options.n_resamples,
                                         seed=options.seed)
    regions = results_region_stats(res, a, b, n_resamples=options.n_resamples,
                                   n_permutations=options.n_permutations, seed=options.seed)
    result = CompareResult(stats_df, means, paired, rankings, participants, notes=notes,
                           headline=group_headline(res, a, b, options, regions), regions=regions)
    if out is not None:
        out = make_dir(out)
        tables = {"group_stats": stats_df, "group_means": means, "paired_differences": paired,
                  "image_rankings": rankings}
        if participants is not None:
            tables["participant_stats"] = participants
        if result.regions is not None:
            tables["region_stats"] = result.regions
        for name, df in tables.items():
            path = out / f"{name}.csv"
            write_text_atomic(path, df.to_csv(index=False))
            result.files[name] = path
        meta = {"results": str(res.root), "options": asdict(options), "difference": f"{a} - {b}",
                "bootstrap": "scipy.stats.bootstrap over images, BCa (percentile where BCa is undefined)",
                "wilcoxon": "scipy.stats.wilcoxon, two-sided, default method; Holm across metrics per model and "
                            "convention (statsmodels)",
                "exchangeability": EXCHANGEABILITY, "notes": notes,
                "participant_level": participants is not None, "headline": result.headline.to_dict()}
        write_json_atomic(out / "compare.json", meta)
        result.files["compare.json"] = out / "compare.json"
    return result


def _direction(metric: str, convention: str) -> str:
    """The metric's direction from the registry ("" for a name it does not know)."""
    spec = find(metric, convention)
    return spec.direction if spec is not None else ""


def _permutations(res: Results, per_fixation: Mapping[tuple[str, str, str], PerFixation], options: CompareOptions
                  ) -> tuple[dict[tuple[str, str, str], tuple[float, int]], list[str]]:
    """The permutation test of every (model, convention, metric) whose relabelling is its null, and notes
    saying why the others are not permuted. The rules are read from the model's traits (a model fitted to
    each group's own fixations changes its prediction when scanpaths change group) and from the metric
    registry (a metric is permutable when re-averaging its per-fixation values is the null); a metric
    scored against a baseline fitted to each group (the probabilistic IG's default) changes through its
    baseline too."""
    perms: dict[tuple[str, str, str], tuple[float, int]] = {}
    why: dict[str, list[str]] = {}
    fitted_base: set[tuple[str, str, str]] = set()
    if "baseline" in res.per_image.columns:
        pi = res.per_image
        names = pi["baseline"].fillna("").astype(str)
        dependent = {n for n in names.unique() if n and (traits_of(n) or res.traits(n)).group_dependent}
        hit = pi[names.isin(dependent)]
        fitted_base = set(zip(hit["model"], hit["convention"], hit["metric"]))
    for key, mapping in sorted(per_fixation.items()):
        model, convention, metric = key
        spec = find(metric, convention)
        if res.traits(model).group_dependent:
            reason = ("fitted to each group's own fixations, its prediction changes when scanpaths change group")
            why.setdefault(reason, []).append(model)
            continue
        if key in fitted_base:
            why.setdefault("scored against a baseline fitted to each group's own fixations, which changes when "
                           "scanpaths change group", []).append(f"{model} {metric}")
            continue
        if spec is None or not spec.permutable:
            reason = spec.not_permuted if spec is not None else "not a metric of the registry"
            why.setdefault(reason, []).append(f"{model} {metric}")
            continue
        r = permutation_test(mapping, options.group_a, options.group_b, n_permutations=options.n_permutations,
                             seed=options.seed)
        perms[key] = (r.p_value, r.n_permutations)
    notes = [f"Permutation test: not done for {', '.join(dict.fromkeys(items))}: {reason}; p_permutation is empty."
             for reason, items in why.items()]
    if not perms:
        notes.append("Permutation test: no per-fixation values in these results that it applies to, so "
                     "p_permutation is empty; map metrics (CC, KL, SIM, EMD, AUC-Borji, shuffled AUC) are never "
                     "permuted.")
    else:
        done = sorted({k[2] for k in perms})
        notes.append(f"Permutation test ({options.n_permutations} permutations, seed {options.seed}) for "
                     f"{', '.join(done)}; the map metrics are not permuted (n_permutations 0).")
    return perms, notes

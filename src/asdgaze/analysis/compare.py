"""``asdgaze compare``: every group comparison of one results folder, written as CSV files.

Outputs (in ``out``): group_stats.csv, group_means.csv, paired_differences.csv,
image_rankings.csv, participant_stats.csv (only when the results carry per_participant.csv),
compare.json (groups, seeds, resamples, permutations and what was permuted).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from asdgaze.analysis.participants import participant_stats
from asdgaze.analysis.permutation import (DEFAULT_PERMUTATIONS, FIXATION_AVERAGE_METRICS, PerFixation,
                                          per_fixation_from_table, permutation_test)
from asdgaze.analysis.rankings import CEILING_MODELS, image_rankings
from asdgaze.analysis.results import Results, load_results
from asdgaze.analysis.stats import DEFAULT_RESAMPLES, group_means, group_stats, paired_differences
from asdgaze.io import make_dir, write_json_atomic, write_text_atomic

EXCHANGEABILITY = (
    "Images are the replicates of the paired tests (bootstrap CI, Wilcoxon): the two groups' scores on one image "
    "form a pair. In the permutation test only scanpaths within one image are exchangeable: the data carry no "
    "child ids across images (in Saliency4ASD the k-th viewer of one image need not be the k-th viewer of "
    "another), so group labels are shuffled within each image, keeping group sizes, never across images.")


#: Baselines fitted to each group's own fixations: relabelling scanpaths would change the prediction
#: itself, so re-averaging their per-fixation values is not a permutation test; they are not permuted.
GROUP_FITTED = ("centerbias", "gold-standard", "other-group")


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
    notes: list[str] = []
    if per_fixation is None and res.per_fixation is not None:
        per_fixation = per_fixation_from_table(res.per_fixation)
    perms: dict[tuple[str, str, str], tuple[float, int]] = {}
    not_averages: list[str] = []
    skipped = sorted({k[0] for k in (per_fixation or {}) if k[0] in GROUP_FITTED})
    if skipped:
        notes.append(f"Permutation test: not done for {', '.join(skipped)}: fitted to each group's own fixations, "
                     "their predictions change when scanpaths change group, so p_permutation is empty for them.")
    # A metric scored against a group-fitted baseline (the probabilistic IG's default) changes with the
    # labels through its baseline too: not a permutation test either.
    fitted_base = set()
    if "baseline" in res.per_image.columns:
        pi = res.per_image
        hit = pi[pi["baseline"].fillna("").astype(str).isin(GROUP_FITTED)]
        fitted_base = set(zip(hit["model"], hit["convention"], hit["metric"]))
    against_fitted = sorted(f"{k[0]} {k[2]}" for k in (per_fixation or {})
                            if k in fitted_base and k[0] not in GROUP_FITTED)
    if against_fitted:
        notes.append("Permutation test: not done for " + ", ".join(against_fitted) + ": scored against a baseline "
                     "fitted to each group's own fixations, which changes when scanpaths change group.")
    for key, mapping in sorted((per_fixation or {}).items()):
        if key[0] in GROUP_FITTED or key in fitted_base:
            continue
        if key[2] not in FIXATION_AVERAGE_METRICS:
            not_averages.append(f"{key[0]} {key[2]}")
            continue
        r = permutation_test(mapping, a, b, n_permutations=options.n_permutations, seed=options.seed)
        perms[key] = (r.p_value, r.n_permutations)
    if not_averages:  # one note, not one per model
        notes.append("Per-fixation values given but not a fixation average, so not permuted: "
                     + ", ".join(not_averages) + ".")
    if not perms:
        notes.append("Permutation test: no per-fixation values in these results, so p_permutation is empty; "
                     "map metrics (CC, KL, SIM, EMD, AUC-Borji, shuffled AUC) are never permuted.")
    else:
        done = sorted({k[2] for k in perms})
        notes.append(f"Permutation test ({options.n_permutations} permutations, seed {options.seed}) for "
                     f"{', '.join(done)}; the map metrics are not permuted (n_permutations 0).")
    stats_df = group_stats(res.per_image, a, b, n_resamples=options.n_resamples, seed=options.seed, permutations=perms)
    stats_df["is_ceiling"] = stats_df["model"].isin(CEILING_MODELS)  # the gold standard: a noise ceiling
    means = group_means(res.per_image, [a, b], n_resamples=options.n_resamples, seed=options.seed)
    paired = paired_differences(res.per_image, a, b)
    rankings = image_rankings(paired, a, b, top=options.top)
    participants = None
    if res.per_participant is not None:
        participants = participant_stats(res.per_participant, a, b, n_resamples=options.n_resamples,
                                         seed=options.seed)
    result = CompareResult(stats_df, means, paired, rankings, participants, notes=notes)
    if out is not None:
        out = make_dir(out)
        tables = {"group_stats": stats_df, "group_means": means, "paired_differences": paired,
                  "image_rankings": rankings}
        if participants is not None:
            tables["participant_stats"] = participants
        for name, df in tables.items():
            path = out / f"{name}.csv"
            write_text_atomic(path, df.to_csv(index=False))
            result.files[name] = path
        meta = {"results": str(res.root), "options": asdict(options), "difference": f"{a} - {b}",
                "bootstrap": "scipy.stats.bootstrap over images, BCa (percentile where BCa is undefined)",
                "wilcoxon": "scipy.stats.wilcoxon, two-sided, default method; Holm across metrics per model and "
                            "convention (statsmodels)",
                "exchangeability": EXCHANGEABILITY, "notes": notes,
                "participant_level": participants is not None}
        write_json_atomic(out / "compare.json", meta)
        result.files["compare.json"] = out / "compare.json"
    return result

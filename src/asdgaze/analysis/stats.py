"""Paired group comparison per image: bootstrap CI, Wilcoxon, Holm, effect sizes.

The unit of analysis is the image: Saliency4ASD has no child ids across images, so the two
groups' scores on one image form a pair and images are the independent replicates. The
difference is always ``group_a - group_b`` (default TD - ASD); nothing here knows which group is
which. scipy.stats does the statistics; statsmodels does the Holm correction.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

from asdgaze.errors import OptionsError

KEYS = ["model", "convention", "metric", "baseline"]
GROUP_STATS_COLUMNS = ["model", "convention", "metric", "baseline", "group_a", "group_b", "n", "mean_a", "mean_b",
                       "mean_diff", "ci_low", "ci_high", "ci_method", "p_wilcoxon", "p_holm", "rank_biserial", "d_z",
                       "p_permutation", "n_permutations"]
DEFAULT_RESAMPLES = 10_000
#: Fewest images a CI or a p-value is given for: with 5 or fewer pairs the smallest two-sided Wilcoxon
#: p is 0.0625, so no difference could ever be shown, and a bootstrap over so few values is no interval.
MIN_IMAGES = 6
TOO_FEW = f"none: fewer than {MIN_IMAGES} images"


def paired_differences(per_image: pd.DataFrame, group_a: str = "TD", group_b: str = "ASD") -> pd.DataFrame:
    """One row per (model, convention, metric, baseline, image) scored finitely for both groups.

    Columns: the keys, image, value_a, value_b, diff (= value_a - value_b).

    Example:
        >>> df = pd.DataFrame({"model": "m", "convention": "mit", "metric": "nss", "baseline": "",
        ...                    "image": ["1", "1", "2", "2"], "group": ["TD", "ASD"] * 2,
        ...                    "value": [2.0, 1.5, 1.0, np.nan]})
        >>> paired_differences(df)[["image", "diff"]].to_dict("records")
        [{'image': '1', 'diff': 0.5}]
    """
    groups = set(per_image["group"])
    for g in (group_a, group_b):
        if g not in groups:
            raise OptionsError(f"group {g!r} not in the results (groups: {', '.join(sorted(groups))})")
    if group_a == group_b:
        raise OptionsError(f"the two groups must differ, got {group_a!r} twice")
    cols = KEYS + ["image"]
    a = per_image[per_image["group"] == group_a][cols + ["value"]].rename(columns={"value": "value_a"})
    b = per_image[per_image["group"] == group_b][cols + ["value"]].rename(columns={"value": "value_b"})
    for name, t in ((group_a, a), (group_b, b)):
        dup = t.duplicated(cols)
        if dup.any():
            raise OptionsError(f"per_image.csv: group {name} has {int(dup.sum())} duplicate row(s) for one "
                               f"model, convention, metric, baseline and image, e.g. {t[dup].iloc[0][cols].to_dict()}")
    m = a.merge(b, on=cols, how="inner")
    m = m[np.isfinite(m["value_a"]) & np.isfinite(m["value_b"])].copy()
    m["diff"] = m["value_a"] - m["value_b"]
    return m.sort_values(cols, kind="stable").reset_index(drop=True)


def rank_biserial(diff: np.ndarray) -> float:
    """Matched-pairs rank-biserial correlation (Kerby 2014): (R+ - R-) / (R+ + R-).

    Ranks of |d| over the non-zero differences (zeros dropped, as Wilcoxon's default), ties
    averaged; +1 when every difference is positive, -1 when every one is negative.

    Example:
        >>> rank_biserial(np.array([1.0, 2.0, -0.5]))
        0.6666666666666666
    """
    d = np.asarray(diff, dtype=float)
    d = d[d != 0]
    if d.size == 0:
        return float("nan")
    ranks = stats.rankdata(np.abs(d))
    r_plus, r_minus = ranks[d > 0].sum(), ranks[d < 0].sum()
    return float((r_plus - r_minus) / (r_plus + r_minus))


def cohens_dz(diff: np.ndarray) -> float:
    """Cohen's d_z: mean of the paired differences over their SD (n - 1); NaN if undefined."""
    d = np.asarray(diff, dtype=float)
    if d.size < 2:
        return float("nan")
    sd = d.std(ddof=1)
    return float(d.mean() / sd) if sd > 0 else float("nan")


def bootstrap_mean_ci(x: np.ndarray, *, n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0,
                      confidence: float = 0.95) -> tuple[float, float, str]:
    """95% bootstrap CI of the mean of ``x`` (scipy.stats.bootstrap): BCa, else percentile.

    BCa is undefined when every resample has the same mean (e.g. constant data) or n < 2;
    then the percentile interval is used if it is finite, else (NaN, NaN). Returns
    (low, high, method).
    """
    x = np.asarray(x, dtype=float)
    if x.size < 2:
        return float("nan"), float("nan"), "none"
    if np.all(x == x[0]):  # every resample is the same: the interval is that value
        return float(x[0]), float(x[0]), "constant"
    for method in ("BCa", "percentile"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # DegenerateDataWarning: handled by the NaN check
            res = stats.bootstrap((x,), np.mean, n_resamples=n_resamples, confidence_level=confidence,
                                  method=method, rng=np.random.default_rng(seed), vectorized=True)
        low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
        if np.isfinite(low) and np.isfinite(high):
            return low, high, method
    return float("nan"), float("nan"), "none"


def wilcoxon_p(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided p of scipy.stats.wilcoxon(a, b) with its default method; NaN when undefined."""
    if len(a) < 1 or np.all(np.asarray(a) == np.asarray(b)):
        return float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return float(stats.wilcoxon(a, b).pvalue)
        except ValueError:
            return float("nan")


def holm(p: pd.Series) -> pd.Series:
    """Holm-adjusted p values (statsmodels multipletests); NaN entries stay NaN and are not counted."""
    out = pd.Series(np.nan, index=p.index, dtype=float)
    ok = p.notna()
    if ok.any():
        out[ok] = multipletests(p[ok].to_numpy(dtype=float), method="holm")[1]
    return out


def group_stats(per_image: pd.DataFrame, group_a: str = "TD", group_b: str = "ASD", *,
                n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0,
                permutations: Mapping[tuple[str, str, str], tuple[float, int]] | None = None,
                only: Callable[[tuple], bool] | None = None) -> pd.DataFrame:
    """Per (model, convention, metric, baseline): means, mean difference a - b, CI and tests.

    Args:
        per_image: long table of the per_image.csv contract (see :mod:`asdgaze.analysis.results`).
        group_a, group_b: group names; differences are ``group_a - group_b``.
        n_resamples: bootstrap resamples (at least 10,000 for a report).
        seed: seed of the bootstrap (the same for every row, so each row is reproducible alone).
        permutations: (model, convention, metric) -> (p, n_permutations) from
            :func:`asdgaze.analysis.permutation.permutation_test`; other rows get NaN and 0.
        only: keep only the rows whose key (model, convention, metric, baseline) it accepts; the Holm
            correction still runs over every metric of the model and convention (the same p_holm as the
            whole table), and only the kept rows are bootstrapped.

    Holm's correction runs across the metrics of one (model, convention): the family is the set of
    metrics a reader looks at for one model, whatever baseline each metric used.
    """
    paired = paired_differences(per_image, group_a, group_b)
    grouped = dict(list(paired.groupby(KEYS, sort=True)))
    # Keep a row (n = 0) for every key scored at all: a metric undefined on every image is reported, not dropped.
    all_keys = sorted(set(per_image[per_image["group"].isin([group_a, group_b])][KEYS].itertuples(index=False,
                                                                                                   name=None)))
    empty = paired.iloc[:0]
    rows = []
    for key in all_keys:
        t = grouped.get(key, empty)
        d = t["diff"].to_numpy()
        enough = len(d) >= MIN_IMAGES
        kept = only is None or only(key)
        low, high, method = (bootstrap_mean_ci(d, n_resamples=n_resamples, seed=seed) if enough and kept
                             else (np.nan, np.nan, TOO_FEW if kept else "not computed"))
        p_perm, n_perm = (permutations or {}).get(key[:3], (float("nan"), 0))
        rows.append(dict(zip(KEYS, key), group_a=group_a, group_b=group_b, n=len(d),
                         mean_a=t["value_a"].mean(), mean_b=t["value_b"].mean(),
                         mean_diff=d.mean() if len(d) else np.nan,
                         ci_low=low, ci_high=high, ci_method=method,
                         p_wilcoxon=wilcoxon_p(t["value_a"].to_numpy(), t["value_b"].to_numpy()) if enough else np.nan,
                         p_holm=np.nan, rank_biserial=rank_biserial(d), d_z=cohens_dz(d),
                         p_permutation=p_perm, n_permutations=int(n_perm)))
    out = pd.DataFrame(rows, columns=GROUP_STATS_COLUMNS)
    for _, idx in out.groupby(["model", "convention"]).groups.items():
        out.loc[idx, "p_holm"] = holm(out.loc[idx, "p_wilcoxon"])
    if only is not None:
        out = out[[only(k) for k in out[KEYS].itertuples(index=False, name=None)]].reset_index(drop=True)
    return out


def group_means(per_image: pd.DataFrame, groups: list[str] | None = None, *,
                n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> pd.DataFrame:
    """Mean and bootstrap CI over images of each group's score, per model, convention and metric."""
    rows = []
    df = per_image if groups is None else per_image[per_image["group"].isin(groups)]
    for key, t in df.groupby(KEYS + ["group"], sort=True):
        v = t["value"].to_numpy(dtype=float)
        v = v[np.isfinite(v)]
        low, high, method = (bootstrap_mean_ci(v, n_resamples=n_resamples, seed=seed) if len(v) >= MIN_IMAGES
                             else (np.nan, np.nan, TOO_FEW))
        rows.append(dict(zip(KEYS + ["group"], key), n=len(v), mean=v.mean() if len(v) else np.nan,
                         ci_low=low, ci_high=high, ci_method=method))
    return pd.DataFrame(rows, columns=KEYS + ["group", "n", "mean", "ci_low", "ci_high", "ci_method"])

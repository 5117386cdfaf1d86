"""Participant-level analysis, for data whose participant ids are consistent across images.

Saliency4ASD has no such ids and stays image-level. Lab datasets often have them (a fixation
table with a ``participant`` column); then the groups are *between-participant* and the right
replicate for a group difference is the participant, not the image.

Choice: a participant-level bootstrap rather than a mixed model. Each participant's score is
the mean over the images they saw of (their score - that image's mean over all participants),
plus the grand mean: centring on the image removes image difficulty, so participants who saw
different image subsets stay comparable (the role of the image random effect), and the
participant is then the resampled unit (the role of the participant random effect). The group
difference gets a two-sample BCa bootstrap CI (scipy.stats.bootstrap, resampling participants
within each group) and a Mann-Whitney U p (scipy.stats.mannwhitneyu). Why not statsmodels'
MixedLM: crossed random effects are only expressible there as variance components within one
all-encompassing group, fits of bounded scores with ~10-30 participants per group often fail to
converge or sit on the boundary, and its Wald p assumes normal residuals; the bootstrap needs
none of this and matches the image-level analysis' nonparametric approach.

Input: a long table with columns participant, group, image, metric, value (and optionally
model, convention, baseline), one score per participant and image (``per_participant.csv``).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats

from asdgaze.analysis.stats import DEFAULT_RESAMPLES, holm
from asdgaze.errors import OptionsError

PARTICIPANT_COLUMNS = ["model", "convention", "metric", "baseline", "group_a", "group_b", "n_a", "n_b", "mean_a",
                       "mean_b", "mean_diff", "ci_low", "ci_high", "p_mannwhitney", "p_holm"]


def participant_scores(table: pd.DataFrame) -> pd.DataFrame:
    """One image-centred score per (model, convention, metric, baseline, participant, group).

    Example:
        >>> t = pd.DataFrame({"participant": ["p1", "p1", "p2", "p2"], "group": ["A", "A", "B", "B"],
        ...                   "image": ["1", "2", "1", "2"], "metric": "nss", "value": [3.0, 1.0, 1.0, 1.0]})
        >>> participant_scores(t)[["participant", "score"]].to_dict("records")
        [{'participant': 'p1', 'score': 2.0}, {'participant': 'p2', 'score': 1.0}]
    """
    need = ["participant", "group", "image", "metric", "value"]
    missing = [c for c in need if c not in table.columns]
    if missing:
        raise OptionsError(f"per_participant.csv: missing column(s) {', '.join(missing)}")
    t = table.copy()
    for col, default in (("model", "maps"), ("convention", "mit"), ("baseline", "")):
        if col not in t.columns:
            t[col] = default
    t["baseline"] = t["baseline"].fillna("")
    t = t[np.isfinite(t["value"].astype(float))]
    keys = ["model", "convention", "metric", "baseline"]
    # A group appearing twice for one participant means ids are not participants: refuse.
    per_p = t.groupby(keys + ["participant"])["group"].nunique()
    if (per_p > 1).any():
        bad = per_p[per_p > 1].index[0][-1]
        raise OptionsError(f"per_participant.csv: participant {bad!r} appears in more than one group")
    image_mean = t.groupby(keys + ["image"])["value"].transform("mean")
    grand = t.groupby(keys)["value"].transform("mean")
    t["centred"] = t["value"] - image_mean + grand
    out = t.groupby(keys + ["participant", "group"], as_index=False).agg(score=("centred", "mean"),
                                                                         n_images=("image", "nunique"))
    return out


def participant_stats(table: pd.DataFrame, group_a: str = "TD", group_b: str = "ASD", *,
                      n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> pd.DataFrame:
    """Group difference a - b of the participant scores, per (model, convention, metric, baseline)."""
    scores = participant_scores(table)
    keys = ["model", "convention", "metric", "baseline"]
    rows = []
    for key, t in scores.groupby(keys, sort=True):
        a = t.loc[t["group"] == group_a, "score"].to_numpy(float)
        b = t.loc[t["group"] == group_b, "score"].to_numpy(float)
        row = dict(zip(keys, key), group_a=group_a, group_b=group_b, n_a=len(a), n_b=len(b),
                   mean_a=a.mean() if len(a) else np.nan, mean_b=b.mean() if len(b) else np.nan,
                   ci_low=np.nan, ci_high=np.nan, p_mannwhitney=np.nan, p_holm=np.nan)
        row["mean_diff"] = row["mean_a"] - row["mean_b"]
        if len(a) >= 2 and len(b) >= 2:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = stats.bootstrap((a, b), lambda x, y, axis=-1: x.mean(axis=axis) - y.mean(axis=axis),
                                      n_resamples=n_resamples, method="BCa", rng=np.random.default_rng(seed),
                                      vectorized=True)
            row["ci_low"], row["ci_high"] = float(res.confidence_interval.low), float(res.confidence_interval.high)
            row["p_mannwhitney"] = float(stats.mannwhitneyu(a, b).pvalue)
        rows.append(row)
    out = pd.DataFrame(rows, columns=PARTICIPANT_COLUMNS)
    for _, idx in out.groupby(["model", "convention"]).groups.items():
        out.loc[idx, "p_holm"] = holm(out.loc[idx, "p_mannwhitney"])
    return out

"""Per-image rankings: where the model fits one group worst relative to the other.

For the ceiling model (the gold standard: each viewer predicted from the other viewers of the
same group) the same ranking shows the images where one group's viewers agree among
themselves much less than the other group's.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import pandas as pd

from asdgaze.metrics.registry import lower_is_better

RANKING_COLUMNS = ["model", "convention", "metric", "baseline", "worse_for", "rank", "image", "value_a", "value_b",
                   "diff", "is_ceiling"]


def image_rankings(paired: pd.DataFrame, group_a: str, group_b: str, *, top: int = 5,
                   ceiling: Collection[str] = ()) -> pd.DataFrame:
    """The ``top`` images per (model, convention, metric, baseline) where the fit is worse for each group.

    ``paired`` comes from :func:`asdgaze.analysis.stats.paired_differences`. "Worse for B" means
    a - b largest for higher-is-better metrics (smallest for the lower-is-better ones of the metric
    registry, KL and EMD). ``ceiling``: the models that are a noise ceiling (``is_ceiling``).

    Example:
        >>> p = pd.DataFrame({"model": "m", "convention": "mit", "metric": "nss", "baseline": "",
        ...                   "image": ["1", "2", "3"], "value_a": [2.0, 1.0, 1.0], "value_b": [1.0, 1.0, 3.0]})
        >>> p["diff"] = p["value_a"] - p["value_b"]
        >>> r = image_rankings(p, "TD", "ASD", top=1)
        >>> r[["worse_for", "image"]].to_dict("records")
        [{'worse_for': 'ASD', 'image': '1'}, {'worse_for': 'TD', 'image': '3'}]
    """
    keys = ["model", "convention", "metric", "baseline"]
    parts = []
    for key, t in paired.groupby(keys, sort=True):
        sign = -1.0 if lower_is_better(key[2], key[1]) else 1.0
        oriented = sign * t["diff"]  # > 0: the fit is better for a, i.e. worse for b
        for worse_for, order in ((group_b, False), (group_a, True)):
            idx = oriented.sort_values(ascending=order, kind="stable").index[:top]
            sel = t.loc[idx, ["image", "value_a", "value_b", "diff"]].copy()
            sel = sel[(sign * sel["diff"] > 0) if worse_for == group_b else (sign * sel["diff"] < 0)]
            for col, v in zip(keys, key):
                sel[col] = v
            sel["worse_for"] = worse_for
            sel["rank"] = np.arange(1, len(sel) + 1)
            sel["is_ceiling"] = key[0] in ceiling
            parts.append(sel)
    if not parts:
        return pd.DataFrame(columns=RANKING_COLUMNS)
    return pd.concat(parts, ignore_index=True)[RANKING_COLUMNS]

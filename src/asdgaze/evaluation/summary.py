"""Summary tables of an evaluate run and the reader that loads a results folder back.

``summary.csv`` has one row per (model, convention, group, metric): ``mean`` (image average),
``sd`` (ddof 1), ``n`` (images with a finite value), ``n_images``, ``fixation_weighted_mean``
(mean over all fixations, i.e. images weighted by their fixation count; per-fixation metrics
only, NaN otherwise), ``baseline`` and ``saliency_map``. Rows of the metric ``ig_pct_gold``
give a model's information gain as a percentage of the gold standard's (same group, same
baseline): ``100 * IG_model / IG_gold`` of the image averages in ``mean`` and of the
fixation-weighted averages in ``fixation_weighted_mean``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from asdgaze.errors import DataError
from asdgaze.metrics.registry import get

#: The first six are the columns of earlier versions, in their order.
PER_IMAGE_COLUMNS = ("image", "group", "metric", "value", "convention", "n_fixations", "model", "baseline",
                     "n_viewers", "saliency_map")
PER_FIXATION_COLUMNS = ("model", "convention", "metric", "image", "group", "viewer", "value")
SUMMARY_COLUMNS = ("model", "convention", "group", "metric", "mean", "sd", "n", "n_images",
                   "fixation_weighted_mean", "baseline", "saliency_map")
KEYS = ["model", "convention", "group", "metric"]
GOLD = "gold-standard"


def _per_fixation_metric(convention: str, metric: str) -> bool:
    try:
        return get(metric, convention).per_fixation
    except KeyError:
        return False


def summarise(per_image: pd.DataFrame) -> pd.DataFrame:
    """Summary per (model, convention, group, metric), plus the ``ig_pct_gold`` rows."""
    df = per_image.copy()
    df["value"] = df["value"].astype(float)
    finite = df[np.isfinite(df["value"])]
    g = finite.groupby(KEYS, sort=False)["value"]
    summary = g.agg(mean="mean", sd="std", n="count").reset_index()
    first = df.groupby(KEYS, sort=False).agg(n_images=("value", "size"), baseline=("baseline", "first"),
                                             saliency_map=("saliency_map", "first")).reset_index()
    summary = summary.merge(first, on=KEYS, how="right")
    summary["n"] = summary["n"].fillna(0).astype(int)
    w = finite.assign(wv=finite["value"] * finite["n_fixations"])
    fw = w.groupby(KEYS, sort=False).agg(wv=("wv", "sum"), nf=("n_fixations", "sum")).reset_index()
    fw["fixation_weighted_mean"] = fw["wv"] / fw["nf"].where(fw["nf"] > 0)
    summary = summary.merge(fw[KEYS + ["fixation_weighted_mean"]], on=KEYS, how="left")
    per_fix = [_per_fixation_metric(c, m) for c, m in zip(summary["convention"], summary["metric"])]
    summary.loc[~np.asarray(per_fix, bool), "fixation_weighted_mean"] = np.nan
    summary = pd.concat([summary, ig_percent_of_gold(summary)], ignore_index=True)
    return summary[list(SUMMARY_COLUMNS)]


def ig_percent_of_gold(summary: pd.DataFrame) -> pd.DataFrame:
    """Rows ``ig_pct_gold``: each model's probabilistic IG as % of the gold standard's, per group.

    Example:
        >>> s = pd.DataFrame({"model": ["m", "gold-standard"], "convention": ["probabilistic"] * 2,
        ...     "group": ["TD"] * 2, "metric": ["ig"] * 2, "mean": [0.5, 2.0], "n": [3, 3],
        ...     "fixation_weighted_mean": [1.0, 4.0], "baseline": ["centerbias"] * 2})
        >>> ig_percent_of_gold(s)[["model", "mean", "fixation_weighted_mean"]].values.tolist()
        [['m', 25.0, 25.0], ['gold-standard', 100.0, 100.0]]
    """
    ig = summary[(summary["convention"] == "probabilistic") & (summary["metric"] == "ig")]
    rows = []
    for (group, baseline), sel in ig.groupby(["group", "baseline"], sort=False):
        gold = sel[sel["model"] == GOLD]
        if gold.empty:
            continue
        g_mean, g_fw = float(gold["mean"].iloc[0]), float(gold["fixation_weighted_mean"].iloc[0])
        for _, r in sel.iterrows():
            rows.append({"model": r["model"], "convention": "probabilistic", "group": group,
                         "metric": "ig_pct_gold", "mean": _pct(float(r["mean"]), g_mean), "sd": np.nan,
                         "n": int(r["n"]), "n_images": int(r.get("n_images", r["n"])),
                         "fixation_weighted_mean": _pct(float(r["fixation_weighted_mean"]), g_fw),
                         "baseline": baseline, "saliency_map": f"IG / IG of {GOLD} x 100"})
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))


def _pct(value: float, gold: float) -> float:
    return 100.0 * value / gold if np.isfinite(value) and np.isfinite(gold) and gold != 0 else np.nan


@dataclass
class EvaluateFrames:
    per_image: pd.DataFrame
    summary: pd.DataFrame
    per_fixation: pd.DataFrame | None


def read_results(folder: str | Path) -> EvaluateFrames:
    """Load an evaluate results folder back into the frames :func:`asdgaze.evaluate.evaluate` returned."""
    folder = Path(folder)
    out = []
    for name in ("per_image.csv", "summary.csv", "per_fixation.csv"):
        path = folder / name
        if not path.is_file():
            if name == "per_fixation.csv":
                out.append(None)
                continue
            raise DataError(f"{path}: missing (not an evaluate results folder)")
        try:
            df = pd.read_csv(path, dtype={"image": str, "group": str, "model": str}, keep_default_na=False)
        except (OSError, ValueError) as e:
            raise DataError(f"{path}: cannot be read as CSV ({e})") from None
        for col in ("baseline", "saliency_map"):
            if col in df.columns:
                df[col] = df[col].astype(str)
        for col in ("value", "mean", "sd", "fixation_weighted_mean", "n_viewers"):
            if col in df.columns:
                df[col] = pd.to_numeric(df[col], errors="coerce").astype(float)
        out.append(df)
    return EvaluateFrames(*out)

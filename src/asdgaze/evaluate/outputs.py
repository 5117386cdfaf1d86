"""What an evaluate run writes: the tables, the summary, ``manifest.json`` and the notes.

``summary.csv`` has one row per (model, convention, group, metric): ``mean`` (image average), ``sd``
(ddof 1), ``n`` (images with a finite value), ``n_images``, ``fixation_weighted_mean`` (mean over all
fixations, i.e. images weighted by their fixation count; per-fixation metrics only, NaN otherwise),
``baseline`` and ``saliency_map``. Rows of the metric ``ig_pct_gold`` give a model's information gain
as a percentage of the ceiling model's (the gold standard; same group, same baseline):
``100 * IG_model / IG_gold`` of the image averages and of the fixation-weighted averages.
"""

from __future__ import annotations

import json
import time
from collections.abc import Collection
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from asdgaze.data.types import Dataset
from asdgaze.io import sha256_file, write_json_atomic, write_text_atomic
from asdgaze.metrics.registry import find
from asdgaze.metrics.prob_scoring import Blur, map_descriptions
from asdgaze.runfolder import shard_name, versions

__all__ = ["PER_IMAGE_COLUMNS", "PER_FIXATION_COLUMNS", "SUMMARY_COLUMNS", "summarise", "ig_percent_of_gold",
           "per_fixation_frame", "write_outputs", "write_shard_manifest", "summarise_notes", "score_description",
           "finite_json"]

#: The first six are the columns of earlier versions, in their order.
PER_IMAGE_COLUMNS = ("image", "group", "metric", "value", "convention", "n_fixations", "model", "baseline",
                     "n_viewers", "saliency_map")
PER_FIXATION_COLUMNS = ("model", "convention", "metric", "image", "group", "viewer", "value")
SUMMARY_COLUMNS = ("model", "convention", "group", "metric", "mean", "sd", "n", "n_images",
                   "fixation_weighted_mean", "baseline", "saliency_map")
KEYS = ["model", "convention", "group", "metric"]


def _per_fixation_metric(convention: str, metric: str) -> bool:
    spec = find(metric, convention)
    return spec is not None and spec.per_fixation


def summarise(per_image: pd.DataFrame, ceiling: Collection[str] = ()) -> pd.DataFrame:
    """Summary per (model, convention, group, metric), plus the ``ig_pct_gold`` rows against the ``ceiling``
    model (the one whose traits say it is a noise ceiling)."""
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
    summary = pd.concat([summary, ig_percent_of_gold(summary, ceiling)], ignore_index=True)
    return summary[list(SUMMARY_COLUMNS)]


def ig_percent_of_gold(summary: pd.DataFrame, ceiling: Collection[str] = ()) -> pd.DataFrame:
    """Rows ``ig_pct_gold``: each model's probabilistic IG as % of the ceiling model's, per group.

    Example:
        >>> s = pd.DataFrame({"model": ["m", "gold-standard"], "convention": ["probabilistic"] * 2,
        ...     "group": ["TD"] * 2, "metric": ["ig"] * 2, "mean": [0.5, 2.0], "n": [3, 3],
        ...     "fixation_weighted_mean": [1.0, 4.0], "baseline": ["centerbias"] * 2})
        >>> ig_percent_of_gold(s, ["gold-standard"])[["model", "mean", "fixation_weighted_mean"]].values.tolist()
        [['m', 25.0, 25.0], ['gold-standard', 100.0, 100.0]]
    """
    ig = summary[(summary["convention"] == "probabilistic") & (summary["metric"] == "ig")]
    rows = []
    for (group, baseline), sel in ig.groupby(["group", "baseline"], sort=False):
        gold = sel[sel["model"].isin(list(ceiling))]
        if gold.empty:
            continue
        name = str(gold["model"].iloc[0])
        g_mean, g_fw = float(gold["mean"].iloc[0]), float(gold["fixation_weighted_mean"].iloc[0])
        for _, r in sel.iterrows():
            rows.append({"model": r["model"], "convention": "probabilistic", "group": group,
                         "metric": "ig_pct_gold", "mean": _pct(float(r["mean"]), g_mean), "sd": np.nan,
                         "n": int(r["n"]), "n_images": int(r.get("n_images", r["n"])),
                         "fixation_weighted_mean": _pct(float(r["fixation_weighted_mean"]), g_fw),
                         "baseline": baseline, "saliency_map": f"IG / IG of {name} x 100"})
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))


def _pct(value: float, gold: float) -> float:
    return 100.0 * value / gold if np.isfinite(value) and np.isfinite(gold) and gold != 0 else np.nan


def per_fixation_frame(stems: list[str], results: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """The per-fixation blocks of every image as one long table (PER_FIXATION_COLUMNS)."""
    cols: dict[str, list] = {c: [] for c in PER_FIXATION_COLUMNS}
    for stem in stems:
        for b in results[stem].get("per_fixation", []):
            n = len(b["value"])
            cols["model"].append(np.repeat(np.array([b["model"]], dtype=object), n))
            cols["convention"].append(np.repeat(np.array(["probabilistic"], dtype=object), n))
            cols["metric"].append(np.repeat(np.array([b["metric"]], dtype=object), n))
            cols["image"].append(np.repeat(np.array([stem], dtype=object), n))
            cols["group"].append(np.repeat(np.array([b["group"]], dtype=object), n))
            cols["viewer"].append(np.asarray(b["viewer"], dtype=np.int64))
            cols["value"].append(np.asarray(b["value"], dtype=np.float64))
    if not cols["value"]:
        return pd.DataFrame(columns=list(PER_FIXATION_COLUMNS))
    return pd.DataFrame({c: np.concatenate(v) for c, v in cols.items()})


#: How many of the files a note concerns it names (all of them are in the manifest's ``note_detail``).
NAMED = 3


def _some(items: list[str]) -> str:
    more = f"; and {len(items) - NAMED} more (all in manifest.json, note_detail)" if len(items) > NAMED else ""
    return "; ".join(items[:NAMED]) + more


def summarise_notes(detail: list[list[str]]) -> list[str]:
    """One note per kind of issue, with a count and the first few files (the manifest names every one)."""
    by_kind: dict[str, list[str]] = {}
    for kind, text in detail:
        by_kind.setdefault(kind, []).append(text)
    maps = by_kind.pop("map", [])
    notes = maps if len(maps) <= NAMED else [f"{len(maps)} map(s) were read with a note: {_some(maps)}"]
    if "scale" in by_kind:
        items = by_kind["scale"]
        notes.append(f"{len(items)} map(s) read as log-densities do not sum to 1 (first: {items[0]}); if they are "
                     "saliency maps, use --maps-kind saliency")
    if "resized" in by_kind:
        items = by_kind["resized"]
        notes.append(f"{len(items)} map(s) differ in size from their image and were resized with MATLAB-style "
                     f"bicubic imresize as the MIT code does: {_some(items)}")
    if "constant" in by_kind:
        items = by_kind["constant"]
        notes.append(f"{len(items)} constant map(s): most metrics are undefined (NaN) for them, so n differs "
                     f"between metrics in the summary: {_some(items)}")
    if "one viewer" in by_kind:
        items = by_kind["one viewer"]
        notes.append(f"{len(items)} (image, group) pair(s) with one viewer have no MIT ceiling (nobody else to "
                     f"predict them from): {_some(items)}")
    return notes


def score_description(options: Any, dataset: Dataset, mit1003: dict[str, Any] | None, models: list[Any]
                      ) -> dict[str, Any]:
    """Plain-language statement of what was scored, written into every output."""
    caveat = dataset.format.caveat(mit1003)
    out: dict[str, Any] = {
        **({"caveat": caveat} if caveat else {}),
        "convention": "mit: MIT Saliency Benchmark code (cvzoya/saliency, code_forMetrics), "
                      "fixation maps with duplicates collapsed",
        "maps": ("log-density maps scored as the density exp(log p) in float64, scaled to max 1"
                 if options.maps_kind == "log-density" else "maps scored as given (float64)"),
        "ig_baseline": _prior_text(options.ig_baseline, options.ig_baseline_kind),
        "shuffled_auc_negatives": (
            f"fixations of {options.shuffled_n_other} random other images of the same group"
            if options.shuffled_n_other else "fixations of all other images of the same group"
        ) + ", rescaled to this image's size",
    }
    if "probabilistic" in options.conventions:
        out["probabilistic"] = {
            "convention": "pysaliency 0.2.22 definitions (Kümmerer, Wallis & Bethge, ECCV 2018); duplicated "
                          "fixations count every time; summary: image average (mean) and fixation-weighted average",
            "saliency_maps": options.saliency_maps,
            "maps_scored": map_descriptions(options.saliency_maps, Blur(options.fixmap_sigma or dataset.fixmap_sigma)),
            "ig_baseline": options.prob_ig_baseline,
            "sauc_negatives": "all fixations of all other images of the same group, rescaled to this image's size",
            "p_shuffled": "metric-specific sAUC: mean of the model's densities on the other images (same group for "
                          "group-dependent baselines), summed on a 96x128 grid and resampled bilinearly; for a model "
                          "that is its own mean (uniform, the fitted centre bias: the density of the other images' "
                          "fixations), itself, so its metric-specific sAUC is 0.5",
        }
    ceilings = [m.name for m in models if m.traits.leaves_viewers_out]
    if ceilings:
        from asdgaze.data.loo_maps import grid_factor
        from asdgaze.metrics.registry import metrics_for

        probabilistic = [m.name for m in metrics_for("probabilistic") if not m.no_ceiling]
        mit = [m for m in metrics_for("mit") if m.name in options.metrics]
        skipped = "; ".join(f"{m.name}: {m.no_ceiling}" for m in mit if m.no_ceiling)
        sizes = sorted({grid_factor(s.shape, options.ceiling_grid) for s in dataset.stimuli.values()})
        out["gold_standard"] = {
            "models": ceilings,
            "probabilistic": f"{', '.join(probabilistic)}: each fixation scored by the density of the other viewers of "
                             "the same group on the same image (leave-one-viewer-out KDE mixed with the fitted centre "
                             "bias; bandwidth and weight fitted by held-out log-likelihood)",
            "mit": (f"{', '.join(m.name for m in mit if not m.no_ceiling)}: each viewer's fixations (their binary map; "
                    "for CC, KL and SIM their own continuous map by the dataset's recipe) against the continuous map "
                    "of the other viewers of the same group on the same image; the image's value is the mean over "
                    f"its viewers; maps on cells of {' or '.join(str(f) for f in sizes)} px a side "
                    f"(--ceiling-grid {options.ceiling_grid})" + (f". Not scored: {skipped}" if skipped else "")),
            "bias": "no viewer is ever scored against a map holding their own fixations; with fewer viewers the "
                    "others' map is noisier, so the ceiling is lower where a group has fewer viewers (n_viewers "
                    "column); CC, KL and SIM compare with one child's map, sparser than the group map a model is "
                    "compared with, so those ceilings are not on a model's footing",
        }
    return out


def _prior_text(option: str, file_kind: str) -> str:
    from asdgaze.models.baselines import CENTER_SIGMA_FRACTION
    from asdgaze.models.priors import canonical

    return {
        "gaussian": f"centre Gaussian, sigma = {CENTER_SIGMA_FRACTION} x each image side (fixed, not fitted)",
        "uniform": "uniform map",
        "mit1003": "MIT1003 centre-bias template (as predict --centerbias mit1003), rescaled to each image",
        "centerbias": "centre bias fitted to each group's fixations on the other images",
        "other-group": "the other group's density on the same image",
    }.get(canonical(option), f"template file {option} ({'saliency' if option.lower().endswith('.png') else file_kind})")


def _continuous_map_sources(dataset: Dataset, groups: tuple[str, ...]) -> dict[str, Any]:
    """Which continuous maps (C of CC, KL, SIM, EMD) were shipped files and which were rebuilt."""
    out: dict[str, Any] = {}
    for group in groups:
        shipped = dataset.fixation_maps.get(group, {})
        out[group] = {
            "shipped": {stem: {"path": str(Path(p).resolve()), "sha256": sha256_file(p)} for stem, p in shipped.items()
                        if stem in dataset.stimuli},
            "rebuilt_with_saliency4asd_recipe": [stem for stem in dataset.stimuli if stem not in shipped],
        }
    return out


def finite_json(obj: Any) -> Any:
    """NaN/inf (e.g. an unfitted bandwidth) as null, so the manifest is strict JSON."""
    if isinstance(obj, dict):
        return {k: finite_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite_json(v) for v in obj]
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


def _jsonable(d: dict[str, Any]) -> dict[str, Any]:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in d.items()}


def _timings(run: dict[str, Any], split: bool = True) -> dict[str, Any]:
    out = {"total_s": round(run["total_s"], 3), "workers": run["workers"],
           "plan_s": {k: round(v, 3) for k, v in run["plan_s"].items()}}
    if split:
        out["model_convention_s"] = {k: round(v, 3) for k, v in run["split_s"].items()}
    out["per_image_s"] = {k: round(v, 4) for k, v in run["seconds"].items()}
    return out


def write_shard_manifest(out_dir: Path, shard: tuple[int, int], images: list[str], dataset: Dataset,
                         run: dict[str, Any]) -> Path:
    """``manifest-shard-K-of-N.json``: the shard's images, failures and timings, the settings shared with
    the other shards and the merge, and the plan's description (a merge with every part reuses it)."""
    path = out_dir / shard_name(shard)
    write_json_atomic(path, finite_json({
        "tool": "asdgaze evaluate --shard",
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "versions": versions(),
        "shard": {"k": shard[0], "n": shard[1], "images": images},
        "settings": run["settings"],
        "dataset": {"name": dataset.name, "root": str(Path(dataset.root).resolve()),
                    "n_images": len(dataset.stimuli), "fixations_sha256": run["fixations_sha256"]},
        "models": [m.describe() for m in run["models"]],
        "prob_ig_baseline": run["prob_baseline"],
        "failures": [f._asdict() for f in run["failures"]],
        "missing": run["missing"],
        "notes": run["notes"],
        "resumed": run["resumed"],
        "plan_from": run["plan_from"],
        "timings": _timings(run, split=False),
    }))
    return path


def write_outputs(out_dir: Path, dataset: Dataset, options: Any, per_image: pd.DataFrame,
                  per_fixation: pd.DataFrame, summary: pd.DataFrame, run: dict[str, Any]) -> dict[str, Path]:
    """per_image.csv, per_fixation.csv (when any), summary.csv, summary.json and manifest.json."""
    out_dir.mkdir(parents=True, exist_ok=True)
    names = ("per_image.csv", "summary.csv", "summary.json", "manifest.json")
    files = {name: out_dir / name for name in names}
    write_text_atomic(files["per_image.csv"], per_image.to_csv(index=False, float_format="%.10g"))
    if len(per_fixation):
        files["per_fixation.csv"] = out_dir / "per_fixation.csv"
        write_text_atomic(files["per_fixation.csv"], per_fixation.to_csv(index=False, float_format="%.10g"))
    else:
        (out_dir / "per_fixation.csv").unlink(missing_ok=True)
    write_text_atomic(files["summary.csv"], summary.to_csv(index=False, float_format="%.10g"))
    described = score_description(options, dataset, run["mit1003"], run["models"])
    groups = tuple(options.groups or ())
    mit1003 = None if run["mit1003"] is None else {k: v for k, v in run["mit1003"].items() if k != "note"}
    summary_json = {
        "description": described,
        "options": _jsonable(asdict(options)),
        "models": [m.name for m in run["models"]],
        "mit1003": mit1003,
        "not_scored": {"missing_map": run["missing"], "failed": [f._asdict() for f in run["failures"]]},
        "summary": json.loads(summary.to_json(orient="records")),
        "headline": run.get("headline"),  # the answer first (asdgaze.analysis.headline), default comparison
    }
    write_json_atomic(files["summary.json"], finite_json(summary_json))
    records = {m.name: m.predictor.record(run["map_sha256"][m.name]) for m in run["models"]
               if m.name in run["map_sha256"]}
    manifest = {
        "tool": "asdgaze evaluate",
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "versions": versions(),
        "dataset": {"name": dataset.name, "format": dataset.format.name, "root": str(Path(dataset.root).resolve()),
                    "n_images": len(dataset.stimuli), "groups": list(groups), "source": run["source"],
                    "fixations_sha256": run["fixations_sha256"],
                    "continuous_maps": _continuous_map_sources(dataset, groups),
                    "fixation_map_recipe": {**dataset.format.recipe(dataset.fixmap_sigma).describe(),
                                            "source": "--fixmap-sigma" if options.fixmap_sigma is not None
                                            else "dataset default"},
                    **({"regions": dataset.regions.describe()} if dataset.regions is not None else {})},
        # one folder: its record; several: one record per model name
        "maps": (next(iter(records.values())) if len(records) == 1 else records),
        "missing": run["missing"],
        "models": [m.describe() for m in run["models"]],
        "ig_baseline": run["baseline"],
        "prob_ig_baseline": run["prob_baseline"],
        "mit1003": mit1003,
        "options": _jsonable(asdict(options)),
        "description": described,
        "seeds": {"root": options.seed,
                  "streams": "asdgaze.metrics.streams.metric_rng(seed, image, group, metric); "
                             "metric 'other_images' draws the shuffled-AUC images"},
        "failures": [f._asdict() for f in run["failures"]],
        "notes": run["notes"],
        "note_detail": run["note_detail"],
        "settings": run["settings"],
        "resumed": run["resumed"],
        "shards": run["shards"],  # the shard manifests found (same settings): what each scored
        "plan_from": run["plan_from"],  # None: fitted here; else the manifest whose fitted plan was reused
        "timings": _timings(run),
    }
    write_json_atomic(files["manifest.json"], finite_json(manifest))
    return files

"""``asdgaze report``: one self-contained HTML file (figures embedded) plus every table as CSV.

The page carries a Content-Security-Policy that forbids every load except ``data:`` images, so
it opens offline and cannot make a network request.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import jinja2
import numpy as np
import pandas as pd

from asdgaze import __version__
from asdgaze.analysis.compare import EXCHANGEABILITY, CompareOptions, CompareResult, compare
from asdgaze.analysis.results import Results, load_results
from asdgaze.errors import AsdgazeError
from asdgaze.io import make_dir, write_text_atomic
from asdgaze.report import figures



@dataclass(frozen=True)
class ReportFigure:
    """One figure of the report: its file, how it is drawn from the results and the comparison, its caption."""

    file: str
    make: Callable[[Results, CompareResult, str, str], object]
    caption: Callable[[Results, str, str], str]


#: The report's figures, in order (a new figure: a function in :mod:`asdgaze.report.figures` and one entry here).
FIGURES: list[ReportFigure] = [
    ReportFigure("metrics_ci.png",
                 lambda res, cmp, a, b: figures.metric_ci_figure(cmp.group_means, a, b, res.ceiling_models()),
                 lambda res, a, b: (f"Mean of each group (markers: {a} circle, {b} square) with bootstrap 95% CI, "
                                    f"per model; ceiling models ({', '.join(sorted(res.ceiling_models())) or 'none'}) "
                                    "shaded.")),
    ReportFigure("scatter.png", lambda res, cmp, a, b: figures.scatter_figure(cmp.paired, a, b),
                 lambda res, a, b: f"Per image: {a} (y) against {b} (x); dashed: equal fit."),
    ReportFigure("differences.png", lambda res, cmp, a, b: figures.differences_figure(cmp.paired, a, b),
                 lambda res, a, b: f"Paired differences {a} − {b} over images, per model; dashed: no difference."),
]


@dataclass
class ReportResult:
    html: Path
    files: dict[str, Path] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _fmt(v) -> dict:
    if isinstance(v, (float, np.floating)):
        if math.isnan(v):
            return {"value": "", "text": False}
        if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e5):
            return {"value": f"{v:.3g}", "text": False}
        return {"value": f"{v:.4f}", "text": False}
    if isinstance(v, (int, np.integer, bool, np.bool_)):
        return {"value": str(v), "text": False}
    return {"value": str(v), "text": True}


def _table(df: pd.DataFrame, tid: str, title: str, csv: Path, note: str = "", collapse: bool = False) -> dict:
    """A table for the page (and its CSV); ``collapse``: a long reference table, folded when over 40 rows."""
    write_text_atomic(csv, df.to_csv(index=False))
    return {"id": tid, "title": title, "note": note, "csv": csv.name, "columns": list(df.columns),
            "collapse": collapse and len(df) > 40,
            "rows": [[_fmt(v) for v in row] for row in df.itertuples(index=False)]}


def _first_manifest(res: Results) -> dict:
    return next(iter(res.manifests.values()), {})


def _run_info(res: Results) -> list[tuple[str, str]]:
    info = []
    for where, m in res.manifests.items():
        folder = where if len(res.manifests) > 1 else "evaluate"  # one results folder: no folder name to show
        ds = m.get("dataset", {})
        info.append((f"dataset ({folder})", f"{ds.get('name', '?')}: {ds.get('n_images', '?')} images, groups "
                     f"{', '.join(ds.get('groups', []))}, root {ds.get('root', '?')}"))
        opts = m.get("options", {})
        info.append((f"options ({folder})", "; ".join(f"{k}: {_plain(v) if v not in (None, '') else '-'}"
                                                       for k, v in opts.items())))
        for k, v in (m.get("description") or {}).items():
            info.append((f"{k} ({folder})", _plain(v)))
        for n in m.get("notes", []) or []:
            info.append((f"note ({folder})", str(n)))
    from asdgaze.models.registry import label_of

    info.append(("models", ", ".join(m if label_of(m) == m else f"{m} ({label_of(m)})"
                                     for m in sorted(res.per_image["model"].unique()))))
    info.append(("conventions", ", ".join(sorted(res.per_image["convention"].unique()))))
    base = sorted(b for b in res.per_image["baseline"].unique() if b)
    info.append(("baselines", ", ".join(base) if base else "(not recorded)"))
    return info


def dataset_format(manifest: dict):
    """The dataset format an evaluate manifest records (older manifests: from the dataset's name)."""
    from asdgaze.data.formats import FORMATS, PLAIN

    ds = manifest.get("dataset") or {}
    return FORMATS.get(str(ds.get("format") or ds.get("name") or ""), PLAIN)


def _caveats(res: Results, cmp: CompareResult) -> list[str]:
    m = _first_manifest(res)
    fmt = dataset_format(m)
    mit = m.get("mit1003") if isinstance(m.get("mit1003"), dict) and m["mit1003"].get("n_matched") is not None else None
    out = [c for c in (fmt.caveat(mit), fmt.about) if c]
    out.append("Conventions used: " + ", ".join(sorted(res.per_image["convention"].unique())) + ". " +
               " ".join(f"{_plain(v)}." for v in (m.get("description") or {}).values()))
    out.append("What is exchangeable: " + EXCHANGEABILITY)
    out.extend(cmp.notes)
    if cmp.participants is None:
        out.append("Participant-level analysis: not done, the results carry no participant ids consistent across "
                   "images (per_participant.csv); the analysis is image-level.")
    return out


def _plain(value) -> str:
    """A manifest description as prose: nested mappings as "key: value; ...", lists comma-separated.

    >>> _plain({"convention": "mit", "maps_scored": {"ll": "log p"}})
    'convention: mit; maps scored: (ll: log p)'
    """
    if isinstance(value, dict):
        parts = [f"{str(k).replace('_', ' ')}: {_plain(v) if not isinstance(v, dict) else '(' + _plain(v) + ')'}"
                 for k, v in value.items()]
        return "; ".join(parts)
    if isinstance(value, (list, tuple)):
        return ", ".join(_plain(v) for v in value)
    return str(value).rstrip(".")


def _map_records(manifest: dict, folder: str) -> dict[str, dict]:
    """model -> maps record of one evaluate manifest: one record (with "name") or one per model."""
    maps = manifest.get("maps")
    if not isinstance(maps, dict) or not maps:
        return {}
    if "folder" in maps:  # one folder; unnamed ("maps" or none) in a sub-folder: the sub-folder names it,
        name = maps.get("name") or "maps"  # as load_results does
        if name == "maps" and folder not in ("", "."):
            name = folder.split("/")[0]
        return {str(name): maps}
    return {str(k): v for k, v in maps.items() if isinstance(v, dict) and "folder" in v}


def _panels(res: Results, cmp: CompareResult, out: Path, a: str, b: str, n: int) -> tuple[list[dict], str]:
    """Panels for the images where the first non-ceiling model fits each group worst."""
    from asdgaze.data import load_dataset
    from asdgaze.data.fixmaps import continuous_map
    from asdgaze.data.images import load_image
    from asdgaze.maps.io import find_maps, load_map

    r = cmp.rankings[~cmp.rankings["is_ceiling"]]
    # The maps shown must be a model's own: a folder of maps named in a manifest (baselines have none).
    folders = {}
    for f, m in res.manifests.items():
        for model_name, record in _map_records(m, f).items():
            folders.setdefault(model_name, (record.get("folder"), m))
    r = r[r["model"].isin(list(folders))]
    from asdgaze.metrics.registry import lead_metrics

    ranked = set(r["metric"])
    metric = next((m.name for m in lead_metrics() if m.name in ranked), next(iter(sorted(ranked)), None))
    if metric is None:
        return [], "Per-image panels skipped: no model with its own folder of maps was ranked (baselines have no maps)."
    r = r[r["metric"] == metric]
    model = r["model"].iloc[0]
    maps_dir, manifest = folders[model]
    try:
        ds_info = manifest["dataset"]
        src = ds_info.get("source") or {}
        ds = load_dataset(ds_info["root"], table=src.get("table"), coords=src.get("coords") if src.get("table") else None)
        kind = manifest.get("options", {}).get("maps_kind")
    except (KeyError, TypeError, OSError, ValueError, AsdgazeError) as e:
        return [], f"Per-image panels skipped: the dataset or maps named in manifest.json could not be read ({e})."
    panels = []
    make_dir(out / "figures")
    for worse_for in (b, a):
        for _, row in r[(r["model"] == model) & (r["worse_for"] == worse_for)].head(n).iterrows():
            stem = row["image"]
            try:
                found, _ = find_maps(maps_dir, [stem])
                sal = load_map(found[stem].path, kind)
                img = load_image(ds.stimuli[stem].path)
                fa, fb = ds.fixations_for(a, stem), ds.fixations_for(b, stem)
                fig = figures.image_panel(img, sal, np.c_[fa.x, fa.y], np.c_[fb.x, fb.y],
                                          continuous_map(ds, a, stem), continuous_map(ds, b, stem), (a, b),
                                          title=f"image {stem}")
            except (KeyError, OSError, ValueError, AsdgazeError) as e:
                return panels, f"Per-image panel for {stem} skipped: {e}"
            caption = (f"Image {stem}: {model} fits {worse_for} worse ({figures._label(metric)}: {a} "
                       f"{row['value_a']:.3f}, {b} {row['value_b']:.3f}). Densities: cividis; difference: PuOr.")
            # an image in a sub-folder of a table's images folder has a '/' in its id (a/1)
            name = f"panel_{worse_for}_{stem.replace('/', '%2F')}.png"
            uri = figures.save_figure(fig, out / "figures" / name, dpi=70)
            panels.append({"uri": uri, "caption": caption})
    return panels, ""


def _gold_table(summary: pd.DataFrame | None) -> pd.DataFrame | None:
    """The ``ig_pct_gold`` rows of evaluate's summary, or None when the gold standard was not scored."""
    if summary is None or "metric" not in summary.columns:
        return None
    t = summary[summary["metric"] == "ig_pct_gold"]
    if t.empty:
        return None
    cols = [c for c in ("model", "group", "baseline", "mean", "fixation_weighted_mean", "n") if c in t.columns]
    return t[cols].rename(columns={"mean": "ig_pct_gold (image mean)",
                                   "fixation_weighted_mean": "ig_pct_gold (fixation-weighted)"}).reset_index(drop=True)


def build_report(results: str | Path, out: str | Path | None = None, options: CompareOptions = CompareOptions(),
                 *, compare_result: CompareResult | None = None, n_panels: int = 3,
                 run_notes: Sequence[str] = ()) -> ReportResult:
    """Write ``report.html`` (self-contained) and the CSV of every table it shows into ``out``.

    ``out`` defaults to ``<results>/report``. The comparison is run here (into ``out``) unless
    ``compare_result`` is given. ``run_notes`` (e.g. "DeepGaze IIE was not run") are shown first, under the title.
    """
    res = load_results(results)
    out = Path(out) if out is not None else res.root / "report"
    make_dir(out)
    a, b = options.group_a, options.group_b
    cmp = compare_result or compare(res, out, options)
    tables = []
    gold = _gold_table(res.summary)
    if gold is not None:
        tables.append(_table(gold, "ig-pct-gold", "Information gain as % of the gold standard (noise ceiling)",
                             out / "ig_pct_gold.csv",
                             "100 × IG(model) / IG(gold-standard), same group and IG baseline; image average (mean) "
                             "and fixation-weighted average. The gold standard predicts each viewer from the other "
                             "viewers of the same group (leave one viewer out)."))
    gs = cmp.group_stats
    tables.append(_table(gs, "group-stats", f"Group comparison per image ({a} − {b})", out / "group_stats.csv",
                         "Bootstrap 95% CI over images (scipy.stats.bootstrap, BCa where defined); Wilcoxon "
                         "signed-rank (two-sided), Holm across the metrics of one model and convention; "
                         "matched-pairs rank-biserial and Cohen's d_z; within-image permutation test where "
                         "per-fixation values exist."))
    tables.append(_table(cmp.group_means, "group-means", "Mean per group with bootstrap 95% CI",
                         out / "group_means.csv", collapse=True))
    if cmp.participants is not None:
        tables.append(_table(cmp.participants, "participants", "Participant-level comparison",
                             out / "participant_stats.csv",
                             "Participant scores centred on each image; BCa bootstrap over participants; "
                             "Mann-Whitney U; Holm."))
    ranked = cmp.rankings
    tables.append(_table(ranked[~ranked["is_ceiling"]], "rankings", "Images where a model fits one group worst",
                         out / "image_rankings.csv", collapse=True))
    ceil = ranked[ranked["is_ceiling"]]
    if not ceil.empty:
        tables.append(_table(ceil, "ceiling-rankings", "Ceiling: images where the groups differ most in their "
                             "internal agreement", out / "ceiling_rankings.csv"))
    if res.summary is not None:  # the longest table, last
        tables.append(_table(res.summary, "summary", "Summary per group (from evaluate)", out / "summary_all.csv",
                             collapse=True))
    make_dir(out / "figures")
    fig_entries = [{"uri": figures.save_figure(fig.make(res, cmp, a, b), out / "figures" / fig.file),
                    "caption": fig.caption(res, a, b)} for fig in FIGURES]
    panels, panels_note = _panels(res, cmp, out, a, b, n_panels)
    notes = [panels_note] if panels_note else []
    env = jinja2.Environment(loader=jinja2.PackageLoader("asdgaze.report", "templates"),
                             autoescape=jinja2.select_autoescape(["html"], default=True))
    html = env.get_template("report.html").render(
        title=f"asdgaze report: {a} vs {b}", version=__version__,
        created=time.strftime("%Y-%m-%d %H:%M:%S %Z"), results=str(res.root), group_a=a, group_b=b,
        run_info=_run_info(res), caveats=_caveats(res, cmp), run_notes=list(run_notes), tables=tables, figures=fig_entries, panels=panels,
        panels_note=panels_note or "No panels.")
    path = out / "report.html"
    write_text_atomic(path, html)
    files = {t["id"]: out / t["csv"] for t in tables}
    return ReportResult(path, files, notes)

"""``asdgaze report``: one self-contained HTML file (figures embedded) plus every table as CSV.

The page opens with the answer (does the model predict group B's gaze as well as group A's, how sure are
we, is the gap the model's or the children's), then the figures and the images, then the details. It
carries a Content-Security-Policy that forbids every load except ``data:`` images, so it opens offline and
cannot make a network request.
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
from asdgaze.analysis.compare import CompareOptions, CompareResult, compare, group_headline
from asdgaze.analysis.results import Results, load_results
from asdgaze.analysis.stats import MIN_IMAGES
from asdgaze.io import make_dir, write_text_atomic
from asdgaze.models.registry import traits_of
from asdgaze.report import figures
from asdgaze.report.adaptation import adaptation_section  # issue 18: converted and group-adapted models
from asdgaze.report.panels import panels
from asdgaze.report.prose import about, caveats, deepgaze_files, what_was_run
from asdgaze.report.regions_section import regions_section



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


#: Tables longer than this are folded (every table's CSV is beside the report).
FOLD_ROWS = 12


def _table(df: pd.DataFrame, tid: str, title: str, csv: Path, note: str = "") -> dict:
    """A table for the page (and its CSV beside it), folded when longer than :data:`FOLD_ROWS`."""
    write_text_atomic(csv, df.to_csv(index=False))
    return {"id": tid, "title": title, "note": note, "csv": csv.name, "columns": list(df.columns),
            "collapse": len(df) > FOLD_ROWS,
            "rows": [[_fmt(v) for v in row] for row in df.itertuples(index=False)]}


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


def _answer(res: Results, cmp: CompareResult, out: Path, a: str, b: str) -> dict:
    """The headline: its sentences and its figure (each group's mean with its CI for the centre bias, the models
    and the ceiling, per lead metric)."""
    head = cmp.headline
    subjects = [(s.model, s.label, s.role) for s in head.subjects]
    shown = {(s.model, f.convention, f.metric, f.baseline) for s in head.subjects for f in s.facts}
    means = cmp.group_means
    keep = [(m, c, k, str(b)) in shown for m, c, k, b in
            zip(means["model"], means["convention"], means["metric"], means["baseline"])]
    means = means[np.array(keep, dtype=bool)]
    fig = None
    if len(means) and subjects:
        uri = figures.save_figure(figures.headline_figure(means, subjects, a, b), out / "figures" / "headline.png")
        fig = {"uri": uri, "caption": f"Each group's mean with its bootstrap 95 % CI ({a} circle, {b} square) for the "
                                      "centre bias, the models and the ceiling (shaded), per lead metric."}
    return {"sentences": head.sentences, "figure": fig}


def build_report(results: str | Path, out: str | Path | None = None, options: CompareOptions = CompareOptions(),
                 *, compare_result: CompareResult | None = None, n_panels: int = 3,
                 run_notes: Sequence[str] = ()) -> ReportResult:
    """Write ``report.html`` (self-contained) and the CSV of every table it shows into ``out``.

    ``out`` defaults to ``<results>/report``. The comparison is run here (into ``out``) unless
    ``compare_result`` is given. ``run_notes`` (e.g. "DeepGaze IIE was not run") are shown first, under the
    title. The page opens with the answer (:mod:`asdgaze.analysis.headline`), then the figures and the images,
    then the details: every table (folded when long), what was run, the caveats.
    """
    res = load_results(results)
    out = Path(out) if out is not None else res.root / "report"
    make_dir(out)
    a, b = options.group_a, options.group_b
    cmp = compare_result or compare(res, out, options)
    if cmp.headline is None:
        cmp.headline = group_headline(res, a, b, options, cmp.regions)
    make_dir(out / "figures")
    answer = _answer(res, cmp, out, a, b)
    answer["adaptation"] = adaptation_section(res, a, b, options.seed)  # issue 18: a section of the headline
    tables = []
    gs = cmp.group_stats
    tables.append(_table(gs, "group-stats", f"Group comparison per image ({a} − {b})", out / "group_stats.csv",
                         "Bootstrap 95% CI over images (scipy.stats.bootstrap, BCa where defined); Wilcoxon "
                         "signed-rank (two-sided), Holm across the metrics of one model and convention; "
                         "matched-pairs rank-biserial and Cohen's d_z; within-image permutation test where "
                         f"per-fixation values exist. No CI or p with fewer than {MIN_IMAGES} images."))
    gold = _gold_table(res.summary)
    if gold is not None:
        tables.append(_table(gold, "ig-pct-gold", "Information gain as % of the gold standard (noise ceiling)",
                             out / "ig_pct_gold.csv",
                             "100 × IG(model) / IG(gold-standard), same group and IG baseline; image average (mean) "
                             "and fixation-weighted average. The gold standard predicts each viewer from the other "
                             "viewers of the same group (leave one viewer out)."))
    tables.append(_table(cmp.group_means, "group-means", "Mean per group with bootstrap 95% CI",
                         out / "group_means.csv"))
    if cmp.participants is not None:
        tables.append(_table(cmp.participants, "participants", "Participant-level comparison",
                             out / "participant_stats.csv",
                             "Participant scores centred on each image; BCa bootstrap over participants; "
                             "Mann-Whitney U; Holm."))
    ranked = cmp.rankings
    tables.append(_table(ranked[~ranked["is_ceiling"]], "rankings", "Images where a model fits one group worst",
                         out / "image_rankings.csv"))
    ceil = ranked[ranked["is_ceiling"]]
    if not ceil.empty:
        tables.append(_table(ceil, "ceiling-rankings", "Ceiling: images where the groups differ most in their "
                             "internal agreement", out / "ceiling_rankings.csv"))
    if res.summary is not None:  # the longest table, last
        tables.append(_table(res.summary, "summary", "Summary per group (from evaluate)", out / "summary_all.csv"))
    fig_entries = [{"uri": figures.save_figure(fig.make(res, cmp, a, b), out / "figures" / fig.file),
                    "caption": fig.caption(res, a, b)} for fig in FIGURES]
    # Where the groups look (asdgaze.report.regions_section): only for results with regions.csv
    regions = regions_section(res, cmp, out, a, b)
    if regions is not None:  # its sentence is in the headline (compare's group_headline)
        tables.insert(len(tables) - (res.summary is not None), _table(  # before the summary, the longest
            regions["stats"], "region-stats", "Where the groups look: statistics per label", out / "region_stats.csv",
            regions["note"]))
    image_panels, panels_note = panels(res, cmp, out, a, b, n_panels)
    notes = [panels_note] if panels_note else []
    env = jinja2.Environment(loader=jinja2.PackageLoader("asdgaze.report", "templates"),
                             autoescape=jinja2.select_autoescape(["html"], default=True))
    n_images = res.per_image["image"].nunique()
    models = [m for m in dict.fromkeys(res.per_image["model"]) if traits_of(m) is None]
    html = env.get_template("report.html").render(
        title=f"Does the model predict {b} gaze as well as {a} gaze?", version=__version__,
        created=time.strftime("%Y-%m-%d %H:%M:%S %Z"), results=str(res.root), group_a=a, group_b=b,
        lede=" ".join([f"{n_images} images, groups {a} and {b}; models: "
                       f"{', '.join(models) or 'none (baselines only)'}.", f"Differences are {a} − {b}.", *about(res)]),
        answer=answer, run_notes=list(run_notes), tables=tables, figures=fig_entries, panels=image_panels,
        panels_note=panels_note or "No panels.", what_was_run=what_was_run(res), deepgaze=deepgaze_files(res),
        caveats=caveats(res, cmp), regions=regions)
    path = out / "report.html"
    write_text_atomic(path, html)
    files = {t["id"]: out / t["csv"] for t in tables}
    return ReportResult(path, files, notes)

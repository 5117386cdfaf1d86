"""The answer first: does a model predict group B's gaze as well as group A's, how sure are we, and is the gap
the model's or the children's?

:func:`headline` reads a results folder's per-image scores (:class:`asdgaze.analysis.results.Results`) and
gives, for every model that is not a baseline and for the lead metrics of the metric registry (``lead``:
AUC-Judd in the MIT convention; information gain in the probabilistic one, for a model that is a density),
with the statistics of ``group_stats.csv`` (the same functions, resamples and seed, so the same numbers):

- each group's mean, the difference with its bootstrap 95 % CI, the Wilcoxon p (Holm-corrected across the
  metrics of the model and convention, as in ``group_stats.csv``) and on how many images each group was fit
  better; the same facts for the noise ceiling (a model whose traits say ``ceiling``) and the reference
  baseline (the fitted centre bias);
- where the model stands between the reference (0 %) and the ceiling (100 %) in each group;
- whether the model's gap exceeds the ceiling's gap (per image: the model's difference minus the ceiling's,
  its bootstrap CI and one-sample Wilcoxon p): a gap no larger than the ceiling's is what the groups' own
  consistency explains.

Nothing is stated that the numbers cannot support: with fewer than :data:`MIN_IMAGES` images there is no CI
and no p; a direction is stated only where the CI excludes 0. :func:`sentences` says it in words; the record
(:meth:`Headline.to_dict`) is what ``summary.json`` holds.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from asdgaze.analysis.stats import MIN_IMAGES, bootstrap_mean_ci, group_stats, paired_differences, wilcoxon_p
from asdgaze.metrics.registry import find, lead_metrics

__all__ = ["Fact", "Gap", "Subject", "Headline", "headline", "sentences", "default_groups", "ScoredTable"]

#: The comparison a headline makes when none is asked for: these two groups where both exist.
DEFAULT_GROUPS = ("TD", "ASD")


def default_groups(groups) -> tuple[str, str] | None:
    """(a, b) of the default comparison: TD - ASD where both exist, else the first two groups; None for one."""
    groups = list(groups)
    if all(g in groups for g in DEFAULT_GROUPS):
        return DEFAULT_GROUPS
    return (groups[0], groups[1]) if len(groups) >= 2 else None


@dataclass
class ScoredTable:
    """What a headline reads, where no results folder exists yet (evaluate itself): the per-image scores and
    each model's traits."""

    per_image: pd.DataFrame
    traits_by_model: dict

    def traits(self, model: str):
        from asdgaze.models.base import Traits

        return self.traits_by_model.get(model, Traits())


@dataclass
class Fact:
    """One metric of one model: the two groups, their difference (a - b) and how sure we are."""

    convention: str
    metric: str
    label: str
    unit: str
    higher_is_better: bool
    baseline: str
    mean_a: float
    mean_b: float
    diff: float
    ci_low: float
    ci_high: float
    p_wilcoxon: float
    p_holm: float
    n_images: int
    n_a_better: int  # images where group a is fit better (by the metric's direction)
    n_b_better: int

    @property
    def supported(self) -> bool:
        return self.n_images >= MIN_IMAGES and math.isfinite(self.ci_low) and math.isfinite(self.ci_high)

    @property
    def a_better(self) -> bool | None:
        """True where group a is fit better as far as the statistics show (the CI excludes 0 and the
        Holm-corrected Wilcoxon p is below 0.05), False where b is, else None."""
        if not self.supported or (self.ci_low <= 0 <= self.ci_high) or not self.p_holm < 0.05:
            return None
        return (self.diff > 0) == self.higher_is_better


@dataclass
class Gap:
    """The model's gap (a - b) against the ceiling's, per image: their difference, its CI and p."""

    model_gap: float
    ceiling_gap: float
    diff: float
    ci_low: float
    ci_high: float
    p_wilcoxon: float
    n_images: int


@dataclass
class Subject:
    """A model, the ceiling or the reference baseline, with its facts per lead metric."""

    model: str
    label: str
    role: str  # "model", "ceiling" or "reference"
    facts: list[Fact] = field(default_factory=list)
    # per lead metric ("convention/metric"): % of the way from the reference (0) to the ceiling (100), per group
    position: dict[str, dict[str, float]] = field(default_factory=dict)
    gap: dict[str, Gap] = field(default_factory=dict)
    # the ceiling's: viewers per image and group on average (fewer viewers, a lower ceiling)
    mean_viewers: dict[str, float] = field(default_factory=dict)


@dataclass
class Headline:
    group_a: str
    group_b: str
    n_images: int
    subjects: list[Subject]
    notes: list[str] = field(default_factory=list)
    sentences: list[str] = field(default_factory=list)
    min_images: int = MIN_IMAGES

    def to_dict(self) -> dict[str, Any]:
        def clean(v: Any) -> Any:
            if isinstance(v, float) and not math.isfinite(v):
                return None
            if isinstance(v, dict):
                return {k: clean(x) for k, x in v.items()}
            if isinstance(v, list):
                return [clean(x) for x in v]
            return v

        return clean({"groups": [self.group_a, self.group_b], "difference": f"{self.group_a} - {self.group_b}",
                      "n_images": self.n_images, "min_images_for_ci_and_p": self.min_images,
                      "subjects": [asdict(s) for s in self.subjects], "notes": self.notes,
                      "sentences": self.sentences})


def _fact(stats: pd.DataFrame, paired: pd.DataFrame, model: str, convention: str, metric: str) -> Fact | None:
    spec = find(metric, convention)
    rows = stats[(stats["model"] == model) & (stats["convention"] == convention) & (stats["metric"] == metric)]
    if spec is None or rows.empty:
        return None
    r = rows.iloc[0]
    p = paired[(paired["model"] == model) & (paired["convention"] == convention) & (paired["metric"] == metric)
               & (paired["baseline"] == r["baseline"])]
    sign = 1.0 if spec.higher_is_better else -1.0
    return Fact(convention, metric, spec.label, spec.unit, spec.higher_is_better, str(r["baseline"]),
                float(r["mean_a"]), float(r["mean_b"]), float(r["mean_diff"]), float(r["ci_low"]),
                float(r["ci_high"]), float(r["p_wilcoxon"]), float(r["p_holm"]), int(r["n"]),
                int((sign * p["diff"] > 0).sum()), int((sign * p["diff"] < 0).sum()))


def _gap(paired: pd.DataFrame, model: str, ceiling: str, convention: str, metric: str, n_resamples: int,
         seed: int) -> Gap | None:
    sel = paired[(paired["convention"] == convention) & (paired["metric"] == metric)]
    m = sel[sel["model"] == model][["image", "diff"]]
    c = sel[sel["model"] == ceiling][["image", "diff"]]
    j = m.merge(c, on="image", suffixes=("_m", "_c"))
    if j.empty:
        return None
    d = (j["diff_m"] - j["diff_c"]).to_numpy()
    low, high, _ = bootstrap_mean_ci(d, n_resamples=n_resamples, seed=seed)
    p = wilcoxon_p(d, np.zeros_like(d)) if len(d) >= MIN_IMAGES else math.nan
    return Gap(float(j["diff_m"].mean()), float(j["diff_c"].mean()), float(d.mean()), low, high, p, len(d))


def headline(res: Any, group_a: str, group_b: str, *, n_resamples: int = 10_000, seed: int = 0) -> Headline:
    """The headline of the results ``res`` (anything with ``per_image`` and ``traits(model)``; see the module
    docstring) for the difference ``group_a - group_b``."""
    from asdgaze.models import registry

    models = list(dict.fromkeys(res.per_image["model"]))
    ceiling = next((m for m in models if res.traits(m).ceiling), None)
    reference = next((m for m in models if registry.is_reference(m)), None)
    roles = {m: "ceiling" if m == ceiling else "reference" if m == reference else
             "model" if registry.traits_of(m) is None else None for m in models}
    roles = {m: r for m, r in roles.items() if r is not None}  # other baselines: in the tables, not here
    lead = {(spec.convention, spec.name) for spec in lead_metrics()}
    per_image = res.per_image[res.per_image["model"].isin(list(roles))]
    n_images = int(res.per_image["image"].nunique())
    if per_image.empty or not {group_a, group_b} <= set(per_image["group"]):
        h = Headline(group_a, group_b, n_images, [])
        h.notes.append(f"No model, ceiling or centre bias was scored for both {group_a} and {group_b}: nothing to "
                       "compare here (the tables below hold what was scored).")
        h.sentences = sentences(h)
        return h
    stats = group_stats(per_image, group_a, group_b, n_resamples=n_resamples, seed=seed,
                        only=lambda key: (key[1], key[2]) in lead)
    paired = paired_differences(per_image, group_a, group_b)
    subjects: list[Subject] = []
    for m, role in roles.items():
        s = Subject(m, registry.label_of(m), role)
        for spec in lead_metrics():
            f = _fact(stats, paired, m, spec.convention, spec.name)
            if f is not None:
                s.facts.append(f)
        if role == "ceiling":
            rows = per_image[(per_image["model"] == m) & (per_image["n_viewers"] > 0)]
            s.mean_viewers = {g: float(rows[rows["group"] == g].groupby("image")["n_viewers"].max().mean())
                              for g in (group_a, group_b) if (rows["group"] == g).any()}
        if s.facts:
            subjects.append(s)
    by_name = {s.model: s for s in subjects}
    for s in subjects:
        if s.role != "model":
            continue
        for f in s.facts:
            key = f"{f.convention}/{f.metric}"
            ref = next((x for x in by_name.get(reference, Subject("", "", "")).facts
                        if (x.convention, x.metric, x.baseline) == (f.convention, f.metric, f.baseline)), None)
            top = next((x for x in by_name.get(ceiling, Subject("", "", "")).facts
                        if (x.convention, x.metric, x.baseline) == (f.convention, f.metric, f.baseline)), None)
            if ref is not None and top is not None:
                s.position[key] = {group_a: _pct(f.mean_a, ref.mean_a, top.mean_a),
                                   group_b: _pct(f.mean_b, ref.mean_b, top.mean_b)}
            if top is not None:
                g = _gap(paired[paired["baseline"] == f.baseline], s.model, ceiling, f.convention, f.metric,
                         n_resamples, seed)
                if g is not None:
                    s.gap[key] = g
    h = Headline(group_a, group_b, n_images, subjects)
    if ceiling is None:
        h.notes.append("No noise ceiling was scored (the gold-standard baseline): a model's gap cannot be set against "
                       "the groups' own consistency.")
    if not any(s.role == "model" for s in subjects):
        h.notes.append("No model was scored (baselines only): the headline gives the ceiling and the centre bias.")
    if n_images < MIN_IMAGES:
        h.notes.append(f"Only {n_images} image(s): no confidence interval or p-value is given (they need at least "
                       f"{MIN_IMAGES} images).")
    h.sentences = sentences(h)
    return h


def _pct(value: float, low: float, high: float) -> float:
    return 100.0 * (value - low) / (high - low) if all(map(math.isfinite, (value, low, high))) and high != low \
        else math.nan


def _num(v: float) -> str:
    return "n/a" if not math.isfinite(v) else f"{v:.3g}" if abs(v) < 0.01 and v != 0 else f"{v:.3f}"


def _percent(v: float) -> str:
    return f"{v:.0f} %" if math.isfinite(v) else "n/a"


def _p(p: float) -> str:
    if not math.isfinite(p):
        return "p n/a"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}" if p < 0.1 else f"p = {p:.2f}"


def _what(f: Fact) -> str:
    """The metric and its convention, e.g. "AUC-Judd in the MIT convention"."""
    return f"{f.label} in the {'MIT' if f.convention == 'mit' else f.convention} convention"


def _fact_text(f: Fact, a: str, b: str) -> str:
    """The verdict and the numbers of one fact, in one sentence."""
    better = f.a_better
    verdict = ("no difference between the groups can be shown" if better is None
               else f"the {a if better else b} group's fixations are predicted better")
    text = (f"{_what(f)}: {verdict}: {_num(f.mean_a)} for {a}, {_num(f.mean_b)} for {b}, "
            f"difference {_num(f.diff)}")
    if f.supported:
        text += f" (95 % CI {_num(f.ci_low)} to {_num(f.ci_high)}; Wilcoxon {_p(f.p_holm)}, Holm-corrected)"
    else:
        text += f" (no CI or p: {f.n_images} image(s), fewer than {MIN_IMAGES})"
    return text + f"; {a} better on {f.n_a_better} of {f.n_images} images"


def sentences(h: Headline) -> list[str]:
    """The headline in words: what the statistics support, nothing more."""
    a, b = h.group_a, h.group_b
    out: list[str] = []
    for s in h.subjects:
        if s.role != "model":
            continue
        out += [f"{s.label}, {_fact_text(f, a, b)}." for f in s.facts]
        for key, pos in s.position.items():
            f = next(x for x in s.facts if f"{x.convention}/{x.metric}" == key)
            out.append(f"Between the centre bias (0 %) and the ceiling (100 %), {s.label} reaches "
                       f"{_percent(pos[a])} for {a} and {_percent(pos[b])} for {b} ({_what(f)}; "
                       "of the image means).")
        for key, g in s.gap.items():
            f = next(x for x in s.facts if f"{x.convention}/{x.metric}" == key)
            text = (f"Its {a} − {b} gap in {_what(f)} is {_num(g.model_gap)}, the ceiling's "
                    f"{_num(g.ceiling_gap)}")
            if g.n_images < MIN_IMAGES or not (math.isfinite(g.ci_low) and math.isfinite(g.ci_high)):
                text += f" (too few images, {g.n_images}, to compare them)."
            else:
                text += (f": difference {_num(g.diff)} (95 % CI {_num(g.ci_low)} to {_num(g.ci_high)}, "
                         f"{_p(g.p_wilcoxon)})")
                sign = 1.0 if f.higher_is_better else -1.0
                if g.ci_low <= 0 <= g.ci_high or not g.p_wilcoxon < 0.05:
                    text += ": the model's gap is no larger than the groups' own consistency explains."
                elif sign * g.diff > 0:
                    text += ": the model's gap exceeds what the groups' own consistency explains (the model's share)."
                else:
                    text += ": the model's gap is smaller than the ceiling's."
            out.append(text)
    for s in h.subjects:
        # a baseline's information gain over itself is 0 by definition: not a fact worth a sentence
        facts = [f for f in s.facts if f.baseline != s.model]
        if s.role not in ("ceiling", "reference"):
            continue
        for i, f in enumerate(facts):
            what = f"The {s.label}" if s.role == "reference" else "The ceiling"
            if s.role == "ceiling" and i == 0:
                viewers = " and ".join(f"{v:.1f} {g}" for g, v in s.mean_viewers.items())
                what += (" (each child predicted from the other children of the same group and image"
                         + (f"; {viewers} children per image on average" if viewers else "") + ")")
            out.append(f"{what}, {_fact_text(f, a, b)}.")
    if any(v > 100 for s in h.subjects for pos in s.position.values() for v in pos.values() if math.isfinite(v)):
        out.append("Above 100 %: the ceiling is estimated from the other children who saw the image (each child "
                   "left out in turn, so from one child fewer than the group has), and it is lower the fewer they "
                   "are; a model can exceed it, most easily where the groups are small.")
    return out + h.notes

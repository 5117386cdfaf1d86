"""Figures of the group comparison (matplotlib, Agg backend).

Colour choices: group colours come from cividis (readable by colour-blind readers) at two very
different lightnesses, and the groups also differ by marker shape, so figures survive greyscale
printing. Densities use cividis; differences use the diverging PuOr, centred on zero.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Collection
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display needed; must precede pyplot
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from asdgaze.io import write_bytes_atomic  # noqa: E402
from asdgaze.report.tables import info  # noqa: E402

GROUP_STYLE = [dict(color=plt.get_cmap("cividis")(0.05), marker="o"),
               dict(color=plt.get_cmap("cividis")(0.8), marker="s")]
DENSITY_CMAP = "cividis"
DIFF_CMAP = "PuOr"


def _label(metric: str, convention: str | None = None) -> str:
    """A panel's title: the metric's label, its convention and direction (from the metric registry)."""
    label, direction = info(metric, convention or "mit")
    where = ", ".join(x for x in (convention, direction) if x)
    return f"{label} ({where})" if where else label


def _panels(df: pd.DataFrame, value: str) -> list[tuple[str, pd.DataFrame]]:
    """One panel per (convention, metric), holding only the series with a finite ``value``.

    Within a panel the convention and the metric are fixed, so each series is labelled by its
    model (and baseline only where the panel has several): short labels that do not overlap.
    """
    df = df[np.isfinite(df[value].astype(float))]
    conv = df["convention"] if "convention" in df else pd.Series("", index=df.index)
    out = []
    for (c, metric), t in df.groupby([conv.rename("_c"), "metric"], sort=False):
        out.append((_label(metric, c or None), with_series(t)))  # one convention: no "(convention)" suffix
    return out


def with_series(df: pd.DataFrame) -> pd.DataFrame:
    """Add a ``series`` label per (model, baseline, convention): the model name, plus the baseline
    and the convention where the table has more than one of them."""
    out = df.copy()
    label = out["model"].astype(str)
    if "baseline" in out and out["baseline"].fillna("").nunique() > 1:
        label = label + " / " + out["baseline"].fillna("").astype(str)
    if "convention" in out and out["convention"].nunique() > 1:
        label = label + " (" + out["convention"].astype(str) + ")"
    out["series"] = label
    return out


def _grid(n: int, ncols: int = 3, size: tuple[float, float] = (3.4, 2.8)) -> tuple[Figure, np.ndarray]:
    ncols = max(1, min(ncols, n))
    nrows = max(1, int(np.ceil(n / ncols)))  # no panel at all: one empty, hidden axis
    fig, axes = plt.subplots(nrows, ncols, figsize=(size[0] * ncols, size[1] * nrows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, axes


def save_figure(fig: Figure, path: str | Path, dpi: int = 90) -> str:
    """Write ``fig`` as PNG to ``path`` and return it as a ``data:`` URI for embedding."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    data = buf.getvalue()
    write_bytes_atomic(path, data)
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def metric_ci_figure(means: pd.DataFrame, group_a: str, group_b: str, ceiling: Collection[str] = ()) -> Figure:
    """Mean ± bootstrap 95% CI of each group, per metric (panels) and model (x); ``ceiling`` models shaded."""
    panels = _panels(means, "mean")
    fig, axes = _grid(len(panels))
    for ax, (title, t) in zip(axes.flat, panels):
        models = list(dict.fromkeys(t["series"]))
        shaded = set(t.loc[t["model"].isin(list(ceiling)), "series"])
        for k, (group, style) in enumerate(zip((group_a, group_b), GROUP_STYLE)):
            g = t[t["group"] == group].set_index("series").reindex(models)
            x = np.arange(len(models)) + (k - 0.5) * 0.25
            err = np.vstack([g["mean"] - g["ci_low"], g["ci_high"] - g["mean"]])
            ax.errorbar(x, g["mean"], yerr=np.abs(err), linestyle="none", capsize=3, label=group, **style)
        for i, m in enumerate(models):
            if m in shaded:
                ax.axvspan(i - 0.45, i + 0.45, color="0.85", zorder=0)
        ax.set_xlim(-0.6, len(models) - 0.4)
        ax.set_xticks(np.arange(len(models)))
        ax.set_xticklabels([f"{m}\n(ceiling)" if m in shaded else m for m in models], fontsize=7,
                           rotation=20)
        ax.set_title(title, fontsize=9)
    axes.flat[0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def scatter_figure(paired: pd.DataFrame, group_a: str, group_b: str) -> Figure:
    """Group A against group B per image, per metric; the diagonal is equal fit."""
    panels = _panels(paired, "diff")
    fig, axes = _grid(len(panels), size=(3.0, 3.0))
    markers = ["o", "^", "s", "D", "v", "P", "X"]
    # One marker and colour per series across all panels, so one legend serves them all.
    every = list(dict.fromkeys(x for _, t in panels for x in t["series"]))
    for ax, (title, t) in zip(axes.flat, panels):
        for model, m in t.groupby("series", sort=False):
            k = every.index(model)
            ax.scatter(m["value_b"], m["value_a"], s=14, marker=markers[k % len(markers)],
                       color=plt.get_cmap("cividis")(k / max(1, len(every))), label=model, alpha=0.8)
        lo = np.nanmin([t["value_a"].min(), t["value_b"].min()])
        hi = np.nanmax([t["value_a"].max(), t["value_b"].max()])
        ax.plot([lo, hi], [lo, hi], color="0.4", linewidth=1, linestyle="--")
        ax.set_xlabel(group_b, fontsize=8)
        ax.set_ylabel(group_a, fontsize=8)
        ax.set_title(title, fontsize=9)
    if panels:  # the legend where most series are
        best = max(range(len(panels)), key=lambda i: panels[i][1]["series"].nunique())
        axes.flat[best].legend(fontsize=6)
    fig.tight_layout()
    return fig


def differences_figure(paired: pd.DataFrame, group_a: str, group_b: str) -> Figure:
    """Distribution over images of the paired difference a - b, per metric and model."""
    panels = _panels(paired, "diff")
    fig, axes = _grid(len(panels))
    for ax, (title, t) in zip(axes.flat, panels):
        models = list(dict.fromkeys(t["series"]))
        data = [t.loc[t["series"] == m, "diff"].to_numpy() for m in models]
        ax.boxplot(data, widths=0.5, showfliers=False, medianprops=dict(color="black"))
        rng = np.random.default_rng(0)  # fixed jitter: figures are reproducible
        for i, d in enumerate(data):
            ax.scatter(i + 1 + rng.uniform(-0.12, 0.12, len(d)), d, s=8, color="0.2", alpha=0.6)
        ax.axhline(0, color="0.4", linewidth=1, linestyle="--")
        ax.set_xticks(np.arange(1, len(models) + 1))
        ax.set_xticklabels(models, fontsize=7, rotation=20)
        ax.set_title(f"{title}: {group_a} − {group_b}", fontsize=9)
    fig.tight_layout()
    return fig


def image_panel(image: np.ndarray, model_density: np.ndarray, fix_a: np.ndarray, fix_b: np.ndarray,
                dens_a: np.ndarray, dens_b: np.ndarray, names: tuple[str, str], title: str = "",
                model: str = "model") -> Figure:
    """image | group A fixations | group B fixations | model density | density A - density B over the image.

    fix_a, fix_b: (n, 2) arrays of (x, y). dens_a, dens_b: each group's empirical density (any non-negative
    map; each is normalised to sum 1 before the difference). The model's density and the difference carry a
    colour bar; the difference is drawn over the image in grey, so where it lies can be read.
    """
    fig, axes = plt.subplots(1, 5, figsize=(16, 2.9))
    axes[0].imshow(image)
    axes[0].set_title(title or "image", fontsize=9)
    for ax, fix, name, style in ((axes[1], fix_a, names[0], GROUP_STYLE[0]), (axes[2], fix_b, names[1], GROUP_STYLE[1])):
        ax.imshow(image, alpha=0.45)
        ax.scatter(fix[:, 0], fix[:, 1], s=9, marker=style["marker"], facecolor="white", edgecolor="black",
                   linewidth=0.6)
        ax.set_title(f"{name} fixations (n={len(fix)})", fontsize=9)
    dens = model_density / model_density.max() if model_density.max() > 0 else model_density
    im = axes[3].imshow(dens, cmap=DENSITY_CMAP, vmin=0, vmax=1)
    axes[3].set_title(f"{model}: density (max = 1)", fontsize=9)
    bar = fig.colorbar(im, ax=axes[3], fraction=0.046, pad=0.02)
    bar.ax.tick_params(labelsize=7)
    pa = dens_a / dens_a.sum() if dens_a.sum() > 0 else dens_a
    pb = dens_b / dens_b.sum() if dens_b.sum() > 0 else dens_b
    diff = pa - pb
    vmax = float(np.abs(diff).max()) or 1.0
    gray = image.mean(axis=2) if image.ndim == 3 else image
    axes[4].imshow(gray, cmap="gray", alpha=1.0)
    im = axes[4].imshow(diff / vmax, cmap=DIFF_CMAP, vmin=-1, vmax=1, alpha=0.7)
    axes[4].set_title(f"where {names[0]} looked more (+) or {names[1]} (−)", fontsize=9)
    bar = fig.colorbar(im, ax=axes[4], fraction=0.046, pad=0.02, ticks=[-1, 0, 1])
    bar.ax.set_yticklabels([f"{names[1]} more", "equal", f"{names[0]} more"], fontsize=7)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


def headline_figure(means: pd.DataFrame, subjects: list[tuple[str, str, str]], group_a: str, group_b: str) -> Figure:
    """The headline's figure: per lead metric (panel), each group's mean with its bootstrap 95 % CI for the
    centre bias, the models and the ceiling (shaded), left to right.

    ``means``: :func:`asdgaze.analysis.stats.group_means` rows of those models and metrics; ``subjects``:
    (model, label, role) in the order shown.
    """
    panels = [(c, m) for c, m in dict.fromkeys(zip(means["convention"], means["metric"]))]
    fig, axes = _grid(len(panels), ncols=2, size=(5.2, 3.2))
    order = {"reference": 0, "model": 1, "ceiling": 2}
    shown = sorted(subjects, key=lambda s: order[s[2]])
    for ax, (conv, metric) in zip(axes.flat, panels):
        t = means[(means["convention"] == conv) & (means["metric"] == metric)]
        names = [s for s in shown if s[0] in set(t["model"])]
        for k, (group, style) in enumerate(zip((group_a, group_b), GROUP_STYLE)):
            g = t[t["group"] == group].set_index("model")
            for i, (model, label, role) in enumerate(names):
                if model not in g.index:
                    continue
                r = g.loc[model]
                x = i + (k - 0.5) * 0.25
                err = None
                if np.isfinite(r["ci_low"]) and np.isfinite(r["ci_high"]):
                    err = [[r["mean"] - r["ci_low"]], [r["ci_high"] - r["mean"]]]
                ax.errorbar([x], [r["mean"]], yerr=err, linestyle="none", capsize=3,
                            label=group if i == 0 else None, **style)
        for i, (model, label, role) in enumerate(names):
            if role == "ceiling":
                ax.axvspan(i - 0.45, i + 0.45, color="0.88", zorder=0)
        ax.set_xlim(-0.6, len(names) - 0.4)
        ax.set_xticks(np.arange(len(names)))
        ax.set_xticklabels([label for _, label, _ in names], fontsize=7, rotation=15)
        ax.set_title(_label(metric, conv), fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


MODEL_MARKERS = ["^", "D", "v", "P", "X", "*", "<", ">", "h"]


def regions_figure(stats: pd.DataFrame, group_a: str, group_b: str, min_images: int,
                   labels: dict[str, str] | None = None) -> Figure:
    """Where the groups look: per label (row), each group's fixation share (filled marker) and each model's
    probability mass there (hollow marker; in a group's colour where the model is fitted to each group), in %,
    with bootstrap 95 % CIs; the region's share of the image area as a grey bar. A label on fewer than
    ``min_images`` images is greyed, without CIs, and its image count is in its name.

    ``stats``: :func:`asdgaze.analysis.regions.region_stats`; ``labels``: a display name per model.
    """
    labels = labels or {}
    order = list(dict.fromkeys(stats["label"]))
    shares = stats[stats["statistic"] == "fixation_share"]
    masses = stats[stats["statistic"] == "mass"]
    series = [(f"{g} fixations", shares[shares["group"] == g], dict(style, mfc=style["color"]))
              for g, style in zip((group_a, group_b), GROUP_STYLE)]
    colour = {group_a: GROUP_STYLE[0]["color"], group_b: GROUP_STYLE[1]["color"], "": "0.35"}
    for k, model in enumerate(dict.fromkeys(masses["model"])):
        for g, t in masses[masses["model"] == model].groupby("group", sort=False):
            name = labels.get(model, model) + (f" ({g})" if g else "") + " mass"
            series.append((name, t, dict(marker=MODEL_MARKERS[k % len(MODEL_MARKERS)], color=colour.get(g, "0.35"),
                                         mfc="white")))
    step = 0.8 / max(1, len(series))
    fig, ax = plt.subplots(figsize=(8.5, 0.8 + len(order) * max(0.45, 0.09 * len(series))))
    area = stats[stats["statistic"] == "area_share"].set_index("label")
    for i, label in enumerate(order):
        if label in area.index:
            ax.barh(i, 100 * area.loc[label, "mean"], height=0.9, color="0.92", zorder=0)
    for j, (name, t, style) in enumerate(series):
        t = t.set_index("label")
        for i, label in enumerate(order):
            if label not in t.index:
                continue
            r = t.loc[label]
            few = r["n_images"] < min_images
            y = i - 0.4 + (j + 0.5) * step
            err = None
            if not few and np.isfinite(r["ci_low"]) and np.isfinite(r["ci_high"]):
                err = [[100 * (r["mean"] - r["ci_low"])], [100 * (r["ci_high"] - r["mean"])]]
            look = dict(style, color="0.7", mfc="white" if style["mfc"] == "white" else "0.7") if few else style
            ax.errorbar([100 * r["mean"]], [y], xerr=err, linestyle="none", capsize=2, markersize=5, **look)
    names = []
    n = stats[stats["statistic"] == "fixation_share"].groupby("label")["n_images"].max()
    for label in order:
        k = int(n.get(label, 0))
        names.append(f"{label} ({k} image{'s' if k != 1 else ''}" + (", too few)" if k < min_images else ")"))
    ax.set_yticks(np.arange(len(order)))
    ax.set_yticklabels(names, fontsize=8)
    for tick, label in zip(ax.get_yticklabels(), order):
        if int(n.get(label, 0)) < min_images:
            tick.set_color("0.55")
    ax.set_ylim(len(order) - 0.5, -0.5)
    ax.set_xlim(0, 100)
    ax.set_xlabel("% of the group's fixations (filled) or of the model's probability (hollow)", fontsize=8)
    handles = [Patch(color="0.92", label="area of the region")]
    handles += [Line2D([], [], linestyle="none", markersize=5, label=name, **style) for name, _, style in series]
    ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return fig

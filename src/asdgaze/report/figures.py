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
                dens_a: np.ndarray, dens_b: np.ndarray, names: tuple[str, str], title: str = "") -> Figure:
    """image | model density | group A fixations | group B fixations | density A - density B.

    fix_a, fix_b: (n, 2) arrays of (x, y). dens_a, dens_b: each group's empirical density
    (any non-negative map; each is normalised to sum 1 before the difference).
    """
    fig, axes = plt.subplots(1, 5, figsize=(15, 2.7))
    axes[0].imshow(image)
    axes[0].set_title(title or "image", fontsize=9)
    axes[1].imshow(model_density, cmap=DENSITY_CMAP)
    axes[1].set_title("model density", fontsize=9)
    for ax, fix, name, style in ((axes[2], fix_a, names[0], GROUP_STYLE[0]), (axes[3], fix_b, names[1], GROUP_STYLE[1])):
        ax.imshow(image, alpha=0.45)
        ax.scatter(fix[:, 0], fix[:, 1], s=9, marker=style["marker"], facecolor="white", edgecolor="black",
                   linewidth=0.6)
        ax.set_title(f"{name} fixations (n={len(fix)})", fontsize=9)
    pa = dens_a / dens_a.sum() if dens_a.sum() > 0 else dens_a
    pb = dens_b / dens_b.sum() if dens_b.sum() > 0 else dens_b
    diff = pa - pb
    vmax = float(np.abs(diff).max()) or 1.0
    im = axes[4].imshow(diff, cmap=DIFF_CMAP, vmin=-vmax, vmax=vmax)
    axes[4].set_title(f"density {names[0]} − {names[1]}", fontsize=9)
    fig.colorbar(im, ax=axes[4], fraction=0.046, pad=0.02).ax.tick_params(labelsize=6)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig

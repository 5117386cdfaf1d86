"""Plain-text tables of evaluation results, for the terminal and for logs."""

from __future__ import annotations

import math

import pandas as pd

from asdgaze.metrics.registry import find

#: Summary rows that are no metric of the registry but derived from one (evaluate's summary).
DERIVED = {"ig_pct_gold": ("IG as % of gold standard", "higher is better")}


def info(metric: str, convention: str | None = "mit") -> tuple[str, str]:
    """(label, direction) of a metric, read from the metric registry when asked (a metric registered at
    run time included); an unknown name is its own label, without a direction.

    >>> info("kl"), info("ll", "probabilistic")[1]
    (('KL divergence (nats)', 'lower is better'), 'higher is better')
    """
    spec = find(metric, convention or "mit")
    if spec is not None:
        return spec.label, spec.direction
    return DERIVED.get(metric, (metric, ""))


def _cell(mean: float, sd: float, n: int) -> str:
    if n == 0 or math.isnan(mean):
        return "n/a"
    sd_text = "" if math.isnan(sd) else f" ± {sd:.3f}"
    mean_text = f"{mean:.3f}"
    if mean_text == "-0.000":  # a tiny negative rounds to zero; the sign would only mislead
        mean_text = "0.000"
    return f"{mean_text}{sd_text} (n={n})"


def summary_table(summary: pd.DataFrame) -> str:
    """One row per metric, one column per group: ``mean ± SD (n=images)``; with the columns
    model and convention (evaluate's summary), one such block per model and convention.

    Example:
        >>> df = pd.DataFrame({"group": ["ASD", "TD"], "metric": ["nss", "nss"],
        ...                    "mean": [1.5, 2.0], "sd": [0.25, 0.5], "n": [8, 8]})
        >>> print(summary_table(df))
        metric   ASD                   TD                    direction
        NSS      1.500 ± 0.250 (n=8)   2.000 ± 0.500 (n=8)   higher is better
    """
    if "model" in summary.columns and "convention" in summary.columns:
        blocks = []
        for (model, conv), sel in summary.groupby(["model", "convention"], sort=False):
            table = _one_table(sel.reset_index(drop=True), str(conv))
            blocks.append(f"{model} ({conv} convention)\n{table}")
        return "\n\n".join(blocks)
    return _one_table(summary, "mit")


def _one_table(summary: pd.DataFrame, convention: str) -> str:
    groups = list(dict.fromkeys(summary["group"]))
    metrics = list(dict.fromkeys(summary["metric"]))
    rows = [["metric", *groups, "direction"]]
    for metric in metrics:
        label, direction = info(metric, convention)
        cells = []
        for group in groups:
            sel = summary[(summary["group"] == group) & (summary["metric"] == metric)]
            if sel.empty:
                cells.append("n/a")
            else:
                r = sel.iloc[0]
                cells.append(_cell(float(r["mean"]), float(r["sd"]), int(r["n"])))
        rows.append([label, *cells, direction])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["   ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    return "\n".join(lines)

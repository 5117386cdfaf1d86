"""Plain-text tables of evaluation results, for the terminal and for logs."""

from __future__ import annotations

import math

import pandas as pd

from asdgaze.metrics.registry import metrics_for

#: Label and direction of each metric per convention, from the metric registry.
INFO: dict[str, dict[str, tuple[str, str]]] = {
    conv: {m.name: (m.label, m.direction) for m in metrics_for(conv)} for conv in ("mit", "probabilistic")
}
INFO["probabilistic"]["ig_pct_gold"] = ("IG as % of gold standard", "higher is better")
#: Direction and unit of each MIT-convention metric, shown beside its name.
METRIC_INFO: dict[str, tuple[str, str]] = INFO["mit"]


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
            table = _one_table(sel.reset_index(drop=True), INFO.get(str(conv), METRIC_INFO))
            blocks.append(f"{model} ({conv} convention)\n{table}")
        return "\n\n".join(blocks)
    return _one_table(summary, METRIC_INFO)


def _one_table(summary: pd.DataFrame, info: dict[str, tuple[str, str]]) -> str:
    groups = list(dict.fromkeys(summary["group"]))
    metrics = list(dict.fromkeys(summary["metric"]))
    rows = [["metric", *groups, "direction"]]
    for metric in metrics:
        label, direction = info.get(metric, (metric, ""))
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

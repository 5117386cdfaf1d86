"""Plain-text tables of evaluation results, for the terminal and for logs."""

from __future__ import annotations

import math

import pandas as pd

#: Direction and unit of each MIT-convention metric, shown beside its name.
METRIC_INFO: dict[str, tuple[str, str]] = {
    "auc_judd": ("AUC-Judd", "higher is better"),
    "auc_borji": ("AUC-Borji", "higher is better"),
    "auc_shuffled": ("shuffled AUC", "higher is better"),
    "nss": ("NSS", "higher is better"),
    "cc": ("CC", "higher is better"),
    "kl": ("KL divergence (nats)", "lower is better"),
    "sim": ("SIM", "higher is better"),
    "ig": ("information gain (bits)", "higher is better"),
    "emd": ("EMD (1/32 cells)", "lower is better"),
}


def _cell(mean: float, sd: float, n: int) -> str:
    if n == 0 or math.isnan(mean):
        return "n/a"
    sd_text = "" if math.isnan(sd) else f" ± {sd:.3f}"
    mean_text = f"{mean:.3f}"
    if mean_text == "-0.000":  # a tiny negative rounds to zero; the sign would only mislead
        mean_text = "0.000"
    return f"{mean_text}{sd_text} (n={n})"


def summary_table(summary: pd.DataFrame) -> str:
    """One row per metric, one column per group: ``mean ± SD (n=images)``.

    Example:
        >>> df = pd.DataFrame({"group": ["ASD", "TD"], "metric": ["nss", "nss"],
        ...                    "mean": [1.5, 2.0], "sd": [0.25, 0.5], "n": [8, 8]})
        >>> print(summary_table(df))
        metric   ASD                   TD                    direction
        NSS      1.500 ± 0.250 (n=8)   2.000 ± 0.500 (n=8)   higher is better
    """
    groups = list(dict.fromkeys(summary["group"]))
    metrics = list(dict.fromkeys(summary["metric"]))
    rows = [["metric", *groups, "direction"]]
    for metric in metrics:
        label, direction = METRIC_INFO.get(metric, (metric, ""))
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

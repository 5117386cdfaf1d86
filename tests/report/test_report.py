"""The HTML report and the compare/report commands on a real evaluate output (demo data)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgb

from asdgaze.analysis.compare import CompareOptions
from asdgaze.cli import main
from asdgaze.report import figures
from asdgaze.report.html import build_report

FAST = CompareOptions(n_resamples=500, n_permutations=99)


@pytest.fixture(scope="module")
def report(demo_results, tmp_path_factory):
    return build_report(demo_results, tmp_path_factory.mktemp("report"), FAST)


def test_report_is_self_contained_with_tables_beside_it(report, demo_results):
    html = report.html.read_text()
    # No reference to anything outside the file: every src is a data: URI, no URL anywhere in an attribute.
    srcs = re.findall(r'\bsrc="([^"]*)"', html)
    assert srcs and all(s.startswith("data:image/png;base64,") for s in srcs)
    assert not re.search(r'(?:src|href)="(?:https?:)?//', html)
    assert "Content-Security-Policy" in html
    out = report.html.parent
    stats = pd.read_csv(out / "group_stats.csv")
    assert {"p_permutation", "n_permutations", "rank_biserial", "d_z", "p_holm"} <= set(stats.columns)
    assert sorted(stats.model.unique()) == ["centre-bias", "uniform"]
    stats = stats[stats.convention == "mit"]  # evaluate scores both conventions
    assert len(stats) == 18  # 2 models x 9 metrics
    perm = stats.set_index(["model", "metric"])
    assert perm.loc[("centre-bias", "nss"), "n_permutations"] == 99
    assert 0.01 <= perm.loc[("centre-bias", "nss"), "p_permutation"] <= 1.0
    assert perm.loc[("centre-bias", "cc"), "n_permutations"] == 0  # a map metric: never permuted
    for csv in report.files.values():
        assert csv.is_file() and csv.name in html
    # The caveats a reader needs are on the page; the demo's OSIE images get no Saliency4ASD/MIT1003 caveat.
    for phrase in ("exchangeable", "arbitrarily", "are not permuted"):
        assert phrase in html
    assert "subset of MIT1003" not in html
    # Panels of the worst images: one figure per panel, from the real demo images.
    assert len(list((out / "figures").glob("panel_*.png"))) >= 2


def test_metric_undefined_on_every_image_keeps_its_row(report):
    # A uniform map is constant: AUC-Judd is NaN by the project's rule (README), for every image,
    # so the row is there with n = 0 and no numbers rather than silently missing.
    stats = pd.read_csv(report.html.parent / "group_stats.csv")
    row = stats[(stats.model == "uniform") & (stats.metric == "auc_judd")].iloc[0]
    assert row.n == 0 and np.isnan(row.mean_diff) and np.isnan(row.p_wilcoxon) and np.isnan(row.ci_low)


def test_names_are_escaped(tmp_path):
    bad = "<script>alert(1)</script>"
    rows = []
    for i in range(4):
        for g, v in (("TD", 1.0 + i), ("ASD", 0.5 * i)):
            rows.append(dict(image=str(i), group=g, metric="nss", value=v, convention="mit", n_fixations=5,
                             model=bad, baseline="", n_viewers=3))
    pd.DataFrame(rows).to_csv(tmp_path / "per_image.csv", index=False)
    r = build_report(tmp_path, tmp_path / "rep", FAST)
    html = r.html.read_text()
    assert bad not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "panels skipped" in html  # no manifest: said on the page, not a crash


def test_colours_survive_greyscale():
    lum = [np.dot(to_rgb(s["color"]), [0.299, 0.587, 0.114]) for s in figures.GROUP_STYLE]
    assert abs(lum[0] - lum[1]) > 0.4
    assert figures.GROUP_STYLE[0]["marker"] != figures.GROUP_STYLE[1]["marker"]
    assert figures.DENSITY_CMAP == "cividis" and figures.DIFF_CMAP == "PuOr"


def test_cli_compare_and_report(demo_results, tmp_path, capsys):
    rc = main(["compare", "--results", str(demo_results), "--out", str(tmp_path / "c"), "--n-resamples", "200",
               "--groups", "ASD,TD"])
    assert rc == 0
    stats = pd.read_csv(tmp_path / "c" / "group_stats.csv")
    assert set(stats.group_a) == {"ASD"} and set(stats.group_b) == {"TD"}
    assert main(["compare", "--results", str(demo_results), "--out", str(tmp_path / "d"), "--groups", "TD"]) == 2
    assert main(["report", "--results", str(demo_results), "--out", str(tmp_path / "r"), "--n-resamples", "200"]) == 0
    assert (tmp_path / "r" / "report.html").is_file()
    assert main(["compare", "--results", str(tmp_path), "--out", str(tmp_path / "e")]) == 1
    assert "no per_image.csv" in capsys.readouterr().err


def test_new_contract_with_ceiling_conventions_baselines_and_participants(tmp_path):
    rng = np.random.default_rng(5)
    rows = []
    for model in ("deepgaze2e", "gold-standard"):
        for conv in ("mit", "probabilistic"):
            for base in ("centerbias", "uniform"):
                for i in range(6):
                    for g in ("TD", "ASD"):
                        rows.append(dict(image=f"{i}", group=g, metric="ig", value=rng.normal(), convention=conv,
                                         n_fixations=20, model=model, baseline=base, n_viewers=7))
    pd.DataFrame(rows).to_csv(tmp_path / "per_image.csv", index=False)
    parts = [dict(participant=f"{g}{p}", group=g, image=str(i), metric="ig", value=rng.normal())
             for g in ("TD", "ASD") for p in range(5) for i in range(6)]
    pd.DataFrame(parts).to_csv(tmp_path / "per_participant.csv", index=False)
    r = build_report(tmp_path, tmp_path / "rep", FAST)
    html = r.html.read_text()
    stats = pd.read_csv(tmp_path / "rep" / "group_stats.csv")
    assert len(stats) == 8  # 2 models x 2 conventions x 2 baselines
    assert (tmp_path / "rep" / "participant_stats.csv").is_file() and "Participant-level comparison" in html
    assert (tmp_path / "rep" / "ceiling_rankings.csv").is_file()
    labels = set(figures.with_series(stats)["series"])
    assert "gold-standard / uniform (probabilistic)" in labels and len(labels) == 8

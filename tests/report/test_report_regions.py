"""The report's "Where the groups look" section: there with regions.csv (figure, sentence, table and its CSV),
absent without; compare writes region_stats.csv."""

from __future__ import annotations

import re

import pandas as pd

from asdgaze.analysis.compare import CompareOptions, compare
from asdgaze.analysis.regions import region_analysis
from asdgaze.report.html import build_report

FAST = CompareOptions(n_resamples=300, n_permutations=99)
IMAGES = [str(i) for i in range(1, 9)]


def _results(folder, regions: bool):
    folder.mkdir()
    rows = [dict(image=i, group=g, metric="nss", value=v + int(i) / 10, convention="mit", n_fixations=5, model="m",
                 baseline="", n_viewers=2) for i in IMAGES for g, v in (("TD", 1.0), ("ASD", 0.8))]
    pd.DataFrame(rows).to_csv(folder / "per_image.csv", index=False)
    if not regions:
        return folder
    shares, viewers = [], []
    for i in IMAGES:  # TD: 3 of 4 fixations per viewer on the face, ASD: 1 of 4 (text: 3 images only)
        for label in ["face", "background"] + (["text"] if int(i) <= 3 else []):
            for g, k in (("TD", 3), ("ASD", 1)):
                k = k if label == "face" else (4 - k if label == "background" else 0)
                shares.append([i, g, label, "fixation_share", "", k / 4, 2 * k, 8])
                shares.append([i, g, label, "area_share", "", 0.2, "", ""])
                shares.append([i, g, label, "mass", "m", 0.3 + int(i) / 100, "", ""])
                viewers += [[i, g, v, label, k, 4] for v in (0, 1)]
    pd.DataFrame(shares, columns=["image", "group", "label", "measure", "model", "value", "n_inside",
                                  "n_fixations"]).to_csv(folder / "regions.csv", index=False)
    pd.DataFrame(viewers, columns=["image", "group", "viewer", "label", "n_inside", "n_fixations"]).to_csv(
        folder / "region_viewers.csv", index=False)
    return folder


def test_section_figure_sentence_and_table(tmp_path):
    res = _results(tmp_path / "res", regions=True)
    report = build_report(res, tmp_path / "rep", FAST)
    html = report.html.read_text()
    assert '<h2 id="regions">Where the groups look</h2>' in html
    assert re.search(r'<img id="regions-figure" src="data:image/png;base64,', html)
    sentence = region_analysis(res, n_resamples=FAST.n_resamples, n_permutations=FAST.n_permutations).sentence
    # TD 75 % vs ASD 25 % on the face on all 8 images: the one supported difference, in the answer and the section
    assert sentence.startswith("Regions: face (on 8 images) holds 75 % of the TD fixations and 25 % of the ASD")
    escaped = sentence.replace("'", "&#39;")
    assert html.count(escaped) == 2 and html.index(escaped) < html.index('id="regions"')
    table = pd.read_csv(report.html.parent / "region_stats.csv")
    text = table[(table.label == "text") & (table.statistic == "share_difference")].iloc[0]
    assert text.n_images == 3 and text.ci_method.startswith("none: fewer than")
    assert 'id="table-region-stats"' in html and (report.html.parent / "figures" / "regions.png").is_file()
    cmp = compare(res, tmp_path / "cmp", FAST)
    assert cmp.regions is not None and (tmp_path / "cmp" / "region_stats.csv").is_file()
    # one headline everywhere: compare.json's record ends with the same sentence, once
    import json

    said = json.loads((tmp_path / "cmp" / "compare.json").read_text())["headline"]["sentences"]
    assert said[-1] == sentence and said.count(sentence) == 1


def test_no_section_without_regions(tmp_path):
    res = _results(tmp_path / "res", regions=False)
    html = build_report(res, tmp_path / "rep", FAST).html.read_text()
    assert 'id="regions"' not in html and "Regions:" not in html
    assert not (tmp_path / "rep" / "region_stats.csv").exists()

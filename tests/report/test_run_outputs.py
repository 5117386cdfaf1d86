"""compare and report on one results folder of the multi-model evaluate (what `asdgaze run` writes)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from asdgaze.analysis.compare import CompareOptions, compare
from asdgaze.data import load_demo
from asdgaze.evaluate import EvaluateOptions, evaluate
from asdgaze.maps.io import save_npy
from asdgaze.models.baselines import gaussian_center_log_density
from asdgaze.report.html import build_report


@pytest.fixture(scope="module")
def multi(tmp_path_factory):
    root = tmp_path_factory.mktemp("multi")
    ds = load_demo()
    maps = root / "maps"
    maps.mkdir()
    for stem, stim in ds.stimuli.items():
        save_npy(maps / f"{stem}.npy", gaussian_center_log_density(stim.height, stim.width))
    # --mit1003 pointed at the demo's own images: every image is found there (hash distance 0).
    opts = EvaluateOptions(maps_kind="log-density", metrics=("nss",), prob_metrics=("ll", "ig", "nss", "auc"),
                           baselines=("centerbias", "gold-standard"), mit1003=str(ds.root / "TrainingData" / "Images"))
    evaluate(ds, {"mine": maps}, root / "results", opts, workers=1, progress=False)
    options = CompareOptions(n_resamples=200, n_permutations=50)
    cmp = compare(root / "results", root / "compare", options)
    rep = build_report(root / "results", root / "report", options, compare_result=cmp,
                       run_notes=["DeepGaze IIE is MISSING from this demo (not run): test"])
    return root, cmp, rep


def test_permutation_filled_for_models_not_for_group_fitted_baselines(multi):
    _, cmp, _ = multi
    gs = cmp.group_stats
    mine = gs[(gs.model == "mine") & (gs.convention == "probabilistic")].set_index("metric")
    for m in ("ll", "nss", "auc"):
        assert 0 < mine.loc[m, "p_permutation"] <= 1 and mine.loc[m, "n_permutations"] == 50
    # IG is scored against the group-fitted centre bias: relabelling scanpaths changes that baseline,
    # so re-averaging is no permutation test
    assert mine.loc["ig", "baseline"] == "centerbias"
    assert np.isnan(mine.loc["ig", "p_permutation"]) and mine.loc["ig", "n_permutations"] == 0
    assert any("mine ig" in n and "baseline" in n for n in cmp.notes)
    fitted = gs[gs.model.isin(["centerbias", "gold-standard"])]
    assert fitted["p_permutation"].isna().all() and (fitted["n_permutations"] == 0).all()
    assert gs.loc[gs.model == "gold-standard", "is_ceiling"].all() and not gs.loc[gs.model != "gold-standard",
                                                                                   "is_ceiling"].any()


def test_report_states_measured_overlap_notes_gold_percent_and_panels(multi):
    root, _, rep = multi
    html = rep.html.read_text()
    assert "8 of 8 images match an MIT1003 image" in html and "not measured in this run" not in html
    assert html.index("DeepGaze IIE is MISSING from this demo") < html.index('id="answer"')  # on top
    # IG as % of the gold standard: 100 * IG(mine) / IG(gold), from the per-image IG values.
    per_image = pd.read_csv(root / "results" / "per_image.csv", dtype={"image": str})
    ig = per_image[(per_image.metric == "ig") & (per_image.group == "TD")]
    want = 100 * ig[ig.model == "mine"].value.mean() / ig[ig.model == "gold-standard"].value.mean()
    table = pd.read_csv(root / "report" / "ig_pct_gold.csv")
    got = table[(table.model == "mine") & (table.group == "TD")]["ig_pct_gold (image mean)"].iloc[0]
    np.testing.assert_allclose(got, want, rtol=1e-9)
    assert "Information gain as % of the gold standard" in html
    # The panels show the maps of the model that has a folder of maps (baselines have none).
    panels = sorted(p.name for p in (root / "report" / "figures").glob("panel_*.png"))
    assert panels and "Per-image panels skipped" not in html
    assert json.loads((root / "results" / "manifest.json").read_text())["mit1003"]["n_matched"] == 8

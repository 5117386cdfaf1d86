"""evaluate with several models, both conventions and the baselines (issue 7), on the demo data."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from asdgaze.metrics.suite import MIT_METRICS
import pytest
from scipy.special import logsumexp

from asdgaze.cli import main
from asdgaze.data import demo_dataset_path, load_demo
from asdgaze.evaluate import EvaluateError, EvaluateOptions, evaluate
from asdgaze.analysis.results import load_results
from asdgaze.evaluate.outputs import PER_FIXATION_COLUMNS, PER_IMAGE_COLUMNS, ig_percent_of_gold, summarise
from asdgaze.maps.io import save_npy

DEFAULT = ("uniform", "centerbias", "gold-standard", "other-group")


def _log_maps(folder, ds, seed=1):
    rng = np.random.default_rng(seed)
    out = {}
    for stem, st in ds.stimuli.items():
        yy, xx = np.mgrid[0:st.height, 0:st.width]
        lp = -(((yy - st.height / 2) / (0.25 * st.height)) ** 2 + ((xx - st.width / 2) / (0.25 * st.width)) ** 2) / 2
        lp = lp + 0.2 * rng.standard_normal(lp.shape)
        lp -= logsumexp(lp)
        save_npy(folder / f"{stem}.npy", lp.astype(np.float32))
        out[stem] = np.load(folder / f"{stem}.npy").astype(np.float64)
    return out


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("core")
    ds = load_demo()
    maps = _log_maps(tmp / "maps", ds)
    opts = EvaluateOptions(maps_kind="log-density", baselines=DEFAULT, prob_ig_baseline="uniform",
                           saliency_maps="density")
    res = evaluate(ds, {"model": tmp / "maps"}, tmp / "out", opts, workers=2, progress=False)
    return ds, maps, res, tmp


def test_one_per_image_csv_holds_both_conventions_for_every_model(run):
    ds, maps, res, tmp = run
    df = pd.read_csv(tmp / "out" / "per_image.csv", dtype={"image": str}, keep_default_na=False)
    assert tuple(df.columns) == PER_IMAGE_COLUMNS
    conv = df.groupby("model")["convention"].agg(lambda c: set(c)).to_dict()
    assert conv == {"model": {"mit", "probabilistic"}, "uniform": {"mit", "probabilistic"},
                    "centerbias": {"mit", "probabilistic"}, "other-group": {"mit", "probabilistic"},
                    "gold-standard": {"mit", "probabilistic"}}
    gold = df[df.model == "gold-standard"]
    assert gold.saliency_map.str.contains("leave-one-viewer-out").all()
    assert set(gold[gold.convention == "probabilistic"].metric) == {"ll", "ig"}
    # the MIT ceiling: every MIT metric but EMD, whose registry entry says why not
    assert set(gold[gold.convention == "mit"].metric) == {m for m in MIT_METRICS if m != "emd"}
    ig = df[df.metric == "ig"]
    assert set(ig[ig.convention == "mit"].baseline) == {"gaussian"}
    assert set(ig[ig.convention == "probabilistic"].baseline) == {"uniform"}
    assert set(df[df.metric != "ig"].baseline) == {""}
    # n_viewers: distinct viewer ids of the group on the image
    for _, r in df[(df.model == "model") & (df.metric == "ll")].iterrows():
        assert r.n_viewers == len(np.unique(ds.fixations_for(r.group, r.image).viewer))
    pf = pd.read_csv(tmp / "out" / "per_fixation.csv", dtype={"image": str})
    assert tuple(pf.columns) == PER_FIXATION_COLUMNS
    assert set(pf.metric) == {"ll", "ig", "auc", "sauc", "nss"}
    assert set(pf.model) == {"model", "uniform", "centerbias", "other-group", "gold-standard"}


def test_probabilistic_values_by_hand(run):
    ds, maps, res, _ = run
    pi = res.per_image
    for stem, lp in maps.items():
        lp = lp - logsumexp(lp)
        h, w = lp.shape
        for g in ds.groups:
            f = ds.fixations_for(g, stem)
            ll = lp[np.floor(f.y).astype(int), np.floor(f.x).astype(int)]
            sel = pi[(pi.model == "model") & (pi.image == stem) & (pi.group == g) & (pi.convention == "probabilistic")]
            v = dict(zip(sel.metric, sel.value))
            assert v["ll"] == pytest.approx(ll.mean(), rel=1e-12)
            assert v["ig"] == pytest.approx((ll.mean() + math.log(h * w)) / math.log(2), rel=1e-12)
            # NSS on p (density mode): population std, duplicates counted
            p = np.exp(lp)
            z = (p - p.mean()) / p.std()
            assert v["nss"] == pytest.approx(z[np.floor(f.y).astype(int), np.floor(f.x).astype(int)].mean(), rel=1e-9)
    uni = pi[(pi.model == "uniform") & (pi.metric == "ig") & (pi.convention == "probabilistic")]
    assert np.allclose(uni.value, 0.0, atol=1e-12)


def test_gold_standard_never_uses_a_viewers_own_fixations(run):
    ds, _, res, _ = run
    from asdgaze.models.fitted import FittedCenterBias, GoldStandard

    gold = GoldStandard(ds, FittedCenterBias(ds))
    pf = res.per_fixation
    stem, g = "1", ds.groups[0]
    st = ds.stimuli[stem]
    f = ds.fixations_for(g, stem)
    got = pf[(pf.model == "gold-standard") & (pf.metric == "ll") & (pf.image == stem) & (pf.group == g)].value.to_numpy()
    expected = np.empty(len(f))
    for v in np.unique(f.viewer):  # the full map without that viewer, evaluated at its fixations
        own = f.viewer == v
        logp = gold.log_density(st, g, exclude_viewers=[int(v)])
        expected[own] = logp[np.floor(f.y[own]).astype(int), np.floor(f.x[own]).astype(int)]
    np.testing.assert_allclose(got, expected, rtol=1e-9)


def test_mit_rows_are_those_of_a_mit_only_single_model_run(run, tmp_path):
    ds, _, res, tmp = run
    alone = evaluate(ds, tmp / "maps", tmp_path / "o", EvaluateOptions(maps_kind="log-density", conventions=("mit",)),
                     workers=1, progress=False).per_image
    both = res.per_image[(res.per_image.model == "model") & (res.per_image.convention == "mit")]
    assert list(both.value) == list(alone.value)  # bit-identical
    assert set(alone.model) == {"maps"}


def test_reader_round_trip(run):
    _, _, res, tmp = run
    back = load_results(tmp / "out")
    pd.testing.assert_frame_equal(back.per_image[list(PER_IMAGE_COLUMNS[:6])].reset_index(drop=True),
                                  res.per_image[list(PER_IMAGE_COLUMNS[:6])].reset_index(drop=True),
                                  check_dtype=False, rtol=1e-9)
    assert list(back.per_image.baseline) == list(res.per_image.baseline)
    assert list(back.summary.model) == list(res.summary.model)
    np.testing.assert_allclose(back.summary["mean"], res.summary["mean"], rtol=1e-9)
    assert len(back.per_fixation) == len(res.per_fixation)


def test_ig_percent_of_gold_in_the_run(run):
    _, _, res, _ = run
    s = res.summary
    ig = s[(s.metric == "ig") & (s.convention == "probabilistic")].set_index(["model", "group"])["mean"]
    pct = s[s.metric == "ig_pct_gold"].set_index(["model", "group"])["mean"]
    for (model, group), value in pct.items():
        assert value == pytest.approx(100 * ig[(model, group)] / ig[("gold-standard", group)])
    assert pct[("gold-standard", "TD")] == pytest.approx(100.0)


def test_summary_image_and_fixation_weighted_means_by_hand():
    rows = []
    for model, vals in (("m", [(1.0, 10), (3.0, 30)]), ("gold-standard", [(2.0, 10), (4.0, 30)])):
        for i, (v, n) in enumerate(vals):
            rows.append(dict(image=str(i), group="TD", metric="ig", value=v, convention="probabilistic",
                             n_fixations=n, model=model, baseline="uniform", n_viewers=2, saliency_map="log p"))
    s = summarise(pd.DataFrame(rows), ["gold-standard"])
    m = s[(s.model == "m") & (s.metric == "ig")].iloc[0]
    assert m["mean"] == 2.0 and m["fixation_weighted_mean"] == pytest.approx((10 + 90) / 40)
    pct = s[(s.model == "m") & (s.metric == "ig_pct_gold")].iloc[0]
    assert pct["mean"] == pytest.approx(100 * 2.0 / 3.0)
    assert pct["fixation_weighted_mean"] == pytest.approx(100 * 2.5 / ((20 + 120) / 40))


def test_ig_percent_of_gold_hand_cases():
    s = pd.DataFrame({"model": ["a", "gold-standard", "a", "gold-standard", "b"],
                      "convention": ["probabilistic"] * 5, "group": ["ASD", "ASD", "TD", "TD", "TD"],
                      "metric": ["ig"] * 5, "mean": [0.3, 1.2, -0.5, 2.0, 0.0], "n": [4] * 5,
                      "fixation_weighted_mean": [0.2, 0.8, 1.0, 0.0, 0.5], "baseline": ["centerbias"] * 5})
    out = ig_percent_of_gold(s, ["gold-standard"]).set_index(["model", "group"])
    assert out.loc[("a", "ASD"), "mean"] == pytest.approx(25.0)
    assert out.loc[("a", "TD"), "mean"] == pytest.approx(-25.0)
    assert out.loc[("b", "TD"), "mean"] == 0.0
    assert math.isnan(out.loc[("a", "TD"), "fixation_weighted_mean"])  # gold IG 0: undefined, not inf


def test_a_folder_of_another_run_names_the_differing_setting(run):
    ds, _, _, tmp = run
    with pytest.raises(EvaluateError, match=r"saliency_maps: \"density\" -> \"metric-specific\""):
        evaluate(ds, {"model": tmp / "maps"}, tmp / "out",
                 EvaluateOptions(maps_kind="log-density", baselines=DEFAULT, prob_ig_baseline="uniform"),
                 workers=1, progress=False)


def test_cli_several_maps_and_the_mit1003_count(tmp_path, capsys):
    from PIL import Image

    ds = load_demo()
    _log_maps(tmp_path / "a", ds)
    _log_maps(tmp_path / "b", ds, seed=2)
    (tmp_path / "mit").mkdir()
    for stem in ("1", "2", "3"):  # resized, recompressed copies of three demo images, plus an unrelated image
        im = Image.open(ds.stimuli[stem].path).convert("RGB")
        im.resize((im.width // 2, im.height // 2)).save(tmp_path / "mit" / f"i{stem}.jpg", quality=70)
    rng = np.random.default_rng(0)
    Image.fromarray((rng.random((300, 400, 3)) * 255).astype(np.uint8)).save(tmp_path / "mit" / "noise.png")
    rc = main(["evaluate", "--dataset", str(demo_dataset_path()), "--maps", f"a={tmp_path / 'a'}", "--maps",
               f"b={tmp_path / 'b'}", "--maps-kind", "log-density", "--baselines", "uniform", "--convention",
               "probabilistic", "--mit1003", str(tmp_path / "mit"), "--out", str(tmp_path / "out"), "--no-progress",
               "--workers", "1"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "MIT1003: 3 of 8 images match" in out and "3 of 8 images match an MIT1003 image" in out
    df = pd.read_csv(tmp_path / "out" / "per_image.csv")
    assert set(df.model) == {"a", "b", "uniform"} and set(df.convention) == {"probabilistic"}
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert summary["mit1003"]["n_matched"] == 3 and manifest["mit1003"]["n_matched"] == 3
    assert set(manifest["mit1003"]["matches"]) == {"1", "2", "3"}
    assert "3 of 8" in summary["description"]["caveat"]


def test_baselines_command_writes_loadable_maps(tmp_path):
    ds = load_demo()
    rc = main(["baselines", "--dataset", str(demo_dataset_path()), "--baselines", "uniform,centerbias",
               "--out", str(tmp_path / "b")])
    assert rc == 0
    for name in ("uniform", "centerbias"):
        for g in ds.groups:
            for stem, st in ds.stimuli.items():
                a = np.load(tmp_path / "b" / name / g / f"{stem}.npy")
                assert a.shape == st.shape and abs(logsumexp(a.astype(np.float64))) < 1e-4
    a = np.load(tmp_path / "b" / "uniform" / "TD" / "1.npy")
    assert np.allclose(a, -np.log(a.size), rtol=1e-6)
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert manifest["baselines"]["centerbias"]["fits"]["TD"]["sigma"] > 0
    # the written maps score as a model folder
    res = evaluate(ds, {"cb": tmp_path / "b" / "centerbias" / "TD"}, tmp_path / "o",
                   EvaluateOptions(maps_kind="log-density", groups=("TD",), conventions=("probabilistic",)),
                   workers=1, progress=False)
    assert res.per_image.value.notna().all()
    assert main(["baselines", "--dataset", str(demo_dataset_path()), "--baselines", "uniform",
                 "--out", str(tmp_path / "b")]) != 0  # refuses to overwrite without --overwrite


def test_fixmap_sigma_is_the_tables_recipe_and_recorded(tmp_path):
    from PIL import Image

    (tmp_path / "imgs").mkdir()
    for stem in ("a", "b"):
        Image.new("RGB", (120, 90)).save(tmp_path / "imgs" / f"{stem}.png")
        save_npy(tmp_path / "maps" / f"{stem}.npy", np.random.default_rng(0).random((90, 120)))
    (tmp_path / "fix.csv").write_text("image,x,y,group\na,10,10,G\na,60,40,G\nb,100,70,G\nb,20,80,G\n")
    cc = {}
    for sigma in (None, "8"):
        extra = [] if sigma is None else ["--fixmap-sigma", sigma]
        out = tmp_path / f"out{sigma}"
        rc = main(["evaluate", "--dataset", str(tmp_path / "imgs"), "--table", str(tmp_path / "fix.csv"), "--coords",
                   "0-based", "--maps", str(tmp_path / "maps"), "--maps-kind", "saliency", "--baselines", "none",
                   "--metrics", "cc", "--out", str(out), "--no-progress", "--workers", "1", *extra])
        assert rc == 0
        recipe = json.loads((out / "manifest.json").read_text())["dataset"]["fixation_map_recipe"]
        assert recipe["sigma_px"] == (43.0 if sigma is None else 8.0)
        assert recipe["kernel_taps"] == (258 if sigma is None else 48)
        cc[sigma] = pd.read_csv(out / "per_image.csv").value.to_numpy()
    assert not np.allclose(cc[None], cc["8"])
    # a Saliency4ASD folder keeps its own recipe
    assert main(["evaluate", "--dataset", str(demo_dataset_path()), "--maps", str(tmp_path / "maps"),
                 "--maps-kind", "saliency", "--fixmap-sigma", "8", "--out", str(tmp_path / "o3"), "--no-progress"]) != 0


def test_table_continuous_map_with_another_sigma_matches_a_gaussian():
    from scipy.ndimage import gaussian_filter

    from asdgaze.data.fixmaps import continuous_map
    from asdgaze.data.types import Dataset, Fixations, Stimulus

    ds = Dataset("t", tmp := __import__("pathlib").Path("."), {"1": Stimulus("1", tmp / "1.png", 101, 101)},
                 {"G": {"1": Fixations.from_arrays([50.0], [50.0])}}, fixmap_sigma=5.0)
    c = continuous_map(ds, "G", "1")
    f = np.zeros((101, 101)); f[50, 50] = 1.0
    # an even 30-tap kernel: samples at half-pixel offsets (MATLAB's anchor), so compare with a
    # Gaussian centred half a pixel off, within the sampling difference
    ref = gaussian_filter(f, 5.0, mode="constant", truncate=3.0)
    ref = (ref - ref.min()) / (ref.max() - ref.min())
    assert c.shape == (101, 101) and np.abs(c - ref).max() < 0.12
    r, col = np.unravel_index(np.argmax(c), c.shape)
    assert 49 <= r <= 51 and 49 <= col <= 51  # the peak at the fixation, within the half-pixel shift


def test_fitted_centre_bias_metric_specific_sauc_is_chance(tmp_path):
    ds = load_demo()
    res = evaluate(ds, None, tmp_path / "o", EvaluateOptions(baselines=("centerbias",), conventions=("probabilistic",),
                                                             prob_metrics=("sauc",)), workers=1, progress=False)
    # log p - log p_shuffled is 0 everywhere: every fixation ties with every negative
    assert np.allclose(res.per_image.value, 0.5, atol=1e-12)

"""Region statistics against scipy (bootstrap, Wilcoxon), Holm by hand, and the permutation test against the
exact permutation distribution enumerated here."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from asdgaze.analysis.regions import region_analysis, region_sentence, region_stats
from asdgaze.analysis.stats import MIN_IMAGES, TOO_FEW

N_RES = 999
IMAGES = [str(i) for i in range(1, 8)]  # 7 images: face and background on all, text on 3


def _tables(seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """regions.csv and region_viewers.csv: 2 TD and 2 ASD viewers per image, 4-6 fixations each."""
    rng = np.random.default_rng(seed)
    rows, viewers = [], []
    for image in IMAGES:
        labels = ["face", "background"] + (["text"] if image in IMAGES[:3] else [])
        for label in labels:
            area = rng.uniform(0.05, 0.3)
            m_mass = rng.uniform(0.1, 0.5)
            for group, bias in (("TD", 0.25), ("ASD", 0.0)):
                n = rng.integers(4, 7, size=2)
                k = np.minimum(n, rng.binomial(n, 0.3 + bias if label == "face" else 0.3))
                viewers += [[image, group, str(v), label, int(k[v]), int(n[v])] for v in range(2)]
                rows.append([image, group, label, "fixation_share", "", k.sum() / n.sum(), int(k.sum()), int(n.sum())])
                rows.append([image, group, label, "area_share", "", area, np.nan, np.nan])
                rows.append([image, group, label, "mass", "m", m_mass, np.nan, np.nan])
                rows.append([image, group, label, "mass", "cb", rng.uniform(0.1, 0.5), np.nan, np.nan])
    regions = pd.DataFrame(rows, columns=["image", "group", "label", "measure", "model", "value", "n_inside",
                                          "n_fixations"])
    return regions, pd.DataFrame(viewers, columns=["image", "group", "viewer", "label", "n_inside", "n_fixations"])


def _ci(x: np.ndarray) -> tuple[float, float]:
    res = stats.bootstrap((x,), np.mean, n_resamples=N_RES, method="BCa", rng=np.random.default_rng(0))
    return res.confidence_interval.low, res.confidence_interval.high


def _value(t: pd.DataFrame, label: str, measure: str, group: str, model: str = "") -> np.ndarray:
    s = t[(t.label == label) & (t.measure == measure) & (t.group == group) & (t.model == model)]
    return s.sort_values("image")["value"].to_numpy()


@pytest.fixture(scope="module")
def computed():
    regions, viewers = _tables()
    out = region_stats(regions, viewers, "TD", "ASD", group_dependent={"cb"}, n_resamples=N_RES,
                       n_permutations=20_000, seed=0)
    return regions, viewers, out.set_index(["label", "statistic", "model", "group"])


def test_means_cis_wilcoxon_and_holm_are_scipys(computed):
    regions, _, out = computed
    p = {}
    for label in ("face", "background"):
        td, asd = _value(regions, label, "fixation_share", "TD"), _value(regions, label, "fixation_share", "ASD")
        r = out.loc[(label, "fixation_share", "", "TD")]
        assert r["mean"] == pytest.approx(td.mean(), abs=1e-15) and r["n_images"] == 7
        assert (r["ci_low"], r["ci_high"]) == pytest.approx(_ci(td), abs=1e-12)
        d = out.loc[(label, "share_difference", "", "TD - ASD")]
        assert d["mean"] == pytest.approx((td - asd).mean(), abs=1e-15)
        assert (d["mean_a"], d["mean_b"]) == pytest.approx((td.mean(), asd.mean()), abs=1e-15)
        assert (d["ci_low"], d["ci_high"]) == pytest.approx(_ci(td - asd), abs=1e-12)
        p[label] = stats.wilcoxon(td, asd).pvalue
        assert d["p_wilcoxon"] == pytest.approx(p[label], abs=1e-15)
        mass = _value(regions, label, "mass", "TD", "m")
        m = out.loc[(label, "mass_minus_share", "m", "TD")]
        assert m["mean"] == pytest.approx((mass - td).mean(), abs=1e-15)
        assert (m["ci_low"], m["ci_high"]) == pytest.approx(_ci(mass - td), abs=1e-12)
        assert m["p_wilcoxon"] == pytest.approx(stats.wilcoxon(mass, td).pvalue, abs=1e-15)
    # Holm over the two labels that have enough images: the smaller p times 2, the larger kept (never below)
    lo, hi = sorted(p, key=p.get)
    assert out.loc[(lo, "share_difference", "", "TD - ASD"), "p_holm"] == pytest.approx(min(1, 2 * p[lo]), abs=1e-15)
    assert out.loc[(hi, "share_difference", "", "TD - ASD"), "p_holm"] == pytest.approx(max(min(1, 2 * p[lo]), p[hi]),
                                                                                         abs=1e-15)
    # a model fitted to each group has a mass per group; another one mass per image
    assert ("face", "mass", "cb", "ASD") in out.index and ("face", "mass", "m", "") in out.index
    assert ("face", "mass", "m", "TD") not in out.index


def test_too_few_images_get_no_ci_and_no_p(computed):
    _, _, out = computed
    assert MIN_IMAGES > 3
    for key in [("text", "fixation_share", "", "TD"), ("text", "share_difference", "", "TD - ASD"),
                ("text", "mass_minus_share", "cb", "ASD")]:
        r = out.loc[key]
        assert r["n_images"] == 3 and r["ci_method"] == TOO_FEW
        assert np.isnan([r["ci_low"], r["ci_high"], r["p_wilcoxon"], r["p_holm"], r["p_permutation"]]).all()


def test_permutation_p_is_the_exact_permutation_distributions(computed):
    _, viewers, out = computed
    v = viewers[viewers.label == "face"]
    per_image = []  # the 6 ways to call two of an image's four viewers TD: that image's TD - ASD share
    observed = 0.0
    for image in IMAGES:
        t = v[v.image == image]
        k, n, g = t["n_inside"].to_numpy(), t["n_fixations"].to_numpy(), t["group"].to_numpy()
        observed += k[g == "TD"].sum() / n[g == "TD"].sum() - k[g == "ASD"].sum() / n[g == "ASD"].sum()
        diffs = []
        for a in itertools.combinations(range(4), 2):
            b = [i for i in range(4) if i not in a]
            diffs.append(k[list(a)].sum() / n[list(a)].sum() - k[b].sum() / n[b].sum())
        per_image.append(diffs)
    observed /= len(IMAGES)
    grid = np.array(np.meshgrid(*per_image, indexing="ij")).reshape(len(IMAGES), -1).mean(axis=0)
    exact = np.mean(np.abs(grid) >= abs(observed) - 1e-12)
    r = out.loc[("face", "share_difference", "", "TD - ASD")]
    assert r["mean"] == pytest.approx(observed, abs=1e-15) and r["n_permutations"] == 20_000
    # 20,000 random relabellings: the binomial standard error is at most 0.0036; 4 of them
    assert abs(r["p_permutation"] - exact) < 4 * np.sqrt(exact * (1 - exact) / 20_000) + 1e-4
    assert 0.001 < exact < 0.5  # the case tests something


def _stats_row(label, statistic, model="", group="", **kw):
    base = dict(label=label, statistic=statistic, model=model, group=group, n_images=10, mean=np.nan,
                ci_low=np.nan, ci_high=np.nan, ci_method="BCa", mean_a=np.nan, mean_b=np.nan, p_wilcoxon=np.nan,
                p_holm=np.nan, p_permutation=np.nan, n_permutations=0)
    return {**base, **kw}


def test_sentence_states_only_what_is_supported():
    rows = [_stats_row("face", "share_difference", group="TD - ASD", mean=0.09, ci_low=0.03, ci_high=0.15,
                       mean_a=0.41, mean_b=0.32, p_holm=0.01, p_permutation=0.002),
            _stats_row("people", "share_difference", group="TD - ASD", mean=0.2, ci_low=-0.01, ci_high=0.4,
                       mean_a=0.5, mean_b=0.3, p_holm=0.2),  # larger, but its CI holds 0: not the headline
            _stats_row("face", "mass_minus_share", "dg", "TD", mean=-0.1, ci_low=-0.15, ci_high=-0.05, mean_a=0.31,
                       mean_b=0.41, p_holm=0.01),
            _stats_row("face", "mass_minus_share", "dg", "ASD", mean=-0.01, ci_low=-0.06, ci_high=0.04, mean_a=0.31,
                       mean_b=0.32, p_holm=0.6)]
    text = region_sentence(pd.DataFrame(rows), "TD", "ASD", [("dg", "DeepGaze IIE")])
    assert text.startswith("Regions: face (on 10 images) holds 41 % of the TD fixations and 32 % of the ASD")
    assert "TD − ASD +9.0 points (95 % CI +3.0 to +15.0; Wilcoxon p = 0.010" in text
    assert ("DeepGaze IIE puts 31 % of its mass there: less than the TD share (-10.0 points" in text
            and "not distinguishable from the ASD share" in text)
    rows[0]["p_holm"] = 0.08  # CI excludes 0 but Holm p does not support it
    text = region_sentence(pd.DataFrame(rows), "TD", "ASD", [("dg", "DeepGaze IIE")])
    assert text.startswith("Regions: on none of the 2 labels with 6 or more images") and "people" in text
    few = pd.DataFrame([_stats_row("face", "share_difference", group="TD - ASD", n_images=5, mean=0.3)])
    assert "no label is on 6 or more images" in region_sentence(few, "TD", "ASD", [])


def test_region_analysis_reads_a_results_folder(tmp_path):
    regions, viewers = _tables()
    regions.to_csv(tmp_path / "regions.csv", index=False)
    viewers.to_csv(tmp_path / "region_viewers.csv", index=False)
    pd.DataFrame({"image": IMAGES, "group": "TD", "metric": "nss", "value": 1.0, "convention": "mit",
                  "n_fixations": 5, "model": "m"}).to_csv(tmp_path / "per_image.csv", index=False)
    ra = region_analysis(tmp_path, n_resamples=N_RES, n_permutations=50)
    assert len(ra.per_image) == len(regions) and ra.sentence.startswith("Regions:")
    # without traits recorded, cb (not a registered baseline) is taken as one mass per image
    direct = region_stats(regions, viewers, n_resamples=N_RES, n_permutations=50)
    pd.testing.assert_frame_equal(ra.stats, direct)

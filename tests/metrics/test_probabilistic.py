"""Probabilistic convention: typed predictions, scoring modes, registry, hand cases.

Expected numbers come from hand computation, scipy, or tests/reference/metric-oracles (pysaliency 0.2.22).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from asdgaze.errors import MapError
from asdgaze.metrics import probabilistic as prob
from asdgaze.metrics import registry
from asdgaze.metrics.prob_scoring import PROB_METRICS, Blur, ShuffledBaseline, score_probabilistic
from asdgaze.metrics.suite import MIT_METRICS
from asdgaze.predictions import LogDensity, SaliencyMap, require_log_density
from asdgaze.report.tables import info


# --- typed predictions --------------------------------------------------------------------------

def test_log_density_must_be_normalised():
    with pytest.raises(MapError, match="does not sum to 1"):
        LogDensity(np.zeros((4, 4)))
    ld = LogDensity.normalized(np.zeros((4, 4)))
    assert np.allclose(ld.values, -math.log(16))
    with pytest.raises(MapError, match="NaN"):
        LogDensity(np.array([[np.nan, 0.0]]))


def test_log_density_conversions_and_read_only():
    p = np.array([[0.1, 0.2], [0.3, 0.4]])
    ld = LogDensity(np.log(p))
    assert ld.values.dtype == np.float64 and not ld.values.flags.writeable
    np.testing.assert_allclose(ld.density(), p, rtol=1e-15)
    np.testing.assert_allclose(ld.as_saliency().values, p / 0.4, rtol=1e-15)  # density / max, as load_map


def test_saliency_map_cannot_give_ll_or_ig():
    s = SaliencyMap(np.array([[1.0, 2.0]]))
    with pytest.raises(MapError, match="ll needs a log-density"):
        require_log_density(s, "ll")
    with pytest.raises(TypeError):
        score_probabilistic(s, [0], [0], metrics=("ll",))  # type: ignore[arg-type]


# --- hand cases ---------------------------------------------------------------------------------

def test_auc_ties_count_half_and_duplicates_count_each_time():
    s = np.array([[1.0, 1.0, 2.0], [0.0, 3.0, 1.0]])
    # fixation on a value-1 pixel: 1 pixel below, 3 equal -> (1 + 1.5)/6; on 3: 5 below + 0.5 -> 5.5/6
    v = prob.auc_per_fixation(s, [0, 1, 1], [0, 1, 1])
    np.testing.assert_allclose(v, [2.5 / 6, 5.5 / 6, 5.5 / 6], rtol=1e-15)
    assert prob.auc(s, [0, 1, 1], [0, 1, 1]) == pytest.approx((2.5 + 11) / 18, rel=1e-15)


def test_sauc_against_brute_force():
    rng = np.random.default_rng(3)
    s = np.round(rng.random((30, 40)) * 5)  # many ties
    x, y = rng.random(25) * 40, rng.random(25) * 30
    ox, oy = rng.random(200) * 40, rng.random(200) * 30
    pos = s[y.astype(int), x.astype(int)]
    neg = s[oy.astype(int), ox.astype(int)]
    want = ((neg[None, :] < pos[:, None]).sum(1) + 0.5 * (neg[None, :] == pos[:, None]).sum(1)) / neg.size
    np.testing.assert_allclose(prob.sauc_per_fixation(s, x, y, ox, oy), want, rtol=1e-15)
    # many negatives (the other counting path): all pixels
    negall = s.ravel()
    want_all = ((negall[None, :] < pos[:, None]).sum(1) + 0.5 * (negall[None, :] == pos[:, None]).sum(1)) / s.size
    np.testing.assert_allclose(prob.auc_per_fixation(s, x, y), want_all, rtol=1e-15)


@pytest.mark.parametrize("x,y", [(-0.5, 1.0), (3.0, 0.0), (0.0, 2.0), (np.nan, 0.0)])
def test_fixations_outside_the_image_raise(x, y):
    with pytest.raises(ValueError, match="outside the 2x3 image"):
        prob.log_likelihoods(np.log(np.full((2, 3), 1 / 6)), [x], [y])


def test_nss_population_std_and_constant_map():
    s = np.array([[0.0, 1.0], [2.0, 3.0]])
    assert prob.nss(s, [1], [1]) == pytest.approx(1.5 / np.sqrt(1.25), rel=1e-15)
    assert prob.nss(np.ones((2, 2)), [0], [0]) == 0.0


def test_cc_constant_maps():
    assert prob.cc(np.ones((3, 3)), np.eye(3)) == 0.0
    assert math.isnan(prob.cc(np.eye(3), np.ones((3, 3))))


def test_gaussian_blur_equals_scipy_at_sigma_43():
    a = np.random.default_rng(1).random((120, 150))
    for mode in ("constant", "reflect"):
        np.testing.assert_allclose(prob.gaussian_blur(a, 43.0, mode), gaussian_filter(a, 43.0, mode=mode),
                                   rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("n, sigma, truncate", [(1, 43.0, 4.0), (5, 43.0, 4.0), (200, 3.0, 4.0), (345, 43.0, 4.0),
                                                (700, 43.0, 4.0), (97, 7.5, 2.0), (64, 0.4, 4.0)])
def test_blur_matrix_is_scipy_filter_of_the_identity(n, sigma, truncate):
    # zero padding: the Toeplitz matrix of one delta's response is exactly the filtered identity
    from scipy.ndimage import gaussian_filter1d

    want = gaussian_filter1d(np.eye(n), sigma, axis=0, mode="constant", truncate=truncate)
    got = prob._blur_matrix.__wrapped__(n, sigma, "constant", truncate)
    assert got.dtype == want.dtype and np.array_equal(got, want)


# --- scoring modes ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def fixture_case(reference_dir):
    d = np.load(reference_dir / "metric-oracles" / "pysal_case.npz")
    exp = json.loads((reference_dir / "metric-oracles" / "pysal_expected.json").read_text())
    return {k: d[k] for k in d.files}, exp


def test_density_mode_reproduces_pysaliency_fixture(fixture_case):
    d, exp = fixture_case
    vals: dict[str, list] = {m: [] for m in PROB_METRICS}
    for k in range(d["logdens"].shape[0]):
        sel = d["fix_n"] == k
        x, y = d["fix_x"][sel], d["fix_y"][sel]
        other = ~sel
        ld = LogDensity(d["logdens"][k])
        emp = prob.empirical_map(ld.shape, x, y, 3.0, mode="reflect")
        s = score_probabilistic(ld, x, y, empirical=emp, baseline=LogDensity(d["centrebias"]),
                                other_xs=d["fix_x"][other], other_ys=d["fix_y"][other], mode="density")
        assert set(s.maps.values()) == {"log p", "p"}
        for m in ("ll", "ig", "nss"):
            vals[m].append(s.per_fixation[m])
        for m in ("auc", "sauc", "cc", "kl", "sim"):
            vals[m].append(s.values[m])
    assert np.mean(np.concatenate(vals["ll"])) == pytest.approx(exp["LL_nats_per_fixation"], rel=1e-6)
    assert np.mean(np.concatenate(vals["ig"])) == pytest.approx(exp["IG_bits_vs_centrebias"], rel=1e-6)
    assert np.mean(np.concatenate(vals["nss"])) == pytest.approx(exp["NSS_fixation_avg"], rel=1e-6)
    assert np.mean(vals["auc"]) == pytest.approx(exp["AUC_allpixels_image_avg"], rel=1e-6)
    assert np.mean(vals["sauc"]) == pytest.approx(exp["sAUC_image_avg"], rel=1e-6)
    assert np.mean(vals["cc"]) == pytest.approx(exp["CC_vs_empirical_sigma3_reflect"], rel=1e-6)
    assert np.mean(vals["kl"]) == pytest.approx(exp["KLDiv_MITparams_vs_empirical"], rel=1e-6)
    assert np.mean(vals["sim"]) == pytest.approx(exp["SIM_vs_empirical"], rel=1e-6)


def test_metric_specific_mode_maps(fixture_case):
    d, _ = fixture_case
    lds = [LogDensity(d["logdens"][k]) for k in range(d["logdens"].shape[0])]
    sb = ShuffledBaseline(lds[0].shape)
    for ld in lds:
        sb.add(ld)
    k = 0
    sel = d["fix_n"] == k
    x, y = d["fix_x"][sel], d["fix_y"][sel]
    emp = prob.empirical_map(lds[k].shape, x, y, 3.0, mode="reflect")
    blur = Blur(3.0, "reflect")
    shuffled = sb.log_density_without(lds[k])
    # independent: the mean density of the two other images, by numpy
    want_shuffled = np.log((np.exp(d["logdens"][1]) + np.exp(d["logdens"][2])) / 2)
    np.testing.assert_allclose(shuffled, want_shuffled, rtol=1e-12)
    s = score_probabilistic(lds[k], x, y, empirical=emp, other_xs=d["fix_x"][~sel], other_ys=d["fix_y"][~sel],
                            shuffled=shuffled, blur=blur)
    blurred = gaussian_filter(np.exp(d["logdens"][k]), 3.0, mode="reflect")
    assert s.values["cc"] == pytest.approx(prob.cc(blurred, emp), rel=1e-12)
    assert s.values["kl"] == pytest.approx(prob.kl_div(blurred, emp), rel=1e-12)
    assert s.values["sim"] == pytest.approx(prob.sim(blurred, emp), rel=1e-12)
    smap = d["logdens"][k] - want_shuffled
    assert s.values["sauc"] == pytest.approx(prob.sauc(smap, x, y, d["fix_x"][~sel], d["fix_y"][~sel]), rel=1e-12)
    assert s.maps["sauc"] == "log p - log p_shuffled"
    assert s.maps["cc"].startswith("p blurred (Gaussian sigma=3 px, mode=reflect)")
    assert "approximation" in s.maps["sim"]
    assert s.maps["auc"] == "p" and s.maps["ll"] == "log p"


def test_metric_specific_sauc_requires_shuffled_baseline():
    ld = LogDensity(np.log(np.full((2, 2), 0.25)))
    with pytest.raises(ValueError, match="shuffled"):
        score_probabilistic(ld, [0], [0], other_xs=[1], other_ys=[1], metrics=("sauc",))


# --- registry -----------------------------------------------------------------------------------

def test_registry_covers_both_conventions():
    mit = registry.metrics_for("mit")
    assert tuple(m.name for m in mit) == MIT_METRICS
    for m in mit:
        label, direction = info(m.name, "mit")
        assert (m.label, m.direction) == (label, direction)
    assert tuple(m.name for m in registry.metrics_for("probabilistic")) == PROB_METRICS
    for m in registry.all_metrics():
        assert m.needs <= registry.NEEDS
        assert ("log_density" in m.needs) != ("saliency" in m.needs)
    assert "log_density" in registry.get("ll", "probabilistic").needs
    assert registry.get("kl", "probabilistic").higher_is_better is False
    with pytest.raises(KeyError, match="unknown mit metric 'll'"):
        registry.get("ll", "mit")


def test_kl_regularisation_variants_by_hand():
    p = np.array([[0.5, 0.5, 0.0]])
    q = np.array([[0.25, 0.75, 0.0]])
    eps = 2.2204e-16
    want_mit = 0.25 * math.log(eps + 0.25 / (0.5 + eps)) + 0.75 * math.log(eps + 0.75 / (0.5 + eps))
    assert prob.kl_div(p, q) == pytest.approx(want_mit, rel=1e-14)
    want_plain = 0.25 * math.log(0.5) + 0.75 * math.log(1.5)
    assert prob.kl_div(p, q, log_regularization=0, quotient_regularization=0) == pytest.approx(want_plain, rel=1e-14)
    # probabilistic default of pysaliency: minimum_value 1e-20 makes every pixel positive
    pm, qm = (p + 1e-20) / (1 + 3e-20), (q + 1e-20) / (1 + 3e-20)
    want_min = float(np.sum(qm * (np.log(qm) - np.log(pm))))
    got = prob.kl_div(p, q, minimum_value=1e-20, log_regularization=0, quotient_regularization=0)
    assert got == pytest.approx(want_min, rel=1e-12)


def test_score_rejects_maps_of_another_size():
    ld = LogDensity(np.log(np.full((2, 2), 0.25)))
    with pytest.raises(ValueError, match="empirical: shape"):
        score_probabilistic(ld, [0], [0], empirical=np.ones((2, 3)), metrics=("cc",))
    with pytest.raises(ValueError, match="shuffled: shape"):
        score_probabilistic(ld, [0], [0], other_xs=[1], other_ys=[1], shuffled=np.zeros((3, 2)), metrics=("sauc",))


def test_map_descriptions_match_scoring():
    from asdgaze.metrics.prob_scoring import map_descriptions
    ld = LogDensity(np.log(np.array([[0.1, 0.2], [0.3, 0.4]])))
    for mode in ("density", "metric-specific"):
        s = score_probabilistic(ld, [0, 1], [1, 1], empirical=np.array([[0.0, 1.0], [2.0, 1.0]]),
                                other_xs=[0], other_ys=[0], shuffled=np.log(np.full((2, 2), 0.25)), mode=mode,
                                blur=Blur(1.0, "reflect"))
        assert s.maps == map_descriptions(mode, Blur(1.0, "reflect"))
        assert set(s.values) == set(PROB_METRICS)


def test_shuffled_baseline_across_image_sizes():
    rng = np.random.default_rng(5)
    a = LogDensity.normalized(rng.standard_normal((6, 8)))
    b = LogDensity(np.log(np.full((12, 16), 1 / 192)))  # uniform, another size
    c = LogDensity(np.log(np.full((6, 8), 1 / 48)))
    sb = ShuffledBaseline((6, 8))
    for ld in (a, b, c):
        sb.add(ld)
    # without a: the mean of two uniform densities is uniform, whatever the sizes
    np.testing.assert_allclose(sb.log_density_without(a), np.log(1 / 48), rtol=1e-12)
    # without c: (a + uniform) / 2 on a's grid, by hand
    np.testing.assert_allclose(np.exp(sb.log_density_without(c)), (a.density() + 1 / 48) / 2, rtol=1e-12)
    # on b's own grid, and normalised
    out = sb.log_density_without(b)
    assert out.shape == (12, 16)
    assert np.exp(out).sum() == pytest.approx(1.0, rel=1e-12)

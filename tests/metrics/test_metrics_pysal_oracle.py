"""Checks against pysaliency 0.2.22 values (tests/reference/metric-oracles/pysal_expected.json).

Only where the definitions coincide with the MIT ones (metrics.md 4.5, oracle README):
- CC: both are the Pearson correlation of the two maps.
- KLDiv with MIT regularisation (minimum_value 0, eps 2.2204e-16): equals MIT KLdiv on
  non-negative maps (pysaliency's eps differs from MATLAB eps by 4.5e-21, far below rtol).
Not compared: NSS (pysaliency keeps duplicate fixations and uses ddof 0), SIM (no min-max),
AUCs (duplicates, all-pixel negatives, exact thresholds), IG (probabilistic definition).
The second half checks every value of the fixture against asdgaze.metrics.probabilistic.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from asdgaze.metrics import cc, kl_div

@pytest.fixture(scope="module")
def expected(reference_dir):
    return json.loads((reference_dir / "metric-oracles" / "pysal_expected.json").read_text())


@pytest.fixture(scope="module")
def maps(reference_dir):
    d = np.load(reference_dir / "metric-oracles" / "pysal_case.npz")
    out = []
    for k in range(d["logdens"].shape[0]):
        dens = np.exp(d["logdens"][k])
        sel = d["fix_n"] == k
        counts = np.zeros(dens.shape)
        # Empirical map as in the oracle: per-pixel fixation counts (duplicates add up),
        # gaussian_filter(sigma=3, mode='reflect'); coordinates truncated to int.
        np.add.at(counts, (d["fix_y"][sel].astype(int), d["fix_x"][sel].astype(int)), 1.0)
        out.append((dens, gaussian_filter(counts, 3, mode="reflect")))
    return out


def test_cc_matches_pysaliency(maps, expected):
    got = np.mean([cc(dens, emp) for dens, emp in maps])
    assert got == pytest.approx(expected["CC_vs_empirical_sigma3_reflect"], rel=1e-9)


def test_kl_matches_pysaliency_mit_kldiv(maps, expected):
    got = np.mean([kl_div(dens, emp) for dens, emp in maps])
    assert got == pytest.approx(expected["KLDiv_MITparams_vs_empirical"], rel=1e-9)


# --- probabilistic convention (asdgaze.metrics.probabilistic): every value of the fixture ---------

from asdgaze.metrics import probabilistic as prob  # noqa: E402


@pytest.fixture(scope="module")
def case(reference_dir):
    d = np.load(reference_dir / "metric-oracles" / "pysal_case.npz")
    return {k: d[k] for k in d.files}


def _per_image(case):
    for k in range(case["logdens"].shape[0]):
        sel = case["fix_n"] == k
        yield k, case["logdens"][k], case["fix_x"][sel], case["fix_y"][sel]


def test_prob_ll_ig_match_pysaliency(case, expected):
    ll, ig_u, ig_c = [], [], []
    for _, ld, x, y in _per_image(case):
        ll.append(prob.log_likelihoods(ld, x, y))
        ig_u.append(prob.information_gains(ld, None, x, y))
        ig_c.append(prob.information_gains(ld, case["centrebias"], x, y))
    # average='fixation': the mean over all fixations of all images
    assert np.mean(np.concatenate(ll)) == pytest.approx(expected["LL_nats_per_fixation"], rel=1e-6)
    assert np.mean(np.concatenate(ig_u)) == pytest.approx(expected["IG_bits_vs_uniform"], rel=1e-6)
    assert np.mean(np.concatenate(ig_c)) == pytest.approx(expected["IG_bits_vs_centrebias"], rel=1e-6)


def test_prob_auc_variants_match_pysaliency(case, expected):
    per_image, per_fix, judd = [], [], []
    for _, ld, x, y in _per_image(case):
        dens = np.exp(ld)
        v = prob.auc_per_fixation(dens, x, y)
        per_image.append(v.mean())
        per_fix.append(v)
        judd.append(prob.auc_judd_fixation_thresholds(dens, x, y))
    assert np.mean(per_image) == pytest.approx(expected["AUC_allpixels_image_avg"], rel=1e-6)
    assert np.mean(np.concatenate(per_fix)) == pytest.approx(expected["AUC_allpixels_fixation_avg"], rel=1e-6)
    assert np.mean(judd) == pytest.approx(expected["AUC_unfixated_fixthresholds_nojitter_image_avg"], rel=1e-6)


def test_prob_sauc_matches_pysaliency(case, expected):
    # All images share one size, so the other images' fixations need no rescaling.
    vals = []
    for k, ld, x, y in _per_image(case):
        other = case["fix_n"] != k
        vals.append(prob.sauc(np.exp(ld), x, y, case["fix_x"][other], case["fix_y"][other]))
    assert np.mean(vals) == pytest.approx(expected["sAUC_image_avg"], rel=1e-6)


def test_prob_nss_cc_kl_sim_match_pysaliency(case, expected):
    nss, cc_, kl, sim_ = [], [], [], []
    for _, ld, x, y in _per_image(case):
        dens = np.exp(ld)
        emp = prob.empirical_map(dens.shape, x, y, sigma=3.0, mode="reflect")
        nss.append(prob.nss_per_fixation(dens, x, y))
        cc_.append(prob.cc(dens, emp))
        kl.append(prob.kl_div(dens, emp))
        sim_.append(prob.sim(dens, emp))
    assert np.mean(np.concatenate(nss)) == pytest.approx(expected["NSS_fixation_avg"], rel=1e-6)
    assert np.mean(cc_) == pytest.approx(expected["CC_vs_empirical_sigma3_reflect"], rel=1e-6)
    assert np.mean(kl) == pytest.approx(expected["KLDiv_MITparams_vs_empirical"], rel=1e-6)
    assert np.mean(sim_) == pytest.approx(expected["SIM_vs_empirical"], rel=1e-6)

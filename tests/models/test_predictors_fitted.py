"""Fitted baselines: centre bias (leave one image out), gold standard (leave one viewer out), other group."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.special import logsumexp

from asdgaze.data.types import Fixations
from asdgaze.errors import DataError, OptionsError
from asdgaze.models.fitted import (FittedCenterBias, GoldStandard, OtherGroupPredictor,
                                   best_mixture_weight)
from asdgaze.models import registry
from asdgaze.models.base import Predictor

sys.path.insert(0, str(Path(__file__).parent))
from _synth import clipped, make_dataset  # noqa: E402


def _fix(rows, cols, viewers) -> Fixations:
    return Fixations.from_arrays(np.asarray(cols, float), np.asarray(rows, float), None, viewers)


def _uniform_dataset(rng, n_images, n_viewers, n_fix, h, w, groups=("A",)):
    fix = {g: {str(i): Fixations.from_arrays(rng.integers(0, w, n_viewers * n_fix).astype(float),
                                             rng.integers(0, h, n_viewers * n_fix).astype(float), None,
                                             np.repeat(np.arange(n_viewers), n_fix))
               for i in range(n_images)} for g in groups}
    return make_dataset(fix, h, w)


def test_best_mixture_weight_matches_closed_form():
    # two points: log((1-w) a + w b) summed; with p_model = (1, 0) and p_mix = (1, 1) the optimum
    # of log(1) + log(w) is w = 1; with p_model = (2, 0.5), p_mix = (1, 1) the stationary point of
    # log(2 - w) + log(0.5 + 0.5 w) is w = 0.5
    assert best_mixture_weight(np.array([1.0, 0.0]), np.array([1.0, 1.0]))[0] == 1.0
    w, ll = best_mixture_weight(np.array([2.0, 0.5]), np.array([1.0, 1.0]))
    assert w == pytest.approx(0.5, abs=1e-5)
    assert ll == pytest.approx(np.log(1.5) + np.log(0.75), abs=1e-9)


def test_loo_log_likelihood_by_hand():
    """Two viewers, one fixation each, uniform centre bias (weight 1), sigma 4 px, w 0.25."""
    h, w_, s, wt = 40, 50, 4.0, 0.25
    ds = make_dataset({"A": {"1": _fix([10, 13], [10, 14], [0, 1]), "2": _fix([5], [5], [0])}}, h, w_)
    cb = FittedCenterBias(ds, params={"A": (0.2, 1.0)})
    gold = GoldStandard(ds, cb, params={"A": (s, wt)})
    k = np.arange(h)
    m = np.arange(w_)

    def kern(r0, c0, r, c):  # Gaussian at pixel indices, normalised over the 40 x 50 image
        zy = np.exp(-0.5 * ((k - r0) / s) ** 2).sum()
        zx = np.exp(-0.5 * ((m - c0) / s) ** 2).sum()
        return np.exp(-0.5 * ((r - r0) ** 2 + (c - c0) ** 2) / s**2) / (zy * zx)

    expected = [np.log(0.75 * kern(13, 14, 10, 10) + 0.25 / 2000),
                np.log(0.75 * kern(10, 10, 13, 14) + 0.25 / 2000)]
    np.testing.assert_allclose(gold.loo_log_likelihoods("1", "A"), expected, rtol=1e-12)
    # a viewer alone on an image is scored by the centre bias alone
    np.testing.assert_allclose(gold.loo_log_likelihoods("2", "A"), [np.log(1 / 2000)], rtol=1e-12)


def _small_dataset(seed=1):
    rng = np.random.default_rng(seed)
    fix = {}
    for g in ("ASD", "TD"):
        fix[g] = {}
        for i in range(6):
            n = 4 * 5
            fix[g][str(i + 1)] = _fix(clipped(rng, 20, 8, n, 48), clipped(rng, 30, 10, n, 64),
                                      np.repeat(np.arange(4), 5))
    return make_dataset(fix, 48, 64)


def test_loo_map_ignores_the_excluded_viewer_and_matches_loo_ll():
    ds = _small_dataset()
    cb = FittedCenterBias(ds, params={"ASD": (0.15, 0.3), "TD": (0.2, 0.1)})
    gold = GoldStandard(ds, cb, params={"ASD": (5.0, 0.2), "TD": (6.0, 0.1)})
    st = ds.stimuli["3"]
    before = gold.log_density(st, "ASD", exclude_viewers=[2])
    # move viewer 2's fixations on image 3 elsewhere: its leave-out map must not change
    f = ds.fixations["ASD"]["3"]
    moved = f.viewer == 2
    x = f.x.copy(); y = f.y.copy()
    x[moved] = 63.0; y[moved] = 47.0
    ds2 = make_dataset({g: dict(per) for g, per in ds.fixations.items()}, 48, 64)
    ds2.fixations["ASD"]["3"] = Fixations(x, y, f.duration, f.viewer)
    cb2 = FittedCenterBias(ds2, params={"ASD": (0.15, 0.3), "TD": (0.2, 0.1)})
    gold2 = GoldStandard(ds2, cb2, params={"ASD": (5.0, 0.2), "TD": (6.0, 0.1)})
    np.testing.assert_array_equal(gold2.log_density(st, "ASD", exclude_viewers=[2]), before)
    # ... while the map with every viewer does change
    assert not np.array_equal(gold2.log_density(st, "ASD"), gold.log_density(st, "ASD"))
    # the fast per-viewer maps are the leave-one-out maps
    fast = dict(gold.loo_log_densities(st, "ASD"))
    assert sorted(fast) == [0, 1, 2, 3]
    for viewer, ld in fast.items():
        np.testing.assert_allclose(ld, gold.log_density(st, "ASD", exclude_viewers=[viewer]), rtol=0, atol=1e-9)
    # each fixation's LOO log-likelihood is its leave-its-viewer-out map at its pixel
    ll = gold.loo_log_likelihoods("3", "ASD")
    r, c = f.rows_cols()
    for j in range(len(f)):
        ld = gold.log_density(st, "ASD", exclude_viewers=[int(f.viewer[j])])
        assert ll[j] == pytest.approx(ld[r[j], c[j]], rel=1e-12)


def test_every_map_is_a_log_density():
    ds = _small_dataset()
    cb = FittedCenterBias(ds)
    gold = GoldStandard(ds, cb)
    other = OtherGroupPredictor(gold)
    for p in (cb, gold, other):
        assert isinstance(p, Predictor)
        for sid in ("1", "6"):
            ld = p.log_density(ds.stimuli[sid], "ASD", exclude_viewers=[0])
            assert ld.dtype == np.float64 and ld.shape == (48, 64)
            assert np.all(np.isfinite(ld))
            assert abs(logsumexp(ld)) < 1e-12


def test_centre_bias_leaves_the_image_out():
    ds = _small_dataset()
    params = {"ASD": (0.15, 0.3), "TD": (0.2, 0.1)}
    cb = FittedCenterBias(ds, params=params)
    st = ds.stimuli["2"]
    before = cb.log_density(st, "ASD")
    fix = {g: dict(per) for g, per in ds.fixations.items()}
    fix["ASD"]["2"] = _fix([0, 47], [0, 63], [0, 1])  # image 2's own fixations replaced
    cb2 = FittedCenterBias(make_dataset(fix, 48, 64), params=params)
    np.testing.assert_array_equal(cb2.log_density(st, "ASD"), before)
    assert not np.array_equal(cb2.log_density(ds.stimuli["1"], "ASD"), cb.log_density(ds.stimuli["1"], "ASD"))
    # point values agree with the map
    r, c = np.array([0, 10, 47]), np.array([0, 33, 63])
    np.testing.assert_allclose(cb.probability_at(st, "ASD", r, c), np.exp(before)[r, c], rtol=1e-12)


def test_other_group_uses_only_the_other_group():
    ds = _small_dataset()
    cb = FittedCenterBias(ds, params={"ASD": (0.15, 0.3), "TD": (0.2, 0.1)})
    gold = GoldStandard(ds, cb, params={"ASD": (5.0, 0.2), "TD": (6.0, 0.1)})
    other = OtherGroupPredictor(gold)
    st = ds.stimuli["4"]
    # TD's density with all TD viewers: (1 - w) KDE_TD + w CB_TD, built here from the parts
    from asdgaze.models.kde import pixel_kde
    r, c = ds.fixations["TD"]["4"].rows_cols()
    expected = np.log(0.9 * pixel_kde(r, c, 48, 64, 6.0) + 0.1 * cb.probability(st, "TD"))
    np.testing.assert_allclose(other.log_density(st, "ASD", exclude_viewers=[1]), expected, rtol=1e-12)


def test_errors():
    ds = _small_dataset()
    cb = FittedCenterBias(ds, params={"ASD": (0.15, 0.3), "TD": (0.2, 0.1)})
    with pytest.raises(OptionsError, match="needs a group"):
        cb.log_density(ds.stimuli["1"])
    with pytest.raises(OptionsError, match="'XX' is not in the dataset"):
        cb.log_density(ds.stimuli["1"], "XX")
    bad = make_dataset({"A": {"1": _fix([50], [3], [0]), "2": _fix([3], [3], [0])}}, 48, 64)
    with pytest.raises(DataError, match=r"1\.png: group A has fixations outside"):
        FittedCenterBias(bad)


def test_gold_bandwidth_recovers_sqrt2_sigma():
    """Two viewers look at the same 9 well-separated targets with N(0, sigma^2) noise per axis.
    Scoring one viewer's fixation by a Gaussian kernel on the other's, the held-out likelihood is
    maximal at the spread of their difference, sigma * sqrt(2) (the ML estimate of a variance,
    1800 differences per axis: standard error ~2.4 % on the variance, ~1.2 % on sigma; floor()
    adds 1/6 px^2, 0.2 %). Tolerance 5 %."""
    rng = np.random.default_rng(7)
    h, w, sd = 240, 240, 6.0
    fix = {"A": {}}
    for i in range(100):
        off = rng.uniform(-20, 20, 2)
        ty, tx = np.meshgrid(np.array([60.0, 120, 180]) + off[0], np.array([60.0, 120, 180]) + off[1])
        ty, tx = ty.ravel(), tx.ravel()
        ys = np.concatenate([np.floor(ty + rng.normal(0, sd, 9)) for _ in range(2)])
        xs = np.concatenate([np.floor(tx + rng.normal(0, sd, 9)) for _ in range(2)])
        fix["A"][str(i)] = Fixations.from_arrays(xs, ys, None, np.repeat([0, 1], 9))
    ds = make_dataset(fix, h, w)
    gold = GoldStandard(ds)
    fit = gold.fits["A"]
    assert fit.sigma == pytest.approx(sd * np.sqrt(2), rel=0.05)
    assert fit.weight < 0.05
    assert not fit.search["at_range_edge"]


def test_weights_go_to_one_for_uniform_fixations():
    """Fixations uniform over the image: nothing beats the uniform density, so the centre bias puts
    (almost) all weight on its uniform part, and the gold standard on the centre bias. (The gold
    bandwidth is searched up to 16 px, a fifth of this 60 x 80 image: a kernel much wider than the
    image is itself flat, and then the weight is not identifiable.)"""
    ds = _uniform_dataset(np.random.default_rng(11), 40, 6, 10, 60, 80)
    cb = FittedCenterBias(ds)
    assert cb.fits["A"].weight > 0.9
    gold = GoldStandard(ds, cb, sigma_range=(1.0, 16.0))
    assert gold.fits["A"].weight > 0.9


def test_centre_bias_recovers_a_generating_gaussian():
    """Fixations from a centred Gaussian (sd 0.15 of each side): the fitted centre bias is close to
    the generating pixel distribution (KL below 0.01 nats; a Gaussian KDE from 3000 points), with a
    bandwidth below the generating spread and a small uniform weight."""
    rng = np.random.default_rng(5)
    h, w = 60, 80
    fix = {"A": {str(i): Fixations.from_arrays(clipped(rng, w / 2, 0.15 * w, 30, w),
                                               clipped(rng, h / 2, 0.15 * h, 30, h), None,
                                               np.repeat(np.arange(3), 10)) for i in range(100)}}
    ds = make_dataset(fix, h, w)
    cb = FittedCenterBias(ds)
    fit = cb.fits["A"]
    assert fit.sigma < 0.15 and fit.weight < 0.1
    # generating pmf: floor(N(W/2, 0.15 W)) truncated to the image, per axis (pixel k covers [k, k+1))
    from scipy.stats import norm
    py = np.diff(norm.cdf(np.arange(h + 1), h / 2, 0.15 * h)); py /= py.sum()
    px = np.diff(norm.cdf(np.arange(w + 1), w / 2, 0.15 * w)); px /= px.sum()
    true = py[:, None] * px[None, :]
    ld = cb.log_density(ds.stimuli["0"], "A")
    kl = float(np.sum(true * (np.log(true) - ld)))
    assert 0 <= kl < 0.01, kl


def test_fits_are_deterministic():
    ds = _small_dataset()
    a, b = GoldStandard(ds), GoldStandard(ds)
    assert a.describe() == b.describe()


def test_registry_fits_each_baseline_with_a_strict_json_description():
    import json

    ds = _small_dataset()
    for name in registry.names():
        if name == "centerbias-mit1003":
            continue  # needs the cached template; covered in test_predictors.py
        p = registry.fit(ds, (name,), ds.groups)[name]
        assert p.name == name and isinstance(p, Predictor)
        json.dumps(p.describe(), allow_nan=False)
    with pytest.raises(OptionsError, match="unknown baseline 'nope'"):
        registry.fit(ds, ("nope",), ds.groups)
    with pytest.raises(OptionsError, match="needs exactly 2 groups"):
        registry.fit(ds, ("other-group",), ds.groups[:1])
    given = FittedCenterBias(ds, params={"ASD": (0.2, 0.5), "TD": (0.2, 0.5)})
    assert given.describe()["fits"]["ASD"]["mean_log_likelihood"] is None


def test_real_fixations_order_the_baselines(osie_dir):
    """On the real OSIE fixations, held out: gold standard > fitted centre bias > uniform, per fixation;
    the fits land inside their search ranges."""
    from asdgaze.data import load_dataset

    ds = load_dataset(osie_dir / "TrainingDataset")
    cb = FittedCenterBias(ds)
    gold = GoldStandard(ds, cb)
    uniform = -np.log(800 * 600)
    for g in ds.groups:
        assert gold.fits[g].mean_log_likelihood > cb.fits[g].mean_log_likelihood > uniform
        assert not cb.fits[g].search["at_range_edge"] and not gold.fits[g].search["at_range_edge"]
        # the fit's held-out likelihood is the mean of the per-fixation LOO log-likelihoods
        lls = np.concatenate([gold.loo_log_likelihoods(s, g) for s in ds.stimuli])
        assert lls.mean() == pytest.approx(gold.fits[g].mean_log_likelihood, rel=1e-5)


def test_centre_bias_when_one_image_holds_almost_all_fixations():
    """Image 1 has 500 fixations, image 2 a single one at (5, 7): image 1's centre bias is exactly
    the kernel of that one fixation (no cancellation residue from the 500), mixed as given."""
    from asdgaze.models import kde

    rng = np.random.default_rng(2)
    big = _fix(rng.integers(0, 48, 500), rng.integers(0, 64, 500), np.zeros(500, int))
    ds = make_dataset({"A": {"1": big, "2": _fix([5], [7], [0])}}, 48, 64)
    cb = FittedCenterBias(ds, params={"A": (0.1, 0.2)})
    hist = np.zeros((64, 64))
    kde.bin_fixations(hist, np.array([5]), np.array([7]), 48, 64)
    m = kde.grid_gaussian(64, 0.1)
    expected = 0.8 * kde.grid_to_pixels(m @ hist @ m.T, 48, 64) + 0.2 / (48 * 64)
    np.testing.assert_allclose(cb.probability(ds.stimuli["1"], "A"), expected, rtol=1e-12)


def test_centre_bias_maps_kept_for_the_last_image_are_the_same_maps():
    """probability() keeps the last stimulus' maps (asked for again by the other group's density): the
    maps it hands out are those of a fresh fit, for every image and group in any order, and a copy sent
    to another process leaves them behind."""
    import pickle

    rng = np.random.default_rng(8)
    ds = _uniform_dataset(rng, 4, 3, 6, 30, 40, groups=("A", "B"))
    cb = FittedCenterBias(ds, params={"A": (0.1, 0.3), "B": (0.2, 0.5)})
    order = [("0", "A"), ("0", "B"), ("0", "A"), ("1", "B"), ("0", "B"), ("1", "A"), ("1", "A")]
    for sid, g in order:
        fresh = FittedCenterBias(ds, params={"A": (0.1, 0.3), "B": (0.2, 0.5)})
        got = cb.probability(ds.stimuli[sid], g)
        assert np.array_equal(got, fresh.probability(ds.stimuli[sid], g)) and not got.flags.writeable
    assert cb.probability(ds.stimuli["1"], "A") is cb.probability(ds.stimuli["1"], "A")
    assert pickle.loads(pickle.dumps(cb))._recent == (None, {})

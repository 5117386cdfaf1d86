"""Invariances, NaN rules, resizing behaviour and input checks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from asdgaze.maps.imresize import imresize
from asdgaze.metrics import (
    auc_borji,
    auc_judd,
    auc_shuffled,
    cc,
    emd,
    info_gain,
    kl_div,
    nss,
    sim,
)


def _case(seed=0, shape=(48, 64), n_fix=40):
    rng = np.random.default_rng(seed)
    s = rng.random(shape)
    f = np.zeros(shape, bool)
    f.flat[rng.choice(f.size, n_fix, replace=False)] = True
    c = rng.random(shape)
    o = np.zeros(shape, bool)
    o.flat[rng.choice(f.size, 3 * n_fix, replace=False)] = True
    return s, f, c, o


def test_judd_monotone_invariance():
    s, f, _, _ = _case()
    base = auc_judd(s, f, jitter=False)
    assert auc_judd(np.exp(3 * s) + 7, f, jitter=False) == pytest.approx(base, abs=1e-15)
    assert auc_judd(s**3, f, jitter=False) == pytest.approx(base, abs=1e-15)


def test_judd_jitter_reproducible():
    s, f, _, _ = _case()
    a = auc_judd(s, f)
    assert a == auc_judd(s, f, rng=np.random.default_rng(0))
    assert a == pytest.approx(auc_judd(s, f, jitter=False), abs=1e-5)


def test_judd_ties_over_count_without_jitter():
    # 400 pixels, one at 1 and the rest 0; both fixations on 0 (tied). Without jitter both
    # thresholds are 0 with #{S >= 0} = 400: (fp, tp) = (399/398, 1/2) then (1, 1), so the ROC
    # overshoots fp = 1 and the area is 399/398 * 1/4 - 1/398 * 3/4 = 99/398 (metrics.md 3.1 notes).
    s = np.zeros((20, 20))
    s[0, 0] = 1.0
    f = np.zeros((20, 20), bool)
    f[5, 5] = f[6, 6] = True
    assert auc_judd(s, f, jitter=False) == pytest.approx(99 / 398, rel=1e-14)
    assert 0.0 <= auc_judd(s, f) <= 1.0


def test_cc_symmetric_and_self():
    s, _, c, _ = _case()
    assert cc(s, c) == pytest.approx(cc(c, s), rel=1e-12)
    assert cc(s, s) == pytest.approx(1.0, rel=1e-14)
    assert cc(-s, s) == pytest.approx(-1.0, rel=1e-14)


def test_nss_affine_invariance():
    s, f, _, _ = _case()
    assert nss(3.5 * s - 2.0, f) == pytest.approx(nss(s, f), rel=1e-12)


def test_sim_kl_emd_self():
    s, _, _, _ = _case(shape=(64, 96))
    assert sim(s, s) == pytest.approx(1.0, rel=1e-14)
    # Q ln(eps + Q/(Q + eps)) ~ Q (eps - eps/Q) per pixel: the eps terms sum to -eps (N - 1).
    eps = np.finfo(float).eps
    assert kl_div(s, s) == pytest.approx(-eps * (s.size - 1), rel=1e-3)
    # Shapes divisible by downsize: both resizes use the same scale, so a == b exactly.
    assert emd(s, s, downsize=32) == 0.0
    assert emd(s, s, downsize=8) == 0.0


def test_emd_on_grid_not_divisible():
    # 100x130 at 1/8: a = imresize(C, 1/8) is 13x17 at scale 0.125, but b = imresize(S, [13 17])
    # uses scales 0.13 and 17/130, so EMD(S, S) is small but not 0 (a quirk of the MIT code).
    s, _, _, _ = _case(shape=(100, 130))
    v = emd(s, s, downsize=8)
    assert 0.0 < v < 0.05


def test_auc_borji_shuffled_ranges():
    s, f, _, o = _case()
    for v in (auc_borji(s, f), auc_shuffled(s, f, o)):
        assert 0.0 <= v <= 1.0
    assert auc_borji(s, f) == auc_borji(s, f, rng=np.random.default_rng(0))
    assert auc_shuffled(s, f, o) == auc_shuffled(s, f, o, rng=np.random.default_rng(0))


def test_resize_when_sizes_differ():
    s, f, c, o = _case(shape=(48, 64))
    small = s[::2, ::2] + 1.0  # positive even after bicubic overshoot, so KL stays defined
    big = imresize(small, output_shape=f.shape)
    assert auc_judd(small, f, jitter=False) == auc_judd(big, f, jitter=False)
    assert nss(small, f) == nss(big, f)
    assert cc(small, c) == cc(big, c)
    assert kl_div(small, c) == kl_div(big, c)
    assert sim(small, c) == sim(big, c)
    assert info_gain(small, f, small) == info_gain(big, f, big)
    assert auc_shuffled(small, f, o) == auc_shuffled(big, f, o)


def test_integer_input_is_converted_to_double():
    rng = np.random.default_rng(3)
    s8 = rng.integers(0, 256, (30, 40)).astype(np.uint8)
    _, f, c, _ = _case(shape=(30, 40), n_fix=10)
    assert nss(s8, f) == nss(s8.astype(np.float64), f)
    assert sim(s8, c) == sim(s8.astype(np.float64), c)


# ---- NaN rules (metrics.md section 3) ----


def test_empty_fixation_map_gives_nan():
    s, _, c, o = _case()
    empty = np.zeros(s.shape, bool)
    for v in (
        auc_judd(s, empty),
        auc_borji(s, empty),
        auc_shuffled(s, empty, o),
        nss(s, empty),
        info_gain(s, empty, c),
    ):
        assert math.isnan(v)


def test_borji_single_fixation_is_nan_shuffled_is_not():
    s, _, _, o = _case()
    one = np.zeros(s.shape, bool)
    one[3, 4] = True
    assert math.isnan(auc_borji(s, one))
    assert not math.isnan(auc_shuffled(s, one, o))


def test_constant_map_gives_nan():
    s, f, c, o = _case()
    k = np.full(s.shape, 0.3)
    for v in (
        auc_judd(k, f, jitter=False),
        auc_judd(k, f, jitter=True),
        sim(s, k),
        auc_borji(k, f),
        auc_shuffled(k, f, o),
        nss(k, f),
        cc(k, c),
        cc(s, k),
        sim(k, c),
        info_gain(k, f, c),
    ):
        assert math.isnan(v)
    # An all-zero map is left as it is by similarity.m: sum(min(0, P_C)) = 0.
    assert sim(np.zeros(s.shape), c) == 0.0
    assert math.isnan(emd(np.zeros((64, 64)), np.ones((64, 64))))


def test_empty_other_map_gives_nan():
    s, f, _, _ = _case()
    assert math.isnan(auc_shuffled(s, f, np.zeros(s.shape, bool)))


# ---- input checks ----


def test_input_errors():
    s, f, c, o = _case()
    with pytest.raises(TypeError, match="fixation_map.*bool"):
        auc_judd(s, f.astype(np.uint8) * 255)
    with pytest.raises(ValueError, match="saliency.*NaN"):
        nss(np.where(f, np.nan, s), f)
    with pytest.raises(ValueError, match="density.*2-D"):
        cc(s, c[None])
    with pytest.raises(ValueError, match="other_map"):
        auc_shuffled(s, f, o[:-1])
    with pytest.raises(ValueError, match="draws"):
        auc_borji(s, f, draws=np.zeros((3, 5), int))
    with pytest.raises(ValueError, match="permutations"):
        auc_shuffled(s, f, o, permutations=np.full((f.sum(), 2), 10**6))


def test_threshold_counting_matches_brute_force():
    # The exact binned counter behind AUC-Judd against a direct count, with ties, values sharing
    # a bin with a threshold, and the end points 0 and 1.
    from asdgaze.metrics.auc import _count_at_least

    rng = np.random.default_rng(11)
    v = np.concatenate([rng.random(5000), np.round(rng.random(3000), 3), [0.0, 1.0, 1.0],
                        0.5 + np.arange(50) * 2.0**-20])
    th = np.concatenate([rng.choice(v, 200), [0.0, 1.0, 0.5 + 7 * 2.0**-20]])
    want = np.array([(v >= t).sum() for t in th])
    assert np.array_equal(_count_at_least(v, th), want)


def test_judd_jitter_is_uniform_noise_over_1e7_on_the_raw_map():
    # With jitter, AUC-Judd must equal the no-jitter score of S + U(0,1)/1e7 drawn from the same
    # generator (the no-jitter path is the one the MIT oracle checks).
    s, f, _, _ = _case()
    s = np.round(s * 20) / 20  # many ties, so the jitter matters
    jittered = s + np.random.default_rng(5).random(s.size).reshape(s.shape) / 1e7
    assert auc_judd(s, f, jitter=True, rng=np.random.default_rng(5)) == auc_judd(jittered, f, jitter=False)
    assert auc_judd(s, f, jitter=True, rng=np.random.default_rng(5)) != auc_judd(s, f, jitter=False)

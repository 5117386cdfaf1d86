"""Tiny cases worked out by hand from the MIT definitions (metrics.md section 3)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from asdgaze.metrics import (
    auc_borji,
    auc_judd,
    auc_shuffled,
    cc,
    emd,
    info_gain,
    kl_div,
    matlab_to_flat,
    nss,
    other_candidates,
    sim,
)

EPS = 2.220446049250313e-16

# min 0 and max 1, so min-max leaves the values exactly as written.
S = np.array([[0.0, 0.5, 0.25], [1.0, 0.75, 0.125]])
F = np.array([[False, True, False], [False, False, True]])  # positives 0.5 and 0.125


def test_judd_2x3():
    # n = 2, Npix = 6. Thresholds (descending) 0.5, 0.125.
    # #{S >= 0.5} = 3 -> tp = 1/2, fp = (3 - 1)/4 = 1/2.
    # #{S >= 0.125} = 5 -> tp = 1, fp = (5 - 2)/4 = 3/4.
    # ROC (0,0) (1/2,1/2) (3/4,1) (1,1): area 1/8 + 3/16 + 1/4 = 9/16.
    assert auc_judd(S, F, jitter=False) == 0.5625


def test_judd_one_based_counting():
    # A perfect map: positives are the two largest values -> fp stays 0 (a 0-based port gives fp < 0).
    s = np.array([[0.9, 0.1, 0.5], [0.3, 0.7, 0.2]])
    f = np.array([[True, False, False], [False, True, False]])
    assert auc_judd(s, f, jitter=False) == 1.0


def test_borji_two_splits():
    # Split 1: negatives at flat 0 (0.0) and 3 (1.0); max 1 -> thresholds 1.0, 0.9, ..., 0.
    #   tp: 0 for t >= 0.6, 1/2 for 0.5..0.2, 1 for t <= 0.1; fp: 1/2 for 1.0..0.1, 1 at 0.
    #   ROC (0,0) (1/2,0) ... (1/2,1/2) ... (1/2,1) (1,1) (1,1): area 1/2.
    # Split 2: negatives 0.5 (flat 1) and 0.75 (flat 4); max 0.75 -> thresholds 0.7 ... 0.
    #   tp as above; fp: 1/2 at 0.7, 0.6; 1 from 0.5 down.
    #   ROC (0,0) (1/2,0) (1/2,0) (1,1/2) ... (1,1): area 1/2 * 1/4 = 1/8.
    # Mean (1/2 + 1/8)/2 = 5/16.
    draws = np.array([[0, 1], [3, 4]])
    assert auc_borji(S, F, draws=draws) == 0.3125


def test_borji_exact_decimal_threshold():
    # A positive at exactly 0.6 and max 0.65: thresholds 0.6, 0.5, ..., 0 as exact decimals.
    # t=0.6: tp = 1/2 (0.6 >= 0.6), fp = 1/2 (0.65); t=0.5, 0.4: same; t=0.3..0.1: tp = 1;
    # t=0: fp = 1. ROC (0,0) (1/2,1/2) ... (1/2,1) (1,1): area 1/8 + 1/2 = 5/8.
    # With t = 6*0.1 = 0.6000000000000001 the 0.6 positive would miss it: area 1/2.
    s = np.array([[0.6, 0.0, 0.65], [1.0, 0.3, 0.2]])
    f = np.array([[True, False, False], [False, True, False]])
    assert auc_borji(s, f, draws=np.array([[2], [1]])) == 0.625


def test_shuffled_divides_fp_by_n_other():
    # One candidate (value 0.75), so n_o = 1 while n = 2. Thresholds 0.7 ... 0.
    # fp = #{0.75 >= t}/1 = 1 for every t, tp goes 0 -> 1/2 -> 1 along fp = 1: area 0.
    # (Dividing by n instead would give fp = 1/2 and area 1/2.)
    o = np.zeros((2, 3), bool)
    o[1, 1] = True
    assert auc_shuffled(S, F, o, permutations=np.array([[0]])) == 0.0


def test_shuffled_two_splits():
    # Candidates, column-major: (1,0)=1.0, (1,1)=0.75, (0,2)=0.25.
    # Split 1, permutation [1, 2, 0] -> negatives 0.75, 0.25 (n_o = 2); max 0.75, t = 0.7 ... 0.
    #   tp: 0 at 0.7, 0.6; 1/2 for 0.5..0.2; 1 for 0.1, 0. fp: 1/2 for 0.7..0.3; 1 for 0.2 and below.
    #   ROC (0,0) (1/2,0) (1/2,0) (1/2,1/2)x3 (1,1/2) (1,1)x3: area 1/2 * 1/2 = 1/4.
    # Split 2, permutation [0, 2, 1] -> negatives 1.0, 0.25; t = 1.0 ... 0.
    #   fp: 1/2 for 1.0..0.3, 1 below; tp as before. Same area 1/4 (the extra (1/2,0) add nothing).
    o = np.array([[False, False, True], [True, True, False]])
    assert other_candidates(o).tolist() == [3, 4, 2]
    perms = np.array([[1, 0], [2, 2], [0, 1]])
    assert auc_shuffled(S, F, o, permutations=perms) == 0.25


def test_matlab_index_conversion():
    # 2x3 map, MATLAB column-major: 1=(1,1) 2=(2,1) 3=(1,2) 4=(2,2) 5=(1,3) 6=(2,3).
    assert matlab_to_flat(np.array([[1, 6], [2, 3]]), (2, 3)).tolist() == [[0, 5], [3, 1]]
    with pytest.raises(ValueError):
        matlab_to_flat(np.array([0]), (2, 3))


def test_nss():
    s = np.array([[0.0, 1.0], [2.0, 3.0]])  # mean 1.5, sample std sqrt(5/3)
    f = np.array([[False, False], [False, True]])
    assert nss(s, f) == pytest.approx(1.5 / math.sqrt(5 / 3), rel=1e-14)
    f2 = np.array([[True, False], [False, True]])
    assert nss(s, f2) == pytest.approx(0.0, abs=1e-15)


def test_cc():
    # Centred: s = (-1.5, -0.5, 0.5, 1.5), c = (-1.5, 0.5, -0.5, 1.5): 4 / sqrt(5 * 5) = 0.8.
    assert cc(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[1.0, 3.0], [2.0, 4.0]])) == pytest.approx(
        0.8, rel=1e-14
    )


def test_kl():
    # P = (1/4, 3/4), Q = (1/2, 1/2): 1/2 ln(2) + 1/2 ln(2/3) = 1/2 ln(4/3), up to eps terms.
    got = kl_div(np.array([[1.0, 3.0]]), np.array([[1.0, 1.0]]))
    want = 0.5 * math.log(EPS + 0.5 / (0.25 + EPS)) + 0.5 * math.log(EPS + 0.5 / (0.75 + EPS))
    assert got == pytest.approx(want, rel=1e-14)
    assert want == pytest.approx(0.5 * math.log(4 / 3), rel=1e-14)


def test_sim():
    # S: minmax (0, 1/3, 1) / (4/3) = (0, 1/4, 3/4). C: minmax (1, 1, 0) / 2 = (1/2, 1/2, 0).
    # sum min = 0 + 1/4 + 0.
    assert sim(np.array([[0.0, 1.0, 3.0]]), np.array([[2.0, 2.0, 0.0]])) == pytest.approx(0.25, rel=1e-14)


def test_info_gain():
    # S: minmax (0, 1/4, 3/4, 1) / 2 = (0, 1/8, 3/8, 1/2). B: minmax (0, 0, 0, 1) / 1.
    # Fixated (0,1): log2(eps + 1/8) - log2(eps) = -3 + 52 = 49; (1,1): log2(1/2) - log2(1) = -1.
    s = np.array([[0.0, 1.0], [3.0, 4.0]])
    b = np.array([[1.0, 1.0], [1.0, 3.0]])
    f = np.array([[False, True], [False, True]])
    assert info_gain(s, f, b) == pytest.approx(24.0, rel=1e-13)


def test_info_gain_over_a_constant_baseline_is_over_uniform():
    # MATLAB's min-max is undefined for a constant baseline; we take P_B = 1/N (N = 4 pixels).
    # S as in test_info_gain: P_S = (0, 1/8, 3/8, 1/2). Fixated (0,1) and (1,1):
    # [log2(1/8) - log2(1/4)] and [log2(1/2) - log2(1/4)] -> (-1 + 1) / 2 = 0.
    s = np.array([[0.0, 1.0], [3.0, 4.0]])
    f = np.array([[False, True], [False, True]])
    assert info_gain(s, f, np.full((2, 2), 0.3)) == pytest.approx(0.0, abs=1e-15)
    f2 = np.array([[False, False], [False, True]])  # only (1,1): log2(1/2) - log2(1/4) = 1
    assert info_gain(s, f2, np.ones((2, 2))) == pytest.approx(1.0, rel=1e-14)


def test_emd_line_and_diagonal():
    # downsize 1: no resampling. Mass 1 at cell 0 vs 1/2 at cells 1 and 2: 1/2*1 + 1/2*2.
    assert emd(np.array([[0.0, 0.5, 0.5]]), np.array([[1.0, 0.0, 0.0]]), downsize=1) == pytest.approx(1.5)
    c = np.array([[1.0, 0.0], [0.0, 0.0]])
    s = np.array([[0.0, 0.0], [0.0, 1.0]])
    assert emd(s, c, downsize=1) == pytest.approx(math.sqrt(2), rel=1e-12)


def test_emd_negative_bin():
    # a = (-0.1, 0.6, 0.5), b = (0.2, 0.3, 0.5). Pre-flow leaves a surplus 0.3 at cell 1 and a demand
    # 0.3 at cell 0: EMD = 0.3 * 1. (POT on the raw histograms would silently give 0.)
    got = emd(np.array([[0.2, 0.3, 0.5]]), np.array([[-0.1, 0.6, 0.5]]), downsize=1)
    assert got == pytest.approx(0.3, rel=1e-12)

"""MATLAB-style imresize: hand-computed cases, properties, and the Octave resize in the EMD oracle."""

from __future__ import annotations

import numpy as np
import pytest

from asdgaze.maps.imresize import imresize, resize_weights


def test_enlarge_two_by_hand():
    # Columns, s = 2, kernel k (Keys a=-0.5), support 4, u = j/2 + 1/4.
    # j=1: u=0.75, taps i=-2..3, weights k(u-i) = [0, -3/128, 29/128, 111/128, -9/128, 0];
    #   mirrored indices (1..n, n..1) -> i=-1 -> 2, i=0 -> 1, i=1 -> 1, i=2 -> 2;
    #   with a = [0, 1]: out = -3/128 - 9/128 = -6/64 (overshoot below the input minimum).
    # j=2: u=1.25, weights for i=0..3 = [-9/128, 111/128, 29/128, -3/128], indices [1, 1, 2, 2]:
    #   out = 29/128 - 3/128 = 13/64; j=3, j=4 follow by symmetry (1 - 13/64, 1 + 6/64).
    # Rows: one input row, all taps mirror onto it, so both output rows equal it.
    out = imresize(np.array([[0.0, 1.0]]), 2.0)
    row = np.array([-6, 13, 51, 70]) / 64
    np.testing.assert_allclose(out, np.vstack([row, row]), rtol=0, atol=1e-15)


def test_shrink_half_by_hand():
    # Columns, s = 0.5: h(t) = 0.5 k(0.5 t), support 8, u = 2j - 0.5, 10 taps.
    # j=1: u=1.5, taps i=-3..6 with weights [0, -3/256, -9/256, 29/256, 111/256, 111/256, 29/256,
    #   -9/256, -3/256, 0]; mirror (period 8: 1 2 3 4 4 3 2 1) maps i=-2,-1,0 to 3,2,1 and i=5 to 4,
    #   so out1 = (70 a1 + 51 a2 + 13 a3 - 6 a4)/128 and out2 is the mirror image.
    # a = [1, 2, 3, 4]: out1 = 187/128, out2 = 453/128.
    out = imresize(np.array([[1.0, 2.0, 3.0, 4.0]]), 0.5)
    np.testing.assert_allclose(out, [[187 / 128, 453 / 128]], rtol=0, atol=1e-15)


def test_identity_at_scale_one():
    a = np.random.default_rng(1).random((7, 9))
    assert np.array_equal(imresize(a, 1.0), a)
    assert np.array_equal(imresize(a, output_shape=(7, 9)), a)
    # One axis unchanged: the scale-1 kernel is an exact identity on that axis.
    b = imresize(a, output_shape=(7, 3))
    assert b.shape == (7, 3)
    np.testing.assert_allclose(b, imresize(a.T, output_shape=(3, 7)).T, rtol=0, atol=1e-15)


@pytest.mark.parametrize("shape", [(8, 8), (5, 13)])
@pytest.mark.parametrize("kw", [{"scale": 0.5}, {"scale": 1 / 3}, {"scale": 2.5}, {"output_shape": (4, 11)}])
def test_constant_preserved(shape, kw):
    out = imresize(np.full(shape, 0.7), **kw)
    np.testing.assert_allclose(out, 0.7, rtol=0, atol=1e-15)


def test_output_shapes():
    a = np.zeros((768, 1024))
    assert imresize(a, 1 / 32).shape == (24, 32)
    assert imresize(np.zeros((600, 800)), 1 / 32).shape == (19, 25)  # ceil(18.75), ceil(25)
    assert imresize(np.zeros((6, 5)), output_shape=(3, 10)).shape == (3, 10)


def test_separable_rank_one():
    rng = np.random.default_rng(2)
    u, v = rng.random(20), rng.random(30)
    out = imresize(np.outer(u, v), output_shape=(7, 45))
    ru = resize_weights(20, 7) @ u
    rv = resize_weights(30, 45) @ v
    np.testing.assert_allclose(out, np.outer(ru, rv), rtol=1e-13, atol=1e-15)


def test_weights_rows_sum_to_one():
    for n_in, n_out in [(100, 37), (100, 96), (9, 20), (1, 4)]:
        np.testing.assert_allclose(resize_weights(n_in, n_out).sum(axis=1), 1.0, rtol=0, atol=1e-14)


@pytest.mark.parametrize("case", ["a", "q"])
def test_octave_emd_resizes(case, reference_dir):
    # Oracle: emd_im1 = imresize(C, 1/8) and emd_im2 = imresize(S, size(emd_im1)) from Octave.
    d = np.load(reference_dir / "metric-oracles" / f"mit_case_{case}.npz")
    im1 = imresize(d["C"], 1 / 8)
    np.testing.assert_allclose(im1, d["emd_im1"], rtol=1e-12, atol=1e-15)
    im2 = imresize(d["S"], output_shape=im1.shape)
    np.testing.assert_allclose(im2, d["emd_im2"], rtol=1e-12, atol=1e-15)


def test_bad_arguments():
    with pytest.raises(ValueError, match="exactly one"):
        imresize(np.zeros((4, 4)))
    with pytest.raises(ValueError, match="2-D"):
        imresize(np.zeros((4, 4, 3)), 0.5)
    with pytest.raises(ValueError, match="positive"):
        imresize(np.zeros((4, 4)), -1.0)

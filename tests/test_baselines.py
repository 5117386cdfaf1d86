import numpy as np
import pytest
from scipy.special import logsumexp

from asdgaze.models.baselines import (gaussian_center_log_density,
                                      uniform_log_density)


def test_uniform_is_log_one_over_n():
    ld = uniform_log_density(3, 5)
    assert ld.shape == (3, 5)
    np.testing.assert_allclose(ld, np.log(1 / 15), rtol=0, atol=1e-15)


@pytest.mark.parametrize("h,w", [(1, 1), (4, 6), (600, 800), (7, 3)])
def test_gaussian_center_is_normalised(h, w):
    ld = gaussian_center_log_density(h, w)
    assert ld.shape == (h, w)
    assert abs(logsumexp(ld)) < 1e-12


def test_gaussian_center_matches_hand_formula():
    # 2x4 image, sigma = 1/4 of each side: sigma_y = 0.5, sigma_x = 1.
    # pixel centres: rows 0.5, 1.5 -> offsets -0.5, 0.5 ; cols 0.5..3.5 -> offsets -1.5, -0.5, 0.5, 1.5
    ry = np.array([-0.5, 0.5]) / 0.5
    cx = np.array([-1.5, -0.5, 0.5, 1.5]) / 1.0
    p = np.exp(-0.5 * (ry[:, None] ** 2 + cx[None, :] ** 2))
    p /= p.sum()
    np.testing.assert_allclose(np.exp(gaussian_center_log_density(2, 4)), p, rtol=1e-13)


def test_gaussian_is_symmetric_and_peaks_in_centre():
    ld = gaussian_center_log_density(6, 9)
    np.testing.assert_allclose(ld, ld[::-1, :], atol=1e-14)
    np.testing.assert_allclose(ld, ld[:, ::-1], atol=1e-14)
    assert ld[3, 4] == ld.max()


def test_predictors_follow_the_interface():
    from pathlib import Path

    from asdgaze.data.types import Stimulus
    from asdgaze.models.base import Predictor
    from asdgaze.models.simple import GaussianCenterPredictor, UniformPredictor

    stim = Stimulus("1", Path("1.png"), 10, 12)
    for model in (UniformPredictor(), GaussianCenterPredictor()):
        assert isinstance(model, Predictor) and model.traits.shape_only
        ld = model.log_density(stim)
        assert ld.shape == (10, 12) and abs(logsumexp(ld)) < 1e-12


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError):
        gaussian_center_log_density(0, 5)
    with pytest.raises(ValueError):
        gaussian_center_log_density(5, 5, sigma_fraction=0)

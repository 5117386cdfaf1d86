"""The predictor interface and the predictors that need no fitting; the KDE building blocks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.ndimage import zoom
from scipy.special import logsumexp
from scipy.stats import norm

from asdgaze.data.types import Dataset, Fixations, Stimulus
from asdgaze.errors import MapError, OptionsError, WeightsError
from asdgaze.models import kde
from asdgaze.models.base import Predictor
from asdgaze.models.maps import open_maps
from asdgaze.models.simple import CenterBiasMIT1003Predictor, UniformPredictor

STIM = Stimulus("7", Path("/nonexistent/7.png"), 30, 40)


def test_uniform_is_minus_log_pixels():
    p = UniformPredictor()
    assert isinstance(p, Predictor)
    ld = p.log_density(STIM, "ASD", exclude_viewers=[1])
    assert ld.dtype == np.float64 and ld.shape == (30, 40)
    np.testing.assert_array_equal(ld, np.full((30, 40), -np.log(1200.0)))


def _dataset(tmp_path, stems, h=30, w=40) -> Dataset:
    stimuli = {s: Stimulus(s, tmp_path / f"{s}.png", h, w) for s in stems}
    return Dataset("t", tmp_path, stimuli, {"A": {s: Fixations.from_arrays([1.0], [1.0]) for s in stems}})


def test_map_folder_removes_constant_and_checks(tmp_path):
    maps = tmp_path / "maps"
    maps.mkdir()
    a = np.arange(1200, dtype=np.float32).reshape(30, 40) / 100.0 + 5.0
    np.save(maps / "7.npy", a)
    np.save(maps / "8.npy", np.zeros((30, 60)))
    bad = np.zeros((30, 40)); bad[3, 3] = np.nan
    np.save(maps / "9.npy", bad)
    (maps / "11.npy").write_bytes(b"not a numpy file")
    ds = _dataset(tmp_path, ["7", "8", "9", "11"])
    p = open_maps("m", maps, ds, "log-density")
    assert isinstance(p, Predictor) and p.traits.density
    ld = p.log_density(ds.stimuli["7"]).values
    a64 = a.astype(np.float64)
    np.testing.assert_allclose(ld, a64 - np.log(np.exp(a64).sum()), rtol=0, atol=1e-12)
    assert abs(logsumexp(ld)) < 1e-12
    with pytest.raises(MapError, match=r"8\.npy: map is 60x30, .*aspect ratio differs"):
        p.log_density(ds.stimuli["8"])
    with pytest.raises(MapError, match=r"9\.npy: .*NaN"):
        p.log_density(ds.stimuli["9"])
    with pytest.raises(MapError, match=r"11\.npy: "):
        p.log_density(ds.stimuli["11"])


def test_map_folder_missing_maps_and_folder(tmp_path):
    (tmp_path / "maps").mkdir()
    np.save(tmp_path / "maps" / "7.npy", np.full((30, 40), -np.log(1200.0)))  # a uniform log density
    ds = _dataset(tmp_path, ["7", "10"])
    with pytest.raises(OptionsError, match=r"no map in .* for 1 of 2 images: 10"):
        open_maps("m", tmp_path / "maps", ds, "log-density")
    p = open_maps("m", tmp_path / "maps", ds, "log-density", allow_missing=True)
    assert p.covers("7") and not p.covers("10") and p.missing == ["10"]
    with pytest.raises(OptionsError, match="maps folder not found"):
        open_maps("m", tmp_path / "absent", ds, "log-density")


def test_mit1003_missing_is_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("ASDGAZE_HOME", str(tmp_path))
    with pytest.raises(WeightsError, match=r"centerbias_mit1003\.npy.*asdgaze weights download"):
        CenterBiasMIT1003Predictor()


def test_mit1003_template_rescaled_as_published(tmp_path, monkeypatch):
    rng = np.random.default_rng(3)
    template = rng.normal(size=(1024, 1024))
    template -= logsumexp(template)  # a real template is a normalised log density (checked on load)
    np.save(tmp_path / "centerbias_mit1003.npy", template)
    monkeypatch.setenv("ASDGAZE_HOME", str(tmp_path))
    p = CenterBiasMIT1003Predictor()
    ld = p.log_density(STIM)
    # the published DeepGaze example: nearest-neighbour zoom to the image, then minus logsumexp
    expected = zoom(template, (30 / 1024, 40 / 1024), order=0, mode="nearest")
    expected = expected - logsumexp(expected)
    np.testing.assert_allclose(ld, expected, rtol=0, atol=1e-12)


# --- KDE building blocks ---------------------------------------------------------------------------


def test_truncated_norm_matches_direct_sum():
    for size, sigma in ((1, 1.0), (7, 0.7), (50, 12.0)):
        pos = np.arange(size)
        direct = np.exp(-0.5 * ((np.arange(size)[None, :] - pos[:, None]) / sigma) ** 2).sum(1)
        np.testing.assert_allclose(kde.truncated_norm_1d(pos, size, sigma), direct, rtol=1e-12)


def test_kde_of_one_fixation_is_the_gaussian():
    """Far from the borders the truncation is negligible: the pmf is the 2-D Gaussian density at
    the pixel offsets, N(dr; 0, s) N(dc; 0, s), which peaks at 1 / (2 pi s^2)."""
    s = 3.0
    p = kde.pixel_kde(np.array([30]), np.array([40]), 60, 80, s)
    rr, cc = np.mgrid[0:60, 0:80]
    expected = norm.pdf(rr, 30, s) * norm.pdf(cc, 40, s)
    np.testing.assert_allclose(p, expected, rtol=1e-9, atol=1e-15)
    assert p[30, 40] == pytest.approx(1 / (2 * np.pi * s * s), rel=1e-12)
    # near a border the kernel is renormalised over the image: it still sums to 1
    p = kde.pixel_kde(np.array([0]), np.array([0]), 60, 80, 10.0)
    assert p.sum() == pytest.approx(1.0, abs=1e-12)
    half = norm.pdf(np.arange(60), 0, 10.0)
    assert p[5, 0] == pytest.approx(half[5] / half.sum() * norm.pdf(0, 0, 10.0)
                                    / norm.pdf(np.arange(80), 0, 10.0).sum(), rel=1e-12)


def test_kernel_values_match_the_map():
    rows, cols = np.array([3, 10, 17]), np.array([4, 25, 5])
    p = kde.pixel_kde(rows, cols, 20, 30, 2.5)
    kv = kde.pixel_kernel_values(rows, cols, rows, cols, 20, 30, 2.5)
    np.testing.assert_allclose(kv.mean(1), p[rows, cols], rtol=1e-12)


def _grid_and_exact(h, w, grid, sigma, rows, cols):
    hist = np.zeros((grid, grid))
    kde.bin_fixations(hist, rows, cols, h, w)
    m = kde.grid_gaussian(grid, sigma)
    approx = kde.grid_to_pixels(m @ hist @ m.T, h, w)
    # the exact KDE in normalised coordinates: kernels at pixel centres, zero padding, one normalisation
    v = (np.arange(h) + 0.5) / h
    u = (np.arange(w) + 0.5) / w
    ky = np.exp(-0.5 * ((v[:, None] - (rows + 0.5)[None, :] / h) / sigma) ** 2)
    kx = np.exp(-0.5 * ((u[:, None] - (cols + 0.5)[None, :] / w) / sigma) ** 2)
    exact = ky @ kx.T
    return approx, exact / exact.sum()


def test_grid_kde_approximates_the_exact_kde():
    """Linear binning + bilinear interpolation err at second order in cell size over bandwidth:
    pixel-wise relative error below (1 / ((G - 1) sigma))^2 at sigma = 0.1, and at the smallest
    bandwidth searched (0.04, 2.5 cells) a total-variation distance below 1 %."""
    rng = np.random.default_rng(0)
    h, w, grid = 96, 128, 64
    rows, cols = rng.integers(0, h, 200), rng.integers(0, w, 200)
    approx, exact = _grid_and_exact(h, w, grid, 0.1, rows, cols)
    assert np.abs(approx / exact - 1).max() < (1 / ((grid - 1) * 0.1)) ** 2
    approx, exact = _grid_and_exact(h, w, grid, 0.04, rows, cols)
    assert 0.5 * np.abs(approx - exact).sum() < 0.01

"""A constant map is constant in every metric of both conventions, whatever rounding did to it (issue 17).

The uniform density of an 800x600 image, ``exp(full(-log(480000)))``, has a mean that rounds, so its std
came out as ~4e-22 and its NSS as 1.0 (0.0 at 640x480; a mean of 0.56 over the real Saliency4ASD images);
a constant map resized to its image by bicubic imresize carries ~1e-16 of noise. The expected values are
the metrics' definitions for a constant map: probabilistic NSS 0 (centred only, as pysaliency's NSS of an
exactly constant map), AUC and shuffled AUC 0.5 (every pixel ties), CC 0 against a varying empirical map;
MIT: NaN where the MIT code's min-max or z-score is undefined, and KL equal to the exactly constant map's.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from asdgaze.maps.imresize import imresize
from asdgaze.metrics import probabilistic as P
from asdgaze.metrics._checks import is_constant
from asdgaze.metrics.suite import Target, score_mit

SIZES = [(600, 800), (480, 640), (768, 1024), (30, 40), (7, 9)]


def _uniform(h: int, w: int, dtype=np.float64) -> np.ndarray:
    return np.exp(np.full((h, w), -np.log(h * w), dtype=dtype)).astype(np.float64)


def _fixations(h: int, w: int, n: int = 25, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, w, n) + 0.5, rng.integers(0, h, n) + 0.5


@pytest.mark.parametrize("h, w", SIZES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_probabilistic_metrics_of_a_uniform_density(h, w, dtype):
    p = _uniform(h, w, dtype)
    xs, ys = _fixations(h, w)
    ox, oy = _fixations(h, w, 40, seed=1)
    assert P.nss(p, xs, ys) == 0.0
    assert set(P.nss_per_fixation(p, xs, ys)) == {0.0}
    assert P.auc(p, xs, ys) == 0.5
    assert P.sauc(p, xs, ys, ox, oy) == 0.5
    empirical = np.random.default_rng(2).random((h, w))
    assert P.cc(p, empirical) == 0.0
    assert math.isnan(P.cc(empirical, p))  # a constant empirical map: no correlation is defined


@pytest.mark.parametrize("h, w", SIZES[:3])
def test_mit_metrics_of_a_constant_map_resized_to_the_image(h, w):
    # a constant map at a tenth of the image's size: imresize leaves ~1e-16 of noise on it
    small = np.full((h // 10, w // 10), 0.3)
    noisy = imresize(small, output_shape=(h, w))
    exact = np.full((h, w), 0.3)
    assert is_constant(noisy) and noisy.max() > noisy.min()  # the case: constant, not bit-constant
    xs, ys = _fixations(h, w)
    fix = np.zeros((h, w), bool)
    fix[ys.astype(int), xs.astype(int)] = True
    other = np.zeros((h, w), bool)
    other[::7, ::11] = True
    cont = np.random.default_rng(3).random((h, w))
    base = np.random.default_rng(4).random((h, w)) + 0.5
    metrics = ("auc_judd", "auc_borji", "auc_shuffled", "nss", "cc", "kl", "sim", "ig")
    got = {}
    for name, m in (("small", small), ("noisy", noisy), ("exact", exact)):
        got[name] = score_mit(m, {"g": Target(fix, cont, other)}, base, metrics=metrics, image_id="1")["g"]
    for name in got:
        for metric in ("auc_judd", "auc_borji", "auc_shuffled", "nss", "cc", "sim", "ig"):
            assert math.isnan(got[name][metric]), (name, metric, got[name][metric])
        assert got[name]["kl"] == pytest.approx(got["exact"]["kl"], rel=1e-12)


def test_a_map_that_varies_is_not_constant():
    # the tolerance is relative: a map varying by a thousandth of its scale is a map
    a = np.full((30, 40), 1e-6)
    a[3, 4] *= 1.001
    assert not is_constant(a)
    xs, ys = _fixations(30, 40)
    assert P.nss(a, [4.5], [3.5]) > 10


def test_the_demo_uniform_baseline_has_probabilistic_nss_0(tmp_path):
    # the case: 800x600 demo images, NSS 1.000 for the uniform baseline
    from asdgaze.data import load_demo
    from asdgaze.evaluate import EvaluateOptions, evaluate

    res = evaluate(load_demo(), {}, tmp_path / "out", EvaluateOptions(
        conventions=("probabilistic",), prob_metrics=("nss", "auc"), baselines=("uniform",),
        prob_ig_baseline="uniform"), workers=1, progress=False)
    rows = res.per_image[res.per_image.model == "uniform"]
    assert set(rows[rows.metric == "nss"].value) == {0.0}
    assert set(rows[rows.metric == "auc"].value) == {0.5}

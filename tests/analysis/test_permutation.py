"""The within-image permutation test on cases with a known answer."""

import numpy as np
import pytest
from scipy import stats

from asdgaze.analysis.permutation import FixationValues, per_fixation_from_table, permutation_test
from asdgaze.errors import OptionsError


def _data(rng, n_images=12, viewers=(5, 6), fix=6, shift=0.0):
    out = {}
    for i in range(n_images):
        image_effect = rng.normal(0, 1)  # images differ; the test must only compare within an image
        for g, nv, mu in (("TD", viewers[0], shift), ("ASD", viewers[1], 0.0)):
            viewer = np.repeat(np.arange(nv), fix)
            # a viewer effect: fixations of one scanpath are not independent
            vals = image_effect + mu + np.repeat(rng.normal(0, 0.5, nv), fix) + rng.normal(0, 1, nv * fix)
            out[(str(i), g)] = FixationValues(vals, viewer)
    return out


def test_identical_groups_give_roughly_uniform_p():
    ps = []
    for seed in range(150):
        data = _data(np.random.default_rng(seed))
        ps.append(permutation_test(data, "TD", "ASD", n_permutations=199, seed=seed).p_value)
    ps = np.array(ps)
    # Under the null each p is (discrete) uniform on {1/200, ..., 1}: KS against U(0, 1) must not reject.
    assert stats.kstest(ps, "uniform").pvalue > 0.01
    assert 0.0 <= np.mean(ps <= 0.1) <= 0.2


def test_strongly_different_groups_give_the_minimum_p():
    data = _data(np.random.default_rng(0), shift=5.0)
    r = permutation_test(data, "TD", "ASD", n_permutations=999, seed=1)
    assert r.p_value == pytest.approx(1 / 1000)
    assert r.n_permutations == 999 and r.n_images == 12
    assert r.observed > 4


def test_observed_is_mean_over_images_of_group_means_and_seeded():
    data = {("a", "X"): FixationValues(np.array([1.0, 3.0, 5.0]), np.array([0, 0, 1])),
            ("a", "Y"): FixationValues(np.array([0.0]), np.array([7])),
            ("b", "X"): FixationValues(np.array([2.0]), np.array([0])),
            ("b", "Y"): FixationValues(np.array([4.0, 6.0]), np.array([0, 1]))}
    r = permutation_test(data, "X", "Y", n_permutations=50, seed=4)
    assert r.observed == pytest.approx(((3.0 - 0.0) + (2.0 - 5.0)) / 2)
    r2 = permutation_test(dict(reversed(list(data.items()))), "X", "Y", n_permutations=50, seed=4)
    assert r2.p_value == r.p_value and np.array_equal(r.null, r2.null)


def test_group_sizes_are_kept_within_each_image():
    # One image, group X has 1 viewer, Y has 3; viewer values 0, 1, 2, 3. Every permuted
    # statistic must be (v) - mean(others) for one of the four viewers in X.
    data = {("a", "X"): FixationValues(np.array([0.0]), np.array([0])),
            ("a", "Y"): FixationValues(np.array([1.0, 2.0, 3.0]), np.array([0, 1, 2]))}
    r = permutation_test(data, "X", "Y", n_permutations=400, seed=0)
    allowed = {v - (6 - v) / 3 for v in (0.0, 1.0, 2.0, 3.0)}
    assert set(np.round(r.null, 9)) == {round(x, 9) for x in allowed}
    # |T*| >= |T| = 2 happens for v = 0 (T = -2) and v = 3 (T = 2): half of all labellings.
    assert r.p_value == pytest.approx(0.5, abs=0.07)


def test_fixation_values_checks_and_table():
    with pytest.raises(OptionsError):
        FixationValues(np.zeros(3), np.zeros(2))
    import pandas as pd
    t = pd.DataFrame({"model": "m", "convention": "mit", "metric": "nss", "image": ["1", "1"],
                      "group": ["TD", "ASD"], "viewer": [0, 0], "value": [1.0, 2.0]})
    m = per_fixation_from_table(t)
    assert list(m) == [("m", "mit", "nss")]
    assert m[("m", "mit", "nss")][("1", "ASD")].values.tolist() == [2.0]

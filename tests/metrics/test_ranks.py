"""Exact counts below and equal to thresholds: the binned counts are those of a brute-force comparison."""

from __future__ import annotations

import numpy as np
import pytest

from asdgaze.metrics.ranks import BinnedValues, below_and_equal, searched_below_and_equal


def _brute(values: np.ndarray, thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return (values[:, None] < thresholds[None, :]).sum(0), (values[:, None] == thresholds[None, :]).sum(0)


def _cases():
    rng = np.random.default_rng(0)
    dens = np.exp(rng.normal(size=3000) * 20)  # values over many octaves
    yield "density", dens / dens.sum(), None
    ties = rng.integers(0, 7, 3000) / 7.0  # few distinct values, zeros included
    yield "ties", ties, None
    wide = np.concatenate([[0.0, 5e-324, 1e-310, 1e-300, 1.0, 1e300], rng.random(2000)])  # subnormals, extremes
    yield "wide", wide, None
    same = np.full(500, 0.25)
    yield "constant", same, None
    yield "outside", rng.random(1000) + 1.0, np.array([0.0, 0.5, 1.0, 1.5, 2.0, 3.0])


@pytest.mark.parametrize("name, values, thresholds", list(_cases()))
def test_binned_counts_are_brute_force_counts(name, values, thresholds):
    rng = np.random.default_rng(1)
    if thresholds is None:  # values of the map itself (fixations), plus neighbours of them
        picked = values[rng.integers(0, values.size, 60)]
        thresholds = np.unique(np.concatenate([picked, np.nextafter(picked, 2.0), np.nextafter(picked, -1.0)]))
        thresholds = thresholds[thresholds >= 0]
    binned = BinnedValues.of(values)
    assert binned is not None
    want = _brute(values, thresholds)
    got = binned.below_and_equal(thresholds)
    assert all(np.array_equal(g, w) for g, w in zip(got, want)), name
    assert all(np.array_equal(g, w) for g, w in zip(searched_below_and_equal(values, thresholds), want))
    assert all(g.dtype == np.int64 for g in got)


def test_values_or_thresholds_with_a_sign_are_counted_by_search():
    values = np.array([-1.0, -0.0, 0.0, 0.0, 2.0] * 10000)
    assert BinnedValues.of(values) is None
    t = np.array([-0.0, 1.0])
    assert all(np.array_equal(g, w) for g, w in zip(below_and_equal(values, t), _brute(values, t)))
    pos = np.abs(values) + 0.0  # no -0.0 left
    binned = BinnedValues.of(pos)
    assert binned is not None and binned.below_and_equal(np.array([-0.0, 1.0])) is None  # -0.0 == 0.0: searched
    assert all(np.array_equal(g, w) for g, w in zip(below_and_equal(pos, np.array([-0.0, 1.0]), binned),
                                                      _brute(pos, np.array([-0.0, 1.0]))))

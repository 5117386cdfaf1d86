"""Every metric given no fixations: NaN (undefined), never an IndexError and never a plausible score.

MIT's KLdiv.m and similarity.m return 0 for an all-zero fixation map (0 * log(...) summed, and
min(P, 0) summed): a perfect KL and a plausible SIM for nothing; pysaliency turns an all-zero
empirical map into the uniform density and scores against it. Both are NaN here."""

from __future__ import annotations

import math

import numpy as np
import pytest

from asdgaze.metrics import probabilistic as P
from asdgaze.metrics.distribution import cc, kl_div, sim
from asdgaze.metrics.location import info_gain, nss
from asdgaze.metrics.prob_scoring import PROB_METRICS, Blur, score_probabilistic
from asdgaze.metrics.suite import MIT_METRICS, Target, score_mit
from asdgaze.predictions import LogDensity

S = np.random.default_rng(0).random((6, 8)) + 0.1
NONE = np.zeros(0)
EMPTY_F = np.zeros(S.shape, bool)
EMPTY_C = np.zeros(S.shape)
P_BLUR = Blur(2.0)


def test_probabilistic_per_fixation_values_are_empty_and_their_means_nan():
    # auc_per_fixation used to raise IndexError in _below_and_equal
    assert P.auc_per_fixation(S, NONE, NONE).shape == (0,)
    assert P.sauc_per_fixation(S, NONE, NONE, [1.0, 2.0], [3.0, 4.0]).shape == (0,)
    for value in (P.auc(S, NONE, NONE), P.sauc(S, NONE, NONE, [1.0], [1.0]), P.nss(S, NONE, NONE),
                  P.log_likelihood(np.log(S / S.sum()), NONE, NONE), P.information_gain(np.log(S / S.sum()), None,
                                                                                       NONE, NONE),
                  P.auc_judd_fixation_thresholds(S, NONE, NONE)):
        assert math.isnan(value)


def test_probabilistic_map_metrics_of_an_empty_empirical_map_are_nan():
    empirical = P.empirical_map(S.shape, NONE, NONE, 2.0)
    assert not empirical.any()
    assert math.isnan(P.kl_div(S, empirical)) and math.isnan(P.sim(S, empirical)) and math.isnan(P.cc(S, empirical))


def test_mit_metrics_of_an_empty_fixation_map_are_nan():
    for value in (kl_div(S, EMPTY_C), sim(S, EMPTY_C), cc(S, EMPTY_C), nss(S, EMPTY_F),
                  info_gain(S, EMPTY_F, np.ones(S.shape))):
        assert math.isnan(value)


def test_whole_image_scorers_give_nan_for_every_metric():
    mit = score_mit(S, {"G": Target(EMPTY_F, EMPTY_C, EMPTY_F)}, np.ones(S.shape))["G"]
    assert set(mit) == set(MIT_METRICS) and all(math.isnan(v) for v in mit.values())
    ld = LogDensity(np.log(S / S.sum()))
    for mode in ("density", "metric-specific"):
        got = score_probabilistic(ld, NONE, NONE, empirical=EMPTY_C, other_xs=[1.0], other_ys=[1.0],
                                  shuffled=np.zeros(S.shape), mode=mode, blur=P_BLUR)
        assert set(got.values) == set(PROB_METRICS) and all(math.isnan(v) for v in got.values.values()), got.values


@pytest.mark.parametrize("fn", [kl_div, sim])
def test_a_map_with_mass_is_scored_as_before(fn):
    # the guard changes nothing where C has a nonzero pixel: hand values of KLdiv.m and similarity.m
    c = np.zeros(S.shape)
    c[2, 3] = 1.0
    p = S / S.sum()
    want = (math.log(2.220446049250313e-16 + 1.0 / (p[2, 3] + 2.220446049250313e-16)) if fn is kl_div
            else float(np.minimum((S - S.min()) / (S - S.min()).sum(), c).sum()))
    assert fn(S, c) == pytest.approx(want, rel=1e-12)

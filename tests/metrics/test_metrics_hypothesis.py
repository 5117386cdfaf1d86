"""Property-based tests of the metrics: random valid inputs never crash, values stay in their
ranges, and the invariances that follow from each definition hold (Bylinskii et al., TPAMI 2019;
docs/specs/metrics.md section 3). Small maps, bounded example counts."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from asdgaze.metrics import auc_borji, auc_judd, cc, emd, kl_div, nss, sim
from asdgaze.metrics.suite import MIT_METRICS, Target, score_mit

EPS = float(np.finfo(np.float64).eps)  # MATLAB's eps, as in MIT's KLdiv.m

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

shapes = st.tuples(st.integers(2, 10), st.integers(2, 10))


@st.composite
def cases(draw, values=st.floats(0, 1e3, allow_nan=False, allow_infinity=False)):
    """(saliency, fixation map with >= 1 fixation, continuous density, other map) of one shape."""
    h, w = draw(shapes)
    s = draw(arrays(np.float64, (h, w), elements=values))
    fix = draw(arrays(np.bool_, (h, w)))
    fix[draw(st.integers(0, h - 1)), draw(st.integers(0, w - 1))] = True
    dens = draw(arrays(np.float64, (h, w), elements=st.floats(0, 1, allow_nan=False)))
    dens[0, 0] += 0.5  # a density with some mass
    other = draw(arrays(np.bool_, (h, w)))
    other[draw(st.integers(0, h - 1)), draw(st.integers(0, w - 1))] = True
    return s, fix, dens, other


_TINY = 3.61908505e-104
_KL_BELOW_ZERO = (np.array([[1.0, 0.0], [0.0, 0.0]]), np.array([[True, False], [False, False]]),
                  np.array([[0.5, _TINY], [_TINY, _TINY]]), np.array([[True, False], [False, False]]))


@SETTINGS
@given(cases(), st.integers(1, 4), st.integers(0, 2**32 - 1))
@example(_KL_BELOW_ZERO, 1, 0)  # found by hypothesis on 2026-11-27: MIT's KL is -7.8e-102 here
def test_random_valid_inputs_never_crash_and_stay_in_range(case, downsize, seed):
    s, fix, dens, other = case
    out = score_mit(s, {"g": Target(fix, dens, other)}, np.ones_like(s) + dens, seed=seed, n_splits=5,
                    emd_downsize=downsize)["g"]
    assert set(out) == set(MIT_METRICS)
    assert all(isinstance(v, float) for v in out.values())
    for m in ("auc_judd", "auc_borji", "auc_shuffled", "sim"):
        assert math.isnan(out[m]) or 0.0 <= out[m] <= 1.0, (m, out[m])
    assert math.isnan(out["cc"]) or -1.0 - 1e-12 <= out["cc"] <= 1.0 + 1e-12
    # MIT's KL can be below zero: each term Q ln(eps + Q/(P+eps)) >= Q ln(Q/R) with R = P + eps,
    # sum R = 1 + N eps, so by Gibbs' inequality KL >= -ln(1 + N eps) ~ -N eps; N eps |ln eps| (36x
    # that) leaves room for rounding in the sum.
    assert math.isnan(out["kl"]) or out["kl"] >= -s.size * EPS * abs(math.log(EPS))
    assert math.isnan(out["emd"]) or out["emd"] >= 0.0
    assert not math.isinf(out["nss"]) and not math.isinf(out["ig"])


def test_kl_below_zero_by_its_eps_as_the_mit_formula_gives():
    """The case hypothesis found (2026-11-27): a density with cells of 3.6e-104 where the map is 0.
    Hand computation of MIT's KLdiv.m, sum Q ln(eps + Q / (P + eps)), gives a value below zero."""
    sal, _, dens, _ = _KL_BELOW_ZERO
    p_, q = sal / sal.sum(), dens / dens.sum()
    hand = float(np.sum(q * np.log(EPS + q / (p_ + EPS))))
    assert hand < 0
    assert kl_div(sal, dens) == pytest.approx(hand, rel=1e-12)


@SETTINGS
@given(cases(values=st.floats(-1e3, 1e3, allow_nan=False)), st.integers(1, 3))
def test_maps_of_any_sign_never_raise(case, downsize):
    # Negative values (e.g. bicubic overshoot or a z-scored map) are valid input for every metric.
    s, fix, dens, other = case
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no overflow or division by zero on the way
        out = score_mit(s, {"g": Target(fix, dens, other)}, np.ones_like(s), n_splits=3,
                        emd_downsize=downsize)["g"]
    assert all(isinstance(v, float) and not math.isinf(v) for k, v in out.items() if k not in ("kl", "ig"))


# Integer-valued maps with power-of-two scales and integer offsets: the affine map is exact in
# float64, so the pixel order (and its ties) is unchanged.
int_cases = cases(values=st.integers(0, 50).map(float))
scales = st.sampled_from([0.25, 0.5, 2.0, 8.0])
offsets = st.integers(-100, 100).map(float)


@SETTINGS
@given(int_cases, scales, offsets)
def test_nss_cc_and_auc_are_invariant_to_positive_affine_rescaling(case, a, b):
    s, fix, dens, _ = case
    t = a * s + b
    for f, args in ((nss, (fix,)), (cc, (dens,))):
        v, u = f(s, *args), f(t, *args)
        assert (math.isnan(v) and math.isnan(u)) or math.isclose(v, u, rel_tol=1e-9, abs_tol=1e-12)
    v, u = auc_judd(s, fix, jitter=False), auc_judd(t, fix, jitter=False)
    assert (math.isnan(v) and math.isnan(u)) or math.isclose(v, u, rel_tol=1e-12)
    v = auc_borji(s, fix, n_splits=5, rng=np.random.default_rng(1))
    u = auc_borji(t, fix, n_splits=5, rng=np.random.default_rng(1))
    assert (math.isnan(v) and math.isnan(u)) or math.isclose(v, u, rel_tol=1e-9, abs_tol=1e-12)


@SETTINGS
@given(int_cases, scales)
def test_sim_kl_and_emd_are_invariant_to_positive_scaling(case, a):
    s, _, dens, _ = case
    t = a * s
    for f in (sim, kl_div):
        v, u = f(s, dens), f(t, dens)
        assert (math.isnan(v) and math.isnan(u)) or math.isclose(v, u, rel_tol=1e-9, abs_tol=1e-12)
    v, u = emd(s, dens, downsize=1), emd(t, dens, downsize=1)
    assert (math.isnan(v) and math.isnan(u)) or math.isclose(v, u, rel_tol=1e-7, abs_tol=1e-9)


@SETTINGS
@given(shapes, st.floats(0.1, 1e3))
def test_identical_maps_score_perfectly(shape, scale):
    # A map equal (up to scale) to the density: CC = SIM = 1, KL = 0, EMD = 0.
    rng = np.random.default_rng(shape[0] * 31 + shape[1])
    d = rng.random(shape) + 0.01
    assert math.isclose(cc(scale * d, d), 1.0, rel_tol=1e-9)
    assert math.isclose(sim(scale * d, d), 1.0, rel_tol=1e-9)
    assert abs(kl_div(scale * d, d)) < 1e-9
    assert emd(scale * d, d, downsize=1) < 1e-9


@SETTINGS
@given(cases())
def test_auc_judd_is_one_when_every_fixated_pixel_outranks_every_other(case):
    # Distinct values on the fixated pixels, zero elsewhere (ties would lower AUC-Judd without jitter).
    _, fix, _, _ = case
    if fix.all():
        return
    s = np.where(fix, 1.0 + np.arange(fix.size).reshape(fix.shape), 0.0)
    assert auc_judd(s, fix, jitter=False) == 1.0


def test_regressions_found_by_the_properties():
    # A subnormal spread: the std underflows to 0, so NSS and CC are undefined (NaN), not inf.
    s = np.zeros((3, 4))
    s[1, 2] = 5e-324
    fix = np.zeros((3, 4), bool)
    fix[1, 2] = True
    dens = np.arange(12.0).reshape(3, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        assert math.isnan(nss(s, fix)) and math.isnan(cc(s, dens))
    # Signs that cancel: the map sums to ~0 and has no normalisation; EMD is NaN instead of a
    # RuntimeError from the transport solver.
    m = np.ones((8, 8))
    m[4:] = -(1 - 1e-12)
    assert math.isnan(emd(m, np.ones((8, 8)) + np.eye(8), downsize=2))

"""The caches that evaluate uses to compute derived maps once must not change any value."""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from asdgaze.metrics import probabilistic as P
from asdgaze.metrics.prob_scoring import ShuffledBaseline, score_probabilistic
from asdgaze.metrics.suite import Target, score_mit
from asdgaze.predictions import LogDensity


def _density(seed: int, shape=(48, 64)) -> LogDensity:
    a = np.random.default_rng(seed).normal(size=shape)
    return LogDensity(a - logsumexp(a))


def test_cc_kl_sim_pieces_match_reference_formulas():
    rng = np.random.default_rng(3)
    a = P.gaussian_blur(rng.random((40, 30)), 3.0)  # Fortran-ordered, as in evaluate
    b = rng.random((40, 30))
    # independent: numpy's Pearson correlation, and the KL / SIM formulas written out
    assert np.isclose(P.cc_centered(P.centered(a), P.centered(b)), np.corrcoef(a.ravel(), b.ravel())[0, 1],
                      rtol=1e-13, atol=0)
    p, q = a / a.sum(), b / b.sum()
    eps = np.finfo(float).eps
    assert np.isclose(P.kl_densities(p, q), np.sum(q * np.log(eps + q / (p + eps))), rtol=1e-13, atol=0)
    assert np.isclose(P.sim_densities(p, q), np.minimum(p, q).sum(), rtol=1e-15, atol=0)
    # and the public functions are exactly the pieces
    assert P.cc(a, b) == P.cc_centered(P.centered(a), P.centered(b))
    assert P.kl_div(a, b) == P.kl_densities(P.to_density(a), P.to_density(b))
    assert P.sim(a, b) == P.sim_densities(P.to_density(a), P.to_density(b))


def test_score_probabilistic_with_shared_derived_maps_is_bit_identical():
    ld = _density(0)
    rng = np.random.default_rng(1)
    emp = [P.empirical_map(ld.shape, rng.uniform(0, 63, 20), rng.uniform(0, 47, 20), 4.0) for _ in range(2)]
    fix = [(rng.uniform(0, 63, 25), rng.uniform(0, 47, 25)) for _ in range(2)]
    ox, oy = rng.uniform(0, 63, 200), rng.uniform(0, 47, 200)
    shuf = _density(5).values
    derived: dict = {}
    for (xs, ys), e in zip(fix, emp):
        fresh = score_probabilistic(ld, xs, ys, empirical=e, other_xs=ox, other_ys=oy, shuffled=shuf,
                                    blur=P_blur())
        reused = score_probabilistic(ld, xs, ys, empirical=e, other_xs=ox, other_ys=oy, shuffled=shuf,
                                     blur=P_blur(), derived=derived, empirical_derived={})
        assert fresh.values == reused.values
        for m in fresh.per_fixation:
            assert np.array_equal(fresh.per_fixation[m], reused.per_fixation[m])
    assert "smap" in derived and "p" in derived  # filled by the first group, reused by the second


def P_blur():
    from asdgaze.metrics.prob_scoring import Blur

    return Blur(4.0)


def test_shuffled_baseline_kept_parts_give_the_same_leave_one_out():
    preds = [_density(s) for s in range(4)]
    a, b = ShuffledBaseline((12, 16)), ShuffledBaseline((12, 16))
    for i, p in enumerate(preds):
        a.add(p)
        b.add(p, key=i)
    for i, p in enumerate(preds):
        assert np.array_equal(a.log_density_without(p), b.log_density_without(p, key=i))


def test_score_mit_prepared_caches_are_bit_identical():
    rng = np.random.default_rng(2)
    sal = rng.random((30, 40))
    base = rng.random((30, 40)) + 0.1
    prepared: dict = {}
    base_prepared: dict = {}
    for img in range(3):
        f = np.zeros((30, 40), bool)
        f[rng.integers(0, 30, 15), rng.integers(0, 40, 15)] = True
        c = P.gaussian_blur(f.astype(float), 3.0)
        o = np.zeros((30, 40), bool)
        o[rng.integers(0, 30, 40), rng.integers(0, 40, 40)] = True
        t = {"TD": Target(f, c, o)}
        want = score_mit(sal, t, base, image_id=str(img), n_splits=5)
        got = score_mit(sal, t, base, image_id=str(img), n_splits=5, prepared=prepared,
                        baseline_prepared=base_prepared)
        assert want == got or all(np.isnan(want["TD"][m]) and np.isnan(got["TD"][m]) or want["TD"][m] == got["TD"][m]
                                  for m in want["TD"])
    assert prepared and base_prepared


def test_log_density_of_probabilities_equals_the_checked_log():
    from asdgaze.errors import MapError
    from asdgaze.predictions import checked_log_density, log_density_of

    rng = np.random.default_rng(4)
    p = rng.random((30, 40)) ** 8
    p[3, 4] = 0.0  # log 0 = -inf is allowed
    p /= p.sum()
    with np.errstate(divide="ignore"):
        got, want = log_density_of(p), checked_log_density(np.log(p))
    assert np.array_equal(got.values, want.values) and not got.values.flags.writeable
    assert abs(float(logsumexp(got.values))) < 1e-9  # what the skipped check would have verified
    # not normalised: renormalised as the checked path does
    with np.errstate(divide="ignore"):
        assert np.array_equal(log_density_of(3 * p).values, checked_log_density(np.log(3 * p)).values)
    with np.errstate(invalid="ignore", divide="ignore"):
        for bad in (-p, np.full((2, 2), np.nan)):  # log of a negative or NaN: refused as before
            try:
                log_density_of(bad)
            except MapError:
                continue
            raise AssertionError("a density with NaN logs was accepted")


def test_normalized_log_density_is_the_shifted_array():
    rng = np.random.default_rng(5)
    for a in (rng.normal(size=(20, 30)) * 30 - 400, rng.normal(size=(20, 30)) + 1e4):
        ld = LogDensity.normalized(a)
        assert np.array_equal(ld.values, a - logsumexp(a))
        assert abs(float(logsumexp(ld.values))) < 1e-9 and not ld.values.flags.writeable


def test_a_target_scored_against_several_maps_gives_each_single_metric_value():
    """The parts a Target keeps (fixated pixels, prepared continuous map, sAUC candidates) serve every map
    scored against it: each value equals the single-metric function's on that map alone, constant maps
    included (whose undefined AUCs draw nothing)."""
    from asdgaze.metrics import auc_borji, auc_judd, auc_shuffled, cc, emd, info_gain, kl_div, nss, sim
    from asdgaze.metrics.streams import metric_rng

    rng = np.random.default_rng(6)
    f = np.zeros((40, 48), bool)
    f[rng.integers(0, 40, 20), rng.integers(0, 48, 20)] = True
    c = P.gaussian_blur(f.astype(float), 3.0)
    o = np.zeros((40, 48), bool)
    o[rng.integers(0, 40, 50), rng.integers(0, 48, 50)] = True
    base = rng.random((40, 48)) + 0.1
    t = {"TD": Target(f, c, o)}
    for sal in (rng.random((40, 48)), np.ones((40, 48)), rng.random((20, 24)), np.zeros((40, 48))):
        got = score_mit(sal, t, base, image_id="7", n_splits=5)["TD"]

        def r(m):
            return metric_rng(0, "7", "TD", m)

        want = {"auc_judd": auc_judd(sal, f, rng=r("auc_judd")),
                "auc_borji": auc_borji(sal, f, n_splits=5, rng=r("auc_borji")),
                "auc_shuffled": auc_shuffled(sal, f, o, n_splits=5, rng=r("auc_shuffled")),
                "nss": nss(sal, f), "cc": cc(sal, c), "kl": kl_div(sal, c), "sim": sim(sal, c),
                "ig": info_gain(sal, f, base), "emd": emd(sal, c)}
        assert set(got) == set(want)
        for m in want:
            assert got[m] == want[m] or (np.isnan(got[m]) and np.isnan(want[m])), (m, got[m], want[m])


def test_auc_of_a_constant_density_is_the_ranked_value():
    """A uniform density's AUC is 0.5 per fixation without ranking the map: the ranked values exactly."""
    ld = LogDensity(np.full((30, 40), -np.log(1200.0)))
    rng = np.random.default_rng(9)
    xs, ys = rng.uniform(0, 40, 17), rng.uniform(0, 30, 17)
    got = score_probabilistic(ld, xs, ys, metrics=("auc",), mode="density", derived={})
    want = P.auc_per_fixation(ld.density(), xs, ys)
    assert np.array_equal(got.per_fixation["auc"], want) and got.values["auc"] == float(want.mean()) == 0.5
    try:  # a fixation outside the image is refused as before
        score_probabilistic(ld, [40.0], [0.0], metrics=("auc",), mode="density")
    except ValueError:
        return
    raise AssertionError("a fixation outside the image was accepted")


def test_sauc_of_a_difference_read_at_its_pixels_is_the_whole_map_value():
    rng = np.random.default_rng(10)
    a, b = _density(11).values, _density(12).values
    xs, ys = rng.uniform(0, 64, 30), rng.uniform(0, 48, 30)
    ox, oy = rng.uniform(0, 64, 500), rng.uniform(0, 48, 500)
    want = P.sauc_per_fixation(a - b, xs, ys, ox, oy)
    for bounded in (None, True):
        assert np.array_equal(P.sauc_per_fixation_of_difference(a, b, xs, ys, ox, oy, bounded), want)
    a2 = a.copy()
    a2[0, 0] = -np.inf  # a zero density: the whole map is formed and refused as before
    for call in (lambda: P.sauc_per_fixation(a2 - b, xs, ys, ox, oy),
                 lambda: P.sauc_per_fixation_of_difference(a2, b, xs, ys, ox, oy)):
        try:
            call()
        except ValueError as e:
            assert "NaN or infinite" in str(e)
            continue
        raise AssertionError("a non-finite map was accepted")

"""score_mit must reproduce the single-metric functions exactly and be order independent."""

from __future__ import annotations

import math

import numpy as np
import pytest

from asdgaze.metrics import (
    MIT_METRICS,
    Target,
    auc_borji,
    auc_judd,
    auc_shuffled,
    cc,
    emd,
    info_gain,
    kl_div,
    metric_rng,
    nss,
    score_mit,
    sim,
)


def _blob(shape, centre, width):
    y, x = np.mgrid[0 : shape[0], 0 : shape[1]]
    return np.exp(-((y - centre[0]) ** 2 + (x - centre[1]) ** 2) / (2 * width**2))


@pytest.fixture(scope="module")
def case():
    rng = np.random.default_rng(5)
    shape = (64, 96)
    targets = {}
    for g, ctr in (("ASD", (20, 30)), ("TD", (40, 60))):
        f = np.zeros(shape, bool)
        f.flat[rng.choice(f.size, 50, replace=False)] = True
        o = np.zeros(shape, bool)
        o.flat[rng.choice(f.size, 120, replace=False)] = True
        targets[g] = Target(f, _blob(shape, ctr, 12.0), o)
    # Half size, so it gets resized; the offset keeps it positive through bicubic overshoot (KL).
    sal = _blob((32, 48), (12, 20), 8.0) + 0.3 * rng.random((32, 48)) + 0.5
    base = _blob((16, 24), (8, 12), 6.0)  # baseline of another size too
    return sal, targets, base


def _single(sal, t, base, group, image_id, seed=0):
    r = lambda m: metric_rng(seed, image_id, group, m)  # noqa: E731
    return {
        "auc_judd": auc_judd(sal, t.fixation_map, rng=r("auc_judd")),
        "auc_borji": auc_borji(sal, t.fixation_map, rng=r("auc_borji")),
        "auc_shuffled": auc_shuffled(sal, t.fixation_map, t.other_map, rng=r("auc_shuffled")),
        "nss": nss(sal, t.fixation_map),
        "cc": cc(sal, t.density),
        "kl": kl_div(sal, t.density),
        "sim": sim(sal, t.density),
        "ig": info_gain(sal, t.fixation_map, base),
        "emd": emd(sal, t.density),
    }


def test_suite_equals_single_functions(case):
    sal, targets, base = case
    got = score_mit(sal, targets, base, image_id="17")
    assert list(got) == ["ASD", "TD"]
    for g, t in targets.items():
        want = _single(sal, t, base, g, "17")
        assert list(got[g]) == list(MIT_METRICS)
        for m in MIT_METRICS:
            assert not math.isnan(got[g][m]), m
            assert got[g][m] == want[m], (g, m)  # bit-identical, not approximately


def test_suite_order_and_subset_independent(case):
    sal, targets, base = case
    full = score_mit(sal, targets, base, image_id=3, seed=9)
    rev = score_mit(sal, dict(reversed(list(targets.items()))), base, image_id=3, seed=9,
                    metrics=tuple(reversed(MIT_METRICS)))
    sub = score_mit(sal, {"TD": targets["TD"]}, base, image_id=3, seed=9, metrics=("auc_borji",))
    for g in targets:
        for m in MIT_METRICS:
            assert rev[g][m] == full[g][m]
    assert sub["TD"]["auc_borji"] == full["TD"]["auc_borji"]


def test_suite_streams_differ_per_image_and_seed(case):
    sal, targets, base = case
    a = score_mit(sal, targets, base, image_id="1", metrics=("auc_borji",))
    b = score_mit(sal, targets, base, image_id="2", metrics=("auc_borji",))
    c = score_mit(sal, targets, base, image_id="1", seed=1, metrics=("auc_borji",))
    assert a["TD"]["auc_borji"] != b["TD"]["auc_borji"]
    assert a["TD"]["auc_borji"] != c["TD"]["auc_borji"]


def test_suite_errors(case):
    sal, targets, base = case
    with pytest.raises(ValueError, match="unknown"):
        score_mit(sal, targets, base, metrics=("auc",))
    t = Target(targets["TD"].fixation_map, targets["TD"].density, None)
    with pytest.raises(ValueError, match="other_map"):
        score_mit(sal, {"TD": t}, base, metrics=("auc_shuffled",))
    bad = Target(targets["TD"].fixation_map, targets["TD"].density[:-1], None)
    with pytest.raises(ValueError, match="density"):
        score_mit(sal, {"TD": bad}, base, metrics=("cc",))

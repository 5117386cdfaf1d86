"""Group statistics checked against scipy/statsmodels called directly and against hand values."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from asdgaze.analysis.stats import cohens_dz, group_stats, paired_differences, rank_biserial
from asdgaze.errors import OptionsError


def _table(values_a, values_b, metric="nss", model="m", ga="TD", gb="ASD"):
    n = len(values_a)
    rows = []
    for i in range(n):
        rows.append(dict(model=model, convention="mit", metric=metric, baseline="", image=f"{i:03d}", group=ga,
                         value=values_a[i], n_fixations=10))
        rows.append(dict(model=model, convention="mit", metric=metric, baseline="", image=f"{i:03d}", group=gb,
                         value=values_b[i], n_fixations=10))
    return pd.DataFrame(rows)


def test_group_stats_match_scipy():
    rng = np.random.default_rng(1)
    a, b = rng.normal(1.0, 1.0, 25), rng.normal(0.6, 1.0, 25)
    row = group_stats(_table(a, b), n_resamples=2000, seed=3).iloc[0]
    d = a - b
    assert row["n"] == 25
    assert row["mean_a"] == pytest.approx(a.mean()) and row["mean_b"] == pytest.approx(b.mean())
    assert row["mean_diff"] == pytest.approx(d.mean())
    ci = stats.bootstrap((d,), np.mean, n_resamples=2000, method="BCa", rng=np.random.default_rng(3)).confidence_interval
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((ci.low, ci.high))
    assert row["ci_method"] == "BCa"
    assert row["p_wilcoxon"] == pytest.approx(stats.wilcoxon(a, b).pvalue)
    assert row["d_z"] == pytest.approx(d.mean() / d.std(ddof=1))
    # rank-biserial = 2 R+ / S - 1, with R+ the one-sided Wilcoxon statistic and S = n(n+1)/2
    r_plus = stats.wilcoxon(a, b, alternative="greater").statistic
    assert row["rank_biserial"] == pytest.approx(2 * r_plus / (25 * 26 / 2) - 1)
    assert row["group_a"] == "TD" and row["group_b"] == "ASD"


def test_holm_across_metrics_of_one_model():
    rng = np.random.default_rng(2)
    tables, ps = [], []
    for k, metric in enumerate(["nss", "cc", "sim"]):
        a, b = rng.normal(0.3 * k, 1, 15), rng.normal(0, 1, 15)
        tables.append(_table(a, b, metric=metric))
        ps.append((metric, stats.wilcoxon(a, b).pvalue))
    # A second model must not enter the first model's correction.
    tables.append(_table(rng.normal(0, 1, 15), rng.normal(0, 1, 15), metric="nss", model="other"))
    out = group_stats(pd.concat(tables), n_resamples=200).set_index(["model", "metric"])
    expected = multipletests([p for _, p in ps], method="holm")[1]
    for (metric, _), e in zip(ps, expected):
        assert out.loc[("m", metric), "p_holm"] == pytest.approx(e)
    assert out.loc[("other", "nss"), "p_holm"] == pytest.approx(out.loc[("other", "nss"), "p_wilcoxon"])


def test_any_two_groups_and_direction():
    t = _table([3.0, 4.0, 5.0], [1.0, 1.0, 1.0], ga="young", gb="old")
    row = group_stats(t, "old", "young", n_resamples=200).iloc[0]
    assert row["mean_diff"] == pytest.approx(-3.0)
    assert row["rank_biserial"] == -1.0
    with pytest.raises(OptionsError, match="'TD' not in the results"):
        group_stats(t)


def test_hand_values_of_effect_sizes():
    # |d| ranks: 0.5 -> 1, 1 -> 2, 2 -> 3; R+ = 5, R- = 1
    assert rank_biserial(np.array([1.0, 2.0, -0.5, 0.0])) == pytest.approx((5 - 1) / 6)
    assert cohens_dz(np.array([1.0, 3.0])) == pytest.approx(2.0 / np.sqrt(2.0))
    assert np.isnan(cohens_dz(np.array([1.0, 1.0])))


def test_pairs_need_both_groups_finite_and_constant_diff_has_point_ci():
    t = _table([1.0, 2.0, np.nan, 4.0], [0.0, 1.0, 0.0, 3.0])
    p = paired_differences(t)
    assert list(p["image"]) == ["000", "001", "003"]
    row = group_stats(t, n_resamples=200).iloc[0]
    # 3 images: too few for a CI or a p (the minimum is 6), said in ci_method
    assert row["n"] == 3 and np.isnan(row["ci_low"]) and np.isnan(row["p_wilcoxon"])
    assert row["ci_method"] == "none: fewer than 6 images"
    t6 = _table([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [0.0, 1.0, 2.0, 3.0, 4.0, 5.0])
    row = group_stats(t6, n_resamples=200).iloc[0]
    assert row["n"] == 6 and (row["ci_low"], row["ci_high"]) == (1.0, 1.0) and row["ci_method"] == "constant"


def test_duplicate_rows_are_refused():
    t = _table([1.0, 2.0], [0.0, 1.0])
    with pytest.raises(OptionsError, match="duplicate"):
        paired_differences(pd.concat([t, t.iloc[:1]]))

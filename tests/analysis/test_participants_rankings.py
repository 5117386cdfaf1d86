"""Participant-level bootstrap, image rankings and the results loader."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from asdgaze.analysis.participants import participant_scores, participant_stats
from asdgaze.analysis.rankings import image_rankings
from asdgaze.analysis.results import load_results
from asdgaze.analysis.stats import paired_differences
from asdgaze.errors import DataError, OptionsError


def _participants(rng, shift, n=(8, 9), images=6):
    rows = []
    difficulty = rng.normal(0, 2, images)
    for g, k, mu in (("TD", n[0], shift), ("ASD", n[1], 0.0)):
        for p in range(k):
            ability = rng.normal(mu, 0.3)
            for i in range(images):
                rows.append(dict(participant=f"{g}{p}", group=g, image=str(i), metric="nss",
                                 value=difficulty[i] + ability + rng.normal(0, 0.1)))
    return pd.DataFrame(rows)


def test_participant_stats_match_scipy_on_participant_means():
    t = _participants(np.random.default_rng(0), shift=0.5)
    row = participant_stats(t, n_resamples=999, seed=2).iloc[0]
    # Every participant saw every image, so image centring only shifts all scores equally:
    means = t.groupby(["participant", "group"])["value"].mean().reset_index()
    a = means.loc[means.group == "TD", "value"].to_numpy()
    b = means.loc[means.group == "ASD", "value"].to_numpy()
    a_sorted = np.sort(a)
    got = participant_scores(t)
    assert np.sort(got.loc[got.group == "TD", "score"].to_numpy()) == pytest.approx(a_sorted)
    assert row["mean_diff"] == pytest.approx(a.mean() - b.mean())
    assert row["p_mannwhitney"] == pytest.approx(stats.mannwhitneyu(a, b).pvalue)
    assert row["n_a"] == 8 and row["n_b"] == 9
    assert row["ci_low"] < 0.5 < row["ci_high"]


def test_image_centring_removes_image_difficulty_with_unbalanced_images():
    t = _participants(np.random.default_rng(1), shift=0.0)
    # TD saw only the hard images, ASD only the easy ones: raw means would differ a lot.
    diff = t.groupby("image")["value"].mean()
    hard = set(diff.sort_values().index[:3])
    t = t[((t.group == "TD") & t.image.isin(hard)) | ((t.group == "ASD") & ~t.image.isin(hard))]
    s = participant_stats(t, n_resamples=200).iloc[0]
    raw = t[t.group == "TD"].value.mean() - t[t.group == "ASD"].value.mean()
    assert abs(raw) > 1.0
    # Centring within an image that only one group saw cannot tell groups apart; the estimate
    # is then near zero rather than carrying the image difficulty.
    assert abs(s["mean_diff"]) < 0.3


def test_participant_in_two_groups_is_refused():
    t = pd.DataFrame({"participant": ["p", "p"], "group": ["TD", "ASD"], "image": ["1", "2"], "metric": "nss",
                      "value": [1.0, 2.0]})
    with pytest.raises(OptionsError, match="more than one group"):
        participant_stats(t)


def test_rankings_respect_metric_direction():
    p = pd.DataFrame({"model": "m", "convention": "mit", "metric": ["kl"] * 3 + ["nss"] * 3, "baseline": "",
                      "image": ["1", "2", "3"] * 2, "value_a": [1.0, 5.0, 2.0, 1.0, 5.0, 2.0],
                      "value_b": [2.0, 1.0, 2.0, 2.0, 1.0, 2.0]})
    p["diff"] = p.value_a - p.value_b
    r = image_rankings(p, "TD", "ASD", top=3)
    kl = r[r.metric == "kl"]
    # KL: lower is better, so image 2 (TD 5 vs ASD 1) fits TD worse; image 3 (tie) is in neither list.
    assert kl[kl.worse_for == "TD"].image.tolist() == ["2"]
    assert kl[kl.worse_for == "ASD"].image.tolist() == ["1"]
    nss = r[r.metric == "nss"]
    assert nss[nss.worse_for == "ASD"].image.tolist() == ["2"]


def test_load_results_old_and_new_contract(tmp_path):
    old = pd.DataFrame({"image": ["01", "01"], "group": ["TD", "ASD"], "metric": "nss", "value": [1.0, 2.0],
                        "convention": "mit", "n_fixations": [3, 4]})
    (tmp_path / "centre" / "scores").mkdir(parents=True)
    old.to_csv(tmp_path / "centre" / "scores" / "per_image.csv", index=False)
    new = old.assign(model="deepgaze2e", baseline="centerbias", n_viewers=[5, 6])
    (tmp_path / "dg").mkdir()
    new.to_csv(tmp_path / "dg" / "per_image.csv", index=False)
    res = load_results(tmp_path)
    assert sorted(res.per_image.model.unique()) == ["centre", "deepgaze2e"]
    assert res.per_image.image.unique().tolist() == ["01"]  # stems stay strings
    assert paired_differences(res.per_image).shape[0] == 2
    bad = tmp_path / "bad"
    bad.mkdir()
    old.drop(columns="value").to_csv(bad / "per_image.csv", index=False)
    with pytest.raises(DataError, match="per_image.csv: missing column.*value"):
        load_results(bad)

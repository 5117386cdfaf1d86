"""The headline against hand-made per-image scores: means, differences, scipy's Wilcoxon, positions between the
centre bias and the ceiling by hand, and what is (not) said with too few images or disagreeing criteria."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from asdgaze.analysis.headline import ScoredTable, headline
from asdgaze.models.base import Traits


def _rows(model: str, td, asd, metric: str = "auc_judd", convention: str = "mit") -> list[dict]:
    out = []
    for i, (a, b) in enumerate(zip(td, asd), start=1):
        for group, v in (("TD", a), ("ASD", b)):
            out.append(dict(image=str(i), group=group, metric=metric, value=v, convention=convention,
                            n_fixations=20, model=model, baseline="", n_viewers=10 if group == "TD" else 12,
                            saliency_map=""))
    return out


def _table(rows) -> ScoredTable:
    return ScoredTable(pd.DataFrame(rows), {"gold-standard": Traits(ceiling=True)})


NOISE = np.array([0.011, -0.004, 0.007, 0.0, -0.009, 0.003, 0.006, -0.002])


def test_the_facts_positions_and_gap_are_the_hand_computed_ones():
    model_td, model_asd = 0.80 + NOISE, 0.70 + NOISE[::-1]
    gold_td, gold_asd = np.full(8, 0.90), 0.88 + NOISE / 4
    ref_td, ref_asd = 0.70 + NOISE / 2, np.full(8, 0.65)
    rows = _rows("mine", model_td, model_asd) + _rows("gold-standard", gold_td, gold_asd) \
        + _rows("centerbias", ref_td, ref_asd)
    h = headline(_table(rows), "TD", "ASD", n_resamples=2000)
    by = {s.model: s for s in h.subjects}
    assert [by[m].role for m in ("mine", "gold-standard", "centerbias")] == ["model", "ceiling", "reference"]
    f = by["mine"].facts[0]
    assert (f.metric, f.n_images, f.n_a_better) == ("auc_judd", 8, 8)
    assert np.isclose(f.mean_a, model_td.mean()) and np.isclose(f.diff, (model_td - model_asd).mean())
    # one metric per model and convention: Holm leaves scipy's exact two-sided p as it is (2/256 here)
    assert np.isclose(f.p_holm, stats.wilcoxon(model_td, model_asd).pvalue) and np.isclose(f.p_holm, 2 / 256)
    assert f.ci_low > 0 and f.a_better is True
    pos = by["mine"].position["mit/auc_judd"]
    assert np.isclose(pos["TD"], 100 * (model_td.mean() - ref_td.mean()) / (gold_td.mean() - ref_td.mean()))
    assert np.isclose(pos["ASD"], 100 * (model_asd.mean() - ref_asd.mean()) / (gold_asd.mean() - ref_asd.mean()))
    gap = by["mine"].gap["mit/auc_judd"]
    d = (model_td - model_asd) - (gold_td - gold_asd)
    assert np.isclose(gap.diff, d.mean()) and np.isclose(gap.p_wilcoxon, stats.wilcoxon(d).pvalue)
    assert by["gold-standard"].mean_viewers == {"TD": 10.0, "ASD": 12.0}
    said = " ".join(h.sentences)
    assert "the TD group's fixations are predicted better" in said
    assert "exceeds what the groups' own consistency explains" in said
    assert f"reaches {pos['TD']:.0f} % for TD and {pos['ASD']:.0f} % for ASD" in said
    assert h.to_dict()["sentences"] == h.sentences


def test_disagreeing_criteria_claim_no_direction():
    # six images, one against the rest: the bootstrap CI excludes 0, scipy's exact p is 2 * 2/64 = 0.0625
    td = np.array([0.85, 0.84, 0.83, 0.82, 0.81, 0.795])
    asd = np.full(6, 0.80)
    assert np.isclose(stats.wilcoxon(td, asd).pvalue, 0.0625)
    h = headline(_table(_rows("mine", td, asd)), "TD", "ASD", n_resamples=2000)
    f = h.subjects[0].facts[0]
    assert f.ci_low > 0 and f.a_better is None
    assert "the groups may differ (the 95 % CI excludes 0), but the Holm-corrected test does not confirm it" \
        in h.sentences[0]
    assert "predicted better" not in h.sentences[0]


def test_one_image_gives_no_ci_and_no_p():
    h = headline(_table(_rows("mine", [0.9], [0.7]) + _rows("centerbias", [0.8], [0.6])), "TD", "ASD")
    f = h.subjects[0].facts[0]
    assert f.n_images == 1 and not f.supported and f.a_better is None
    assert "(no CI or p: 1 image(s), fewer than 6)" in h.sentences[0]
    assert "95 % CI" not in " ".join(h.sentences) and "Wilcoxon" not in " ".join(h.sentences)
    assert any("Only 1 image(s): no confidence interval or p-value" in n for n in h.notes)
    record = h.to_dict()["subjects"][0]["facts"][0]
    assert record["ci_low"] is None and record["p_holm"] is None


def test_a_subject_without_a_value_on_any_image_is_named_not_stated_as_n_a():
    rows = _rows("mine", [0.9, 0.8], [0.7, 0.6]) + _rows("centerbias", [np.nan, np.nan], [np.nan, np.nan])
    h = headline(_table(rows), "TD", "ASD")
    assert [s.model for s in h.subjects] == ["mine"]
    assert any(n.startswith("Centre bias (fitted): ") and "no lead metric has a value" in n for n in h.notes)
    assert not any("n/a for TD" in s for s in h.sentences)

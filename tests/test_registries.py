"""A baseline and a metric registered in this file alone are fitted, scored, summarised, compared and reported
like the built-in ones: every reader takes what it needs to know from the registries and the traits.

Numbers are checked by hand: the toy baseline's density and the toy metric's values are computed here with
numpy from the same fixations.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from asdgaze.analysis.compare import CompareOptions, compare
from asdgaze.data.types import Dataset, Stimulus
from asdgaze.evaluate import EvaluateOptions, evaluate
from asdgaze.metrics import registry as metrics
from asdgaze.models import registry
from asdgaze.models.base import PredictorBase, Traits
from asdgaze.report.html import build_report

from _tiny import tiny_dataset  # noqa: E402 (tests/ helper)

H, W = 24, 32


class ToyBaseline(PredictorBase):
    """A density that depends on the group: group "A" favours the left half, "B" the right half (3:1)."""

    name = "toy-test"
    traits = Traits(group_dependent=True)

    @classmethod
    def fit(cls, context) -> "ToyBaseline":
        return cls()

    def log_density(self, stimulus: Stimulus, group: str | None = None,
                    exclude_viewers: Collection[int] = ()) -> np.ndarray:
        return np.log(_toy(group, *stimulus.shape))


def _toy(group: str, h: int, w: int) -> np.ndarray:
    p = np.ones((h, w))
    if group == "A":
        p[:, : w // 2] = 3.0
    else:
        p[:, w // 2:] = 3.0
    return p / p.sum()


def _mass(inputs, name):
    """Toy metric: the density at each fixation (a per-fixation value), as a probability."""
    p = inputs.p
    r, c = np.asarray(inputs.ys, int), np.asarray(inputs.xs, int)
    per_fix = p[r, c]
    return (float(per_fix.mean()) if per_fix.size else math.nan), per_fix


@pytest.fixture
def toys():
    registry.register_baseline("toy-test", label="toy baseline (test)", help="a toy")(ToyBaseline)
    spec = metrics.MetricSpec("toy_mass", "probabilistic", "toy mass at fixations", "probability", False,
                              frozenset({"fixations", "saliency"}), True, _mass, permutable=True, default=False)
    metrics.register_metric(spec)
    yield
    registry.unregister_baseline("toy-test")
    metrics.unregister_metric("toy_mass", "probabilistic")


def _dataset(tmp_path: Path) -> Dataset:
    return tiny_dataset(tmp_path, 6, h=H, w=W, groups=("A", "B"),
                        n_fix=12, seed=3, images="img", durations=False, write_images=True)


def test_a_baseline_and_a_metric_registered_here_are_scored_compared_and_reported(tmp_path, toys):
    ds = _dataset(tmp_path)
    opts = EvaluateOptions(baselines=("uniform", "toy-test"), metrics=("auc_judd", "nss"),
                           prob_metrics=("ll", "toy_mass"), prob_ig_baseline="uniform")
    res = evaluate(ds, None, tmp_path / "out", opts, workers=1, progress=False)
    assert res.ok
    pi = res.per_image
    toy = pi[pi.model == "toy-test"]
    assert set(toy.convention) == {"mit", "probabilistic"}  # both conventions
    for g in ("A", "B"):
        p = _toy(g, H, W)
        for stem in ds.stimuli:
            f = ds.fixations_for(g, stem)
            r, c = f.rows_cols()
            want_ll = np.log(p[r, c]).mean()
            want_mass = p[r, c].mean()
            row = toy[(toy.group == g) & (toy.image == stem)].set_index("metric")["value"]
            assert row["ll"] == pytest.approx(want_ll, rel=1e-12)
            assert row["toy_mass"] == pytest.approx(want_mass, rel=1e-12)
    # summarised: the image mean of the toy metric
    s = res.summary.set_index(["model", "convention", "group", "metric"])
    want = toy[(toy.group == "A") & (toy.metric == "toy_mass")]["value"].mean()
    assert s.loc[("toy-test", "probabilistic", "A", "toy_mass"), "mean"] == pytest.approx(want, rel=1e-12)
    # its per-fixation values are written, as the registry says
    pf = res.per_fixation
    assert len(pf[(pf.model == "uniform") & (pf.metric == "toy_mass")]) == 6 * 2 * 12
    # the manifest records the toy's traits
    cmp = compare(tmp_path / "out", tmp_path / "cmp", CompareOptions("A", "B", n_resamples=200, n_permutations=50))
    gs = cmp.group_stats.set_index(["model", "convention", "metric"])
    # the toy baseline depends on the group (its trait): no permutation test on it; uniform's toy_mass
    # (permutable in the registry, per-fixation values written) is permuted
    assert gs.loc[("toy-test", "probabilistic", "ll"), "n_permutations"] == 0
    assert gs.loc[("uniform", "probabilistic", "toy_mass"), "n_permutations"] == 50
    assert gs.loc[("uniform", "probabilistic", "toy_mass"), "direction"] == "lower is better"
    assert any("toy-test" in n and "its prediction changes" in n for n in cmp.notes)
    report = build_report(tmp_path / "out", tmp_path / "rep", CompareOptions("A", "B", n_resamples=200,
                                                                              n_permutations=50))
    html = report.html.read_text()
    rows = [r for r in html.split("<tr") if ">toy_mass<" in r and ">uniform<" in r]
    assert any("lower is better" in r for r in rows)  # the group comparison shows its direction
    assert "toy baseline (test)" in html  # the registry's label


def test_the_registry_is_what_every_option_reads(toys):
    from asdgaze.evaluate.options import EvaluateOptions as Opts

    assert "toy-test" in registry.names() and "toy-test" not in registry.default_baselines(["A", "B"])
    assert registry.check_names("uniform, toy-test", ["A", "B"]) == ("uniform", "toy-test")
    assert registry.traits_of("toy-test").group_dependent and not registry.traits_of("uniform").group_dependent
    # the toy metric is known to the options (not scored by default: default=False)
    assert "toy_mass" not in Opts().prob_metrics
    assert Opts.from_cli({}, metrics="ll,toy_mass", baselines="none").prob_metrics == ("ll", "toy_mass")
    with pytest.raises(Exception, match="unknown baseline 'nope'"):
        registry.check_names("nope", ["A"])


def test_unknown_names_after_unregistering(tmp_path):
    # nothing of the toys is left once unregistered (the fixture of the other tests cleans up)
    assert "toy-test" not in registry.names()
    assert metrics.find("toy_mass", "probabilistic") is None
    assert replace(EvaluateOptions(), baselines=()).baselines == ()

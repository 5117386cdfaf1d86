"""score_mit scores what the registry declares: one place per MIT metric; Target carries fixations."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from asdgaze.data.types import Fixations
from asdgaze.metrics import registry
from asdgaze.metrics.suite import MIT_METRICS, Target, score_mit


def test_mit_metrics_is_the_registry_list_and_each_has_a_scorer():
    mit = registry.metrics_for("mit")
    assert MIT_METRICS == tuple(m.name for m in mit)
    assert MIT_METRICS == ("auc_judd", "auc_borji", "auc_shuffled", "nss", "cc", "kl", "sim", "ig", "emd")
    assert all(callable(m.scorer) for m in mit)
    assert all(callable(m.scorer) for m in registry.metrics_for("probabilistic"))


def _case():
    f = np.zeros((4, 6), bool)
    f[1, 2] = f[2, 4] = True
    s = np.arange(24, dtype=float).reshape(4, 6)  # s at the fixations: 8 and 16
    return s, {"TD": Target(f, s / 23.0, f)}


def test_a_metric_added_to_the_registry_alone_is_scored(monkeypatch):
    # A toy MIT metric: the mean raw saliency at fixated pixels, (8 + 16) / 2 = 12 by hand.
    def mean_at_fixations(inputs, name):
        return float(inputs.prep.original.ravel()[inputs.fix].mean())

    toy = dataclasses.replace(registry.get("nss", "mit"), name="toy_mean", label="toy", scorer=mean_at_fixations,
                              default=False)
    registry.register_metric(toy)
    try:
        s, targets = _case()
        out = score_mit(s, targets, np.ones((4, 6)), metrics=("toy_mean", "nss"))
        assert out["TD"]["toy_mean"] == 12.0
        assert list(out["TD"]) == ["toy_mean", "nss"]
    finally:
        registry.unregister_metric("toy_mean", "mit")
    with pytest.raises(ValueError, match="unknown"):  # removed again: unknown
        score_mit(s, targets, np.ones((4, 6)), metrics=("toy_mean",))


def test_builtin_metrics_cannot_be_removed_or_registered_twice():
    with pytest.raises(ValueError, match="cannot be removed"):
        registry.unregister_metric("emd", "mit")
    with pytest.raises(ValueError, match="already registered"):
        registry.register_metric(registry.get("emd", "mit"))


def test_target_from_fixations_keeps_duplicates_and_viewers_and_derives_maps_once():
    # Two viewers; (2.5, 1.2) and (2.9, 1.7) fall on the same pixel (row 1, col 2).
    fix = Fixations.from_arrays([2.5, 2.9, 4.0], [1.2, 1.7, 2.0], viewer=[0, 1, 1])
    calls = []
    dens = np.full((4, 6), 0.5)

    def make():
        calls.append(1)
        return dens

    t = Target.from_fixations(fix, (4, 6), make, None)
    assert len(t.fixations) == 3 and t.fixations.n_viewers == 2
    assert calls == []  # nothing derived before it is asked for
    expected = np.zeros((4, 6), bool)
    expected[1, 2] = expected[2, 4] = True
    assert t.fixation_map.dtype == bool and np.array_equal(t.fixation_map, expected)
    assert t.fixation_map is t.fixation_map  # cached
    assert t.density is dens and t.density is dens and calls == [1]


def test_target_from_fixations_scores_as_the_map_built_target():
    fix = Fixations.from_arrays([2.5, 2.9, 4.0, 0.0], [1.2, 1.7, 2.0, 3.0], viewer=[0, 1, 1, 2])
    y, x = np.mgrid[0:4, 0:6]
    c = np.exp(-((y - 1.5) ** 2 + (x - 3) ** 2) / 4)
    s = np.cos(x) + y
    other = np.zeros((4, 6), bool)
    other[0, :] = other[3, 5] = True
    lazy = Target.from_fixations(fix, (4, 6), lambda: c, other)
    eager = Target(fix.binary_map(4, 6), c, other)
    a = score_mit(s, {"g": lazy}, np.ones((4, 6)) + c, image_id="7", n_splits=5)
    b = score_mit(s, {"g": eager}, np.ones((4, 6)) + c, image_id="7", n_splits=5)
    assert list(a["g"]) == list(MIT_METRICS)
    np.testing.assert_array_equal(np.array(list(a["g"].values())), np.array(list(b["g"].values())))


def test_evaluate_a_bad_continuous_map_fails_the_pair_once_not_once_per_model(tmp_path):
    # Targets derive maps on demand; evaluate still makes the continuous map before any model,
    # so a shipped N_s.png of the wrong size is one failure per group, as before the change.
    from PIL import Image

    from asdgaze.data.types import Dataset, Stimulus
    from asdgaze.evaluate import EvaluateOptions, evaluate
    from asdgaze.maps.io import save_npy

    h, w = 30, 40
    rng = np.random.default_rng(5)
    stimuli = {s: Stimulus(s, tmp_path / f"{s}.png", h, w) for s in ("1", "2")}
    fix = {"TD": {s: Fixations.from_arrays(rng.integers(0, w, 8) + 0.5, rng.integers(0, h, 8) + 0.5)
                  for s in stimuli}}
    bad = tmp_path / "N_2.png"
    Image.fromarray(np.zeros((h, w + 1), np.uint8)).save(bad)
    ds = Dataset("tiny", tmp_path, stimuli, fix, fixation_maps={"TD": {"2": bad}})
    for s in stimuli:
        save_npy(tmp_path / "maps" / f"{s}.npy", rng.random((h, w)) + 0.1)
    res = evaluate(ds, {"a": tmp_path / "maps", "b": tmp_path / "maps"}, tmp_path / "out",
                   EvaluateOptions(maps_kind="saliency", baselines=()), workers=1, progress=False)
    assert [(f.image, f.group) for f in res.failures] == [("2", "TD")]
    assert res.failures[0].error.startswith(f"{bad}: fixation map is 30x41")

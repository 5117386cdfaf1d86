"""A saliency map made a density (pysaliency's conversion, fitted by maximum likelihood, cross-validated over
images): a map that is a density converts to itself, a monotone rescaling converts to nearly the same density,
no image is scored by a conversion fitted on its own fixations, and evaluate scores it probabilistically with
rows that say so."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter
from scipy.special import logsumexp

from asdgaze.data.types import Dataset, Fixations, Stimulus
from asdgaze.evaluate import EvaluateOptions, evaluate
from asdgaze.models.converted import CONVERTED, ConvertedModel, convert_model

H, W = 30, 40


def _world(n: int, n_fix: int, seed: int = 0) -> tuple[Dataset, dict[str, np.ndarray]]:
    """Smooth random log-densities with a centre bias, and both groups' fixations drawn from them."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:H, 0:W]
    stimuli, logp, fix = {}, {}, {"ASD": {}, "TD": {}}
    for i in range(1, n + 1):
        s = str(i)
        stimuli[s] = Stimulus(s, Path(f"/nonexistent/{s}.png"), H, W)
        lp = gaussian_filter(rng.standard_normal((H, W)), 3.2) * 6.4
        lp = lp - (((yy - H / 2) / (0.3 * H)) ** 2 + ((xx - W / 2) / (0.3 * W)) ** 2) / 2
        logp[s] = lp - logsumexp(lp)
        p = np.exp(logp[s]).ravel()
        for g in fix:
            idx = rng.choice(p.size, n_fix, p=p / p.sum())
            fix[g][s] = Fixations.from_arrays(idx % W + 0.5, idx // W + 0.5, None, np.arange(n_fix) // 10)
    return Dataset("synth", Path("/nonexistent"), stimuli, fix), logp


class _Maps:
    """A saliency-map predictor whose map of each image is ``make(stem)``."""

    name, missing, hdf5_sha256, mit_map_scored = "m", [], None, "map as given (float64)"

    def __init__(self, make):
        self.make = make

    def covers(self, stem):
        return True

    def saliency_map(self, stim, group=None, density=None):
        return self.make(stim.id)


def _mean_ll(ds: Dataset, log_density) -> float:
    """Image- and group-averaged mean log-likelihood (nats per fixation) of the fixations under ``log_density``."""
    out = []
    for s, st in ds.stimuli.items():
        lp = log_density(s)
        for g in ds.groups:
            r, c = ds.fixations[g][s].rows_cols()
            out.append(lp[r, c].mean())
    return float(np.mean(out))


@pytest.fixture(scope="module")
def world():
    return _world(16, 300)


@pytest.fixture(scope="module")
def converted_exp(world):
    ds, logp = world
    return convert_model(_Maps(lambda s: np.exp(logp[s] - logp[s].max())), ds, ("ASD", "TD"), 0, [], workers=2)


def test_a_density_converts_to_within_0_01_bits_of_its_own_information_gain(world, converted_exp):
    ds, logp = world
    assert isinstance(converted_exp, ConvertedModel)
    truth = _mean_ll(ds, lambda s: logp[s])
    conv = _mean_ll(ds, lambda s: converted_exp.log_density(ds.stimuli[s]))
    # IG differences are LL differences against any one baseline
    assert abs(conv - truth) / math.log(2) < 0.01


def test_a_rank_image_converts_to_nearly_the_same_density(world, converted_exp):
    ds, logp = world
    rank = convert_model(_Maps(lambda s: (np.argsort(np.argsort(logp[s].ravel())).reshape(H, W) + 1.0) / (H * W)),
                         ds, ("ASD", "TD"), 0, [], workers=2)
    a = {s: converted_exp.log_density(st) for s, st in ds.stimuli.items()}
    b = {s: rank.log_density(st) for s, st in ds.stimuli.items()}
    # the same density up to what 20 knots of a piecewise-linear nonlinearity can say of the steep top ranks:
    # KL(a || b) below 0.05 bits and the fixations' log-likelihood within 0.03 bits per fixation
    kl = np.mean([np.sum(np.exp(a[s]) * (a[s] - b[s])) for s in ds.stimuli]) / math.log(2)
    assert kl < 0.05
    assert abs(_mean_ll(ds, a.get) - _mean_ll(ds, b.get)) / math.log(2) < 0.03


def test_no_image_is_scored_by_a_conversion_fitted_on_its_own_fixations(world):
    """Replacing image 1's fixations changes the conversion of every other fold but not image 1's density."""
    ds, logp = _world(8, 40, seed=3)
    maps = _Maps(lambda s: np.exp(logp[s] - logp[s].max()))
    a = convert_model(maps, ds, ("ASD", "TD"), 0, [], k=4)
    moved = {g: dict(v) for g, v in ds.fixations.items()}
    for g in moved:
        moved[g]["1"] = Fixations.from_arrays(np.full(40, 0.5), np.full(40, 0.5), None, np.arange(40) // 10)
    b = convert_model(maps, Dataset("synth", ds.root, ds.stimuli, moved), ("ASD", "TD"), 0, [], k=4)
    assert a.fold_of == b.fold_of and len(set(a.fold_of.values())) == 4
    np.testing.assert_array_equal(a.log_density(ds.stimuli["1"]), b.log_density(ds.stimuli["1"]))
    other = next(s for s, j in a.fold_of.items() if j != a.fold_of["1"])
    assert not np.array_equal(a.log_density(ds.stimuli[other]), b.log_density(ds.stimuli[other]))
    for j, p in enumerate(a.params):  # each fold fitted on the images of the other folds only
        assert p.n_images == sum(1 for s, f in a.fold_of.items() if f != j)


def test_too_few_images_are_named_and_the_map_stays_a_saliency_map():
    ds, logp = _world(1, 20)
    notes: list[str] = []
    inner = _Maps(lambda s: np.exp(logp[s]))
    assert convert_model(inner, ds, ("ASD", "TD"), 0, notes) is inner
    assert "at least 2 images" in notes[0]


def test_evaluate_scores_a_converted_png_folder_probabilistically_with_rows_that_say_so(tmp_path, world):
    from PIL import Image

    ds, logp = _world(6, 30, seed=5)
    (tmp_path / "maps").mkdir()
    for s in ds.stimuli:
        p = np.exp(logp[s] - logp[s].max())
        Image.fromarray(np.round(255 * p).astype(np.uint8)).save(tmp_path / "maps" / f"{s}.png")
    opts = EvaluateOptions(metrics=("nss",), prob_metrics=("ll", "ig", "nss"), baselines=("centerbias",))
    plain = evaluate(ds, {"m": tmp_path / "maps"}, tmp_path / "plain", opts, workers=1, progress=False)
    conv = evaluate(ds, {"m": tmp_path / "maps"}, tmp_path / "conv", EvaluateOptions(**{**opts.__dict__, "convert": True}),
                    workers=1, progress=False)
    assert conv.ok
    rows = conv.per_image[conv.per_image["model"] == "m"]
    prob = rows[rows["convention"] == "probabilistic"]
    assert set(prob["metric"]) == {"ll", "ig", "nss"} and len(prob) == 6 * 2 * 3
    assert all(s.startswith(CONVERTED) for s in prob["saliency_map"])
    # the MIT rows of the map are those of the map as given
    key = ["image", "group", "metric"]
    mit = rows[rows["convention"] == "mit"].sort_values(key).reset_index(drop=True)
    before = plain.per_image[plain.per_image["model"] == "m"].sort_values(key).reset_index(drop=True)
    assert mit.equals(before)
    # LL by hand from the fitted parameters of each image's fold, read back from the manifest
    manifest = json.loads((tmp_path / "conv" / "manifest.json").read_text())
    desc = next(m for m in manifest["models"] if m["name"] == "m")
    folds = desc["converted"]["folds"]
    assert sorted(s for f in folds for s in f["images"]) == sorted(ds.stimuli)
    lo, hi = desc["converted"]["saliency_min"], desc["converted"]["saliency_max"]
    for f in folds:
        prm = f["params"]
        for s in f["images"]:
            with Image.open(tmp_path / "maps" / f"{s}.png") as im:
                m = np.clip((np.asarray(im, float) / 255 - lo) / (hi - lo), 0, 1)
            b = gaussian_filter(m, prm["sigma"], mode="nearest", truncate=4.0) if prm["sigma"] > 0 else m
            fy = np.interp(b, np.linspace(0, 1, 20), np.exp(np.maximum(prm["log_ys"], -100)))
            yy, xx = np.mgrid[0:H, 0:W]
            x, y = -1 + 2 * xx / (W - 1) + 1e-6, -1 + 2 * yy / (H - 1) + 1e-6
            a2 = prm["alpha"] ** 2
            d = np.sqrt(x ** 2 / a2 + y ** 2 / (1 - a2)) / np.sqrt(1 / a2 + 1 / (1 - a2))
            dens = fy * np.interp(d, np.linspace(0, 1, 12), prm["centerbias"])
            lp = np.log(dens / dens.sum())
            for g in ds.groups:
                r, c = ds.fixations[g][s].rows_cols()
                got = prob[(prob["image"] == s) & (prob["group"] == g) & (prob["metric"] == "ll")]["value"].iloc[0]
                assert got == pytest.approx(lp[r, c].mean(), rel=1e-6)

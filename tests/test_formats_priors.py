"""A dataset format is an object (its loader, options, recipe and caveat); one vocabulary for priors, resolved
in one place for --centerbias, --ig-baseline, --prob-ig-baseline and --baselines; one log-density tolerance."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import logsumexp

from asdgaze.data import demo_dataset_path, load_dataset
from asdgaze.data.formats import DEMO, SALIENCY4ASD, TABLE, FixmapRecipe
from asdgaze.errors import OptionsError
from asdgaze.evaluate import EvaluateError, EvaluateOptions, evaluate
from asdgaze.models import registry
from asdgaze.models.priors import canonical, resolve_prior


def test_formats_are_detected_and_carry_their_recipe_and_caveat(osie_dir, tmp_path):
    demo = load_dataset(demo_dataset_path())
    assert demo.format is DEMO and demo.name == "asdgaze-demo"
    assert DEMO.caveat() is None and "arbitrarily" in DEMO.about  # OSIE images: no Saliency4ASD caveat
    osie = load_dataset(osie_dir / "TrainingDataset")
    assert osie.format is SALIENCY4ASD and "subset of MIT1003" in SALIENCY4ASD.caveat()
    rows = ["image,x,y,group"] + [f"{s}.png,10,10,G" for s in osie.stimuli]
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n")
    table = load_dataset(osie_dir / "TrainingDataset" / "TrainingData" / "Images", table=tmp_path / "t.csv",
                         coords="0-based")
    assert table.format is TABLE and TABLE.caveat() is None
    measured = {"n_matched": 3, "n_images": 12, "folder": "mit"}
    assert "3 of 12 images match" in TABLE.caveat(measured) == SALIENCY4ASD.caveat(measured)
    # the recipe: Saliency4ASD's 258-tap kernel for its 43 px, a 6-sigma kernel otherwise
    assert FixmapRecipe.for_sigma(43).kernel_taps == 258 and FixmapRecipe.for_sigma(30).kernel_taps == 180
    # a Saliency4ASD folder keeps its own recipe; a table takes --fixmap-sigma
    with pytest.raises(EvaluateError, match="Saliency4ASD folder has its own recipe"):
        EvaluateOptions(fixmap_sigma=30.0).validate(osie)
    assert EvaluateOptions(fixmap_sigma=30.0).validate(table).fixmap_sigma == 30.0


def test_one_vocabulary_of_priors(tmp_path, monkeypatch):
    from asdgaze.models.centerbias import resolve_centerbias

    rng = np.random.default_rng(3)
    template = rng.normal(size=(1024, 1024))
    np.save(tmp_path / "centerbias_mit1003.npy", template - logsumexp(template))
    monkeypatch.setenv("ASDGAZE_HOME", str(tmp_path))
    assert canonical("centerbias-mit1003") == canonical("mit1003") == "mit1003"
    # the same names for the baselines
    assert registry.check_names("mit1003,gaussian", ["A"]) == ("centerbias-mit1003", "gaussian")
    ds = load_dataset(demo_dataset_path())
    stim = ds.stimuli["1"]
    a = resolve_prior("mit1003", "--ig-baseline", dataset=ds, groups=("ASD", "TD"))
    b = resolve_prior("centerbias-mit1003", "--prob-ig-baseline", dataset=ds, groups=("ASD", "TD"))
    assert np.array_equal(a.log_density(stim, "TD").values, b.log_density(stim, "TD").values)
    assert np.array_equal(resolve_centerbias("centerbias-mit1003").log_density(*stim.shape),
                          a.log_density(stim, "TD").values)
    # a fitted prior depends on the group; DeepGaze IIE's --centerbias cannot take one
    cb = resolve_prior("centerbias", "--ig-baseline", dataset=ds, groups=("ASD", "TD"))
    assert cb.group_dependent and not cb.shape_only
    with pytest.raises(OptionsError, match="--centerbias centerbias: fitted to the fixations"):
        resolve_centerbias("centerbias")
    with pytest.raises(OptionsError, match="gold-standard is the noise ceiling"):
        resolve_prior("gold-standard", "--prob-ig-baseline", dataset=ds)
    with pytest.raises(OptionsError, match="--prob-ig-baseline: .* must be a .npy log-density"):
        png = tmp_path / "b.png"
        png.write_bytes((demo_dataset_path() / "TrainingData" / "Images" / "1.png").read_bytes())
        resolve_prior(str(png), "--prob-ig-baseline", dataset=ds)


def test_a_fixed_prior_as_the_probabilistic_ig_baseline_by_hand(tmp_path):
    """IG against the fixed centre Gaussian (a name --prob-ig-baseline did not take before): by hand."""
    from asdgaze.models.baselines import gaussian_center_log_density

    ds = load_dataset(demo_dataset_path())
    res = evaluate(ds, None, tmp_path / "o", EvaluateOptions(baselines=("uniform",), conventions=("probabilistic",),
                                                            prob_metrics=("ig",), prob_ig_baseline="gaussian"),
                   workers=1, progress=False)
    row = res.per_image[(res.per_image.image == "2") & (res.per_image.group == "TD")].iloc[0]
    stim = ds.stimuli["2"]
    f = ds.fixations_for("TD", "2")
    r, c = f.rows_cols()
    base = gaussian_center_log_density(*stim.shape)
    want = np.mean(-np.log(stim.height * stim.width) - base[r, c]) / np.log(2)
    assert row["value"] == pytest.approx(want, rel=1e-12) and row["baseline"] == "gaussian"


def test_one_log_density_tolerance(tmp_path):
    """A map, a template and a LogDensity off by 0.9e-3 in logsumexp all pass; off by 1.1e-3 none does."""
    import warnings

    from asdgaze.errors import MapError
    from asdgaze.maps.io import MapScaleWarning, load_map
    from asdgaze.models.centerbias import log_density_problem
    from asdgaze.predictions import LogDensity

    base = np.log(np.full((4, 5), 1 / 20))
    for off, ok in ((0.9e-3, True), (1.1e-3, False)):
        arr = base + off
        np.save(tmp_path / "m.npy", arr)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            load_map(tmp_path / "m.npy", "log-density")
        assert (not any(issubclass(w.category, MapScaleWarning) for w in caught)) == ok
        assert (log_density_problem(arr) is None) == ok
        if ok:
            LogDensity(arr)
        else:
            with pytest.raises(MapError, match="does not sum to 1"):
                LogDensity(arr)

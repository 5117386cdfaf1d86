"""Empirical fixation maps: bit-exact Saliency4ASD _s.png, continuous_map, other_fixation_map."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
from _helpers import GROUPS, IDS, parse_scanpath, read_png  # noqa: E402

from asdgaze.data import (  # noqa: E402
    DataError,
    Dataset,
    Fixations,
    Stimulus,
    continuous_map,
    load_saliency4asd,
    other_fixation_map,
    saliency4asd_fixation_map,
    to_png8,
)


@pytest.mark.parametrize("group", GROUPS)
def test_recipe_reproduces_every_shipped_s_png(osie_dir, group):
    """Oracle: the 12 shipped N_s.png per group. Binary map built here from the txt with F[y-1, x-1]."""
    td = osie_dir / "TrainingDataset" / "TrainingData"
    for sid in IDS:
        shipped = read_png(td / f"{group}_FixMaps" / f"{sid}_s.png")
        assert shipped.dtype == np.uint8 and shipped.ndim == 2
        fmap = np.zeros(shipped.shape, dtype=bool)
        for r in parse_scanpath(td / group / f"{group}_scanpath_{sid}.txt"):
            fmap[r["y"] - 1, r["x"] - 1] = True
        c = saliency4asd_fixation_map(fmap)
        assert c.dtype == np.float64 and c.min() == 0.0 and c.max() == 1.0
        np.testing.assert_array_equal(to_png8(c), shipped, err_msg=f"{group} {sid}_s.png")


def test_recipe_from_fixpts_png(osie_dir):
    add = osie_dir / "TrainingDataset" / "AdditionalData"
    td = osie_dir / "TrainingDataset" / "TrainingData"
    for sid in ("1", "7", "12"):
        f = read_png(add / "TD_FixPts" / f"{sid}_f.png")
        np.testing.assert_array_equal(to_png8(saliency4asd_fixation_map(f)), read_png(td / "TD_FixMaps" / f"{sid}_s.png"))


def test_recipe_single_point_against_direct_formula():
    """Hand formula: C[i, j] ∝ g(r - i - 0.5) g(c - j - 0.5) for one point (r, c), g Gaussian σ=43.

    Output pixel i sums F[i + d] * w(d), with w(d) = g(d - 0.5), d = -128..129 (MATLAB anchors the
    258-tap kernel on element 129); beyond that range the zero padding gives 0.
    """
    h, w, r, c = 300, 280, 40, 250
    f = np.zeros((h, w), dtype=bool)
    f[r, c] = True
    i = np.arange(h)[:, None]
    j = np.arange(w)[None, :]
    di, dj = r - i, c - j
    val = np.exp(-((di - 0.5) ** 2 + (dj - 0.5) ** 2) / (2 * 43.0**2))
    val = np.where((di >= -128) & (di <= 129) & (dj >= -128) & (dj <= 129), val, 0.0)
    expected = (val - val.min()) / (val.max() - val.min())
    np.testing.assert_allclose(saliency4asd_fixation_map(f), expected, rtol=0, atol=1e-12)


def test_empty_map_is_zero():
    assert not saliency4asd_fixation_map(np.zeros((3, 4), bool)).any()
    with pytest.raises(ValueError, match="2-D"):
        saliency4asd_fixation_map(np.zeros(5, bool))


def test_to_png8_rounds_half_away_from_zero():
    # 255 * x is exactly k + 0.5 for these x; numpy's round-half-even would give 0, 2, 254.
    x = np.array([0.5 / 255, 2.5 / 255, 254.5 / 255, 0.0, 1.0, -1.0, 2.0, np.nan])
    assert (x[:3] * 255).tolist() == [0.5, 2.5, 254.5]
    assert to_png8(x).tolist() == [1, 3, 255, 0, 255, 0, 255, 0]
    assert to_png8(x).dtype == np.uint8


# --- continuous_map ---------------------------------------------------------------------------


def test_continuous_map_uses_shipped_png(osie_dir):
    ds = load_saliency4asd(osie_dir / "TrainingDataset")
    shipped = read_png(osie_dir / "TrainingDataset" / "TrainingData" / "ASD_FixMaps" / "5_s.png")
    np.testing.assert_array_equal(continuous_map(ds, "ASD", "5"), shipped / 255.0)
    # without the shipped file: the recipe from the fixations, which quantises to the same PNG
    del ds.fixation_maps["ASD"]["5"]
    c = continuous_map(ds, "ASD", "5")
    np.testing.assert_array_equal(to_png8(c), shipped)
    assert np.abs(c - shipped / 255.0).max() <= 0.5 / 255 + 1e-12


def test_continuous_map_size_mismatch(osie_dir, tmp_path):
    src = osie_dir / "TrainingDataset" / "TrainingData"
    shutil.copytree(src / "Images", tmp_path / "Images")
    shutil.copytree(src / "TD", tmp_path / "TD")
    (tmp_path / "TD_FixMaps").mkdir()
    Image.new("L", (10, 8)).save(tmp_path / "TD_FixMaps" / "3_s.png")
    ds = load_saliency4asd(tmp_path)
    # Issue 6: the loader does not use it; it rebuilds the map with the recipe and says so.
    bad = tmp_path / "TD_FixMaps" / "3_s.png"
    assert ds.notes == [f"{bad}: fixation map is 10x8 (WxH) but image 3.png is 800x600; not used, "
                        "rebuilt from the scanpath with the Saliency4ASD recipe"]
    assert "3" not in ds.fixation_maps["TD"]
    shipped = np.asarray(Image.open(src / "TD_FixMaps" / "3_s.png"), dtype=np.float64)
    c = continuous_map(ds, "TD", "3")
    assert np.abs(c - shipped / 255.0).max() <= 0.5 / 255 + 1e-12
    # A Dataset built by hand with the wrong-size map still refuses it.
    ds.fixation_maps["TD"]["3"] = bad
    with pytest.raises(DataError, match=r"3_s\.png: fixation map is 8x10.*600x800"):
        continuous_map(ds, "TD", "3")


# --- other_fixation_map -----------------------------------------------------------------------


def _toy(sizes: dict[str, tuple[int, int]], points: dict[str, list[tuple[float, float]]]) -> Dataset:
    stimuli = {k: Stimulus(k, Path(f"{k}.png"), h, w) for k, (h, w) in sizes.items()}
    fx = {k: Fixations.from_arrays([p[0] for p in v], [p[1] for p in v]) for k, v in points.items()}
    return Dataset("toy", Path("."), stimuli, {"g": fx})


def test_other_map_rescales_hand_computed_point():
    # other image 10x20 (HxW); this 4x8. (x, y) = (19.9, 9.5) -> (19.9*8/20, 9.5*4/10) = (7.96, 3.8)
    # -> pixel (row 3, col 7). (x, y) = (5.0, 2.5) -> (2.0, 1.0) -> (1, 2).
    ds = _toy({"this": (4, 8), "other": (10, 20)}, {"this": [(0.0, 0.0)], "other": [(19.9, 9.5), (5.0, 2.5)]})
    m = other_fixation_map(ds, "g", "this", n_other=None, rng=None)
    assert m.dtype == np.bool_ and m.shape == (4, 8)
    assert sorted(map(tuple, np.argwhere(m).tolist())) == [(1, 2), (3, 7)]


def test_other_map_excludes_this_image_and_empty_images():
    ds = _toy({k: (5, 5) for k in "abcd"}, {"a": [(0.0, 0.0)], "b": [(1.0, 1.0)], "c": [(2.0, 2.0)], "d": []})
    m = other_fixation_map(ds, "g", "a", n_other=None, rng=None)
    assert not m[0, 0]
    assert sorted(map(tuple, np.argwhere(m).tolist())) == [(1, 1), (2, 2)]


def test_other_map_n_other_limits():
    ids = [str(i) for i in range(6)]
    ds = _toy({k: (6, 6) for k in ids}, {k: [(float(i), float(i))] for i, k in enumerate(ids)})
    for n, expected in ((0, 0), (1, 1), (3, 3), (5, 5), (50, 5), (None, 5)):
        m = other_fixation_map(ds, "g", "0", n_other=n, rng=np.random.default_rng(1))
        assert m.sum() == expected and not m[0, 0]
        assert all(r == c and r > 0 for r, c in np.argwhere(m).tolist())
    a = other_fixation_map(ds, "g", "0", n_other=2, rng=np.random.default_rng(7))
    b = other_fixation_map(ds, "g", "0", n_other=2, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)
    draws = {tuple(np.flatnonzero(np.diag(other_fixation_map(ds, "g", "0", n_other=2, rng=np.random.default_rng(s)))))
             for s in range(40)}
    assert len(draws) > 3  # different seeds pick different images
    with pytest.raises(ValueError, match="rng"):
        other_fixation_map(ds, "g", "0", n_other=2, rng=None)


def test_other_map_on_replica_matches_union_of_fixpts(osie_dir):
    """Same-size images: otherMap (all others) = union of the other images' _f.png."""
    ds = load_saliency4asd(osie_dir / "TrainingDataset")
    add = osie_dir / "TrainingDataset" / "AdditionalData"
    expected = np.zeros((600, 800), bool)
    for sid in IDS[1:]:
        expected |= read_png(add / "ASD_FixPts" / f"{sid}_f.png") > 0
    np.testing.assert_array_equal(other_fixation_map(ds, "ASD", "1", n_other=None, rng=None), expected)

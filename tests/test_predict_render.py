"""Predict's pictures of a density (issue 17): levels of the cumulative probability, checked against densities
whose levels are known by construction and against a second computation; the overlay's tint and colour bar;
evaluate refuses the PNG picture as a map."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
from PIL import Image

from asdgaze.cli import main
from asdgaze.predict.outputs import write_outputs
from asdgaze.predict.render import TINT, colour_bar, density_png, mass_levels, overlay_image


def levels_by_unique(log_density: np.ndarray) -> np.ndarray:
    """Independent of the sort in mass_levels: the mass of each distinct value, summed from the top."""
    ld = np.asarray(log_density, dtype=np.float64)
    p = np.exp(ld - ld.max())
    values, inverse = np.unique(ld, return_inverse=True)  # ascending
    mass = np.bincount(inverse.ravel(), weights=p.ravel(), minlength=values.size)
    at_least = np.cumsum(mass[::-1])[::-1]  # the mass of the values >= each value
    return (at_least / p.sum())[inverse].reshape(ld.shape)


def three_regions(h: int = 60, w: int = 80) -> tuple[np.ndarray, np.ndarray]:
    """A log density with three regions of known mass: a 6x8 block holding 45 %, a ring around it 30 %,
    the rest 25 %; the region index (0, 1, 2) of each pixel."""
    region = np.full((h, w), 2)
    region[18:42, 24:56] = 1
    region[27:33, 36:44] = 0
    mass = np.array([0.45, 0.30, 0.25])
    counts = np.bincount(region.ravel())
    p = (mass / counts)[region]
    return np.log(p), region


def test_levels_of_hand_made_densities():
    # 0.4 first, then 0.4 + 0.3, then + 0.2, then all
    np.testing.assert_allclose(mass_levels(np.log([[0.1, 0.4], [0.3, 0.2]])), [[1.0, 0.4], [0.7, 0.9]], rtol=1e-12)
    # equal values count together: each of the three 0.2s has 0.4 + 0.6 at least as likely
    np.testing.assert_allclose(mass_levels(np.log([0.4, 0.2, 0.2, 0.2])), [0.4, 1.0, 1.0, 1.0], rtol=1e-12)
    np.testing.assert_allclose(mass_levels(np.full((3, 5), -np.log(15.0))), np.ones((3, 5)), rtol=1e-12)
    ld, region = three_regions()
    np.testing.assert_allclose(mass_levels(ld), np.array([0.45, 0.75, 1.0])[region], rtol=1e-12)
    # not normalised, float32, random: the same as a second computation
    rng = np.random.default_rng(7)
    for noise in (rng.normal(-3.0, 2.0, (37, 53)), np.round(rng.normal(0, 1, (20, 30)), 1)):  # the second with ties
        np.testing.assert_allclose(mass_levels(noise.astype(np.float32)), levels_by_unique(noise.astype(np.float32)),
                                   rtol=1e-12, atol=1e-15)


def test_png_is_255_times_the_share_above(tmp_path):
    ld, region = three_regions()
    grey = density_png(ld)
    # 255 * (1 - level): 255 * 0.55 = 140.25, 255 * 0.25 = 63.75, 0
    np.testing.assert_array_equal(grey, np.array([140, 64, 0], np.uint8)[region])
    write_outputs(tmp_path, "x", None, ld, ("png",))
    with Image.open(tmp_path / "maps" / "x.png") as im:
        assert im.mode == "L" and im.size == (80, 60)
        np.testing.assert_array_equal(np.asarray(im), grey)
        assert "not linear in probability" in im.info["asdgaze-rendering"]


def test_overlay_tints_each_region_and_has_a_colour_bar():
    ld, region = three_regions(300, 400)
    image = np.full((300, 400, 3), 128, np.uint8)
    out = overlay_image(image, ld)
    assert out.shape[0] == 300 and out.shape[1] > 400 and out.dtype == np.uint8
    cividis = matplotlib.colormaps["cividis"]
    # level 0.45: the 5th of ten regions (40-50 %), tinted with cividis at 1 - 4/8 and opacity 0.55;
    # level 0.75: the 8th (70-80 %), cividis 1 - 7/8, opacity 0.40; level 1: the last, untinted
    for r, (k, colour_at) in enumerate([(4, 0.5), (7, 1 / 8)]):
        colour = np.rint(np.array(cividis(colour_at)[:3]) * 255)
        a = np.rint(255 * (TINT[0] + (TINT[1] - TINT[0]) * k / 8))
        expected = (128 * (255 - a) + colour * a + 127) // 255
        assert np.all(out[:, :400][region == r] == expected.astype(np.uint8)), (r, out[:, :400][region == r][0])
    assert np.all(out[:, :400][region == 2] == 128)
    # the bar: ten swatches top to bottom, the most likely region's colour first, the last one white
    bar = out[:, 400:]
    assert np.array_equal(bar, colour_bar(300))
    swatch_x = int(np.argmax(np.any(bar != 255, axis=(0, 2)))) + 2  # inside the first non-white column
    for k in range(10):
        row = 30 * k + 15
        want = (255, 255, 255) if k == 9 else tuple(np.rint(np.array(cividis(1 - k / 8)[:3]) * 255).astype(int))
        assert tuple(int(c) for c in bar[row, swatch_x]) == want, k
    # labels beside the swatches: dark text pixels in every region's row band
    text = bar[:, swatch_x + 20:swatch_x + 40]  # the labels, left of the caption
    for k in range(10):
        assert (text[30 * k + 8:30 * k + 22].min(axis=2) < 100).any(), k


def test_evaluate_refuses_the_png_picture_as_a_map(tmp_path, capsys):
    """Only the PNGs of predict's output (no .npy beside them): scored as maps, their grey levels would be
    taken for the density's; evaluate stops before scoring, naming the folder and the files."""
    from asdgaze.data import demo_dataset_path, load_demo

    ds = load_demo()
    for stem, stim in ds.stimuli.items():
        ld, _ = three_regions(stim.height, stim.width)
        write_outputs(tmp_path / "pred", stem, None, ld, ("png",))
    rc = main(["evaluate", "--dataset", str(demo_dataset_path()), "--maps", str(tmp_path / "pred" / "maps"),
               "--out", str(tmp_path / "out"), "--no-progress", "--workers", "1"])
    err = capsys.readouterr().err
    assert rc != 0 and not (tmp_path / "out" / "per_image.csv").exists()
    assert f"{tmp_path / 'pred' / 'maps'}: {len(ds.stimuli)} PNG map(s)" in err and "picture" in err and ".npy" in err


@pytest.mark.parametrize("height", [64, 97, 600, 1080])
def test_colour_bar_fits_any_height(height):
    bar = colour_bar(height)
    assert bar.shape[0] == height and bar.shape[2] == 3 and 0 < bar.shape[1] < max(200, height // 2)


def test_a_folder_of_pictures_from_an_earlier_rendering_is_refused(tmp_path):
    """Its PNGs and overlays were linear in probability: a rerun must not mix the two kinds."""
    import json

    from asdgaze.errors import OptionsError
    from test_predict_pipeline import run

    images = tmp_path / "images"
    images.mkdir()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 80, 3), dtype=np.uint8)).save(images / "0.png")
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (64, 80, 3), dtype=np.uint8)).save(images / "1.png")
    out = tmp_path / "o"
    run(out, images)
    settings = json.loads((out / "run-settings.json").read_text())
    assert settings.pop("rendering") == "levels of the cumulative probability"
    (out / "run-settings.json").write_text(json.dumps(settings))  # as the earlier version recorded it
    (out / "maps" / "1.npy").unlink()
    with pytest.raises(OptionsError, match=r"the PNG and overlay pictures \(this version's\): \(absent\) -> "):
        run(out, images)
    assert run(out, images, overwrite=True).written == ["0", "1"]

"""Saliency maps as they come: JPEG and TIFF (8/16-bit, grey or an RGB that is grey) beside PNG and .npy;
a colour image is refused as a rendering; the "no map" message names every accepted suffix."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from asdgaze.errors import MapError
from asdgaze.evaluate import EvaluateError, EvaluateOptions, evaluate
from asdgaze.maps.io import find_maps, load_map, map_size

from _tiny import tiny_dataset  # noqa: E402 (tests/ helper)


def _smooth(h: int, w: int, seed: int = 0) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    rng = np.random.default_rng(seed)
    cy, cx = rng.uniform(0.3, 0.7) * h, rng.uniform(0.3, 0.7) * w
    return np.exp(-(((yy - cy) / (0.3 * h)) ** 2 + ((xx - cx) / (0.3 * w)) ** 2))


def test_tiff_8_and_16_bit_grey_and_rgb_grey(tmp_path):
    a8 = np.array([[0, 51], [255, 102]], np.uint8)
    Image.fromarray(a8).save(tmp_path / "a.tif")
    np.testing.assert_array_equal(load_map(tmp_path / "a.tif", None), [[0, 0.2], [1, 0.4]])
    a16 = np.array([[0, 65535, 13107]], np.uint16)
    Image.fromarray(a16).save(tmp_path / "b.tiff")
    np.testing.assert_array_equal(load_map(tmp_path / "b.tiff", None), [[0, 1, 0.2]])
    Image.fromarray(np.stack([a8] * 3, -1)).save(tmp_path / "c.tif")
    np.testing.assert_array_equal(load_map(tmp_path / "c.tif", None), [[0, 0.2], [1, 0.4]])
    assert map_size(tmp_path / "b.tiff") == (1, 3)


def test_jpeg_grey_and_rgb_grey_read_as_their_decoded_values(tmp_path):
    g = np.round(255 * _smooth(30, 40)).astype(np.uint8)
    Image.fromarray(g).save(tmp_path / "g.jpg", quality=100)
    Image.fromarray(np.stack([g] * 3, -1)).save(tmp_path / "rgb.jpeg", quality=100)
    for name in ("g.jpg", "rgb.jpeg"):
        got = load_map(tmp_path / name, None)
        # JPEG at quality 100 of a smooth map: within two levels of the original
        assert got.shape == (30, 40) and np.abs(got * 255 - g).max() <= 2
    # a JPEG whose grey channels its coding left a level apart is still a grey map
    rgb = np.stack([g, g, g], -1).astype(np.int16)
    rgb[..., 1] = np.clip(rgb[..., 1] + 1, 0, 255)
    Image.fromarray(rgb.astype(np.uint8)).save(tmp_path / "near.png")  # PNG: exact, so refused
    with pytest.raises(MapError, match="colour image"):
        load_map(tmp_path / "near.png", None)


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".tif"])
def test_a_colour_image_is_refused_as_a_rendering(tmp_path, suffix):
    rgb = np.zeros((20, 30, 3), np.uint8)
    rgb[..., 0] = 200  # a red heat-map colour, not grey
    rgb[5:10, 5:10] = (20, 40, 220)
    path = tmp_path / f"m{suffix}"
    Image.fromarray(rgb).save(path)
    with pytest.raises(MapError, match=r"colour image.*rendering of a map"):
        load_map(path, None)


def test_a_float_tiff_is_refused_naming_what_to_do(tmp_path):
    Image.fromarray(np.zeros((3, 4), np.float32)).save(tmp_path / "f.tif")
    with pytest.raises(MapError, match=r"f\.tif.*8- or 16-bit grey.*\.npy"):
        load_map(tmp_path / "f.tif", None)


def test_suffix_preference_and_the_no_map_message(tmp_path):
    for stem, suffix in (("1", ".jpg"), ("1", ".tif"), ("2", ".jpeg"), ("3", ".TIFF")):
        Image.fromarray(np.zeros((2, 2), np.uint8)).save(tmp_path / f"{stem}{suffix}",
                                                         format="TIFF" if "tif" in suffix.lower() else "JPEG")
    found, missing = find_maps(tmp_path, ["1", "2", "3", "4"])
    assert {s: m.path.name for s, m in found.items()} == {"1": "1.tif", "2": "2.jpeg", "3": "3.TIFF"}
    assert missing == ["4"]
    ds = tiny_dataset(tmp_path / "ds", 4)
    with pytest.raises(EvaluateError) as e:
        evaluate(ds, tmp_path, tmp_path / "out", EvaluateOptions(metrics=("nss",)), workers=1, progress=False)
    for suffix in (".npy", ".png", ".tif", ".tiff", ".jpg", ".jpeg"):
        assert suffix in str(e.value)


def test_a_jpeg_map_folder_is_scored_end_to_end_as_its_grey_values(tmp_path):
    """A folder of JPEG maps is scored exactly as its decoded grey values saved as .npy saliency maps."""
    ds = tiny_dataset(tmp_path / "ds", 3, h=30, w=40, n_fix=12)
    (tmp_path / "jpg").mkdir()
    (tmp_path / "npy").mkdir()
    for k, stem in enumerate(ds.stimuli):
        g = np.round(255 * _smooth(30, 40, k)).astype(np.uint8)
        Image.fromarray(g).save(tmp_path / "jpg" / f"{stem}.jpg", quality=90)
        with Image.open(tmp_path / "jpg" / f"{stem}.jpg") as im:  # Pillow's decoding, independent of ours
            np.save(tmp_path / "npy" / f"{stem}.npy", np.asarray(im, np.float64) / 255.0)
    opts = EvaluateOptions(metrics=("auc_judd", "nss", "cc", "kl", "sim"), conventions=("mit",))
    a = evaluate(ds, tmp_path / "jpg", tmp_path / "out_jpg", opts, workers=1, progress=False)
    b = evaluate(ds, tmp_path / "npy", tmp_path / "out_npy", EvaluateOptions(**{**opts.__dict__, "maps_kind": "saliency"}),
                 workers=1, progress=False)
    assert a.ok and len(a.per_image) == 3 * 2 * 5
    np.testing.assert_array_equal(a.per_image["value"].to_numpy(), b.per_image["value"].to_numpy())

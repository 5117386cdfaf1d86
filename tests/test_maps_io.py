import numpy as np
import pytest
from PIL import Image

from asdgaze.maps.io import MapError, find_maps, load_map, save_npy


def test_find_maps_prefers_npy_and_lists_missing(tmp_path):
    save_npy(tmp_path / "1.npy", np.zeros((2, 2)))
    Image.fromarray(np.zeros((2, 2), np.uint8)).save(tmp_path / "1.png")
    Image.fromarray(np.zeros((2, 2), np.uint8)).save(tmp_path / "2.png")
    found, missing = find_maps(tmp_path, ["1", "2", "3", "4"])
    assert found["1"].path.name == "1.npy"
    assert found["2"].path.name == "2.png"
    assert missing == ["3", "4"]


def test_log_density_is_exponentiated_in_float64_and_scaled_to_max_one(tmp_path):
    p = np.array([[0.1, 0.2], [0.3, 0.4]])
    save_npy(tmp_path / "a.npy", np.log(p))
    out = load_map(tmp_path / "a.npy", "log-density")
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, [[0.25, 0.5], [0.75, 1.0]], rtol=1e-15)


def test_unnormalised_log_density_warns(tmp_path):
    save_npy(tmp_path / "a.npy", np.zeros((2, 2)))
    with pytest.warns(UserWarning, match="logsumexp"):
        load_map(tmp_path / "a.npy", "log-density")


def test_npy_needs_a_kind(tmp_path):
    save_npy(tmp_path / "a.npy", np.zeros((2, 2)))
    with pytest.raises(MapError, match="maps-kind"):
        load_map(tmp_path / "a.npy", None)


def test_png_8_and_16_bit(tmp_path):
    Image.fromarray(np.array([[0, 51], [255, 102]], np.uint8)).save(tmp_path / "a.png")
    np.testing.assert_array_equal(load_map(tmp_path / "a.png", None), [[0, 0.2], [1, 0.4]])
    Image.fromarray(np.array([[0, 65535]], np.uint16)).save(tmp_path / "b.png")
    np.testing.assert_array_equal(load_map(tmp_path / "b.png", None), [[0, 1]])


def test_corrupt_files_name_the_file(tmp_path):
    (tmp_path / "bad.npy").write_bytes(b"not an array")
    with pytest.raises(MapError, match="bad.npy"):
        load_map(tmp_path / "bad.npy", "saliency")
    (tmp_path / "bad.png").write_bytes(b"not a png")
    with pytest.raises(MapError, match="bad.png"):
        load_map(tmp_path / "bad.png", None)
    save_npy(tmp_path / "nan.npy", np.array([[np.nan, 1.0]]))
    with pytest.raises(MapError, match="nan.npy"):
        load_map(tmp_path / "nan.npy", "saliency")
    save_npy(tmp_path / "3d.npy", np.zeros((2, 2, 2)))
    with pytest.raises(MapError, match="2-D"):
        load_map(tmp_path / "3d.npy", "saliency")


def test_a_raw_density_given_as_saliency_warns_about_the_jitter(tmp_path):
    save_npy(tmp_path / "a.npy", np.full((100, 100), 1e-4))
    with pytest.warns(UserWarning, match="jitter"):
        load_map(tmp_path / "a.npy", "saliency")


def test_palette_and_grey_alpha_pngs_read_their_grey_values(tmp_path):
    grey = np.array([[0, 85], [170, 255]], np.uint8)
    p = Image.fromarray(grey).convert("P")  # palette indices differ from the grey values
    p.save(tmp_path / "p.png")
    np.testing.assert_allclose(load_map(tmp_path / "p.png", None), grey / 255.0)
    Image.fromarray(grey).convert("LA").save(tmp_path / "la.png")
    np.testing.assert_allclose(load_map(tmp_path / "la.png", None), grey / 255.0)
    rgb = np.zeros((2, 2, 3), np.uint8)
    rgb[0, 0] = (255, 0, 0)
    Image.fromarray(rgb).save(tmp_path / "colour.png")
    with pytest.raises(MapError, match="colour.png"):
        load_map(tmp_path / "colour.png", None)


def test_suffixes_match_case_insensitively(tmp_path):
    Image.fromarray(np.zeros((2, 2), np.uint8)).save(tmp_path / "7.PNG", format="PNG")
    found, missing = find_maps(tmp_path, ["7"])
    assert found["7"].path.name == "7.PNG" and missing == []


def test_log_density_without_a_finite_value_is_refused(tmp_path):
    save_npy(tmp_path / "a.npy", np.full((2, 2), -np.inf))
    with pytest.raises(MapError, match="a.npy.*no finite"):
        load_map(tmp_path / "a.npy", "log-density")


def test_a_log_density_read_as_saliency_is_refused_with_the_remedy(tmp_path):
    from asdgaze.maps.io import MapKindError

    p = np.array([[0.1, 0.2], [0.3, 0.4]])
    save_npy(tmp_path / "a.npy", np.log(p))
    with pytest.raises(MapKindError, match=r"a\.npy: looks like a log-density.*--maps-kind log-density"):
        load_map(tmp_path / "a.npy", "saliency")
    save_npy(tmp_path / "b.npy", np.log(p) + 1.0)  # negative values alone are a valid saliency map
    np.testing.assert_array_equal(load_map(tmp_path / "b.npy", "saliency"), np.log(p) + 1.0)


def test_the_scale_warning_has_its_own_category(tmp_path):
    from asdgaze.maps.io import MapScaleWarning

    save_npy(tmp_path / "a.npy", np.zeros((2, 2)))
    with pytest.warns(MapScaleWarning, match="does not sum to 1"):
        load_map(tmp_path / "a.npy", "log-density")


@pytest.mark.parametrize("arr", [np.zeros((0, 3)), np.ones((2, 2)) * (1 + 1j), np.array([[True, False]]),
                                 np.zeros((2, 2, 2))])
def test_every_unusable_array_is_a_map_error_naming_the_file(tmp_path, arr):
    np.save(tmp_path / "a.npy", arr)
    with pytest.raises(MapError, match=r"a\.npy: "):
        load_map(tmp_path / "a.npy", "saliency")


def test_load_prediction_types(tmp_path):
    from scipy.special import logsumexp

    from asdgaze.maps.io import load_map, load_prediction, save_npy
    from asdgaze.predictions import LogDensity, SaliencyMap

    a = np.log(np.array([[0.1, 0.2], [0.3, 0.4]]))
    save_npy(tmp_path / "l.npy", a + 2.0)  # any additive constant: renormalised
    ld = load_prediction(tmp_path / "l.npy", "log-density")
    assert isinstance(ld, LogDensity) and abs(logsumexp(ld.values)) < 1e-12
    np.testing.assert_allclose(ld.density(), [[0.1, 0.2], [0.3, 0.4]], rtol=1e-12)
    np.testing.assert_allclose(ld.as_saliency().values, [[0.25, 0.5], [0.75, 1.0]], rtol=1e-12)
    save_npy(tmp_path / "s.npy", np.array([[0.0, 3.0], [1.0, 2.0]]))
    sm = load_prediction(tmp_path / "s.npy", "saliency")
    assert isinstance(sm, SaliencyMap) and np.array_equal(sm.values, load_map(tmp_path / "s.npy", "saliency"))


def test_a_pickled_npy_map_is_named_as_not_a_plain_array(tmp_path):
    import numpy as np
    import pytest

    from asdgaze.errors import MapError
    from asdgaze.maps.io import load_map

    path = tmp_path / "1.npy"
    np.save(path, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    with pytest.raises(MapError) as info:
        load_map(path, "saliency")
    msg = str(info.value)
    assert msg.startswith(f"{path}: not a plain numeric .npy array (")
    assert "allow_pickle" not in msg and "Object arrays" not in msg

"""Batching, odd and tiny sizes, input validation, centre bias, and the fused building blocks."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from asdgaze.data.images import ImageError, load_image, to_rgb
from asdgaze.models.base import SaliencyModel
from asdgaze.models.centerbias import CenterBias, rescale_log_density, resolve_centerbias
from asdgaze.models.deepgaze import DeepGazeSaliency
from asdgaze.models.deepgaze.fused import FusedHeads, half_res_counts, nearest_index
from asdgaze.models.deepgaze.model import MIN_SIZE


def _lse(a: np.ndarray) -> float:
    a = a.astype(np.float64)
    return float(a.max() + np.log(np.exp(a - a.max()).sum()))


def test_mixed_size_batch_equals_one_at_a_time(model_seed0, osie_image, osie_image2):
    images = [osie_image[:192, :256], osie_image2[100:291, 300:555], osie_image[200:392, 100:356],
              osie_image2[:97, :131]]
    together = model_seed0.predict(images, batch_size=8)
    for img, out in zip(images, together):
        alone = model_seed0.predict(img)
        assert out.shape == img.shape[:2] and out.dtype == np.float32
        assert np.abs(out - alone).max() <= 1e-5
        assert abs(_lse(out)) <= 1e-5


def test_images_differ_and_scale_matters(model_seed0, osie_image, osie_image2):
    """Different images give different maps (a 0..1-style input would make them nearly equal)."""
    a = model_seed0.predict(osie_image[:192, :256])
    b = model_seed0.predict(osie_image2[:192, :256])
    assert np.abs(a - b).max() > 0.1


def test_tiny_images(model_seed0, osie_image):
    out = model_seed0.predict(osie_image[:MIN_SIZE, :MIN_SIZE])
    assert out.shape == (64, 64) and np.isfinite(out).all() and abs(_lse(out)) <= 1e-5
    for shape in [(48, 64), (64, 48), (10, 10)]:
        with pytest.raises(ImageError, match=rf"{shape[0]}x{shape[1]} px is too small.*at least 64 px"):
            model_seed0.predict(osie_image[: shape[0], : shape[1]])


def test_tensor_validation(model_seed0):
    good = torch.full((1, 3, 64, 64), 128.0)
    cb = torch.zeros(1, 64, 64)
    with pytest.raises(ImageError, match="values lie in 0..1, not 0..255.*ToTensor"):
        model_seed0(good / 255.0, cb)
    with pytest.raises(ImageError, match="must lie in 0..255 but range from 0 to 300"):
        model_seed0(torch.cat([good * 0, good + 172], 3), torch.zeros(1, 64, 128))
    nan = good.clone()
    nan[0, 0, 0, 0] = float("nan")
    with pytest.raises(ImageError, match="NaN"):
        model_seed0(nan, cb)
    with pytest.raises(ImageError, match=r"expected shape \(B, 3, H, W\)"):
        model_seed0(good[:, :1], cb)
    with pytest.raises(ValueError, match="centerbias must have shape"):
        model_seed0(good, torch.zeros(1, 64, 65))


def test_array_validation():
    assert to_rgb(np.zeros((5, 6), np.uint8)).shape == (5, 6, 3)
    rgba = np.zeros((5, 6, 4), np.uint8)
    rgba[..., 3] = 7
    assert np.all(to_rgb(rgba) == 0)
    assert to_rgb(np.array([[[65535, 0, 257]]], np.uint16)).tolist() == [[[255, 0, 1]]]
    with pytest.raises(ImageError, match="0..1"):
        to_rgb(np.random.default_rng(0).random((4, 4, 3)))
    with pytest.raises(ImageError, match="channels first"):
        to_rgb(np.zeros((3, 8, 8), np.uint8))
    with pytest.raises(ImageError, match="integer values must lie in 0..255"):
        to_rgb(np.full((2, 2, 3), 256, np.int32))
    # a 0/1 binary image in 0..255 units (all whole numbers) is allowed
    assert to_rgb(np.ones((2, 2, 3))).dtype == np.float32


def test_load_image_conversions(tmp_path):
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4)
    Image.fromarray(gray).save(tmp_path / "g.png")
    img = load_image(tmp_path / "g.png")
    assert img.shape == (3, 4, 3) and np.all(img == gray[:, :, None])
    rgba = np.zeros((3, 4, 4), np.uint8)
    rgba[..., 0] = 200
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    assert load_image(tmp_path / "a.png")[0, 0].tolist() == [200, 0, 0]
    Image.fromarray(np.array([[0, 257, 65535]], np.uint16)).save(tmp_path / "d.png")
    assert load_image(tmp_path / "d.png")[0, :, 0].tolist() == [0, 1, 255]
    # EXIF orientation 6: the stored 2x3 image is shown rotated 90 degrees clockwise (3 rows, 2 cols)
    stored = np.zeros((2, 3, 3), np.uint8)
    stored[0, 0] = 255  # top-left stored pixel -> top-right after rotating clockwise
    im = Image.fromarray(stored)
    exif = im.getexif()
    exif[0x0112] = 6
    im.save(tmp_path / "r.png", exif=exif)
    shown = load_image(tmp_path / "r.png")
    assert shown.shape == (3, 2, 3) and shown[0, 1, 0] == 255 and shown[0, 0, 0] == 0
    (tmp_path / "bad.png").write_bytes(b"nope")
    with pytest.raises(ImageError, match="bad.png: not a readable image file"):
        load_image(tmp_path / "bad.png")
    with pytest.raises(ImageError, match="missing.png: file not found"):
        load_image(tmp_path / "missing.png")


def test_nearest_index_is_the_legacy_rule():
    """PyTorch's legacy nearest: src = floor(dst * n_in / n_out) (spec.md §3.4)."""
    for n_in, n_out in [(3, 7), (6, 95), (95, 191), (12, 384), (5, 6), (24, 2)]:
        expected = [min(math.floor(d * n_in / n_out), n_in - 1) for d in range(n_out)]
        assert nearest_index(n_in, n_out).tolist() == expected


def test_half_res_counts():
    """Each half-res row/col is copied floor-rule many times; the counts add up to H and W."""
    for h, w in [(191, 255), (192, 256), (65, 64)]:
        rows, cols = half_res_counts(h, w)
        assert rows.shape == (h // 2,) and cols.shape == (w // 2,)
        assert int(rows.sum()) == h and int(cols.sum()) == w
        expected = np.bincount([min(math.floor(d * (h // 2) / h), h // 2 - 1) for d in range(h)])
        assert rows.tolist() == expected.tolist()


@pytest.mark.parametrize("cb_scale,cb_sign", [(1.0, 1.0), (300.0, 1.0), (1.0, -1.0)],
                         ids=["one-exp-path", "underflow-fallback", "negative-cb-weights"])
def test_fused_finalizer_equals_per_component_finalizer(model_seed0, cb_scale, cb_sign):
    """Blur matrices + half-res normalisation equal the literal Finalizer (resize, pad, blur, upsample).

    A centre bias spanning hundreds of nats makes exp() underflow in float32, which must switch
    to the logsumexp form without changing the result; negative centre-bias weights take the
    exact-maximum shift.
    """
    import copy

    bb = model_seed0.models[2]
    finalizers = copy.deepcopy(bb.finalizers)
    for fin in finalizers:
        fin.center_bias_weight.data.mul_(cb_sign)
    heads = FusedHeads.from_modules(bb.saliency_networks, bb.fixation_selection_networks, finalizers)
    gen = torch.Generator().manual_seed(0)
    readout = torch.rand(1, 30, 4, 5, generator=gen) * 3
    cb = torch.randn(1, 101, 131, generator=gen) * cb_scale
    half = heads.log_density_half(readout, cb[:, ::2, ::2][:, :50, :65], *half_res_counts(101, 131))
    full = F.interpolate(half[:, None], size=(101, 131), mode="nearest")[:, 0]
    per = torch.stack([fin(readout[:, k:k + 1], cb) for k, fin in enumerate(finalizers)])
    literal = torch.logsumexp(per, 0) - math.log(30)
    assert torch.isfinite(full).all()
    assert (full - literal).abs().max().item() <= 1e-5 * max(1.0, cb_scale / 10)


def test_centerbias_rescaling():
    t = np.log(np.array([[1.0, 2.0], [3.0, 4.0]]))
    cb = rescale_log_density(t, 4, 4)  # exact 2x nearest upsampling: each value repeated 2x2
    expected = np.log(np.repeat(np.repeat(np.array([[1, 2], [3, 4]]) / 40.0, 2, 0), 2, 1))
    np.testing.assert_allclose(cb, expected, atol=1e-12)
    u = resolve_centerbias("uniform").log_density(3, 5)
    np.testing.assert_allclose(u, -np.log(15.0))


def test_centerbias_file_and_missing_template(tmp_path, monkeypatch):
    np.save(tmp_path / "cb.npy", np.full((8, 8), -np.log(64.0)))  # uniform log density over 8x8
    c = resolve_centerbias(tmp_path / "cb.npy")
    assert c.kind == "file" and c.describe()["sha256"]
    monkeypatch.setenv("ASDGAZE_HOME", str(tmp_path / "home"))
    from asdgaze.errors import OptionsError, WeightsError

    with pytest.raises(WeightsError, match=r"centerbias_mit1003.npy.*asdgaze weights download"):
        resolve_centerbias("mit1003")
    with pytest.raises(OptionsError, match="is none of uniform, gaussian, mit1003 and not a .npy file"):
        resolve_centerbias("centre")


def test_saliency_model_wrapper(model_seed0, osie_image):
    wrapper = DeepGazeSaliency(model_seed0, centerbias=CenterBias("uniform"))
    assert isinstance(wrapper, SaliencyModel) and wrapper.name == "DeepGazeIIE"
    img = osie_image[:96, :128]
    ld = wrapper.log_density(img)
    assert ld.dtype == np.float64 and ld.shape == (96, 128) and abs(_lse(ld)) <= 1e-5
    np.testing.assert_array_equal(ld, model_seed0.predict(img, centerbias=CenterBias("uniform")).astype(np.float64))
    # a constant centre bias is the same prior as zeros (only rounding differs)
    assert np.abs(ld - model_seed0.predict(img)).max() <= 1e-5

"""Map files that lie about their size: the header is checked against the image and the pixel limit
(ASDGAZE_MAX_PIXELS, default 89,478,485) before any value is read or hashed, so such a file fails its own
image, the others are scored, and memory stays far below the size the file declares."""

from __future__ import annotations

import hashlib
import json
import re
import tracemalloc
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
from scipy.special import logsumexp

from asdgaze.data.types import Dataset
from asdgaze.evaluate import EvaluateOptions, evaluate
from asdgaze.maps.io import save_npy

from _tiny import tiny_dataset  # noqa: E402 (tests/ helper)

H, W = 30, 40  # every image: 40x30 (width x height)
LIMIT = "89,478,485"
MEMORY_BOUND = 64 * 2**20  # bytes: far below every declared size here (648 MB to 74.5 GiB)


def _dataset(root: Path, n: int = 4) -> Dataset:
    return tiny_dataset(root, n, h=H, w=W)


def _npy_header_only(path: Path, shape: tuple[int, ...], dtype: str = "<f8") -> Path:
    """A sparse .npy file: a true header for ``shape`` and a hole of the declared length (no data on disk)."""
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": dtype, "fortran_order": False, "shape": shape})
        f.truncate(f.tell() + int(np.prod(shape, dtype=object)) * np.dtype(dtype).itemsize)
    return path


def _traced(fn):
    """fn()'s result and the peak of memory traced meanwhile (numpy's and h5py's arrays included)."""
    tracemalloc.start()
    try:
        return fn(), tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _maps_rows(out: Path) -> pd.DataFrame:
    pi = pd.read_csv(out / "per_image.csv", dtype={"image": str})
    return pi[pi.model == "maps"]


def test_npy_declaring_a_huge_array_fails_its_image_unread_and_the_rest_is_scored(tmp_path):
    ds = _dataset(tmp_path)
    maps = tmp_path / "maps"
    maps.mkdir()
    rng = np.random.default_rng(1)
    for stem in "234":
        save_npy(maps / f"{stem}.npy", rng.random((H, W)))
    # 1.npy (the first map: --maps-kind saliency reads it before scoring) says 60000 rows x 80000 columns
    # of float64: 38.4 GB, the aspect ratio of its 40x30 image, so only its size is wrong
    big = _npy_header_only(maps / "1.npy", (60000, 80000))
    # 3.npy: 9000x9000 float64 (81,000,000 pixels, under the limit; 648 MB): another aspect ratio
    square = _npy_header_only(maps / "3.npy", (9000, 9000))
    opts = EvaluateOptions(maps_kind="saliency", metrics=("nss", "cc"), conventions=("mit",))
    res, peak = _traced(lambda: evaluate(ds, maps, tmp_path / "out", opts, workers=1, progress=False))
    errors = {(f.image, f.group): f.error for f in res.failures}
    assert set(errors) == {(s, g) for s in "13" for g in ("ASD", "TD")}
    # 80000 x 60000 = 4,800,000,000 pixels
    assert errors["1", "ASD"].startswith(f"{big}: map is 80000x60000 (width x height) = 4,800,000,000 pixels, "
                                         f"over the limit of {LIMIT} pixels")
    # (9000 / 9000) / (40 / 30) = 0.75: 25.0 % off
    assert errors["3", "TD"].startswith(f"{square}: map is 9000x9000, image 3 is 40x30 (width x height): the "
                                        "aspect ratio differs by 25.0 %")
    assert set(_maps_rows(tmp_path / "out").image) == {"2", "4"}
    assert peak < MEMORY_BOUND
    # hashed: the good maps only (their file's sha256), never the lying ones
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["maps"]["sha256"] == {s: hashlib.sha256((maps / f"{s}.npy").read_bytes()).hexdigest()
                                          for s in "24"}


def test_hdf5_datasets_declared_huge_fail_their_image_unread_and_the_rest_is_scored(tmp_path, monkeypatch, capsys):
    from asdgaze import cli

    ds = _dataset(tmp_path)
    rng = np.random.default_rng(2)
    path = tmp_path / "m.hdf5"
    with h5py.File(path, "w") as f:
        for stem in "14":
            lp = rng.standard_normal((H, W))
            f.create_dataset(f"{stem}.png", data=lp - logsumexp(lp))
        # chunked, one chunk written: 100000x100000 float64 (74.5 GiB) in a small file
        f.create_dataset("2.png", shape=(100000, 100000), chunks=(1000, 1000), dtype="f8")[:1000, :1000] = -20.0
        # gzip, 20000x20000 float64 (3.2 GB), one chunk written
        f.create_dataset("3.png", shape=(20000, 20000), chunks=(1000, 1000), dtype="f8",
                         compression="gzip")[:1000, :1000] = -20.0
    assert path.stat().st_size < 20 * 2**20
    monkeypatch.setattr("asdgaze.cli.evaluate.load_dataset_for", lambda *a: (ds, {}))
    argv = ["evaluate", "--dataset", str(tmp_path), "--maps", str(path), "--baselines", "uniform",
            "--metrics", "nss,ll,sauc", "--out", str(tmp_path / "o"), "--workers", "1",
            "--no-progress"]
    rc, peak = _traced(lambda: cli.main(argv))
    err = capsys.readouterr().err
    assert rc == 1 and "Traceback" not in err
    assert (f"{path}:2.png: map is 100000x100000 (width x height) = 10,000,000,000 pixels, over the limit of "
            f"{LIMIT} pixels") in err
    assert (f"{path}:3.png: map is 20000x20000 (width x height) = 400,000,000 pixels, over the limit of "
            f"{LIMIT} pixels") in err
    m = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert {(f["image"], f["group"]) for f in m["failures"]} == {(s, g) for s in "23" for g in ("ASD", "TD")}
    rows = _maps_rows(tmp_path / "o")
    assert set(rows.image) == {"1", "4"} and set(rows.convention) == {"mit", "probabilistic"}
    assert peak < MEMORY_BOUND


def test_an_hdf5_dataset_of_another_aspect_ratio_fails_from_its_header(tmp_path):
    ds = _dataset(tmp_path, n=2)
    rng = np.random.default_rng(3)
    path = tmp_path / "m.hdf5"
    with h5py.File(path, "w") as f:
        lp = rng.standard_normal((H, W))
        f.create_dataset("1.png", data=lp - logsumexp(lp))
        # 9000x9000 float64: 648 MB if read, under the pixel limit, 25 % off the image's aspect ratio
        f.create_dataset("2.png", shape=(9000, 9000), chunks=(1000, 1000), dtype="f8", compression="gzip")
    res, peak = _traced(lambda: evaluate(ds, path, tmp_path / "o", EvaluateOptions(metrics=("nss",),
                                                                                   prob_metrics=("ll",)),
                                         workers=1, progress=False))
    assert [(f.image, f.group) for f in res.failures] == [("2", "ASD"), ("2", "TD")]
    assert res.failures[0].error.startswith(f"{path}:2.png: map is 9000x9000, image 2 is 40x30 (width x height): "
                                            "the aspect ratio differs by 25.0 %")
    assert set(res.per_image.image) == {"1"}
    assert peak < MEMORY_BOUND


def test_a_truncated_npy_is_named_truncated(tmp_path):
    from asdgaze.errors import MapError
    from asdgaze.maps.io import load_map

    path = tmp_path / "1.npy"
    np.save(path, np.zeros((H, W)))
    data = path.read_bytes()
    path.write_bytes(data[:-8])  # one float64 short: 9592 of the 9600 bytes that 30x40x8 needs
    with pytest.raises(MapError, match=r"1\.npy: truncated: its header declares 9,600 bytes of float64 values "
                                       r"\(shape \(30, 40\)\) but the file holds 9,592"):
        load_map(path, "saliency")


def test_an_npz_archive_named_npy_is_named_as_such(tmp_path):
    from asdgaze.errors import MapError
    from asdgaze.maps.io import load_map

    np.savez(tmp_path / "1.npz", a=np.zeros((H, W)))
    (tmp_path / "1.npz").rename(tmp_path / "1.npy")
    with pytest.raises(MapError, match=r"1\.npy: a zip archive \(an \.npz file\?\), not a \.npy array"):
        load_map(tmp_path / "1.npy", "saliency")


def test_the_pixel_limit_of_maps_follows_asdgaze_max_pixels(tmp_path, monkeypatch):
    from asdgaze.errors import MapError
    from asdgaze.maps.io import load_map

    arr = np.random.default_rng(4).random((H, W))
    save_npy(tmp_path / "1.npy", arr)
    monkeypatch.setenv("ASDGAZE_MAX_PIXELS", "1199")  # 40 x 30 = 1200 pixels
    with pytest.raises(MapError, match=r"1\.npy: map is 40x30 \(width x height\) = 1,200 pixels, over the limit "
                                       r"of 1,199 pixels.*ASDGAZE_MAX_PIXELS=N"):
        load_map(tmp_path / "1.npy", "saliency")
    monkeypatch.setenv("ASDGAZE_MAX_PIXELS", "1200")
    assert np.array_equal(load_map(tmp_path / "1.npy", "saliency"), arr)


def _png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG whose header declares width x height 8-bit grey pixels, followed by one empty IDAT and IEND."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b""))
                     + chunk(b"IEND", b""))
    return path


def test_a_png_declaring_too_many_pixels_is_refused_from_its_header(tmp_path):
    from asdgaze.errors import MapError
    from asdgaze.maps.io import load_map

    # 12000 x 9000 = 108,000,000 pixels: over the limit, under twice it (where Pillow itself would decode it)
    path = _png_header_only(tmp_path / "1.png", 12000, 9000)
    with pytest.raises(MapError, match=r"1\.png: map is 12000x9000 \(width x height\) = 108,000,000 pixels, over "
                                       r"the limit of 89,478,485 pixels"):
        load_map(path, None)


def test_a_jpeg_named_png_is_read_with_a_note(tmp_path):
    from PIL import Image

    from asdgaze.maps.io import load_map

    grey = (np.random.default_rng(6).random((H, W)) * 255).astype(np.uint8)
    Image.fromarray(grey).save(tmp_path / "1.png", format="JPEG")
    with pytest.warns(UserWarning, match=r"1\.png: a JPEG file, not a PNG: read as a grayscale map, but JPEG "
                                         r"compression has altered its values"):
        arr = load_map(tmp_path / "1.png", None)
    with Image.open(tmp_path / "1.png") as im:  # Pillow's decoding, / 255
        np.testing.assert_array_equal(arr, np.asarray(im, dtype=np.float64) / 255.0)


def test_map_and_image_sizes_are_written_width_x_height(tmp_path):
    ds = _dataset(tmp_path, n=2)
    maps = tmp_path / "maps"
    maps.mkdir()
    rng = np.random.default_rng(7)
    save_npy(maps / "1.npy", 1.0 + rng.random((H // 2, W // 2)))  # 20x15: resized, with a note
    save_npy(maps / "2.npy", rng.random((W, H)))  # transposed: 30x40
    with pytest.warns(UserWarning, match="resized"):
        res = evaluate(ds, maps, tmp_path / "out", EvaluateOptions(maps_kind="saliency", metrics=("nss",),
                                                                   conventions=("mit",)),
                       workers=1, progress=False)
    assert res.failures[0].error.startswith(f"{maps / '2.npy'}: map is 30x40, image 2 is 40x30 (width x height)")
    assert any(f"{maps / '1.npy'}: map is 20x15, image 1 is 40x30 (width x height)" in n for n in res.notes)


def test_a_baseline_template_declaring_too_many_values_is_refused_unread(tmp_path, monkeypatch):
    from asdgaze.errors import WeightsError
    from asdgaze.evaluate import EvaluateError
    from asdgaze.models.centerbias import load_template

    ds = _dataset(tmp_path, n=2)
    maps = tmp_path / "maps"
    maps.mkdir()
    for stem in ds.stimuli:
        save_npy(maps / f"{stem}.npy", np.random.default_rng(8).random((H, W)))
    monkeypatch.setenv("ASDGAZE_MAX_PIXELS", "10000")
    # 2000 x 2000 = 4,000,000 float64 values (32 MB) declared, over the limit of 10,000
    template = _npy_header_only(tmp_path / "cb.npy", (2000, 2000))
    expected = f"{template}: map is 2000x2000 (width x height) = 4,000,000 pixels, over the limit of 10,000 pixels"
    with pytest.raises(EvaluateError, match="^" + re.escape(f"--ig-baseline: {expected}")):
        _traced(lambda: evaluate(ds, maps, tmp_path / "o", EvaluateOptions(maps_kind="saliency",
                                                                           ig_baseline=str(template)),
                                 workers=1, progress=False))
    info, peak = _traced(lambda: pytest.raises(WeightsError, load_template, template, mit1003=True))
    assert str(info.value) == expected + (" (a guard against running out of memory; nothing of it was read); to "
                                          "accept it set the environment variable ASDGAZE_MAX_PIXELS=N")
    assert peak < 4 * 2**20  # far below the 32 MB a whole read would take

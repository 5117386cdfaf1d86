"""Issue 6 (no silent data loss): loader behaviour on damaged, odd and hostile inputs.

Expected values are hand computations from the file contents written here (PIL is only used to
write files), never copied from the loader's own output.
"""

from __future__ import annotations

import struct
import sys
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
from _helpers import save_png, write_scanpath  # noqa: E402

from asdgaze.data import DataError, DataWarning, load_dataset, load_saliency4asd, load_table_dataset  # noqa: E402
from asdgaze.data._checks import image_size, probe_image  # noqa: E402
from asdgaze.data.images import ImageError, load_image  # noqa: E402
from asdgaze.errors import OptionsError  # noqa: E402

W, H = 5, 4


def _two_groups(root: Path, n_images: int = 2) -> Path:
    """Images 1..n (5x4), ASD and TD scanpaths for each: viewer 0 at (i, 1) and (1, 2) (1-based)."""
    for i in range(1, n_images + 1):
        save_png(root / "Images" / f"{i}.png", W, H)
        for g in ("ASD", "TD"):
            write_scanpath(root / g / f"{g}_scanpath_{i}.txt", [(0, i, 1, 100), (1, 1, 2, 200)])
    return root


# --- 1. a group folder that is missing -----------------------------------------------------------


def test_missing_group_folder_with_its_fixmaps_present(tmp_path):
    _two_groups(tmp_path)
    for p in (tmp_path / "ASD").iterdir():
        p.unlink()
    (tmp_path / "ASD").rmdir()
    (tmp_path / "ASD_FixMaps").mkdir()
    Image.new("L", (W, H)).save(tmp_path / "ASD_FixMaps" / "1_s.png")
    with pytest.raises(DataError) as info:
        load_saliency4asd(tmp_path)
    msg = str(info.value)
    assert msg.startswith(f"{tmp_path / 'ASD'}: missing ASD scanpath files")
    assert str(tmp_path / "ASD_FixMaps") in msg and "--groups TD" in msg and "groups=['TD']" in msg
    # Asking for the complete group only is fine.
    ds = load_saliency4asd(tmp_path, groups=["TD"])
    assert ds.groups == ["TD"] and len(ds.fixations["TD"]) == 2


def test_empty_group_folder(tmp_path):
    _two_groups(tmp_path)
    for p in (tmp_path / "ASD").iterdir():
        p.unlink()
    with pytest.raises(DataError, match=r"ASD: missing ASD scanpath files .*ASD exists"):
        load_dataset(tmp_path)


def test_missing_group_in_the_release_layout(tmp_path, osie_dir):
    import shutil

    root = tmp_path / "TrainingDataset"
    shutil.copytree(osie_dir / "TrainingDataset", root, ignore=shutil.ignore_patterns("ASD"))
    with pytest.raises(DataError, match=r"TrainingData/ASD: missing ASD scanpath files"):
        load_saliency4asd(root)


def test_absent_groups_requested_lists_the_present_ones(tmp_path):
    _two_groups(tmp_path)
    with pytest.raises(DataError, match=r"group\(s\) XYZ, ABC; groups with scanpath files: ASD, TD"):
        load_saliency4asd(tmp_path, groups=["XYZ", "ABC"])


# --- 2. missing / empty / malformed scanpath files ----------------------------------------------


@pytest.mark.parametrize(
    "damage, expect",
    [
        ("delete", "missing (no ASD fixations for image 2.png)"),
        ("", "empty scanpath file"),
        ("   \r\n\r\n", "empty scanpath file"),
        ("Idx, x, y, duration\n0, 1, x, 100\n", "line 2: not a number"),
        ("Idx, x, y, duration\n0, 1, 1, 100\n1, 2, 1\n", "line 3: expected 4 values"),
        ("Idx, x, y, duration\n0, 1, NaN, 100\n", "line 2: non-finite value"),
        ("Idx, x, y, duration\n0, inf, 1, 100\n", "line 2: non-finite value"),
        ("Idx, x, duration\n0, 1, 100\n", "header is 'Idx, x, duration'"),
        (b"\xff\xfe\x00garbage", "cannot read scanpath file"),
    ],
)
def test_bad_scanpath_is_a_problem_of_its_pair_only(tmp_path, damage, expect):
    _two_groups(tmp_path)
    f = tmp_path / "ASD" / "ASD_scanpath_2.txt"
    if damage == "delete":
        f.unlink()
    elif isinstance(damage, bytes):
        f.write_bytes(damage)
    else:
        f.write_bytes(damage.encode())
    ds = load_saliency4asd(tmp_path)
    assert ds.problems == {"ASD": {"2": ds.problems["ASD"]["2"]}}
    assert ds.problems["ASD"]["2"].startswith(f"{f}: ")
    assert expect in ds.problems["ASD"]["2"]
    assert "2" not in ds.fixations["ASD"]
    # Every other pair is intact: (i, 1) and (1, 2) 1-based -> (i-1, 0) and (0, 1) 0-based.
    assert ds.fixations["ASD"]["1"].x.tolist() == [0.0, 0.0]
    assert ds.fixations["TD"]["2"].x.tolist() == [1.0, 0.0]
    assert ds.fixations["TD"]["2"].y.tolist() == [0.0, 1.0]


def _scanpath_text(rows, newline="\n", bom=False) -> bytes:
    text = newline.join(["Idx, x, y, duration"] + [", ".join(map(str, r)) for r in rows]) + newline
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode()


ROWS = [(0, 3, 2, 120), (1, 5, 4, 80), (0, 1, 1, 300), (1, 2, 3, 90)]


@pytest.mark.parametrize("newline, bom", [("\r\n", False), ("\n", True), ("\r\n", True), ("\r", False)])
def test_crlf_bom_load_like_lf(tmp_path, newline, bom):
    save_png(tmp_path / "Images" / "1.png", W, H)
    (tmp_path / "ASD").mkdir()
    (tmp_path / "ASD" / "ASD_scanpath_1.txt").write_bytes(_scanpath_text(ROWS, newline, bom))
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        fx = load_saliency4asd(tmp_path).fixations["ASD"]["1"]
    assert fx.x.tolist() == [2.0, 4.0, 0.0, 1.0]
    assert fx.y.tolist() == [1.0, 3.0, 0.0, 2.0]
    assert fx.duration.tolist() == [120.0, 80.0, 300.0, 90.0]
    assert fx.viewer.tolist() == [0, 0, 1, 1]


def test_blank_lines_between_viewer_blocks(tmp_path):
    """An empty viewer block (blank lines) is skipped; the viewers still split where Idx restarts."""
    save_png(tmp_path / "Images" / "1.png", W, H)
    (tmp_path / "ASD").mkdir()
    text = "Idx, x, y, duration\r\n0, 3, 2, 120\r\n\r\n  \r\n0, 1, 1, 300\r\n\r\n"
    (tmp_path / "ASD" / "ASD_scanpath_1.txt").write_bytes(text.encode())
    fx = load_saliency4asd(tmp_path).fixations["ASD"]["1"]
    assert fx.x.tolist() == [2.0, 0.0] and fx.viewer.tolist() == [0, 1]


def test_negative_and_out_of_image_points_dropped_with_one_warning(tmp_path):
    rows = [(0, -1, 2, 10), (1, 2, -3, 10), (2, 0, 1, 10), (3, W + 1, 1, 10), (4, 1, H + 1, 10), (5, W, H, 10)]
    save_png(tmp_path / "Images" / "1.png", W, H)
    f = write_scanpath(tmp_path / "ASD" / "ASD_scanpath_1.txt", rows)
    with pytest.warns(DataWarning) as rec:
        ds = load_saliency4asd(tmp_path)
    assert [str(r.message) for r in rec] == [f"{f}: dropped 5 of 6 fixations outside the 5x4 (WxH) image"]
    assert ds.fixations["ASD"]["1"].x.tolist() == [W - 1.0] and not ds.problems


# --- 3. images -------------------------------------------------------------------------------------


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def test_zero_byte_and_headerless_images_are_problems_for_every_group(tmp_path):
    _two_groups(tmp_path, 3)
    (tmp_path / "Images" / "2.png").write_bytes(b"")
    ds = load_saliency4asd(tmp_path)
    assert list(ds.stimuli) == ["1", "3"]
    for g in ("ASD", "TD"):
        assert ds.problems[g] == {"2": f"{tmp_path / 'Images' / '2.png'}: empty file (0 bytes)"}
        assert list(ds.fixations[g]) == ["1", "3"]
    with pytest.raises(ImageError, match=r"2\.png: empty file \(0 bytes\)"):
        load_image(tmp_path / "Images" / "2.png")


def test_truncated_image_size_kept_with_note_and_load_image_refuses(tmp_path):
    rng = np.random.default_rng(0)
    big = tmp_path / "Images" / "1.png"
    big.parent.mkdir(parents=True)
    Image.fromarray(rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)).save(big)  # noise: a long IDAT
    _truncate(big)
    write_scanpath(tmp_path / "TD" / "TD_scanpath_1.txt", [(0, 80, 60, 10)])
    ds = load_saliency4asd(tmp_path)
    assert ds.stimuli["1"].shape == (60, 80)
    assert len(ds.notes) == 1 and ds.notes[0].startswith(f"{big}: damaged image data")
    assert ds.fixations["TD"]["1"].x.tolist() == [79.0]
    with pytest.raises(ImageError, match=r"1\.png: cannot decode image"):
        load_image(big)
    with pytest.raises(DataError, match=r"1\.png: damaged image data"):
        image_size(big)


def test_truncated_jpeg_loads_for_scoring(tmp_path):
    rng = np.random.default_rng(1)
    p = tmp_path / "Images" / "1.jpg"
    p.parent.mkdir(parents=True)
    Image.fromarray(rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)).save(p, quality=95)
    _truncate(p)
    write_scanpath(tmp_path / "TD" / "TD_scanpath_1.txt", [(0, 1, 1, 10)])
    ds = load_saliency4asd(tmp_path)
    assert ds.stimuli["1"].shape == (40, 50)
    with pytest.raises(ImageError, match=r"1\.jpg: cannot decode image"):
        load_image(p)


def _save(tmp_path: Path, name: str, im: Image.Image, **kw) -> Path:
    p = tmp_path / name
    im.save(p, **kw)
    return p


def test_load_image_modes_become_8bit_rgb(tmp_path):
    gray = np.array([[0, 7, 128], [200, 254, 255]], np.uint8)
    out = load_image(_save(tmp_path, "l.png", Image.fromarray(gray, "L")))
    assert out.dtype == np.uint8 and out.shape == (2, 3, 3)
    assert all((out[..., c] == gray).all() for c in range(3))

    la = Image.merge("LA", [Image.fromarray(gray), Image.fromarray(np.full_like(gray, 9))])
    out = load_image(_save(tmp_path, "la.png", la))
    assert all((out[..., c] == gray).all() for c in range(3))  # alpha dropped, not composited

    rgb = np.array([[[10, 20, 30], [40, 50, 60]]], np.uint8)
    rgba = np.concatenate([rgb, np.full((1, 2, 1), 0, np.uint8)], axis=2)
    out = load_image(_save(tmp_path, "rgba.png", Image.fromarray(rgba, "RGBA")))
    assert out.tolist() == rgb.tolist()  # fully transparent pixels keep their colour

    pal = Image.fromarray(np.array([[0, 1], [1, 2]], np.uint8), "P")
    pal.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255] + [0] * (253 * 3))
    out = load_image(_save(tmp_path, "p.png", pal))
    assert out.tolist() == [[[255, 0, 0], [0, 255, 0]], [[0, 255, 0], [0, 0, 255]]]

    # CMYK with K = 0: R = 255 - C, G = 255 - M, B = 255 - Y.
    cmyk = np.array([[[0, 55, 255, 0], [100, 0, 20, 0]]], np.uint8)
    out = load_image(_save(tmp_path, "cmyk.tif", Image.fromarray(cmyk, "CMYK")))
    assert out.tolist() == [[[255, 200, 0], [155, 255, 235]]]

    # 16-bit: round(v * 255 / 65535): 0 -> 0, 257 -> 1, 32768 -> 127.50 -> 128, 65535 -> 255.
    v16 = np.array([[0, 257], [32768, 65535]], np.uint16)
    out = load_image(_save(tmp_path, "g16.png", Image.fromarray(v16)))
    assert out[..., 0].tolist() == [[0, 1], [128, 255]] and (out[..., 0] == out[..., 2]).all()


def test_exif_rotated_photo_size_matches_load_image(tmp_path):
    im = Image.new("RGB", (8, 2), (200, 10, 10))  # stored 8 wide, 2 tall
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise when displayed: 2 wide, 8 tall
    p = tmp_path / "Images" / "1.jpg"
    p.parent.mkdir()
    im.save(p, exif=exif)
    write_scanpath(tmp_path / "TD" / "TD_scanpath_1.txt", [(0, 2, 8, 10)])  # bottom-right when displayed
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        ds = load_saliency4asd(tmp_path)
    assert ds.stimuli["1"].shape == (8, 2)
    assert load_image(p).shape == (8, 2, 3)


def _png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height (RGB, 8 bit) with a token IDAT: no pixels allocated."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b"")


@pytest.mark.parametrize("w, h", [(12000, 9000), (20000, 10000)])  # 1.2x and 2.2x Pillow's limit
def test_huge_image_is_refused_by_name_and_limit(tmp_path, w, h, monkeypatch):
    monkeypatch.delenv("ASDGAZE_MAX_PIXELS", raising=False)
    p = tmp_path / "huge.png"
    p.write_bytes(_png_header(w, h))
    pattern = r"huge\.png: image is .*over the limit of 89,478,485 pixels.*ASDGAZE_MAX_PIXELS=N.*max_pixels=N"
    with pytest.raises(DataError, match=pattern):
        image_size(p)
    with pytest.raises(ImageError, match=pattern):
        load_image(p)
    if w == 12000:
        with pytest.raises(DataError, match=r"12000x9000 = 108,000,000 pixels"):
            image_size(p)


def test_pixel_limit_from_env_and_argument(tmp_path, monkeypatch):
    p = tmp_path / "huge.png"
    p.write_bytes(_png_header(12000, 9000))
    monkeypatch.setenv("ASDGAZE_MAX_PIXELS", "200000000")
    assert probe_image(p)[:2] == (9000, 12000)  # header only: the token IDAT is 'damaged'
    small = save_png(tmp_path / "s.png", W, H)
    with pytest.raises(ImageError, match=r"s\.png: image is 5x4 = 20 pixels, over the limit of 19"):
        load_image(small, max_pixels=19)
    assert load_image(small, max_pixels=20).shape == (H, W, 3)
    monkeypatch.setenv("ASDGAZE_MAX_PIXELS", "lots")
    with pytest.raises(DataError, match="ASDGAZE_MAX_PIXELS='lots'"):
        image_size(small)


def test_huge_image_in_dataset_is_a_problem(tmp_path, monkeypatch):
    monkeypatch.delenv("ASDGAZE_MAX_PIXELS", raising=False)
    _two_groups(tmp_path)
    (tmp_path / "Images" / "2.png").write_bytes(_png_header(12000, 9000))
    ds = load_saliency4asd(tmp_path)
    assert list(ds.stimuli) == ["1"]
    assert "over the limit of 89,478,485 pixels" in ds.problems["TD"]["2"]


def test_unreadable_shipped_fixmap_is_noted_not_used(tmp_path):
    _two_groups(tmp_path)
    (tmp_path / "TD_FixMaps").mkdir()
    (tmp_path / "TD_FixMaps" / "1_s.png").write_bytes(b"")
    Image.new("L", (W, H)).save(tmp_path / "TD_FixMaps" / "2_s.png")
    ds = load_saliency4asd(tmp_path)
    assert ds.fixation_maps["TD"] == {"2": tmp_path / "TD_FixMaps" / "2_s.png"}
    assert len(ds.notes) == 1 and ds.notes[0].startswith(f"{tmp_path / 'TD_FixMaps' / '1_s.png'}: unreadable")


# --- 2 and 4. the table loader ---------------------------------------------------------------------


@pytest.fixture()
def images(tmp_path) -> Path:
    d = tmp_path / "imgs"
    save_png(d / "a.png", W, H)
    save_png(d / "b.png", W, H)
    return d


@pytest.mark.parametrize("name", ["../a.png", "/etc/a.png", str(Path("/tmp") / "a.png"), "..\\a.png",
                                  "C:\\data\\a.png", "sub/../../a.png", "\\\\server\\share\\a.png"])
def test_table_paths_cannot_leave_the_images_folder(images, tmp_path, name):
    t = tmp_path / "fix.csv"
    t.write_text(f'image,x,y\nb,1,1\n"{name}",1,1\n')
    with pytest.raises(DataError, match=r"fix\.csv: line 3: image .* points outside the images folder"):
        load_table_dataset(images, t, coords="1-based")


def test_table_row_problems_name_file_and_line(images, tmp_path):
    t = tmp_path / "fix.csv"
    t.write_text("image,group,x,y,duration\n"
                 "a,ASD,1,1,10\n"
                 "a,ASD,2,x,10\n"      # bad y: (a, ASD) is a problem
                 "a,TD,1,1\n"          # short row: (a, TD) is a problem
                 "b,TD,2,2,20\n"
                 "gone.png,TD,1,1,5\n"  # image not in the folder
                 "b,ASD,3,3,oops\n")   # bad duration
    ds = load_table_dataset(images, t, coords="1-based")
    assert ds.problems == {
        "ASD": {"a": f"{t}: line 3: column 'y' is not a number: 'x'",
                "b": f"{t}: line 7: column 'duration' is not a number: 'oops'"},
        "TD": {"a": f"{t}: line 4: expected 5 fields, got 4",
               "gone": f"{t}: line 6: image 'gone.png' is not in {images}"},
    }
    assert ds.fixations == {"ASD": {}, "TD": {"b": ds.fixations["TD"]["b"]}}
    assert ds.fixations["TD"]["b"].x.tolist() == [1.0]


def test_table_unreadable_image_is_a_problem_for_every_group(images, tmp_path):
    (images / "b.png").write_bytes(b"")
    t = tmp_path / "fix.csv"
    t.write_text("image,group,x,y\na,ASD,1,1\na,TD,2,2\n")
    ds = load_table_dataset(images, t, coords="1-based")
    assert list(ds.stimuli) == ["a"]
    assert ds.problems == {g: {"b": f"{images / 'b.png'}: empty file (0 bytes)"} for g in ("ASD", "TD")}


def test_table_crlf_bom_semicolons(images, tmp_path):
    t = tmp_path / "fix.txt"
    t.write_bytes(b"\xef\xbb\xbfimage;x;y\r\na.png;2;3\r\n\r\nb;0;0\r\n")
    ds = load_table_dataset(images, t, coords="0-based")
    assert ds.fixations["all"]["a"].x.tolist() == [2.0] and ds.fixations["all"]["a"].y.tolist() == [3.0]
    assert ds.fixations["all"]["b"].x.tolist() == [0.0]


def test_table_nul_byte_is_a_row_problem(images, tmp_path):
    t = tmp_path / "fix.csv"
    t.write_bytes(b"image,x,y\nb,1,1\na,\x00,1\n")
    ds = load_table_dataset(images, t, coords="1-based")
    assert ds.problems == {"all": {"a": f"{t}: line 3: column 'x' is not a number: '\\x00'"}}


# --- 7. messages for CLI and Python users ------------------------------------------------------------


def test_messages_speak_cli_and_python(images, tmp_path):
    t = tmp_path / "fix.csv"
    t.write_text("image,x,y\na,1,1\n")
    with pytest.raises(OptionsError, match=r"--coords 0-based\|1-based \(from Python: coords=\)"):
        load_dataset(images, table=t)
    with pytest.raises(OptionsError, match=r"--coords 0-based .*applies only with --table"):
        load_dataset(images, coords="0-based")
    with pytest.raises(DataError) as info:
        load_dataset(images)
    assert "--table FILE --coords 0-based|1-based (from Python: table=" in str(info.value)
    with pytest.raises(DataError, match=r"fix\.csv: is a file; .*--table FILE"):
        load_dataset(t)


def test_table_viewer_labels_beyond_int64_are_numbered(images, tmp_path):
    """Found by tools/fuzz_parsers.py: a 20-digit viewer id overflowed the int64 array (OverflowError)."""
    t = tmp_path / "fix.csv"
    t.write_text("image,x,y,viewer\na,1,1,99999999999999999999\na,2,2,7\n")
    ds = load_table_dataset(images, t, coords="1-based")
    # Not all labels fit int64, so all are labels, numbered in sorted (string) order: "7" < "9999..."
    assert ds.fixations["all"]["a"].viewer.tolist() == [1, 0]

"""Saliency4ASD loader on the osie-s4a replica (three layouts) and on hand-made tiny datasets."""

from __future__ import annotations

import re
import shutil
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from _helpers import GROUPS, IDS, count_viewers, parse_scanpath, read_png, save_png, write_scanpath  # noqa: E402

from asdgaze.data import DataError, DataWarning, load_dataset, load_saliency4asd, read_scanpath  # noqa: E402


def _flatten(osie: Path, dest: Path) -> Path:
    """All parts side by side in one folder."""
    src = osie / "TrainingDataset"
    for part in sorted((src / "TrainingData").iterdir()) + sorted((src / "AdditionalData").iterdir()):
        shutil.copytree(part, dest / part.name)
    return dest


def _scatter(osie: Path, dest: Path) -> Path:
    """The parts at arbitrary, different depths."""
    src = osie / "TrainingDataset"
    shutil.copytree(src / "TrainingData" / "Images", dest / "a" / "Images")
    shutil.copytree(src / "TrainingData" / "ASD", dest / "b" / "c" / "ASD")
    shutil.copytree(src / "TrainingData" / "TD", dest / "TD")
    shutil.copytree(src / "TrainingData" / "TD_FixMaps", dest / "x" / "y" / "z" / "TD_FixMaps")
    return dest


def _symlinked(osie: Path, dest: Path) -> Path:
    """A flattened copy made of links to the parts."""
    src = osie / "TrainingDataset"
    for part in sorted((src / "TrainingData").iterdir()) + sorted((src / "AdditionalData").iterdir()):
        (dest / part.name).symlink_to(part, target_is_directory=True)
    return dest


@pytest.fixture(scope="module", params=["TrainingDataset", "TrainingData", "flattened", "scattered", "symlinked"])
def layout_root(request, osie_dir, tmp_path_factory) -> Path:
    if request.param == "TrainingDataset":
        return osie_dir / "TrainingDataset"
    if request.param == "TrainingData":
        return osie_dir / "TrainingDataset" / "TrainingData"
    dest = tmp_path_factory.mktemp(request.param)
    build = {"flattened": _flatten, "scattered": _scatter, "symlinked": _symlinked}[request.param]
    return build(osie_dir, dest)


def test_layouts_counts_match_independent_parse(layout_root, osie_dir):
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)  # the replica has no out-of-image point
        ds = load_saliency4asd(layout_root)
    assert ds.groups == ["ASD", "TD"]
    assert list(ds.stimuli) == IDS  # numeric order: 1, 2, ..., 10, not 1, 10, 2
    src = osie_dir / "TrainingDataset" / "TrainingData"
    for sid in IDS:
        assert ds.stimuli[sid].shape == (600, 800)  # README: 800x600 RGB
    for g in GROUPS:
        for sid in IDS:
            rows = parse_scanpath(src / g / f"{g}_scanpath_{sid}.txt")
            fx = ds.fixations[g][sid]
            assert len(fx) == len(rows)
            assert fx.n_viewers == count_viewers(rows)
            np.testing.assert_array_equal(fx.x, [r["x"] - 1 for r in rows])
            np.testing.assert_array_equal(fx.y, [r["y"] - 1 for r in rows])
            np.testing.assert_array_equal(fx.duration, [r["duration"] for r in rows])
    # README: observers 1-7 are "ASD", 8-15 "TD", on every image.
    assert all(ds.fixations["ASD"][s].n_viewers == 7 for s in IDS)
    assert all(ds.fixations["TD"][s].n_viewers == 8 for s in IDS)


def test_layout_fixation_map_paths(layout_root):
    ds = load_saliency4asd(layout_root)
    assert sorted(ds.fixation_maps["TD"], key=int) == IDS
    assert ds.fixation_maps["TD"]["7"].name == "7_s.png"
    assert ds.fixation_maps["TD"]["7"].parent.name == "TD_FixMaps"


def test_binary_maps_equal_shipped_fixpts(osie_dir):
    """The 1-based -> 0-based conversion puts every fixation on the pixel marked in _f.png."""
    ds = load_saliency4asd(osie_dir / "TrainingDataset")
    add = osie_dir / "TrainingDataset" / "AdditionalData"
    for g in GROUPS:
        for sid in IDS:
            st = ds.stimuli[sid]
            expected = read_png(add / f"{g}_FixPts" / f"{sid}_f.png") > 0
            np.testing.assert_array_equal(ds.fixations[g][sid].binary_map(st.height, st.width), expected)


def test_groups_argument(osie_dir):
    ds = load_dataset(osie_dir / "TrainingDataset", groups=["TD"])
    assert ds.groups == ["TD"]
    with pytest.raises(DataError, match="XYZ"):
        load_saliency4asd(osie_dir / "TrainingDataset", groups=["XYZ"])


# --- hand-made tiny datasets ------------------------------------------------------------------

W, H = 5, 4


def _tiny(root: Path, rows=((0, 1, 1, 100), (1, W, H, 200))) -> Path:
    save_png(root / "Images" / "1.png", W, H)
    write_scanpath(root / "ASD" / "ASD_scanpath_1.txt", list(rows))
    return root


def test_coordinate_conversion_and_drops(tmp_path):
    rows = [(0, 1, 1, 100), (1, W, H, 200), (2, W + 1, 1, 300), (3, 0, 5, 400), (4, 3, 2, 500)]
    root = _tiny(tmp_path, rows)
    with pytest.warns(DataWarning) as record:
        ds = load_saliency4asd(root)
    assert len(record) == 1  # one warning per file
    msg = str(record[0].message)
    assert "ASD_scanpath_1.txt" in msg and "dropped 2 of 5" in msg
    fx = ds.fixations["ASD"]["1"]
    assert fx.x.tolist() == [0.0, W - 1.0, 2.0]
    assert fx.y.tolist() == [0.0, H - 1.0, 1.0]
    assert fx.duration.tolist() == [100.0, 200.0, 500.0]
    assert ds.stimuli["1"].shape == (H, W)


def test_viewer_starts_where_idx_does_not_increase(tmp_path):
    rows = [(0, 1, 1, 1), (1, 1, 1, 1), (2, 1, 1, 1), (0, 1, 1, 1), (0, 1, 1, 1), (1, 1, 1, 1), (1, 1, 1, 1)]
    ds = load_saliency4asd(_tiny(tmp_path, rows))
    assert ds.fixations["ASD"]["1"].viewer.tolist() == [0, 0, 0, 1, 2, 2, 3]


def test_numeric_order_and_each_image_size(tmp_path):
    for stem, (w, h) in {"10": (7, 3), "2": (4, 9), "1": (6, 6)}.items():
        save_png(tmp_path / "Images" / f"{stem}.png", w, h)
    write_scanpath(tmp_path / "TD" / "TD_scanpath_2.txt", [(0, 4, 9, 10)])
    ds = load_saliency4asd(tmp_path)
    assert list(ds.stimuli) == ["1", "2", "10"]
    assert ds.stimuli["10"].shape == (3, 7) and ds.stimuli["2"].shape == (9, 4)
    # images without a scanpath file for TD simply have no fixations
    assert "1" not in ds.fixations["TD"] and len(ds.fixations_for("TD", "1")) == 0
    assert ds.fixations["TD"]["2"].x.tolist() == [3.0]


def test_exif_orientation_swaps_size(tmp_path):
    from PIL import Image

    img = Image.new("RGB", (6, 4))
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90 degrees on display
    (tmp_path / "Images").mkdir()
    img.save(tmp_path / "Images" / "1.jpg", exif=exif)
    write_scanpath(tmp_path / "ASD" / "ASD_scanpath_1.txt", [(0, 4, 6, 10)])  # x=4 <= W=4, y=6 <= H=6
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        ds = load_saliency4asd(tmp_path)
    assert ds.stimuli["1"].shape == (6, 4)


def test_missing_images_folder(tmp_path):
    write_scanpath(tmp_path / "ASD" / "ASD_scanpath_1.txt", [(0, 1, 1, 1)])
    with pytest.raises(DataError, match=r"no 'Images' folder found under .*searched"):
        load_saliency4asd(tmp_path)


def test_missing_scanpath_folder(tmp_path):
    save_png(tmp_path / "Images" / "1.png", W, H)
    (tmp_path / "ASD").mkdir()
    with pytest.raises(DataError, match=r"no scanpath folder found .*_scanpath_"):
        load_saliency4asd(tmp_path)


def test_missing_folder(tmp_path):
    with pytest.raises(DataError, match="nowhere"):
        load_saliency4asd(tmp_path / "nowhere")


def test_scanpath_for_unknown_image(tmp_path):
    """Issue 6: a scanpath for an image that is not in Images is a problem of (9, ASD), not an abort."""
    _tiny(tmp_path)
    write_scanpath(tmp_path / "ASD" / "ASD_scanpath_9.txt", [(0, 1, 1, 1)])
    ds = load_saliency4asd(tmp_path)
    assert re.search(r"Images.9\..*missing image.*ASD_scanpath_9\.txt.*image '9'", ds.problems["ASD"]["9"])
    assert "9" not in ds.fixations["ASD"] and "9" not in ds.stimuli
    assert len(ds.fixations["ASD"]["1"]) == 2


def test_ambiguous_images_folders(tmp_path):
    _tiny(tmp_path)
    save_png(tmp_path / "other" / "Images" / "1.png", W, H)
    with pytest.raises(DataError, match="several Images folders"):
        load_saliency4asd(tmp_path)


def test_corrupt_image(tmp_path):
    """Issue 6: an image whose size cannot be read is left out and recorded for every group."""
    _tiny(tmp_path)
    write_scanpath(tmp_path / "TD" / "TD_scanpath_1.txt", [(0, 1, 1, 1)])
    (tmp_path / "Images" / "2.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really a png")
    ds = load_saliency4asd(tmp_path)
    assert list(ds.stimuli) == ["1"]
    for g in ("ASD", "TD"):
        assert ds.problems[g]["2"].startswith(str(tmp_path / "Images" / "2.png") + ": ")
        assert "1" in ds.fixations[g]


def test_truncated_image(tmp_path, osie_dir):
    """Issue 6: a truncated image whose header gives the size loads, with a note naming it."""
    _tiny(tmp_path)
    data = (osie_dir / "TrainingDataset" / "TrainingData" / "Images" / "1.png").read_bytes()
    (tmp_path / "Images" / "3.png").write_bytes(data[: len(data) // 2])
    ds = load_saliency4asd(tmp_path)
    assert ds.stimuli["3"].shape == (600, 800)  # README: 800x600
    assert len(ds.notes) == 1 and ds.notes[0].startswith(str(tmp_path / "Images" / "3.png") + ": damaged")


@pytest.mark.parametrize(
    "text, problem",
    [
        ("", "empty"),
        ("Idx, x, y\n0, 1, 1\n", "header"),
        ("Idx, x, y, duration\n0, 1, 1, 100\n1, 2, abc, 100\n", "line 3: not a number"),
        ("Idx, x, y, duration\n0, 1, 1\n", "line 2: expected 4 values"),
        ("Idx, x, y, duration\n0, 1, nan, 100\n", "line 2: non-finite"),
    ],
)
def test_corrupt_scanpath(tmp_path, text, problem):
    """Issue 6: a bad scanpath file is a problem of its (image, group); the other pairs load."""
    _tiny(tmp_path)
    save_png(tmp_path / "Images" / "2.png", W, H)
    write_scanpath(tmp_path / "ASD" / "ASD_scanpath_2.txt", [(0, 2, 2, 10)])
    f = tmp_path / "ASD" / "ASD_scanpath_1.txt"
    f.write_text(text)
    ds = load_saliency4asd(tmp_path)
    assert ds.problems["ASD"]["1"].startswith(f"{f}: ")
    assert problem in ds.problems["ASD"]["1"]
    assert "1" not in ds.fixations["ASD"]
    assert ds.fixations["ASD"]["2"].x.tolist() == [1.0]
    with pytest.raises(DataError, match=r"ASD_scanpath_1\.txt") as info:
        read_scanpath(f)
    assert problem in str(info.value)


def test_header_only_file_means_no_fixations(tmp_path):
    _tiny(tmp_path)
    (tmp_path / "ASD" / "ASD_scanpath_1.txt").write_text("Idx, x, y, duration\n")
    ds = load_saliency4asd(tmp_path)
    assert len(ds.fixations["ASD"]["1"]) == 0


def test_all_scanpath_files_in_one_folder(tmp_path):
    """A flattened copy may keep both groups' txt files (and everything else) in one folder."""
    save_png(tmp_path / "Images" / "1.png", W, H)
    write_scanpath(tmp_path / "txt" / "ASD_scanpath_1.txt", [(0, 2, 3, 10)])
    write_scanpath(tmp_path / "txt" / "TD_scanpath_1.txt", [(0, 1, 1, 10), (0, 5, 4, 10)])
    ds = load_saliency4asd(tmp_path)
    assert ds.groups == ["ASD", "TD"]
    assert ds.fixations["ASD"]["1"].x.tolist() == [1.0]
    assert ds.fixations["TD"]["1"].viewer.tolist() == [0, 1]


def test_check_fixpts(osie_dir, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        load_saliency4asd(osie_dir / "TrainingDataset", groups=["TD"], check_fixpts=True)
    _tiny(tmp_path)  # fixations at 1-based (1, 1) and (W, H)
    f = np.zeros((H, W), np.uint8)
    f[0, 0] = 255
    f[2, 2] = 255  # not a fixation; (H-1, W-1) missing
    from PIL import Image

    (tmp_path / "ASD_FixPts").mkdir()
    Image.fromarray(f).save(tmp_path / "ASD_FixPts" / "1_f.png")
    with pytest.warns(DataWarning, match=r"1_f\.png: 2 pixels differ"):
        load_saliency4asd(tmp_path, check_fixpts=True)

"""Generic loader: images folder + CSV/TSV table."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from _helpers import save_png  # noqa: E402

from asdgaze.data import DataError, DataWarning, load_dataset, load_table_dataset  # noqa: E402


@pytest.fixture()
def images(tmp_path) -> Path:
    d = tmp_path / "imgs"
    save_png(d / "a.png", 5, 4)   # W=5, H=4
    save_png(d / "10.png", 3, 2)
    save_png(d / "2.jpg", 6, 7)
    return d


def test_csv_one_based(images, tmp_path):
    t = tmp_path / "fix.csv"
    t.write_text("image,x,y\na.png,1,1\na,5,4\n2.jpg,6,7\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        ds = load_table_dataset(images, t, coords="1-based")
    assert ds.groups == ["all"]
    assert list(ds.stimuli) == ["2", "10", "a"]
    fa = ds.fixations["all"]["a"]
    assert fa.x.tolist() == [0.0, 4.0] and fa.y.tolist() == [0.0, 3.0]
    assert fa.viewer.tolist() == [0, 0]
    assert ds.fixations["all"]["2"].x.tolist() == [5.0]
    assert "10" not in ds.fixations["all"]


def test_csv_zero_based_and_bounds(images, tmp_path):
    t = tmp_path / "fix.csv"
    # 0-based: x in [0, 5), y in [0, 4) for a.png
    t.write_text("image,x,y\na.png,0,0\na.png,4.9,3.9\na.png,5,0\na.png,-0.1,1\na.png,1,4\n")
    with pytest.warns(DataWarning, match=r"fix\.csv.*dropped 3 of 5 rows.*3 outside") as rec:
        ds = load_table_dataset(images, t, coords="0-based")
    assert len(rec) == 1
    fa = ds.fixations["all"]["a"]
    assert fa.x.tolist() == [0.0, 4.9] and fa.y.tolist() == [0.0, 3.9]


def test_one_based_drops_zero_and_w_plus_one(images, tmp_path):
    t = tmp_path / "fix.csv"
    t.write_text("image,x,y\na,0,1\na,6,1\na,5,5\na,5,4\n")
    with pytest.warns(DataWarning, match="dropped 3 of 4"):
        ds = load_table_dataset(images, t, coords="1-based")
    assert ds.fixations["all"]["a"].x.tolist() == [4.0]


def test_tsv_with_all_columns(images, tmp_path):
    t = tmp_path / "fix.tsv"
    t.write_text(
        " Image\t X \tY\tGroup\tViewer\tDuration\n"
        "a.png\t1\t2\tASD\tp07\t250\n"
        "a.png\t3\t1\tTD\tp01\t\n"
        "10\t0\t0\tTD\tp02\t120.5\n"
        "a.png\t2\t2\tASD\tp03\t90\n"
    )
    ds = load_table_dataset(images, t, coords="0-based")
    assert ds.groups == ["ASD", "TD"]
    asd = ds.fixations["ASD"]["a"]
    assert asd.x.tolist() == [1.0, 2.0] and asd.duration.tolist() == [250.0, 90.0]
    assert asd.viewer.tolist() == [1, 0]  # labels numbered in sorted order: p03 -> 0, p07 -> 1
    td = ds.fixations["TD"]
    assert td["10"].x.tolist() == [0.0] and td["10"].duration.tolist() == [120.5]
    assert str(td["a"].duration[0]) == "nan"
    ds2 = load_table_dataset(images, t, coords="0-based", groups=["TD"])
    assert ds2.groups == ["TD"]


def test_integer_viewers_kept_and_sniffed_delimiter(images, tmp_path):
    t = tmp_path / "fix.txt"
    t.write_text("image;x;y;viewer\na;1;1;7\na;2;2;3\n")
    ds = load_table_dataset(images, t, coords="1-based")
    assert ds.fixations["all"]["a"].viewer.tolist() == [7, 3]


def test_unknown_images_are_problems_and_missing_values_dropped(images, tmp_path):
    """Issue 6: images named in the table but absent are problems (file, line, name), not a count."""
    t = tmp_path / "fix.csv"
    t.write_text("image,x,y\nnope.png,1,1\na,1,1\nb,2,2\na,,3\n")
    with pytest.warns(DataWarning) as rec:
        ds = load_table_dataset(images, t, coords="1-based")
    assert len(rec) == 1
    msg = str(rec[0].message)
    assert msg == f"{t}: dropped 1 of 4 rows: 1 with a missing coordinate"
    assert ds.problems["all"]["nope"] == f"{t}: line 2: image 'nope.png' is not in {images}"
    assert ds.problems["all"]["b"] == f"{t}: line 4: image 'b' is not in {images}"
    assert len(ds.fixations["all"]["a"]) == 1


def test_missing_required_columns(images, tmp_path):
    t = tmp_path / "fix.csv"
    t.write_text("image,col,row\na,1,1\n")
    with pytest.raises(DataError, match=r"fix\.csv.*missing required column\(s\) x, y"):
        load_table_dataset(images, t, coords="1-based")


def test_bad_values(images, tmp_path):
    """Issue 6: an unparsable row is a problem of its (image, group); other pairs load."""
    t = tmp_path / "fix.csv"
    t.write_text("image,x,y\na,1,1\na,one,1\n10,1,1\n")
    ds = load_table_dataset(images, t, coords="1-based")
    assert ds.problems == {"all": {"a": f"{t}: line 3: column 'x' is not a number: 'one'"}}
    assert "a" not in ds.fixations["all"]
    assert ds.fixations["all"]["10"].x.tolist() == [0.0]


def test_coords_required(images, tmp_path):
    t = tmp_path / "fix.csv"
    t.write_text("image,x,y\na,1,1\n")
    with pytest.raises(ValueError, match="coords"):
        load_table_dataset(images, t, coords="1based")
    with pytest.raises(ValueError, match="coords is required"):
        load_dataset(images, table=t)
    ds = load_dataset(images, table=t, coords="0-based")
    assert ds.fixations["all"]["a"].x.tolist() == [1.0]


def test_missing_group_requested(images, tmp_path):
    t = tmp_path / "fix.csv"
    t.write_text("image,x,y\na,1,1\n")
    with pytest.raises(DataError, match="ASD"):
        load_table_dataset(images, t, coords="1-based", groups=["ASD"])


def test_missing_table_and_folder(images, tmp_path):
    with pytest.raises(DataError, match="missing.csv"):
        load_table_dataset(images, tmp_path / "missing.csv", coords="1-based")
    with pytest.raises(DataError, match="noimgs"):
        load_table_dataset(tmp_path / "noimgs", tmp_path / "missing.csv", coords="1-based")


def test_load_dataset_without_layout(images):
    with pytest.raises(DataError, match="Images"):
        load_dataset(images)


def test_table_without_usable_rows(images, tmp_path):
    t = tmp_path / "fix.csv"
    t.write_text("image,x,y\n")
    with pytest.raises(DataError, match=r"fix\.csv: no usable fixation rows \(0 read"):
        load_table_dataset(images, t, coords="1-based")

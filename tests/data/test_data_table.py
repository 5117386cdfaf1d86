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


# --- issue 15, case 3: folder parts of image names -------------------------------------------------


@pytest.fixture()
def nested(tmp_path) -> Path:
    """a/1.png (W=6, H=5), b/1.png (W=7, H=4), 1.png (W=3, H=2), 3.png (W=4, H=4)."""
    d = tmp_path / "imgs"
    save_png(d / "a" / "1.png", 6, 5)
    save_png(d / "b" / "1.png", 7, 4)
    save_png(d / "1.png", 3, 2)
    save_png(d / "3.png", 4, 4)
    return d


def test_table_image_paths_mean_the_file_in_that_sub_folder(nested, tmp_path):
    """Issue 15.3: a/1.png and b/1.png were both scored as 1.png (fixations and viewers merged)."""
    t = tmp_path / "fix.csv"
    t.write_text("image,x,y,viewer\n"
                 "a/1.png,5,4,1\n"      # inside a/1.png (6x5) only
                 "b\\1.png,6,3,2\n"     # a Windows separator; inside b/1.png (7x4) only
                 "./1.png,2,1,3\n"      # the folder's own 1.png
                 "a/1,0,0,4\n"          # a stem inside a sub-folder
                 "3.png,1,1,5\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        ds = load_table_dataset(nested, t, coords="0-based")
    assert list(ds.stimuli) == ["1", "3", "a/1", "b/1"]
    assert ds.stimuli["a/1"].path == nested / "a" / "1.png" and ds.stimuli["a/1"].shape == (5, 6)
    assert ds.stimuli["b/1"].path == nested / "b" / "1.png" and ds.stimuli["b/1"].shape == (4, 7)
    fx = ds.fixations["all"]
    assert fx["a/1"].x.tolist() == [5.0, 0.0] and fx["a/1"].viewer.tolist() == [1, 4]
    assert fx["b/1"].x.tolist() == [6.0] and fx["b/1"].y.tolist() == [3.0] and fx["b/1"].viewer.tolist() == [2]
    assert fx["1"].x.tolist() == [2.0] and fx["1"].viewer.tolist() == [3]
    assert fx["3"].x.tolist() == [1.0]
    assert ds.problems == {}


def test_table_image_path_without_its_file_is_a_problem_naming_the_line(nested, tmp_path):
    """Issue 15.3: sub/3.png was read as 3.png although there is no sub/ folder."""
    t = tmp_path / "fix.csv"
    t.write_text("image,x,y\n3.png,1,1\nsub/3.png,2,2\na/2.png,1,1\n")
    ds = load_table_dataset(nested, t, coords="0-based")
    assert ds.problems == {"all": {
        "a/2": f"{t}: line 4: image 'a/2.png' is not in {nested}",
        "sub/3": f"{t}: line 3: image 'sub/3.png' is not in {nested} (a path inside the folder means that file; "
                 "3.png directly in the folder is image 3: name it 3.png if that is the image meant)",
    }}
    assert ds.fixations["all"]["3"].x.tolist() == [1.0]  # the folder's 3.png keeps only its own row
    assert "sub/3" not in ds.stimuli and "a/2" not in ds.stimuli


def test_table_flat_folder_keeps_its_ids_beside_unnamed_sub_folders(nested, tmp_path):
    t = tmp_path / "fix.csv"
    t.write_text("image,x,y\n1.png,1,1\n3,2,2\n")
    ds = load_table_dataset(nested, t, coords="0-based")
    assert list(ds.stimuli) == ["1", "3"]  # sub-folders are read only where the table names them
    assert ds.stimuli["1"].path == nested / "1.png"


def test_table_images_only_in_sub_folders(tmp_path):
    d = tmp_path / "imgs"
    save_png(d / "cond A" / "7.png", 5, 5)
    save_png(d / "condB" / "7.jpg", 5, 5)
    (d / "condB" / "8.png").write_bytes(b"")  # unreadable: a problem of every group
    t = tmp_path / "fix.csv"
    t.write_text("image,group,x,y\ncond A/7.png,ASD,1,1\ncondB/7,TD,2,2\ncondB/8.png,TD,1,1\n")
    ds = load_table_dataset(d, t, coords="0-based")
    assert list(ds.stimuli) == ["cond A/7", "condB/7"]
    assert ds.fixations["ASD"]["cond A/7"].x.tolist() == [1.0]
    assert ds.fixations["TD"]["condB/7"].x.tolist() == [2.0]
    msg = f"{d / 'condB' / '8.png'}: empty file (0 bytes)"
    assert ds.problems == {"ASD": {"condB/8": msg}, "TD": {"condB/8": msg}}
    e = tmp_path / "no-images"
    (e / "sub").mkdir(parents=True)
    t.write_text("image,x,y\nsub/1.png,1,1\n")
    with pytest.raises(DataError, match=r"no-images: images folder holds no image files"):
        load_table_dataset(e, t, coords="0-based")


def test_table_sub_folder_images_sharing_an_id_are_refused(nested, tmp_path):
    save_png(nested / "a" / "1.jpg", 6, 5)
    t = tmp_path / "fix.csv"
    t.write_text("image,x,y\n3,1,1\na/1.jpg,1,1\n")
    with pytest.raises(DataError, match=r"fix\.csv: line 3: two images share the id 'a/1' \(a/1\.jpg, a/1\.png\)"):
        load_table_dataset(nested, t, coords="0-based")


def test_table_one_file_by_two_paths_is_one_image(nested, tmp_path):
    """A linked folder (or letter case on a case-insensitive disk) spells one file two ways."""
    (nested / "same").symlink_to(nested / "a", target_is_directory=True)
    (nested / "top").symlink_to(nested, target_is_directory=True)
    t = tmp_path / "fix.csv"
    t.write_text("image,x,y\na/1.png,1,1\nsame/1.png,2,2\ntop/3.png,3,3\n")
    ds = load_table_dataset(nested, t, coords="0-based")
    assert list(ds.stimuli) == ["1", "3", "a/1"]
    assert ds.fixations["all"]["a/1"].x.tolist() == [1.0, 2.0]
    assert ds.fixations["all"]["3"].x.tolist() == [3.0]


# --- issue 15, case 5: viewer ids, duplicate columns, group spellings --------------------------------


def test_table_viewer_ids_compare_as_the_values_they_denote(images, tmp_path):
    """Issue 15.5: viewers 1 and 1.0 were two viewers (n_viewers doubled)."""
    t = tmp_path / "fix.csv"
    t.write_text("image,x,y,viewer\na,1,1,1\na,2,2,1.0\na,3,3,01\na,4,4,+1\na,1,2,1e0\na,2,3,2.00\n")
    ds = load_table_dataset(images, t, coords="1-based")
    fa = ds.fixations["all"]["a"]
    assert fa.viewer.tolist() == [1, 1, 1, 1, 1, 2]
    assert fa.n_viewers == 2


def test_table_viewer_ids_that_are_not_whole_numbers_merge_by_value(images, tmp_path):
    t = tmp_path / "fix.csv"
    t.write_text("image,x,y,viewer\na,1,1,2.5\na,2,2,1\na,3,3,2.50\na,4,4,1.0\n")
    ds = load_table_dataset(images, t, coords="1-based")
    # distinct values 1 and 2.5, numbered by the sorted order of their first spelling: "1" < "2.5"
    assert ds.fixations["all"]["a"].viewer.tolist() == [1, 0, 1, 0]
    assert ds.notes == []


def test_table_viewer_ids_mixing_numbers_and_text_are_named(images, tmp_path):
    t = tmp_path / "fix.csv"
    t.write_text("image,x,y,viewer\na,1,1,P01\na,2,2,1\na,3,3,p01\na,4,4,1.0\n")
    ds = load_table_dataset(images, t, coords="1-based")
    # distinct ids 1 (twice spelt), 'P01', 'p01'; sorted spellings "1" < "1.0" < "P01" < "p01"
    assert ds.fixations["all"]["a"].viewer.tolist() == [1, 0, 2, 0]
    assert ds.notes == [f"{t}: group 'all': viewer ids mix numbers ('1', '1.0') and text ('P01', 'p01'): each "
                        "distinct id is one viewer; viewer ids 'P01' and 'p01' differ only in case: two viewers"]


def test_table_missing_viewer_ids_are_dropped_and_counted(images, tmp_path):
    t = tmp_path / "fix.csv"
    t.write_text("image,x,y,viewer\na,1,1,3\na,2,2,\na,3,3,NaN\na,4,4,4\n")
    with pytest.warns(DataWarning) as rec:
        ds = load_table_dataset(images, t, coords="1-based")
    assert [str(w.message) for w in rec] == [f"{t}: dropped 2 of 4 rows: 2 with a missing viewer id"]
    assert ds.fixations["all"]["a"].viewer.tolist() == [3, 4]


@pytest.mark.parametrize("header", ["image,x,y,x", "image,viewer,x,y, Viewer", "Image,x,y,IMAGE",
                                    "image,x,y,group,Group", "image,x,y,duration,DURATION", "image,y,x,Y "])
def test_table_column_named_twice_is_refused(images, tmp_path, header):
    """Issue 15.5: with two x (or viewer) columns the first was used silently."""
    t = tmp_path / "fix.csv"
    t.write_text(header + "\n" + ",".join(["a"] + ["1"] * (header.count(",") - 1) + ["2"]) + "\n")
    name = header.split(",")[-1].strip().lower()
    with pytest.raises(DataError, match=rf"fix\.csv: line 1: column '{name}' appears twice"):
        load_table_dataset(images, t, coords="1-based")


def test_table_group_names_differing_in_case_are_refused(images, tmp_path):
    t = tmp_path / "fix.csv"
    t.write_text("image,group,x,y\na,ASD,1,1\na, ASD ,2,2\na,TD,1,1\nb,asd,1,1\n")
    with pytest.raises(DataError, match=r"fix\.csv: line 5: group 'asd' differs from group 'ASD' \(line 2\) "
                                        r"only in case"):
        load_table_dataset(images, t, coords="1-based")
    t.write_text("image,group,x,y\na,ASD,1,1\na, ASD ,2,2\n")
    ds = load_table_dataset(images, t, coords="1-based")
    assert ds.groups == ["ASD"] and ds.fixations["ASD"]["a"].x.tolist() == [0.0, 1.0]


def test_table_without_viewer_column_names_the_columns_it_did_not_read(images, tmp_path):
    t = tmp_path / "fix.csv"
    t.write_text("image,x,y,subject,trial\na,1,1,s1,1\na,2,2,s2,1\n")
    ds = load_table_dataset(images, t, coords="1-based")
    assert ds.fixations["all"]["a"].viewer.tolist() == [0, 0]
    assert ds.notes == [f"{t}: no 'viewer' column: the fixations of one image and group are one viewer "
                        "(columns not read: 'subject', 'trial')"]

"""Region annotations: Saliency4ASD's ImageAnnotations.csv (half-size frame) and the plain --regions table.

Every file here is written by the test, with the line shapes of the real file; expected boxes are the file's
numbers worked out by hand (x 2 for the half-size frame; pixel centres for the masks)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _tiny import tiny_s4a  # noqa: E402 (tests/ helper)

from asdgaze.data import load_dataset  # noqa: E402
from asdgaze.data.errors import DataError  # noqa: E402
from asdgaze.data.regions import BACKGROUND, SALIENCY4ASD_FRAME, Box, read_regions  # noqa: E402
from asdgaze.data.types import Stimulus  # noqa: E402

ANNOTATOR = "/media/someone/tool-master/Image"


def _stimuli(**sizes: tuple[int, int]) -> dict[str, Stimulus]:
    return {s: Stimulus(s, Path(f"/imgs/{s}.png"), h, w) for s, (w, h) in sizes.items()}


def test_saliency4asd_lines_half_frame_and_every_problem_named(tmp_path):
    text = "\n".join([
        f"{ANNOTATOR}/1.png,10,5,20,15,face",              # line 1: x2 -> 20,10,40,30
        f"{ANNOTATOR}/1.png,0,0,30,20,people background",  # line 2: a label with a space
        f"{ANNOTATOR}/1.png,24,5,24,6,hand",               # line 3: zero width: dropped
        f"{ANNOTATOR}/2.png,25,10,40,25,animal",           # line 4: x 50..80 in a 60-wide image: clipped
        f"{ANNOTATOR}/2.png,35,5,45,9,object",             # line 5: entirely right of the image: dropped
        f"{ANNOTATOR}/9.png,1,1,2,2,face",                 # line 6: no image 9 in the dataset
        f"{ANNOTATOR}/4.png,1,1,x,2,face",                 # line 7: not a number: image 4's regions unknown
        f"{ANNOTATOR}/4.png,1,1,5,5,face",
        "",
    ])
    path = tmp_path / "ImageAnnotations.csv"
    path.write_text(text)
    stimuli = _stimuli(**{"1": (80, 60), "2": (60, 40), "3": (80, 60), "4": (80, 60)})
    r = read_regions(path, stimuli, SALIENCY4ASD_FRAME)
    assert r.boxes["1"] == [Box(20, 10, 40, 30, "face"), Box(0, 0, 60, 40, "people background")]
    assert r.boxes["2"] == [Box(50, 20, 60, 40, "animal")]
    assert r.covers("1") and r.covers("2") and not r.covers("3") and not r.covers("4")
    assert r.without == ["3"]
    assert list(r.unknown) == ["4"] and "line 7" in r.unknown["4"] and "not a number" in r.unknown["4"]
    dropped = {k.split(" ")[0] + " " + k.split(" ")[1]: v for k, v in r.dropped.items()}
    assert dropped["degenerate box(es)"] == ["line 3 (image 1, hand: 24,5,24,6)"]
    assert dropped["box(es) reaching"] == ["line 4 (image 2, animal: 25,10,40,25) in 60x40"]
    assert dropped["box(es) outside"] == ["line 5 (image 2, object: 35,5,45,9)"]
    assert dropped["line(s) naming"] == ["line 6 (/media/someone/tool-master/Image/9.png)"]
    notes = r.notes(4)
    assert len(notes) == 6 and all(n.startswith(str(path.resolve())) for n in notes)
    assert any("1 of 4 images have no region" in n and "(3)" in n for n in notes)
    assert r.labels == ["animal", "face", "people background", BACKGROUND]
    assert r.describe()["frame"] == SALIENCY4ASD_FRAME.describe


def test_masks_are_unions_of_pixel_centres_and_background_the_rest(tmp_path):
    path = tmp_path / "regions.csv"
    # image 1 named by file name, image 2 by stem; fractional ends: the pixels whose centre is inside
    path.write_text("image,x1,y1,x2,y2,label\n1.png,1,1,3,2,face\n1.png,2,0,4,1,face\n"
                    "1.png,0,2,1.4,3,text\n2,0.6,0.4,2.5,1.6,face\n")
    r = read_regions(path, _stimuli(**{"1": (5, 4), "2": (4, 3)}))
    m = r.masks("1", (4, 5))
    assert list(m) == ["face", "text", BACKGROUND]
    face = np.zeros((4, 5), bool)
    face[1, 1:3] = True
    face[0, 2:4] = True
    text = np.zeros((4, 5), bool)
    text[2, 0:1] = True  # centre 1.5 is not < 1.4
    np.testing.assert_array_equal(m["face"], face)
    np.testing.assert_array_equal(m["text"], text)
    np.testing.assert_array_equal(m[BACKGROUND], ~(face | text))
    # image 2, box [0.6, 2.5) x [0.4, 1.6): column centres 0.5 1.5 2.5 3.5 -> only 1.5; row centres 0.5 1.5 2.5
    # -> 0.5 and 1.5: rows 0-1 of column 1
    want = np.zeros((3, 4), bool)
    want[0:2, 1] = True
    np.testing.assert_array_equal(r.masks("2", (3, 4))["face"], want)


def test_table_header_and_unreadable_file_are_errors_naming_the_file(tmp_path):
    bad = tmp_path / "regions.csv"
    bad.write_text("img,x1,y1,x2,y2,label\n1,0,0,1,1,face\n")
    with pytest.raises(DataError, match=r"regions\.csv: header is .*expected image,x1,y1,x2,y2,label"):
        read_regions(bad, _stimuli(**{"1": (5, 4)}))
    with pytest.raises(DataError, match=r"missing\.csv: cannot read the region annotations"):
        read_regions(tmp_path / "missing.csv", _stimuli(**{"1": (5, 4)}))


def test_reserved_background_label_makes_the_image_unknown(tmp_path):
    path = tmp_path / "regions.csv"
    path.write_text("image,x1,y1,x2,y2,label\n1,0,0,2,2,Background\n2,0,0,2,2,face\n")
    r = read_regions(path, _stimuli(**{"1": (5, 4), "2": (5, 4)}))
    assert list(r.unknown) == ["1"] and "reserved" in r.unknown["1"]
    assert r.covers("2") and not r.covers("1")


def test_load_dataset_finds_the_annotations_and_regions_option_replaces_them(tmp_path):
    fix = {g: {"1": [(1, 1, 0)], "2": [(2, 2, 0)]} for g in ("ASD", "TD")}
    top = tiny_s4a(tmp_path / "a", {"1": (40, 30), "2": (40, 30)}, fix,
                   f"{ANNOTATOR}/1.png,2,3,10,8,face\n")
    ds = load_dataset(top)
    assert ds.regions.boxes == {"1": [Box(4, 6, 20, 16, "face")]} and ds.regions.without == ["2"]
    assert any("1 of 2 images have no region" in n for n in ds.notes)
    # pointed at TrainingData/: the release's AdditionalData/ beside it is the dataset's own
    assert load_dataset(top / "TrainingData").regions.source == (top / "AdditionalData" / "ImageAnnotations.csv").resolve()
    table = tmp_path / "mine.csv"
    table.write_text("image,x1,y1,x2,y2,label\n2.png,0,0,5,5,text\n")
    mine = load_dataset(top, regions=table)
    assert mine.regions.boxes == {"2": [Box(0, 0, 5, 5, "text")]} and mine.regions.without == ["1"]
    plain = tiny_s4a(tmp_path / "b", {"1": (40, 30)}, {g: {"1": [(1, 1, 0)]} for g in ("ASD", "TD")})
    assert load_dataset(plain).regions is None

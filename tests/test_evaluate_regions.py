"""The region step of evaluate on a hand-computed case: two 20x10 images, known boxes and fixations, a map whose
mass in each box is set by construction. Every expected number below is worked out by hand."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _tiny import tiny_s4a  # noqa: E402 (tests/ helper)

from asdgaze.data import load_dataset  # noqa: E402
from asdgaze.evaluate import EvaluateOptions, evaluate  # noqa: E402

IMG = "/home/annotator/tool/Image"
# half-size frame: image 1 face -> pixels [2, 6) x [2, 6) (16 px) inside people [0, 10) x [0, 10) (100 px);
# image 2 text -> [10, 20) x [0, 10) (100 px). Each image is 20 x 10 = 200 px.
ANNOTATIONS = f"{IMG}/1.png,1,1,3,3,face\n{IMG}/1.png,0,0,5,5,people\n{IMG}/2.png,5,0,10,5,text\n"
FIXATIONS = {  # (x, y, viewer), 0-based pixels
    "TD": {"1": [(3, 3, 0), (8, 5, 0), (4, 4, 1), (15, 5, 1)],  # face, people, face, background
           "2": [(12, 3, 0), (2, 2, 0), (11, 9, 1)]},  # text, background, text
    "ASD": {"1": [(12, 2, 0), (15, 8, 0), (1, 1, 1), (5, 5, 1), (18, 1, 1)],  # bg, bg, people, face, bg
            "2": [(0, 0, 0), (19, 9, 1)]},  # background, text
}
SHARES = {("1", "TD"): {"face": 2 / 4, "people": 3 / 4, "background": 1 / 4},
          ("1", "ASD"): {"face": 1 / 5, "people": 2 / 5, "background": 3 / 5},
          ("2", "TD"): {"text": 2 / 3, "background": 1 / 3},
          ("2", "ASD"): {"text": 1 / 2, "background": 1 / 2}}
AREA = {"1": {"face": 16 / 200, "people": 100 / 200, "background": 100 / 200},
        "2": {"text": 100 / 200, "background": 100 / 200}}
# the map: image 1 puts 0.4 on the face's 16 px and 0.6 evenly on the other 184; image 2 0.7 on the text's 100 px
MASS = {"1": {"face": 0.4, "people": 0.4 + 84 * 0.6 / 184, "background": 100 * 0.6 / 184},
        "2": {"text": 0.7, "background": 0.3}}
VIEWERS = {("1", "TD", "face"): [(0, 1, 2), (1, 1, 2)], ("1", "ASD", "people"): [(0, 0, 2), (1, 2, 3)],
           ("2", "TD", "background"): [(0, 1, 2), (1, 0, 1)]}


def _maps(folder: Path) -> Path:
    folder.mkdir()
    p1 = np.full((10, 20), 0.6 / 184)
    p1[2:6, 2:6] = 0.4 / 16
    p2 = np.full((10, 20), 0.3 / 100)
    p2[:, 10:] = 0.7 / 100
    for stem, p in (("1", p1), ("2", p2)):
        np.save(folder / f"{stem}.npy", np.log(p))
    return folder


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    root = tmp_path_factory.mktemp("regions")
    top = tiny_s4a(root, {"1": (20, 10), "2": (20, 10)}, FIXATIONS, ANNOTATIONS)
    ds = load_dataset(top)
    opts = EvaluateOptions(maps_kind="log-density", baselines=("uniform", "gold-standard"), n_splits=5)
    res = evaluate(ds, {"m": _maps(root / "maps")}, root / "out", opts, workers=1, progress=False)
    return ds, opts, res, root


def test_shares_areas_and_masses_are_the_hand_computed_ones(scored):
    ds, _, res, root = scored
    assert res.ok and "regions.csv" in res.files
    t = pd.read_csv(root / "out" / "regions.csv", dtype={"image": str}, keep_default_na=False)
    got = {(r.image, r.group, r.label, r.measure, r.model): r.value for r in t.itertuples()}
    want = {}
    for (image, group), shares in SHARES.items():
        for label, v in shares.items():
            want[(image, group, label, "fixation_share", "")] = v
            want[(image, group, label, "area_share", "")] = AREA[image][label]
            want[(image, group, label, "mass", "m")] = MASS[image][label]
            want[(image, group, label, "mass", "uniform")] = AREA[image][label]  # uniform: mass = area share
    for key, v in want.items():
        assert got[key] == pytest.approx(v, rel=1e-9, abs=0), key
    gold = {k: v for k, v in got.items() if k[4] == "gold-standard"}
    assert len(gold) == 10  # every (image, group, label): the full-group density of each group
    for image, group in SHARES:  # people covers face; people + background and text + background tile the image
        total = gold[(image, group, "people" if image == "1" else "text", "mass", "gold-standard")]
        assert total + gold[(image, group, "background", "mass", "gold-standard")] == pytest.approx(1, abs=1e-12)
    counts = t[t["measure"] == "fixation_share"].set_index(["image", "group", "label"])
    assert counts.loc[("1", "ASD", "face"), ["n_inside", "n_fixations"]].tolist() == ["1", "5"]
    v = pd.read_csv(root / "out" / "region_viewers.csv", dtype={"image": str})
    for (image, group, label), rows in VIEWERS.items():
        sel = v[(v.image == image) & (v.group == group) & (v.label == label)]
        assert list(sel[["viewer", "n_inside", "n_fixations"]].itertuples(index=False, name=None)) == rows


def test_regions_change_no_score_and_resume(scored, tmp_path):
    ds, opts, res, root = scored
    before = {n: (root / "out" / n).read_bytes() for n in ("regions.csv", "region_viewers.csv", "per_image.csv")}
    again = evaluate(ds, {"m": root / "maps"}, root / "out", opts, workers=1, progress=False)
    assert sorted(again.resumed) == ["1", "2"]
    assert {n: (root / "out" / n).read_bytes() for n in before} == before
    described = json.loads((root / "out" / "manifest.json").read_text())["dataset"]["regions"]
    assert described["file"].endswith("AdditionalData/ImageAnnotations.csv") and "half the image" in described["frame"]
    ds.regions, saved = None, ds.regions
    try:
        plain = evaluate(ds, {"m": root / "maps"}, tmp_path / "plain", opts, workers=1, progress=False)
    finally:
        ds.regions = saved
    assert (tmp_path / "plain" / "per_image.csv").read_bytes() == before["per_image.csv"]
    assert not (tmp_path / "plain" / "regions.csv").exists() and "regions.csv" not in plain.files


def test_cli_regions_table_replaces_the_dataset_annotations(tmp_path):
    from asdgaze.cli import main

    top = tiny_s4a(tmp_path, {"1": (20, 10), "2": (20, 10)}, FIXATIONS, ANNOTATIONS)
    table = tmp_path / "mine.csv"
    table.write_text("image,x1,y1,x2,y2,label\n2.png,0,0,10,10,sign\n")  # image 1: no region
    rc = main(["evaluate", "--dataset", str(top), "--regions", str(table), "--baselines", "uniform",
               "--out", str(tmp_path / "out"), "--no-progress", "--workers", "1"])
    assert rc == 0
    t = pd.read_csv(tmp_path / "out" / "regions.csv", dtype={"image": str}, keep_default_na=False)
    assert set(t["image"]) == {"2"} and set(t["label"]) == {"sign", "background"}
    share = t[(t.measure == "fixation_share") & (t.group == "TD") & (t.label == "sign")]["value"].item()
    assert share == pytest.approx(1 / 3, rel=1e-9)  # (2, 2) of (12, 3), (2, 2), (11, 9)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["dataset"]["regions"]["file"] == str(table.resolve())
    assert manifest["dataset"]["regions"]["images_without_regions"] == ["1"]
    assert manifest["dataset"]["source"]["regions"] == str(table.resolve())


def test_run_takes_a_regions_table_to_the_report(tmp_path):
    from asdgaze.analysis.compare import CompareOptions
    from asdgaze.run import run

    top = tiny_s4a(tmp_path, {"1": (20, 10), "2": (20, 10)}, FIXATIONS)  # no annotations of its own
    table = tmp_path / "mine.csv"
    table.write_text("image,x1,y1,x2,y2,label\n1,0,0,10,10,sign\n2,0,0,10,10,sign\n")
    result = run(top, tmp_path / "run", models=[], baselines=["uniform"], regions=str(table), progress=False,
                 compare_options=CompareOptions(n_resamples=200, n_permutations=20), echo=lambda s: None)
    html = result.report_html.read_text()
    assert 'id="regions"' in html and "Regions: no label is on 6 or more images" in html
    assert (tmp_path / "run" / "compare" / "region_stats.csv").is_file()

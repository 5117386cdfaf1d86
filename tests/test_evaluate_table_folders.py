"""Issue 15.3 end to end: a table naming images in sub-folders (a/1.png, b/1.png beside 1.png).

Each is its own image through evaluate (maps in the same sub-folders of the maps folder, parts
saved per image), the report's panels and an HDF5 file of maps; values by hand (NSS).
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from asdgaze.cli import main
from asdgaze.errors import MapError
from asdgaze.maps.hdf5 import find_h5_maps
from asdgaze.maps.io import save_npy

H, W = 40, 48
IMAGES = ("a/1", "b/1", "1")


def _folder(tmp_path: Path) -> tuple[Path, Path, dict[str, np.ndarray], dict[tuple[str, str], list]]:
    """Images a/1.png, b/1.png, 1.png; one saliency map each; 3 viewers per group and image."""
    rng = np.random.default_rng(5)
    maps, points = {}, {}
    rows = ["image,group,x,y,viewer"]
    for stem in IMAGES:
        (tmp_path / "imgs" / stem).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (W, H)).save(tmp_path / "imgs" / f"{stem}.png")
        maps[stem] = rng.random((H, W))
        save_npy(tmp_path / "maps" / f"{stem}.npy", maps[stem])
        for g, shift in (("ASD", 20), ("TD", 0)):
            xy = [(int(rng.integers(0, W - 20)) + shift, int(rng.integers(0, H))) for _ in range(6)]
            points[stem, g] = xy
            rows += [f"{stem}.png,{g},{x},{y},{k // 2}" for k, (x, y) in enumerate(xy)]
    (tmp_path / "fix.csv").write_text("\n".join(rows) + "\n")
    return tmp_path / "imgs", tmp_path / "maps", maps, points


def _evaluate(tmp_path: Path, imgs: Path, maps: Path, out: str) -> int:
    return main(["evaluate", "--dataset", str(imgs), "--table", str(tmp_path / "fix.csv"), "--coords", "0-based",
                 "--maps", str(maps), "--maps-kind", "saliency", "--baselines", "none", "--metrics", "nss,cc",
                 "--out", str(tmp_path / out), "--no-progress", "--workers", "1"])


def test_evaluate_scores_each_sub_folder_image_with_its_own_map_and_fixations(tmp_path):
    imgs, maps, arrays, points = _folder(tmp_path)
    assert _evaluate(tmp_path, imgs, maps, "out") == 0
    per_image = pd.read_csv(tmp_path / "out" / "per_image.csv", keep_default_na=False)
    assert sorted(set(per_image.image)) == sorted(IMAGES)
    for stem in IMAGES:
        z = (arrays[stem] - arrays[stem].mean()) / arrays[stem].std(ddof=1)
        for g in ("ASD", "TD"):
            # NSS by hand: the image's own map, z-scored (ddof 1), mean over its unique fixated pixels
            expected = np.mean([z[y, x] for x, y in set(points[stem, g])])
            row = per_image[(per_image.image == stem) & (per_image.group == g) & (per_image.metric == "nss")]
            assert row.value.iloc[0] == float(f"{expected:.10g}")  # per_image.csv writes %.10g
            assert row.n_fixations.iloc[0] == 6 and row.n_viewers.iloc[0] == 3
    assert (tmp_path / "out" / "parts" / "a" / "1.json").is_file()
    # a rerun takes every image from its part and writes the same tables
    first = (tmp_path / "out" / "per_image.csv").read_bytes()
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert _evaluate(tmp_path, imgs, maps, "out") == 0
    assert (tmp_path / "out" / "per_image.csv").read_bytes() == first
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["dataset"] == manifest["dataset"]


def test_map_missing_from_the_sub_folder_is_not_taken_from_the_top(tmp_path):
    imgs, maps, _, _ = _folder(tmp_path)
    (maps / "b" / "1.npy").unlink()  # maps/1.npy is image 1's map, not b/1's
    assert _evaluate(tmp_path, imgs, maps, "out") == 1


def test_report_panels_of_sub_folder_images(tmp_path):
    imgs, maps, _, _ = _folder(tmp_path)
    assert _evaluate(tmp_path, imgs, maps, "out") == 0
    assert main(["report", "--results", str(tmp_path / "out"), "--out", str(tmp_path / "rep"),
                 "--n-resamples", "100", "--n-permutations", "10"]) == 0
    panels = sorted(p.name for p in (tmp_path / "rep" / "figures").glob("panel_*.png"))
    assert panels and all(p.count("/") == 0 for p in panels)
    assert any("%2F1.png" in p for p in panels)  # a/1 or b/1, named without a folder


def test_hdf5_dataset_matching_two_images_is_refused(tmp_path):
    imgs, _, _, _ = _folder(tmp_path)
    stimuli = {stem: str((imgs / f"{stem}.png").absolute()) for stem in IMAGES}
    lp = np.full((H, W), -np.log(H * W))
    with h5py.File(tmp_path / "flat.hdf5", "w") as f:
        f.create_dataset("1.png", data=lp)
    with pytest.raises(MapError, match=r"dataset '1\.png' matches images a/1 and b/1"):
        find_h5_maps(tmp_path / "flat.hdf5", stimuli)
    with h5py.File(tmp_path / "nested.hdf5", "w") as f:
        for name in ("a/1.png", "b/1.png", "1.png"):
            f.create_dataset(name, data=lp)
    found, missing, extra = find_h5_maps(tmp_path / "nested.hdf5", stimuli)
    assert {s: m.name for s, m in found.items()} == {"a/1": "a/1.png", "b/1": "b/1.png", "1": "1.png"}
    assert missing == [] and extra == []

"""MIT1003 matching by perceptual hash, on resized / recompressed copies of the OSIE test images."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from asdgaze.data import load_dataset
from asdgaze.data.mit1003 import MATCH_THRESHOLD, match_mit1003, nearest_mit1003
from asdgaze.errors import DataError


def _copy(src: Path, dst: Path, scale: float, quality: int) -> None:
    with Image.open(src) as im:
        im = im.convert("RGB")
        im.resize((round(im.width * scale), round(im.height * scale)), Image.BICUBIC).save(dst, "JPEG",
                                                                                         quality=quality)


def test_transformed_copies_match_and_others_do_not(osie_dir, tmp_path):
    ds = load_dataset(osie_dir / "TrainingDataset")
    images = osie_dir / "TrainingDataset" / "TrainingData" / "Images"
    mit = tmp_path / "mit1003"
    mit.mkdir()
    # images 1-6 are "in MIT1003", each as a differently resized and recompressed JPEG, under other names
    transforms = [(0.5, 75), (1.3, 40), (0.32, 30)]
    for i in range(1, 7):
        scale, q = transforms[i % 3]
        _copy(images / f"{i}.png", mit / f"i{1000 + i}.jpeg", scale, q)
    found = match_mit1003(ds, mit)
    assert sorted(found, key=int) == [str(i) for i in range(1, 7)]
    for i in range(1, 7):
        assert found[str(i)].mit1003_file == mit / f"i{1000 + i}.jpeg"
        assert found[str(i)].distance <= MATCH_THRESHOLD
    # images 7-12 are not in the folder: their nearest file is far
    nearest = nearest_mit1003(ds, mit)
    for i in range(7, 13):
        assert nearest[str(i)].distance > MATCH_THRESHOLD
        assert not nearest[str(i)].is_match


def test_mapping_input_and_folder_errors(osie_dir, tmp_path):
    images = osie_dir / "TrainingDataset" / "TrainingData" / "Images"
    with pytest.raises(DataError, match="not a folder"):
        match_mit1003({"1": images / "1.png"}, tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no image files"):
        match_mit1003({"1": images / "1.png"}, tmp_path / "empty")
    (tmp_path / "m").mkdir()
    _copy(images / "2.png", tmp_path / "m" / "a.jpg", 0.7, 60)
    assert list(match_mit1003({"x": images / "2.png", "y": images / "3.png"}, tmp_path / "m")) == ["x"]

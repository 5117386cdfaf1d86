"""Small synthetic datasets for the tests: random integer pixel fixations (+0.5, pixel centres), every
viewer the same number of fixations. One helper, so that each test states only what it varies."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from asdgaze.data.types import Dataset, Fixations, Stimulus


def tiny_dataset(root: Path, n: int = 4, *, h: int = 30, w: int = 40, groups=("ASD", "TD"), n_fix: int = 10,
                 per_viewer: int = 3, seed: int = 5, image_major: bool = True, images: str | None = "imgs",
                 durations: bool = True, write_images: bool = False) -> Dataset:
    """Images "1".."n" of h x w; per image and group ``n_fix`` fixations, viewer k holding fixations
    k*per_viewer ... (the last one fewer when ``n_fix`` is not a multiple). ``image_major``: the random
    draws go image by image (else group by group); ``images``: the sub-folder of ``root`` the image
    paths name (None: ``root`` itself); ``write_images``: also write black PNGs there."""
    rng = np.random.default_rng(seed)
    folder = root / images if images else root
    stimuli = {str(i): Stimulus(str(i), folder / f"{i}.png", h, w) for i in range(1, n + 1)}
    if write_images:
        folder.mkdir(parents=True, exist_ok=True)
        for st in stimuli.values():
            Image.new("RGB", (w, h)).save(st.path)
    fix: dict[str, dict[str, Fixations]] = {g: {} for g in groups}
    pairs = ([(s, g) for s in stimuli for g in groups] if image_major else [(s, g) for g in groups for s in stimuli])
    for s, g in pairs:
        x, y = rng.integers(0, w, n_fix) + 0.5, rng.integers(0, h, n_fix) + 0.5
        viewer = np.arange(n_fix) // per_viewer
        fix[g][s] = Fixations.from_arrays(x, y, np.full(n_fix, 200.0) if durations else None, viewer)
    fix = {g: {s: fix[g][s] for s in stimuli} for g in groups}
    return Dataset("tiny", root, stimuli, fix)


def tiny_s4a(root: Path, sizes: dict[str, tuple[int, int]], fixations: dict[str, dict[str, list[tuple]]],
             annotations: str | None = None) -> Path:
    """A Saliency4ASD-layout folder ``root/TrainingDataset``: black PNGs of ``sizes`` (stem -> (w, h)),
    scanpath files from ``fixations`` (group -> stem -> [(x, y, viewer)], 0-based pixel coordinates, written
    1-based as the release does, Idx restarting at 0 for each viewer) and, when given, the text of
    ``AdditionalData/ImageAnnotations.csv``."""
    top = root / "TrainingDataset"
    images = top / "TrainingData" / "Images"
    images.mkdir(parents=True)
    for stem, (w, h) in sizes.items():
        Image.new("RGB", (w, h)).save(images / f"{stem}.png")
    for group, by_stem in fixations.items():
        folder = top / "TrainingData" / group
        folder.mkdir()
        for stem, points in by_stem.items():
            lines, last, idx = ["Idx, x, y, duration"], None, 0
            for x, y, v in points:
                idx = 0 if v != last else idx + 1
                last = v
                lines.append(f"{idx}, {int(x) + 1}, {int(y) + 1}, 200")
            (folder / f"{group}_scanpath_{stem}.txt").write_text("\r\n".join(lines) + "\r\n")
    if annotations is not None:
        (top / "AdditionalData").mkdir()
        (top / "AdditionalData" / "ImageAnnotations.csv").write_text(annotations)
    return top

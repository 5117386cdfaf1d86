"""Which of a dataset's images are MIT1003 stimuli? Matching by perceptual hash.

DeepGaze IIE was trained on MIT1003 (and its centre bias is MIT1003's), so its scores on images it
was trained on are optimistic. This module measures the overlap: each dataset image and each file
of a folder of MIT1003 stimuli gets a 64-bit DCT perceptual hash (``imagehash.phash``: the image
reduced to 32 x 32 grayscale, the signs of its 8 x 8 lowest DCT frequencies against their median),
which survives resizing and JPEG recompression; two images match when the Hamming distance of their
hashes is at most :data:`MATCH_THRESHOLD`.

Why 10 of 64 bits: resized (0.3x to 1.3x) and JPEG-recompressed (quality 30 to 75) copies of the
OSIE test images stay within 2 bits of their originals, different photographs of the same kind lie
18 bits or more apart, and two unrelated hashes (64 fair coins) come within 10 bits with probability
1e-8. Not covered: crops, padding, mirroring or strong colour changes, which move the hash.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from asdgaze.data._checks import image_files
from asdgaze.data.images import load_image
from asdgaze.data.types import Dataset
from asdgaze.errors import DataError

__all__ = ["MATCH_THRESHOLD", "Match", "image_hash", "hash_folder", "nearest_mit1003", "match_mit1003"]

#: Largest Hamming distance (of 64 bits) between perceptual hashes counted as the same image.
MATCH_THRESHOLD = 10


@dataclass(frozen=True)
class Match:
    """A dataset image's nearest MIT1003 file and the Hamming distance of their hashes (0..64)."""

    stimulus: str
    mit1003_file: Path
    distance: int

    @property
    def is_match(self) -> bool:
        return self.distance <= MATCH_THRESHOLD


def image_hash(path: str | os.PathLike) -> np.ndarray:
    """The 64-bit perceptual hash of an image file, as a bool array of 64. DataError if unreadable."""
    import imagehash
    from PIL import Image

    rgb = load_image(path)  # ImageError (a DataError) naming the file if unreadable
    return np.asarray(imagehash.phash(Image.fromarray(rgb)).hash, dtype=bool).ravel()


def hash_folder(folder: str | os.PathLike) -> dict[Path, np.ndarray]:
    """Perceptual hash of every image file directly inside ``folder`` (by suffix)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder of MIT1003 stimuli")
    files = image_files(folder)
    if not files:
        raise DataError(f"{folder}: no image files in the MIT1003 folder")
    return {p: image_hash(p) for p in files}


def _stimulus_paths(images: Dataset | Mapping[str, str | os.PathLike]) -> dict[str, Path]:
    if isinstance(images, Dataset):
        return {sid: st.path for sid, st in images.stimuli.items()}
    return {str(k): Path(v) for k, v in images.items()}


def nearest_mit1003(images: Dataset | Mapping[str, str | os.PathLike],
                    mit1003_folder: str | os.PathLike) -> dict[str, Match]:
    """For every dataset image (a Dataset, or stem -> image path): its nearest MIT1003 file by hash
    distance, ties going to the first file in name order."""
    mit = hash_folder(mit1003_folder)
    names = sorted(mit, key=lambda p: p.name)
    bank = np.stack([mit[p] for p in names])  # (M, 64)
    out = {}
    for stem, path in _stimulus_paths(images).items():
        d = np.count_nonzero(bank != image_hash(path)[None, :], axis=1)
        k = int(np.argmin(d))  # first minimum: deterministic tie-break
        out[stem] = Match(stem, names[k], int(d[k]))
    return out


def match_mit1003(images: Dataset | Mapping[str, str | os.PathLike], mit1003_folder: str | os.PathLike,
                  threshold: int = MATCH_THRESHOLD) -> dict[str, Match]:
    """The dataset images that are MIT1003 stimuli: stem -> Match, for hash distance <= ``threshold``."""
    return {s: m for s, m in nearest_mit1003(images, mit1003_folder).items() if m.distance <= threshold}

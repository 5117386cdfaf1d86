"""Independent readers used by the data tests (csv module + PIL only; no asdgaze code)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from PIL import Image

GROUPS = ("ASD", "TD")
IDS = [str(i) for i in range(1, 13)]  # tests/reference/osie-s4a holds images 1-12


def parse_scanpath(path: Path) -> list[dict]:
    """Rows of a scanpath file as dicts with int values; keys stripped."""
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh, skipinitialspace=True)
        return [{k.strip(): int(v) for k, v in row.items()} for row in reader]


def count_viewers(rows: list[dict]) -> int:
    """Viewers = number of rows with Idx == 0 (each viewer's scanpath starts at Idx 0)."""
    return sum(1 for r in rows if r["Idx"] == 0)


def read_png(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.array(im)


def save_png(path: Path, width: int, height: int, color=(10, 20, 30)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (width, height), color).save(path)
    return path


def write_scanpath(path: Path, rows: list[tuple]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["Idx, x, y, duration"] + [", ".join(str(v) for v in r) for r in rows]
    path.write_text("\n".join(lines) + "\n")
    return path

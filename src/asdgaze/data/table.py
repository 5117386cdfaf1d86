"""Generic loader: a folder of images plus one fixation table (CSV or TSV).

Table columns (names case-insensitive, surrounding spaces ignored):

- ``image`` (required): an image's file name (``17.png``) or stem (``17``) in the folder;
- ``x``, ``y`` (required): column and row in pixels, 0-based or 1-based as the caller states;
- ``group`` (optional; default: one group ``"all"``);
- ``viewer`` (optional; default 0): integers are kept, other labels are numbered 0, 1, ... in
  sorted order within each group;
- ``duration`` (optional; ms, NaN when missing).

Rows naming an unknown image, rows with an empty/NaN coordinate and points outside the image are
dropped; each kind is counted in one :class:`~asdgaze.data.errors.DataWarning` naming the table.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
import warnings
from pathlib import Path
from typing import Iterable, Literal

from asdgaze.data._checks import read_stimuli
from asdgaze.data.errors import DataError, DataWarning
from asdgaze.data.types import Dataset, Fixations, Stimulus

__all__ = ["DEFAULT_GROUP", "load_table_dataset"]

#: Group name used when the table has no ``group`` column.
DEFAULT_GROUP = "all"

_REQUIRED = ("image", "x", "y")
_INT_RE = re.compile(r"^[+-]?\d+$")


def _pick_delimiter(path: Path, header: str) -> str:
    """Extension first (.tsv/.tab -> tab, .csv -> comma), then whichever delimiter splits the
    header into the required column names."""
    ext = path.suffix.lower()
    order = ["\t", ",", ";"] if ext in (".tsv", ".tab") else [",", "\t", ";"]
    for d in order:
        names = {c.strip().lower() for c in header.split(d)}
        if set(_REQUIRED) <= names:
            return d
    # No delimiter gives the required columns; report with the extension's delimiter.
    return order[0]


def _float_or_nan(value: str, path: Path, lineno: int, column: str) -> float:
    v = value.strip()
    if v == "" or v.lower() in ("nan", "na", "n/a"):
        return math.nan
    try:
        return float(v)
    except ValueError:
        raise DataError(f"table {path}, line {lineno}: column {column!r} is not a number: {value!r}") from None


def _images_in(images_dir: Path) -> dict[str, Stimulus]:
    if not images_dir.is_dir():
        raise DataError(f"images folder {images_dir} does not exist or is not a folder")
    return read_stimuli(images_dir, "images folder")


def load_table_dataset(
    images_dir: str | os.PathLike,
    table_path: str | os.PathLike,
    *,
    coords: Literal["0-based", "1-based"],
    groups: Iterable[str] | None = None,
) -> Dataset:
    """Load a folder of images and one fixation table into a Dataset.

    Coordinates: with ``coords="1-based"`` the table's (x, y) become (x - 1, y - 1); with
    ``"0-based"`` they are kept. A point is kept when 0 <= x < W and 0 <= y < H after that
    (1-based integers: 1..W, 1..H). Stimuli are all images in ``images_dir`` (id = file stem).

    Args:
        images_dir: folder of images (not searched recursively).
        table_path: CSV or TSV file (delimiter from the extension, else sniffed from the header).
        coords: ``"0-based"`` or ``"1-based"``; there is no default because guessing shifts every
            fixation by one pixel.
        groups: groups to keep (default: all groups in the table).

    Raises:
        DataError: missing/unreadable folder, image or table; missing required columns (named);
            a non-numeric value (file and line named); a requested group absent from the table.

    Example:
        >>> import tempfile
        >>> from PIL import Image
        >>> d = Path(tempfile.mkdtemp())
        >>> Image.new("RGB", (4, 3)).save(d / "a.png")
        >>> _ = (d / "fix.csv").write_text("image,x,y\\na.png,1,1\\na,4,3\\n")
        >>> ds = load_table_dataset(d, d / "fix.csv", coords="1-based")
        >>> fx = ds.fixations["all"]["a"]
        >>> fx.x.tolist(), fx.y.tolist()
        ([0.0, 3.0], [0.0, 2.0])
    """
    if coords not in ("0-based", "1-based"):
        raise ValueError(f"coords must be '0-based' or '1-based', got {coords!r}")
    offset = 1.0 if coords == "1-based" else 0.0
    images_dir = Path(images_dir)
    table_path = Path(table_path)
    stimuli = _images_in(images_dir)
    by_name = {s.path.name: sid for sid, s in stimuli.items()}

    try:
        text = table_path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read table {table_path}: {exc}") from exc
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise DataError(f"table {table_path} is empty; expected a header with columns image, x, y")
    delim = _pick_delimiter(table_path, lines[0])
    reader = csv.reader(io.StringIO(text), delimiter=delim)
    header = [c.strip().lower() for c in next(reader)]
    missing = [c for c in _REQUIRED if c not in header]
    if missing:
        raise DataError(
            f"table {table_path}: missing required column(s) {', '.join(missing)} "
            f"(found: {', '.join(header)}; delimiter {delim!r})"
        )
    col = {name: header.index(name) for name in ("image", "x", "y", "group", "viewer", "duration") if name in header}

    # rows[group][stimulus_id] -> list of (x, y, duration, viewer label)
    rows: dict[str, dict[str, list[tuple[float, float, float, str]]]] = {}
    n_rows = n_unknown = n_nan = n_outside = 0
    unknown_examples: list[str] = []
    for lineno, rec in enumerate(reader, start=2):
        if not rec or all(not f.strip() for f in rec):
            continue
        n_rows += 1
        if len(rec) < len(header):
            raise DataError(f"table {table_path}, line {lineno}: expected {len(header)} fields, got {len(rec)}")
        name = rec[col["image"]].strip()
        sid = by_name.get(name) or by_name.get(Path(name).name)
        if sid is None and name in stimuli:  # a file stem
            sid = name
        if sid is None:
            n_unknown += 1
            if len(unknown_examples) < 3 and name not in unknown_examples:
                unknown_examples.append(name)
            continue
        group = rec[col["group"]].strip() if "group" in col else DEFAULT_GROUP
        if group == "":
            raise DataError(f"table {table_path}, line {lineno}: empty group")
        x = _float_or_nan(rec[col["x"]], table_path, lineno, "x")
        y = _float_or_nan(rec[col["y"]], table_path, lineno, "y")
        dur = _float_or_nan(rec[col["duration"]], table_path, lineno, "duration") if "duration" in col else math.nan
        viewer = rec[col["viewer"]].strip() if "viewer" in col else "0"
        if math.isnan(x) or math.isnan(y):
            n_nan += 1
            continue
        x -= offset
        y -= offset
        st = stimuli[sid]
        if not (0.0 <= x < st.width and 0.0 <= y < st.height):
            n_outside += 1
            continue
        rows.setdefault(group, {}).setdefault(sid, []).append((x, y, dur, viewer))

    if n_unknown or n_nan or n_outside:
        parts = []
        if n_unknown:
            parts.append(f"{n_unknown} naming images not in {images_dir} (e.g. {', '.join(map(repr, unknown_examples))})")
        if n_outside:
            parts.append(f"{n_outside} outside their image ({coords} coordinates)")
        if n_nan:
            parts.append(f"{n_nan} with a missing coordinate")
        warnings.warn(f"{table_path}: dropped {n_unknown + n_nan + n_outside} of {n_rows} rows: "
                      + "; ".join(parts), DataWarning, stacklevel=2)

    if not rows:
        raise DataError(f"table {table_path}: no usable fixation rows ({n_rows} read, all dropped)")
    wanted = sorted(rows) if groups is None else list(groups)
    if not wanted:
        raise ValueError("groups is empty; pass None for every group")
    absent = [g for g in wanted if g not in rows]
    if absent:
        raise DataError(f"table {table_path}: no fixations for group(s) {', '.join(absent)} "
                        f"(groups with fixations: {', '.join(sorted(rows)) or 'none'})")
    fixations: dict[str, dict[str, Fixations]] = {}
    for g in wanted:
        labels = {r[3] for per in rows[g].values() for r in per}
        if all(_INT_RE.match(v) for v in labels):
            code = {v: int(v) for v in labels}
        else:
            code = {v: i for i, v in enumerate(sorted(labels))}
        fixations[g] = {}
        for sid in stimuli:
            if sid in rows[g]:
                arr = rows[g][sid]
                fixations[g][sid] = Fixations.from_arrays(
                    [r[0] for r in arr], [r[1] for r in arr], [r[2] for r in arr], [code[r[3]] for r in arr]
                )
    return Dataset(name=table_path.stem, root=images_dir, stimuli=stimuli, fixations=fixations)

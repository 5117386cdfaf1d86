"""Generic loader: a folder of images plus one fixation table (CSV or TSV).

Table columns (names case-insensitive, surrounding spaces ignored):

- ``image`` (required): an image's file name (``17.png``) or stem (``17``) in the folder;
- ``x``, ``y`` (required): column and row in pixels, 0-based or 1-based as the caller states;
- ``group`` (optional; default: one group ``"all"``);
- ``viewer`` (optional; default 0): integers (ASCII digits, within int64) are kept, other labels
  are numbered 0, 1, ... in sorted order within each group;
- ``duration`` (optional; ms, NaN when missing).

Rows with an empty/NaN coordinate and points outside the image are dropped and counted in one
:class:`~asdgaze.data.errors.DataWarning` naming the table. A row that cannot be parsed, or that
names an image missing from the folder, puts its (image, group) into ``Dataset.problems`` as
"<table>: line N: <problem>"; the other pairs load normally. Image paths that leave the folder
(absolute, a drive, '..') are refused with a DataError naming the line (the table is untrusted
input). Details: :func:`load_table_dataset`.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
import warnings
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Iterable, Literal

from asdgaze.data._checks import image_files, read_stimuli, stimulus_sort_key
from asdgaze.data.errors import DataError, DataWarning
from asdgaze.data.types import Dataset, Fixations

__all__ = ["DEFAULT_GROUP", "load_table_dataset"]

#: Group name used when the table has no ``group`` column.
DEFAULT_GROUP = "all"

_REQUIRED = ("image", "x", "y")
_INT_RE = re.compile(r"^[+-]?[0-9]+$")


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


class _RowProblem(Exception):
    """A row whose values cannot be used; the message is "line N: <problem>"."""


def _float_or_nan(value: str, lineno: int, column: str) -> float:
    v = value.strip()
    if v == "" or v.lower() in ("nan", "na", "n/a"):
        return math.nan
    try:
        return float(v)
    except ValueError:
        raise _RowProblem(f"line {lineno}: column {column!r} is not a number: {v[:40]!r}") from None


def _check_inside(name: str, table_path: Path, lineno: int, images_dir: Path) -> None:
    """A table names images inside the images folder only: no absolute path, drive or '..'."""
    for pure in (PurePosixPath(name), PureWindowsPath(name)):
        if pure.is_absolute() or pure.drive or pure.root or ".." in pure.parts:
            raise DataError(
                f"{table_path}: line {lineno}: image {name[:80]!r} points outside the images folder "
                f"{images_dir} (absolute path or '..'); name images by file name (17.png) or stem (17)"
            )


def _resolve(name: str, by_name: dict[str, str], stems: set[str]) -> str | None:
    """The image id a table's ``image`` value names: a file name, a stem, or a relative path ending in one."""
    if name in by_name:
        return by_name[name]
    if name in stems:
        return name
    base = PureWindowsPath(name).name  # also splits on '/'
    return by_name.get(base)


def load_table_dataset(
    images_dir: str | os.PathLike,
    table_path: str | os.PathLike,
    *,
    coords: Literal["0-based", "1-based"],
    groups: Iterable[str] | None = None,
    max_pixels: int | None = None,
) -> Dataset:
    """Load a folder of images and one fixation table into a Dataset.

    Coordinates: with ``coords="1-based"`` the table's (x, y) become (x - 1, y - 1); with
    ``"0-based"`` they are kept. A point is kept when 0 <= x < W and 0 <= y < H after that
    (1-based integers: 1..W, 1..H). Stimuli are all readable images in ``images_dir`` (id = file
    stem).

    What happens to bad input (nothing is lost silently):

    - a value that is not a number, or a short row: that (image, group) goes into
      ``problems[group][image]`` as "<table>: line N: <problem>" and is absent from ``fixations``;
    - a row naming an image that is not in the folder: ``problems[group][stem]`` names the table,
      the line and the image;
    - an image whose size cannot be read: left out of ``stimuli``, in ``problems[g][id]`` for every
      group; a damaged image whose header gives the size is kept with a line in ``notes``;
    - rows with an empty/NaN coordinate and points outside the image are dropped and counted in
      one :class:`~asdgaze.data.errors.DataWarning` naming the table;
    - an image path that leaves the folder (absolute, a drive, '..'), a row too short to name its
      image and group, an empty group, or a file that is not a table: DataError naming the line.

    Args:
        images_dir: folder of images (not searched recursively).
        table_path: CSV or TSV file (delimiter from the extension, else sniffed from the header).
        coords: ``"0-based"`` or ``"1-based"``; there is no default because guessing shifts every
            fixation by one pixel.
        groups: groups to keep (default: all groups in the table).
        max_pixels: largest image accepted (default ``$ASDGAZE_MAX_PIXELS`` or 89,478,485).

    Raises:
        DataError: missing/unreadable folder or table; missing required columns (named); the
            row errors above (file and line named); a requested group absent from the table (the
            groups present are listed).

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
    if not images_dir.is_dir():
        raise DataError(f"{images_dir}: images folder does not exist or is not a folder")
    stimuli, unreadable, notes = read_stimuli(images_dir, "images folder", max_pixels=max_pixels)
    by_name = {p.name: p.stem for p in image_files(images_dir)}
    stems = set(by_name.values())

    try:
        text = table_path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{table_path}: cannot read table ({exc})") from None
    if not text.strip():
        raise DataError(f"{table_path}: empty table; expected a header with columns image, x, y")
    first_line = text.replace("\r", "\n").split("\n", 1)[0]
    delim = _pick_delimiter(table_path, first_line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    try:
        header = [c.strip().lower() for c in next(reader)]
    except csv.Error as exc:
        raise DataError(f"{table_path}: line 1: not a readable table header ({exc})") from None
    missing = [c for c in _REQUIRED if c not in header]
    if missing:
        found = ", ".join(repr(h[:40]) for h in header[:20])
        raise DataError(
            f"{table_path}: missing required column(s) {', '.join(missing)} "
            f"(found: {found}; delimiter {delim!r})"
        )
    col = {name: header.index(name) for name in ("image", "x", "y", "group", "viewer", "duration") if name in header}
    key_width = max(col["image"], col.get("group", 0)) + 1

    # rows[group][stimulus_id] -> list of (x, y, duration, viewer label)
    rows: dict[str, dict[str, list[tuple[float, float, float, str]]]] = {}
    problems: dict[str, dict[str, str]] = {}
    seen_groups: set[str] = set()
    n_rows = n_nan = n_outside = 0
    while True:
        try:
            rec = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise DataError(f"{table_path}: line {reader.line_num}: not a readable table row ({exc})") from None
        lineno = reader.line_num
        if not rec or all(not f.strip() for f in rec):
            continue
        n_rows += 1
        if len(rec) < key_width:
            raise DataError(f"{table_path}: line {lineno}: expected {len(header)} fields, got {len(rec)}")
        name = rec[col["image"]].strip()
        group = rec[col["group"]].strip() if "group" in col else DEFAULT_GROUP
        if name == "":
            raise DataError(f"{table_path}: line {lineno}: empty image name")
        if group == "":
            raise DataError(f"{table_path}: line {lineno}: empty group")
        _check_inside(name, table_path, lineno, images_dir)
        seen_groups.add(group)
        sid = _resolve(name, by_name, stems)
        bad = problems.setdefault(group, {})
        if sid is None:
            key = PureWindowsPath(name).stem or name
            bad.setdefault(key, f"{table_path}: line {lineno}: image {name[:80]!r} is not in {images_dir}")
            continue
        if sid in bad or sid in unreadable:
            continue
        try:
            if len(rec) < len(header):
                raise _RowProblem(f"line {lineno}: expected {len(header)} fields, got {len(rec)}")
            x = _float_or_nan(rec[col["x"]], lineno, "x")
            y = _float_or_nan(rec[col["y"]], lineno, "y")
            dur = _float_or_nan(rec[col["duration"]], lineno, "duration") if "duration" in col else math.nan
        except _RowProblem as exc:
            bad[sid] = f"{table_path}: {exc}"
            continue
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

    if n_nan or n_outside:
        parts = []
        if n_outside:
            parts.append(f"{n_outside} outside their image ({coords} coordinates)")
        if n_nan:
            parts.append(f"{n_nan} with a missing coordinate")
        warnings.warn(f"{table_path}: dropped {n_nan + n_outside} of {n_rows} rows: "
                      + "; ".join(parts), DataWarning, stacklevel=2)

    if not seen_groups or (not rows and not any(problems.values())):
        raise DataError(f"{table_path}: no usable fixation rows ({n_rows} read, all dropped)")
    wanted = sorted(seen_groups) if groups is None else list(groups)
    if not wanted:
        raise ValueError("groups is empty; pass None for every group")
    absent = [g for g in wanted if g not in seen_groups]
    if absent:
        raise DataError(f"{table_path}: no rows for group(s) {', '.join(absent)} "
                        f"(groups in the table: {', '.join(sorted(seen_groups))}; "
                        "choose with --groups, from Python groups=)")
    fixations: dict[str, dict[str, Fixations]] = {}
    out_problems: dict[str, dict[str, str]] = {}
    for g in wanted:
        bad = {**problems.get(g, {}), **unreadable}
        if bad:
            out_problems[g] = dict(sorted(bad.items(), key=lambda kv: stimulus_sort_key(kv[0])))
        per = {sid: r for sid, r in rows.get(g, {}).items() if sid not in bad}
        labels = {r[3] for arr in per.values() for r in arr}
        if all(_INT_RE.match(v) and abs(int(v)) < 2**63 for v in labels):  # fits the int64 array
            code = {v: int(v) for v in labels}
        else:
            code = {v: i for i, v in enumerate(sorted(labels))}
        fixations[g] = {}
        for sid in stimuli:
            if sid in per:
                arr = per[sid]
                fixations[g][sid] = Fixations.from_arrays(
                    [r[0] for r in arr], [r[1] for r in arr], [r[2] for r in arr], [code[r[3]] for r in arr]
                )
    return Dataset(name=table_path.stem, root=images_dir, stimuli=stimuli, fixations=fixations,
                   problems=out_problems, notes=notes, fixations_source={g: str(table_path) for g in wanted})

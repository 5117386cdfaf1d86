"""Generic loader: a folder of images plus one fixation table (CSV or TSV).

Table columns (names case-insensitive, surrounding spaces ignored):

- ``image`` (required): an image's file name (``17.png``) or stem (``17``) in the folder, or its
  path inside the folder (``a/17.png``: image ``a/17``; see :mod:`asdgaze.data.table_images`);
- ``x``, ``y`` (required): column and row in pixels, 0-based or 1-based as the caller states;
- ``group`` (optional; default: one group ``"all"``);
- ``viewer`` (optional; default 0): ids are compared as the values they denote (``1``, ``1.0``
  and ``01`` are one viewer; text such as ``P01`` as text). Whole numbers within int64 are kept,
  other ids are numbered 0, 1, ... in sorted order within each group;
- ``duration`` (optional; ms, NaN when missing).

A column named twice, or two group names that differ only in case, is a DataError. Rows with an
empty/NaN coordinate or viewer id and points outside the image are dropped and counted in one
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
import unicodedata
import warnings
from decimal import Decimal
from pathlib import Path
from typing import Iterable, Literal

from asdgaze.data._checks import stimulus_sort_key
from asdgaze.data.errors import DataError, DataWarning
from asdgaze.data.table_images import TableImages
from asdgaze.data.types import Dataset, Fixations

__all__ = ["DEFAULT_GROUP", "load_table_dataset"]

#: Group name used when the table has no ``group`` column.
DEFAULT_GROUP = "all"

_REQUIRED = ("image", "x", "y")
_COLUMNS = ("image", "x", "y", "group", "viewer", "duration")
_MISSING = ("", "nan", "na", "n/a")
# A number as tables write it (ASCII only: float() would also take '1_0' and other scripts' digits).
_NUMBER_RE = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


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


def _columns(header: list[str], table_path: Path) -> dict[str, int]:
    """Index of each column read; a column named twice is refused (which one holds the data?)."""
    col: dict[str, int] = {}
    for i, name in enumerate(header):
        if name in _COLUMNS:
            if name in col:
                raise DataError(f"{table_path}: line 1: column {name!r} appears twice (columns {col[name] + 1} "
                                f"and {i + 1}; names are compared ignoring case and spaces); keep one")
            col[name] = i
    return col


def _fold(label: str) -> str:
    return unicodedata.normalize("NFC", label).casefold()


def _check_group_names(first_line: dict[str, int], table_path: Path) -> None:
    """Group names that differ only in case (or Unicode form) are one group misspelt: refused."""
    seen: dict[str, str] = {}
    for g in sorted(first_line, key=lambda g: first_line[g]):
        other = seen.setdefault(_fold(g), g)
        if other != g:
            raise DataError(f"{table_path}: line {first_line[g]}: group {g[:40]!r} differs from group "
                            f"{other[:40]!r} (line {first_line[other]}) only in case; spell each group one way")


def _viewer_codes(labels: set[str]) -> tuple[dict[str, int], str]:
    """Viewer id -> int64 code, and what to tell the user about a mix of ids ("" when nothing).

    Ids are compared as the values they denote: numbers by value (``1`` = ``1.0`` = ``01``), text
    as text. Whole numbers within int64 are kept; otherwise each distinct id is numbered in sorted
    order of its first spelling (for ids that all differ, the sorted order of the ids).
    """
    value: dict[str, object] = {v: Decimal(v) if _NUMBER_RE.fullmatch(v) else v for v in labels}
    if all(isinstance(k, Decimal) and k.copy_abs() < 2**63 and int(k) == k for k in value.values()):
        return {v: int(k) for v, k in value.items()}, ""
    index: dict[object, int] = {}
    for v in sorted(labels):
        index.setdefault(value[v], len(index))
    numbers = sorted(v for v, k in value.items() if isinstance(k, Decimal))
    texts = sorted(v for v, k in value.items() if not isinstance(k, Decimal))
    said = []
    if numbers and texts:
        said.append(f"viewer ids mix numbers ({', '.join(repr(v[:20]) for v in numbers[:3])}) and text "
                    f"({', '.join(repr(v[:20]) for v in texts[:3])}): each distinct id is one viewer")
    folded: dict[str, str] = {}
    for v in texts:
        other = folded.setdefault(_fold(v), v)
        if other != v:
            said.append(f"viewer ids {other[:20]!r} and {v[:20]!r} differ only in case: two viewers")
            break
    return {v: index[k] for v, k in value.items()}, "; ".join(said)


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
    (1-based integers: 1..W, 1..H). Stimuli are all readable images directly in ``images_dir`` (id =
    file stem) and those in its sub-folders that the table names (id = path without extension,
    ``a/17``).

    What happens to bad input (nothing is lost silently):

    - a value that is not a number, or a short row: that (image, group) goes into
      ``problems[group][image]`` as "<table>: line N: <problem>" and is absent from ``fixations``;
    - a row naming an image that is not in the folder (a path with folders means that file only):
      ``problems[group][id]`` names the table, the line and the image;
    - an image whose size cannot be read: left out of ``stimuli``, in ``problems[g][id]`` for every
      group; a damaged image whose header gives the size is kept with a line in ``notes``;
    - rows with an empty/NaN coordinate or viewer id and points outside the image are dropped and
      counted in one :class:`~asdgaze.data.errors.DataWarning` naming the table;
    - viewer ids that mix numbers and text, or text ids that differ only in case: a line in
      ``notes`` (each distinct id is one viewer);
    - an image path that leaves the folder (absolute, a drive, '..'), a row too short to name its
      image and group, an empty group, group names that differ only in case, a column named twice,
      or a file that is not a table: DataError naming the line.

    Args:
        images_dir: folder of images (sub-folders only where the table names them).
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
    images = TableImages(images_dir, max_pixels)
    stimuli, unreadable = images.stimuli, images.unreadable

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
    col = _columns(header, table_path)
    unread = [h for h in header if h and h not in _COLUMNS]
    if "viewer" not in col and unread:  # a 'subject' column would otherwise go unseen
        images.notes.append(f"{table_path}: no 'viewer' column: the fixations of one image and group are "
                            f"one viewer (columns not read: {', '.join(repr(h[:20]) for h in unread[:5])}"
                            f"{', ...' if len(unread) > 5 else ''})")
    key_width = max(col["image"], col.get("group", 0)) + 1

    # rows[group][stimulus_id] -> list of (x, y, duration, viewer label)
    rows: dict[str, dict[str, list[tuple[float, float, float, str]]]] = {}
    problems: dict[str, dict[str, str]] = {}
    seen_groups: dict[str, int] = {}  # group -> its first line
    n_rows = n_nan = n_outside = n_no_viewer = 0
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
        sid = images.resolve(name, f"{table_path}: line {lineno}")
        seen_groups.setdefault(group, lineno)
        bad = problems.setdefault(group, {})
        if sid is None:
            key, hint = images.missing(name)
            bad.setdefault(key, f"{table_path}: line {lineno}: image {name[:80]!r} is not in {images_dir}{hint}")
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
        if viewer.lower() in _MISSING:
            n_no_viewer += 1
            continue
        x -= offset
        y -= offset
        st = stimuli[sid]
        if not (0.0 <= x < st.width and 0.0 <= y < st.height):
            n_outside += 1
            continue
        rows.setdefault(group, {}).setdefault(sid, []).append((x, y, dur, viewer))

    stimuli = images.finish()
    _check_group_names(seen_groups, table_path)
    if n_nan or n_outside or n_no_viewer:
        parts = []
        if n_outside:
            parts.append(f"{n_outside} outside their image ({coords} coordinates)")
        if n_nan:
            parts.append(f"{n_nan} with a missing coordinate")
        if n_no_viewer:
            parts.append(f"{n_no_viewer} with a missing viewer id")
        warnings.warn(f"{table_path}: dropped {n_nan + n_outside + n_no_viewer} of {n_rows} rows: "
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
        code, said = _viewer_codes({r[3] for arr in per.values() for r in arr})
        if said:
            images.notes.append(f"{table_path}: group {g!r}: {said}")
        fixations[g] = {}
        for sid in stimuli:
            if sid in per:
                arr = per[sid]
                fixations[g][sid] = Fixations.from_arrays(
                    [r[0] for r in arr], [r[1] for r in arr], [r[2] for r in arr], [code[r[3]] for r in arr]
                )
    return Dataset(name=table_path.stem, root=images_dir, stimuli=stimuli, fixations=fixations,
                   problems=out_problems, notes=images.notes, fixations_source={g: str(table_path) for g in wanted})

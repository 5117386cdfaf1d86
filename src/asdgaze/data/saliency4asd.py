"""Loader for the Saliency4ASD training set (Duan et al., ACM MMSys 2019).

Layout (see ``docs/specs/saliency4asd.md``)::

    TrainingDataset/
      TrainingData/Images/<n>.png, <G>/<G>_scanpath_<n>.txt, <G>_FixMaps/<n>_s.png
      AdditionalData/<G>_FixPts/<n>_f.png, <G>_HeatMaps/<n>_h.png

The parts are found by folder name anywhere below the given path, so ``TrainingDataset/``,
``TrainingData/`` or a flattened copy all work. Groups are the folders ``<G>`` that hold
``<G>_scanpath_<n>.txt`` files (ASD and TD in the release).

Scanpath files are the primary source: CSV with header ``Idx, x, y, duration``; a new viewer
starts where Idx does not increase (Idx <= previous Idx); x (column) and y (row) are 1-based
integer pixels and become 0-based floats x - 1, y - 1. Points outside 1..W, 1..H are dropped;
each file with dropped points gives one :class:`~asdgaze.data.errors.DataWarning`.
"""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np
from PIL import Image

from asdgaze.data._checks import open_image, read_stimuli, stimulus_sort_key, warn_dropped
from asdgaze.data.errors import DataError, DataWarning
from asdgaze.data.types import Dataset, Fixations, Stimulus

__all__ = ["find_saliency4asd_parts", "load_saliency4asd", "read_scanpath", "Saliency4ASDParts"]

_SCANPATH_RE = re.compile(r"^(?P<group>.+)_scanpath_(?P<id>.+)\.txt$", re.IGNORECASE)
_SCANPATH_COLUMNS = ("idx", "x", "y", "duration")
_RELEASE_GROUPS = ("ASD", "TD")


@dataclass(frozen=True)
class Saliency4ASDParts:
    """Where the parts of a Saliency4ASD copy were found.

    images: the ``Images`` folder. scanpaths[G]: the folder holding ``G_scanpath_<n>.txt``
    (named ``G`` in the release). fixmaps[G]: the ``G_FixMaps`` folder; fixpts[G]: the
    ``G_FixPts`` folder (either may be absent for a group).
    """

    root: Path
    images: Path
    scanpaths: dict[str, Path]
    fixmaps: dict[str, Path]
    fixpts: dict[str, Path]
    #: group -> a folder that shows the group exists (``G/``, ``G_FixMaps/``, ``G_FixPts/``,
    #: ``G_HeatMaps/``), for every group seen, with or without scanpath files.
    evidence: dict[str, Path] = field(default_factory=dict)


def _walk_dirs(root: Path) -> Iterable[tuple[Path, list[str]]]:
    """Every folder below root (root included) with its file names; hidden folders skipped.

    Symlinked folders are followed (a flattened copy may be made of links), each real folder once.
    """
    seen: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen:
            dirnames[:] = []
            continue
        seen.add(real)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        yield Path(dirpath), filenames


def _one(found: list[Path], what: str, root: Path) -> Path | None:
    if len(found) > 1:
        listing = ", ".join(str(p) for p in found)
        raise DataError(f"{root}: found several {what} folders ({listing}); point at a folder that holds only one")
    return found[0] if found else None


def find_saliency4asd_parts(path: str | os.PathLike) -> Saliency4ASDParts:
    """Locate Images/, the scanpath folders and the fixation-map folders below ``path``.

    Raises DataError naming what is missing and what was searched: no folder, no ``Images``
    folder, or no ``<G>/<G>_scanpath_<n>.txt`` folder at all.

    Example:
        >>> from asdgaze.data import demo_dataset_path
        >>> parts = find_saliency4asd_parts(demo_dataset_path())
        >>> parts.images.name, sorted(parts.scanpaths)
        ('Images', ['ASD', 'TD'])
    """
    root = Path(path)
    if not root.exists():
        raise DataError(f"{root}: dataset folder does not exist")
    if not root.is_dir():
        raise DataError(f"{root}: not a folder; expected a Saliency4ASD TrainingDataset/ or TrainingData/ folder")
    images: list[Path] = []
    scan: dict[str, list[Path]] = {}
    maps: dict[str, list[Path]] = {}
    pts: dict[str, list[Path]] = {}
    evidence: dict[str, Path] = {}
    for d, files in _walk_dirs(root):
        name = d.name
        if name.lower() == "images":
            images.append(d)
        # Any folder holding <G>_scanpath_<n>.txt files is the scanpath folder of group G (in the
        # release it is named G; a flattened copy may keep several groups in one folder).
        for g in sorted({m.group("group") for m in map(_SCANPATH_RE.match, files) if m}):
            scan.setdefault(g, []).append(d)
        for suffix, table in (("_FixMaps", maps), ("_FixPts", pts), ("_HeatMaps", None)):
            if name.lower().endswith(suffix.lower()) and len(name) > len(suffix):
                evidence.setdefault(name[: -len(suffix)], d)
                if table is not None:
                    table.setdefault(name[: -len(suffix)], []).append(d)
        if name in _RELEASE_GROUPS:  # the release's group folders, even when empty
            evidence.setdefault(name, d)
    img_dir = _one(images, "Images", root)
    if img_dir is None:
        raise DataError(
            f"{root}: no 'Images' folder found under it (searched every subfolder for a folder named Images "
            "holding <n>.png; expected TrainingDataset/TrainingData/Images/)"
        )
    if not scan:
        raise DataError(
            f"{root}: no scanpath folder found under it (searched every subfolder for a folder <G> holding "
            "<G>_scanpath_<n>.txt, e.g. TrainingData/ASD/ASD_scanpath_1.txt and TrainingData/TD/TD_scanpath_1.txt)"
        )
    scanpaths = {g: _one(dirs, f"{g} scanpath", root) for g, dirs in sorted(scan.items())}
    for g, d in scanpaths.items():
        evidence.setdefault(g, d)
    fixmaps = {g: _one(dirs, f"{g}_FixMaps", root) for g, dirs in maps.items() if g in scanpaths}
    fixpts = {g: _one(dirs, f"{g}_FixPts", root) for g, dirs in pts.items() if g in scanpaths}
    return Saliency4ASDParts(root, img_dir, scanpaths, fixmaps, fixpts, dict(sorted(evidence.items())))


def read_scanpath(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Parse one Saliency4ASD scanpath file, with no bounds check.

    Returns (x, y, duration, viewer) as float64, float64, float64, int64 arrays, where x, y are
    the file's raw 1-based pixel coordinates (column, row), duration is in ms, and viewer counts
    from 0, increasing each time Idx does not increase (Idx <= previous Idx).

    Blank lines are skipped; a UTF-8 BOM and Windows (CRLF) line endings are accepted.

    Raises DataError "<file>: <problem>" (with the line number for a row) for an unreadable or
    empty file, a wrong header, a short row or a value that is not a finite number.

    Example:
        >>> from asdgaze.data import demo_dataset_path
        >>> p = next(demo_dataset_path().rglob("ASD_scanpath_1.txt"))
        >>> x, y, d, v = read_scanpath(p)
        >>> int(x[0]), int(y[0]), int(d[0]), int(v[0])
        (396, 266, 246, 0)
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read scanpath file ({exc})") from None
    # Only \r and \n end a line (str.splitlines also splits on \x0b, \x1c, U+2028, ...).
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if not text.strip():
        raise DataError(f"{path}: empty scanpath file; expected the header 'Idx, x, y, duration'")
    header = [h.strip().lower() for h in lines[0].split(",")]
    if tuple(header[:4]) != _SCANPATH_COLUMNS:
        raise DataError(
            f"{path}: header is {lines[0].strip()[:80]!r}; expected 'Idx, x, y, duration'"
        )
    rows: list[tuple[float, float, float, float]] = []
    for lineno, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        parts = line.split(",")
        if len(parts) < 4:
            raise DataError(f"{path}: line {lineno}: expected 4 values, got {line.strip()[:80]!r}")
        try:
            vals = tuple(float(p) for p in parts[:4])
        except ValueError:
            raise DataError(f"{path}: line {lineno}: not a number in {line.strip()[:80]!r}") from None
        if not all(np.isfinite(vals)):
            raise DataError(f"{path}: line {lineno}: non-finite value in {line.strip()[:80]!r}")
        rows.append(vals)
    if not rows:
        z = np.zeros(0)
        return z, z.copy(), z.copy(), np.zeros(0, dtype=np.int64)
    arr = np.asarray(rows, dtype=np.float64)
    idx = arr[:, 0]
    new_viewer = np.concatenate([[False], idx[1:] <= idx[:-1]])
    viewer = np.cumsum(new_viewer).astype(np.int64)
    return arr[:, 1], arr[:, 2], arr[:, 3], viewer


def _load_scanpath(path: Path, height: int, width: int) -> Fixations:
    """Scanpath file -> Fixations in 0-based coordinates, out-of-image points dropped (one warning)."""
    x, y, duration, viewer = read_scanpath(path)
    keep = (x >= 1) & (x <= width) & (y >= 1) & (y <= height)
    warn_dropped(path, int((~keep).sum()), len(x), f"fixations outside the {width}x{height} (WxH) image")
    return Fixations(x[keep] - 1.0, y[keep] - 1.0, duration[keep], viewer[keep])


def _files_by_id(folder: Path, pattern: re.Pattern) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for p in sorted(folder.iterdir()):
        m = pattern.match(p.name)
        if m and p.is_file():
            out[m.group("id")] = p
    return out


def _groups_option(groups: list[str]) -> str:
    return f"--groups {','.join(groups)} (from Python: groups={groups!r})"


def _check_groups(parts: Saliency4ASDParts, groups: Iterable[str] | None) -> list[str]:
    """The groups to load; DataError for a group the layout shows but whose scanpaths are missing."""
    complete = list(parts.scanpaths)
    if groups is not None:
        wanted = list(groups)
        if not wanted:
            raise ValueError("groups is empty; pass None for every group")
        absent = [g for g in wanted if g not in parts.scanpaths]
        if absent:
            raise DataError(
                f"{parts.root}: no scanpath files for group(s) {', '.join(absent)}; groups with scanpath "
                f"files: {', '.join(complete)} (searched for <G>/<G>_scanpath_<n>.txt)"
            )
        return wanted
    broken = [g for g in parts.evidence if g not in parts.scanpaths]
    if broken:
        lines = []
        for g in broken:
            seen = parts.evidence[g]
            folder = seen if seen.name == g else parts.images.parent / g
            lines.append(f"{folder}: missing {g} scanpath files ({g}_scanpath_<n>.txt); the layout shows "
                         f"group {g} ({seen} exists)")
        raise DataError("; ".join(lines) + ". Restore the folder, or score only the complete groups with "
                        + _groups_option(complete))
    return complete


def load_saliency4asd(
    path: str | os.PathLike,
    groups: Iterable[str] | None = None,
    *,
    check_fixpts: bool = False,
    max_pixels: int | None = None,
) -> Dataset:
    """Load a Saliency4ASD copy (``TrainingDataset/``, ``TrainingData/`` or flattened).

    Stimuli are the files in ``Images`` (id = file stem; numeric stems in numeric order), each
    with its own size read from the file. ``fixations[G][id]`` comes from ``G_scanpath_<id>.txt``
    (0-based x = column - 1, y = row - 1; out-of-image points dropped with one DataWarning per
    file). ``fixation_maps[G][id]`` is the path of ``G_FixMaps/<id>_s.png`` where present and of
    the image's size.

    No pair is lost silently. A problem with one (image, group) pair is recorded in
    ``problems[G][id]`` as "<file>: <problem>" and that pair is absent from ``fixations``; every
    other pair loads normally:

    - the scanpath file is missing, empty, or unparsable (the line is named);
    - the image's size cannot be read (missing/zero-byte/corrupt header, over the pixel limit):
      the image is left out of ``stimuli`` and recorded for every group;
    - a scanpath file names an image that is not in ``Images``.

    ``notes`` lists what was repaired: an image whose pixel data is damaged but whose header gave
    the size (scoring needs only the size), a shipped ``N_s.png`` of the wrong size or unreadable
    (not used; the map is rebuilt from the scanpath with the Saliency4ASD recipe), a header-only
    scanpath file (the group has no fixation on that image), a map for an unknown image.

    Args:
        path: folder to search.
        groups: group names to load (default: every group found, e.g. ``["ASD", "TD"]``).
        check_fixpts: also read every ``G_FixPts/<id>_f.png`` (about 5 ms each) and warn
            (DataWarning, one per file) where its fixated pixels (> 0) differ from the
            scanpath's binary map.
        max_pixels: largest image accepted (default ``$ASDGAZE_MAX_PIXELS`` or 89,478,485).

    Raises:
        DataError: a missing part (named, with what was searched); a group that the layout shows
            (``G/``, ``G_FixMaps/``, ...) but whose scanpath files are missing, unless ``groups``
            leaves it out; a requested group that is not there (the groups found are listed).

    Example:
        >>> from asdgaze.data import demo_dataset_path
        >>> ds = load_saliency4asd(demo_dataset_path())
        >>> ds.groups, len(ds), ds.stimuli["1"].shape
        (['ASD', 'TD'], 8, (600, 800))
        >>> fx = ds.fixations["ASD"]["1"]
        >>> float(fx.x[0]), float(fx.y[0])  # file row "0, 396, 266, 246"
        (395.0, 265.0)
        >>> ds.problems, ds.notes
        ({}, [])
    """
    parts = find_saliency4asd_parts(path)
    wanted = _check_groups(parts, groups)
    stimuli, unreadable, notes = read_stimuli(parts.images, "Images folder", max_pixels=max_pixels)

    fixations: dict[str, dict[str, Fixations]] = {}
    fixation_maps: dict[str, dict[str, Path]] = {}
    problems: dict[str, dict[str, str]] = {}
    for g in wanted:
        pattern = re.compile(rf"^{re.escape(g)}(?i:_scanpath_)(?P<id>.+)(?i:\.txt)$")
        files = _files_by_id(parts.scanpaths[g], pattern)
        bad: dict[str, str] = dict(unreadable)
        for sid in sorted(set(files) - set(stimuli) - set(unreadable), key=stimulus_sort_key):
            bad[sid] = (f"{parts.images / sid}.<ext>: missing image ({files[sid].name} has fixations for "
                        f"image {sid!r}, which is not in {parts.images})")
        fixations[g] = {}
        for sid, st in stimuli.items():
            f = files.get(sid)
            if f is None:
                bad[sid] = (f"{parts.scanpaths[g] / f'{g}_scanpath_{sid}.txt'}: missing "
                            f"(no {g} fixations for image {st.path.name})")
                continue
            try:
                fixations[g][sid] = _load_scanpath(f, st.height, st.width)
            except DataError as exc:
                bad[sid] = str(exc)
                continue
            if len(fixations[g][sid]) == 0 and not _has_rows(f):
                notes.append(f"{f}: header only, so group {g} has no fixation on image {sid}")
        if bad:
            problems[g] = dict(sorted(bad.items(), key=lambda kv: stimulus_sort_key(kv[0])))
        if g in parts.fixmaps:
            fixation_maps[g] = _usable_fixmaps(parts.fixmaps[g], stimuli, notes)
        if check_fixpts and g in parts.fixpts:
            pts = _files_by_id(parts.fixpts[g], re.compile(r"^(?P<id>.+)_f\.png$", re.IGNORECASE))
            for sid, p in pts.items():
                if sid in fixations[g]:
                    _check_fixpts(p, fixations[g][sid], stimuli[sid])
    return Dataset(name="saliency4asd", root=Path(path), stimuli=stimuli, fixations=fixations,
                   fixation_maps=fixation_maps, problems=problems, notes=notes,
                   fixations_source={g: str(parts.scanpaths[g] / f"{g}_scanpath_<image>.txt") for g in wanted})


def _has_rows(path: Path) -> bool:
    """True when a scanpath file has any line after its header (all of them dropped as outside)."""
    lines = path.read_text(encoding="utf-8-sig").replace("\r", "\n").split("\n")
    return any(line.strip() for line in lines[1:])


def _usable_fixmaps(folder: Path, stimuli: dict[str, Stimulus], notes: list[str]) -> dict[str, Path]:
    """Shipped ``N_s.png`` maps whose header reads and whose size equals the image's; a note for the rest."""
    maps = _files_by_id(folder, re.compile(r"^(?P<id>.+)_s\.png$", re.IGNORECASE))
    out: dict[str, Path] = {}
    for sid, p in sorted(maps.items(), key=lambda kv: stimulus_sort_key(kv[0])):
        st = stimuli.get(sid)
        if st is None:
            notes.append(f"{p}: fixation map for image {sid!r}, which is not among the readable images in "
                         "Images; not used")
            continue
        try:
            with open_image(p) as im:
                w, h = im.size
        except Exception as exc:  # noqa: BLE001 - an unreadable map is replaced, not fatal
            notes.append(f"{p}: unreadable fixation map ({exc}); not used, rebuilt from the scanpath "
                         "with the Saliency4ASD recipe")
            continue
        if (h, w) != st.shape:
            notes.append(f"{p}: fixation map is {w}x{h} (WxH) but image {st.path.name} is "
                         f"{st.width}x{st.height}; not used, rebuilt from the scanpath with the "
                         "Saliency4ASD recipe")
            continue
        out[sid] = p
    return out


def _check_fixpts(path: Path, fixations: Fixations, stim: Stimulus) -> None:
    """Warn where a shipped binary map ``_f.png`` disagrees with the scanpath's fixated pixels."""
    try:
        with Image.open(path) as im:
            arr = np.asarray(im)
    except (OSError, SyntaxError, ValueError) as exc:
        raise DataError(f"{path}: cannot read fixation points ({exc})") from exc
    if arr.ndim == 3:
        arr = arr[..., 0]
    if arr.shape != stim.shape:
        raise DataError(f"{path}: fixation points are {arr.shape[0]}x{arr.shape[1]} (HxW) but image "
                        f"{stim.path} is {stim.height}x{stim.width}")
    n_diff = int(((arr > 0) != fixations.binary_map(stim.height, stim.width)).sum())
    if n_diff:
        warnings.warn(f"{path}: {n_diff} pixels differ from the fixations in the scanpath file",
                      DataWarning, stacklevel=3)

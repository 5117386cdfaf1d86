"""Regions of the images: labelled boxes (face, people, text, ...) from the dataset's annotations.

A box is ``x1, y1, x2, y2`` in image pixels, 0-based, end exclusive: it holds the pixels whose centre lies in
[x1, x2) x [y1, y2) (for whole numbers: columns x1 .. x2-1, rows y1 .. y2-1). A label's region on an image is
the union of its boxes; :data:`BACKGROUND` is every pixel outside every box of the image.

Two sources, both read by :func:`read_regions`:

- Saliency4ASD's ``AdditionalData/ImageAnnotations.csv`` (:data:`SALIENCY4ASD_FRAME`): no header, one line per
  box ``<the annotators' path ending in /Image/N.png>,x1,y1,x2,y2,label``, in a frame of half the image's size:
  every coordinate is multiplied by 2.
- a plain table (``--regions FILE``, :data:`TABLE_FRAME`): the header ``image,x1,y1,x2,y2,label`` and boxes in
  image pixels; the image is named as in a fixation table (file name, stem, or path inside the images folder).

Nothing is dropped silently; each kind is one note naming the file and the first lines: a degenerate box (no
width or height, or no pixel centre inside) is dropped; a box reaching outside its image is clipped (dropped if
nothing is left); a line naming an image that is not in the dataset is skipped; a line that cannot be read
(too few fields, a value that is not a number, no label, the reserved label "background") makes its image's
regions unknown, so that image has no region rows; images without any box are counted.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from asdgaze.data.errors import DataError

__all__ = ["BACKGROUND", "Box", "Regions", "Frame", "SALIENCY4ASD_FRAME", "TABLE_FRAME", "read_regions",
           "attach_regions"]

#: The label of every pixel outside every box.
BACKGROUND = "background"
#: How many lines a note names (the manifest's ``regions`` lists every one).
NAMED = 3


@dataclass(frozen=True)
class Frame:
    """How a file's lines are laid out: a header or not, and the factor from its coordinates to image pixels."""

    name: str
    scale: float
    header: bool
    describe: str


SALIENCY4ASD_FRAME = Frame("saliency4asd-half-size", 2.0, False,
                           "Saliency4ASD ImageAnnotations.csv: no header, <path ending in /Image/N.png>,x1,y1,x2,y2,"
                           "label, coordinates in a frame of half the image's size (multiplied by 2)")
TABLE_FRAME = Frame("image-pixels", 1.0, True,
                    "table image,x1,y1,x2,y2,label in image pixels (0-based, end exclusive)")


@dataclass(frozen=True)
class Box:
    """One box in image pixels (0-based, end exclusive) and its label."""

    x1: float
    y1: float
    x2: float
    y2: float
    label: str

    def pixels(self) -> tuple[int, int, int, int]:
        """(first column, end column, first row, end row) of the pixels whose centre is inside."""
        return (math.ceil(self.x1 - 0.5), math.ceil(self.x2 - 0.5), math.ceil(self.y1 - 0.5),
                math.ceil(self.y2 - 0.5))


@dataclass
class Regions:
    """The boxes of each image, where they came from, and what was dropped or repaired."""

    source: Path
    frame: Frame
    boxes: dict[str, list[Box]]  # image id -> its boxes (images without any are absent)
    unknown: dict[str, str] = field(default_factory=dict)  # image id -> why its regions are not known
    without: list[str] = field(default_factory=list)  # images of the dataset without any box
    dropped: dict[str, list[str]] = field(default_factory=dict)  # kind -> "line N (...)" of each
    sha256: str = ""

    def covers(self, stem: str) -> bool:
        """Whether image ``stem`` has regions (a box, and no unreadable line)."""
        return stem in self.boxes and stem not in self.unknown

    def masks(self, stem: str, shape: tuple[int, int]) -> dict[str, np.ndarray]:
        """Label -> its region on image ``stem`` (bool, ``shape``), labels sorted, :data:`BACKGROUND` last."""
        h, w = shape
        out: dict[str, np.ndarray] = {}
        for box in sorted(self.boxes.get(stem, []), key=lambda b: b.label):
            c0, c1, r0, r1 = box.pixels()
            out.setdefault(box.label, np.zeros((h, w), dtype=bool))[max(r0, 0):r1, max(c0, 0):c1] = True
        inside = np.zeros((h, w), dtype=bool)
        for m in out.values():
            inside |= m
        out[BACKGROUND] = ~inside
        return out

    def digest(self, stem: str) -> str:
        """sha256 of what the region rows of ``stem`` depend on (its boxes, or why it has none)."""
        boxes = [[b.x1, b.y1, b.x2, b.y2, b.label] for b in self.boxes.get(stem, [])]
        text = json.dumps({"boxes": boxes, "unknown": self.unknown.get(stem)}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def labels(self) -> list[str]:
        return sorted({b.label for s, bs in self.boxes.items() if self.covers(s) for b in bs}) + [BACKGROUND]

    def notes(self, n_images: int) -> list[str]:
        """One note per kind of problem, naming the file, a count and the first lines."""
        out = []
        for kind, items in self.dropped.items():
            more = f"; and {len(items) - NAMED} more (manifest.json: dataset.regions)" if len(items) > NAMED else ""
            out.append(f"{self.source}: {len(items)} {kind}: {'; '.join(items[:NAMED])}{more}")
        if self.unknown:
            first = "; ".join(f"image {s}: {why}" for s, why in list(self.unknown.items())[:NAMED])
            out.append(f"{self.source}: the regions of {len(self.unknown)} image(s) are unknown (a line that cannot "
                       f"be read), so they have no region rows: {first}")
        if self.without:
            first = ", ".join(self.without[:10]) + (" ..." if len(self.without) > 10 else "")
            out.append(f"{self.source}: {len(self.without)} of {n_images} images have no region, so no region rows "
                       f"({first})")
        return out

    def describe(self) -> dict[str, Any]:
        """For the manifest: the file, its frame, counts and every line dropped or repaired."""
        return {"file": str(self.source), "sha256": self.sha256, "frame": self.frame.describe,
                "box_rule": "0-based image pixels, end exclusive: a pixel is in a box when its centre is",
                "n_images_with_regions": sum(1 for s in self.boxes if self.covers(s)),
                "n_boxes": sum(len(b) for s, b in self.boxes.items() if self.covers(s)),
                "labels": self.labels, "images_without_regions": self.without, "unknown": self.unknown,
                "dropped": self.dropped}


def _lines(path: Path, frame: Frame) -> list[tuple[int, list[str]]]:
    """(line number, [image, x1, y1, x2, y2, label]) of every non-blank line (fewer fields where missing)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read the region annotations ({exc})") from None
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if not frame.header:  # the path may hold commas, a label does not: split from the right
        return [(n, line.rsplit(",", 5)) for n, line in enumerate(lines, start=1) if line.strip()]
    if not lines[0].strip():
        raise DataError(f"{path}: empty file; expected the header image,x1,y1,x2,y2,label")
    delimiter = "\t" if "\t" in lines[0] and "," not in lines[0] else ","
    rows = list(csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter))
    header = [h.strip().lower().replace(" ", "") for h in rows[0]]
    if header != ["image", "x1", "y1", "x2", "y2", "label"]:
        raise DataError(f"{path}: header is {lines[0].strip()[:80]!r}; expected image,x1,y1,x2,y2,label")
    return [(n, row) for n, row in enumerate(rows[1:], start=2) if any(c.strip() for c in row)]


def _image_ids(stimuli: dict[str, Any]) -> dict[str, str]:
    """Every name a line may give an image by -> its id: the id (stem or path inside the folder) and the id
    with the file's extension."""
    out: dict[str, str] = {}
    for sid, st in stimuli.items():
        out[sid] = sid
        out[sid + Path(st.path).suffix] = sid
    return out


def _name(raw: str, frame: Frame) -> str:
    name = raw.strip().replace("\\", "/")
    if not frame.header:  # the annotators' absolute path: only its file name names the image
        return name.rsplit("/", 1)[-1]
    return "/".join(p for p in name.split("/") if p not in ("", "."))


def read_regions(path: str | Path, stimuli: dict[str, Any], frame: Frame = TABLE_FRAME) -> Regions:
    """Read the boxes of ``path`` (laid out as ``frame`` says) for the images ``stimuli`` (id -> Stimulus).

    Raises DataError for a file that cannot be read (or, for a table, a wrong header); every problem of a line
    is recorded (see the module docstring) and the other lines are read.
    """
    path = Path(path)
    ids = _image_ids(stimuli)
    boxes: dict[str, list[Box]] = {}
    unknown: dict[str, str] = {}
    dropped: dict[str, list[str]] = {}

    def drop(kind: str, text: str) -> None:
        dropped.setdefault(kind, []).append(text)

    for lineno, fields in _lines(path, frame):
        shown = ",".join(fields)[-80:]
        sid = ids.get(_name(fields[0], frame))
        if sid is None:
            drop("line(s) naming an image that is not in the dataset, skipped", f"line {lineno} ({fields[0].strip()[-40:]})")
            continue
        problem = _problem(fields)
        if problem is not None:
            unknown.setdefault(sid, f"line {lineno}: {problem} in {shown!r}")
            continue
        x1, y1, x2, y2 = (float(v) * frame.scale for v in fields[1:5])
        label = fields[5].strip()
        what = f"line {lineno} (image {sid}, {label}: {','.join(v.strip() for v in fields[1:5])})"
        box = Box(x1, y1, x2, y2, label)
        c0, c1, r0, r1 = box.pixels()
        if not (x2 > x1 and y2 > y1) or c1 <= c0 or r1 <= r0:
            drop("degenerate box(es) (no width or height, or no pixel inside), dropped", what)
            continue
        st = stimuli[sid]
        if c0 < 0 or r0 < 0 or c1 > st.width or r1 > st.height:
            clipped = Box(max(x1, 0.0), max(y1, 0.0), min(x2, float(st.width)), min(y2, float(st.height)), label)
            k0, k1, q0, q1 = clipped.pixels()
            if k1 <= k0 or q1 <= q0:
                drop("box(es) outside the image, dropped", what)
                continue
            drop("box(es) reaching outside the image, clipped to it", f"{what} in {st.width}x{st.height}")
            box = clipped
        boxes.setdefault(sid, []).append(box)
    for sid in unknown:
        boxes.pop(sid, None)
    without = [s for s in stimuli if s not in boxes and s not in unknown]
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return Regions(path.resolve(), frame, boxes, unknown, without, dropped, digest)


def _problem(fields: list[str]) -> str | None:
    """Why a line's fields are not a box, or None."""
    if len(fields) != 6:
        return f"expected 6 fields (image,x1,y1,x2,y2,label), got {len(fields)}"
    try:
        values = [float(v) for v in fields[1:5]]
    except ValueError:
        return "a coordinate that is not a number"
    if not all(map(math.isfinite, values)):
        return "a coordinate that is not finite"
    label = fields[5].strip()
    if not label:
        return "no label"
    if label.lower() == BACKGROUND:
        return f"the label {BACKGROUND!r}, which is reserved for the pixels outside every box"
    return None


def attach_regions(dataset: Any, regions: Regions | None) -> Any:
    """Give ``dataset`` its regions, and their notes to its notes."""
    dataset.regions = regions
    if regions is not None:
        dataset.notes.extend(regions.notes(len(dataset.stimuli)))
    return dataset

"""Bounded fuzz run of the scanpath and table parsers (issues 6 and 15).

Seeds are the bundled demo's scanpath files and a fixation table written from them. Each
iteration mutates one seed (byte flips, inserted tokens, deleted or duplicated spans, truncation,
line shuffles, encodings) and feeds it to the parser. A third kind of input is a table built from
hostile parts (issue 15): headers (case, spaces, columns named twice, unknown or missing columns),
viewer ids (one value spelt many ways, huge exponents, text, other scripts' digits, empty) and
image names (sub-folders, './', Windows separators, '..', absolute paths, drives, NUL bytes,
folders holding two images of one stem). A DataError, a DataWarning or an entry in
``Dataset.problems`` is the expected outcome for a bad input; any other exception, or a loaded
dataset that breaks its own invariants (a fixation outside its image, an id without its image,
viewers 1 and 1.0 counted apart), is a bug: the input is saved and the run exits 1.

Usage (from the repository root):
    PYTHONPATH=src python tools/fuzz_parsers.py --iterations 5000 --seconds 60 --seed 1
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import re
import sys
import tempfile
import time
import traceback
import warnings
from collections import Counter
from pathlib import Path

from PIL import Image

import numpy as np

from asdgaze.data import DataError, DataWarning, demo_dataset_path, load_saliency4asd, load_table_dataset, read_scanpath

TOKENS = [b",", b"\r\n", b"\n", b"\r", b" ", b"\t", b";", b'"', b"-", b"+", b".", b"e", b"E", b"nan", b"NaN",
          b"inf", b"-inf", b"1e400", b"0", b"-1", b"99999999999999999999", b"\x00", b"\xef\xbb\xbf", b"\xff",
          b"\xc3\xa9", b"\xe2\x80\xa8", b"\x0b", b"\x1c", b"Idx", b"image", b"group", b"x", b"y", b"../",
          b"/etc/passwd", b"C:\\", b"1_000", b"\xd9\xa1"]


def mutate(data: bytes, rng: random.Random) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        op = rng.randrange(10)
        i = rng.randint(0, len(buf))
        if op == 0 and buf:  # flip a byte
            buf[min(i, len(buf) - 1)] = rng.randrange(256)
        elif op == 1:  # insert a token
            buf[i:i] = rng.choice(TOKENS)
        elif op == 2:  # delete a span
            del buf[i:i + rng.randint(1, 20)]
        elif op == 3:  # duplicate a span
            j = rng.randint(0, len(buf))
            buf[i:i] = buf[j:j + rng.randint(1, 40)]
        elif op == 4:  # truncate
            del buf[i:]
        elif op == 5:  # shuffle lines
            lines = bytes(buf).split(b"\n")
            rng.shuffle(lines)
            buf = bytearray(b"\n".join(lines))
        elif op == 6:  # re-encode
            try:
                buf = bytearray(bytes(buf).decode("utf-8").encode(rng.choice(["utf-16", "latin-1", "utf-8-sig"])))
            except (UnicodeDecodeError, UnicodeEncodeError):
                pass
        elif op == 7:  # CRLF <-> LF
            buf = bytearray(bytes(buf).replace(b"\r\n", b"\n") if b"\r\n" in buf else bytes(buf).replace(b"\n", b"\r\n"))
        elif op >= 8:  # replace one field of one line with a token (reaches the value checks)
            lines = bytes(buf).split(b"\n")
            k = rng.randrange(len(lines))
            fields = lines[k].split(b",")
            fields[rng.randrange(len(fields))] = rng.choice(TOKENS)
            lines[k] = b",".join(fields)
            buf = bytearray(b"\n".join(lines))
    return bytes(buf)

#: What each iteration feeds, in turn: a mutated scanpath file, a mutated table, a table of hostile parts.
TARGETS = ("scanpath", "table", "names")

# --- tables from hostile parts (issue 15) -------------------------------------------------------------

COLUMNS = ["image", "group", "x", "y", "duration", "viewer"]
EXTRA_COLUMNS = ["subject", "", "Unnamed: 0", "\ufeffimage", "\uff58", "participant", "x_1", "trial"]
# The first N_HARMLESS_NAMES name images (or miss them) without refusing the whole table.
IMAGE_NAMES = ["1.png", "1", "./1.png", "1.png/", "a/1.png", "a\\1.png", "a/./1", "a//1.png", "A/1.png", "b/1.png",
               "b/1", "cond A/3.png", "cond A\\3", "sub/3.png", "a/", "a", ".", "bad/9.png", "bad/9", "2.jpg", "2",
               "\u00e9/1.png", "e\u0301/1.png", "~/1.png", "%2F1", "1.PNG", " 1.png", "a" * 300 + ".png",
               "a/" * 40 + "1.png", "1.png:x", "*.png", "a\x00b", "a/1.png\x00",
               # refused (the table leaves the folder, or names two images of one stem)
               "dup/1.png", "..", "../1.png", "a/../1.png", "/tmp/1.png", "C:\\x\\1.png", "C:1.png",
               "\\\\srv\\s\\1.png",
               "dup/1", "dup/1.jpg"]
N_HARMLESS_NAMES = 33
VIEWER_IDS = ["1", "1.0", "01", "+1", "1e0", "1E+0", "-0", "0", "0.0", "2", "2.50", "2.5", "1.5", "1e999999999",
              "-1e-999999999", "99999999999999999999", "9223372036854775807", "-9223372036854775808",
              "9223372036854775808", "P01", "p01", "P1", "", " ", "nan", "NaN", "n/a", "inf", "-inf", "1_000",
              "\u0661", "\uff11", "1,0", ".5", "5.", "e5", "--1", "0x10", "\x00", "1" * 5000, "1" * 400 + "e-399"]
GROUPS = ["ASD", "TD", " ASD", "asd", "Td", "A\u030aSD", "\u00c5SD", "all", "", "\x00", "G" * 200]


def hostile_rows(rng: random.Random) -> list[list[str]]:
    """A header and rows whose column names, viewer ids and image names come from the lists above."""
    header = list(COLUMNS)
    rng.shuffle(header)
    for _ in range(rng.choice([0, 0, 1, 2, 3])):
        op = rng.randrange(6)
        k = rng.randrange(len(header))
        if op == 0:  # letter case and spaces
            name = rng.choice([str.upper, str.title, str.lower])(header[k])
            header[k] = " " * rng.randint(0, 2) + name + " " * rng.randint(0, 2)
        elif op == 1 and rng.random() < 0.3:  # a column named twice
            header.insert(rng.randrange(len(header) + 1), rng.choice(COLUMNS))
        elif op == 2 and len(header) > 1 and rng.random() < 0.5:  # a column missing
            del header[k]
        else:  # an unknown column
            header.insert(rng.randrange(len(header) + 1), rng.choice(EXTRA_COLUMNS))
    rows = [header]
    for _ in range(rng.randint(0, 12)):
        row = []
        for name in header:
            key = name.strip().lower()
            if key == "image":
                r = rng.random()
                row.append(rng.choice(IMAGE_NAMES[:N_HARMLESS_NAMES]) if r < 0.85 else rng.choice(IMAGE_NAMES)
                           if r < 0.95 else rng.choice(IMAGE_NAMES[:10]) + rng.choice(TOKENS).decode("latin-1"))
            elif key == "viewer":
                row.append(rng.choice(VIEWER_IDS))
            elif key == "group":
                row.append(rng.choice(GROUPS[:3]) if rng.random() < 0.95 else rng.choice(GROUPS))
            elif key in ("x", "y"):
                row.append(str(rng.randint(0, 3)) if rng.random() < 0.8 else
                           rng.choice([str(rng.randint(-1, 12)), f"{rng.uniform(-1, 12):.3f}", "", "nan", "1e400"]))
            else:
                row.append(str(rng.randint(0, 500)))
        if rng.random() < 0.02 and row:
            del row[rng.randrange(len(row)):]  # a short row
        rows.append(row)
    return rows


def render(rows: list[list[str]], style: tuple[str, str, bool]) -> bytes:
    """The table's bytes: (delimiter, line end, quoted by the csv module or joined raw)."""
    delim, newline, quoted = style
    buf = io.StringIO(newline="")
    if quoted:
        csv.writer(buf, delimiter=delim, lineterminator=newline).writerows(rows)
    else:  # separators inside values make other fields
        buf.write(newline.join(delim.join(r) for r in rows) + newline)
    return buf.getvalue().encode("utf-8")


def respell_viewers(rows: list[list[str]]) -> list[list[str]]:
    """The same table with each integer viewer id spelt as a decimal (7 -> 7.0): the same viewers."""
    cols = [i for i, name in enumerate(rows[0]) if name.strip().lower() == "viewer"]
    out = [rows[0]]
    for r in rows[1:]:
        r = list(r)
        for i in cols:
            if i < len(r) and re.fullmatch(r"[+-]?[0-9]+", r[i]):
                r[i] += ".0"
        out.append(r)
    return out


def check_named_files(ds, rows: list[list[str]], folder: Path) -> None:
    """RuntimeError when a row names an image file in a sub-folder and that file is no stimulus
    (nor a problem): its folder parts were dropped."""
    cols = [i for i, name in enumerate(rows[0]) if name.strip().lower() == "image"]
    for r in rows[1:]:
        name = r[cols[0]].strip() if cols and cols[0] < len(r) else ""
        if "/" not in name.replace("\\", "/").strip("/"):
            continue
        p = folder / name.replace("\\", "/")
        try:
            if not (p.is_file() and p.suffix.lower() in (".png", ".jpg")):
                continue
            sid = p.resolve().relative_to(folder.resolve()).with_suffix("").as_posix()
        except (OSError, ValueError):
            continue
        if sid not in ds.stimuli and not any(sid in per for per in ds.problems.values()):
            raise RuntimeError(f"{name!r} names the image {sid}, which is not in the dataset")


def _partition(codes: np.ndarray) -> list[int]:
    """Viewer codes renumbered by first appearance: equal lists mean the same viewers."""
    first: dict[int, int] = {}
    return [first.setdefault(c, len(first)) for c in codes.tolist()]


def same_viewers(a, b) -> None:
    """RuntimeError unless two loads have the same fixations split into the same viewers."""
    for g, per in a.fixations.items():
        for sid, f in per.items():
            h = b.fixations.get(g, {}).get(sid)
            if h is None or not np.array_equal(f.x, h.x):
                raise RuntimeError(f"{g}/{sid}: other fixations after respelling the viewer ids")
            if _partition(f.viewer) != _partition(h.viewer):
                raise RuntimeError(f"{g}/{sid}: viewers 7 and 7.0 are counted apart "
                                   f"({f.n_viewers} viewers, {h.n_viewers} when spelt alike)")


def _make_named_images(folder: Path) -> None:
    """Flat 1.png, 2.jpg; a/1.png, b/1.png, 'cond A'/3.png, é/1.png; dup/1.png + dup/1.jpg (one stem);
    bad/9.png (empty)."""
    for rel, size in [("1.png", (10, 8)), ("2.jpg", (9, 7)), ("a/1.png", (6, 5)), ("b/1.png", (7, 4)),
                      ("cond A/3.png", (5, 5)), ("dup/1.png", (4, 4)), ("dup/1.jpg", (4, 4)), ("\u00e9/1.png", (3, 3))]:
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", size).save(folder / rel)
    (folder / "bad").mkdir()
    (folder / "bad" / "9.png").write_bytes(b"")


def check_dataset(ds, folder: Path) -> None:
    """Invariants of a loaded table dataset; RuntimeError (a bug) when one fails."""
    paths = {}
    for sid, st in ds.stimuli.items():
        # the id is the image's path inside the folder, less its suffix: no folder part dropped
        if Path(st.path).relative_to(folder).with_suffix("").as_posix() != sid:
            raise RuntimeError(f"stimulus {sid!r} is the file {st.path}")
        if paths.setdefault(Path(st.path), sid) != sid:
            raise RuntimeError(f"{st.path} is two stimuli, {paths[Path(st.path)]!r} and {sid!r}")
    for g, per in ds.fixations.items():
        for sid, f in per.items():
            st = ds.stimuli.get(sid)
            if st is None:
                raise RuntimeError(f"fixations of {g}/{sid} without a stimulus")
            if not (np.all(f.in_bounds(st.height, st.width)) and f.viewer.dtype == np.int64):
                raise RuntimeError(f"{g}/{sid}: a fixation outside its {st.width}x{st.height} image")
            if ds.problem(g, sid) is not None:
                raise RuntimeError(f"{g}/{sid} has both fixations and a problem")


def _seeds() -> tuple[list[bytes], bytes, dict[str, tuple[int, int]], list[str]]:
    demo = demo_dataset_path() / "TrainingData"
    scan = [p.read_bytes() for p in sorted(demo.glob("*/*_scanpath_*.txt"))]
    sizes = {}
    for p in sorted((demo / "Images").iterdir()):
        with Image.open(p) as im:
            sizes[p.stem] = im.size
    rows = ["image,group,x,y,duration,viewer"]
    table_ids: list[str] = []
    for p in sorted(demo.glob("*/*_scanpath_*.txt"))[:3]:
        g, sid = p.parent.name, p.stem.rsplit("_", 1)[1]
        table_ids.append(sid)
        x, y, d, v = read_scanpath(p)
        rows += [f"{sid}.png,{g},{int(a)},{int(b)},{int(c)},{int(e)}" for a, b, c, e in zip(x, y, d, v)]
    return scan, ("\r\n".join(rows) + "\r\n").encode(), sizes, table_ids


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--iterations", type=int, default=3000, help="stop after this many inputs (default 3000)")
    ap.add_argument("--seconds", type=float, default=60.0, help="stop after this many seconds (default 60)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--crashes", type=Path, default=Path("fuzz-crashes"), help="where failing inputs are saved")
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    scan_seeds, table_seed, sizes, table_ids = _seeds()
    outcomes: Counter[str] = Counter()
    crashes: list[str] = []
    t0 = time.monotonic()
    n = 0
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        # A Saliency4ASD copy with one image and one scanpath file, and an images folder for the table.
        (root / "s4a" / "Images").mkdir(parents=True)
        (root / "s4a" / "ASD").mkdir()
        Image.new("RGB", sizes["1"]).save(root / "s4a" / "Images" / "1.png")
        imgs = root / "imgs"
        imgs.mkdir()
        for sid in table_ids:
            Image.new("RGB", sizes[sid]).save(imgs / f"{sid}.png")
        named = root / "named"
        _make_named_images(named)
        scan_file = root / "s4a" / "ASD" / "ASD_scanpath_1.txt"
        table_file = root / "fix.csv"
        while n < args.iterations and time.monotonic() - t0 < args.seconds:
            n += 1
            which = TARGETS[n % len(TARGETS)]
            coords = rng.choice(["0-based", "1-based"])
            if which == "names":
                rows = hostile_rows(rng)
                style = (rng.choice([",", "\t", ";"]), rng.choice(["\n", "\r\n"]), rng.random() < 0.7)
                data = render(rows, style)
            else:
                data = mutate(rng.choice(scan_seeds) if which == "scanpath" else table_seed, rng)
            try:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    if which == "scanpath":
                        scan_file.write_bytes(data)
                        try:
                            read_scanpath(scan_file)
                        except DataError:
                            outcomes["scanpath: read_scanpath DataError"] += 1
                        ds = load_saliency4asd(root / "s4a")
                        outcomes[f"scanpath: {'problem' if ds.problems else 'loaded'}"] += 1
                    else:
                        folder = named if which == "names" else imgs
                        table_file.write_bytes(data)
                        ds = load_table_dataset(folder, table_file, coords=coords)
                        check_dataset(ds, folder)
                        outcomes[f"{which}: {'problems' if ds.problems else 'loaded'}"] += 1
                        if which == "names" and style[2]:  # quoted: the fields are the rows' own
                            check_named_files(ds, rows, folder)
                            table_file.write_bytes(render(respell_viewers(rows), style))
                            try:
                                again = load_table_dataset(folder, table_file, coords=coords)
                            except DataError as e:
                                raise RuntimeError(f"refused once its viewer ids were respelt: {e}") from None
                            same_viewers(ds, again)
                other = [w for w in caught if not issubclass(w.category, DataWarning)]
                if other:
                    raise RuntimeError(f"unexpected warning {other[0].category.__name__}: {other[0].message}")
                outcomes[f"{which}: DataWarning"] += len(caught)
            except DataError:
                outcomes[f"{which}: DataError"] += 1
            except Exception:  # noqa: BLE001 - the point of the run: anything else is a bug
                args.crashes.mkdir(parents=True, exist_ok=True)
                saved = args.crashes / f"{which}-{n}.bin"
                saved.write_bytes(data)
                crashes.append(f"{saved}: {traceback.format_exc(limit=3).strip().splitlines()[-1]}")
                outcomes[f"{which}: CRASH"] += 1
    print(f"fuzz_parsers: {n} inputs in {time.monotonic() - t0:.1f} s (seed {args.seed})")
    for k in sorted(outcomes):
        print(f"  {k:40s} {outcomes[k]}")
    for c in crashes[:20]:
        print(f"  crash: {c}")
    print("result:", "FAIL" if crashes else "ok (no exception other than DataError)")
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())

"""Bounded fuzz run of the scanpath and table parsers (issue 6).

Seeds are the bundled demo's scanpath files and a fixation table written from them. Each
iteration mutates one seed (byte flips, inserted tokens, deleted or duplicated spans, truncation,
line shuffles, encodings) and feeds it to the parser. A DataError, a DataWarning or an entry in
``Dataset.problems`` is the expected outcome for a bad input; any other exception is a bug: the
input is saved and the run exits 1.

Usage (from the repository root):
    PYTHONPATH=src python tools/fuzz_parsers.py --iterations 5000 --seconds 60 --seed 1
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import traceback
import warnings
from collections import Counter
from pathlib import Path

from PIL import Image

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
        scan_file = root / "s4a" / "ASD" / "ASD_scanpath_1.txt"
        table_file = root / "fix.csv"
        while n < args.iterations and time.monotonic() - t0 < args.seconds:
            n += 1
            which = "scanpath" if n % 2 else "table"
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
                        table_file.write_bytes(data)
                        ds = load_table_dataset(imgs, table_file, coords=rng.choice(["0-based", "1-based"]))
                        outcomes[f"table: {'problems' if ds.problems else 'loaded'}"] += 1
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

"""Property-based tests (hypothesis) of the scanpath and table parsers (issue 6).

Valid inputs, written by the test's own writer, must read back exactly (1-based -> 0-based);
garbage must end as DataError, DataWarning or ``Dataset.problems``, never another exception.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from asdgaze.data import DataError, DataWarning, load_saliency4asd, load_table_dataset, read_scanpath

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

sizes = st.tuples(st.integers(1, 40), st.integers(1, 40))  # (W, H)


@st.composite
def scanpaths(draw):
    """(W, H, viewers): each viewer a non-empty list of 1-based (x, y, duration) inside the image."""
    w, h = draw(sizes)
    point = st.tuples(st.integers(1, w), st.integers(1, h), st.integers(0, 10_000))
    viewers = draw(st.lists(st.lists(point, min_size=1, max_size=8), min_size=1, max_size=5))
    return w, h, viewers


def _write_scanpath(path: Path, viewers, newline: str, bom: bool, pad: str) -> None:
    lines = ["Idx, x, y, duration"]
    for fixes in viewers:
        lines += [f"{i},{pad}{x},{pad}{y},{pad}{d}" for i, (x, y, d) in enumerate(fixes)]
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + (newline.join(lines) + newline).encode())


def _dataset(root: Path, w: int, h: int) -> None:
    (root / "Images").mkdir()
    (root / "ASD").mkdir()
    Image.new("RGB", (w, h)).save(root / "Images" / "1.png")


@SETTINGS
@given(sp=scanpaths(), newline=st.sampled_from(["\n", "\r\n", "\r"]), bom=st.booleans(),
       pad=st.sampled_from(["", " ", "  "]))
def test_scanpath_round_trip(sp, newline, bom, pad):
    w, h, viewers = sp
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        _dataset(root, w, h)
        f = root / "ASD" / "ASD_scanpath_1.txt"
        _write_scanpath(f, viewers, newline, bom, pad)
        x, y, dur, viewer = read_scanpath(f)
        with warnings.catch_warnings():
            warnings.simplefilter("error", DataWarning)  # every point is inside: nothing dropped
            ds = load_saliency4asd(root)
    flat = [(x_, y_, d_, v) for v, fixes in enumerate(viewers) for (x_, y_, d_) in fixes]
    assert x.tolist() == [float(p[0]) for p in flat] and y.tolist() == [float(p[1]) for p in flat]
    fx = ds.fixations["ASD"]["1"]
    assert fx.x.tolist() == [p[0] - 1.0 for p in flat]
    assert fx.y.tolist() == [p[1] - 1.0 for p in flat]
    assert fx.duration.tolist() == [float(p[2]) for p in flat]
    assert fx.viewer.tolist() == [p[3] for p in flat] == viewer.tolist()
    assert ds.problems == {}


VALID = "Idx, x, y, duration\r\n0, 3, 2, 120\r\n1, 5, 4, 80\r\n0, 1, 1, 300\r\n"


@st.composite
def mutated(draw, base: str):
    """The valid text with random insertions, deletions and replacements, or plain random bytes."""
    if draw(st.integers(0, 4)) == 0:
        return draw(st.binary(max_size=200))
    data = bytearray(base.encode())
    alphabet = st.sampled_from(list(b",.-+eE\r\n \t0123456789naifINF\x00\xef\xbb\xbf\xff\"';xyIdx"))
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.integers(0, 2))
        i = draw(st.integers(0, len(data)))
        if op == 0:
            data[i:i] = bytes(draw(st.lists(alphabet, min_size=1, max_size=4)))
        elif op == 1 and data:
            del data[i:i + draw(st.integers(1, 6))]
        elif data:
            data[min(i, len(data) - 1)] = draw(alphabet)
    return bytes(data)


@SETTINGS
@given(blob=mutated(VALID))
def test_scanpath_garbage_never_escapes(blob):
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        _dataset(root, 5, 4)
        f = root / "ASD" / "ASD_scanpath_1.txt"
        f.write_bytes(blob)
        try:
            read_scanpath(f)
        except DataError as exc:
            assert str(exc).startswith(f"{f}: ")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)
            ds = load_saliency4asd(root)
    # Either loaded, or recorded as a problem of (1, ASD) naming the file.
    assert ("1" in ds.fixations["ASD"]) != ("1" in ds.problems.get("ASD", {}))
    if "1" in ds.problems.get("ASD", {}):
        assert ds.problems["ASD"]["1"].startswith(f"{f}: ")


IMAGES = {"a": (5, 4), "10": (3, 2)}  # stem -> (W, H)


@st.composite
def tables(draw):
    row = st.sampled_from(sorted(IMAGES)).flatmap(
        lambda im: st.tuples(st.just(im), st.sampled_from(["ASD", "TD"]), st.integers(1, IMAGES[im][0]),
                             st.integers(1, IMAGES[im][1]), st.integers(0, 3)))
    return draw(st.lists(row, min_size=1, max_size=20))


def _images(root: Path) -> Path:
    d = root / "imgs"
    d.mkdir()
    for stem, (w, h) in IMAGES.items():
        Image.new("RGB", (w, h)).save(d / f"{stem}.png")
    return d


@SETTINGS
@given(rows=tables(), delim=st.sampled_from([",", "\t", ";"]), newline=st.sampled_from(["\n", "\r\n"]),
       bom=st.booleans(), ext=st.booleans())
def test_table_round_trip(rows, delim, newline, bom, ext):
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        imgs = _images(root)
        t = root / ("fix.tsv" if delim == "\t" else "fix.csv")
        lines = [delim.join(["image", "group", "x", "y", "viewer"])]
        lines += [delim.join([f"{im}.png" if ext else im, g, str(x), str(y), str(v)]) for im, g, x, y, v in rows]
        t.write_bytes((b"\xef\xbb\xbf" if bom else b"") + (newline.join(lines) + newline).encode())
        with warnings.catch_warnings():
            warnings.simplefilter("error", DataWarning)
            ds = load_table_dataset(imgs, t, coords="1-based")
    assert ds.problems == {}
    assert sorted(ds.groups) == sorted({r[1] for r in rows})
    for g in ds.groups:
        for im in IMAGES:
            want = [r for r in rows if r[0] == im and r[1] == g]
            if not want:
                assert im not in ds.fixations[g]
                continue
            fx = ds.fixations[g][im]
            assert fx.x.tolist() == [r[2] - 1.0 for r in want]
            assert fx.y.tolist() == [r[3] - 1.0 for r in want]
            assert fx.viewer.tolist() == [r[4] for r in want]


TABLE = "image,group,x,y,duration\r\na.png,ASD,1,1,10\r\n10,TD,3,2,20\r\na,TD,5,4,30\r\n"


@SETTINGS
@given(blob=mutated(TABLE), coords=st.sampled_from(["0-based", "1-based"]))
def test_table_garbage_never_escapes(blob, coords):
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        imgs = _images(root)
        t = root / "fix.csv"
        t.write_bytes(blob)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)
            try:
                ds = load_table_dataset(imgs, t, coords=coords)
            except DataError as exc:
                assert str(exc).startswith(f"{t}: ")
                return
    for g, per in ds.problems.items():
        for sid, msg in per.items():
            assert sid not in ds.fixations.get(g, {})
            assert msg.startswith(f"{t}: line ")


@pytest.mark.parametrize("text", ["", "\ufeff", "\r\n", "image\r\n", '"unclosed,x,y\n1,2'])
def test_table_degenerate_files(tmp_path, text):
    imgs = _images(tmp_path)
    t = tmp_path / "fix.csv"
    t.write_text(text)
    with pytest.raises(DataError, match=r"fix\.csv: "):
        load_table_dataset(imgs, t, coords="1-based")

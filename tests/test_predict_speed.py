"""The faster writers give the same bytes as before (issue 9): PNG in a process pool, overlay first."""

from __future__ import annotations

import json
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from asdgaze.predict.outputs import OutputError, density_png, overlay_image, png_bytes, write_outputs
from test_predict_pipeline import FakeModel, files, folder, run  # noqa: F401 - fixture reused


def _reference_write(out_dir: Path, stem: str, image: np.ndarray, ld: np.ndarray, level: int) -> None:
    """write_outputs as it was before issue 9: PIL writes each file itself, PNG first."""
    (out_dir / "maps").mkdir(parents=True)
    (out_dir / "overlays").mkdir()
    grey = density_png(ld)
    Image.fromarray(grey, mode="L").save(out_dir / "maps" / f"{stem}.png", format="PNG", compress_level=level)
    Image.fromarray(overlay_image(image, ld, grey=grey)).save(out_dir / "overlays" / f"{stem}.jpg",
                                                              format="JPEG", quality=90)
    with open(out_dir / "maps" / f"{stem}.npy", "wb") as f:
        np.save(f, np.asarray(ld, dtype=np.float32))


@pytest.fixture(scope="module")
def pool():
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as p:
        yield p


@pytest.mark.parametrize("level", [1, 6])
def test_write_outputs_bytes_equal_the_pre_change_writer(tmp_path, pool, level):
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, (96, 128, 3), dtype=np.uint8)
    ld = rng.normal(-9.0, 1.5, (96, 128)).astype(np.float32)
    _reference_write(tmp_path / "ref", "a", image, ld, level)
    write_outputs(tmp_path / "thread", "a", image, ld, png_level=level)
    write_outputs(tmp_path / "proc", "a", image, ld, png_level=level, png_pool=pool)
    ref = files(tmp_path / "ref")
    assert set(ref) == {"maps/a.png", "maps/a.npy", "overlays/a.jpg"}
    assert files(tmp_path / "thread") == ref
    assert files(tmp_path / "proc") == ref
    assert png_bytes(density_png(ld), level) == ref["maps/a.png"]


def test_run_with_worker_processes_equals_run_with_threads(folder, tmp_path):  # noqa: F811
    a = run(tmp_path / "a", folder, batch_size=2, processes=0)
    b = run(tmp_path / "b", folder, batch_size=2, processes=2)
    assert a.ok and b.ok and a.written == b.written == [str(i) for i in range(7)]
    fa, fb = files(tmp_path / "a"), files(tmp_path / "b")
    assert len(fa) == 21 and fa == fb
    busy = json.loads((tmp_path / "b" / "manifest.json").read_text())["busy_seconds"]
    assert busy["decode (all workers)"] > 0 and busy["write (all workers)"] > 0


def test_worker_processes_report_unreadable_images_and_write_errors(folder, tmp_path):  # noqa: F811
    (folder / "3.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    r = run(tmp_path / "a", folder, batch_size=2, processes=2)
    assert [Path(f).name for f, _ in r.failures] == ["3.png"] and "3.png" in r.failures[0][1]
    assert r.written == [str(i) for i in range(7) if i != 3]
    # an output that cannot be written stops the run with the file named, from a worker process too
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "overlays").write_text("a file where the overlays folder must go")
    with pytest.raises(OutputError, match=r"overlays/\d\.jpg: cannot write"):
        run(tmp_path / "b", folder, batch_size=2, processes=2)


def test_worker_processes_do_not_import_torch(folder, tmp_path):  # noqa: F811
    """A decoder / writer process that imported torch would spend seconds on it (measured: 5 s per
    process on a GPU host, 15 processes at once) before its first image."""
    from asdgaze.predict import pipeline as pl

    procs = pl._start_process_pool(1)
    try:
        image, _ = procs.submit(pl.decode_timed, folder / "0.png").result()
        ld = np.log(np.full(image.shape[:2], 1.0 / image[..., 0].size, np.float32))
        procs.submit(pl.write_timed, write_outputs, (tmp_path, "0", image, ld)).result()
        # eval of a string: a probe function from this module would import the test modules (and torch)
        probe = "[n for n in ('torch', 'torchvision', 'scipy') if n in __import__('sys').modules]"
        assert procs.submit(eval, probe).result() == []
    finally:
        procs.shutdown()

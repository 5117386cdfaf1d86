"""The faster writers give the same bytes as before (issue 9), in a thread or a worker process."""

from __future__ import annotations

import json
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from asdgaze.errors import AsdgazeError, OptionsError
from asdgaze.io import PNG_RENDERING_KEY
from asdgaze.predict.outputs import (DEFAULT_OUTPUTS, PNG_NORMALISATION, OutputError, density_png, overlay_image,
                                     png_bytes, write_outputs)
from asdgaze.predict.stages import write_timed
from test_predict_pipeline import FakeModel, files, folder, run  # noqa: F401 - fixture reused


def _reference_write(out_dir: Path, stem: str, image: np.ndarray, ld: np.ndarray, level: int) -> None:
    """write_outputs as it was before issue 9: PIL writes each file itself, PNG first."""
    (out_dir / "maps").mkdir(parents=True)
    (out_dir / "overlays").mkdir()
    grey = density_png(ld)
    info = PngImagePlugin.PngInfo()  # the text chunk that marks the picture (issue 17)
    info.add_text(PNG_RENDERING_KEY, PNG_NORMALISATION)
    Image.fromarray(grey, mode="L").save(out_dir / "maps" / f"{stem}.png", format="PNG", compress_level=level,
                                         pnginfo=info)
    Image.fromarray(overlay_image(image, ld)).save(out_dir / "overlays" / f"{stem}.jpg", format="JPEG", quality=90)
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
    # as a worker process writes on a GPU host
    pool.submit(write_timed, write_outputs, (tmp_path / "proc", "a", image, ld, DEFAULT_OUTPUTS, "float32", level)
                ).result()
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
    with pytest.raises(OutputError, match=r"b/overlays: cannot write \(exists and is not a folder\)"):
        run(tmp_path / "b", folder, batch_size=2, processes=2)


def test_worker_processes_do_not_import_torch(folder, tmp_path):  # noqa: F811
    """A spawned decoder / writer process (where forking is not possible) that imported torch would
    spend seconds on it (measured: 5 s per process on a GPU host, 15 processes at once)."""
    from asdgaze.predict import stages as pl

    procs = pl.start_process_pool(1, "spawn")
    try:
        image, _ = procs.submit(pl.decode_timed, folder / "0.png").result()
        ld = np.log(np.full(image.shape[:2], 1.0 / image[..., 0].size, np.float32))
        procs.submit(pl.write_timed, write_outputs, (tmp_path, "0", image, ld)).result()
        # eval of a string: a probe function from this module would import the test modules (and torch)
        probe = "[n for n in ('torch', 'torchvision', 'scipy') if n in __import__('sys').modules]"
        assert procs.submit(eval, probe).result() == []
    finally:
        procs.shutdown()


def test_worker_processes_by_default_only_where_they_can_be_forked(monkeypatch):
    from asdgaze import procs
    from asdgaze.predict import stages as pl

    monkeypatch.setattr(pl, "usable_cpus", lambda: 64)
    monkeypatch.setattr(procs, "start_method", lambda: "fork")
    assert pl.worker_processes(None, gpu=False)[0] == 0  # CPU: threads
    assert pl.worker_processes(None, gpu=True)[0] == 16  # capped
    monkeypatch.setattr(pl, "usable_cpus", lambda: 6)  # e.g. a Slurm allocation of 6 CPUs on a big node
    assert pl.worker_processes(None, gpu=True)[0] == 5
    monkeypatch.setattr(pl, "usable_cpus", lambda: 3)
    assert pl.worker_processes(None, gpu=True)[0] == 0
    monkeypatch.setattr(pl, "usable_cpus", lambda: 8)
    monkeypatch.setattr(procs, "start_method", lambda: None)  # CUDA already started here: no fork
    n, why = pl.worker_processes(None, gpu=True)
    assert n == 0 and "CUDA was already started" in why
    assert pl.worker_processes(3, gpu=False)[0] == 3
    with pytest.raises(OptionsError, match="--workers"):
        pl.worker_processes(-1, gpu=True)


UNGUARDED = """
import sys
import numpy as np
sys.path.insert(0, sys.argv[3])
from asdgaze.predict import run_predict
print("top level ran")

class Model:  # log density = log_softmax of the grey values (a stand-in for DeepGaze IIE)
    def to(self, device):
        return self
    def forward_parts(self, x, prior, precision="fp32"):
        import torch
        g = x.float().mean(1).flatten(1)
        return {"output": torch.log_softmax(g, 1).view(x.shape[0], 1, *x.shape[2:])}

r = run_predict(sys.argv[2], images=sys.argv[1], model=Model(), centerbias="uniform", device="cpu",
                progress=False, processes=2)
print("written", len(r.written))
"""


def test_an_unguarded_script_with_worker_processes_runs_once(folder, tmp_path):  # noqa: F811
    """Worker processes are forked (Linux): they do not re-run the caller's script, which need not be
    guarded by `if __name__ == "__main__":` (as the README's examples are not)."""
    import subprocess
    import sys

    script = tmp_path / "script.py"
    script.write_text(UNGUARDED)
    src = str(Path(__file__).resolve().parent.parent / "src")
    done = subprocess.run([sys.executable, str(script), str(folder), str(tmp_path / "out"), src],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("top level ran") == 1 and "written 7" in done.stdout


class KillsAWorker(FakeModel):  # noqa: F811
    """Kills one of predict's worker processes during the second batch, as an out-of-memory kill would."""

    def __init__(self) -> None:
        import multiprocessing

        super().__init__()
        self.before = {p.pid for p in multiprocessing.active_children()}  # e.g. another test's pool

    def forward_parts(self, x, prior, precision="fp32"):
        import multiprocessing
        import os
        import signal
        import time

        if len(self.calls) == 1:
            os.kill(next(p.pid for p in multiprocessing.active_children() if p.pid not in self.before),
                    signal.SIGKILL)
            time.sleep(0.5)
        return super().forward_parts(x, prior, precision)


def test_a_dead_worker_process_is_a_clear_error(folder, tmp_path):  # noqa: F811
    from asdgaze.predict import WorkerDied

    with pytest.raises(WorkerDied, match="a worker process .* died.*rerun resumes"):
        run(tmp_path / "o", folder, model=KillsAWorker(), processes=2)
    assert issubclass(WorkerDied, AsdgazeError)


def test_partial_files_of_other_shards_are_left_alone(tmp_path):
    import os
    import time

    from asdgaze.predict.outputs import remove_partial_files

    (tmp_path / "maps").mkdir()
    old, new = tmp_path / "maps" / ".1.npy.abc.part", tmp_path / "maps" / ".2.npy.def.part"
    old.write_bytes(b"x")
    new.write_bytes(b"y")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    assert remove_partial_files(tmp_path, older_than_s=3600) == 1
    assert not old.exists() and new.exists()
    assert remove_partial_files(tmp_path) == 1 and not new.exists()


def test_predict_in_a_child_process_returns_what_predict_here_returns(folder, tmp_path):  # noqa: F811
    """`asdgaze run` predicts in a forked child on a GPU host (its own process then never starts CUDA
    and evaluate can fork): same files, same result; errors, bugs and Ctrl-C come back as here."""
    from asdgaze.predict import PredictInterrupted
    from asdgaze.predict.isolated import run_predict_in_child

    here = run(tmp_path / "a", folder, batch_size=2)
    kw = dict(centerbias="uniform", images=folder, progress=False, device="cpu", batch_size=2)
    child = run_predict_in_child(tmp_path / "b", model=FakeModel(), **kw)
    assert child.written == here.written and child.ok and files(tmp_path / "b") == files(tmp_path / "a")
    with pytest.raises(OptionsError, match="--png-level"):
        run_predict_in_child(tmp_path / "c", model=FakeModel(), png_level=12, **kw)
    with pytest.raises(ZeroDivisionError) as bug:
        run_predict_in_child(tmp_path / "d", model=FakeModel(fail=ZeroDivisionError("bug")), **kw)
    assert "in the DeepGaze IIE process" in "".join(getattr(bug.value, "__notes__", []))
    with pytest.raises(PredictInterrupted) as stop:
        run_predict_in_child(tmp_path / "e", model=FakeModel(interrupt_after=3), **kw)
    assert stop.value.result.written == ["0", "1", "2"]


def test_run_predicts_in_a_child_only_where_it_would_start_cuda(monkeypatch):
    from asdgaze import procs
    from asdgaze.predict import isolated

    monkeypatch.setattr(procs, "start_method", lambda: "fork")
    monkeypatch.setattr(isolated, "resolve_device", lambda d: "cpu")
    assert not isolated.predict_in_child_wanted("auto")
    monkeypatch.setattr(isolated, "resolve_device", lambda d: "cuda")
    assert isolated.predict_in_child_wanted("auto")
    monkeypatch.setattr(procs, "start_method", lambda: None)  # CUDA already started here: nothing to keep clean
    assert not isolated.predict_in_child_wanted("cuda")


class DiesHard(FakeModel):  # noqa: F811
    def forward_parts(self, x, prior, precision="fp32"):
        import os

        if len(self.calls) == 2:
            os._exit(3)  # as a kill by the out-of-memory killer: no exception, no message
        return super().forward_parts(x, prior, precision)


def test_a_predict_child_that_dies_is_a_clear_error(folder, tmp_path):  # noqa: F811
    from asdgaze.predict import WorkerDied
    from asdgaze.predict.isolated import run_predict_in_child

    with pytest.raises(WorkerDied, match=r"DeepGaze IIE process died \(exit status 3\).*rerun resumes"):
        run_predict_in_child(tmp_path / "o", images=folder, model=DiesHard(), centerbias="uniform", device="cpu",
                             progress=False)


def test_run_and_predict_offer_every_precision_the_pipeline_accepts():
    from asdgaze.cli.predict import PRECISIONS
    from asdgaze.predict.pipeline import PRECISION_CHOICES

    assert tuple(PRECISIONS) == PRECISION_CHOICES  # `asdgaze run --precision fast` was refused before

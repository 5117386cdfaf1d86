"""Pipeline logic of `asdgaze predict` on CPU with a stand-in model (no checkpoint needed): settings
record, ordering, batching, shards, outputs, writer errors, Ctrl-C."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from asdgaze.errors import AsdgazeError, OptionsError
from asdgaze.predict import PredictInterrupted, run_predict
from asdgaze.predict.outputs import OutputError


class FakeModel:
    """Log density = log_softmax over pixels of (grey / 64 + prior): per image, batch-independent."""

    def __init__(self, interrupt_after: int | None = None, fail: Exception | None = None) -> None:
        self.calls: list[int] = []
        self.interrupt_after = interrupt_after
        self.fail = fail

    def to(self, device):
        return self

    def forward_parts(self, x, prior, precision="fp32"):
        if self.interrupt_after is not None and len(self.calls) >= self.interrupt_after:
            raise KeyboardInterrupt
        if self.fail is not None:
            raise self.fail
        self.calls.append(x.shape[0])
        assert x.dtype == torch.uint8 and prior.shape == (x.shape[0], *x.shape[2:])
        logits = x.double().mean(1) / 64.0 + prior.double()
        b, h, w = logits.shape
        out = torch.log_softmax(logits.reshape(b, -1), 1).reshape(b, h, w)
        return {"output": out[:, None].float()}


def expected_log_density(path: Path) -> np.ndarray:
    """The stand-in model's output computed independently in numpy (uniform prior)."""
    a = np.asarray(Image.open(path).convert("RGB"), dtype=np.float64).mean(2) / 64.0
    a = a - np.log(a.size)
    a = a - a.max()
    return (a - np.log(np.exp(a).sum())).astype(np.float32)


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    d = tmp_path / "images"
    d.mkdir()
    for i in range(7):
        shape = (64, 80) if i % 3 else (72, 64)
        Image.fromarray(rng.integers(0, 256, (*shape, 3), dtype=np.uint8)).save(d / f"{i}.png")
    return d


def run(out, folder, **kw):
    kw.setdefault("centerbias", "uniform")
    kw.setdefault("model", FakeModel())
    return run_predict(out, images=folder, progress=False, device="cpu", **kw)


def files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and p.parent != out}


def test_maps_and_batches(folder, tmp_path):
    model = FakeModel()
    r = run(tmp_path / "o", folder, batch_size=2, model=model)
    assert r.ok and r.written == [str(i) for i in range(7)]  # input order, whatever finished first
    assert model.calls == [1] * 7  # on CPU one image per forward pass (the model computes them alone anyway)
    for i in range(7):
        np.testing.assert_allclose(np.load(tmp_path / "o" / "maps" / f"{i}.npy"),
                                   expected_log_density(folder / f"{i}.png"), atol=2e-6)


def test_settings_recorded_before_outputs_and_mismatch_named(folder, tmp_path):
    """Issue 6: an interrupted run (no manifest) resumed with another centre bias mixed settings."""
    out = tmp_path / "o"
    with pytest.raises(PredictInterrupted) as info:
        run(out, folder, batch_size=1, model=FakeModel(interrupt_after=2))
    assert len(info.value.result.written) == 2
    (out / "manifest.json").unlink(missing_ok=True)  # as after SIGKILL
    assert len(list((out / "maps").glob("*.npy"))) == 2
    cb = tmp_path / "cb.npy"
    np.save(cb, np.full((8, 8), -np.log(64.0)))  # a uniform log density
    with pytest.raises(OptionsError) as err:
        run(out, folder, centerbias=cb)
    msg = str(err.value)
    assert f"--centerbias: uniform -> file {cb} (sha256 " in msg and "--overwrite" in msg
    assert len(list((out / "maps").glob("*.npy"))) == 2  # nothing new was written
    r = run(out, folder, centerbias=cb, overwrite=True)
    assert len(r.written) == 7
    assert json.loads((out / "run-settings.json").read_text())["centerbias"]["kind"] == "file"


def test_a_record_without_outputs_does_not_bind_the_next_run(folder, tmp_path):
    """A run that stopped before its first image (e.g. the model failed to load) leaves only its
    settings record; a rerun with other settings is not refused for outputs that do not exist."""
    out = tmp_path / "o"
    with pytest.raises(PredictInterrupted):
        run(out, folder, batch_size=1, model=FakeModel(interrupt_after=0))
    assert (out / "run-settings.json").is_file() and not list(out.glob("maps/*.npy"))
    r = run(out, folder, centerbias="gaussian")
    assert len(r.written) == 7
    assert json.loads((out / "run-settings.json").read_text())["centerbias"]["kind"] == "gaussian"


def test_other_settings_each_named(folder, tmp_path):
    out = tmp_path / "o"
    run(out, folder, outputs="npy")
    with pytest.raises(OptionsError, match=r"--outputs: \[\"npy\"\] -> \[\"npy\", \"png\"\]"):
        run(out, folder, outputs="npy,png")
    with pytest.raises(OptionsError, match='--npy-dtype: "float32" -> "float16"'):
        run(out, folder, outputs="npy", npy_dtype="float16")
    with pytest.raises(OptionsError, match='--precision: "fp32" -> "fp16"'):
        run(out, folder, outputs="npy", precision="fast")


def test_outputs_without_a_record_are_refused(folder, tmp_path):
    out = tmp_path / "o"
    (out / "maps").mkdir(parents=True)
    np.save(out / "maps" / "0.npy", np.zeros((72, 64), np.float32))
    with pytest.raises(OptionsError, match="no record of the settings"):
        run(out, folder)


def test_interrupt_then_resume_is_byte_identical(folder, tmp_path):
    whole = tmp_path / "whole"
    run(whole, folder, batch_size=2)
    out = tmp_path / "o"
    with pytest.raises(PredictInterrupted) as info:
        run(out, folder, batch_size=2, model=FakeModel(interrupt_after=1))
    done = info.value.result.written
    assert 0 < len(done) < 7
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "interrupted" and manifest["finished"] == len(done)
    (out / "maps" / ".3.npy.abc123.part").write_bytes(b"half")  # a temp file a kill left behind
    model = FakeModel()
    r = run(out, folder, batch_size=2, model=model)
    assert sorted(r.skipped) == sorted(done) and sum(model.calls) == 7 - len(done)  # only the missing work
    assert files(out) == files(whole)


def test_three_shards_equal_one_run(folder, tmp_path):
    whole = tmp_path / "whole"
    run(whole, folder, batch_size=3)
    sharded = tmp_path / "sharded"
    seen = []
    for k in (1, 2, 3):
        r = run(sharded, folder, batch_size=3, shard=f"{k}/3")
        seen += r.written
        m = json.loads((sharded / f"manifest-shard-{k}-of-3.json").read_text())
        assert m["shard"]["k"] == k and m["shard"]["n"] == 3 and sorted(m["shard"]["images"]) == sorted(r.written)
    assert sorted(seen) == sorted(str(i) for i in range(7)) and len(seen) == 7
    assert files(sharded) == files(whole)
    r = run(sharded, folder)  # the merge: a plain run finds everything done and writes manifest.json
    assert len(r.skipped) == 7 and not r.written and (sharded / "manifest.json").is_file()


@pytest.mark.parametrize("bad", ["0/3", "4/3", "x", "1/0"])
def test_bad_shard(folder, tmp_path, bad):
    with pytest.raises(OptionsError, match="--shard"):
        run(tmp_path / "o", folder, shard=bad)


def test_outputs_selection_npy_float16_png_level(folder, tmp_path):
    out = tmp_path / "o"
    run(out, folder, outputs="npy", npy_dtype="float16")
    assert not (out / "overlays").exists() and not list((out / "maps").glob("*.png"))
    ld = np.load(out / "maps" / "0.npy")
    exact = expected_log_density(folder / "0.png")
    assert ld.dtype == np.float16
    # float16 keeps 11 significant bits: relative error <= 2**-11
    assert np.all(np.abs(ld.astype(np.float64) - exact) <= np.abs(exact) * 2.0 ** -11 + 1e-6)
    out2 = tmp_path / "o2"
    run(out2, folder, outputs="png", png_level=9)
    from test_predict_render import levels_by_unique

    np.testing.assert_array_equal(np.asarray(Image.open(out2 / "maps" / "0.png")),
                                  np.rint(255 * (1 - levels_by_unique(exact))).astype(np.uint8))
    with pytest.raises(OptionsError, match="--outputs"):
        run(tmp_path / "o3", folder, outputs="npy,tiff")


def test_writer_error_stops_the_run_naming_the_file(folder, tmp_path, monkeypatch):
    import asdgaze.predict.outputs as outputs

    real = outputs.atomic_path

    def failing(path):
        if Path(path).name == "4.png":
            raise OSError(28, "No space left on device")
        return real(path)

    monkeypatch.setattr(outputs, "atomic_path", failing)
    with pytest.raises(OutputError, match=r"4\.png: cannot write \(No space left on device\)"):
        run(tmp_path / "o", folder, batch_size=2)


def test_a_full_disk_stops_at_the_first_failed_write_and_says_how_far_it_got(folder, tmp_path, monkeypatch):
    """Issue 15, case 7: no write is started after the first one that failed (a full disk used to go on
    failing image after image), and the error says how many images are finished and how to resume."""
    import errno
    import os
    import time

    real = os.replace
    tried: list[str] = []

    def full_from_image_2(src, dst):
        if Path(dst).parent.name in ("maps", "overlays") and int(Path(dst).stem) >= 2:
            tried.append(Path(dst).name)
            time.sleep(0.3)  # meanwhile the model goes on and queues the next images' writes
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(src, dst)

    monkeypatch.setattr(os, "replace", full_from_image_2)
    out = tmp_path / "o"
    with pytest.raises(OutputError) as e:
        run(out, folder)
    assert str(e.value) == (f"{out / 'overlays' / '2.jpg'}: cannot write (No space left on device)\n"
                            f"2 of 7 images finished (saved in {out}); free space and rerun the same command to "
                            "resume")
    assert e.value.errno == errno.ENOSPC
    assert tried == ["2.jpg"]  # the queued writes of images 3, 4, ... were dropped, not tried
    monkeypatch.undo()
    r = run(out, folder)  # space freed: the same call resumes
    assert r.skipped == ["0", "1"] and r.written == ["2", "3", "4", "5", "6"]
    for i in range(7):
        np.testing.assert_allclose(np.load(out / "maps" / f"{i}.npy"), expected_log_density(folder / f"{i}.png"),
                                   atol=2e-6)


def _demo_copy(tmp_path: Path) -> Path:
    import shutil

    from asdgaze.data import demo_dataset_path

    ds = tmp_path / "ds"
    shutil.copytree(demo_dataset_path(), ds)
    return ds


def _cli_with_fake_model(monkeypatch, tmp_path, model) -> list[str]:
    """`asdgaze predict` options that run ``model`` (the checkpoint is a dummy file, never read)."""
    import asdgaze.predict.pipeline as pipeline

    monkeypatch.setenv("ASDGAZE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(pipeline, "_load_model", lambda wpath, dev: model)
    (tmp_path / "w.pth").write_bytes(b"dummy")
    return ["--weights", str(tmp_path / "w.pth"), "--centerbias", "uniform", "--device", "cpu", "--no-progress"]


def test_predict_dataset_reports_an_unreadable_image(tmp_path, monkeypatch, capsys):
    """Issue 15, case 4: an HTML page saved as Images/3.png was skipped silently with --dataset (exit 0)."""
    from asdgaze.cli import main

    ds = _demo_copy(tmp_path)
    bad = next(ds.rglob("Images")) / "3.png"
    bad.write_text("<html><body>404 Not Found</body></html>")
    r = run_predict(tmp_path / "o", dataset=ds, model=FakeModel(), centerbias="uniform", device="cpu", progress=False)
    assert r.failures == [(str(bad), f"{bad}: not a readable image file")]
    assert r.written == ["1", "2", "4", "5", "6", "7", "8"] and not r.ok
    m = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert m["failures"] == [{"image": str(bad), "error": f"{bad}: not a readable image file"}]
    rc = main(["predict", "--dataset", str(ds), "--out", str(tmp_path / "o2"),
               *_cli_with_fake_model(monkeypatch, tmp_path, FakeModel())])
    cap = capsys.readouterr()
    assert rc == 1
    assert "7 written, 0 already present, 1 failed" in cap.out
    assert f"{bad}: not a readable image file" in cap.err


def test_predict_prints_each_warning_as_one_plain_line(tmp_path, monkeypatch, capsys):
    """Issue 15, case 8: warnings came out as Python's `file.py:123: UserWarning:` with a source line."""
    import warnings

    from asdgaze.cli import main

    class NotingModel(FakeModel):
        def forward_parts(self, x, prior, precision="fp32"):
            warnings.warn("some.png: a note on this image", UserWarning)
            return super().forward_parts(x, prior, precision)

    ds = _demo_copy(tmp_path)
    scanpath = next(ds.rglob("ASD_scanpath_1.txt"))  # a fixation outside the image (a loader note in evaluate)
    scanpath.write_text(scanpath.read_text().rstrip("\n") + "\n99, 5000, 5000, 100\n")
    rc = main(["predict", "--dataset", str(ds), "--out", str(tmp_path / "o"),
               *_cli_with_fake_model(monkeypatch, tmp_path, NotingModel())])
    err = capsys.readouterr().err
    assert rc == 0, err
    assert err.splitlines() == ["warning: some.png: a note on this image"]  # once, without a source line


def test_only_asdgaze_errors_become_image_failures(folder, tmp_path):
    from asdgaze.data.images import ImageError

    r = run(tmp_path / "a", folder, model=FakeModel(fail=ImageError("x: bad pixels")))
    assert len(r.failures) == 7 and not r.written
    with pytest.raises(ZeroDivisionError):
        run(tmp_path / "b", folder, model=FakeModel(fail=ZeroDivisionError("bug")))
    assert issubclass(OutputError, AsdgazeError)


def test_missing_inputs_are_refused_before_any_work(folder, tmp_path):
    out = tmp_path / "o"
    with pytest.raises(OptionsError, match="--centerbias"):
        run(out, folder, centerbias=tmp_path / "nope.npy")
    assert not out.exists()
    (tmp_path / "file").write_text("x")
    with pytest.raises(OptionsError, match="--out exists and is not a folder"):
        run(tmp_path / "file", folder)
    with pytest.raises(AsdgazeError, match="does not exist"):
        run_predict(out, images=folder, weights=tmp_path / "no.pth", centerbias="uniform", progress=False)
    assert not out.exists()


def test_cuda_requested_without_a_gpu_is_a_clean_error(folder, tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(OptionsError, match="--device cuda"):
        run_predict(tmp_path / "o", images=folder, model=FakeModel(), centerbias="uniform", device="cuda",
                    progress=False)
    r = run_predict(tmp_path / "o", images=folder, model=FakeModel(), centerbias="uniform", device="auto",
                    progress=False)
    assert r.ok and json.loads((tmp_path / "o" / "manifest.json").read_text())["device"] == "cpu"


def test_checkpoint_hash_is_remembered_by_size_and_mtime(tmp_path, monkeypatch):
    import hashlib
    import os

    import asdgaze.models.deepgaze.cache as settings

    monkeypatch.setenv("ASDGAZE_HOME", str(tmp_path / "home"))
    f = tmp_path / "w.pth"
    f.write_bytes(b"abc")
    reads = []
    real = settings.sha256_file
    monkeypatch.setattr(settings, "sha256_file", lambda p: reads.append(p) or real(p))
    assert settings.cached_sha256(f) == hashlib.sha256(b"abc").hexdigest()
    assert settings.cached_sha256(f) == hashlib.sha256(b"abc").hexdigest() and len(reads) == 1
    f.write_bytes(b"abd")
    os.utime(f, ns=(1, 1))  # a changed file with another mtime is hashed again
    assert settings.cached_sha256(f) == hashlib.sha256(b"abd").hexdigest() and len(reads) == 2


def test_overwrite_with_new_settings_killed_early_never_keeps_old_files(folder, tmp_path):
    """--overwrite with another centre bias, interrupted: the rerun must not keep maps of the old one."""
    out = tmp_path / "o"
    run(out, folder)
    cb = tmp_path / "cb.npy"
    np.save(cb, np.full((8, 8), -np.log(64.0)))  # a uniform log density
    with pytest.raises(PredictInterrupted):
        run(out, folder, centerbias=cb, overwrite=True, batch_size=1, model=FakeModel(interrupt_after=2))
    model = FakeModel()
    r = run(out, folder, centerbias=cb, model=model)
    assert len(r.skipped) == 2 and sum(model.calls) == 5


def test_equal_size_batches_on_the_fly():
    from asdgaze.predict.stages import equal_size_batches

    def decoded(shapes):
        for i, shape in enumerate(shapes):
            err = ValueError("bad") if shape is None else None
            yield str(i), Path(f"{i}.png"), (None if shape is None else np.zeros((*shape, 3), np.uint8)), err

    shapes = [(2, 2), (3, 3), (2, 2), None, (2, 2), (3, 3), (2, 2)]
    out = [([s for s, _, _ in b], [s for s, _, _ in f]) for b, f in equal_size_batches(decoded(shapes), 2, 10)]
    # full batches as soon as they fill, failures passed on with the next batch, partial ones at the end
    assert out == [(["0", "2"], []), (["1", "5"], ["3"]), (["4", "6"], [])]
    # at most max_buffered images wait: the fullest partial batch goes early
    shapes = [(2, 2), (3, 3), (4, 4), (2, 2), (5, 5)]
    out = [[s for s, _, _ in b] for b, _ in equal_size_batches(decoded(shapes), 3, 3)]
    assert out == [["0", "3"], ["1"], ["2"], ["4"]]

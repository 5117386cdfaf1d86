"""`asdgaze predict` / run_predict end to end with the seed-0 synthetic checkpoint (built in a temp dir)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from asdgaze.cli import main
from asdgaze.predict import run_predict
from test_predict_render import levels_by_unique



@pytest.fixture(scope="session")
def checkpoint(checkpoint_seed0: Path) -> Path:
    return checkpoint_seed0


@pytest.fixture()
def small_images(osie_dir: Path, tmp_path: Path) -> Path:
    """Three small crops of real OSIE photos (two 192x256, one odd 97x131) and one broken file."""
    src = osie_dir / "TrainingDataset" / "TrainingData" / "Images"
    a = np.asarray(Image.open(src / "1.png").convert("RGB"))
    b = np.asarray(Image.open(src / "10.png").convert("RGB"))
    folder = tmp_path / "images"
    folder.mkdir()
    Image.fromarray(a[:192, :256]).save(folder / "a.png")
    Image.fromarray(b[:192, :256]).save(folder / "b.png")
    Image.fromarray(a[300:397, 400:531]).save(folder / "odd.png")
    (folder / "broken.png").write_bytes(b"not an image")
    Image.fromarray(a[:40, :50]).save(folder / "tiny.png")  # below the 64 px minimum
    return folder


def _lse(a: np.ndarray) -> float:
    a = a.astype(np.float64)
    return float(a.max() + np.log(np.exp(a - a.max()).sum()))


def test_run_predict_outputs_manifest_and_resume(small_images, checkpoint, tmp_path):
    out = tmp_path / "out"
    r = run_predict(out, images=small_images, weights=checkpoint, centerbias="uniform", batch_size=4, progress=False)
    assert sorted(r.written) == ["a", "b", "odd"] and not r.ok
    assert sorted(Path(n).name for n, _ in r.failures) == ["broken.png", "tiny.png"]
    reasons = dict((Path(n).name, e) for n, e in r.failures)
    # "<file>: <problem>", the file named once
    assert reasons["broken.png"] == f"{small_images / 'broken.png'}: not a readable image file"
    assert reasons["tiny.png"].startswith(f"{small_images / 'tiny.png'}: image of 40x50 px is too small")
    for stem, shape in [("a", (192, 256)), ("b", (192, 256)), ("odd", (97, 131))]:
        ld = np.load(out / "maps" / f"{stem}.npy")
        assert ld.dtype == np.float32 and ld.shape == shape
        assert abs(_lse(ld)) <= 1e-5
        png = np.asarray(Image.open(out / "maps" / f"{stem}.png"))
        assert png.dtype == np.uint8 and png.shape == shape and png.max() == 255
        # 255 * (1 - the share of the probability in the pixels at least as likely)
        np.testing.assert_array_equal(png, np.rint(255 * (1 - levels_by_unique(ld))).astype(np.uint8))
        ov = Image.open(out / "overlays" / f"{stem}.jpg")
        assert ov.size[1] == shape[0] and ov.size[0] > shape[1] and ov.mode == "RGB"  # the colour bar beside it
    m = json.loads((out / "manifest.json").read_text())
    assert m["weights"]["sha256"] == hashlib.sha256(checkpoint.read_bytes()).hexdigest()
    assert m["centerbias"] == {"kind": "uniform"} and m["precision"] == "fp32" and m["device"] == "cpu"
    assert m["versions"]["torch"] and m["images"]["a"]["seconds"] > 0 and m["images"]["a"]["batch"] == 1
    assert sorted(Path(f["image"]).name for f in m["failures"]) == ["broken.png", "tiny.png"]
    # resumable: complete outputs are skipped (the model is not even loaded)
    before = (out / "maps" / "a.npy").stat().st_mtime_ns
    (out / "maps" / "odd.npy").unlink()
    r2 = run_predict(out, images=small_images, weights=checkpoint, centerbias="uniform", progress=False)
    assert r2.written == ["odd"] and sorted(r2.skipped) == ["a", "b"]
    assert (out / "maps" / "a.npy").stat().st_mtime_ns == before
    # other settings into the same folder are refused
    with pytest.raises(ValueError, match="other settings"):
        run_predict(out, images=small_images, weights=checkpoint, centerbias="uniform", precision="bf16",
                    progress=False)


def test_maps_equal_the_python_api(small_images, checkpoint, tmp_path):
    from asdgaze import DeepGazeIIE
    from asdgaze.data.images import load_image

    out = tmp_path / "out"
    cb = np.log(np.linspace(1, 2, 97 * 131).reshape(97, 131))
    cb -= np.log(np.exp(cb).sum())  # a centre-bias file must be a normalised log density
    np.save(tmp_path / "cb.npy", cb)
    r = run_predict(out, images=[small_images / "odd.png"], weights=checkpoint, centerbias=tmp_path / "cb.npy",
                    progress=False)
    assert r.ok and r.written == ["odd"]
    model = DeepGazeIIE.from_checkpoint(checkpoint)
    expected = model.predict(load_image(small_images / "odd.png"), centerbias=cb - np.log(np.exp(cb).sum()))
    np.testing.assert_allclose(np.load(out / "maps" / "odd.npy"), expected, atol=1e-6)
    m = json.loads((out / "manifest.json").read_text())
    assert m["centerbias"]["kind"] == "file" and m["centerbias"]["path"].endswith("cb.npy")


def test_cli_predict_on_the_demo_dataset(checkpoint, tmp_path, capsys):
    """The 'done' criterion: predict over the bundled demo images (8 x 800x600) with --weights."""
    from asdgaze.data import demo_dataset_path, load_demo

    out = tmp_path / "demo-maps"
    rc = main(["predict", "--dataset", str(demo_dataset_path()), "--out", str(out), "--weights", str(checkpoint),
               "--centerbias", "uniform", "--batch-size", "4", "--no-progress"])
    assert rc == 0, capsys.readouterr()
    for stem, stim in load_demo().stimuli.items():
        ld = np.load(out / "maps" / f"{stem}.npy")
        assert ld.shape == (stim.height, stim.width) and abs(_lse(ld)) <= 1e-5
    assert "8 written" in capsys.readouterr().out


def test_cli_reports_bad_images_and_exits_nonzero(small_images, checkpoint, tmp_path, capsys):
    for name in ("a.png", "b.png", "tiny.png"):
        (small_images / name).unlink()
    rc = main(["predict", "--images", str(small_images), "--out", str(tmp_path / "o"), "--weights",
               str(checkpoint), "--centerbias", "uniform", "--no-progress"])
    captured = capsys.readouterr()
    assert rc == 1
    assert "broken.png" in captured.err and "1 written" in captured.out


def test_missing_weights_error_names_path_and_command(small_images, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ASDGAZE_HOME", str(tmp_path / "cache"))
    rc = main(["predict", "--images", str(small_images), "--out", str(tmp_path / "o"), "--centerbias", "uniform"])
    err = capsys.readouterr().err
    assert rc == 1
    assert str(tmp_path / "cache" / "deepgaze2e.pth") in err and "asdgaze weights download" in err
    assert not (tmp_path / "o" / "maps").exists()


def test_weights_import_and_status(checkpoint, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ASDGAZE_HOME", str(tmp_path / "cache"))
    assert main(["weights", "status"]) == 0
    assert "deepgaze2e.pth: MISSING" in capsys.readouterr().out
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"x")
    assert main(["weights", "import", str(bad)]) == 1
    assert not (tmp_path / "cache" / "deepgaze2e.pth").exists()
    assert main(["weights", "import", str(checkpoint)]) == 0
    sha = hashlib.sha256(checkpoint.read_bytes()).hexdigest()
    assert (tmp_path / "cache" / "deepgaze2e.pth").is_file()
    capsys.readouterr()
    assert main(["weights", "status"]) == 0
    assert f"deepgaze2e.pth: present, sha256 {sha}" in capsys.readouterr().out


def test_weights_download_offline_and_verified(checkpoint, tmp_path, monkeypatch, capsys):
    """No network in tests: the fetch is replaced by a local copy (or by an offline error)."""
    import urllib.error

    from asdgaze.models.centerbias import resolve_centerbias
    from asdgaze.models.deepgaze import weights as w

    monkeypatch.setenv("ASDGAZE_HOME", str(tmp_path / "cache"))

    def offline(url, dest, progress):
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(w, "_fetch", offline)
    assert main(["weights", "download"]) == 1
    err = capsys.readouterr().err
    assert "could not download https://github.com/matthias-k/DeepGaze/releases/download/v1.0.0/deepgaze2e.pth" in err
    assert "asdgaze weights import" in err and not (tmp_path / "cache" / "deepgaze2e.pth").exists()

    template = tmp_path / "t.npy"
    p = np.linspace(1, 2, 1024 * 1024).reshape(1024, 1024)  # the published layout: 1024x1024 float64 log density
    np.save(template, np.log(p / p.sum()))
    sources = {"deepgaze2e.pth": checkpoint, "centerbias_mit1003.npy": template}

    def local(url, dest, progress):
        shutil.copyfile(sources[url.rsplit("/", 1)[-1]], dest)

    monkeypatch.setattr(w, "_fetch", local)
    assert main(["weights", "download"]) == 0
    out = capsys.readouterr().out
    assert f"deepgaze2e.pth: sha256 {hashlib.sha256(checkpoint.read_bytes()).hexdigest()}" in out
    cb = resolve_centerbias("mit1003")
    assert cb.kind == "mit1003" and cb.log_density(64, 48).shape == (64, 48)

    def corrupt(url, dest, progress):
        Path(dest).write_bytes(b"<html>rate limited</html>")

    monkeypatch.setattr(w, "_fetch", corrupt)
    with pytest.raises(w.WeightsError, match="not the expected file"):
        w.download(names=("deepgaze2e.pth",), force=True, progress=False)
    assert (tmp_path / "cache" / "deepgaze2e.pth").stat().st_size == checkpoint.stat().st_size


def test_three_shards_equal_one_run_with_the_model(small_images, checkpoint, tmp_path):
    """Batches differ between a whole run and its shards; on CPU the maps must still be byte-identical."""
    from asdgaze import DeepGazeIIE

    for name in ("broken.png", "tiny.png"):
        (small_images / name).unlink()
    a = np.asarray(Image.open(small_images / "a.png"))
    Image.fromarray(a[::-1].copy()).save(small_images / "c.png")
    Image.fromarray(a[:, ::-1].copy()).save(small_images / "d.png")
    model = DeepGazeIIE.from_checkpoint(checkpoint)

    def files(out):
        return {str(p.relative_to(out)): p.read_bytes() for sub in ("maps", "overlays") for p in (out / sub).iterdir()}

    kw = dict(images=small_images, centerbias="uniform", batch_size=4, progress=False, model=model)
    run_predict(tmp_path / "whole", **kw)
    for k in (1, 2, 3):
        run_predict(tmp_path / "sharded", shard=f"{k}/3", **kw)
    assert len(files(tmp_path / "whole")) == 15
    assert files(tmp_path / "sharded") == files(tmp_path / "whole")


def test_cli_messages_speak_cli(small_images, checkpoint, tmp_path, capsys):
    rc = main(["predict", "--out", str(tmp_path / "o"), "--weights", str(checkpoint), "--no-progress"])
    assert rc == 2 and "--images DIR" in capsys.readouterr().err
    rc = main(["predict", "--images", str(small_images), "--out", str(tmp_path / "o"), "--weights",
               str(checkpoint), "--centerbias", str(tmp_path / "none.npy"), "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 1 and "--centerbias" in err and "none.npy" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()  # checked before any work
    (small_images / "tiny.png").unlink()
    rc = main(["predict", "--images", str(small_images), "--out", str(tmp_path / "o"), "--weights",
               str(checkpoint), "--centerbias", "uniform", "--outputs", "npy", "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 1
    assert f"  {small_images / 'broken.png'}: not a readable image file\n" in err
    assert "DataError" not in err and "cannot read image (" not in err

"""--overwrite with --shard is refused by evaluate, run and predict before any work: it would delete
the outputs of every image in --out, the other shards' (finished or running) included."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from asdgaze.cli import main
from asdgaze.data import demo_dataset_path
from asdgaze.errors import OptionsError
from asdgaze.evaluate import EvaluateError, EvaluateOptions, evaluate
from asdgaze.run import RunError, run

FEW = EvaluateOptions(metrics=("nss",), conventions=("mit",), baselines=("centerbias",))


def _refusal(text: str) -> None:
    """The message names both options and says what to do instead."""
    assert "--overwrite" in text and "--shard" in text
    assert "without --shard" in text and "new --out" in text


def _mtimes(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in sorted(folder.rglob("*")) if p.is_file()}


def test_evaluate_refuses_overwrite_with_shard_and_keeps_the_other_shards_parts(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ASDGAZE_HOME", str(tmp_path / "cache"))  # no cached weights, no user files
    from asdgaze.data import load_dataset

    ds = load_dataset(demo_dataset_path())
    out = tmp_path / "out"
    first = evaluate(ds, None, out, FEW, workers=1, progress=False, shard="1/2")
    assert first.shard_images and len(list((out / "parts").glob("[0-9]*.json"))) == len(first.shard_images)
    before = _mtimes(out)
    with pytest.raises(EvaluateError) as e:
        evaluate(ds, None, out, FEW, workers=1, progress=False, shard="2/2", overwrite=True)
    _refusal(str(e.value))
    rc = main(["evaluate", "--dataset", str(demo_dataset_path()), "--baselines", "centerbias", "--metrics", "nss",
               "--convention", "mit", "--out", str(out), "--shard", "2/2", "--overwrite", "--no-progress"])
    err = capsys.readouterr().err
    assert rc != 0 and "Traceback" not in err
    _refusal(err)
    assert _mtimes(out) == before  # shard 1/2's parts and manifest untouched


def test_run_refuses_overwrite_with_shard_before_any_work(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ASDGAZE_HOME", str(tmp_path / "cache"))  # no cached weights, no user files
    out = tmp_path / "out"
    with pytest.raises(RunError) as e:
        run(demo_dataset_path(), out, models=(), baselines=("centerbias",), shard="1/2", overwrite=True,
            progress=False, echo=lambda s: None)
    _refusal(str(e.value))
    rc = main(["run", "--dataset", str(demo_dataset_path()), "--out", str(out), "--models", "", "--baselines",
               "centerbias", "--shard", "1/2", "--overwrite", "--no-progress"])
    err = capsys.readouterr().err
    assert rc != 0 and "Traceback" not in err
    _refusal(err)
    assert not out.exists()


def test_predict_refuses_overwrite_with_shard_and_keeps_the_maps(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ASDGAZE_HOME", str(tmp_path / "cache"))  # no cached weights, no user files
    from asdgaze.predict import run_predict

    images = tmp_path / "images"
    images.mkdir()
    for i in range(3):
        Image.fromarray(np.zeros((16, 16, 3), dtype=np.uint8)).save(images / f"{i}.png")
    out = tmp_path / "out"
    (out / "maps").mkdir(parents=True)
    np.save(out / "maps" / "0.npy", np.zeros((16, 16), dtype=np.float32))  # another shard's map
    before = _mtimes(out)
    with pytest.raises(OptionsError) as e:
        run_predict(out, images=images, shard="2/2", overwrite=True, progress=False, device="cpu")
    _refusal(str(e.value))
    rc = main(["predict", "--images", str(images), "--out", str(out), "--shard", "2/2", "--overwrite",
               "--device", "cpu", "--no-progress"])
    err = capsys.readouterr().err
    assert rc != 0 and "Traceback" not in err
    _refusal(err)
    assert _mtimes(out) == before

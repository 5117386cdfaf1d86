"""`asdgaze run --shard K/N`: shards stop before compare and mark nothing done; a plain run merges
to the same tables as an unsharded run; with DeepGaze IIE, a shard's evaluate waits for every map."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

import asdgaze.evaluate as ev
import asdgaze.predict
import asdgaze.run as run_module
from asdgaze.analysis.compare import CompareOptions
from asdgaze.cli import main
from asdgaze.data import demo_dataset_path
from asdgaze.data.types import Dataset, Stimulus
from asdgaze.evaluate import EvaluateOptions
from asdgaze.maps.io import save_npy
from asdgaze.predict import PredictResult
from asdgaze.run import RunResult, run

SMALL = CompareOptions(n_resamples=200, n_permutations=10)
FEW = EvaluateOptions(metrics=("nss", "cc"), prob_metrics=("ll",))


def _csvs(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.csv"))}


def _stages(root: Path) -> dict:
    path = root / "run.json"
    return json.loads(path.read_text())["stages"] if path.is_file() else {}


def test_three_run_shards_then_a_plain_run_equal_an_unsharded_run(tmp_path, monkeypatch):
    monkeypatch.setenv("ASDGAZE_HOME", str(tmp_path / "cache"))
    kw = dict(models=(), baselines=("centerbias",), evaluate_options=FEW, compare_options=SMALL, workers=1,
              progress=False)
    ref = run(demo_dataset_path(), tmp_path / "ref", echo=lambda s: None, **kw)
    assert ref.ok and ref.shard is None
    out = tmp_path / "out"
    for k in (1, 2, 3):
        lines: list[str] = []
        r = run(demo_dataset_path(), out, echo=lines.append, shard=f"{k}/3", **kw)
        assert r.ok and r.shard == (k, 3) and r.stages == {"evaluate": f"ran (shard {k}/3)"}
        n = len(sorted(str(i) for i in range(1, 9))[k - 1::3])
        assert lines[-1] == f"shard {k}/3: {n} images scored; run without --shard to merge"
        assert _stages(out) == {}  # no stage is done after a shard
        assert not (out / "results" / "per_image.csv").exists() and not (out / "compare").exists()
        assert not r.report_html.exists()
    scored: list[str] = []
    real = ev.pool._score_image
    monkeypatch.setattr(ev.pool, "_score_image", lambda stem: scored.append(stem) or real(stem))
    merged = run(demo_dataset_path(), out, echo=lambda s: None, **kw)
    assert scored == [] and merged.ok and merged.report_html.is_file()
    assert merged.stages == {s: "ran" for s in ("evaluate", "compare", "report")}
    assert set(_stages(out)) == {"evaluate", "compare", "report"}
    assert _csvs(out) == _csvs(tmp_path / "ref")
    # a shard after the merge finds evaluate done and does nothing
    again: list[str] = []
    r = run(demo_dataset_path(), out, echo=again.append, shard="2/3", **kw)
    assert r.stages == {"evaluate": "skipped (done earlier)"} and "run without --shard" in again[-1]


def test_bad_run_shard_values_are_refused_naming_the_option(tmp_path, capsys):
    for value in ("0/3", "4/3", "a/b"):
        rc = main(["run", "--dataset", str(demo_dataset_path()), "--out", str(tmp_path / "out"), "--models", "",
                   "--shard", value, "--no-progress"])
        err = capsys.readouterr().err
        assert rc == 2 and "--shard" in err and value in err
    assert not (tmp_path / "out").exists()


def test_a_deepgaze_shard_evaluates_once_every_map_is_there(tmp_path, monkeypatch):
    monkeypatch.setenv("ASDGAZE_HOME", str(tmp_path / "cache"))
    checkpoint = tmp_path / "deepgaze2e.pth"
    checkpoint.write_bytes(b"stand-in")
    monkeypatch.setattr(run_module, "check_deepgaze", lambda weights, centerbias: checkpoint)
    predicted: list[tuple] = []

    def fake_predict(out, images=None, shard=None, **kwargs):  # DeepGaze IIE stand-in: one map per image
        from asdgaze.runfolder import select_shard

        items = select_shard([(Path(p).stem, p) for p in images], shard)
        predicted.append((shard, [s for s, _ in items]))
        todo = [s for s, _ in items if not (Path(out) / "maps" / f"{s}.npy").is_file()]  # finished ones are kept
        for stem in todo:
            d = np.random.default_rng(int(stem)).random((60, 80)) + 0.2
            save_npy(Path(out) / "maps" / f"{stem}.npy", np.log(d / d.sum()))
        return PredictResult(Path(out), written=todo, skipped=[s for s, _ in items if s not in todo],
                             total=len(items))

    monkeypatch.setattr(asdgaze.predict, "run_predict", fake_predict)
    kw = dict(models=("deepgaze2e",), baselines=("centerbias",), evaluate_options=FEW, compare_options=SMALL,
              workers=1, progress=False, echo=lambda s: None)
    out = tmp_path / "out"
    r1 = run(demo_dataset_path(), out, shard="1/2", **kw)
    assert r1.stages == {"predict": "ran (shard 1/2)"} and "4 of 8 are not there yet" in r1.shard_line
    assert predicted == [((1, 2), ["1", "3", "5", "7"])] and not (out / "results" / "parts").exists()
    r2 = run(demo_dataset_path(), out, shard="2/2", **kw)
    assert r2.stages == {"predict": "ran (shard 2/2)", "evaluate": "ran (shard 2/2)"}
    assert r2.shard_line == "shard 2/2: 4 images scored; run without --shard to merge"
    r1 = run(demo_dataset_path(), out, shard="1/2", **kw)
    assert r1.stages == {"predict": "ran (shard 1/2)", "evaluate": "ran (shard 1/2)"} and _stages(out) == {}
    assert len(list((out / "results" / "parts").glob("[0-9]*.json"))) == 8
    scored: list[str] = []
    real = ev.pool._score_image
    monkeypatch.setattr(ev.pool, "_score_image", lambda stem: scored.append(stem) or real(stem))
    merged = run(demo_dataset_path(), out, **kw)
    assert scored == [] and predicted[-1] == (None, [str(i) for i in range(1, 9)])
    assert merged.ok and merged.stages == {s: "ran" for s in ("predict", "evaluate", "compare", "report")}
    assert set(_stages(out)) == {"predict", "evaluate", "compare", "report"}
    manifest = json.loads((out / "results" / "manifest.json").read_text())
    assert [(s["k"], s["n"]) for s in manifest["shards"]] == [(1, 2), (2, 2)]
    assert sorted(manifest["resumed"], key=int) == [str(i) for i in range(1, 9)]


def test_a_deepgaze_shard_waits_for_the_npy_not_the_png_and_names_the_missing_maps(tmp_path, monkeypatch):
    # predict writes <stem>.png before <stem>.npy: a shard that counted the PNGs would score a folder
    # that is not all .npy, i.e. DeepGaze IIE with the MIT convention only.
    monkeypatch.setenv("ASDGAZE_HOME", str(tmp_path / "cache"))
    checkpoint = tmp_path / "deepgaze2e.pth"
    checkpoint.write_bytes(b"stand-in")
    monkeypatch.setattr(run_module, "check_deepgaze", lambda weights, centerbias: checkpoint)
    out = tmp_path / "out"
    maps = out / "predict" / "deepgaze2e" / "maps"

    def fake_predict(out, images=None, shard=None, **kwargs):  # writes the .npy of this shard's images
        from asdgaze.runfolder import select_shard

        items = select_shard([(Path(p).stem, p) for p in images], shard)
        for stem, _ in items:
            d = np.random.default_rng(int(stem)).random((60, 80)) + 0.2
            save_npy(Path(out) / "maps" / f"{stem}.npy", np.log(d / d.sum()))
        return PredictResult(Path(out), written=[s for s, _ in items], total=len(items))

    monkeypatch.setattr(asdgaze.predict, "run_predict", fake_predict)
    maps.mkdir(parents=True)
    for stem in ("2", "4", "6", "8"):  # shard 2/2's predict is under way: PNGs written, no .npy yet
        Image.fromarray(np.full((60, 80), 128, dtype=np.uint8)).save(maps / f"{stem}.png")
    kw = dict(models=("deepgaze2e",), baselines=("centerbias",), evaluate_options=FEW, compare_options=SMALL,
              workers=1, progress=False, echo=lambda s: None)
    r1 = run(demo_dataset_path(), out, shard="1/2", **kw)
    assert r1.stages == {"predict": "ran (shard 1/2)"} and not (out / "results" / "parts").exists()
    assert "4 of 8 are not there yet (2, 4, 6, 8)" in r1.shard_line
    assert f"manifest-shard-K-of-2.json in {out / 'predict' / 'deepgaze2e'}" in r1.shard_line


def test_a_waiting_shard_names_the_first_ten_missing_maps(tmp_path):
    stimuli = {str(i): Stimulus(str(i), tmp_path / f"{i}.png", 24, 32) for i in range(1, 14)}
    ds = Dataset("tiny", tmp_path, stimuli, {})
    maps = tmp_path / "predict" / "deepgaze2e" / "maps"
    maps.mkdir(parents=True)
    save_npy(maps / "3.npy", np.zeros((24, 32)))  # one image is done
    result = RunResult(tmp_path, tmp_path / "report.html", tmp_path / "results", tmp_path / "compare", None)
    lines: list[str] = []

    def evaluate_stage() -> None:
        raise AssertionError("evaluated with maps missing")

    run_module._finish_shard(result, (3, 4), ds, {"deepgaze2e": maps}, evaluate_stage, lines.append)
    assert lines == [result.shard_line]
    assert "12 of 13 are not there yet (1, 2, 4, 5, 6, 7, 8, 9, 10, 11 and 2 more)" in result.shard_line

"""evaluate --shard K/N: shards plus a merge give a single run's tables byte for byte; the merge
rescores and refits nothing; bad values, failing pairs and concurrent shards."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import asdgaze.evaluate as ev
from asdgaze.cli import main
from asdgaze.data.types import Dataset
from asdgaze.evaluate import EvaluateError, EvaluateOptions, evaluate
from asdgaze.maps.io import save_npy

from _tiny import tiny_dataset  # noqa: E402 (tests/ helper)

SRC = str(Path(ev.__file__).resolve().parents[2])
DEMO = Path(SRC) / "asdgaze" / "demo" / "TrainingDataset"
H, W = 24, 32
TABLES = ("per_image.csv", "per_fixation.csv", "summary.csv", "summary.json")
# both conventions, the three fitted baselines (fitted on every image), shuffled densities (sauc)
OPTIONS = EvaluateOptions(maps_kind="log-density", metrics=("nss", "cc", "auc_shuffled"),
                          prob_metrics=("ll", "ig", "sauc"),
                          baselines=("centerbias", "gold-standard", "other-group"))


def _dataset(root: Path, n: int = 7) -> Dataset:
    return tiny_dataset(root, n, h=H, w=W, n_fix=12, seed=9, image_major=False, images=None, durations=False)


def _log_density_maps(folder: Path, stems, shape=(H, W)) -> None:
    rng = np.random.default_rng(1)
    for stem in stems:
        d = rng.random(shape) + 0.2
        save_npy(folder / f"{stem}.npy", np.log(d / d.sum()))


def _tables(out: Path) -> dict[str, bytes]:
    return {name: (out / name).read_bytes() for name in TABLES}


def test_three_shards_then_a_merge_equal_a_single_run_byte_for_byte(tmp_path, monkeypatch):
    ds = _dataset(tmp_path)
    _log_density_maps(tmp_path / "maps", ds.stimuli)
    ref = evaluate(ds, tmp_path / "maps", tmp_path / "ref", OPTIONS, workers=1, progress=False)
    assert ref.ok and len(ref.per_fixation)

    out = tmp_path / "out"
    stems = sorted(ds.stimuli)  # the rule of predict --shard: positions K-1, K-1+N, ... of the sorted stems
    for k in (1, 2, 3):
        res = evaluate(ds, tmp_path / "maps", out, OPTIONS, workers=1, progress=False, shard=f"{k}/3")
        assert res.ok and res.shard == (k, 3) and res.shard_images == stems[k - 1::3]
        assert res.shard_line == f"shard {k}/3: {len(stems[k - 1::3])} images scored; run without --shard to merge"
        assert sorted(set(res.per_image.image)) == sorted(stems[k - 1::3])
        shard = json.loads((out / f"manifest-shard-{k}-of-3.json").read_text())
        assert shard["shard"] == {"k": k, "n": 3, "images": stems[k - 1::3]} and shard["failures"] == []
        assert shard["settings"] == json.loads((out / "parts" / "settings.json").read_text())["settings"]
        # one folder for every shard and the merge: the settings do not name the shard
        assert not any("shard" in key for key in [*shard["settings"], *shard["settings"]["options"]])
        # no table before the merge
        assert not any((out / name).exists() for name in (*TABLES, "manifest.json"))
    parts = {p: p.stat().st_mtime_ns for p in (out / "parts").glob("[0-9]*.json")}
    assert len(parts) == len(stems)

    # The merge: a plain evaluate on the same folder. Nothing is scored, nothing fitted.
    scored: list[str] = []
    monkeypatch.setattr(ev.pool, "_score_image", lambda stem: scored.append(stem))

    def no_fit(*args, **kwargs):
        raise AssertionError("the merge refitted the baselines")

    monkeypatch.setattr("asdgaze.models.registry.fit", no_fit)
    monkeypatch.setattr(ev.shuffled.Shuffled, "build_all", no_fit)
    merged = evaluate(ds, tmp_path / "maps", out, OPTIONS, workers=1, progress=False)
    assert scored == [] and merged.ok and merged.shard is None
    assert {p: p.stat().st_mtime_ns for p in parts} == parts
    assert _tables(out) == _tables(tmp_path / "ref")
    manifest = json.loads((out / "manifest.json").read_text())
    assert [(s["k"], s["n"], s["images"]) for s in manifest["shards"]] == [(k, 3, stems[k - 1::3]) for k in (1, 2, 3)]
    assert sorted(manifest["resumed"]) == stems and manifest["plan_from"].endswith(".json")
    ref_manifest = json.loads((tmp_path / "ref" / "manifest.json").read_text())
    # the reused plan describes the same fitted baselines as the single run's
    assert manifest["models"] == ref_manifest["models"]
    assert manifest["prob_ig_baseline"] == ref_manifest["prob_ig_baseline"]
    assert ref_manifest["shards"] == [] and ref_manifest["plan_from"] is None


def test_a_shard_fits_the_baselines_on_every_image(tmp_path, monkeypatch):
    ds = _dataset(tmp_path)
    seen: list[list[str]] = []
    from asdgaze.models import registry

    real = registry.fit
    monkeypatch.setattr(registry, "fit", lambda d, *a: seen.append(sorted(d.stimuli)) or real(d, *a))
    built: list[list[str]] = []
    real_build = ev.shuffled.Shuffled.build_all
    monkeypatch.setattr(ev.shuffled.Shuffled, "build_all",
                        lambda self, models, d, stems, *a, **k: built.append(sorted(stems)) or
                        real_build(self, models, d, stems, *a, **k))
    res = evaluate(ds, None, tmp_path / "out", OPTIONS, workers=1, progress=False, shard="2/3")
    assert res.shard_images == ["2", "5"]
    assert seen == [sorted(ds.stimuli)] and built == [sorted(ds.stimuli)]


@pytest.mark.parametrize("value", ["0/3", "4/3", "a/b", "3", "1/0"])
def test_bad_shard_values_are_refused_naming_the_option(tmp_path, capsys, value):
    rc = main(["evaluate", "--dataset", str(DEMO), "--baselines", "centerbias", "--out", str(tmp_path / "out"),
               "--shard", value, "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2 and "--shard" in err and value in err
    assert not (tmp_path / "out").exists()
    with pytest.raises(EvaluateError, match="--shard"):
        evaluate(_dataset(tmp_path), None, tmp_path / "out", OPTIONS, progress=False, shard=value)


def test_a_shard_with_a_failing_pair_exits_1_and_records_it(tmp_path, capsys):
    stems = [str(i) for i in range(1, 9)]
    _log_density_maps(tmp_path / "maps", stems, shape=(60, 80))
    save_npy(tmp_path / "maps" / "1.npy", np.zeros((80, 60)))  # transposed: image 1's pairs fail
    args = ["evaluate", "--dataset", str(DEMO), "--maps", str(tmp_path / "maps"), "--maps-kind", "log-density",
            "--baselines", "none", "--metrics", "nss", "--convention", "mit", "--workers", "1", "--no-progress",
            "--out", str(tmp_path / "out")]
    assert main([*args, "--shard", "1/3"]) == 1  # sorted stems 1, 4, 7
    out, err = capsys.readouterr()
    assert "shard 1/3: 2 images scored; run without --shard to merge" in out
    assert "1 (ASD):" in err and "1 (TD):" in err and "aspect ratio" in err
    shard = json.loads((tmp_path / "out" / "manifest-shard-1-of-3.json").read_text())
    assert {(f["image"], f["group"]) for f in shard["failures"]} == {("1", "ASD"), ("1", "TD")}
    assert all("aspect ratio" in f["error"] for f in shard["failures"])
    assert main([*args, "--shard", "2/3"]) == 0
    assert "shard 2/3: 3 images scored" in capsys.readouterr().out
    assert not (tmp_path / "out" / "per_image.csv").exists()


def _cli(maps: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "asdgaze.cli", "evaluate", "--dataset", str(DEMO), "--maps", str(maps),
            "--maps-kind", "log-density", "--baselines", "centerbias,other-group", "--metrics", "nss,cc,ll,sauc",
            "--workers", "1", "--no-progress", "--out", str(out), *extra]


@pytest.mark.timeout(600)
def test_shards_running_at_the_same_time_into_one_folder(tmp_path):
    env = {**os.environ, "PYTHONPATH": SRC}
    _log_density_maps(tmp_path / "maps", [str(i) for i in range(1, 9)], shape=(120, 160))
    procs = [subprocess.Popen(_cli(tmp_path / "maps", tmp_path / "out", "--shard", f"{k}/2"), env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for k in (1, 2)]
    ref = subprocess.run(_cli(tmp_path / "maps", tmp_path / "ref"), env=env, capture_output=True, text=True,
                         timeout=300)
    outs = [p.communicate(timeout=300) for p in procs]
    assert ref.returncode == 0, ref.stderr
    for k, (p, (so, se)) in enumerate(zip(procs, outs), start=1):
        assert p.returncode == 0, se
        assert f"shard {k}/2: 4 images scored; run without --shard to merge" in so
    assert not list((tmp_path / "out").rglob("*.part"))  # no temporary file left behind
    merge = subprocess.run(_cli(tmp_path / "maps", tmp_path / "out"), env=env, capture_output=True, text=True,
                           timeout=300)
    assert merge.returncode == 0, merge.stderr
    assert "merged shard(s) 1/2, 2/2: 8 image(s) taken from their parts" in merge.stdout
    assert _tables(tmp_path / "out") == _tables(tmp_path / "ref")


def _png_map(path: Path, shape=(H, W)) -> None:
    """A saliency PNG, as predict writes before the .npy of the same image."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.random.default_rng(5).integers(1, 256, shape, dtype=np.uint8)).save(path)


def _prob_images(per_image) -> set[str]:
    """Images with probabilistic rows of the maps model (the baselines always have them)."""
    return set(per_image[(per_image.convention == "probabilistic") & (per_image.model == "maps")].image)


def test_a_part_scored_while_a_map_was_only_a_png_is_rescored_by_the_merge(tmp_path):
    # Shard 1/2 runs while image 2 (shard 2/2) has only its PNG: the folder is not all .npy, so the
    # shard scores its images with the MIT convention only. Once 2.npy is there, the merge must not
    # reuse those parts: every image gets its probabilistic rows, as in a single run.
    ds = _dataset(tmp_path)
    stems = sorted(ds.stimuli)
    maps = tmp_path / "maps"
    _log_density_maps(maps, stems)
    ref = evaluate(ds, maps, tmp_path / "ref", OPTIONS, workers=1, progress=False)
    assert _prob_images(ref.per_image) == set(stems)
    npy2 = (maps / "2.npy").read_bytes()
    (maps / "2.npy").unlink()
    _png_map(maps / "2.png")
    out = tmp_path / "out"
    with pytest.warns(ev.EvaluateWarning, match="only the MIT convention"):
        first = evaluate(ds, maps, out, OPTIONS, workers=1, progress=False, shard="1/2")
    assert first.shard_images == ["1", "3", "5", "7"] and _prob_images(first.per_image) == set()
    (maps / "2.npy").write_bytes(npy2)  # predict's shard 2/2 finished (the .npy wins over the PNG)
    merged = evaluate(ds, maps, out, OPTIONS, workers=1, progress=False)
    assert merged.ok and _prob_images(merged.per_image) == set(stems)
    assert merged.resumed == []  # the MIT-only parts were scored again
    assert _tables(out) == _tables(tmp_path / "ref")


def test_the_merge_takes_no_plan_from_a_shard_that_scored_other_models_probabilistically(tmp_path):
    # Without baselines, a shard whose maps model was MIT-only fitted no probabilistic IG baseline; a
    # merge whose parts all come from later shards must not take its plan from that stale manifest.
    options = replace(OPTIONS, baselines=())
    ds = _dataset(tmp_path)
    stems = sorted(ds.stimuli)
    maps = tmp_path / "maps"
    _log_density_maps(maps, stems)
    evaluate(ds, maps, tmp_path / "ref", options, workers=1, progress=False)
    npy2 = (maps / "2.npy").read_bytes()
    (maps / "2.npy").unlink()
    _png_map(maps / "2.png")
    out = tmp_path / "out"
    with pytest.warns(ev.EvaluateWarning, match="only the MIT convention"):
        evaluate(ds, maps, out, options, workers=1, progress=False, shard="1/2")
    (maps / "2.npy").write_bytes(npy2)
    for k in (1, 2, 3):
        evaluate(ds, maps, out, options, workers=1, progress=False, shard=f"{k}/3")
    merged = evaluate(ds, maps, out, options, workers=1, progress=False)
    assert sorted(merged.resumed) == stems  # every part is there: the plan is taken from a manifest
    manifest = json.loads((out / "manifest.json").read_text())
    ref_manifest = json.loads((tmp_path / "ref" / "manifest.json").read_text())
    assert ref_manifest["prob_ig_baseline"] and manifest["prob_ig_baseline"] == ref_manifest["prob_ig_baseline"]
    assert manifest["plan_from"].endswith("manifest-shard-1-of-3.json")
    assert _tables(out) == _tables(tmp_path / "ref")

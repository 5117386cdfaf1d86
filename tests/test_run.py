"""`asdgaze run`: options checked before any work, stage markers, rerun skips, kill-and-rerun."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from asdgaze.analysis.compare import CompareOptions
from asdgaze.cli import main
from asdgaze.data import demo_dataset_path
from asdgaze.evaluate import EvaluateOptions
from asdgaze.run import RunError, check_baselines, parse_models, run

SRC = str(Path(__file__).resolve().parent.parent / "src")
SMALL = CompareOptions(n_resamples=200, n_permutations=10)
FEW = EvaluateOptions(metrics=("nss", "cc"))


def test_models_and_baselines_are_checked(tmp_path):
    (tmp_path / "m").mkdir()
    specs = parse_models(f"deepgaze2e, mine={tmp_path / 'm'}")
    assert [(s.name, s.maps) for s in specs] == [("deepgaze2e", None), ("mine", tmp_path / "m")]
    with pytest.raises(RunError, match="no such folder"):
        parse_models(f"mine={tmp_path / 'nope'}")
    with pytest.raises(RunError, match="neither deepgaze2e nor NAME=DIR"):
        parse_models("deepgaze3")
    with pytest.raises(RunError, match="used twice"):
        parse_models(f"uniform={tmp_path / 'm'}")
    with pytest.raises(RunError, match="unknown baseline 'centre'"):
        check_baselines(["centre"])
    # gold-standard is scored by evaluate (leave one viewer out); the default is every baseline needing no file
    assert check_baselines(["gold-standard", " uniform"]) == ("gold-standard", "uniform")
    assert check_baselines(None, ["ASD", "TD"]) == ("uniform", "centerbias", "gold-standard", "other-group")
    assert check_baselines(None, ["TD"]) == ("uniform", "centerbias", "gold-standard")


def test_missing_deepgaze_weights_fail_before_any_work(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ASDGAZE_HOME", str(tmp_path / "cache"))
    rc = main(["run", "--dataset", str(demo_dataset_path()), "--out", str(tmp_path / "out"), "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 1
    assert str(tmp_path / "cache" / "deepgaze2e.pth") in err and "asdgaze weights download" in err
    assert "weights import" in err and not (tmp_path / "out").exists()


def test_run_from_python_then_rerun_skips_every_stage(tmp_path, monkeypatch):
    monkeypatch.setenv("ASDGAZE_HOME", str(tmp_path / "cache"))
    lines: list[str] = []
    r = run(demo_dataset_path(), tmp_path / "out", models=(), baselines=("centerbias",), evaluate_options=FEW,
            compare_options=SMALL, workers=1, progress=False, echo=lines.append)
    assert r.ok and r.report_html.is_file()
    assert r.stages == {s: "ran" for s in ("evaluate", "compare", "report")}
    # The group comparison is the mean over images of TD - ASD, recomputed here from the per-image scores.
    per_image = pd.read_csv(tmp_path / "out" / "results" / "per_image.csv")
    sel = per_image[(per_image.model == "centerbias") & (per_image.metric == "nss") & (per_image.convention == "mit")]
    wide = sel.pivot(index="image", columns="group", values="value")
    stats = pd.read_csv(tmp_path / "out" / "compare" / "group_stats.csv")
    row = stats[(stats.model == "centerbias") & (stats.metric == "nss") & (stats.convention == "mit")].iloc[0]
    assert row["n"] == 8
    np.testing.assert_allclose(row["mean_diff"], np.mean(wide["TD"] - wide["ASD"]), rtol=1e-12)
    marker = json.loads((tmp_path / "out" / "run.json").read_text())
    assert set(marker["stages"]) == {"evaluate", "compare", "report"}

    mtimes = {p: p.stat().st_mtime_ns for p in (tmp_path / "out").rglob("*.csv")}
    lines.clear()
    r2 = run(demo_dataset_path(), tmp_path / "out", models=(), baselines=("centerbias",), evaluate_options=FEW,
             compare_options=SMALL, workers=1, progress=False, echo=lines.append)
    assert set(r2.stages.values()) == {"skipped (done earlier)"}
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "out").rglob("*.csv")} == mtimes
    # Other compare settings redo compare and report only.
    r3 = run(demo_dataset_path(), tmp_path / "out", models=(), baselines=("centerbias",), evaluate_options=FEW,
             compare_options=CompareOptions(n_resamples=300, n_permutations=10), workers=1, progress=False,
             echo=lines.append)
    assert r3.stages == {"evaluate": "skipped (done earlier)", "compare": "ran", "report": "ran"}


def _cmd(out: Path) -> list[str]:
    return [sys.executable, "-m", "asdgaze.cli", "run", "--dataset", str(demo_dataset_path()), "--out", str(out),
            "--models", "", "--baselines", "centerbias,other-group", "--metrics", "nss,cc,emd",
            "--n-resamples", "200", "--n-permutations", "10", "--workers", "2", "--no-progress"]


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": SRC, "ASDGAZE_HOME": str(tmp_path / "cache")}


def _csvs(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.csv"))}


@pytest.mark.timeout(600)
def test_killed_run_finishes_with_byte_identical_csvs(tmp_path):
    t0 = time.monotonic()
    full = subprocess.run(_cmd(tmp_path / "full"), env=_env(tmp_path), capture_output=True, text=True, timeout=300)
    t_full = time.monotonic() - t0
    assert full.returncode == 0, full.stderr
    seed = random.randrange(10**6)
    rnd = random.Random(seed)
    out = tmp_path / "killed"
    kills = []
    for k in range(2):
        proc = subprocess.Popen(_cmd(out), env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True)
        t_start = time.monotonic()
        if k == 0:  # surely inside evaluate: as soon as its first finished image is saved
            while proc.poll() is None and not list(out.glob("results/parts/*.json")):
                time.sleep(0.02)
        else:  # anywhere in what is left
            time.sleep(rnd.uniform(0.5, t_full))
        at = time.monotonic() - t_start
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=120)
        done = json.loads((out / "run.json").read_text())["stages"] if (out / "run.json").is_file() else {}
        kills.append((round(at, 2), sorted(done)))
    print("seed", seed, "kills (seconds, stages done then)", kills)
    rerun = subprocess.run(_cmd(out), env=_env(tmp_path), capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, (seed, kills, rerun.stderr)
    assert _csvs(out) == _csvs(tmp_path / "full"), (seed, kills)
    # A finished run is not redone.
    again = subprocess.run(_cmd(out), env=_env(tmp_path), capture_output=True, text=True, timeout=300)
    assert again.stdout.count("done earlier with the same settings, skipped") == 3, again.stdout


def test_a_changed_maps_folder_is_scored_again(tmp_path, monkeypatch):
    from asdgaze.data import load_demo
    from asdgaze.maps.io import save_npy

    monkeypatch.setenv("ASDGAZE_HOME", str(tmp_path / "cache"))
    ds = load_demo()
    rng = np.random.default_rng(0)
    for stem, st in ds.stimuli.items():
        save_npy(tmp_path / "maps" / f"{stem}.npy", rng.random(st.shape))
    kw = dict(models=[f"mine={tmp_path / 'maps'}"], baselines=(), compare_options=SMALL, workers=1, progress=False,
              echo=lambda s: None, evaluate_options=EvaluateOptions(maps_kind="saliency", metrics=("nss",),
                                                                     convert=False, adapt=False))
    run(demo_dataset_path(), tmp_path / "out", **kw)
    before = pd.read_csv(tmp_path / "out" / "results" / "per_image.csv", dtype={"image": str})
    before = before[before.convention == "mit"].reset_index(drop=True)
    assert before[before.image == "1"].value.notna().all()
    # Map 1 becomes constant: NSS divides by the map's standard deviation, 0, so it is undefined (NaN).
    save_npy(tmp_path / "maps" / "1.npy", np.ones(ds.stimuli["1"].shape))
    again = run(demo_dataset_path(), tmp_path / "out", overwrite=True, **kw)
    assert again.stages["evaluate"] == "ran"
    after = pd.read_csv(tmp_path / "out" / "results" / "per_image.csv", dtype={"image": str})
    after = after[after.convention == "mit"].reset_index(drop=True)
    assert after[after.image == "1"].value.isna().all() and len(after) == len(before)
    pd.testing.assert_frame_equal(after[after.image != "1"], before[before.image != "1"])


def test_run_command_scores_a_maps_folder(tmp_path, capsys, monkeypatch):
    from asdgaze.data import load_demo
    from asdgaze.maps.io import save_npy

    monkeypatch.setenv("ASDGAZE_HOME", str(tmp_path / "cache"))
    for stem, st in load_demo().stimuli.items():
        save_npy(tmp_path / "maps" / f"{stem}.npy", np.random.default_rng(1).random(st.shape))
    rc = main(["run", "--dataset", str(demo_dataset_path()), "--out", str(tmp_path / "out"),
               "--models", f"mine={tmp_path / 'maps'}", "--baselines", "", "--maps-kind", "saliency",
               "--metrics", "nss,cc", "--n-resamples", "200", "--n-permutations", "10", "--workers", "1",
               "--no-progress", "--no-convert", "--no-adapt"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "[1/3] evaluate ..." in out and "mine (mit convention)" in out
    assert f"report: {tmp_path / 'out' / 'report' / 'report.html'}" in out
    stats = pd.read_csv(tmp_path / "out" / "compare" / "group_stats.csv")
    # saliency maps (not log-densities) not converted are scored under the MIT convention only
    assert sorted(stats.metric) == ["cc", "nss"] and set(stats.model) == {"mine"} and set(stats.convention) == {"mit"}


def test_run_states_the_measured_mit1003_overlap_in_the_report(tmp_path, monkeypatch):
    monkeypatch.setenv("ASDGAZE_HOME", str(tmp_path / "cache"))
    images = demo_dataset_path() / "TrainingData" / "Images"  # the demo's own images: all 8 are found there
    rc = main(["run", "--dataset", str(demo_dataset_path()), "--out", str(tmp_path / "out"), "--models", "",
               "--baselines", "uniform", "--metrics", "nss", "--mit1003", str(images), "--n-resamples", "200",
               "--n-permutations", "10", "--workers", "1", "--no-progress"])
    assert rc == 0
    html = (tmp_path / "out" / "report" / "report.html").read_text()
    assert "measured with --mit1003" in html and "8 of 8 images match an MIT1003 image" in html


def test_run_scores_an_hdf5_file_as_its_npy_folder(tmp_path, monkeypatch):
    """``--models NAME=FILE.hdf5`` scores as the same log-densities in a folder of .npy files, and an
    edited file is scored again."""
    import h5py

    from asdgaze.data import load_demo
    from asdgaze.maps.io import save_npy

    monkeypatch.setenv("ASDGAZE_HOME", str(tmp_path / "cache"))
    ds = load_demo()
    rng = np.random.default_rng(1)
    with h5py.File(tmp_path / "m.hdf5", "w") as f:
        for stem, st in ds.stimuli.items():
            x = rng.normal(0.0, 1.0, st.shape)
            ld = x - np.log(np.exp(x).sum())  # a log-density: logsumexp 0
            save_npy(tmp_path / "maps" / f"{stem}.npy", ld)
            f.create_dataset(Path(st.path).name, data=ld)
    kw = dict(baselines=(), compare_options=SMALL, workers=1, progress=False, echo=lambda s: None,
              evaluate_options=EvaluateOptions(maps_kind="log-density", metrics=("nss",), prob_metrics=("ll",),
                                               adapt=False))
    run(demo_dataset_path(), tmp_path / "a", models=[f"mine={tmp_path / 'maps'}"], **kw)
    r = run(demo_dataset_path(), tmp_path / "b", models=[f"mine={tmp_path / 'm.hdf5'}"], **kw)
    a = (tmp_path / "a" / "results" / "per_image.csv").read_bytes()
    assert (tmp_path / "b" / "results" / "per_image.csv").read_bytes() == a and r.stages["evaluate"] == "ran"
    with h5py.File(tmp_path / "m.hdf5", "r+") as f:
        f["1.png"][...] = np.roll(f["1.png"][...], 5, axis=1)  # still a log-density, another one
    again = run(demo_dataset_path(), tmp_path / "b", models=[f"mine={tmp_path / 'm.hdf5'}"], **kw)
    assert again.stages["evaluate"] == "ran"
    resumed = json.loads((tmp_path / "b" / "results" / "manifest.json").read_text())["resumed"]
    assert sorted(resumed) == sorted(s for s in ds.stimuli if s != "1")  # only the edited image is scored again
    new = pd.read_csv(tmp_path / "b" / "results" / "per_image.csv", dtype={"image": str})
    old = pd.read_csv(tmp_path / "a" / "results" / "per_image.csv", dtype={"image": str})
    assert (new.image == "1").any() and not np.allclose(new[new.image == "1"].value, old[old.image == "1"].value)
    pd.testing.assert_frame_equal(new[new.image != "1"], old[old.image != "1"])
    with pytest.raises(RunError, match="no such folder of maps"):
        parse_models([f"x={tmp_path / 'missing.hdf5'}"])


def test_ctrl_c_in_run_says_which_stage_and_how_far_it_got(tmp_path):
    """A real SIGINT while evaluate scores (once an image is saved) and while compare runs: one line naming the
    stage and, in evaluate, the images finished (the parts on disk), exit status 130; the rerun completes."""
    cmd = _cmd(tmp_path / "out")
    for moment in ("evaluate", "compare"):
        p = subprocess.Popen(cmd, env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        parts = tmp_path / "out" / "results" / "parts"
        if moment == "evaluate":
            while p.poll() is None and not list(parts.glob("[0-9]*.json")):
                time.sleep(0.005)
        else:  # the stage's own line (click.echo flushes it): compare has begun
            for line in p.stdout:
                if line.startswith("[2/3] compare"):
                    break
        p.send_signal(signal.SIGINT)
        stdout, stderr = p.communicate(timeout=120)
        assert p.returncode == 130, (moment, stdout, stderr)
        lines = [line for line in stderr.splitlines() if line.strip()]
        assert len(lines) == 1, (moment, stderr)
        if moment == "evaluate":
            n = len(list(parts.glob("[0-9]*.json")))
            assert lines[0] == (f"interrupted during [1/3] evaluate: {n} of 8 images finished (saved in {parts}); "
                                "rerun the same command to resume"), stderr
        else:  # compare is short: the signal may land once it is done, in report; either way one exact line
            assert lines[0] in (f"interrupted during [2/3] compare; evaluate finished (kept in {tmp_path / 'out'}); "
                                "rerun the same command to resume",
                                f"interrupted during [3/3] report; evaluate, compare finished (kept in "
                                f"{tmp_path / 'out'}); rerun the same command to resume"), stderr
    rerun = subprocess.run(cmd, env=_env(tmp_path), capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert "[1/3] evaluate: done earlier with the same settings, skipped" in rerun.stdout


def test_ctrl_c_in_the_predict_stage_says_how_many_images_are_finished(tmp_path, capsys, monkeypatch):
    from asdgaze.predict import PredictInterrupted, PredictResult

    def interrupted(out, **kwargs):
        raise PredictInterrupted(PredictResult(out_dir=Path(out), written=["2", "3"], skipped=["1"], total=8))

    (tmp_path / "deepgaze2e.pth").write_bytes(b"")  # checked (and stat'ed) only: predict is replaced below
    monkeypatch.setattr("asdgaze.run.check_deepgaze", lambda weights, centerbias: tmp_path / "deepgaze2e.pth")
    monkeypatch.setattr("asdgaze.predict.run_predict", interrupted)
    rc = main(["run", "--dataset", str(demo_dataset_path()), "--out", str(tmp_path / "out"), "--device", "cpu",
               "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 130
    assert err.strip() == (f"interrupted during [1/4] predict: 3 of 8 images finished (saved in "
                           f"{tmp_path / 'out' / 'predict' / 'deepgaze2e'}); rerun the same command to resume")

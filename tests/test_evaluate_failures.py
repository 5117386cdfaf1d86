"""evaluate: nothing is lost silently (per-pair failures, notes, wrong map kinds, transposed and
constant maps), bugs surface, dead workers end the run at once, results are deterministic."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
from scipy.special import logsumexp

import asdgaze.evaluate as ev
from asdgaze.data.types import Dataset, Fixations, Stimulus
from asdgaze.evaluate import EvaluateError, EvaluateOptions, EvaluateWarning, evaluate
from asdgaze.maps.io import save_npy

H, W = 30, 40


def _dataset(root: Path, n: int = 4) -> Dataset:
    rng = np.random.default_rng(5)
    stimuli, fix = {}, {"ASD": {}, "TD": {}}
    for i in range(1, n + 1):
        stem = str(i)
        stimuli[stem] = Stimulus(stem, root / f"{stem}.png", H, W)
        for g in fix:
            x, y = rng.integers(0, W, 10) + 0.5, rng.integers(0, H, 10) + 0.5
            fix[g][stem] = Fixations.from_arrays(x, y, np.full(10, 200.0), np.arange(10) // 3)
    return Dataset("tiny", root, stimuli, fix)


def _maps(folder: Path, ds: Dataset, seed: int = 3) -> None:
    rng = np.random.default_rng(seed)
    for stem in ds.stimuli:
        save_npy(folder / f"{stem}.npy", rng.random((H, W)) + 0.1)


def _run(ds, tmp_path, options=None, **kw):
    kw.setdefault("workers", 1)
    return evaluate(ds, tmp_path / "maps", tmp_path / "out", options or EvaluateOptions(maps_kind="saliency"),
                    progress=False, **kw)


def _manifest(tmp_path) -> dict:
    return json.loads((tmp_path / "out" / "manifest.json").read_text())


def test_fixation_problems_fail_their_pair_and_the_rest_is_scored(tmp_path):
    ds = _dataset(tmp_path)
    _maps(tmp_path / "maps", ds)
    # (2, TD) unreadable; image 9 has no readable size (absent from stimuli) but a problem for ASD.
    del ds.fixations["TD"]["2"]
    ds.problems = {"TD": {"2": "TD/TD_scanpath_2.txt: no fixations"},
                   "ASD": {"9": "Images/9.png: cannot read the image size"}}
    ds.notes = ["Images/3.png: truncated file, size still readable"]
    with pytest.warns(EvaluateWarning) as rec:
        res = _run(ds, tmp_path)
    assert not res.ok
    got = {(f.image, f.group): f.error for f in res.failures}
    assert got == {("2", "TD"): "TD/TD_scanpath_2.txt: no fixations",
                   ("9", "ASD"): "Images/9.png: cannot read the image size",
                   ("9", "TD"): "image 9: no readable image for these fixations"}
    pairs = set(zip(res.per_image.image, res.per_image.group))
    assert pairs == {(s, g) for s in "1234" for g in ("ASD", "TD")} - {("2", "TD")}
    m = _manifest(tmp_path)
    assert {(f["image"], f["group"]) for f in m["failures"]} == set(got)
    assert m["notes"][0] == ds.notes[0] and [str(w.message) for w in rec].count(ds.notes[0]) == 1


def test_a_group_whose_every_file_failed_fails_its_pairs(tmp_path):
    ds = _dataset(tmp_path, n=2)
    _maps(tmp_path / "maps", ds)
    del ds.fixations["TD"]
    ds.problems = {"TD": {"1": "TD/TD_scanpath_1.txt: empty file"}}
    res = _run(ds, tmp_path, options=EvaluateOptions(maps_kind="saliency", groups=("ASD", "TD")))
    assert {(f.image, f.group) for f in res.failures} == {("1", "TD"), ("2", "TD")}
    assert set(zip(res.per_image.image, res.per_image.group)) == {("1", "ASD"), ("2", "ASD")}


def test_cli_exits_non_zero_on_a_failed_pair(tmp_path, monkeypatch, capsys):
    from asdgaze import cli

    ds = _dataset(tmp_path)
    _maps(tmp_path / "maps", ds)
    ds.problems = {"ASD": {"1": "ASD/ASD_scanpath_1.txt: malformed line 3"}}
    del ds.fixations["ASD"]["1"]
    monkeypatch.setattr("asdgaze.cli.evaluate.load_dataset_for", lambda *a: (ds, {}))
    rc = cli.main(["evaluate", "--dataset", str(tmp_path), "--maps", str(tmp_path / "maps"), "--maps-kind",
                   "saliency", "--out", str(tmp_path / "out"), "--workers", "1", "--no-progress"])
    assert rc == 1
    assert "ASD/ASD_scanpath_1.txt: malformed line 3" in capsys.readouterr().err


def _log_density(rng) -> np.ndarray:
    a = rng.standard_normal((H, W))
    return a - logsumexp(a)


def test_log_densities_read_as_saliency_stop_with_the_remedy(tmp_path):
    ds = _dataset(tmp_path)
    rng = np.random.default_rng(0)
    for stem in ds.stimuli:
        save_npy(tmp_path / "maps" / f"{stem}.npy", _log_density(rng))
    with pytest.raises(EvaluateError, match="--maps-kind log-density"):
        _run(ds, tmp_path)
    assert not (tmp_path / "out").exists()  # stopped before any work


def test_saliency_read_as_log_density_is_refused_with_the_remedy(tmp_path, monkeypatch, capsys):
    # Issue 17: a warning and a full probabilistic table (IG -0.48, sAUC 0.16 on 0..1 maps) was the
    # old behaviour; now it stops before any scoring, as the reverse case does.
    from asdgaze import cli

    ds = _dataset(tmp_path)
    _maps(tmp_path / "maps", ds)
    monkeypatch.setattr("asdgaze.cli.evaluate.load_dataset_for", lambda *a: (ds, {}))
    rc = cli.main(["evaluate", "--dataset", str(tmp_path), "--maps", str(tmp_path / "maps"), "--maps-kind",
                   "log-density", "--out", str(tmp_path / "out"), "--workers", "1", "--no-progress"])
    err = capsys.readouterr().err
    assert rc != 0
    assert "looks like a saliency map" in err and "--maps-kind saliency" in err
    assert str(tmp_path / "maps" / "1.npy") in err
    assert "Traceback" not in err and ".py:" not in err
    assert not (tmp_path / "out" / "per_image.csv").exists()


def test_a_transposed_map_fails_unless_aspect_change_is_allowed(tmp_path):
    ds = _dataset(tmp_path, n=2)
    _maps(tmp_path / "maps", ds)
    save_npy(tmp_path / "maps" / "2.npy", np.random.default_rng(1).random((W, H)))
    res = _run(ds, tmp_path)
    assert [(f.image, f.group) for f in res.failures] == [("2", "ASD"), ("2", "TD")]
    assert res.failures[0].error.startswith(f"{tmp_path / 'maps' / '2.npy'}: ")
    assert "--allow-aspect-change" in res.failures[0].error
    res = evaluate(ds, tmp_path / "maps", tmp_path / "out2",
                   EvaluateOptions(maps_kind="saliency", allow_aspect_change=True), workers=1, progress=False)
    assert res.ok and set(res.per_image.image) == {"1", "2"}
    # 1 % is the limit: a 120x161 map on a 30x40 image (ratio off by 0.6 %) is scored.
    save_npy(tmp_path / "maps" / "2.npy", np.random.default_rng(1).random((120, 161)))
    assert _run(ds, tmp_path, overwrite=True).ok


def test_constant_and_all_zero_maps_are_named_in_the_notes(tmp_path):
    ds = _dataset(tmp_path, n=3)
    _maps(tmp_path / "maps", ds)
    save_npy(tmp_path / "maps" / "2.npy", np.full((H, W), 0.5))
    save_npy(tmp_path / "maps" / "3.npy", np.zeros((H, W)))
    with pytest.warns(EvaluateWarning, match="2 constant map"):
        res = _run(ds, tmp_path)
    assert res.ok
    note = next(n for n in res.notes if "constant" in n)
    assert "2.npy" in note and "3.npy" in note and "1.npy" not in note
    assert note in _manifest(tmp_path)["notes"]
    nss = res.per_image[(res.per_image.metric == "nss") & (res.per_image.image == "2")]
    assert nss.value.isna().all()  # NSS of a constant map is undefined (std 0)


def test_non_finite_saliency_fails_with_the_file_name(tmp_path):
    ds = _dataset(tmp_path, n=2)
    _maps(tmp_path / "maps", ds)
    bad = np.random.default_rng(0).random((H, W))
    bad[3, 4] = np.inf
    save_npy(tmp_path / "maps" / "1.npy", bad)
    res = _run(ds, tmp_path)
    assert {f.image for f in res.failures} == {"1"}
    assert res.failures[0].error == f"{tmp_path / 'maps' / '1.npy'}: saliency map contains NaN or inf"


def test_emd_of_a_map_whose_signs_cancel_does_not_end_the_run(tmp_path):
    # Rows of +1 and -(1 - 1e-12): the map sums to ~0, which made the transport solver raise.
    ds = _dataset(tmp_path, n=2)
    _maps(tmp_path / "maps", ds)
    m = np.ones((H, W))
    m[H // 2:] = -(1 - 1e-12)
    save_npy(tmp_path / "maps" / "1.npy", m)
    res = _run(ds, tmp_path, options=EvaluateOptions(maps_kind="saliency", metrics=("emd",)))
    assert res.ok and len(res.per_image) == 4


def test_a_bug_in_a_metric_surfaces_instead_of_becoming_a_failure(tmp_path, monkeypatch):
    import asdgaze.metrics.location as loc

    ds = _dataset(tmp_path, n=2)
    _maps(tmp_path / "maps", ds)

    def broken(*a, **k):
        raise ZeroDivisionError("bug")

    monkeypatch.setattr(loc, "_nss", broken)
    with pytest.raises(ZeroDivisionError):
        _run(ds, tmp_path)


DIE_SCRIPT = """
import os, sys
import numpy as np
import asdgaze.evaluate as ev
from asdgaze.data.types import Dataset, Fixations, Stimulus
from asdgaze.errors import AsdgazeError
from asdgaze.maps.io import save_npy

root = sys.argv[1]
stimuli = {s: Stimulus(s, root + "/x.png", 20, 20) for s in "1234"}
fix = {"TD": {s: Fixations.from_arrays([3.5, 9.5], [4.5, 12.5]) for s in stimuli}}
for s in stimuli:
    save_npy(root + f"/maps/{s}.npy", np.random.default_rng(int(s)).random((20, 20)))
ev.score._image_rows = lambda *a, **k: os._exit(3)  # a worker that dies (e.g. killed for memory)
try:
    ev.evaluate(Dataset("t", root, stimuli, fix), root + "/maps", root + "/out",
                ev.EvaluateOptions(maps_kind="saliency"), workers=2, progress=False)
except AsdgazeError as e:
    print("ERROR:", e)
"""


@pytest.mark.timeout(120)
def test_a_dead_worker_ends_the_run_at_once_with_a_clear_error(tmp_path):
    import subprocess
    import sys
    import time

    src = str(Path(ev.__file__).resolve().parents[2])
    t0 = time.monotonic()
    out = subprocess.run([sys.executable, "-c", DIE_SCRIPT, str(tmp_path)], capture_output=True, text=True,
                         timeout=100, env={**os.environ, "PYTHONPATH": src})
    assert "ERROR: a worker process died" in out.stdout and "--workers 1" in out.stdout, out.stderr
    assert time.monotonic() - t0 < 60


def test_csvs_are_byte_identical_across_runs_and_worker_counts(tmp_path):
    ds = _dataset(tmp_path, n=5)
    _maps(tmp_path / "maps", ds)
    outs = []
    for i, workers in enumerate((1, 2, 2, 1)):
        evaluate(ds, tmp_path / "maps", tmp_path / f"out{i}", EvaluateOptions(maps_kind="saliency", seed=7),
                 workers=workers, progress=False)
        outs.append([(tmp_path / f"out{i}" / n).read_bytes() for n in ("per_image.csv", "summary.csv")])
    assert all(o == outs[0] for o in outs)


def test_metric_selection(tmp_path):
    ds = _dataset(tmp_path, n=2)
    _maps(tmp_path / "maps", ds)
    res = _run(ds, tmp_path, options=EvaluateOptions(maps_kind="saliency", metrics=("nss", "auc_judd")))
    assert list(res.per_image.metric.unique()) == ["nss", "auc_judd"]
    with pytest.raises(EvaluateError, match="unknown metric"):
        _run(ds, tmp_path, options=EvaluateOptions(maps_kind="saliency", metrics=("nss", "auc")))


def test_cli_metrics_option(tmp_path, monkeypatch):
    from asdgaze import cli

    ds = _dataset(tmp_path, n=2)
    _maps(tmp_path / "maps", ds)
    monkeypatch.setattr("asdgaze.cli.evaluate.load_dataset_for", lambda *a: (ds, {}))
    rc = cli.main(["evaluate", "--dataset", str(tmp_path), "--maps", str(tmp_path / "maps"), "--maps-kind",
                   "saliency", "--out", str(tmp_path / "out"), "--workers", "1", "--no-progress",
                   "--metrics", "cc,sim"])
    assert rc == 0
    csv = (tmp_path / "out" / "per_image.csv").read_text().splitlines()
    assert {ln.split(",")[2] for ln in csv[1:]} == {"cc", "sim"}


def test_mit1003_baseline_by_hand(tmp_path, monkeypatch):
    from asdgaze.models.centerbias import CenterBias

    monkeypatch.setenv("ASDGAZE_HOME", str(tmp_path / "cache"))
    (tmp_path / "cache").mkdir()
    yy, xx = np.mgrid[0:1024, 0:1024]  # the published template's size (checked on load)
    template = -((yy - 480.0) ** 2 + (xx - 544.0) ** 2) / 76800.0
    template -= logsumexp(template)
    np.save(tmp_path / "cache" / "centerbias_mit1003.npy", template)
    ds = _dataset(tmp_path, n=2)
    _maps(tmp_path / "maps", ds)
    res = _run(ds, tmp_path, options=EvaluateOptions(maps_kind="saliency", ig_baseline="mit1003", metrics=("ig",)))
    # InfoGain.m by hand: both maps min-max scaled and divided by their sums; mean over fixated
    # pixels of log2(eps + S) - log2(eps + B), B the template rescaled to the image.
    log_b = CenterBias("mit1003", None, template).log_density(H, W)
    b = np.exp(log_b - log_b.max())
    eps = np.finfo(float).eps
    for stem in ds.stimuli:
        s = np.load(tmp_path / "maps" / f"{stem}.npy")
        sn = (s - s.min()) / (s.max() - s.min())
        sn /= sn.sum()
        bn = (b - b.min()) / (b.max() - b.min())
        bn /= bn.sum()
        f = ds.fixations["TD"][stem]
        pix = sorted({(int(y), int(x)) for x, y in zip(f.x, f.y)})
        r, c = np.array(pix).T
        want = float(np.mean(np.log2(eps + sn[r, c]) - np.log2(eps + bn[r, c])))
        got = float(res.per_image.query("image == @stem and group == 'TD'").value.iloc[0])
        assert math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12)
    base = _manifest(tmp_path)["ig_baseline"]
    assert base["kind"] == "mit1003" and len(base["sha256"]) == 64 and Path(base["path"]).is_absolute()


def test_everything_is_checked_before_the_first_image(tmp_path, monkeypatch):
    monkeypatch.setenv("ASDGAZE_HOME", str(tmp_path / "empty-cache"))  # no MIT1003 template there
    ds = _dataset(tmp_path, n=2)
    _maps(tmp_path / "maps", ds)

    def never(stem):
        raise AssertionError("scoring started")

    monkeypatch.setattr(ev.pool, "_score_image", never)
    (tmp_path / "afile").write_text("x")
    for kw, match in (
        (dict(out=tmp_path / "afile"), "output folder not usable"),
        (dict(options=EvaluateOptions(maps_kind="saliency", ig_baseline=str(tmp_path / "nope.npy"))), "--ig-baseline"),
        (dict(maps=tmp_path / "nomaps"), "maps folder not found"),
        (dict(options=EvaluateOptions(maps_kind="saliency", ig_baseline="mit1003")), "mit1003: .*--ig-baseline"),
    ):
        with pytest.raises(EvaluateError, match=match):
            evaluate(ds, kw.get("maps", tmp_path / "maps"), kw.get("out", tmp_path / "out"),
                     kw.get("options", EvaluateOptions(maps_kind="saliency")), workers=1, progress=False)


def test_npy_wins_over_png_and_manifest_paths_are_absolute(tmp_path, monkeypatch):
    from PIL import Image

    ds = _dataset(tmp_path, n=2)
    _maps(tmp_path / "maps", ds)
    Image.fromarray(np.full((H, W), 7, np.uint8)).save(tmp_path / "maps" / "1.png")
    monkeypatch.chdir(tmp_path)
    evaluate(ds, "maps", "out", EvaluateOptions(maps_kind="saliency"), workers=1, progress=False)
    m = _manifest(tmp_path)
    assert m["maps"]["files"]["1"] == str(tmp_path / "maps" / "1.npy")
    assert Path(m["maps"]["folder"]).is_absolute() and Path(m["dataset"]["root"]).is_absolute()


@pytest.mark.parametrize("option", ["ig_baseline", "prob_ig_baseline"])
def test_a_saliency_array_given_as_a_log_density_baseline_is_refused(tmp_path, monkeypatch, option):
    from asdgaze.errors import OptionsError

    ds = _dataset(tmp_path, n=2)
    _maps(tmp_path / "maps", ds)
    sal = np.random.default_rng(0).random((100, 100))  # values in 0..1 summing to ~5000: a saliency map
    save_npy(tmp_path / "sal.npy", sal)
    monkeypatch.setattr(ev.pool, "_score_image", lambda stem: (_ for _ in ()).throw(AssertionError("scoring started")))
    flag = "--" + option.replace("_", "-")
    with pytest.raises(OptionsError, match=f"{flag}: {tmp_path / 'sal.npy'}: .*looks like a saliency map"):
        evaluate(ds, tmp_path / "maps", tmp_path / "out",
                 EvaluateOptions(maps_kind="saliency", baselines=("uniform",), **{option: str(tmp_path / "sal.npy")}),
                 workers=1,
                 progress=False)


def test_cli_manifest_names_absolute_files_when_given_relative_paths(tmp_path, monkeypatch):
    from PIL import Image

    from asdgaze import cli

    (tmp_path / "imgs").mkdir()
    for stem in ("a", "b"):
        Image.new("RGB", (40, 30)).save(tmp_path / "imgs" / f"{stem}.png")
        save_npy(tmp_path / "maps" / f"{stem}.npy", np.random.default_rng(0).random((30, 40)))
    # one fixation outside its image: the loader's note names the table file
    (tmp_path / "fix.csv").write_text("image,x,y,group\na,10,10,G\na,500,20,G\nb,30,20,G\nb,5,25,G\n")
    monkeypatch.chdir(tmp_path)
    rc = cli.main(["evaluate", "--dataset", "imgs", "--table", "fix.csv", "--coords", "0-based", "--maps", "maps",
                   "--maps-kind", "saliency", "--baselines", "none", "--metrics", "nss", "--out", "out",
                   "--no-progress", "--workers", "1"])
    assert rc == 0
    m = _manifest(tmp_path)
    assert m["dataset"]["source"]["path"] == str(tmp_path / "imgs")
    assert m["dataset"]["source"]["table"] == str(tmp_path / "fix.csv")
    texts = m["notes"] + m["dataset"]["source"]["loader_warnings"] + [f["error"] for f in m["failures"]]
    named = [t for t in texts if "fix.csv" in t]
    assert named and all(str(tmp_path / "fix.csv") in t for t in named), texts


def _cli_run(tmp_path, monkeypatch, ds, *extra):
    from asdgaze import cli

    monkeypatch.setattr("asdgaze.cli.evaluate.load_dataset_for", lambda *a: (ds, {}))
    return cli.main(["evaluate", "--dataset", str(tmp_path), "--maps", str(tmp_path / "maps"), "--maps-kind",
                     "saliency", "--out", str(tmp_path / "out"), "--workers", "1", "--no-progress", *extra])


def test_cli_header_counts_what_was_scored_and_the_conventions_per_model(tmp_path, monkeypatch, capsys):
    ds = _dataset(tmp_path)
    _maps(tmp_path / "maps", ds)
    save_npy(tmp_path / "maps" / "1.npy", np.random.default_rng(1).random((W, H)))  # transposed: both pairs fail
    rc = _cli_run(tmp_path, monkeypatch, ds, "--baselines", "uniform", "--metrics", "nss,ll")
    out = capsys.readouterr().out
    assert rc == 1
    # 4 images x 2 groups; image 1 fails for both groups: 3 images, 6 pairs scored, 2 not
    assert "tiny: 3 image(s) scored (6 (image, group) pair(s), 2 pair(s) not scored)" in out
    # saliency maps: MIT only; the uniform baseline: both conventions
    assert "models (conventions scored): " in out and "maps (mit)" in out and "uniform (mit, probabilistic)" in out


def test_cli_convention_probabilistic_with_saliency_maps_is_refused_before_any_work(tmp_path, monkeypatch, capsys):
    ds = _dataset(tmp_path)
    _maps(tmp_path / "maps", ds)
    rc = _cli_run(tmp_path, monkeypatch, ds, "--convention", "probabilistic", "--baselines", "uniform")
    assert rc != 0 and "--convention probabilistic" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_cli_metrics_select_metrics_of_both_conventions(tmp_path, monkeypatch, capsys):
    import pandas as pd

    ds = _dataset(tmp_path, n=2)
    _maps(tmp_path / "maps", ds)
    assert _cli_run(tmp_path, monkeypatch, ds, "--baselines", "uniform", "--metrics", "auc_judd") == 0
    pi = pd.read_csv(tmp_path / "out" / "per_image.csv")
    assert set(zip(pi.convention, pi.metric)) == {("mit", "auc_judd")}  # no probabilistic metric computed
    assert _cli_run(tmp_path, monkeypatch, ds, "--baselines", "uniform", "--metrics", "auc_judd,ll",
                    "--overwrite") == 0
    pi = pd.read_csv(tmp_path / "out" / "per_image.csv")
    assert set(zip(pi.convention, pi.metric)) == {("mit", "auc_judd"), ("probabilistic", "ll")}
    capsys.readouterr()
    assert _cli_run(tmp_path, monkeypatch, ds, "--metrics", "bogus") != 0
    err = capsys.readouterr().err
    assert "bogus" in err and "MIT: auc_judd" in err and "probabilistic: ll" in err
    assert _cli_run(tmp_path, monkeypatch, ds, "--metrics", "ll", "--convention", "mit") != 0
    assert "--metrics" in capsys.readouterr().err


def test_allow_aspect_change_is_honoured_by_the_probabilistic_convention(tmp_path):
    from scipy.ndimage import zoom

    ds = _dataset(tmp_path, n=2)
    rng = np.random.default_rng(4)
    for stem in ds.stimuli:
        save_npy(tmp_path / "maps" / f"{stem}.npy", _log_density(rng))
    small = rng.standard_normal((W, H))  # transposed: 40x30 on a 30x40 image
    save_npy(tmp_path / "maps" / "2.npy", small - logsumexp(small))
    opts = EvaluateOptions(maps_kind="log-density", allow_aspect_change=True, metrics=("nss",),
                           prob_metrics=("ll",))
    res = evaluate(ds, tmp_path / "maps", tmp_path / "out", opts, workers=1, progress=False)
    assert res.ok, res.failures
    pi = res.per_image
    assert set(zip(pi.image, pi.convention)) == {("1", "mit"), ("2", "mit"), ("1", "probabilistic"),
                                                  ("2", "probabilistic")}
    # the same map resized by hand (bilinear on pixel areas, renormalised) and scored at the image's size
    d = zoom(np.exp(small - logsumexp(small)), (H / W, W / H), order=1, mode="nearest", grid_mode=True)
    d = np.maximum(d, 0) / np.maximum(d, 0).sum()
    save_npy(tmp_path / "maps2" / "2.npy", np.log(d))
    save_npy(tmp_path / "maps2" / "1.npy", np.load(tmp_path / "maps" / "1.npy"))
    ref = evaluate(ds, tmp_path / "maps2", tmp_path / "out2", opts, workers=1, progress=False).per_image
    got = pi[(pi.image == "2") & (pi.convention == "probabilistic")].value.to_numpy()
    want = ref[(ref.image == "2") & (ref.convention == "probabilistic")].value.to_numpy()
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_the_wrong_size_note_gives_a_count_and_three_files_and_the_manifest_all(tmp_path):
    ds = _dataset(tmp_path, n=5)
    rng = np.random.default_rng(4)
    for stem in ds.stimuli:  # twice the image's size: every map is resized, none refused
        save_npy(tmp_path / "maps" / f"{stem}.npy", rng.random((2 * H, 2 * W)) + 0.1)
    with pytest.warns(EvaluateWarning) as caught:
        res = _run(ds, tmp_path)
    assert res.ok
    said = [str(w.message) for w in caught if "differ in size" in str(w.message)]
    assert len(said) == 1 and said[0].startswith("5 map(s) differ in size from their image")
    assert said[0].count(".npy: map is 80x60") == 3 and "and 2 more (all in manifest.json, note_detail)" in said[0]
    detail = json.loads((tmp_path / "out" / "manifest.json").read_text())["note_detail"]
    assert sorted(t for t in detail if "differ" in t or "map is 80x60" in t) == sorted(
        f"{tmp_path / 'maps' / f'{s}.npy'}: map is 80x60, image {s} is 40x30 (width x height)" for s in ds.stimuli)

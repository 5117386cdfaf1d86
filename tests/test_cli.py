"""The command line, end to end on the bundled demo data."""

import json

import numpy as np
import pandas as pd

from asdgaze.cli import main


def test_demo_runs_and_prints_a_table(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ASDGAZE_HOME", str(tmp_path / "empty-cache"))
    assert main(["demo", "--out", str(tmp_path / "demo"), "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert "AUC-Judd" in out and "ASD" in out and "TD" in out
    # No weights: the demo says so and where they go, and runs no substitute.
    assert "DeepGaze IIE: not run, no weights at" in out and str(tmp_path / "empty-cache") in out
    assert not (tmp_path / "demo" / "deepgaze-iie").exists()
    scores = tmp_path / "demo" / "centre-bias" / "scores"
    summary = pd.read_csv(scores / "summary.csv")
    assert set(summary.group) == {"ASD", "TD"} and len(summary) == 18
    # The model is the information-gain baseline itself, so IG is 0 up to the float32 storage of the maps.
    ig = summary[summary.metric == "ig"]["mean"].to_numpy()
    np.testing.assert_allclose(ig, 0.0, atol=1e-5)


def test_evaluate_command(tmp_path, capsys):
    from asdgaze.data import demo_dataset_path, load_demo
    from asdgaze.maps.io import save_npy

    ds = load_demo()
    for stem, stim in ds.stimuli.items():
        save_npy(tmp_path / "maps" / f"{stem}.npy", np.ones((stim.height, stim.width)))
    rc = main(["evaluate", "--dataset", str(demo_dataset_path()), "--maps", str(tmp_path / "maps"),
               "--maps-kind", "saliency", "--groups", "TD", "--out", str(tmp_path / "out"),
               "--shuffled-others", "all", "--no-progress", "--workers", "1"])
    assert rc == 0
    per_image = pd.read_csv(tmp_path / "out" / "per_image.csv")
    assert set(per_image.group) == {"TD"}
    # A constant map: CC is undefined (NaN) by the MIT rules.
    maps = per_image[per_image.model == "maps"]
    assert maps[maps.metric == "cc"].value.isna().all() and set(maps.convention) == {"mit"}
    # the default baselines are scored beside it (other-group needs two groups: one is scored here)
    assert set(per_image.model) == {"maps", "uniform", "centerbias", "gold-standard"}
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["options"]["shuffled_n_other"] is None


def test_evaluate_reports_missing_maps(tmp_path, capsys):
    from asdgaze.data import demo_dataset_path

    (tmp_path / "maps").mkdir()
    rc = main(["evaluate", "--dataset", str(demo_dataset_path()), "--maps", str(tmp_path / "maps"),
               "--out", str(tmp_path / "out"), "--no-progress"])
    assert rc != 0
    assert "no map" in capsys.readouterr().err


def test_table_needs_coords(tmp_path, capsys):
    from asdgaze.data import demo_dataset_path

    (tmp_path / "maps").mkdir()
    (tmp_path / "t.csv").write_text("image,x,y\n1,1,1\n")
    rc = main(["evaluate", "--dataset", str(demo_dataset_path()), "--table", str(tmp_path / "t.csv"),
               "--maps", str(tmp_path / "maps"), "--out", str(tmp_path / "out")])
    assert rc != 0
    assert "--coords" in capsys.readouterr().err


def test_demo_with_deepgaze_weights(tmp_path, capsys, checkpoint_seed0):
    rc = main(["demo", "--out", str(tmp_path / "demo"), "--workers", "1", "--weights", str(checkpoint_seed0),
               "--centerbias", "uniform"])
    assert rc == 0, capsys.readouterr()
    out = capsys.readouterr().out
    assert "DeepGaze IIE" in out
    summary = pd.read_csv(tmp_path / "demo" / "deepgaze-iie" / "scores" / "summary.csv")
    assert set(summary.group) == {"ASD", "TD"} and summary["n"].min() == 8
    assert len(list((tmp_path / "demo" / "deepgaze-iie" / "maps").glob("*.npy"))) == 8


def test_demo_with_a_missing_weights_file_is_an_error(tmp_path, capsys):
    rc = main(["demo", "--out", str(tmp_path / "demo"), "--weights", str(tmp_path / "nope.pth")])
    assert rc != 0
    assert "nope.pth" in capsys.readouterr().err


def test_evaluate_on_saliency4asd_states_the_mit1003_caveat(tmp_path, capsys, osie_dir):
    from asdgaze.data import load_dataset
    from asdgaze.maps.io import save_npy

    ds = load_dataset(osie_dir / "TrainingDataset")
    for stem, stim in list(ds.stimuli.items()):
        save_npy(tmp_path / "maps" / f"{stem}.npy", np.random.default_rng(int(stem)).random((stim.height, stim.width)))
    rc = main(["evaluate", "--dataset", str(osie_dir / "TrainingDataset"), "--maps", str(tmp_path / "maps"),
               "--maps-kind", "saliency", "--out", str(tmp_path / "out"), "--no-progress", "--workers", "2"])
    assert rc == 0
    assert "MIT1003" in capsys.readouterr().out
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert "MIT1003" in summary["description"]["caveat"]
    assert {r["n"] for r in summary["summary"] if r["model"] == "maps"} == {30}


def test_evaluate_with_a_table_records_the_source_and_dropped_points(tmp_path, capsys):
    from PIL import Image

    from asdgaze.maps.io import save_npy

    (tmp_path / "imgs").mkdir()
    for stem in ("a", "b"):
        Image.new("RGB", (80, 64)).save(tmp_path / "imgs" / f"{stem}.png")
        save_npy(tmp_path / "maps" / f"{stem}.npy", np.random.default_rng(0).random((64, 80)))
    rows = ["image,x,y,group", "a,10,10,G", "a,40,30,G", "b,5,60,G", "b,200,5,G"]  # (200, 5) is outside
    (tmp_path / "fix.csv").write_text("\n".join(rows) + "\n")
    rc = main(["evaluate", "--dataset", str(tmp_path / "imgs"), "--table", str(tmp_path / "fix.csv"),
               "--coords", "0-based", "--maps", str(tmp_path / "maps"), "--maps-kind", "saliency",
               "--out", str(tmp_path / "out"), "--no-progress", "--workers", "1"])
    assert rc == 0
    assert "dropped 1" in capsys.readouterr().err
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    src = manifest["dataset"]["source"]
    assert src["table"].endswith("fix.csv") and src["coords"] == "0-based"
    assert any("dropped 1" in w for w in src["loader_warnings"])


def test_negative_seed_is_a_usage_error(capsys, tmp_path):
    from asdgaze.data import demo_dataset_path

    rc = main(["evaluate", "--dataset", str(demo_dataset_path()), "--maps", str(tmp_path),
               "--out", str(tmp_path / "o"), "--seed", "-1"])
    assert rc != 0 and "seed" in capsys.readouterr().err


def _log_density(shape) -> np.ndarray:
    w = np.random.default_rng(2).random(shape) + 0.5
    return np.log(w / w.sum())


def test_demo_checks_the_centre_bias_before_any_work(tmp_path, capsys, monkeypatch):
    """--weights given, MIT1003 template missing: the error comes first, with nothing computed or printed."""
    monkeypatch.setenv("ASDGAZE_HOME", str(tmp_path / "cache"))
    (tmp_path / "w.pth").write_bytes(b"not looked at yet")
    rc = main(["demo", "--out", str(tmp_path / "demo"), "--weights", str(tmp_path / "w.pth"), "--workers", "1"])
    captured = capsys.readouterr()
    assert rc == 1
    assert str(tmp_path / "cache" / "centerbias_mit1003.npy") in captured.err
    assert "asdgaze weights download" in captured.err and "--centerbias gaussian" in captured.err
    assert not (tmp_path / "demo").exists() and "AUC-Judd" not in captured.out


def test_demo_checks_the_weights_file_before_any_work(tmp_path, capsys):
    (tmp_path / "w.pth").write_bytes(b"<html>not a checkpoint</html>")
    rc = main(["demo", "--out", str(tmp_path / "demo"), "--weights", str(tmp_path / "w.pth"),
               "--centerbias", "uniform", "--workers", "1"])
    captured = capsys.readouterr()
    assert rc == 1
    assert (f"{tmp_path / 'w.pth'}: not a PyTorch state dict of DeepGaze IIE (expected deepgaze2e.pth from "
            "https://github.com/matthias-k/DeepGaze/releases/download/v1.0.0/deepgaze2e.pth)") in captured.err
    assert "weights_only" not in captured.err
    assert not (tmp_path / "demo").exists()


def test_demo_refuses_a_saliency_map_as_centre_bias_before_any_work(tmp_path, capsys):
    (tmp_path / "w.pth").write_bytes(b"x")
    np.save(tmp_path / "sal.npy", np.full((10, 10), 0.5))
    rc = main(["demo", "--out", str(tmp_path / "demo"), "--weights", str(tmp_path / "w.pth"),
               "--centerbias", str(tmp_path / "sal.npy")])
    assert rc == 1
    assert "values in [0, 1] summing to 50: this looks like a saliency map" in capsys.readouterr().err
    assert not (tmp_path / "demo").exists()


def test_demo_warnings_print_once_without_source_lines(tmp_path, capsys, monkeypatch):
    import warnings

    import asdgaze.demo_run as demo_run
    from asdgaze.errors import DataWarning

    monkeypatch.setenv("ASDGAZE_HOME", str(tmp_path / "cache"))
    real = demo_run.load_demo

    def noisy():
        for _ in range(3):
            warnings.warn("demo.csv: dropped 2 fixations outside the image", DataWarning, stacklevel=2)
        return real()

    monkeypatch.setattr(demo_run, "load_demo", noisy)
    assert main(["demo", "--out", str(tmp_path / "demo"), "--workers", "1", "--centerbias", "gaussian"]) == 0
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if "dropped 2 fixations" in ln]
    assert lines == ["warning: demo.csv: dropped 2 fixations outside the image"]
    unused = [ln for ln in err.splitlines() if "--centerbias gaussian is not used" in ln]
    assert len(unused) == 1 and unused[0].startswith("warning: ")
    assert "DataWarning" not in err and "warnings.warn" not in err and "UserWarning" not in err


def test_weights_download_checks_the_template(tmp_path, capsys, monkeypatch):
    """No network: the fetch writes a local file. A wrong template never enters the cache."""
    from asdgaze.models.deepgaze import weights as w

    monkeypatch.setenv("ASDGAZE_HOME", str(tmp_path / "cache"))
    served = {}

    def fetch(url, dest, progress):
        with open(dest, "wb") as f:
            np.save(f, served["array"])

    monkeypatch.setattr(w, "_fetch", fetch)
    served["array"] = np.random.default_rng(0).random((100, 100))
    assert main(["weights", "download", "--file", "centerbias_mit1003.npy"]) == 1
    err = capsys.readouterr().err
    assert "downloaded https://github.com/matthias-k/DeepGaze/releases/download/v1.0.0/centerbias_mit1003.npy" in err
    assert "a 100x100 float64 array" in err
    assert not (tmp_path / "cache" / "centerbias_mit1003.npy").exists()
    served["array"] = _log_density((1024, 1024))
    assert main(["weights", "download", "--file", "centerbias_mit1003.npy"]) == 0
    cached = tmp_path / "cache" / "centerbias_mit1003.npy"
    import hashlib

    assert f"centerbias_mit1003.npy: sha256 {hashlib.sha256(cached.read_bytes()).hexdigest()}" in capsys.readouterr().out
    assert not (tmp_path / "cache" / "deepgaze2e.pth").exists()  # --file: only the template

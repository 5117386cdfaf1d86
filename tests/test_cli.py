"""The command line, end to end on the bundled demo data (the demo command itself: test_demo.py)."""

import json

import numpy as np
import pandas as pd

from asdgaze.cli import main


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
    assert {r["n"] for r in summary["summary"] if r["model"] == "maps"} == {12}


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


def test_run_and_evaluate_share_their_settings(tmp_path, capsys):
    """run takes evaluate's settings, generated from one definition (same flags, same help)."""
    import re

    from asdgaze.cli import cli

    def options(name):
        cmd = cli.get_command(None, name)
        return {p.opts[0]: p.help for p in cmd.params if p.opts and p.opts[0].startswith("--")}

    ev, rn = options("evaluate"), options("run")
    shared = ["--maps-kind", "--convention", "--saliency-maps", "--prob-ig-baseline", "--ig-baseline",
              "--ig-baseline-kind", "--fixmap-sigma", "--allow-missing", "--allow-aspect-change", "--metrics",
              "--baselines", "--shuffled-others", "--mit1003", "--workers", "--overwrite", "--shard"]
    for flag in shared:
        assert flag in ev and flag in rn and ev[flag] == rn[flag], flag
    assert re.search(r"at most 8", rn["--workers"]) and "evaluate" in rn["--workers"]


def test_run_derives_the_conventions_from_the_metrics_as_evaluate_does(tmp_path, capsys):
    """`run --models '' --baselines uniform --metrics emd` scores the MIT convention only (it failed with
    'unknown probabilistic metric(s) (none given)' while evaluate succeeded)."""
    import pandas as pd

    from asdgaze.data import demo_dataset_path

    rc = main(["run", "--dataset", str(demo_dataset_path()), "--out", str(tmp_path / "r"), "--models", "",
               "--baselines", "uniform", "--metrics", "emd", "--no-progress", "--n-resamples", "100",
               "--n-permutations", "10"])
    assert rc == 0, capsys.readouterr().err
    pi = pd.read_csv(tmp_path / "r" / "results" / "per_image.csv")
    assert set(pi.convention) == {"mit"} and set(pi.metric) == {"emd"} and set(pi.model) == {"uniform"}

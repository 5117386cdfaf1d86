"""`evaluate --maps FILE.hdf5`: the log-densities of one HDF5 file (predict --outputs hdf5, pysaliency's
export_model_to_hdf5) are scored exactly as the same log-densities in a folder of .npy files."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
from PIL import Image
from scipy.special import logsumexp

from asdgaze.cli import main
from asdgaze.data import load_demo
from asdgaze.data.types import Dataset, Stimulus
from asdgaze.errors import MapError
from asdgaze.evaluate import EvaluateError, EvaluateOptions, EvaluateWarning, evaluate
from asdgaze.maps.io import save_npy

from _tiny import tiny_dataset  # noqa: E402 (tests/ helper)

H, W = 30, 40


def _log_density(shape: tuple[int, int], rng) -> np.ndarray:
    """A centred Gaussian with noise, normalised by scipy's logsumexp (independent of our code)."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w]
    lp = -(((yy - h / 2) / (0.25 * h)) ** 2 + ((xx - w / 2) / (0.25 * w)) ** 2) / 2
    lp = lp + 0.2 * rng.standard_normal(lp.shape)
    return lp - logsumexp(lp)


def _write_both(ds: Dataset, folder: Path, hdf5: Path, dtype=np.float32) -> dict[str, np.ndarray]:
    """The same log-densities as <stem>.npy files and as datasets named by the image file name."""
    rng = np.random.default_rng(4)
    out = {}
    with h5py.File(hdf5, "w") as f:
        for stem, st in ds.stimuli.items():
            lp = _log_density(st.shape, rng).astype(dtype)
            save_npy(folder / f"{stem}.npy", lp)
            f.create_dataset(Path(st.path).name, data=lp)
            out[stem] = lp.astype(np.float64)
    return out


def _tiny(root: Path, n: int = 4) -> Dataset:
    return tiny_dataset(root, n, h=H, w=W)


def _hand_ll(ds: Dataset, lp: np.ndarray, stem: str, group: str) -> float:
    f = ds.fixations_for(group, stem)
    lp = lp - logsumexp(lp)
    return float(lp[np.floor(f.y).astype(int), np.floor(f.x).astype(int)].mean())


# --- (1) the same maps as a folder of .npy files and as one HDF5 file: byte-identical results ---------------


def test_hdf5_scores_byte_identical_to_the_npy_folder_on_the_demo_data(tmp_path):
    ds = load_demo()
    maps = _write_both(ds, tmp_path / "npy", tmp_path / "maps.hdf5")
    common = dict(baselines=("uniform",), prob_ig_baseline="uniform")
    evaluate(ds, {"m": tmp_path / "npy"}, tmp_path / "a", EvaluateOptions(maps_kind="log-density", **common),
             workers=1, progress=False)
    # no --maps-kind: implied log-density; two workers read the file after fork
    res = evaluate(ds, {"m": tmp_path / "maps.hdf5"}, tmp_path / "b", EvaluateOptions(**common), workers=2,
                   progress=False)
    for name in ("per_image.csv", "per_fixation.csv", "summary.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert set(res.per_image[res.per_image.model == "m"].convention) == {"mit", "probabilistic"}
    pi = res.per_image
    for stem, lp in maps.items():  # LL by hand: mean log p at the fixated pixels
        for g in ds.groups:
            sel = pi[(pi.model == "m") & (pi.image == stem) & (pi.group == g) & (pi.metric == "ll")]
            assert float(sel.value.iloc[0]) == pytest.approx(_hand_ll(ds, lp, stem, g), rel=1e-12)
    m = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert m["options"]["maps_kind"] == "log-density"
    assert m["maps"]["hdf5_sha256"] == hashlib.sha256((tmp_path / "maps.hdf5").read_bytes()).hexdigest()
    assert m["maps"]["files"]["1"] == f"{tmp_path / 'maps.hdf5'}:1.png"


# --- (2) predict --outputs npy,hdf5 then evaluate: the HDF5 file scores as the .npy folder --------------------


def test_predict_round_trip_hdf5_equals_npy_folder(tmp_path):
    from test_predict_pipeline import FakeModel

    from asdgaze.predict import run_predict

    rng = np.random.default_rng(2)
    imgs = tmp_path / "imgs"
    imgs.mkdir()
    h, w = 64, 80  # DeepGaze's smallest input
    for name in ("a.png", "b.jpg", "c.png"):
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(imgs / name)
    rows = ["image,x,y,group"] + [f"{s},{rng.uniform(0, w):.2f},{rng.uniform(0, h):.2f},{g}"
                                  for s in "abc" for g in ("ASD", "TD") for _ in range(6)]
    (tmp_path / "fix.csv").write_text("\n".join(rows) + "\n")
    pred = tmp_path / "pred"
    r = run_predict(pred, images=imgs, model=FakeModel(), centerbias="uniform", device="cpu", progress=False,
                    outputs="npy,hdf5")
    assert r.ok
    base = ["evaluate", "--dataset", str(imgs), "--table", str(tmp_path / "fix.csv"), "--coords", "0-based",
            "--baselines", "none", "--no-progress", "--workers", "1"]
    assert main([*base, "--maps", f"m={pred / 'maps'}", "--maps-kind", "log-density", "--out", str(tmp_path / "o1")]) == 0
    assert main([*base, "--maps", f"m={pred / 'maps.hdf5'}", "--out", str(tmp_path / "o2")]) == 0
    for name in ("per_image.csv", "per_fixation.csv", "summary.csv"):
        assert (tmp_path / "o1" / name).read_bytes() == (tmp_path / "o2" / name).read_bytes(), name
    # plain --maps FILE is the model "maps"
    assert main([*base, "--maps", str(pred / "maps.hdf5"), "--metrics", "nss", "--out", str(tmp_path / "o3")]) == 0
    assert "maps" in (tmp_path / "o3" / "per_image.csv").read_text()


# --- (3) a file written by pysaliency's own export_model_to_hdf5 -----------------------------------------------

WRITER = """
import json, sys, types
import numpy as np
_torch = types.ModuleType("torch"); _torch.Tensor = type("Tensor", (), {}); sys.modules.setdefault("torch", _torch)
import pysaliency
from scipy.special import logsumexp
files, hdf5, out = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]

class Ramp(pysaliency.Model):
    # log p proportional to a horizontal and vertical ramp plus the grey level, normalised
    def _log_density(self, stimulus):
        img = np.asarray(stimulus, dtype=float)
        grey = img.mean(2) if img.ndim == 3 else img
        h, w = grey.shape
        yy, xx = np.mgrid[0:h, 0:w]
        a = xx / w + 0.5 * yy / h + grey / 128.0
        return a - logsumexp(a)

stimuli = pysaliency.FileStimuli(files)
model = Ramp(caching=False)
pysaliency.export_model_to_hdf5(model, stimuli, hdf5)
np.savez(out, *[model.log_density(s) for s in stimuli])
"""


def test_a_file_written_by_pysaliency_is_read_and_scored(tmp_path, pysaliency_python, pysaliency_env):
    ds = _tiny(tmp_path, n=3)
    (tmp_path / "imgs").mkdir()
    rng = np.random.default_rng(8)
    for st in ds.stimuli.values():
        Image.fromarray(rng.integers(0, 256, (H, W, 3), dtype=np.uint8)).save(st.path)
    files = [str(st.path) for st in ds.stimuli.values()]
    done = subprocess.run([str(pysaliency_python), "-c", WRITER, json.dumps(files), str(tmp_path / "p.hdf5"),
                           str(tmp_path / "lp.npz")], env=pysaliency_env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    with h5py.File(tmp_path / "p.hdf5", "r") as f:
        assert sorted(f.keys()) == ["1.png", "2.png", "3.png"]
        assert f["1.png"].compression == "gzip"  # pysaliency compresses: read through the filter
    back = np.load(tmp_path / "lp.npz")
    for k, stem in enumerate(ds.stimuli):
        save_npy(tmp_path / "npy" / f"{stem}.npy", back[f"arr_{k}"])
    opts = dict(prob_ig_baseline="uniform", baselines=("uniform",))
    res = evaluate(ds, {"p": tmp_path / "p.hdf5"}, tmp_path / "o", EvaluateOptions(**opts), workers=1, progress=False)
    assert res.ok
    evaluate(ds, {"p": tmp_path / "npy"}, tmp_path / "o2", EvaluateOptions(maps_kind="log-density", **opts),
             workers=1, progress=False)
    assert (tmp_path / "o" / "per_image.csv").read_bytes() == (tmp_path / "o2" / "per_image.csv").read_bytes()
    pi = res.per_image
    for k, stem in enumerate(ds.stimuli):
        for g in ds.groups:
            sel = pi[(pi.model == "p") & (pi.image == stem) & (pi.group == g) & (pi.metric == "ll")]
            assert float(sel.value.iloc[0]) == pytest.approx(_hand_ll(ds, back[f"arr_{k}"], stem, g), rel=1e-12)


def test_nested_names_of_a_pysaliency_export_from_two_folders_are_matched(tmp_path, pysaliency_python,
                                                                           pysaliency_env):
    """Exported from images in two folders, pysaliency names each dataset by the shortest path end that
    tells them apart (``a/imgs/1.png``: groups in the file). Those of this dataset's folder are scored
    exactly as the same maps in a .npy folder; the other folder's are named as not scored."""
    ds = _tiny(tmp_path / "a", n=3)
    rng = np.random.default_rng(9)
    other = tmp_path / "b" / "imgs" / "1.png"
    for p in [st.path for st in ds.stimuli.values()] + [other]:
        Path(p).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (H, W, 3), dtype=np.uint8)).save(p)
    files = [str(st.path) for st in ds.stimuli.values()] + [str(other)]
    done = subprocess.run([str(pysaliency_python), "-c", WRITER, json.dumps(files), str(tmp_path / "p.hdf5"),
                           str(tmp_path / "lp.npz")], env=pysaliency_env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    with h5py.File(tmp_path / "p.hdf5", "r") as f:
        assert sorted(f.keys()) == ["a", "b"] and sorted(f["a/imgs"].keys()) == ["1.png", "2.png", "3.png"]
    back = np.load(tmp_path / "lp.npz")
    for k, stem in enumerate(ds.stimuli):
        save_npy(tmp_path / "npy" / f"{stem}.npy", back[f"arr_{k}"])
    opts = dict(prob_ig_baseline="uniform", baselines=("uniform",))
    with pytest.warns(EvaluateWarning, match=r"p\.hdf5: 1 dataset\(s\) match no image .*b/imgs/1\.png"):
        res = evaluate(ds, {"p": tmp_path / "p.hdf5"}, tmp_path / "o", EvaluateOptions(**opts), workers=1,
                       progress=False)
    assert res.ok and set(res.per_image.image) == {"1", "2", "3"}
    evaluate(ds, {"p": tmp_path / "npy"}, tmp_path / "o2", EvaluateOptions(maps_kind="log-density", **opts),
             workers=1, progress=False)
    assert (tmp_path / "o" / "per_image.csv").read_bytes() == (tmp_path / "o2" / "per_image.csv").read_bytes()


def test_path_ends_match_whole_parts_and_the_longest_name_wins(tmp_path):
    from asdgaze.maps.hdf5 import find_h5_maps, path_ends

    assert path_ends("/data/s4a/Images/12.png") == ["12.png", "Images/12.png", "s4a/Images/12.png",
                                                    "data/s4a/Images/12.png"]
    lp = np.zeros((2, 2))
    path = _h5(tmp_path / "m.hdf5", {"Images/1.png": lp, "ges/2.png": lp, "x/3.png": lp})
    found, missing, extra = find_h5_maps(path, {"1": "/d/Images/1.png", "2": "/d/Images/2.png",
                                                "3": "/d/Images/3.png"})
    assert {k: v.name for k, v in found.items()} == {"1": "Images/1.png"}  # "ges" is no whole part of "Images"
    assert missing == ["2", "3"] and extra == ["ges/2.png", "x/3.png"]
    # pysaliency, exporting /d/1.png and /d/a/imgs/1.png, names them "1.png" and "a/imgs/1.png"
    both = _h5(tmp_path / "b.hdf5", {"1.png": lp, "a/imgs/1.png": lp})
    found, missing, extra = find_h5_maps(both, {"1": "/d/a/imgs/1.png"})
    assert found["1"].name == "a/imgs/1.png" and extra == ["1.png"]
    found, _, _ = find_h5_maps(both, {"1": "/d/1.png"})
    assert found["1"].name == "1.png"
    # a name written on Windows ("a\\imgs\\1.png", one top-level dataset) matches too
    win = _h5(tmp_path / "w.hdf5", {"a\\imgs\\1.png": lp})
    found, _, _ = find_h5_maps(win, {"1": "/d/a/imgs/1.png"})
    assert found["1"].name == "a\\imgs\\1.png"


def test_links_groups_and_relative_paths(tmp_path, monkeypatch):
    """A soft link back to the root and a hard-link cycle are listed, not followed; a group named like
    an image fails that image as "not a dataset" (not "missing"); a stimulus given by a relative path
    still matches a name with its folders."""
    import h5py

    from asdgaze.maps.hdf5 import find_h5_maps, stimulus_paths

    lp = np.full((2, 2), -np.log(4.0))
    path = tmp_path / "l.hdf5"
    with h5py.File(path, "w") as f:
        f.create_dataset("imgs/1.png", data=lp)
        f["loop"] = h5py.SoftLink("/")
        f["imgs/up"] = f["imgs"]  # a hard link to its own group
        f["imgs/root"] = f["/"]  # a hard link to the root
        f.create_group("2.png")
    monkeypatch.chdir(tmp_path)
    paths = stimulus_paths({"1": Stimulus("1", Path("imgs/1.png"), 2, 2), "2": Stimulus("2", Path("2.png"), 2, 2)})
    found, missing, extra = find_h5_maps(path, paths)
    assert {k: v.name for k, v in found.items()} == {"1": "imgs/1.png", "2": "2.png"} and missing == []
    assert extra == ["loop"]
    assert np.array_equal(found["1"].read(), lp)
    with pytest.raises(MapError, match=r"l\.hdf5:2\.png: not a dataset"):
        found["2"].read()


# --- (4) keys, errors and notes -------------------------------------------------------------------------------


def _h5(path: Path, arrays: dict[str, np.ndarray]) -> Path:
    with h5py.File(path, "w") as f:
        for name, a in arrays.items():
            f.create_dataset(name, data=a)
    return path


def _good(ds: Dataset, seed: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {f"{s}.png": _log_density((H, W), rng) for s in ds.stimuli}


def _run(ds, maps, out, **kw):
    kw.setdefault("metrics", ("nss", "cc"))
    kw.setdefault("prob_metrics", ("ll",))
    return evaluate(ds, maps, out, EvaluateOptions(**kw), workers=1, progress=False)


def test_missing_stimulus_is_an_error_listing_it_unless_allow_missing(tmp_path):
    ds = _tiny(tmp_path)
    arrays = _good(ds)
    del arrays["3.png"]
    path = _h5(tmp_path / "m.hdf5", arrays)
    with pytest.raises(EvaluateError, match=r"no map in .*m\.hdf5 for 1 of 4 images: 3 .*3\.png"):
        _run(ds, path, tmp_path / "o")
    assert not (tmp_path / "o").exists()
    res = _run(ds, path, tmp_path / "o", allow_missing=True)
    assert res.missing == ["3"] and set(res.per_image.image) == {"1", "2", "4"}


def test_extra_datasets_give_a_note_and_stems_are_accepted(tmp_path):
    ds = _tiny(tmp_path)
    arrays = _good(ds)
    arrays["2"] = arrays.pop("2.png")  # named by the stem alone: accepted
    arrays["99.png"] = arrays["1.png"]
    path = _h5(tmp_path / "m.hdf5", arrays)
    with pytest.warns(EvaluateWarning, match=r"m\.hdf5: 1 dataset\(s\) match no image .*99\.png"):
        res = _run(ds, path, tmp_path / "o")
    assert res.ok and set(res.per_image.image) == {"1", "2", "3", "4"}
    assert any("99.png" in n for n in res.notes)
    # both the file name and the stem: ambiguous, refused naming both
    arrays["2.png"] = arrays["2"]
    with pytest.raises(EvaluateError, match=r"datasets '2\.png' and '2' both name image 2"):
        _run(ds, _h5(tmp_path / "m2.hdf5", arrays), tmp_path / "o2")


def test_bad_datasets_fail_their_image_only_and_the_cli_exits_1(tmp_path, monkeypatch, capsys):
    from asdgaze import cli

    ds = _tiny(tmp_path)
    arrays = _good(ds)
    arrays["1.png"] = arrays["1.png"].copy()
    arrays["1.png"][3, 4] = np.nan
    arrays["2.png"] = np.stack([arrays["2.png"]] * 2)  # 3-D
    arrays["3.png"] = np.zeros((H, W), dtype=np.int32)  # not float
    path = _h5(tmp_path / "m.hdf5", arrays)
    monkeypatch.setattr("asdgaze.cli.evaluate.load_dataset_for", lambda *a: (ds, {}))
    rc = cli.main(["evaluate", "--dataset", str(tmp_path), "--maps", str(path), "--baselines", "uniform",
                   "--metrics", "nss,ll", "--out", str(tmp_path / "o"), "--workers", "1", "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 1
    assert f"{path}:1.png: log-density contains NaN or +inf" in err
    assert f"{path}:2.png: expected a 2-D map, got shape (2, {H}, {W})" in err
    assert f"{path}:3.png: expected floating-point log-density values, got dtype int32" in err
    m = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert {(f["image"], f["group"]) for f in m["failures"]} == {(s, g) for s in "123" for g in ("ASD", "TD")}
    pi = pd.read_csv(tmp_path / "o" / "per_image.csv", dtype={"image": str})
    assert set(pi[pi.model == "maps"].image) == {"4"}  # image 4 scored
    assert len(pi[pi.model == "uniform"]) == 4 * 2 * 3  # the baseline on every image: 2 groups x (MIT nss, probabilistic nss and ll)


def test_a_log_density_off_one_is_noted_as_for_npy(tmp_path):
    ds = _tiny(tmp_path)
    arrays = _good(ds)
    arrays["2.png"] = arrays["2.png"] + 0.5
    with pytest.warns(EvaluateWarning, match=r"1 map\(s\) read as log-densities do not sum to 1 \(first: .*m\.hdf5:2\.png"):
        res = _run(ds, _h5(tmp_path / "m.hdf5", arrays), tmp_path / "o")
    assert res.ok


def test_a_file_that_is_not_hdf5_is_refused_before_any_work(tmp_path):
    ds = _tiny(tmp_path)
    bad = tmp_path / "m.hdf5"
    bad.write_bytes(b"not an hdf5 file at all")
    with pytest.raises(EvaluateError, match=f"{bad}: not an HDF5 file"):
        _run(ds, bad, tmp_path / "o")
    with pytest.raises(EvaluateError, match=f"{tmp_path / 'nope.h5'}: no such HDF5 file"):
        _run(ds, {"x": tmp_path / "nope.h5"}, tmp_path / "o")
    assert not (tmp_path / "o").exists()


def test_maps_kind_saliency_with_an_hdf5_file_is_refused(tmp_path, monkeypatch, capsys):
    from asdgaze import cli

    ds = _tiny(tmp_path)
    path = _h5(tmp_path / "m.hdf5", _good(ds))
    monkeypatch.setattr("asdgaze.cli.evaluate.load_dataset_for", lambda *a: (ds, {}))
    rc = cli.main(["evaluate", "--dataset", str(tmp_path), "--maps", f"x={path}", "--maps-kind", "saliency",
                   "--out", str(tmp_path / "o"), "--workers", "1", "--no-progress"])
    err = capsys.readouterr().err
    assert rc != 0 and "an HDF5 file holds log-densities; --maps-kind saliency does not apply" in err
    assert "Traceback" not in err and not (tmp_path / "o").exists()


def test_changing_one_dataset_rescores_only_that_image(tmp_path):
    ds = _tiny(tmp_path)
    arrays = _good(ds)
    path = _h5(tmp_path / "m.hdf5", arrays)
    first = _run(ds, path, tmp_path / "o")
    assert first.resumed == []
    arrays["3.png"] = _log_density((H, W), np.random.default_rng(99))
    _h5(path, arrays)  # rewritten: every other dataset holds the same values
    again = _run(ds, path, tmp_path / "o")
    assert again.resumed == ["1", "2", "4"]
    m = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert m["maps"]["hdf5_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()

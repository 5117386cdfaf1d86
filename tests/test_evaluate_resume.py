"""evaluate: output folders of other runs are refused, interrupted runs resume with byte-identical
results, the README example runs as a plain script, and torch is never needed."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import asdgaze.evaluate as ev
from asdgaze.data.types import Dataset, Fixations, Stimulus
from asdgaze.evaluate import EvaluateError, EvaluateOptions, evaluate
from asdgaze.maps.io import save_npy

SRC = str(Path(ev.__file__).resolve().parents[2])
DEMO = Path(SRC) / "asdgaze" / "demo" / "TrainingDataset"
H, W = 24, 32
CSVS = ("per_image.csv", "summary.csv")


def _dataset(root: Path, n: int = 5) -> Dataset:
    rng = np.random.default_rng(9)
    stimuli = {str(i): Stimulus(str(i), root / f"{i}.png", H, W) for i in range(1, n + 1)}
    fix = {g: {s: Fixations.from_arrays(rng.integers(0, W, 8) + 0.5, rng.integers(0, H, 8) + 0.5)
               for s in stimuli} for g in ("ASD", "TD")}
    return Dataset("tiny", root, stimuli, fix)


def _maps(folder: Path, stems, shape=(H, W)) -> None:
    rng = np.random.default_rng(1)
    for stem in stems:
        save_npy(folder / f"{stem}.npy", rng.random(shape))


def test_a_folder_with_another_runs_results_is_refused_unless_overwrite(tmp_path):
    ds = _dataset(tmp_path)
    _maps(tmp_path / "maps", ds.stimuli)
    evaluate(ds, tmp_path / "maps", tmp_path / "out", EvaluateOptions(maps_kind="saliency"), workers=1,
             progress=False)
    with pytest.raises(EvaluateError, match="another evaluate run.*--overwrite"):
        evaluate(ds, tmp_path / "maps", tmp_path / "out", EvaluateOptions(maps_kind="saliency", seed=1),
                 workers=1, progress=False)
    res = evaluate(ds, tmp_path / "maps", tmp_path / "out", EvaluateOptions(maps_kind="saliency", seed=1),
                   workers=1, progress=False, overwrite=True)
    assert res.resumed == [] and json.loads((tmp_path / "out" / "manifest.json").read_text())["options"]["seed"] == 1


def test_a_rerun_scores_only_the_missing_images(tmp_path, monkeypatch):
    ds = _dataset(tmp_path)
    _maps(tmp_path / "maps", ds.stimuli)
    evaluate(ds, tmp_path / "maps", tmp_path / "ref", EvaluateOptions(maps_kind="saliency"), workers=1,
             progress=False)
    evaluate(ds, tmp_path / "maps", tmp_path / "out", EvaluateOptions(maps_kind="saliency"), workers=1,
             progress=False)
    for stem in ("2", "4"):
        (tmp_path / "out" / "parts" / f"{stem}.json").unlink()
    (tmp_path / "out" / "parts" / "5.json").write_text('{"rows": [')  # a truncated part is not trusted
    for name in CSVS:
        (tmp_path / "out" / name).unlink()
    scored = []
    real = ev.pool._score_image
    monkeypatch.setattr(ev.pool, "_score_image", lambda stem: scored.append(stem) or real(stem))
    res = evaluate(ds, tmp_path / "maps", tmp_path / "out", EvaluateOptions(maps_kind="saliency"), workers=1,
                   progress=False)
    assert scored == ["2", "4", "5"] and res.resumed == ["1", "3"]
    for name in CSVS:
        assert (tmp_path / "out" / name).read_bytes() == (tmp_path / "ref" / name).read_bytes()
    # A changed map is scored again even though its part exists.
    _maps(tmp_path / "maps", ["1"], shape=(H, W))
    save_npy(tmp_path / "maps" / "1.npy", np.ones((H, W)) + np.eye(H, W))
    scored.clear()
    evaluate(ds, tmp_path / "maps", tmp_path / "out", EvaluateOptions(maps_kind="saliency"), workers=1,
             progress=False)
    assert scored == ["1"]


def _cli(maps: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "asdgaze.cli", "evaluate", "--dataset", str(DEMO), "--maps", str(maps),
            "--maps-kind", "saliency", "--out", str(out), "--workers", "1", "--no-progress",
            "--metrics", "auc_judd,nss,cc,kl,sim"]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": SRC}


@pytest.mark.timeout(600)
def test_killed_runs_resume_to_byte_identical_results(tmp_path):
    stems = [p.stem for p in (DEMO / "TrainingData" / "Images").iterdir()]
    _maps(tmp_path / "maps", stems, shape=(600, 800))
    ref = subprocess.run(_cli(tmp_path / "maps", tmp_path / "ref"), env=_env(), capture_output=True, text=True,
                         timeout=300)
    assert ref.returncode == 0, ref.stderr
    t_full = float(json.loads((tmp_path / "ref" / "manifest.json").read_text())["timings"]["total_s"])
    rnd = random.Random(20261126)
    out = tmp_path / "out"
    for sig in (signal.SIGINT, signal.SIGKILL, signal.SIGKILL):
        proc = subprocess.Popen(_cli(tmp_path / "maps", out), env=_env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        # Python start-up and imports take about as long as scoring; kill somewhere in the run.
        time.sleep(rnd.uniform(2.0, 2.0 + t_full))
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
        parts = sorted((out / "parts").glob("[0-9]*.json")) if (out / "parts").is_dir() else []
        for p in parts:  # every part on disk is complete (atomic writes)
            json.loads(p.read_text())
        if sig == signal.SIGINT and "interrupted:" in err:  # else it came before or after the scoring
            assert proc.returncode == 130, err
            assert re.search(r"interrupted: \d+ of 8 images finished .*rerun the same command to resume", err)
    rerun = subprocess.run(_cli(tmp_path / "maps", out), env=_env(), capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    done_before = len(parts)
    if done_before and done_before < 8:
        assert f"{done_before} image(s) taken from the interrupted earlier run" in rerun.stdout
    for name in CSVS:
        assert (out / name).read_bytes() == (tmp_path / "ref" / name).read_bytes()


@pytest.mark.timeout(300)
def test_sigint_mid_run_reports_progress_and_the_rerun_does_only_the_rest(tmp_path):
    stems = [p.stem for p in (DEMO / "TrainingData" / "Images").iterdir()]
    _maps(tmp_path / "maps", stems, shape=(600, 800))
    out = tmp_path / "out"
    proc = subprocess.Popen(_cli(tmp_path / "maps", out), env=_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and len(list((out / "parts").glob("[0-9]*.json"))) < 2:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    n = len(list((out / "parts").glob("[0-9]*.json")))
    assert proc.returncode == 130 and 2 <= n < 8, err
    assert f"interrupted: {n} of 8 images finished" in err and "rerun the same command to resume" in err
    assert not (out / "per_image.csv").exists()
    rerun = subprocess.run(_cli(tmp_path / "maps", out), env=_env(), capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0 and f"{n} image(s) taken from the interrupted earlier run" in rerun.stdout


README_EXAMPLE = re.compile(r"```python\n(from asdgaze.data import load_dataset\n.*?)```", re.S)


@pytest.mark.timeout(300)
def test_the_readme_example_runs_as_a_plain_script(tmp_path):
    readme = (Path(SRC).parent / "README.md").read_text()
    code = README_EXAMPLE.search(readme).group(1)
    assert "__main__" not in code  # it must work as written, without a guard
    stems = [p.stem for p in (DEMO / "TrainingData" / "Images").iterdir()]
    rng = np.random.default_rng(0)
    for stem in stems:  # log-density maps, as predict writes them
        a = rng.standard_normal((600, 800)) * 0.1
        save_npy(tmp_path / "predictions" / "maps" / f"{stem}.npy", a - np.log(np.exp(a).sum()))
    code = code.replace('"Saliency4ASD/TrainingDataset"', repr(str(DEMO)))
    (tmp_path / "script.py").write_text(code)
    r = subprocess.run([sys.executable, "script.py"], cwd=tmp_path, env=_env(), capture_output=True, text=True,
                       timeout=280)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "results" / "per_image.csv").is_file() and "auc_judd" in r.stdout


NO_TORCH = """
import numpy as np
from asdgaze.cli import main
from asdgaze.data import load_dataset
from asdgaze.evaluate import EvaluateOptions, evaluate
from asdgaze.maps.io import save_npy
demo, root = sys.argv[1], sys.argv[2]
ds = load_dataset(demo)
for stem, st in ds.stimuli.items():
    save_npy(f"{root}/maps/{stem}.npy", np.random.default_rng(0).random(st.shape))
from asdgaze.models.registry import default_baselines
evaluate(ds, f"{root}/maps", f"{root}/lib", EvaluateOptions(maps_kind="saliency", metrics=("nss", "emd"),
         prob_metrics=("nss",), baselines=default_baselines(ds.groups)), workers=2, progress=False)
rc = main(["evaluate", "--dataset", demo, "--maps", f"{root}/maps", "--maps-kind", "saliency", "--out",
           f"{root}/cli", "--metrics", "nss,emd", "--no-progress"])
print("RC", rc, "torch" in sys.modules)
"""


@pytest.mark.timeout(300)
def test_evaluate_runs_without_torch(tmp_path, no_torch_prelude):
    r = subprocess.run([sys.executable, "-c", no_torch_prelude + NO_TORCH, str(DEMO), str(tmp_path)], env=_env(), capture_output=True,
                       text=True, timeout=280)
    assert "RC 0 False" in r.stdout, r.stderr
    assert (tmp_path / "lib" / "per_image.csv").read_bytes() == (tmp_path / "cli" / "per_image.csv").read_bytes()


@pytest.mark.timeout(200)
def test_an_unguarded_script_that_imports_torch_first_does_not_hang(tmp_path):
    """`import torch` before evaluate in a script without `if __name__ == "__main__":`: a spawned worker
    would re-run the script and die; the run must finish (or fail at once), never wait forever."""
    pytest.importorskip("torch")
    stems = [p.stem for p in (DEMO / "TrainingData" / "Images").iterdir()][:3]
    rng = np.random.default_rng(0)
    for stem in stems:
        a = rng.standard_normal((600, 800)) * 0.1
        save_npy(tmp_path / "maps" / f"{stem}.npy", a - np.log(np.exp(a).sum()))
    (tmp_path / "script.py").write_text(
        "import torch\n"
        "from asdgaze.data import load_dataset\n"
        "from asdgaze.evaluate import EvaluateOptions, evaluate\n"
        f"ds = load_dataset({str(DEMO)!r})\n"
        "result = evaluate(ds, {'m': 'maps'}, 'results', EvaluateOptions(maps_kind='log-density', "
        "metrics=('nss',), prob_metrics=('ll',), allow_missing=True), workers=2, progress=False)\n"
        "print('DONE', len(result.per_image))\n")
    r = subprocess.run([sys.executable, "script.py"], cwd=tmp_path, env=_env(), capture_output=True, text=True,
                       timeout=150)
    assert r.returncode == 0, r.stderr
    assert "DONE" in r.stdout and (tmp_path / "results" / "per_image.csv").is_file()


def test_with_cuda_started_the_run_stays_in_one_process_with_a_warning(tmp_path, monkeypatch):
    import types

    from asdgaze.procs import start_method

    fake = types.SimpleNamespace(cuda=types.SimpleNamespace(is_initialized=lambda: True))
    monkeypatch.setitem(sys.modules, "torch", fake)
    assert start_method() is None
    ds = _dataset(tmp_path, n=3)
    _maps(tmp_path / "maps", ds.stimuli)
    with pytest.warns(ev.EvaluateWarning, match="one process"):
        res = evaluate(ds, tmp_path / "maps", tmp_path / "out", EvaluateOptions(maps_kind="saliency",
                       conventions=("mit",), metrics=("nss",)), workers=2, progress=False)
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["timings"]["workers"] == 1 and res.ok


@pytest.mark.timeout(200)
def test_a_spawned_worker_that_never_starts_fails_the_run_instead_of_hanging(tmp_path):
    """Spawn (as on macOS/Windows) with an unguarded script importing torch: the worker re-runs the script
    and fails there; the parent stops with the remedy instead of waiting."""
    pytest.importorskip("torch")
    ds_root = tmp_path / "maps"
    stems = [p.stem for p in (DEMO / "TrainingData" / "Images").iterdir()][:2]
    rng = np.random.default_rng(0)
    for stem in stems:
        save_npy(ds_root / f"{stem}.npy", rng.random((600, 800)))
    (tmp_path / "script.py").write_text(
        "import torch\n"  # with torch imported, the re-run script's own failure leaves the worker alive
        "import asdgaze.evaluate as ev\n"
        "ev.pool.start_method = lambda: 'spawn'\n"
        "ev.pool.WORKER_START_S = 30\n"  # should the worker stay alive instead of dying
        "from asdgaze.data import load_dataset\n"
        f"ds = load_dataset({str(DEMO)!r})\n"
        "ev.evaluate(ds, 'maps', 'results', ev.EvaluateOptions(maps_kind='saliency', metrics=('nss',), "
        "conventions=('mit',), allow_missing=True), workers=2, progress=False)\n")
    r = subprocess.run([sys.executable, "script.py"], cwd=tmp_path, env=_env(), capture_output=True, text=True,
                       timeout=150)
    assert r.returncode != 0
    assert "__main__" in r.stderr and "workers 1" in r.stderr  # the remedy, whichever check caught it


@pytest.mark.timeout(120)
def test_a_worker_that_never_comes_up_ends_the_run_after_the_start_up_wait(tmp_path, monkeypatch):
    def stuck(*args):  # a worker that never reaches its loop (as a spawned one re-running a script)
        time.sleep(600)

    monkeypatch.setattr(ev.pool, "_init_worker", stuck)
    monkeypatch.setattr(ev.pool, "WORKER_START_S", 2.0)
    ds = _dataset(tmp_path, n=3)
    _maps(tmp_path / "maps", ds.stimuli)
    t0 = time.monotonic()
    with pytest.raises(EvaluateError, match="no worker process started within 2 s.*__main__.*workers 1"):
        evaluate(ds, tmp_path / "maps", tmp_path / "out", EvaluateOptions(maps_kind="saliency",
                 conventions=("mit",), metrics=("nss",)), workers=2, progress=False)
    assert time.monotonic() - t0 < 60

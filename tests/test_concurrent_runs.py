"""predict and run hold their output folder as evaluate does (tests/test_evaluate_concurrent.py): a run
with other settings into it at the same time is refused before it writes anything (two centre biases
would otherwise mix in one maps/ folder, two compare settings in one compare/ and run.json)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
from PIL import Image

import asdgaze
from asdgaze.analysis.compare import CompareOptions
from asdgaze.data import demo_dataset_path
from asdgaze.errors import OptionsError
from asdgaze.evaluate import EvaluateOptions
from asdgaze.predict import run_predict
from asdgaze.run import RunError, run

SRC = str(Path(asdgaze.__file__).resolve().parents[1])
_HOLD = """
import json, sys, time
from pathlib import Path
from asdgaze.folderlock import FolderClaim
claim = FolderClaim()
with claim.hold(Path(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]):
    pass
print("held", flush=True)
time.sleep(120)
"""


@contextmanager
def _held(folder: Path, settings: dict, command: str):
    """Another process holding ``folder`` with ``settings``, killed (without releasing anything) at the end."""
    p = subprocess.Popen([sys.executable, "-c", _HOLD, str(folder), json.dumps(settings), command],
                         stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": SRC})
    try:
        assert p.stdout.readline().strip() == "held"
        yield
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait()


def test_a_live_predict_with_other_settings_refuses_a_second_one(tmp_path):
    (tmp_path / "images").mkdir()
    Image.new("RGB", (80, 70), (90, 20, 30)).save(tmp_path / "images" / "a.png")
    out = tmp_path / "out"
    with _held(out, {"centerbias": {"kind": "uniform"}, "precision": "fp16"}, "predict run"):
        with pytest.raises(OptionsError, match=r"another predict run \(pid \d+.*precision: \"fp16\" -> \"fp32\""):
            run_predict(out, images=tmp_path / "images", model=object(), centerbias="uniform", progress=False)
        assert not (out / "run-settings.json").exists() and not (out / "maps").exists()


def test_a_live_run_with_other_settings_refuses_a_second_one_and_its_death_frees_the_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("ASDGAZE_HOME", str(tmp_path / "cache"))
    out = tmp_path / "out"
    kw = dict(models=(), baselines=("centerbias",), evaluate_options=EvaluateOptions(metrics=("nss",)),
              compare_options=CompareOptions(n_resamples=50, n_permutations=10), workers=1, progress=False,
              echo=lambda line: None)
    with _held(out, {"compare": {"n_resamples": 999}}, "asdgaze run"):
        with pytest.raises(RunError, match=r"another asdgaze run \(pid \d+.*compare.n_resamples: 999 -> 50"):
            run(demo_dataset_path(), out, **kw)
        assert not (out / "run.json").exists() and not (out / "results").exists()
    assert run(demo_dataset_path(), out, **kw).ok  # the holder died: nothing stands in the way

"""predict: a run holds its output folder, so a predict with other settings into it at the same time
is refused before it writes anything (two centre biases would otherwise mix in one maps/ folder)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

import asdgaze
from asdgaze.errors import OptionsError
from asdgaze.predict import run_predict

SRC = str(Path(asdgaze.__file__).resolve().parents[1])
_HOLD = """
import sys, time
from pathlib import Path
from asdgaze.folderlock import FolderClaim
claim = FolderClaim()
with claim.hold(Path(sys.argv[1]), {"centerbias": {"kind": "uniform"}, "precision": "fp16"}, "predict"):
    pass
print("held", flush=True)
time.sleep(120)
"""


def test_a_live_predict_with_other_settings_refuses_a_second_one(tmp_path):
    (tmp_path / "images").mkdir()
    Image.new("RGB", (80, 70), (90, 20, 30)).save(tmp_path / "images" / "a.png")
    out = tmp_path / "out"
    holder = subprocess.Popen([sys.executable, "-c", _HOLD, str(out)], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": SRC})
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(OptionsError, match=r"another predict run \(pid \d+.*precision: \"fp16\" -> \"fp32\""):
            run_predict(out, images=tmp_path / "images", model=object(), centerbias="uniform", progress=False)
        assert not (out / "run-settings.json").exists() and not (out / "maps").exists()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()

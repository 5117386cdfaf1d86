"""`asdgaze predict` on a machine without torch says so in one line, without a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
DEMO_IMAGES = SRC / "asdgaze" / "demo" / "TrainingDataset" / "TrainingData" / "Images"

SCRIPT = r'''
from asdgaze.cli import main
sys.exit(main(["predict", "--images", sys.argv[1], "--out", sys.argv[2], "--centerbias", "uniform", "--no-progress"]))
'''


def test_predict_without_torch_is_a_plain_error(tmp_path, no_torch_prelude):
    env = {**os.environ, "PYTHONPATH": str(SRC), "ASDGAZE_HOME": str(tmp_path / "cache")}
    proc = subprocess.run([sys.executable, "-c", no_torch_prelude + SCRIPT, str(DEMO_IMAGES), str(tmp_path / "out")],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "needs PyTorch" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert not (tmp_path / "out").exists()

"""`asdgaze predict` killed (SIGINT, SIGKILL) at random points and rerun, as a user would: no
truncated output is ever taken for a finished one, the rerun does only the missing work, and the
result is byte-identical to an uninterrupted run. Seed-0 synthetic checkpoint, small images."""

from __future__ import annotations

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
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
N = 10


@pytest.fixture(scope="module")
def images(osie_dir: Path, tmp_path_factory) -> Path:
    src = np.asarray(Image.open(osie_dir / "TrainingDataset" / "TrainingData" / "Images" / "1.png").convert("RGB"))
    d = tmp_path_factory.mktemp("interrupt") / "images"
    d.mkdir()
    for i in range(N):
        Image.fromarray(src[20 * i:20 * i + 64, 30 * i:30 * i + 96]).save(d / f"{i}.png")
    return d


def start(images: Path, out: Path, checkpoint: Path, home: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"), ASDGAZE_HOME=str(home), OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "asdgaze.cli", "predict", "--images", str(images), "--out", str(out),
           "--weights", str(checkpoint), "--centerbias", "uniform", "--batch-size", "1", "--device", "cpu",
           "--no-progress"]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def outputs(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for sub in ("maps", "overlays") if (out / sub).is_dir()
            for p in sorted((out / sub).iterdir()) if p.is_file()}


def finished_stems(out: Path) -> set[str]:
    names = outputs(out)
    return {str(i) for i in range(N) if {f"maps/{i}.npy", f"maps/{i}.png", f"overlays/{i}.jpg"} <= set(names)}


@pytest.fixture(scope="module")
def reference(images, checkpoint_seed0, tmp_path_factory) -> dict[str, bytes]:
    """The uninterrupted run's files."""
    root = tmp_path_factory.mktemp("whole")
    p = start(images, root / "out", checkpoint_seed0, root / "home")
    stdout, stderr = p.communicate(timeout=600)
    assert p.returncode == 0, stderr
    files = outputs(root / "out")
    assert len(files) == 3 * N
    return files


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_kill_and_rerun(images, reference, checkpoint_seed0, tmp_path, sig, request):
    home = tmp_path / "home"

    rng = random.Random(f"{request.node.name}")
    out = tmp_path / "out"
    p = start(images, out, checkpoint_seed0, home)
    deadline = time.monotonic() + 600
    while not list((out / "maps").glob("*.npy")) if (out / "maps").is_dir() else True:
        assert p.poll() is None and time.monotonic() < deadline, p.communicate()
        time.sleep(0.02)
    time.sleep(rng.uniform(0.0, 1.0))
    p.send_signal(sig)
    stdout, stderr = p.communicate(timeout=120)
    done = finished_stems(out)
    # every file under its final name is complete: equal to the uninterrupted run's, byte for byte
    for name, data in outputs(out).items():
        assert not name.endswith(".part") or name.split("/")[-1].startswith(".")
        if not name.split("/")[-1].startswith("."):
            assert data == reference[name], name
    if sig == signal.SIGINT and p.returncode != 0:
        assert p.returncode == 130, stderr
        m = re.search(r"interrupted: (\d+) of 10 images finished \((\d+) in this run\); run the same command "
                      r"again to resume", stderr)
        assert m and int(m.group(1)) == len(done), stderr
        assert "Traceback" not in stderr
    p = start(images, out, checkpoint_seed0, home)
    stdout, stderr = p.communicate(timeout=600)
    assert p.returncode == 0, stderr
    assert f"{N - len(done)} written, {len(done)} already present, 0 failed" in stdout  # only the missing work
    assert outputs(out) == reference

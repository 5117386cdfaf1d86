"""`--outputs hdf5`: maps.hdf5 read back by pysaliency's own HDF5Model, in its own interpreter
(.venv-pysal, or ASDGAZE_PYSALIENCY_PYTHON), with a stand-in model (no checkpoint needed)."""

from __future__ import annotations

import json
import subprocess

import h5py
import numpy as np
import pytest
from PIL import Image

from asdgaze.predict import run_predict
from test_predict_pipeline import FakeModel


READER = """
import json, sys, types
import numpy as np
_torch = types.ModuleType("torch"); _torch.Tensor = type("Tensor", (), {}); sys.modules.setdefault("torch", _torch)
import pysaliency
files, hdf5, out = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
stimuli = pysaliency.FileStimuli(files)
model = pysaliency.HDF5Model(stimuli, hdf5)
np.savez(out, *[model.log_density(s) for s in stimuli])
"""



def test_hdf5_layout_and_pysaliency_round_trip(tmp_path, pysaliency_python, pysaliency_env):
    rng = np.random.default_rng(1)
    folder = tmp_path / "images"
    folder.mkdir()
    for name, shape in (("a.png", (64, 80)), ("b.jpg", (72, 64)), ("c.png", (64, 80))):
        Image.fromarray(rng.integers(0, 256, (*shape, 3), dtype=np.uint8)).save(folder / name)
    out = tmp_path / "o"
    r = run_predict(out, images=folder, model=FakeModel(), centerbias="uniform", device="cpu", progress=False,
                    outputs="npy,hdf5")
    assert r.ok and len(r.written) == 3
    with h5py.File(out / "maps.hdf5", "r") as f:
        assert sorted(f.keys()) == ["a.png", "b.jpg", "c.png"]  # keyed by stimulus file name
        for stem, name in (("a", "a.png"), ("b", "b.jpg"), ("c", "c.png")):
            np.testing.assert_array_equal(f[name][:], np.load(out / "maps" / f"{stem}.npy").astype(np.float64))
    files = [str(folder / n) for n in ("a.png", "b.jpg", "c.png")]
    python = str(pysaliency_python)
    env = pysaliency_env
    done = subprocess.run([python, "-c", READER, json.dumps(files), str(out / "maps.hdf5"),
                           str(tmp_path / "back.npz")], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    back = np.load(tmp_path / "back.npz")
    for k, stem in enumerate("abc"):
        np.testing.assert_array_equal(back[f"arr_{k}"], np.load(out / "maps" / f"{stem}.npy").astype(np.float64))


def test_hdf5_needs_npy(tmp_path):
    from asdgaze.errors import OptionsError

    with pytest.raises(OptionsError, match="add npy"):
        run_predict(tmp_path / "o", images=[tmp_path / "x.png"], model=FakeModel(), centerbias="uniform",
                    outputs="hdf5", progress=False)

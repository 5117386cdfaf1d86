"""Shared fixtures. Reference data lives in tests/reference/ (see its README); when a file is missing
the tests that need it FAIL with a message saying so (nothing is skipped)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def reference_dir(repo_root: Path) -> Path:
    """The reference material the tests read, in the repository: ``tests/reference`` (oracles, data, DeepGaze)."""
    path = repo_root / "tests" / "reference"
    if not path.is_dir():
        pytest.fail(f"reference folder {path} is missing (metric-oracles/, deepgaze/, osie-s4a/)", pytrace=False)
    return path


@pytest.fixture(scope="session")
def osie_dir(reference_dir: Path) -> Path:
    """``tests/reference/osie-s4a``: 12 OSIE images with real fixations in the Saliency4ASD layout."""
    path = reference_dir / "osie-s4a"
    if not (path / "TrainingDataset" / "TrainingData" / "Images").is_dir():
        pytest.fail(f"format replica {path} is missing or incomplete (no TrainingDataset/TrainingData/Images)",
                    pytrace=False)
    return path


# --- DeepGaze IIE: the synthetic checkpoint of tests/reference/deepgaze, built once per session --------


@pytest.fixture(scope="session")
def deepgaze_dir(reference_dir: Path) -> Path:
    path = reference_dir / "deepgaze"
    for name in ("synth_checkpoint.py", "manifest.json", "reference_seed0.pt"):
        if not (path / name).is_file():
            pytest.fail(f"{path / name} is missing (DeepGaze IIE reference material)", pytrace=False)
    return path


@pytest.fixture(scope="session")
def synth(deepgaze_dir: Path):
    """The ``synth_checkpoint`` module of tests/reference/deepgaze, imported from its path."""
    spec = importlib.util.spec_from_file_location("asdgaze_test_synth_checkpoint", deepgaze_dir / "synth_checkpoint.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def manifest(deepgaze_dir: Path) -> dict:
    return json.loads((deepgaze_dir / "manifest.json").read_text())


@pytest.fixture(scope="session")
def state_seed0(synth, manifest):
    return synth.synth_state_dict(manifest["keys"], seed=0)


@pytest.fixture(scope="session")
def checkpoint_seed0(state_seed0, tmp_path_factory) -> Path:
    """The seed-0 synthetic checkpoint as a file (torch.save of the state dict, ~420 MB, temp dir)."""
    import torch

    path = tmp_path_factory.mktemp("weights") / "synth_seed0.pth"
    torch.save(state_seed0, path)
    return path


@pytest.fixture(scope="session")
def pysaliency_python(repo_root: Path) -> Path:
    """The interpreter of the pysaliency 0.2.22 oracle venv that `make test` builds (tests/pysal/)."""
    import os

    env = os.environ.get("ASDGAZE_PYSALIENCY_PYTHON")
    path = Path(env) if env else repo_root / ".venv-pysal" / "bin" / "python"
    if not path.exists():
        pytest.fail(f"pysaliency interpreter {path} is missing: `make test` (or `make .venv-pysal/.installed`) "
                    "builds it, see tests/pysal/requirements.txt; or set ASDGAZE_PYSALIENCY_PYTHON", pytrace=False)
    return path


@pytest.fixture
def pysaliency_env(tmp_path: Path, pysaliency_python: Path) -> dict[str, str]:
    """Environment for running `pysaliency_python` with h5py importable: pysaliency's HDF5 code needs
    h5py, which the oracle environment's requirements lack, so this interpreter's h5py is lent to it
    (same Python version; h5py only, nothing else)."""
    import os
    import subprocess

    import h5py

    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    if subprocess.run([str(pysaliency_python), "-c", "import h5py"], env=env, capture_output=True).returncode != 0:
        shim = tmp_path / "h5py-shim"
        shim.mkdir()
        root = Path(h5py.__file__).parent
        for p in (root, root.with_name("h5py.libs")):
            if p.exists():
                (shim / p.name).symlink_to(p)
        env["PYTHONPATH"] = str(shim)
    return env


#: Prelude of a `python -c` script that hides torch as on a machine where it is not installed (an import
#: hook refusing it; `sys.modules['torch'] = None` would make scipy mistake the None for an imported torch).
NO_TORCH_PRELUDE = r'''
import sys

class NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)

sys.meta_path.insert(0, NoTorch())
'''


@pytest.fixture(scope="session")
def no_torch_prelude() -> str:
    return NO_TORCH_PRELUDE

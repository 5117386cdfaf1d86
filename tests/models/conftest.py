"""DeepGaze IIE fixtures: the synthetic checkpoint of ../shared/deepgaze, built once per session."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="session")
def deepgaze_dir(shared_dir: Path) -> Path:
    path = shared_dir / "deepgaze"
    for name in ("synth_checkpoint.py", "manifest.json", "reference_seed0.pt"):
        if not (path / name).is_file():
            pytest.fail(f"{path / name} is missing (DeepGaze IIE reference material)", pytrace=False)
    return path


@pytest.fixture(scope="session")
def synth(deepgaze_dir: Path):
    """The shared ``synth_checkpoint`` module, imported from its path (not copied into the repo)."""
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
def model_seed0(checkpoint_seed0):
    from asdgaze import DeepGazeIIE

    return DeepGazeIIE.from_checkpoint(checkpoint_seed0)


@pytest.fixture(scope="session")
def reference(deepgaze_dir: Path) -> dict:
    import torch

    return torch.load(deepgaze_dir / "reference_seed0.pt")


@pytest.fixture(scope="session")
def osie_image(osie_dir: Path):
    """A real 800x600 OSIE photo as (600, 800, 3) uint8; crop it for small test images."""
    from asdgaze.data.images import load_image

    return load_image(osie_dir / "TrainingDataset" / "TrainingData" / "Images" / "1.png")


@pytest.fixture(scope="session")
def osie_image2(osie_dir: Path) -> np.ndarray:
    from asdgaze.data.images import load_image

    return load_image(osie_dir / "TrainingDataset" / "TrainingData" / "Images" / "10.png")

"""DeepGaze IIE fixtures: a loaded model and reference outputs (the checkpoint itself is in tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="session")
def model_seed0(checkpoint_seed0):
    from asdgaze import DeepGazeIIE

    return DeepGazeIIE.from_checkpoint(checkpoint_seed0)


@pytest.fixture(scope="session")
def reference(deepgaze_dir: Path) -> dict:
    import torch

    return torch.load(deepgaze_dir / "reference_seed0.pt", weights_only=True)  # tensors only, never code


@pytest.fixture(scope="session")
def osie_image(osie_dir: Path):
    """A real 800x600 OSIE photo as (600, 800, 3) uint8; crop it for small test images."""
    from asdgaze.data.images import load_image

    return load_image(osie_dir / "TrainingDataset" / "TrainingData" / "Images" / "1.png")


@pytest.fixture(scope="session")
def osie_image2(osie_dir: Path) -> np.ndarray:
    from asdgaze.data.images import load_image

    return load_image(osie_dir / "TrainingDataset" / "TrainingData" / "Images" / "10.png")

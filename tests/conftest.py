"""Shared fixtures. Reference data lives in ../shared next to the repository; when it is missing
the tests that need it FAIL with a message saying so (nothing is skipped)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def shared_dir(repo_root: Path) -> Path:
    """The read-only reference folder ``<repo>/../shared`` (specs, oracles, data)."""
    path = repo_root.parent / "shared"
    if not path.is_dir():
        pytest.fail(
            f"reference folder {path} is missing: the tests need ../shared next to the repository "
            "(specs/, metric-oracles/, deepgaze/, data/osie-s4a/)",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="session")
def osie_dir(shared_dir: Path) -> Path:
    """``shared/data/osie-s4a``: 30 OSIE images with real fixations in the Saliency4ASD layout."""
    path = shared_dir / "data" / "osie-s4a"
    if not (path / "TrainingDataset" / "TrainingData" / "Images").is_dir():
        pytest.fail(f"format replica {path} is missing or incomplete (no TrainingDataset/TrainingData/Images)",
                    pytrace=False)
    return path

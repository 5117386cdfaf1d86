"""Reading and checking a DeepGaze IIE checkpoint file (the torch side of the weights code).

Checkpoints are read only with ``torch.load(weights_only=True)``: tensors and plain containers,
never arbitrary pickled objects, so a file from elsewhere cannot run code.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from asdgaze.errors import WeightsError
from asdgaze.models.deepgaze.cache import URLS, WEIGHTS_FILE


def not_a_checkpoint(path: str | os.PathLike, detail: str = "") -> WeightsError:
    """The error for a file that is not the published state dict (what it should be, where it comes from)."""
    return WeightsError(f"{path}: not a PyTorch state dict of DeepGaze IIE{detail} "
                        f"(expected {WEIGHTS_FILE} from {URLS[WEIGHTS_FILE]})")


def load_state_dict_file(path: str | os.PathLike, mmap: bool = False) -> dict[str, torch.Tensor]:
    """Read a checkpoint file as a state dict of tensors.

    ``mmap=True`` maps the file instead of reading it (for a quick check of names and shapes);
    by default each tensor gets its own buffer, so converting the conv weights to channels-last
    frees the originals one by one (a mapped file would stay resident).
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: weights file does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except Exception:  # noqa: BLE001 - any reader error means the same thing to the user
        if not mmap:
            raise not_a_checkpoint(path) from None
        return load_state_dict_file(path, mmap=False)  # old (non-zip) files cannot be mapped
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not state or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise not_a_checkpoint(path, f" (it holds a {type(state).__name__}, not a dict of tensors)")
    return state


def check_state_dict(expected: dict[str, torch.Tensor], state: dict[str, torch.Tensor], source: str) -> None:
    """Raise :class:`WeightsError` listing missing, unexpected and mis-shaped keys (strict match)."""
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    shapes = [f"{k}: {tuple(state[k].shape)} != {tuple(v.shape)}" for k, v in expected.items()
              if k in state and tuple(state[k].shape) != tuple(v.shape)]
    if missing or unexpected or shapes:
        def few(xs: list[str]) -> str:
            return ", ".join(xs[:5]) + (f" ... ({len(xs)} in all)" if len(xs) > 5 else "")
        parts = [f"{len(missing)} missing ({few(missing)})" if missing else "",
                 f"{len(unexpected)} unexpected ({few(unexpected)})" if unexpected else "",
                 f"{len(shapes)} with wrong shape ({few(shapes)})" if shapes else ""]
        raise WeightsError(f"{source} is not a DeepGaze IIE checkpoint: "
                           + "; ".join(p for p in parts if p))

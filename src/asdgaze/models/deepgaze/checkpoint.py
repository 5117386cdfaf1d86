"""Reading and checking a DeepGaze IIE checkpoint file (the torch side of the weights code).

Checkpoints are read only with ``torch.load(weights_only=True)``: tensors and plain containers,
never arbitrary pickled objects, so a file from elsewhere cannot run code.
"""

from __future__ import annotations

import os
import pickle
import warnings
from pathlib import Path

import torch

from asdgaze.errors import WeightsError
from asdgaze.models.deepgaze.cache import URLS, WEIGHTS_FILE


def not_a_checkpoint(path: str | os.PathLike, detail: str = "") -> WeightsError:
    """The error for a file that is not the published state dict (what it should be, where it comes from)."""
    return WeightsError(f"{path}: not a PyTorch state dict of DeepGaze IIE{detail} "
                        f"(expected {WEIGHTS_FILE} from {URLS[WEIGHTS_FILE]})")


def _container(path: Path) -> str | None:
    """By the first bytes: "zip" (torch.save's archive), "pickle" (PROTO opcode, protocol 2 to 5) or None."""
    with open(path, "rb") as f:
        head = f.read(4)
    if head == b"PK\x03\x04":
        return "zip"
    return "pickle" if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5 else None


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
        # torch's notes on a file it then refuses ("please file an issue ...") are not the user's business:
        # the error below says what the file is
        with warnings.catch_warnings(record=True) as notes:
            warnings.simplefilter("always")
            state = torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except Exception as e:  # noqa: BLE001 - any reader error means the same thing to the user
        if mmap:
            return load_state_dict_file(path, mmap=False)  # old (non-zip) files cannot be mapped
        # torch's safe reader refused objects other than tensors (in its archive), or a plain pickle
        kind = _container(path)
        if not ((kind == "zip" and isinstance(e, pickle.UnpicklingError)) or kind == "pickle"):
            raise not_a_checkpoint(path) from None
        raise WeightsError(f"{path}: not a tensor-only PyTorch checkpoint: it holds pickled Python objects (or is a "
                           "plain pickle), which are never unpickled, as that could run code (expected "
                           f"{WEIGHTS_FILE} from {URLS[WEIGHTS_FILE]})") from None
    for note in notes:  # a file that loaded: torch's notes on it are shown
        warnings.warn_explicit(note.message, note.category, note.filename, note.lineno)
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

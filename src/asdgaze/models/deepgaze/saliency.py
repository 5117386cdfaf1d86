"""DeepGaze IIE behind the project's :class:`asdgaze.models.base.SaliencyModel` interface."""

from __future__ import annotations

import os

import numpy as np

from asdgaze.models.centerbias import CenterBias, resolve_centerbias


class DeepGazeSaliency:
    """``log_density(image uint8 HxWx3) -> float64 HxW`` with a fixed centre bias.

    Args:
        model: a loaded :class:`asdgaze.models.deepgaze.DeepGazeIIE`.
        centerbias: "mit1003", "uniform", a .npy template path, or a :class:`CenterBias`.
    """

    name = "DeepGazeIIE"

    def __init__(self, model, centerbias: str | os.PathLike | CenterBias = "mit1003") -> None:
        self.model = model
        self.centerbias = centerbias if isinstance(centerbias, CenterBias) else resolve_centerbias(centerbias)

    @classmethod
    def from_checkpoint(cls, path: str | os.PathLike | None = None, centerbias="mit1003",
                        device: str = "cpu") -> "DeepGazeSaliency":
        from asdgaze.models.deepgaze.model import DeepGazeIIE
        from asdgaze.models.deepgaze.weights import resolve_weights

        return cls(DeepGazeIIE.from_checkpoint(resolve_weights(path), device=device), centerbias)

    def log_density(self, image: np.ndarray) -> np.ndarray:
        """float64 (H, W) log density; ``logsumexp == 0`` up to float32 rounding of the model."""
        out = self.model.predict(image, centerbias=self.centerbias)
        return out.astype(np.float64)

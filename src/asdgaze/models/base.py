"""The image-in interface of saliency models: an image in, a log-density out.

What gets scored is a :class:`asdgaze.models.predictor.Predictor` (a stimulus, and where it matters
a group and viewers to leave out, in; a log-density out). An image-in model becomes one through
:class:`asdgaze.models.predictor.ImageModelPredictor`.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class SaliencyModel(Protocol):
    """A model of where people look.

    ``log_density(image)`` takes an RGB image (H, W, 3) uint8 and returns a float64 (H, W) array
    of natural-log probabilities over pixels: ``logsumexp(result) == 0``. Models that need only the
    image size (centre-bias baselines) ignore the pixel values.
    """

    name: str

    def log_density(self, image: np.ndarray) -> np.ndarray: ...

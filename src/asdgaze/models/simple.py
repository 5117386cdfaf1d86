"""Baselines that need no fitting: uniform, the fixed centre Gaussian and the MIT1003 centre-bias template.

Each depends on the image's size alone (``Traits.shape_only``), so evaluate computes it once per size.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np

from asdgaze.data.types import Stimulus
from asdgaze.models.base import PredictorBase, Traits
from asdgaze.models.baselines import CENTER_SIGMA_FRACTION, gaussian_center_log_density, uniform_log_density
from asdgaze.models.registry import register_baseline

__all__ = ["UniformPredictor", "GaussianCenterPredictor", "CenterBiasMIT1003Predictor"]


@register_baseline("uniform", label="uniform", default=True, help="every pixel equally likely")
class UniformPredictor(PredictorBase):
    """Every pixel equally likely: ``-log(H W)`` everywhere. The mean of uniform densities is uniform,
    so it is its own shuffled density."""

    name = "uniform"
    traits = Traits(shape_only=True, own_shuffle=True)

    def log_density(self, stimulus: Stimulus, group: str | None = None,
                    exclude_viewers: Collection[int] = ()) -> np.ndarray:
        return uniform_log_density(*stimulus.shape)


@register_baseline("gaussian", label="centre Gaussian (fixed)",
                   help=f"a fixed centre Gaussian, sigma = {CENTER_SIGMA_FRACTION} of each side (not fitted)")
class GaussianCenterPredictor(PredictorBase):
    """The fixed centre Gaussian of :func:`asdgaze.models.baselines.gaussian_center_log_density`. Its
    width follows each image's sides, so the mean of its predictions on other images is itself."""

    name = "gaussian"
    traits = Traits(shape_only=True, own_shuffle=True)

    def log_density(self, stimulus: Stimulus, group: str | None = None,
                    exclude_viewers: Collection[int] = ()) -> np.ndarray:
        return gaussian_center_log_density(*stimulus.shape)

    def describe(self) -> dict:
        return {"name": self.name, "sigma_fraction": CENTER_SIGMA_FRACTION}


@register_baseline("centerbias-mit1003", aliases=("mit1003",), label="centre bias (MIT1003 template)",
                   help="the published MIT1003 centre-bias template (weights cache), rescaled to each image")
class CenterBiasMIT1003Predictor(PredictorBase):
    """The published MIT1003 centre-bias template (``centerbias_mit1003.npy`` from the weights cache),
    rescaled to each image as DeepGaze IIE's example does (see :mod:`asdgaze.models.centerbias`).

    Raises WeightsError at construction when the template is not in the cache.
    """

    name = "centerbias-mit1003"
    traits = Traits(shape_only=True)

    def __init__(self) -> None:
        from asdgaze.models.centerbias import resolve_centerbias

        self.centerbias = resolve_centerbias("mit1003")  # WeightsError naming the cache path if absent

    def log_density(self, stimulus: Stimulus, group: str | None = None,
                    exclude_viewers: Collection[int] = ()) -> np.ndarray:
        return self.centerbias.log_density(*stimulus.shape)

    def describe(self) -> dict:
        return {"name": self.name, "template": self.centerbias.describe()}

"""The one predictor interface every scored model implements, and the predictors needing no fitting.

A predictor answers, for one stimulus (and, where it matters, one group of viewers with some viewers
left out), the log-density of the next fixation over the stimulus' pixels:

    log_density(stimulus, group=None, exclude_viewers=()) -> float64 (H, W), logsumexp == 0

Image-only models (DeepGaze IIE, a folder of maps, uniform, the MIT1003 template) ignore ``group``
and ``exclude_viewers``. Models fitted to fixations (``asdgaze.models.fitted``) use them: the
gold standard builds each viewer's density from the *other* viewers, so ``exclude_viewers`` names
the viewer ids (``Fixations.viewer`` of that image and group) whose fixations must not be used.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
from scipy.special import logsumexp

from asdgaze.data.types import Stimulus
from asdgaze.errors import MapError
from asdgaze.models.base import SaliencyModel

__all__ = ["Predictor", "normalise_log_density", "UniformPredictor", "CenterBiasMIT1003Predictor",
           "MapFolderPredictor", "ImageModelPredictor"]


@runtime_checkable
class Predictor(Protocol):
    """A model of where the next fixation lands on a stimulus; see the module docstring."""

    name: str

    def log_density(self, stimulus: Stimulus, group: str | None = None,
                    exclude_viewers: Collection[int] = ()) -> np.ndarray: ...

    def describe(self) -> dict: ...


def normalise_log_density(log_p: np.ndarray, shape: tuple[int, int], name: str) -> np.ndarray:
    """Check a log-density (finite, 2-D, ``shape``) and shift it to logsumexp 0, as float64.

    Raises MapError naming ``name`` (a file or model) and the problem.

    >>> float(np.exp(normalise_log_density(np.zeros((2, 2)), (2, 2), "m")).sum())
    1.0
    """
    a = np.asarray(log_p)
    if a.ndim != 2:
        raise MapError(f"{name}: expected a 2-D log-density, got shape {a.shape}")
    if a.shape != tuple(shape):
        raise MapError(f"{name}: map is {a.shape[0]}x{a.shape[1]}, the image is {shape[0]}x{shape[1]}")
    if a.dtype.kind not in "fiu":
        raise MapError(f"{name}: a log-density must be numeric, got {a.dtype}")
    a = a.astype(np.float64)
    if not np.all(np.isfinite(a)):
        raise MapError(f"{name}: the log-density contains NaN or infinity")
    return a - logsumexp(a)


class UniformPredictor:
    """Every pixel equally likely: ``-log(H W)`` everywhere."""

    name = "uniform"

    def log_density(self, stimulus: Stimulus, group: str | None = None,
                    exclude_viewers: Collection[int] = ()) -> np.ndarray:
        h, w = stimulus.shape
        return np.full((h, w), -np.log(float(h) * float(w)))

    def describe(self) -> dict:
        return {"name": self.name}


class CenterBiasMIT1003Predictor:
    """The published MIT1003 centre-bias template (``centerbias_mit1003.npy`` from the weights cache),
    rescaled to each image as DeepGaze IIE's example does (see :mod:`asdgaze.models.centerbias`).

    Raises WeightsError at construction when the template is not in the cache.
    """

    name = "centerbias-mit1003"

    def __init__(self) -> None:
        from asdgaze.models.centerbias import resolve_centerbias

        self.centerbias = resolve_centerbias("mit1003")  # WeightsError naming the cache path if absent

    def log_density(self, stimulus: Stimulus, group: str | None = None,
                    exclude_viewers: Collection[int] = ()) -> np.ndarray:
        return self.centerbias.log_density(*stimulus.shape)

    def describe(self) -> dict:
        return {"name": self.name, "template": self.centerbias.describe()}


class MapFolderPredictor:
    """A folder of precomputed log-densities, one ``<stem>.npy`` per image (natural log, any additive
    constant: it is removed). The map must have the image's size; a missing, unreadable, non-finite
    or wrongly sized map raises MapError naming the file.
    """

    def __init__(self, folder: str | os.PathLike, name: str | None = None) -> None:
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise MapError(f"{self.folder}: no such folder of maps")
        self.name = name or f"maps:{self.folder.name}"

    def path_for(self, stimulus: Stimulus) -> Path:
        return self.folder / f"{stimulus.id}.npy"

    def log_density(self, stimulus: Stimulus, group: str | None = None,
                    exclude_viewers: Collection[int] = ()) -> np.ndarray:
        p = self.path_for(stimulus)
        if not p.is_file():
            raise MapError(f"{p}: missing map for image {stimulus.id!r}")
        try:
            a = np.load(p, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise MapError(f"{p}: cannot read the map ({exc})") from exc
        return normalise_log_density(a, stimulus.shape, str(p))

    def describe(self) -> dict:
        return {"name": self.name, "folder": str(self.folder)}


class ImageModelPredictor:
    """Adapter from an image-in model (:class:`asdgaze.models.base.SaliencyModel`) to a Predictor:
    loads the stimulus' pixels and asks the model."""

    def __init__(self, model: SaliencyModel) -> None:
        self.model = model
        self.name = model.name

    def log_density(self, stimulus: Stimulus, group: str | None = None,
                    exclude_viewers: Collection[int] = ()) -> np.ndarray:
        from asdgaze.data.images import load_image

        out = self.model.log_density(load_image(stimulus.path))
        return normalise_log_density(out, stimulus.shape, f"{self.name} on {stimulus.path}")

    def describe(self) -> dict:
        return {"name": self.name}

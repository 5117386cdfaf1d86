"""The one interface of every scored thing, and the facts declared on it.

A :class:`Predictor` answers, for one stimulus (and, where it matters, one group of viewers with some
viewers left out), where the next fixation lands:

    log_density(stimulus, group=None, exclude_viewers=()) -> float64 (H, W), logsumexp == 0
                                                            (or a checked LogDensity)
    saliency_map(stimulus, group=None, density=None) -> float64 map the MIT metrics score

Folders and HDF5 files of maps (:mod:`asdgaze.models.maps`), DeepGaze IIE's maps, uniform, the centre
biases, the gold standard and the other group (:mod:`asdgaze.models.fitted`) are all predictors. What a
reader must know about one is declared on it as :class:`Traits`, never decided from its name: evaluate,
compare and the report read the traits.

An image-in model (:class:`SaliencyModel`: pixels in, log-density out; DeepGaze IIE's wrapper) becomes a
predictor through :class:`asdgaze.models.image.ImageModelPredictor`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from asdgaze.data.types import Stimulus

__all__ = ["Traits", "Predictor", "PredictorBase", "SaliencyModel", "checked_prediction"]


@dataclass(frozen=True)
class Traits:
    """What every reader of a scored model must know about it.

    group_dependent: its prediction depends on the group scored (it is fitted to that group's own
        fixations): it is scored per group, and relabelling scanpaths would change the prediction
        itself, so the group comparison runs no permutation test on it.
    shape_only: its prediction depends on the image's size alone (uniform): computed once per size,
        and its metric values are known in closed form where they exist.
    own_shuffle: it is its own shuffled density (sAUC's p_shuffled, the mean of its predictions on the
        other images): uniform, and the fitted centre bias, which already is that mean.
    ceiling: a noise ceiling (the gold standard): "% of ceiling", rankings and the report read it.
    leaves_viewers_out: scored per viewer against its prediction built without that viewer.
    density: it gives log-densities (the probabilistic convention); False: a saliency map only.
    """

    group_dependent: bool = False
    shape_only: bool = False
    own_shuffle: bool = False
    ceiling: bool = False
    leaves_viewers_out: bool = False
    density: bool = True

    def describe(self) -> dict:
        return asdict(self)


@runtime_checkable
class Predictor(Protocol):
    """A model of where the next fixation lands on a stimulus; see the module docstring."""

    name: str
    traits: Traits

    def log_density(self, stimulus: Stimulus, group: str | None = None,
                    exclude_viewers: Collection[int] = ()) -> np.ndarray: ...

    def saliency_map(self, stimulus: Stimulus, group: str | None = None,
                     density: Callable[[], np.ndarray] | None = None) -> np.ndarray: ...

    def describe(self) -> dict: ...

    def covers(self, stem: str) -> bool: ...

    def where(self, stimulus: Stimulus) -> str: ...


class PredictorBase:
    """Default parts of a density predictor: its saliency map is its density divided by the maximum.

    The MIT metrics are invariant to that positive scale except AUC-Judd's 1e-7 jitter, which acts on
    the map's own scale and would reorder the pixels of a raw density (values near 1e-6).
    """

    name: str = ""
    traits: Traits = Traits()
    #: What the MIT convention scores of it (the rows' ``saliency_map`` column).
    mit_map_scored: str = "exp(log p) scaled to max 1 (float64)"

    @classmethod
    def fit(cls, context=None) -> "PredictorBase":
        """The predictor for a dataset (:class:`asdgaze.models.registry.FitContext`); one that needs no
        fitting is made as it is."""
        return cls()

    def covers(self, stem: str) -> bool:
        """Whether it predicts image ``stem`` (a folder of maps may lack some)."""
        return True

    def notes(self) -> list[str]:
        """What every user of its scores must know about how it was made (a fit that fell back to uniform)."""
        return []

    def where(self, stimulus: Stimulus) -> str:
        """What messages about its prediction on ``stimulus`` name (a file, or the model)."""
        return self.name

    def log_density(self, stimulus: Stimulus, group: str | None = None,
                    exclude_viewers: Collection[int] = ()) -> np.ndarray:
        raise NotImplementedError

    def prediction(self, stimulus: Stimulus, group: str | None = None):
        """Its log-density as the checked :class:`~asdgaze.predictions.LogDensity` evaluate scores (a
        predictor whose densities are normalised by construction may check them more cheaply)."""
        from asdgaze.predictions import checked_log_density

        return checked_log_density(self.log_density(stimulus, group))

    def saliency_map(self, stimulus: Stimulus, group: str | None = None,
                     density: Callable[[], np.ndarray] | None = None) -> np.ndarray:
        """``density``: the log-density of this stimulus and group if the caller already has it."""
        log_p = density() if density is not None else np.asarray(self.log_density(stimulus, group))
        return np.exp(log_p - log_p.max())

    def describe(self) -> dict:
        return {"name": self.name}


def checked_prediction(predictor: Predictor, stimulus: Stimulus, group: str | None):
    """``predictor``'s log-density on ``stimulus`` for ``group`` as a checked LogDensity: its own
    ``prediction`` where it has one, else its ``log_density`` checked."""
    own = getattr(predictor, "prediction", None)
    if own is not None:
        return own(stimulus, group)
    from asdgaze.predictions import checked_log_density

    return checked_log_density(predictor.log_density(stimulus, group))


@runtime_checkable
class SaliencyModel(Protocol):
    """An image-in model of where people look.

    ``log_density(image)`` takes an RGB image (H, W, 3) uint8 and returns a float64 (H, W) array
    of natural-log probabilities over pixels: ``logsumexp(result) == 0``.
    """

    name: str

    def log_density(self, image: np.ndarray) -> np.ndarray: ...

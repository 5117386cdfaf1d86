"""A predictor as one evaluate run scores it: its predictions made once per image (and per size).

:class:`Scored` wraps any :class:`~asdgaze.models.base.Predictor` and reads only its traits: a density is
computed once per image (and group, where it depends on it) and shared by both conventions and the
information-gain baseline; a shape-only one (uniform) once per image size for the whole worker process,
in the :class:`WorkerCache` of that process.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from asdgaze.data.types import Stimulus
from asdgaze.models.base import Traits, checked_prediction
from asdgaze.predictions import LogDensity

__all__ = ["Scored", "WorkerCache", "ImageCache"]


@dataclass
class WorkerCache:
    """What one worker process keeps across images: predictions and derived maps that depend on the
    image's size only (shape-only models, shape-only priors). Made per process, never shared."""

    items: dict = field(default_factory=dict)

    def get(self, key: tuple, make):
        if key not in self.items:
            self.items[key] = make()
        return self.items[key]


@dataclass
class ImageCache(WorkerCache):
    """One image's predictions, shared by the models' conventions and the information-gain baseline;
    ``worker`` is the process's cache for what outlives the image."""

    worker: WorkerCache = field(default_factory=WorkerCache)


@dataclass
class Scored:
    """One scored model: a name and a predictor (``predictor.traits`` say how it is scored)."""

    name: str
    predictor: Any

    @property
    def traits(self) -> Traits:
        return self.predictor.traits

    def describe(self) -> dict[str, Any]:
        d = self.predictor.describe()
        kind = d.get("kind", "baseline")
        return {"kind": kind, **d, "name": self.name, "traits": self.traits.describe()}

    def prob_map(self, described: str) -> str:
        """The rows' ``saliency_map`` of a probabilistic metric: what the metric scored, after what the
        density itself is where the predictor says (``prob_map_note``: "converted from a saliency map")."""
        note = getattr(self.predictor, "prob_map_note", "")
        return f"{note}; {described}" if note else described

    def key(self, group: str | None) -> tuple:
        """Its key in an image's cache: the predictor, and the group where its prediction depends on it."""
        return (id(self.predictor), group if self.traits.group_dependent else None)

    def density(self, stim: Stimulus, group: str, cache: ImageCache | None = None) -> LogDensity:
        """The model's log-density on ``stim`` for ``group`` (MapError for an unusable map)."""
        make = (lambda: self._density(stim, group))
        if cache is None:
            return make()
        if self.traits.shape_only:  # the same density on every image of this size
            return cache.worker.get(("shape", id(self.predictor), stim.shape), make)
        return cache.get(("density",) + self.key(group), make)

    def _density(self, stim: Stimulus, group: str) -> LogDensity:
        return checked_prediction(self.predictor, stim, group)

    def saliency(self, stim: Stimulus, group: str, cache: ImageCache) -> tuple[np.ndarray, list[list[str]]]:
        """The map the MIT metrics score and the notes its reading gave ([kind, text]), made once per image
        (and group where it depends on it; once per size for a shape-only model).

        A density predictor's map is its cached density divided by the maximum; one that reads files
        gives the map as the MIT code reads it (its own size, its own warnings)."""
        from asdgaze.maps.io import MapScaleWarning

        def make() -> tuple[np.ndarray, list[list[str]]]:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                sal = self.predictor.saliency_map(stim, group, density=lambda: self.density(stim, group, cache).values)
            return sal, [["scale" if issubclass(c.category, MapScaleWarning) else "map", str(c.message)]
                         for c in caught]

        if self.traits.shape_only:
            return cache.worker.get(("saliency", id(self.predictor), stim.shape), make)
        return cache.get(("saliency",) + self.key(group), make)

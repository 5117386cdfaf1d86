"""One vocabulary for priors: the names ``--centerbias``, ``--ig-baseline``, ``--prob-ig-baseline`` and
``--baselines`` share, resolved in one place.

Names: ``uniform``, ``gaussian`` (the fixed centre Gaussian, sigma 1/4 of each side), ``mit1003`` (the
published MIT1003 template from the weights cache; ``centerbias-mit1003`` is the same template),
``centerbias`` (fitted to each group's fixations on the other images) and ``other-group`` (the other
group's density), or a file: a ``.npy`` log-density (finite, logsumexp 0 within
:data:`asdgaze.predictions.LOGSUMEXP_TOL`) or, as the MIT information-gain baseline only, a ``.png``
saliency map or a ``.npy`` saliency map (``--ig-baseline-kind saliency``). A prior fitted to fixations
(``centerbias``, ``other-group``) cannot be DeepGaze IIE's ``--centerbias`` (predict has no fixations),
and the gold standard is the ceiling, never a prior.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from asdgaze.data.types import Dataset, Stimulus
from asdgaze.errors import AsdgazeError, MapError, OptionsError

from asdgaze.models.prior_names import FITTED, FIXED, canonical

__all__ = ["FIXED", "FITTED", "canonical", "Prior", "resolve_prior"]

@dataclass
class Prior:
    """A resolved prior: the MIT information-gain baseline map and the probabilistic one's log-density.

    ``option`` is the value as given (written in every row's ``baseline`` column); ``info`` describes
    it for the manifest (kind, file path and sha256, fitted values)."""

    option: str
    kind: str
    info: dict[str, Any]
    predictor: Any = None  # a baseline predictor (log_density(stimulus, group))
    template: np.ndarray | None = field(default=None, repr=False)  # a .npy log-density file's array
    mit_template: np.ndarray | None = field(default=None, repr=False)  # a file's MIT map, at its own size
    mit_scaled: bool = True  # the MIT map of a predictor: its density scaled to max 1 (else the density)

    @property
    def group_dependent(self) -> bool:
        return bool(self.predictor is not None and self.predictor.traits.group_dependent)

    @property
    def shape_only(self) -> bool:
        """Depends on the image's size alone (a fixed prior or a file): made once per size."""
        return self.predictor is None or bool(self.predictor.traits.shape_only)

    def cache_key(self, group: str) -> tuple:
        """The key of its log-density in an image's cache: a baseline predictor's is the one its scored
        model uses, so the two share one computation."""
        if self.predictor is None:
            return ("prior", None)
        return ("density", id(self.predictor), group if self.group_dependent else None)

    def mit_map(self, stimulus: Stimulus, group: str) -> np.ndarray:
        """The MIT information-gain baseline map (float64; a template file at its own size: the metric
        resizes it as MIT's ``InfoGain.m`` does)."""
        if self.mit_template is not None:
            return self.mit_template
        if self.mit_scaled:
            return self.predictor.saliency_map(stimulus, group)
        return np.exp(self.predictor.log_density(stimulus, group))

    def log_density(self, stimulus: Stimulus, group: str):
        """The probabilistic information gain's baseline on ``stimulus`` as a LogDensity."""
        from asdgaze.models.base import checked_prediction
        from asdgaze.predictions import LogDensity, resize_density

        if self.predictor is not None:
            return checked_prediction(self.predictor, stimulus, group)
        d = np.exp(self.template - self.template.max())
        d = resize_density(d / d.sum(), stimulus.shape)
        return LogDensity.normalized(np.log(np.maximum(d, np.finfo(float).tiny)))


def _fixed_predictor(kind: str):
    from asdgaze.models.simple import CenterBiasMIT1003Predictor, GaussianCenterPredictor, UniformPredictor

    return {"uniform": UniformPredictor, "gaussian": GaussianCenterPredictor,
            "mit1003": CenterBiasMIT1003Predictor}[kind]()


def resolve_prior(option: str, flag: str, *, dataset: Dataset | None = None, groups: tuple[str, ...] = (),
                  fitted: dict[str, Any] | None = None, file_kind: str = "log-density",
                  fixed_only: bool = False) -> Prior:
    """Resolve ``option`` (see the module docstring) for the command-line option ``flag``, before any work.

    fitted: baselines already fitted (by name), reused rather than fitted again. fixed_only: refuse the
    priors fitted to fixations (DeepGaze IIE's ``--centerbias``). file_kind: what a ``.npy`` file holds
    ("saliency" only for the MIT information gain). Raises OptionsError naming ``flag`` and the problem.
    """
    from asdgaze.models import registry

    kind = canonical(option)
    traits = registry.traits_of(str(option))
    if traits is not None and traits.ceiling:
        raise OptionsError(f"{flag}: {option} is the noise ceiling, not a baseline")
    if kind in FITTED:
        if fixed_only:
            raise OptionsError(f"{flag} {option}: fitted to the fixations, which {flag} has none of; use one of "
                               f"{', '.join(FIXED)} or a .npy log-density file")
        if dataset is None:
            raise OptionsError(f"{flag} {option}: needs the dataset it is fitted to")
        pred = (fitted or {}).get(kind) or registry.fit(dataset, (kind,), groups)[kind]
        return Prior(str(option), kind, {"kind": kind, **pred.describe()}, predictor=pred)
    if kind in FIXED:
        try:
            pred = (fitted or {}).get(registry.baseline(kind).name) or _fixed_predictor(kind)
        except (AsdgazeError, OSError, ValueError, ImportError) as e:  # ImportError: locating the cache needs torch
            raise OptionsError(f"{flag} {option}: {str(e).replace('--centerbias', flag)}") from e
        if kind == "mit1003":  # the template's density scaled to max 1, as before
            info = {**pred.centerbias.describe(), "path": str(Path(pred.centerbias.path).resolve()),
                    "content": "log-density, rescaled to each image"}
            return Prior(str(option), kind, info, predictor=pred)
        # the fixed priors' MIT map is their density itself (min-max scaled by the metric)
        return Prior(str(option), kind, {"kind": kind}, predictor=pred, mit_scaled=False)
    return _file_prior(str(option), flag, file_kind)


def _file_prior(option: str, flag: str, file_kind: str) -> Prior:
    from asdgaze.io import sha256_file
    from asdgaze.maps.io import MapScaleWarning, load_map
    from asdgaze.models.centerbias import load_template

    path = Path(option).expanduser()
    names = ", ".join(FIXED + FITTED)
    if not path.is_file():
        raise OptionsError(f"{flag}: {option!r} is neither one of {names} nor an existing file")
    kind = "saliency" if path.suffix.lower() == ".png" else file_kind
    if kind == "saliency" and flag != "--ig-baseline":
        raise OptionsError(f"{flag}: {option!r} must be a .npy log-density file (a saliency map has no "
                           "probabilities)")
    if path.suffix.lower() not in (".npy", ".png"):
        raise OptionsError(f"{flag}: {option!r} is neither one of {names} nor a .npy (or, for --ig-baseline, "
                           ".png) file")
    sha = None
    template = None
    if kind == "log-density":  # the centre-bias loader's checks: a saliency array is not a log-density
        try:
            template, sha = load_template(path.resolve())
        except MapError as e:
            raise OptionsError(f"{flag}: {e}") from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MapScaleWarning)
            mit_map = load_map(path, kind)
    except MapError as e:
        raise OptionsError(f"{flag}: {e}") from e
    content = (kind if flag == "--ig-baseline"
               else "log-density, resampled bilinearly to each image and renormalised")
    info = {"kind": "file", "path": str(path.resolve()), "content": content, "sha256": sha or sha256_file(path)}
    return Prior(option, "file", info, template=None if template is None else np.asarray(template, np.float64),
                 mit_template=mit_map)

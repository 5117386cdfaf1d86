"""How each probabilistic (pysaliency) metric is scored from the inputs :func:`score_probabilistic` prepares.

The registry (:mod:`asdgaze.metrics.registry`) names one of these functions per probabilistic metric, as
it does for the MIT ones (:mod:`asdgaze.metrics.mit_scorers`), so
:func:`asdgaze.metrics.prob_scoring.score_probabilistic` dispatches by registry entry. Each takes the
per-(image, group) :class:`ProbInputs` and returns ``(value, per-fixation values or None)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from asdgaze.metrics import probabilistic as P
from asdgaze.metrics._checks import real_map, same_shape
from asdgaze.metrics.ranks import BinnedValues

__all__ = ["ProbInputs", "ProbScorer"]


@dataclass
class ProbInputs:
    """What the probabilistic scorers of one group on one image share.

    logp: the model's log-density; xs, ys: the group's fixations (0-based, duplicates kept); empirical:
    the empirical map (CC, KL, SIM); baseline: the IG baseline's log-density values (None: uniform);
    other_xs, other_ys: sAUC's negatives; shuffled: log p_shuffled (metric-specific sAUC); specific: the
    metric-specific mode (else every metric on p); blur: the empirical map's Gaussian; blurred: that blur
    of p if already made. ``derived`` / ``empirical_derived``: maps derived from the prediction and from
    the empirical map, kept by the caller so another group (or model) reuses them.
    """

    prediction: object  # LogDensity
    xs: object
    ys: object
    empirical: np.ndarray | None
    baseline: np.ndarray | None
    other_xs: object | None
    other_ys: object | None
    shuffled: np.ndarray | None
    specific: bool
    blur: object
    blurred: np.ndarray | None = None
    derived: dict = field(default_factory=dict)
    empirical_derived: dict = field(default_factory=dict)

    @property
    def logp(self) -> np.ndarray:
        return self.prediction.values

    def get(self, d: dict, key: str, make: Callable[[], object]):
        if key not in d:
            d[key] = make()
        return d[key]

    @property
    def p(self) -> np.ndarray:
        """exp(log p): finite, float64 and 2-D by construction (a LogDensity has no NaN or +inf)."""
        return self.get(self.derived, "p", self.prediction.density)

    def score_map(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(the map CC/KL/SIM score, the empirical map), both checked and of one shape."""
        if self.empirical is None:
            raise ValueError(f"{name} needs the empirical map (empirical=)")
        if self.specific:
            smap = self.get(self.derived, "smap",
                            lambda: P.gaussian_blur(self.p, self.blur.sigma, self.blur.mode) if self.blurred is None
                            else np.asarray(self.blurred, float))
        else:
            smap = self.p
        a = self.get(self.derived, "smap_checked", lambda: real_map(smap, "saliency"))
        b = self.get(self.empirical_derived, "checked", lambda: real_map(self.empirical, "empirical"))
        same_shape(a, b, "saliency", "empirical")
        return a, b


ProbScorer = Callable[[ProbInputs, str], tuple[float, "np.ndarray | None"]]


def _mean(per_fix: np.ndarray) -> tuple[float, np.ndarray]:
    return (float(per_fix.mean()) if per_fix.size else math.nan), per_fix


def ll(i: ProbInputs, m: str):
    return _mean(P.log_likelihoods(i.logp, i.xs, i.ys))


def ig(i: ProbInputs, m: str):
    return _mean(P.information_gains(i.logp, i.baseline, i.xs, i.ys))


def auc(i: ProbInputs, m: str):
    p = i.p
    if i.get(i.derived, "constant", lambda: P.is_constant(p)):
        # every pixel ties with every fixation: (0 + 0.5 HW) / HW = 0.5 exactly, without ranking the map
        r, _ = P.fixation_indices(p.shape, i.xs, i.ys)
        return _mean(np.full(r.size, 0.5))
    binned = i.get(i.derived, "binned", lambda: BinnedValues.of(p))  # the map's part, for every group
    return _mean(P.auc_per_fixation(p, i.xs, i.ys, checked=True, binned=binned, constant=False))


def nss(i: ProbInputs, m: str):
    p = i.p
    return _mean(P.nss_per_fixation(p, i.xs, i.ys, moments=i.get(i.derived, "moments", lambda: P.map_moments(p)),
                                    checked=True))


def sauc(i: ProbInputs, m: str):
    if i.other_xs is None or i.other_ys is None:
        raise ValueError("sauc needs the other images' fixations (other_xs, other_ys)")
    if i.specific:
        if i.shuffled is None:
            raise ValueError("sauc in metric-specific mode needs the shuffled log-density (shuffled=)")
        a, b = i.logp, np.asarray(i.shuffled, dtype=float)
        bounded = (a.shape == b.shape and i.get(i.derived, "logp_bounded", lambda: P.is_bounded(a))
                   and (b is a or P.is_bounded(b)))  # a model that is its own shuffle: b is log p itself
        return _mean(P.sauc_per_fixation_of_difference(a, b, i.xs, i.ys, i.other_xs, i.other_ys, bounded))
    return _mean(P.sauc_per_fixation(i.p, i.xs, i.ys, i.other_xs, i.other_ys))


def cc(i: ProbInputs, m: str):
    a, b = i.score_map(m)
    return P.cc_centered(i.get(i.derived, "smap_centered", lambda: P.centered(a)),
                         i.get(i.empirical_derived, "centered", lambda: P.centered(b))), None


def _density_pair(i: ProbInputs, m: str):
    a, b = i.score_map(m)
    if not i.get(i.empirical_derived, "has_mass", lambda: P.has_mass(b)):
        return None  # no fixations: as P.kl_div and P.sim
    return (i.get(i.derived, "smap_density", lambda: P.to_density(a)),
            i.get(i.empirical_derived, "density", lambda: P.to_density(b)))


def kl(i: ProbInputs, m: str):
    pair = _density_pair(i, m)
    return (math.nan if pair is None else P.kl_densities(*pair)), None


def sim(i: ProbInputs, m: str):
    pair = _density_pair(i, m)
    return (math.nan if pair is None else P.sim_densities(*pair)), None

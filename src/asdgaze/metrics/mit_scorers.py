"""How each MIT-convention metric is scored from the inputs :func:`score_mit` prepares once.

The registry (:mod:`asdgaze.metrics.registry`) names one of these functions per MIT metric, so
:func:`asdgaze.metrics.suite.score_mit` dispatches by registry entry, not by an ``if`` chain.
Each function takes the per-(image, group) :class:`MitInputs` and the metric's name (which keys
its random stream) and returns the value; each equals the single-metric public function.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from asdgaze.metrics import auc as _auc
from asdgaze.metrics import distribution as _dist
from asdgaze.metrics import location as _loc
from asdgaze.metrics import transport as _emd
from asdgaze.metrics._checks import bool_map
from asdgaze.metrics._prepared import PreparedDensity, PreparedSaliency
from asdgaze.metrics.streams import metric_rng

__all__ = ["MitInputs", "MitScorer"]


@dataclass
class MitInputs:
    """What the MIT scorers of one group on one image share.

    prep: the prepared saliency map at the target's shape. fix: flat indices of fixated pixels.
    size: pixels of the target map. density: the checked continuous map, prepared (None if no metric
    asked needs it). other_map: the target's other-images map (unchecked; sAUC checks it).
    baseline: the prepared baseline at this shape, built on first use (None if not asked).
    target: parts derived from the target alone (sAUC's candidates), kept by the caller for every map
    scored against the same target.
    """

    prep: PreparedSaliency
    fix: np.ndarray
    shape: tuple[int, int]
    group: str
    density: PreparedDensity | None
    other_map: np.ndarray | None
    baseline: Callable[[], PreparedSaliency] | None
    seed: int
    image_id: object
    n_splits: int
    step: float
    emd_downsize: int
    target: dict = field(default_factory=dict)

    def rng(self, metric: str) -> np.random.Generator:
        return metric_rng(self.seed, self.image_id, self.group, metric)


MitScorer = Callable[[MitInputs, str], float]


def auc_judd(i: MitInputs, m: str) -> float:
    return _auc._judd(i.prep, i.fix, True, i.rng(m))


def auc_borji(i: MitInputs, m: str) -> float:
    if i.fix.size <= 1 or i.prep.normalized is None:  # undefined (as _borji): no draws for nothing
        return math.nan
    draws = _auc.borji_draws(i.fix.size, i.shape[0] * i.shape[1], i.n_splits, i.rng(m))
    return _auc._borji(i.prep, i.fix, draws, i.step)


def auc_shuffled(i: MitInputs, m: str) -> float:
    if i.other_map is None:
        raise ValueError(f"targets[{i.group!r}].other_map is None but {m!r} was requested")
    cand = i.target.get("other_candidates")
    if cand is None:
        o = bool_map(i.other_map, f"targets[{i.group!r}].other_map", i.shape)
        cand = i.target["other_candidates"] = _auc.other_candidates(o)
    if i.fix.size == 0 or cand.size == 0 or i.prep.normalized is None:  # undefined (as _shuffled)
        return math.nan
    perms = _auc.shuffle_permutations(cand.size, min(i.fix.size, cand.size), i.n_splits, i.rng(m))
    return _auc._shuffled(i.prep, i.fix, cand, perms, i.step)


def nss(i: MitInputs, m: str) -> float:
    return _loc._nss(i.prep, i.fix)


def cc(i: MitInputs, m: str) -> float:
    return _dist._cc(i.prep, i.density)


def kl(i: MitInputs, m: str) -> float:
    return _dist._kl(i.prep, i.density)


def sim(i: MitInputs, m: str) -> float:
    return _dist._sim(i.prep, i.density)


def ig(i: MitInputs, m: str) -> float:
    return _loc._info_gain(i.prep, i.baseline(), i.fix)


def emd(i: MitInputs, m: str) -> float:
    return _emd._emd(i.prep, i.density.emd_downscaled(i.emd_downsize))

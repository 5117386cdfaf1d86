"""Saliency metrics. The MIT Saliency Benchmark convention (cvzoya/saliency, code_forMetrics).

One pure function per metric; :func:`asdgaze.metrics.suite.score_mit` computes all of them at
once for several groups, sharing work. Definitions: ``docs/specs/metrics.md`` section 3;
Bylinskii et al., "What do different evaluation metrics tell us about saliency models?",
IEEE TPAMI 41(3), 2019.
"""

from __future__ import annotations

from asdgaze.metrics.auc import auc_borji, auc_judd, auc_shuffled, matlab_to_flat, other_candidates
from asdgaze.metrics.distribution import cc, kl_div, sim
from asdgaze.metrics.transport import emd
from asdgaze.metrics.location import info_gain, nss
from asdgaze.metrics.streams import metric_rng
from asdgaze.metrics.suite import MIT_METRICS, Target, score_mit
# The probabilistic (pysaliency) convention: a module of its own, since its metric names repeat
# the MIT ones with other definitions; the registry declares both.
from asdgaze.metrics import probabilistic, registry
from asdgaze.metrics.prob_scoring import (
    PROB_METRICS,
    Blur,
    ProbScore,
    ShuffledBaseline,
    map_descriptions,
    score_probabilistic,
    shuffled_negatives,
)

__all__ = [
    "auc_judd",
    "auc_borji",
    "auc_shuffled",
    "nss",
    "cc",
    "kl_div",
    "sim",
    "info_gain",
    "emd",
    "matlab_to_flat",
    "other_candidates",
    "metric_rng",
    "MIT_METRICS",
    "Target",
    "score_mit",
    "probabilistic",
    "registry",
    "PROB_METRICS",
    "Blur",
    "ProbScore",
    "ShuffledBaseline",
    "score_probabilistic",
    "map_descriptions",
    "shuffled_negatives",
]

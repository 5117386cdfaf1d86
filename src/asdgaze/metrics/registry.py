"""Every metric of both conventions, declared once: what it is called, measures and needs.

Conventions: ``"mit"`` (MIT Saliency Benchmark code, :mod:`asdgaze.metrics.suite`) and
``"probabilistic"`` (pysaliency, :mod:`asdgaze.metrics.probabilistic`). Names are unique within
a convention; the same name in both (``nss``, ``cc``, ...) is a different definition
(metrics.md section 5), so a lookup always names the convention.

Needs (what the caller must supply):

- ``fixations``: the fixation coordinates (duplicates kept);
- ``binary_map``: the binary fixation map (duplicates collapse);
- ``continuous_map``: the empirical / continuous fixation map;
- ``baseline``: a baseline map (MIT IG) or baseline log-density (probabilistic IG; uniform if none);
- ``other_fixations``: other images' fixations (sAUC negatives);
- ``log_density``: the prediction must be a log-density (a saliency map cannot give it);
- ``saliency``: any saliency map will do (a log-density is scored as its density).

An MIT metric also names its ``scorer`` (:mod:`asdgaze.metrics.mit_scorers`):
:func:`asdgaze.metrics.suite.score_mit` scores exactly the MIT entries of :data:`METRICS`, with
their scorers, so adding an MIT metric is one entry here (plus its scorer function).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from asdgaze.metrics import mit_scorers as _mit
from asdgaze.metrics.mit_scorers import MitScorer

__all__ = ["MetricSpec", "METRICS", "CONVENTIONS", "NEEDS", "get", "metrics_for"]

Convention = Literal["mit", "probabilistic"]
CONVENTIONS: tuple[str, ...] = ("mit", "probabilistic")
NEEDS: frozenset[str] = frozenset(
    {"fixations", "binary_map", "continuous_map", "baseline", "other_fixations", "log_density", "saliency"}
)


@dataclass(frozen=True)
class MetricSpec:
    name: str
    convention: str
    label: str
    unit: str
    higher_is_better: bool
    needs: frozenset[str]
    per_fixation: bool  # an average over fixations whose per-fixation values can be re-averaged
    scorer: MitScorer | None = None  # MIT: scores it in score_mit; probabilistic: None (prob_scoring)

    @property
    def direction(self) -> str:
        return "higher is better" if self.higher_is_better else "lower is better"


def _m(name: str, conv: str, label: str, unit: str, hib: bool, needs: str, per_fix: bool = False,
       scorer: MitScorer | None = None) -> MetricSpec:
    return MetricSpec(name, conv, label, unit, hib, frozenset(needs.split()), per_fix, scorer)


# Order within a convention is the reporting order (and metrics.suite.MIT_METRICS is derived
# from the MIT entries). MIT labels follow report.tables.METRIC_INFO.
METRICS: tuple[MetricSpec, ...] = (
    _m("auc_judd", "mit", "AUC-Judd", "AUC", True, "binary_map saliency", scorer=_mit.auc_judd),
    _m("auc_borji", "mit", "AUC-Borji", "AUC", True, "binary_map saliency", scorer=_mit.auc_borji),
    _m("auc_shuffled", "mit", "shuffled AUC", "AUC", True, "binary_map other_fixations saliency", scorer=_mit.auc_shuffled),
    _m("nss", "mit", "NSS", "standard deviations", True, "binary_map saliency", scorer=_mit.nss),
    _m("cc", "mit", "CC", "correlation", True, "continuous_map saliency", scorer=_mit.cc),
    _m("kl", "mit", "KL divergence (nats)", "nats", False, "continuous_map saliency", scorer=_mit.kl),
    _m("sim", "mit", "SIM", "histogram intersection", True, "continuous_map saliency", scorer=_mit.sim),
    _m("ig", "mit", "information gain (bits)", "bits per fixated pixel", True, "binary_map baseline saliency", scorer=_mit.ig),
    _m("emd", "mit", "EMD (1/32 cells)", "1/32 cells", False, "continuous_map saliency", scorer=_mit.emd),
    _m("ll", "probabilistic", "log-likelihood (nats/fixation)", "nats per fixation", True,
       "fixations log_density", True),
    _m("ig", "probabilistic", "information gain (bits/fixation)", "bits per fixation", True,
       "fixations baseline log_density", True),
    _m("auc", "probabilistic", "AUC (all pixels)", "AUC", True, "fixations saliency", True),
    _m("sauc", "probabilistic", "shuffled AUC", "AUC", True, "fixations other_fixations saliency", True),
    _m("nss", "probabilistic", "NSS", "standard deviations", True, "fixations saliency", True),
    _m("cc", "probabilistic", "CC", "correlation", True, "continuous_map saliency"),
    _m("kl", "probabilistic", "KL divergence (nats)", "nats", False, "continuous_map saliency"),
    _m("sim", "probabilistic", "SIM", "histogram intersection", True, "continuous_map saliency"),
)

_BY_KEY = {(m.convention, m.name): m for m in METRICS}


def get(name: str, convention: str) -> MetricSpec:
    """The metric ``name`` of ``convention``; KeyError naming the known ones otherwise.

    Example:
        >>> get("kl", "mit").higher_is_better, get("ig", "probabilistic").unit
        (False, 'bits per fixation')
    """
    if convention not in CONVENTIONS:
        raise KeyError(f"unknown convention {convention!r}; expected one of {', '.join(CONVENTIONS)}")
    try:
        return _BY_KEY[(convention, name)]
    except KeyError:
        known = ", ".join(m.name for m in metrics_for(convention))
        raise KeyError(f"unknown {convention} metric {name!r}; expected one of {known}") from None


def metrics_for(convention: str) -> tuple[MetricSpec, ...]:
    """All metrics of a convention, in reporting order.

    Example:
        >>> [m.name for m in metrics_for("probabilistic")]
        ['ll', 'ig', 'auc', 'sauc', 'nss', 'cc', 'kl', 'sim']
    """
    if convention not in CONVENTIONS:
        raise KeyError(f"unknown convention {convention!r}; expected one of {', '.join(CONVENTIONS)}")
    return tuple(m for m in METRICS if m.convention == convention)

"""Every metric of both conventions, declared once: what it is called, measures, needs and how it is scored.

Conventions: ``"mit"`` (MIT Saliency Benchmark code, :mod:`asdgaze.metrics.suite`) and
``"probabilistic"`` (pysaliency, :mod:`asdgaze.metrics.prob_scoring`). Names are unique within
a convention; the same name in both (``nss``, ``cc``, ...) is a different definition
(metrics.md section 5), so a lookup always names the convention.

Each entry names its ``scorer`` (:mod:`asdgaze.metrics.mit_scorers`, :mod:`asdgaze.metrics.prob_scorers`):
both conventions dispatch by registry entry, so adding a metric is one entry here (plus its scorer
function). Evaluate, the group comparison and the report read the facts declared here: direction
(``higher_is_better``), ``per_fixation`` (evaluate writes its per-fixation values), ``permutable`` (it is an
average over fixations, so re-averaging per-fixation values with scanpaths' group labels shuffled within
each image is the permutation null, where such values are given; ``not_permuted`` says why not where it
is not), and for the probabilistic convention which map each mode scores (``maps``).

Needs (what the caller must supply):

- ``fixations``: the fixation coordinates (duplicates kept);
- ``binary_map``: the binary fixation map (duplicates collapse);
- ``continuous_map``: the empirical / continuous fixation map;
- ``baseline``: a baseline map (MIT IG) or baseline log-density (probabilistic IG; uniform if none);
- ``other_fixations``: other images' fixations (sAUC negatives);
- ``log_density``: the prediction must be a log-density (a saliency map cannot give it);
- ``saliency``: any saliency map will do (a log-density is scored as its density).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Literal

from asdgaze.metrics import mit_scorers as _mit
from asdgaze.metrics import prob_scorers as _prob

__all__ = ["MetricSpec", "CONVENTIONS", "NEEDS", "get", "find", "metrics_for", "all_metrics", "defaults",
           "register_metric", "unregister_metric", "lower_is_better"]

Convention = Literal["mit", "probabilistic"]
CONVENTIONS: tuple[str, ...] = ("mit", "probabilistic")
NEEDS: frozenset[str] = frozenset(
    {"fixations", "binary_map", "continuous_map", "baseline", "other_fixations", "log_density", "saliency"}
)
#: Why a metric of each kind is not permuted (compare's notes and the report read these).
MAP_METRIC = "a map metric: rebuilding both groups' maps per permutation is not done"
MIT_NO_VALUES = "the MIT convention writes no per-fixation values"
#: Why the ceiling skips a probabilistic metric other than LL and IG.
PROB_CEILING = ("the gold standard's density is rebuilt without each viewer; its per-viewer densities are scored "
                "on the log-likelihood and information gain only")


@dataclass(frozen=True)
class MetricSpec:
    """One metric. ``maps``: for the probabilistic convention, which map each mode ("metric-specific",
    "density") scores, given the empirical map's blur description (None: the map is p, or log p for
    metrics that need a log-density)."""

    name: str
    convention: str
    label: str
    unit: str
    higher_is_better: bool
    needs: frozenset[str]
    per_fixation: bool  # an average over fixations whose per-fixation values are written
    scorer: Callable | None = None
    permutable: bool = False
    not_permuted: str = ""  # why the permutation test skips it ("" where permutable)
    default: bool = True  # scored when no --metrics is given
    maps: Callable[[str, str], str] | None = field(default=None, compare=False)
    lead: bool = False  # a metric the report leads with (one per convention)
    #: why the leave-one-viewer-out ceiling (the gold standard) does not score it ("" where it does)
    no_ceiling: str = ""

    @property
    def direction(self) -> str:
        return "higher is better" if self.higher_is_better else "lower is better"

    def scored_map(self, mode: str, blur: str) -> str:
        """The map this (probabilistic) metric scores in ``mode``; ``blur`` describes the blurred density."""
        if self.maps is not None:
            return self.maps(mode, blur)
        return "log p" if "log_density" in self.needs else "p"


def _m(name: str, conv: str, label: str, unit: str, hib: bool, needs: str, per_fix: bool = False,
       scorer: Callable | None = None, permutable: bool = False, not_permuted: str = "",
       maps: Callable[[str, str], str] | None = None, lead: bool = False, no_ceiling: str = "") -> MetricSpec:
    if not permutable and not not_permuted:
        not_permuted = MIT_NO_VALUES if conv == "mit" else MAP_METRIC
    return MetricSpec(name, conv, label, unit, hib, frozenset(needs.split()), per_fix, scorer, permutable,
                      not_permuted, True, maps, lead, no_ceiling)


def _specific(metric_specific: str) -> Callable[[str, str], str]:
    return lambda mode, blur: "p" if mode == "density" else metric_specific.format(blur=blur)


# Order within a convention is the reporting order.
_BUILTIN: tuple[MetricSpec, ...] = (
    _m("auc_judd", "mit", "AUC-Judd", "AUC", True, "binary_map saliency", scorer=_mit.auc_judd, lead=True,
       permutable=True),
    _m("auc_borji", "mit", "AUC-Borji", "AUC", True, "binary_map saliency", scorer=_mit.auc_borji),
    _m("auc_shuffled", "mit", "shuffled AUC", "AUC", True, "binary_map other_fixations saliency", scorer=_mit.auc_shuffled),
    _m("nss", "mit", "NSS", "standard deviations", True, "binary_map saliency", scorer=_mit.nss, permutable=True),
    _m("cc", "mit", "CC", "correlation", True, "continuous_map saliency", scorer=_mit.cc),
    _m("kl", "mit", "KL divergence (nats)", "nats", False, "continuous_map saliency", scorer=_mit.kl),
    _m("sim", "mit", "SIM", "histogram intersection", True, "continuous_map saliency", scorer=_mit.sim),
    _m("ig", "mit", "information gain (bits)", "bits per fixated pixel", True, "binary_map baseline saliency", scorer=_mit.ig,
       permutable=True),
    _m("emd", "mit", "EMD (1/32 cells)", "1/32 cells", False, "continuous_map saliency", scorer=_mit.emd,
       no_ceiling="one transport problem per viewer (about 25 per image on Saliency4ASD) would cost more than "
                  "scoring a model"),
    _m("ll", "probabilistic", "log-likelihood (nats/fixation)", "nats per fixation", True,
       "fixations log_density", True, _prob.ll, permutable=True),
    _m("ig", "probabilistic", "information gain (bits/fixation)", "bits per fixation", True,
       "fixations baseline log_density", True, _prob.ig, permutable=True, lead=True),
    _m("auc", "probabilistic", "AUC (all pixels)", "AUC", True, "fixations saliency", True, _prob.auc, permutable=True,
       no_ceiling=PROB_CEILING),
    _m("sauc", "probabilistic", "shuffled AUC", "AUC", True, "fixations other_fixations saliency", True, _prob.sauc,
       not_permuted="its negatives are the group's own fixations on the other images, which change when "
                    "scanpaths change group", maps=_specific("log p - log p_shuffled"), no_ceiling=PROB_CEILING),
    _m("nss", "probabilistic", "NSS", "standard deviations", True, "fixations saliency", True, _prob.nss,
       permutable=True, no_ceiling=PROB_CEILING),
    _m("cc", "probabilistic", "CC", "correlation", True, "continuous_map saliency", scorer=_prob.cc,
       maps=_specific("{blur}"), no_ceiling=PROB_CEILING),
    _m("kl", "probabilistic", "KL divergence (nats)", "nats", False, "continuous_map saliency", scorer=_prob.kl,
       maps=_specific("{blur}"), no_ceiling=PROB_CEILING),
    _m("sim", "probabilistic", "SIM", "histogram intersection", True, "continuous_map saliency", scorer=_prob.sim,
       maps=_specific("{blur} (approximation of the SIM-optimal map)"), no_ceiling=PROB_CEILING),
)

_BY_KEY: dict[tuple[str, str], MetricSpec] = {(m.convention, m.name): m for m in _BUILTIN}


def all_metrics() -> tuple[MetricSpec, ...]:
    """Every registered metric of both conventions (those registered at run time included)."""
    return tuple(_BY_KEY.values())


def register_metric(spec: MetricSpec) -> MetricSpec:
    """Add a metric (e.g. a user's own); it is scored when named in ``--metrics`` (or by default when
    ``spec.default``), summarised, compared and reported like the built-in ones."""
    if spec.convention not in CONVENTIONS:
        raise ValueError(f"unknown convention {spec.convention!r}; expected one of {', '.join(CONVENTIONS)}")
    if (spec.convention, spec.name) in _BY_KEY:
        raise ValueError(f"the {spec.convention} metric {spec.name!r} is already registered")
    if spec.scorer is None:
        raise ValueError(f"metric {spec.name!r}: a scorer is needed")
    unknown = spec.needs - NEEDS
    if unknown:
        raise ValueError(f"metric {spec.name!r}: unknown needs {', '.join(sorted(unknown))}")
    _BY_KEY[(spec.convention, spec.name)] = spec
    return spec


def unregister_metric(name: str, convention: str) -> None:
    if any(m.name == name and m.convention == convention for m in _BUILTIN):
        raise ValueError(f"the built-in {convention} metric {name!r} cannot be removed")
    _BY_KEY.pop((convention, name), None)


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


def find(name: str, convention: str) -> MetricSpec | None:
    """:func:`get`, or None for a name the registry does not know (e.g. a summary's ``ig_pct_gold``)."""
    return _BY_KEY.get((convention, name))


def lower_is_better(name: str, convention: str) -> bool:
    """True where a smaller value is a better fit (KL, EMD); False for unknown names."""
    spec = find(name, convention)
    return spec is not None and not spec.higher_is_better


def metrics_for(convention: str) -> tuple[MetricSpec, ...]:
    """All metrics of a convention, in reporting order.

    Example:
        >>> [m.name for m in metrics_for("probabilistic")]
        ['ll', 'ig', 'auc', 'sauc', 'nss', 'cc', 'kl', 'sim']
    """
    if convention not in CONVENTIONS:
        raise KeyError(f"unknown convention {convention!r}; expected one of {', '.join(CONVENTIONS)}")
    return tuple(m for m in _BY_KEY.values() if m.convention == convention)


def lead_metrics() -> tuple[MetricSpec, ...]:
    """The metrics the report leads with (probabilistic first: it needs a density, the MIT one any map)."""
    return tuple(m for c in ("probabilistic", "mit") for m in metrics_for(c) if m.lead)


def defaults(convention: str) -> tuple[str, ...]:
    """The names scored when ``--metrics`` is not given."""
    return tuple(m.name for m in metrics_for(convention) if m.default)

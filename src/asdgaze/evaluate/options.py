"""Every setting of ``asdgaze evaluate`` (and of the evaluate stage of ``asdgaze run``), declared once.

:class:`EvaluateOptions` holds the settings; each field's metadata is its command-line option (flag,
help, type), from which :mod:`asdgaze.cli.options` generates the options of ``evaluate`` and ``run``.
:meth:`EvaluateOptions.from_cli` turns the command line's strings into values and
:meth:`EvaluateOptions.validate` is the one place a setting is checked, for the command line, ``run``
and the Python API alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any, NamedTuple

from asdgaze.errors import OptionsError

__all__ = ["EvaluateOptions", "EvaluateError", "EvaluateWarning", "EvaluateInterrupted", "Failure", "CLI_FIELDS"]


class EvaluateError(OptionsError):
    """Inputs that cannot be evaluated (missing maps, unknown groups, bad baseline, output folder in use)."""


class EvaluateWarning(UserWarning):
    """Something every user of the results should know (constant maps, resized maps, loader notes)."""


class EvaluateInterrupted(KeyboardInterrupt):
    """Ctrl-C during scoring; ``done`` images are saved in ``parts_dir`` and a rerun resumes."""

    def __init__(self, done: int, total: int, parts_dir) -> None:
        super().__init__(f"interrupted: {done} of {total} images finished (saved in {parts_dir}); "
                         "rerun the same command to resume")
        self.done, self.total, self.parts_dir = done, total, parts_dir


class Failure(NamedTuple):
    """An (image, group) pair that was not scored; ``error`` reads "<file>: <problem>"."""

    image: str
    group: str
    error: str


def _opt(default: Any, flag: str, help: str, *, run: bool = True, **click: Any) -> Any:
    """A field with its command-line option: ``flag``, ``help`` and click's arguments; ``run``: also an
    option of ``asdgaze run``."""
    kw = {"default_factory": default} if callable(default) else {"default": default}
    return field(**kw, metadata={"flag": flag, "help": help, "run": run, "click": click})


def _comma(value: str | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys(s.strip() for s in (value or "").split(",") if s.strip()))


def _n_other(value: str | int | None) -> int | None:
    if value is None or str(value).strip().lower() == "all":
        return None
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise OptionsError(f"--shuffled-others: expected a positive integer or 'all', got {value!r}") from None
    if n < 1:
        raise OptionsError(f"--shuffled-others: expected a positive integer or 'all', got {value!r}")
    return n


def _metric_help() -> str:
    from asdgaze.metrics.registry import metrics_for

    return ("Comma-separated metrics (default: all). MIT: " + ",".join(m.name for m in metrics_for("mit")) +
            "; probabilistic: " + ",".join(m.name for m in metrics_for("probabilistic")) +
            ". A name of both (nss) selects it in both; a convention none of whose metrics is named is not scored.")


@dataclass(frozen=True)
class EvaluateOptions:
    """Every choice that changes a score; all of them are written to ``manifest.json``.

    groups: groups to score (None: all groups of the dataset).
    maps_kind: what ``.npy`` maps hold: "saliency" or "log-density" (scored as exp(log p)). An HDF5
        file of maps always holds log-densities: None becomes "log-density", "saliency" is refused.
    ig_baseline: the MIT information gain's baseline, a prior of :mod:`asdgaze.models.priors` (``gaussian``,
        ``uniform``, ``mit1003``, ``centerbias``, ``other-group``) or a template file (``.npy`` read as
        ``ig_baseline_kind``, or ``.png``).
    shuffled_n_other: number of other images (same group) whose fixations form the MIT shuffled-AUC
        negatives; None means all other images.
    seed: root seed of every random draw (AUC jitter, Borji/shuffled splits, choice of other images).
    allow_aspect_change: score maps whose aspect ratio differs from their image's by more than 1 %
        (resized); otherwise such an image fails (a transposed or cropped map).
    baselines: baseline models scored beside the maps (:mod:`asdgaze.models.registry`; the command
        line's default is :func:`asdgaze.models.registry.default_baselines`, the library's none).
    conventions: "mit" and/or "probabilistic" (pysaliency); default both.
    saliency_maps: probabilistic convention: "metric-specific" (each metric on the map that is
        optimal under the density, metrics.md 4.6) or "density" (every metric on p itself).
    prob_ig_baseline: baseline of the probabilistic information gain: a prior (default the fitted
        centre bias) or a ``.npy`` log-density file.
    metrics / prob_metrics: MIT and probabilistic metrics to score (registry names).
    fixmap_sigma: Gaussian (pixels) of the continuous fixation map recipe, for a dataset read from
        a fixation table (None: the dataset's own, 43 px for Saliency4ASD; a Saliency4ASD folder
        refuses another value). The metric-specific CC/KL/SIM map is blurred with the same Gaussian.
    ceiling_grid: the MIT convention's gold standard scores each viewer against the map of the others
        on a grid whose longer side has at most this many cells (0: full resolution);
        :mod:`asdgaze.data.loo_maps`.
    mit1003: folder of MIT1003 stimuli: count the dataset images that are MIT1003 images (a note).
    convert: make each saliency-map model a density (:mod:`asdgaze.models.converted`: pysaliency's
        conversion, fitted by maximum likelihood, cross-validated over images) and score it in the
        probabilistic convention too. None: the command's default (``evaluate`` no, ``run`` yes).
    adapt: for each density model (log-density maps, a converted map) also score ``<model>+adapted``,
        refitted per group (:mod:`asdgaze.models.adapted`), and write ``adaptation.json`` (what of the
        groups' gap these generic factors explain). None: the command's default (``evaluate`` no, ``run`` yes).
    cv_folds: folds over images of the conversion's and the adaptation's cross-validation.
    adapt_resamples: bootstrap resamples over images of the adapted parameters' confidence intervals.
    """

    groups: tuple[str, ...] | None = _opt(None, "--groups", "Comma-separated groups to score (default: all, e.g. "
                                          "ASD,TD).", run=False)
    maps_kind: str | None = _opt(None, "--maps-kind", "What .npy maps hold; log-densities are scored as exp(log p) "
                                 "in float64 (MIT) and as log p (probabilistic). An HDF5 file is always log-density.",
                                 choices=("saliency", "log-density"))
    ig_baseline: str = _opt("gaussian", "--ig-baseline", "MIT information-gain baseline: gaussian, uniform, mit1003 "
                            "(cached template, as predict's --centerbias), centerbias (fitted), or a template map "
                            "file (.npy/.png).")
    ig_baseline_kind: str = _opt("log-density", "--ig-baseline-kind", "What an .npy --ig-baseline file holds.",
                                 choices=("saliency", "log-density"))
    shuffled_n_other: int | None = _opt(10, "--shuffled-others", "Other images (same group) whose fixations are "
                                        "MIT shuffled-AUC negatives: N or 'all'.")
    n_splits: int = 100
    step_size: float = 0.1
    seed: int = _opt(0, "--seed", "Root seed of all random draws.", run=False, min=0)
    allow_missing: bool = _opt(False, "--allow-missing", "Score the images that have maps; list the others.",
                               is_flag=True)
    metrics: tuple[str, ...] = field(default_factory=lambda: _defaults("mit"))
    allow_aspect_change: bool = _opt(False, "--allow-aspect-change", "Score maps whose aspect ratio differs from "
                                     "their image's by more than 1 % (resized).", is_flag=True)
    baselines: tuple[str, ...] = ()
    conventions: tuple[str, ...] = ("mit", "probabilistic")
    saliency_maps: str = _opt("metric-specific", "--saliency-maps", "Probabilistic convention: score each metric "
                              "on its optimal map under the density, or on p itself.",
                              choices=("metric-specific", "density"))
    prob_ig_baseline: str = _opt("centerbias", "--prob-ig-baseline", "Probabilistic information-gain baseline: "
                                 "uniform, gaussian, centerbias (fitted, leave-one-image-out), mit1003, other-group, "
                                 "or a .npy log-density file.")
    prob_metrics: tuple[str, ...] = field(default_factory=lambda: _defaults("probabilistic"))
    fixmap_sigma: float | None = _opt(None, "--fixmap-sigma", "With --table: Gaussian (pixels) of the continuous "
                                      "fixation map (Saliency4ASD's recipe with a 6-sigma kernel; default 43, as "
                                      "Saliency4ASD). Saliency4ASD folders use their own recipe.", min=0,
                                      min_open=True)
    ceiling_grid: int = _opt(256, "--ceiling-grid", "MIT ceiling (gold standard): the longer image side in cells "
                             "of the grid its per-viewer maps are made on (the smallest integer cell size that "
                             "fits; 0: full resolution, slower).", min=0)
    mit1003: str | None = _opt(None, "--mit1003", "Folder of MIT1003 stimuli: count the dataset's images that are "
                               "MIT1003 images (perceptual hash).", exists=True, file_okay=False)
    convert: bool | None = _opt(None, "--convert/--no-convert", "Make each saliency-map model a density (pysaliency's "
                                "conversion: blur, nonlinearity, centre bias, fitted by maximum likelihood, "
                                "cross-validated over images) and score it probabilistically too. Default: "
                                "evaluate no, run yes.", negatable=True)
    adapt: bool | None = _opt(None, "--adapt/--no-adapt", "Also score each density model refitted per group "
                              "(<model>+adapted: centre-bias weight, spread, temperature, uniform share; "
                              "cross-validated) and write adaptation.json: how much of the groups' gap these "
                              "generic factors explain. Default: evaluate no, run yes.", negatable=True)
    cv_folds: int = 5
    adapt_resamples: int = 200

    @classmethod
    def from_cli(cls, values: dict[str, Any], *, convention: str = "both", metrics: str | None = None,
                 baselines: str | None = "default", dataset_groups=()) -> "EvaluateOptions":
        """Options from the command line's values (field name -> value as parsed by click), ``--convention``,
        ``--metrics`` (names of either convention) and ``--baselines`` (names, 'default' or 'none')."""
        from asdgaze.models import registry as baselines_registry

        kw = {k: v for k, v in values.items() if k in CLI_FIELDS and v is not None}
        if "groups" in kw:
            kw["groups"] = _comma(kw["groups"]) or None
        if "shuffled_n_other" in values:
            kw["shuffled_n_other"] = _n_other(values["shuffled_n_other"])
        mit, prob = split_metrics(metrics)
        kw.update(metrics=mit, prob_metrics=prob, conventions=scored_conventions(convention, mit, prob))
        # None: left to the caller (``run`` resolves them once the dataset is loaded)
        kw["baselines"] = (() if baselines is None
                           else baselines_registry.check_names(baselines, kw.get("groups") or dataset_groups))
        return cls(**kw)

    def validate(self, dataset, workers: int | None = None) -> "EvaluateOptions":
        """Check every setting against the registries and ``dataset``; the normalised options (groups
        resolved, duplicates dropped). Raises EvaluateError naming the option and the problem."""
        from asdgaze.metrics.registry import CONVENTIONS, metrics_for
        from asdgaze.metrics.prob_scoring import MODES
        from asdgaze.models import registry

        groups = tuple(dict.fromkeys(self.groups)) if self.groups else tuple(dataset.groups)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise EvaluateError(f"seed must be a non-negative integer, got {self.seed!r}")
        if workers is not None and workers < 1:
            raise EvaluateError(f"workers must be >= 1, got {workers}")
        unknown = [g for g in groups if g not in dataset.fixations and g not in dataset.problems]
        if unknown:
            raise EvaluateError(f"group(s) {', '.join(unknown)} not in dataset {dataset.name!r} "
                                f"(it has: {', '.join(dataset.groups)})")
        conventions = tuple(dict.fromkeys(self.conventions))
        if not conventions or any(c not in CONVENTIONS for c in conventions):
            raise EvaluateError(f"--convention: expected mit, probabilistic or both, got "
                                f"{', '.join(conventions) or '(none)'}")
        # a convention that is not scored may have no metrics (`--metrics auc_judd` scores the MIT convention only)
        chosen = {}
        for conv, names in (("mit", self.metrics), ("probabilistic", self.prob_metrics)):
            names = tuple(dict.fromkeys(names))
            known = [m.name for m in metrics_for(conv)]
            bad = [m for m in names if m not in known]
            if bad or (not names and conv in conventions):
                what = "metric(s)" if conv == "mit" else "probabilistic metric(s)"
                raise EvaluateError(f"unknown {what} {', '.join(bad) or '(none given)'}; known: {', '.join(known)}")
            chosen[conv] = names
        if self.saliency_maps not in MODES:
            raise EvaluateError(f"--saliency-maps: expected {' or '.join(MODES)}, got {self.saliency_maps!r}")
        if self.maps_kind not in (None, "saliency", "log-density"):
            raise EvaluateError(f"--maps-kind: expected saliency or log-density, got {self.maps_kind!r}")
        try:
            baselines = registry.check_names(list(self.baselines), groups)
        except OptionsError as e:
            raise EvaluateError(str(e)) from None
        for name in baselines:
            need = registry.baseline(name).groups
            scored = [g for g in groups if g in dataset.fixations]
            if need is not None and len(scored) != need:
                raise EvaluateError(f"--baselines {name} needs exactly {need} groups (scored: {', '.join(scored)})")
        if self.fixmap_sigma is not None:
            if not (self.fixmap_sigma > 0):
                raise EvaluateError(f"--fixmap-sigma must be positive, got {self.fixmap_sigma}")
            problem = dataset.format.fixmap_sigma_problem(self.fixmap_sigma, dataset)
            if problem:
                raise EvaluateError(f"--fixmap-sigma {self.fixmap_sigma:g}: {problem}")
        if isinstance(self.ceiling_grid, bool) or not isinstance(self.ceiling_grid, int) or self.ceiling_grid < 0:
            raise EvaluateError(f"--ceiling-grid: expected a non-negative integer, got {self.ceiling_grid!r}")
        n_other = self.shuffled_n_other
        if n_other is not None and (isinstance(n_other, bool) or not isinstance(n_other, int) or n_other < 1):
            raise EvaluateError(f"--shuffled-others: expected a positive integer or None (all), got {n_other!r}")
        if isinstance(self.cv_folds, bool) or not isinstance(self.cv_folds, int) or self.cv_folds < 2:
            raise EvaluateError(f"cv_folds must be an integer >= 2, got {self.cv_folds!r}")
        if isinstance(self.adapt_resamples, bool) or not isinstance(self.adapt_resamples, int) \
                or self.adapt_resamples < 0:
            raise EvaluateError(f"adapt_resamples must be a non-negative integer, got {self.adapt_resamples!r}")
        return replace(self, groups=groups, metrics=chosen["mit"], prob_metrics=chosen["probabilistic"],
                       conventions=conventions, baselines=baselines, convert=bool(self.convert),
                       adapt=bool(self.adapt))

    def for_run(self) -> "EvaluateOptions":
        """The options of ``asdgaze run``: conversion and adaptation on unless set."""
        return replace(self, convert=True if self.convert is None else self.convert,
                       adapt=True if self.adapt is None else self.adapt)


def _defaults(convention: str) -> tuple[str, ...]:
    from asdgaze.metrics.registry import defaults

    return defaults(convention)


#: The fields the command line sets one to one (the others: --metrics, --convention, --baselines).
CLI_FIELDS = tuple(f.name for f in fields(EvaluateOptions) if "flag" in f.metadata)


def split_metrics(value: str | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``--metrics``: names of either convention -> (MIT metrics, probabilistic metrics); None: the defaults."""
    from asdgaze.metrics.registry import metrics_for

    chosen = _comma(value)
    if not chosen:
        return _defaults("mit"), _defaults("probabilistic")
    mit = [m.name for m in metrics_for("mit")]
    prob = [m.name for m in metrics_for("probabilistic")]
    unknown = [m for m in chosen if m not in mit and m not in prob]
    if unknown:
        raise EvaluateError(f"--metrics: unknown metric(s) {', '.join(unknown)}; MIT: {', '.join(mit)}; "
                            f"probabilistic: {', '.join(prob)}")
    return tuple(m for m in chosen if m in mit), tuple(m for m in chosen if m in prob)


def scored_conventions(convention: str, mit: tuple[str, ...], prob: tuple[str, ...]) -> tuple[str, ...]:
    """``--convention`` less the conventions that ``--metrics`` names no metric of."""
    requested = ("mit", "probabilistic") if convention == "both" else (convention,)
    out = tuple(c for c in requested if (mit if c == "mit" else prob))
    if not out:
        raise EvaluateError(f"--metrics: none of the named metrics belongs to --convention {convention}")
    return out

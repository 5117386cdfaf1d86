"""The command line's option sets, generated from the definitions the Python API validates.

Every setting of evaluate is a field of :class:`asdgaze.evaluate.options.EvaluateOptions` whose metadata
is its option (flag, help, type); :func:`evaluate_options` turns them into click options for ``evaluate``
and (those marked for it) ``run``, so the two commands take the same settings with the same help. The
choices of ``--baselines`` and ``--metrics`` come from the registries.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Callable

import click

__all__ = ["evaluate_options", "dataset_options", "regions_option", "compare_options", "shared_options"]


def _click_option(f) -> Callable:
    meta = f.metadata
    kw = dict(meta["click"])
    if kw.pop("negatable", False):  # --x/--no-x; None when neither is given (the command's default)
        return click.option(meta["flag"], f.name, default=None, help=meta["help"])
    if kw.pop("is_flag", False):
        return click.option(meta["flag"], f.name, is_flag=True, help=meta["help"])
    choices = kw.pop("choices", None)
    exists = kw.pop("exists", None)
    lo, lo_open = kw.pop("min", None), kw.pop("min_open", False)
    if choices:
        kind = click.Choice(list(choices))
    elif exists is not None:
        kind = click.Path(exists=exists, **kw)
    elif f.type in ("int", int) or isinstance(f.default, int) and not isinstance(f.default, bool) and lo is not None:
        kind = click.IntRange(min=lo)
    elif lo is not None:
        kind = click.FloatRange(min=lo, min_open=lo_open)
    else:
        kind = str
    default = f.default if f.default is not None else None
    show = default not in (None, False)
    if f.name == "shuffled_n_other":
        default, kind = "10", str  # N or 'all'
    return click.option(meta["flag"], f.name, type=kind, default=default, show_default=show, help=meta["help"])


def _baselines_help() -> str:
    from asdgaze.models import registry

    names = registry.names()
    default = [registry.baseline(n).name for n in names if registry.baseline(n).default]
    return (f"Comma-separated baselines scored beside the maps: {', '.join(names)}; 'default' = "
            f"{', '.join(default)} (one that needs another number of groups left out); 'none'.")


def evaluate_options(for_run: bool = False) -> Callable:
    """Decorator adding evaluate's settings (``--maps-kind``, ``--ig-baseline``, ...), ``--convention``,
    ``--metrics`` and ``--baselines``; ``for_run``: only those ``asdgaze run`` takes (its ``--groups`` and
    ``--seed`` are the comparison's, shared)."""
    from asdgaze.evaluate.options import EvaluateOptions, _metric_help

    opts = [_click_option(f) for f in fields(EvaluateOptions)
            if "flag" in f.metadata and (f.metadata["run"] or not for_run)]
    opts += [
        click.option("--convention", type=click.Choice(["mit", "probabilistic", "both"]), default="both",
                     show_default=True,
                     help="Metric convention: MIT Saliency Benchmark code, pysaliency (probabilistic), or both."),
        click.option("--metrics", "metrics", default=None, help=_metric_help()),
        click.option("--baselines", "baselines", default="default", show_default=True, help=_baselines_help()),
    ]

    def deco(fn: Callable) -> Callable:
        for o in reversed(opts):
            fn = o(fn)
        return fn
    return deco


def dataset_options(fn: Callable) -> Callable:
    """``--dataset``, ``--table``, ``--coords``: a Saliency4ASD folder, or a folder of images and a table."""
    for o in reversed([
        click.option("--dataset", required=True, type=click.Path(exists=True, file_okay=False),
                     help="Saliency4ASD folder (TrainingDataset/, TrainingData/ or flattened) or a folder of images."),
        click.option("--table", type=click.Path(exists=True, dir_okay=False),
                     help="CSV/TSV of fixations (columns image, x, y[, group, viewer, duration]) for a plain image "
                          "folder."),
        click.option("--coords", type=click.Choice(["0-based", "1-based"]),
                     help="Pixel coordinates of --table (required with --table)."),
    ]):
        fn = o(fn)
    return fn


def regions_option(fn: Callable) -> Callable:
    """``--regions FILE``: labelled boxes for the region analysis (evaluate and run)."""
    return click.option("--regions", type=click.Path(exists=True, dir_okay=False),
                        help="CSV image,x1,y1,x2,y2,label of labelled boxes in image pixels (0-based, end exclusive) "
                             "for the region analysis (regions.csv); default: the dataset's own (Saliency4ASD: "
                             "AdditionalData/ImageAnnotations.csv), else none.")(fn)


def compare_options(fn: Callable) -> Callable:
    """The group comparison's settings (compare, report, run)."""
    for o in reversed([
        click.option("--groups", default="TD,ASD", show_default=True,
                     help="The two groups A,B to compare; differences are A - B."),
        click.option("--n-resamples", type=click.IntRange(min=100), default=10_000, show_default=True,
                     help="Bootstrap resamples."),
        click.option("--n-permutations", type=click.IntRange(min=1), default=1_000, show_default=True,
                     help="Permutations of the within-image permutation test (needs per_fixation.csv)."),
        click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
                     help="Seed of all random draws (evaluate's and the comparison's)."),
    ]):
        fn = o(fn)
    return fn


def shared_options(*names: str) -> Callable:
    """Options several commands share, with one help text each."""
    defs = {
        "workers": click.option("--workers", type=click.IntRange(min=1), default=None,
                                help="Worker processes of evaluate's scoring (default: CPU cores, at most 8; "
                                     "predict's decoders and writers have their own, `asdgaze predict --help`)."),
        "overwrite": click.option("--overwrite", is_flag=True,
                                  help="Replace outputs made with other settings in --out."),
        "shard": click.option("--shard", help="K/N: only the K-th of N disjoint parts of the images (for job "
                                              "arrays); the same command without --shard then merges."),
        "no_progress": click.option("--no-progress", is_flag=True, help="No progress bars."),
    }

    def deco(fn: Callable) -> Callable:
        for n in reversed(names):
            fn = defs[n](fn)
        return fn
    return deco

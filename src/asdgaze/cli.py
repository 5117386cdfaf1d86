"""Command line: parses arguments and calls the library. Everything here is also doable from Python."""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import warnings
from typing import Iterator

import click

from asdgaze import __version__



# DeepGaze IIE's --precision (predict and run; the names asdgaze.predict.pipeline.PRECISION_CHOICES checks)
PRECISIONS = ["fp32", "tf32", "fp16", "bf16", "fast"]
PRECISION_HELP = ("fp32 is exact (TF32 off); fast (= fp16 autocast on the backbones), tf32, fp16, bf16 are faster "
                  "on GPU and not exact (README, Precision).")

@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="asdgaze")
def cli() -> None:
    """DeepGaze IIE saliency maps and benchmark-exact metrics for ASD vs TD eye-tracking data."""


# --- evaluate / demo -------------------------------------------------------------------------------


def _parse_groups(value: str | None) -> tuple[str, ...] | None:
    if not value:
        return None
    groups = tuple(g.strip() for g in value.split(",") if g.strip())
    return groups or None


def _parse_n_other(value: str) -> int | None:
    if value.lower() == "all":
        return None
    try:
        n = int(value)
    except ValueError:
        raise click.BadParameter(f"expected a positive integer or 'all', got {value!r}")
    if n < 1:
        raise click.BadParameter(f"expected a positive integer or 'all', got {value!r}")
    return n


def _load_dataset(dataset: str, table: str | None, coords: str | None, groups):
    """Load the dataset; its warnings (e.g. dropped fixations) are shown and returned for the manifest."""
    import warnings

    from pathlib import Path

    from asdgaze.data import load_dataset

    # absolute paths: every loader message and the manifest then name files that can be found later
    dataset = str(Path(dataset).expanduser().resolve())
    table = str(Path(table).expanduser().resolve()) if table else None
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ds = load_dataset(dataset, table=table, coords=coords, groups=groups)
    except (ValueError, FileNotFoundError) as e:
        raise click.ClickException(str(e))
    messages = [str(w.message) for w in caught]
    for m in messages:
        click.echo(f"warning: {m}", err=True)
    source = {"path": str(dataset), "table": table, "coords": coords if table else "1-based (Saliency4ASD scanpaths)",
              "loader_warnings": messages}
    return ds, source


def _evaluate_header(name: str, result) -> str:
    """What was scored: (image, group) pairs, failed pairs, and the conventions actually scored per model."""
    pi = result.per_image
    failed = {(f.image, f.group) for f in result.failures}  # a pair failed by any model is not counted as scored
    scored = set(zip(pi.image, pi.group)) - failed
    n_images = len({image for image, _ in scored})
    not_scored = f", {len(failed)} pair(s) not scored" if failed else ""
    per_model = [f"{m} ({', '.join(dict.fromkeys(pi.convention[pi.model == m]))})" for m in dict.fromkeys(pi.model)]
    return (f"{name}: {n_images} image(s) scored ({len(scored)} (image, group) pair(s){not_scored}); "
            f"models (conventions scored): {', '.join(per_model) or 'none'}")


def _print_result(result, title: str) -> None:
    from asdgaze.report.tables import summary_table

    click.echo(f"\n{title}")
    click.echo(summary_table(result.summary))
    click.echo("")
    for name, path in result.files.items():
        click.echo(f"  {name:<14} {path}")


def _parse_maps(values: tuple[str, ...]) -> dict[str, str] | str | None:
    """``--maps DIR`` (the model "maps") or repeated ``--maps NAME=DIR``; DIR may be an HDF5 file too."""
    import os

    if not values:
        return None
    if len(values) == 1 and ("=" not in values[0] or os.path.exists(values[0])):
        return values[0]
    out: dict[str, str] = {}
    for v in values:
        name, sep, folder = v.partition("=")
        if not sep or not name or not folder:
            raise click.BadParameter(f"expected NAME=DIR when --maps is given more than once, got {v!r}",
                                     param_hint="--maps")
        if name in out:
            raise click.BadParameter(f"model name {name!r} given twice", param_hint="--maps")
        if not os.path.exists(folder):
            raise click.BadParameter(f"{folder}: no such folder or file", param_hint="--maps")
        out[name] = folder
    return out


def _parse_metrics(value: str | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``--metrics``: names of either convention -> (MIT metrics, probabilistic metrics)."""
    from asdgaze.metrics.prob_scoring import PROB_METRICS
    from asdgaze.metrics.suite import MIT_METRICS

    chosen = _parse_groups(value)
    if not chosen:
        return MIT_METRICS, PROB_METRICS
    unknown = [m for m in chosen if m not in MIT_METRICS and m not in PROB_METRICS]
    if unknown:
        raise click.BadParameter(f"unknown metric(s) {', '.join(unknown)}; MIT: {', '.join(MIT_METRICS)}; "
                                 f"probabilistic: {', '.join(PROB_METRICS)}", param_hint="--metrics")
    # a convention none of whose metrics is named is not scored (see _scored_conventions)
    return tuple(m for m in chosen if m in MIT_METRICS), tuple(m for m in chosen if m in PROB_METRICS)


def _scored_conventions(convention: str, mit: tuple[str, ...], prob: tuple[str, ...]) -> tuple[str, ...]:
    """``--convention`` less the conventions that ``--metrics`` names no metric of."""
    requested = ("mit", "probabilistic") if convention == "both" else (convention,)
    out = tuple(c for c in requested if (mit if c == "mit" else prob))
    if not out:
        raise click.BadParameter(f"none of the named metrics belongs to --convention {convention} (MIT: "
                                 f"{', '.join(_parse_metrics(None)[0])}; probabilistic: "
                                 f"{', '.join(_parse_metrics(None)[1])})", param_hint="--metrics")
    return out


def _parse_baselines(value: str, groups: list[str]) -> tuple[str, ...]:
    from asdgaze.evaluation.models import default_baselines
    from asdgaze.models.fitted import BASELINES

    if value.strip().lower() == "none":
        return ()
    if value.strip().lower() == "default":
        return default_baselines(groups)
    names = tuple(dict.fromkeys(b.strip() for b in value.split(",") if b.strip()))
    unknown = [b for b in names if b not in BASELINES]
    if unknown:
        raise click.BadParameter(f"unknown baseline(s) {', '.join(unknown)}; choose from {', '.join(BASELINES)}, "
                                 "'default' or 'none'", param_hint="--baselines")
    return names


@cli.command()
@click.option("--dataset", required=True, type=click.Path(exists=True, file_okay=False),
              help="Saliency4ASD folder (TrainingDataset/, TrainingData/ or flattened) or a folder of images.")
@click.option("--table", type=click.Path(exists=True, dir_okay=False),
              help="CSV/TSV of fixations (columns image, x, y[, group, viewer, duration]) for a plain image folder.")
@click.option("--coords", type=click.Choice(["0-based", "1-based"]),
              help="Pixel coordinates of --table (required with --table).")
@click.option("--maps", "maps_dir", multiple=True,
              help="Folder of maps named by image stem (<stem>.npy or 8/16-bit <stem>.png), or an HDF5 file of "
                   "log-densities (one dataset per image, named by its file name: predict --outputs hdf5, "
                   "pysaliency), scored as model 'maps'; or NAME=DIR|FILE, repeatable, one model each.")
@click.option("--maps-kind", type=click.Choice(["saliency", "log-density"]),
              help="What .npy maps hold; log-densities are scored as exp(log p) in float64 (MIT) and as log p "
                   "(probabilistic). An HDF5 file is always log-density (implied; saliency is refused).")
@click.option("--baselines", "baselines", default="default", show_default=True,
              help="Comma-separated baselines scored beside the maps: uniform, centerbias, gold-standard, "
                   "other-group, centerbias-mit1003; 'default' = the first four (other-group with two groups "
                   "only); 'none'.")
@click.option("--convention", type=click.Choice(["mit", "probabilistic", "both"]), default="both", show_default=True,
              help="Metric convention: MIT Saliency Benchmark code, pysaliency (probabilistic), or both.")
@click.option("--saliency-maps", type=click.Choice(["metric-specific", "density"]), default="metric-specific",
              show_default=True,
              help="Probabilistic convention: score each metric on its optimal map under the density, or on p itself.")
@click.option("--groups", help="Comma-separated groups to score (default: all, e.g. ASD,TD).")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--ig-baseline", default="gaussian", show_default=True,
              help="MIT information-gain baseline: gaussian, uniform, mit1003 (cached template, as predict's "
                   "--centerbias), or a template map file (.npy/.png).")
@click.option("--ig-baseline-kind", type=click.Choice(["saliency", "log-density"]), default="log-density",
              show_default=True, help="What an .npy --ig-baseline file holds.")
@click.option("--prob-ig-baseline", default="centerbias", show_default=True,
              help="Probabilistic information-gain baseline: uniform, centerbias (fitted, leave-one-image-out), "
                   "centerbias-mit1003, other-group, or a .npy log-density file.")
@click.option("--fixmap-sigma", type=click.FloatRange(min=0, min_open=True), default=None,
              help="With --table: Gaussian (pixels) of the continuous fixation map (Saliency4ASD's recipe with "
                   "a 6-sigma kernel; default 43, as Saliency4ASD). Saliency4ASD folders use their own recipe.")
@click.option("--mit1003", "mit1003", type=click.Path(exists=True, file_okay=False),
              help="Folder of MIT1003 stimuli: count the dataset's images that are MIT1003 images (perceptual hash).")
@click.option("--shuffled-others", default="10", show_default=True,
              help="Other images (same group) whose fixations are MIT shuffled-AUC negatives: N or 'all'.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Root seed of all random draws.")
@click.option("--allow-missing", is_flag=True, help="Score the images that have maps; list the others.")
@click.option("--allow-aspect-change", is_flag=True,
              help="Score maps whose aspect ratio differs from their image's by more than 1 % (resized).")
@click.option("--metrics", "metrics", default=None,
              help="Comma-separated metrics (default: all). MIT: auc_judd,auc_borji,auc_shuffled,nss,cc,kl,sim,ig,emd; "
                   "probabilistic: ll,ig,auc,sauc,nss,cc,kl,sim.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Parallel processes (default: CPU cores, at most 8).")
@click.option("--overwrite", is_flag=True, help="Replace results of another run (other settings) in --out.")
@click.option("--shard", help="K/N: score only the K-th of N disjoint parts of the images (for job arrays); "
                              "the same command without --shard then merges the shards and writes the tables.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def evaluate(dataset, table, coords, maps_dir, maps_kind, baselines, convention, saliency_maps, groups, out_dir,
             ig_baseline, ig_baseline_kind, prob_ig_baseline, fixmap_sigma, mit1003, shuffled_others, seed,
             allow_missing, allow_aspect_change, metrics, workers, overwrite, shard, no_progress) -> int:
    """Score saliency maps and baselines against each group's fixations (MIT and pysaliency conventions).

    Finished images are saved as they complete: after Ctrl-C or a crash, the same command resumes.
    """
    import warnings

    from asdgaze.errors import AsdgazeError
    from asdgaze.evaluate import EvaluateInterrupted, EvaluateOptions
    from asdgaze.evaluate import evaluate as run_evaluate

    if table and not coords:
        raise click.UsageError("--table needs --coords 0-based|1-based")
    _check_shard(shard)
    maps = _parse_maps(maps_dir)
    mit_metrics, prob_metrics = _parse_metrics(metrics)
    ds, source = _load_dataset(dataset, table, coords, _parse_groups(groups))
    chosen_groups = _parse_groups(groups)
    chosen_baselines = _parse_baselines(baselines, list(chosen_groups or ds.groups))
    if maps is None and not chosen_baselines:
        raise click.UsageError("nothing to score: give --maps and/or --baselines")
    options = EvaluateOptions(
        groups=chosen_groups, maps_kind=maps_kind, ig_baseline=ig_baseline,
        ig_baseline_kind=ig_baseline_kind, shuffled_n_other=_parse_n_other(shuffled_others), seed=seed,
        allow_missing=allow_missing, allow_aspect_change=allow_aspect_change, metrics=mit_metrics,
        baselines=chosen_baselines,
        conventions=_scored_conventions(convention, mit_metrics, prob_metrics),
        saliency_maps=saliency_maps, prob_ig_baseline=prob_ig_baseline, prob_metrics=prob_metrics,
        fixmap_sigma=fixmap_sigma, mit1003=mit1003,
    )
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                result = run_evaluate(ds, maps, out_dir, options, workers=workers, progress=not no_progress,
                                      source=source, overwrite=overwrite, shard=shard)
            finally:
                for w in caught:  # once each, as `warning: ...`, without a Python source line
                    click.echo(f"warning: {w.message}", err=True)
    except EvaluateInterrupted as e:
        click.echo(f"\n{e}", err=True)
        return 130
    except AsdgazeError as e:
        raise click.ClickException(str(e))
    if result.shard is not None:
        click.echo(f"{result.shard_line} (in {result.out_dir})")
        return _print_failures(result)
    _print_result(result, _evaluate_header(ds.name, result))
    if result.shards:
        names = ", ".join(f"{s['k']}/{s['n']}" for s in result.shards)
        click.echo(f"  merged shard(s) {names}: {len(result.resumed)} image(s) taken from their parts "
                   f"in {result.out_dir}")
    elif result.resumed:
        click.echo(f"  {len(result.resumed)} image(s) taken from the interrupted earlier run in {result.out_dir}")
    if result.missing:
        click.echo(f"  not scored (no map): {', '.join(result.missing)}")
    if result.mit1003 is not None:
        click.echo(f"\nMIT1003: {result.mit1003['n_matched']} of {result.mit1003['n_images']} images match an "
                   f"image in {result.mit1003['folder']}")
    if ds.name == "saliency4asd" or result.mit1003 is not None:
        from asdgaze.evaluate import saliency4asd_caveat

        click.echo(f"\nNote: {saliency4asd_caveat(result.mit1003)}")
    return _print_failures(result)


def _print_failures(result) -> int:
    """The pairs not scored (stderr), and evaluate's exit status: 1 if there are any."""
    if result.failures:
        click.echo(f"{len(result.failures)} (image, group) pair(s) not scored:", err=True)
        for f in result.failures:
            click.echo(f"  {f.image} ({f.group}): {f.error}", err=True)
        return 1
    return 0


@cli.command()
@click.option("--dataset", required=True, type=click.Path(exists=True, file_okay=False),
              help="Saliency4ASD folder or a folder of images (with --table).")
@click.option("--table", type=click.Path(exists=True, dir_okay=False),
              help="CSV/TSV of fixations for a plain image folder.")
@click.option("--coords", type=click.Choice(["0-based", "1-based"]), help="Pixel coordinates of --table.")
@click.option("--groups", help="Comma-separated groups (default: all).")
@click.option("--baselines", "baselines", default="default", show_default=True,
              help="Comma-separated baselines: uniform, centerbias, gold-standard, other-group, centerbias-mit1003; "
                   "'default' = the first four.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--overwrite", is_flag=True, help="Replace maps written earlier.")
def baselines(dataset, table, coords, groups, baselines, out_dir, overwrite) -> int:
    """Write baseline log-density maps (<out>/<baseline>/<group>/<stem>.npy) for other tools.

    The gold standard's map holds all viewers of the group (scoring a viewer against it would use
    that viewer's own fixations; evaluate scores it leave-one-viewer-out).
    """
    from asdgaze.errors import AsdgazeError
    from asdgaze.evaluation.baselines_cmd import write_baselines

    if table and not coords:
        raise click.UsageError("--table needs --coords 0-based|1-based")
    ds, _ = _load_dataset(dataset, table, coords, _parse_groups(groups))
    names = _parse_baselines(baselines, list(_parse_groups(groups) or ds.groups))
    try:
        written = write_baselines(ds, names, out_dir, groups=_parse_groups(groups), overwrite=overwrite)
    except AsdgazeError as e:
        raise click.ClickException(str(e))
    for name, folder in written.items():
        click.echo(f"  {name:<20} {folder}")
    return 0


@contextlib.contextmanager
def _warnings_once() -> Iterator[None]:
    """Show each distinct warning once, as ``warning: <message>`` on stderr, without source lines."""
    seen: set[str] = set()

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        text = str(message)
        if text not in seen:
            seen.add(text)
            click.echo(f"warning: {text}", err=True)

    with warnings.catch_warnings():
        warnings.filterwarnings("always", category=UserWarning)  # ours; dedup is by text, above
        warnings.showwarning = show
        yield


def _user_errors() -> tuple[type[Exception], ...]:
    """Errors of the demo and weights commands that become a clean message and exit code 1."""
    from asdgaze.errors import AsdgazeError

    return (AsdgazeError, ValueError, FileNotFoundError)


# --- predict / weights (DeepGaze IIE) --------------------------------------------------------------


def _model_errors():
    """Errors of the DeepGaze IIE stages that become a clean message and exit code 1."""
    from asdgaze.data.images import ImageError
    from asdgaze.errors import WeightsError

    return (WeightsError, ImageError, ValueError, FileNotFoundError, RuntimeError)


@cli.command()
@click.option("--images", "images_dir", type=click.Path(exists=True, file_okay=False),
              help="Folder of images (png, jpg, ...).")
@click.option("--dataset", type=click.Path(exists=True, file_okay=False),
              help="Dataset folder (Saliency4ASD layout); its stimulus images are used.")
@click.option("--out", "out_dir", required=True, type=click.Path(), help="Output folder.")
@click.option("--weights", type=click.Path(dir_okay=False),
              help="DeepGaze IIE checkpoint (default: deepgaze2e.pth in the cache; see `asdgaze weights`).")
@click.option("--centerbias", default="mit1003", show_default=True,
              help="Centre bias: mit1003 (published template, cached), uniform, gaussian (centre Gaussian, "
              "sigma 1/4 of each side), or a .npy log-density file (the names --ig-baseline takes).")
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda.")
@click.option("--batch-size", type=click.IntRange(min=1), default=8, show_default=True,
              help="Images per batch (equal sizes).")
@click.option("--precision", type=click.Choice(PRECISIONS), default="fp32", show_default=True, help=PRECISION_HELP)
@click.option("--outputs", default="npy,png,overlay", show_default=True,
              help="Comma-separated: npy (log density), png (density image), overlay (jpg), hdf5 (one file).")
@click.option("--npy-dtype", type=click.Choice(["float32", "float16"]), default="float32", show_default=True,
              help="float16 halves the .npy size (log density rounded to 11 significant bits).")
@click.option("--png-level", type=click.IntRange(0, 9), default=1, show_default=True,
              help="PNG zlib level (same pixels at every level; 1 is fast).")
@click.option("--shard", help="K/N: only the K-th of N disjoint parts of the images (for job arrays).")
@click.option("--workers", type=click.IntRange(min=0), default=None,
              help="Worker processes that decode images and write outputs (default: on a GPU host, one per usable "
              "CPU but one, at most 16; on CPU 0 = one decoder and one writer thread).")
@click.option("--overwrite", is_flag=True, help="Recompute every output, even if made with other settings.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def predict(images_dir, dataset, out_dir, weights, centerbias, device, batch_size, precision, outputs, npy_dtype,
            png_level, shard, workers, overwrite, no_progress) -> int:
    """DeepGaze IIE log-density maps (.npy), density PNGs and overlays for every image."""
    from asdgaze.errors import AsdgazeError
    from asdgaze.models.deepgaze.weights import require_torch

    if (images_dir is None) == (dataset is None):
        raise click.UsageError("give exactly one of --images DIR and --dataset PATH")
    try:
        require_torch("asdgaze predict (DeepGaze IIE)")
        from asdgaze.predict import PredictInterrupted, run_predict
    except AsdgazeError as e:
        raise click.ClickException(str(e))
    try:
        with _warnings_once():  # e.g. an image reader's note: one plain line each
            result = run_predict(out_dir, images=images_dir, dataset=dataset, weights=weights, centerbias=centerbias,
                                 device=device, batch_size=batch_size, precision=precision, overwrite=overwrite,
                                 progress=not no_progress, outputs=outputs, npy_dtype=npy_dtype,
                                 png_level=png_level, shard=shard, processes=workers)
    except PredictInterrupted as e:
        r = e.result
        click.echo(f"\ninterrupted: {len(r.written) + len(r.skipped)} of {r.total} images finished "
                   f"({len(r.written)} in this run); run the same command again to resume", err=True)
        return 130
    except AsdgazeError as e:
        raise click.ClickException(str(e))
    click.echo(f"{len(result.written)} written, {len(result.skipped)} already present, "
               f"{len(result.failures)} failed -> {result.out_dir}")
    if result.failures:
        click.echo("failed images:", err=True)
        for name, reason in result.failures:
            click.echo(f"  {reason}" if reason.startswith(name) else f"  {name}: {reason}", err=True)
        return 1
    return 0


@cli.group()
def weights() -> None:
    """Manage the DeepGaze IIE weights and MIT1003 centre bias (cache: $ASDGAZE_HOME or the user cache)."""


@weights.command("download")
@click.option("--force", is_flag=True, help="Download again even if present.")
@click.option("--file", "files", multiple=True, type=click.Choice(["deepgaze2e.pth", "centerbias_mit1003.npy"]),
              help="Download only this file (repeatable; default: both).")
def weights_download(force, files) -> int:
    """Download deepgaze2e.pth and centerbias_mit1003.npy (release v1.0.0) into the cache."""
    from asdgaze.models.deepgaze import weights as w

    with _warnings_once():
        try:
            infos = w.download(names=tuple(files) or (w.WEIGHTS_FILE, w.CENTERBIAS_FILE), force=force)
        except _user_errors() as e:
            raise click.ClickException(str(e))
    for info in infos:
        click.echo(f"{info['file']}: sha256 {info['sha256']}")
    click.echo(f"cache: {w.cache_dir()}")
    return 0


@weights.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def weights_import(path) -> int:
    """Verify a downloaded deepgaze2e.pth (or centerbias_mit1003.npy) and copy it into the cache."""
    from asdgaze.models.deepgaze import weights as w

    with _warnings_once():
        try:
            info = w.import_file(path)
        except _user_errors() as e:
            raise click.ClickException(str(e))
    click.echo(f"imported {path} -> {w.default_path(info['file'])} (sha256 {info['sha256']})")
    return 0


@weights.command("status")
def weights_status() -> int:
    """Show where the weights are expected and whether they are present."""
    from asdgaze.models.deepgaze import cache

    click.echo(f"cache: {cache.cache_dir()}")
    missing = False
    for s in cache.status():
        state = f"present, sha256 {s['sha256'] or 'not recorded'}" if s["present"] else "MISSING"
        missing |= not s["present"]
        click.echo(f"  {s['file']}: {state} ({s['path']})")
    if missing:
        click.echo("fetch with `asdgaze weights download`, or `asdgaze weights import FILE`")
    return 0



# --- compare / report ------------------------------------------------------------------------------


def _compare_options(groups: str, n_resamples: int, n_permutations: int, seed: int):
    from asdgaze.analysis.compare import CompareOptions

    parts = [g.strip() for g in groups.split(",") if g.strip()]
    if len(parts) != 2 or parts[0] == parts[1]:
        raise click.BadParameter(f"expected two different groups A,B (difference A - B), got {groups!r}",
                                 param_hint="--groups")
    return CompareOptions(group_a=parts[0], group_b=parts[1], n_resamples=n_resamples,
                          n_permutations=n_permutations, seed=seed)


_COMPARE_OPTIONS = [
    click.option("--groups", default="TD,ASD", show_default=True,
                 help="The two groups A,B to compare; differences are A - B."),
    click.option("--n-resamples", type=click.IntRange(min=100), default=10_000, show_default=True,
                 help="Bootstrap resamples."),
    click.option("--n-permutations", type=click.IntRange(min=1), default=1_000, show_default=True,
                 help="Permutations of the within-image permutation test (needs per_fixation.csv)."),
    click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
                 help="Seed of the bootstrap and the permutations."),
]


def _with_compare_options(f):
    for option in reversed(_COMPARE_OPTIONS):
        f = option(f)
    return f


@cli.command()
@click.option("--results", "results_dir", required=True, type=click.Path(exists=True, file_okay=False),
              help="Results folder of `asdgaze evaluate` (per_image.csv), or a folder with one per model.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output folder.")
@_with_compare_options
def compare(results_dir, out_dir, groups, n_resamples, n_permutations, seed) -> int:
    """Compare two groups per image: bootstrap CI, Wilcoxon (Holm), effect sizes, permutation test."""
    from asdgaze.analysis.compare import compare as run_compare
    from asdgaze.errors import AsdgazeError

    options = _compare_options(groups, n_resamples, n_permutations, seed)
    try:
        result = run_compare(results_dir, out_dir, options)
    except AsdgazeError as e:
        raise click.ClickException(str(e))
    cols = ["model", "convention", "metric", "n", "mean_diff", "ci_low", "ci_high", "p_wilcoxon", "p_holm"]
    click.echo(f"{options.group_a} - {options.group_b}, per image:")
    click.echo(result.group_stats[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    for note in result.notes:
        click.echo(f"note: {note}")
    for name, path in result.files.items():
        click.echo(f"  {name:<20} {path}")
    return 0


@cli.command()
@click.option("--results", "results_dir", required=True, type=click.Path(exists=True, file_okay=False),
              help="Results folder of `asdgaze evaluate` (per_image.csv), or a folder with one per model.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False),
              help="Report folder (default: RESULTS/report).")
@_with_compare_options
def report(results_dir, out_dir, groups, n_resamples, n_permutations, seed) -> int:
    """Write a self-contained HTML report (statistics, figures, caveats) with every table as CSV."""
    from asdgaze.errors import AsdgazeError
    from asdgaze.report.html import build_report

    options = _compare_options(groups, n_resamples, n_permutations, seed)
    try:
        result = build_report(results_dir, out_dir, options)
    except AsdgazeError as e:
        raise click.ClickException(str(e))
    for note in result.notes:
        click.echo(f"warning: {note}", err=True)
    click.echo(f"report: {result.html}")
    return 0


# --- run / demo ----------------------------------------------------------------------------------


def _print_run(result) -> int:
    """The closing lines of `run` and `demo`: a summary table per model, failures, the report path."""
    from asdgaze.report.tables import summary_table

    if result.shard is not None:  # no tables yet: the shard's line (echoed by run) and its failures
        for f in result.failures:
            click.echo(f"not scored: {f}", err=True)
        return 0 if result.ok else 1
    if result.summary is not None:  # one block per model and convention
        click.echo("\n" + summary_table(result.summary))
    for note in result.notes:
        click.echo(f"note: {note}")
    for f in result.failures:
        click.echo(f"not scored: {f}", err=True)
    click.echo(f"\nreport: {result.report_html}")
    return 0 if result.ok else 1


@cli.command()
@click.option("--out", "out_dir", default="demo-output", show_default=True, type=click.Path(file_okay=False),
              help="Output folder.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Parallel processes (default: CPU cores, at most 8).")
@click.option("--weights", type=click.Path(dir_okay=False),
              help="DeepGaze IIE checkpoint (default: the cached one, downloaded if missing and possible).")
@click.option("--centerbias", default=None,
              help="DeepGaze IIE centre bias: uniform, gaussian, mit1003 (default), or a .npy log-density file.")
@click.option("--no-download", is_flag=True, help="Do not try to download missing DeepGaze IIE weights.")
@click.option("--overwrite", is_flag=True, help="Recompute outputs made earlier with other settings.")
@click.option("--no-progress", is_flag=True, help="No progress bars.")
def demo(out_dir, workers, weights, centerbias, no_download, overwrite, no_progress) -> int:
    """`asdgaze run` on the bundled demo data (8 OSIE images, real fixations, arbitrary groups)."""
    from asdgaze.demo_run import run_demo

    with _warnings_once():
        try:
            result = run_demo(out_dir, workers=workers, weights=weights, centerbias=centerbias, overwrite=overwrite,
                              download=not no_download, progress=not no_progress, echo=click.echo)
        except _user_errors() as e:
            raise click.ClickException(str(e))
    return _print_run(result)


@cli.command("run")
@click.option("--dataset", required=True, type=click.Path(exists=True, file_okay=False),
              help="Saliency4ASD folder (TrainingDataset/, TrainingData/ or flattened) or a folder of images.")
@click.option("--table", type=click.Path(exists=True, dir_okay=False),
              help="CSV/TSV of fixations (columns image, x, y[, group, viewer, duration]) for a plain image folder.")
@click.option("--coords", type=click.Choice(["0-based", "1-based"]), help="Pixel coordinates of --table.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Run folder.")
@click.option("--models", default="deepgaze2e", show_default=True,
              help="Comma-separated: deepgaze2e and/or NAME=DIR (a folder of maps, or an .hdf5 file of "
                   "log-densities); '' for baselines only.")
@click.option("--baselines", default="default", show_default=True,
              help="Comma-separated: uniform, centerbias, centerbias-mit1003, gold-standard, other-group; 'default' "
                   "(all but centerbias-mit1003; other-group only with two groups) or '' / 'none'.")
@click.option("--maps-kind", type=click.Choice(["saliency", "log-density"]),
              help="What the .npy maps of NAME=DIR models hold.")
@click.option("--weights", type=click.Path(dir_okay=False),
              help="DeepGaze IIE checkpoint (default: deepgaze2e.pth in the cache; see `asdgaze weights`).")
@click.option("--centerbias", default="mit1003", show_default=True,
              help="DeepGaze IIE centre bias: mit1003, uniform, or a .npy log-density file.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda.")
@click.option("--precision", type=click.Choice(PRECISIONS), default="fp32", show_default=True, help=PRECISION_HELP)
@click.option("--ig-baseline", default="gaussian", show_default=True,
              help="Information-gain baseline of evaluate: gaussian, uniform, mit1003, or a map file.")
@click.option("--metrics", default=None, help="Comma-separated metrics of evaluate (default: all).")
@click.option("--mit1003", "mit1003", type=click.Path(exists=True, file_okay=False),
              help="Folder of MIT1003 stimuli: count the dataset images found there (stated in the report).")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Parallel processes (default: CPU cores, at most 8).")
@click.option("--overwrite", is_flag=True, help="Replace outputs made with other settings in --out.")
@click.option("--shard", help="K/N: predict and evaluate only the K-th of N disjoint parts of the images, then "
                              "stop (for job arrays); the same command without --shard merges and reports.")
@click.option("--no-progress", is_flag=True, help="No progress bars.")
@_with_compare_options
def run_command(dataset, table, coords, out_dir, models, baselines, maps_kind, weights, centerbias, device,
                precision, ig_baseline, metrics, mit1003, workers, overwrite, shard, no_progress, groups, n_resamples,
                n_permutations, seed) -> int:
    """predict (DeepGaze IIE) -> evaluate -> compare -> report, resumable: rerun the same command to finish."""
    from asdgaze.evaluate import EvaluateOptions
    from asdgaze.run import run

    if table and not coords:
        raise click.UsageError("--table needs --coords 0-based|1-based")
    _check_shard(shard)
    mit_metrics, prob_metrics = _parse_metrics(metrics)
    options = EvaluateOptions(maps_kind=maps_kind, ig_baseline=ig_baseline, seed=seed, metrics=mit_metrics,
                              prob_metrics=prob_metrics, mit1003=mit1003)
    chosen = (baselines or "").strip().lower()
    chosen_baselines = None if chosen == "default" else () if chosen in ("", "none") else baselines.split(",")
    with _warnings_once():
        try:
            result = run(dataset, out_dir, models=models, baselines=chosen_baselines, table=table,
                         coords=coords, evaluate_options=options,
                         compare_options=_compare_options(groups, n_resamples, n_permutations, seed),
                         weights=weights, centerbias=centerbias, device=device, precision=precision,
                         workers=workers, overwrite=overwrite, progress=not no_progress, echo=click.echo,
                         shard=shard)
        except _user_errors() as e:
            raise click.ClickException(str(e))
    return _print_run(result)


def _check_shard(shard: str | None) -> None:
    """A bad --shard is a usage error, found before any data is read."""
    if shard is not None:
        from asdgaze.errors import AsdgazeError
        from asdgaze.runfolder import parse_shard

        try:
            parse_shard(shard)
        except AsdgazeError as e:
            raise click.UsageError(str(e))


#: OSErrors that are the machine's state, not a bug: shown as one line wherever they come from
_ENVIRONMENT_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM})


def main(argv: list[str] | None = None) -> int:
    try:
        rc = cli.main(args=argv, prog_name="asdgaze", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.ClickException as e:
        e.show()
        return e.exit_code
    except OSError as e:  # a full disk or a read-only folder met where no stage names it: still one line
        if e.errno not in _ENVIRONMENT_ERRNOS:
            raise
        where = f"{os.fsdecode(e.filename)}: " if isinstance(e.filename, (str, bytes)) else ""
        click.echo(f"Error: {where}{os.strerror(e.errno)}", err=True)
        return 1
    except SystemExit as e:  # --help, --version
        return int(e.code or 0)
    return rc if isinstance(rc, int) else 0


if __name__ == "__main__":
    sys.exit(main())

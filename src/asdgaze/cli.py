"""Command line: parses arguments and calls the library. Everything here is also doable from Python."""

from __future__ import annotations

import sys

import click

from asdgaze import __version__


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

    from asdgaze.data import load_dataset

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


def _print_result(result, title: str) -> None:
    from asdgaze.report.tables import summary_table

    click.echo(f"\n{title}")
    click.echo(summary_table(result.summary))
    click.echo("")
    for name, path in result.files.items():
        click.echo(f"  {name:<14} {path}")


@cli.command()
@click.option("--dataset", required=True, type=click.Path(exists=True, file_okay=False),
              help="Saliency4ASD folder (TrainingDataset/, TrainingData/ or flattened) or a folder of images.")
@click.option("--table", type=click.Path(exists=True, dir_okay=False),
              help="CSV/TSV of fixations (columns image, x, y[, group, viewer, duration]) for a plain image folder.")
@click.option("--coords", type=click.Choice(["0-based", "1-based"]),
              help="Pixel coordinates of --table (required with --table).")
@click.option("--maps", "maps_dir", required=True, type=click.Path(exists=True, file_okay=False),
              help="Folder of maps named by image stem: <stem>.npy or 8/16-bit <stem>.png.")
@click.option("--maps-kind", type=click.Choice(["saliency", "log-density"]),
              help="What .npy maps hold; log-densities are scored as exp(log p) in float64.")
@click.option("--groups", help="Comma-separated groups to score (default: all, e.g. ASD,TD).")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--ig-baseline", default="gaussian", show_default=True,
              help="Information-gain baseline: gaussian, uniform, or a template map file (.npy/.png).")
@click.option("--ig-baseline-kind", type=click.Choice(["saliency", "log-density"]), default="log-density",
              show_default=True, help="What an .npy --ig-baseline file holds.")
@click.option("--shuffled-others", default="10", show_default=True,
              help="Other images (same group) whose fixations are shuffled-AUC negatives: N or 'all'.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Root seed of all random draws.")
@click.option("--allow-missing", is_flag=True, help="Score the images that have maps; list the others.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Parallel processes (default: CPU cores, at most 8).")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def evaluate(dataset, table, coords, maps_dir, maps_kind, groups, out_dir, ig_baseline, ig_baseline_kind,
             shuffled_others, seed, allow_missing, workers, no_progress) -> int:
    """Score saliency maps against each group's fixations (MIT-convention metrics)."""
    from asdgaze.evaluate import EvaluateError, EvaluateOptions
    from asdgaze.evaluate import evaluate as run_evaluate
    from asdgaze.maps.io import MapError

    if table and not coords:
        raise click.UsageError("--table needs --coords 0-based|1-based")
    ds, source = _load_dataset(dataset, table, coords, _parse_groups(groups))
    options = EvaluateOptions(
        groups=_parse_groups(groups), maps_kind=maps_kind, ig_baseline=ig_baseline,
        ig_baseline_kind=ig_baseline_kind, shuffled_n_other=_parse_n_other(shuffled_others), seed=seed,
        allow_missing=allow_missing,
    )
    try:
        result = run_evaluate(ds, maps_dir, out_dir, options, workers=workers, progress=not no_progress,
                              source=source)
    except (EvaluateError, MapError) as e:
        raise click.ClickException(str(e))
    _print_result(result, f"{ds.name}: {len(ds.stimuli) - len(result.missing)} images, convention mit")
    if result.missing:
        click.echo(f"  not scored (no map): {', '.join(result.missing)}")
    if ds.name == "saliency4asd":
        from asdgaze.evaluate import SALIENCY4ASD_CAVEAT

        click.echo(f"\nNote: {SALIENCY4ASD_CAVEAT}")
    if result.failures:
        click.echo(f"{len(result.failures)} image(s) not scored (their maps could not be used):", err=True)
        for stem, reason in result.failures:
            click.echo(f"  {stem}: {reason}", err=True)
        return 1
    return 0


@cli.command()
@click.option("--out", "out_dir", default="demo-output", show_default=True, type=click.Path(file_okay=False),
              help="Output folder.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Parallel processes (default: CPU cores, at most 8).")
@click.option("--weights", type=click.Path(dir_okay=False),
              help="DeepGaze IIE checkpoint (default: the cached one, if present).")
@click.option("--centerbias", default="mit1003", show_default=True,
              help="DeepGaze centre bias: mit1003, uniform, or a .npy log-density file.")
@click.option("--overwrite", is_flag=True, help="Recompute DeepGaze maps made earlier with other settings.")
def demo(out_dir, workers, weights, centerbias, overwrite) -> int:
    """Run the pipeline on the bundled demo data (8 OSIE images, real fixations)."""
    from asdgaze.demo_run import run_demo

    try:
        run_demo(out_dir, workers=workers, weights=weights, centerbias=centerbias, overwrite=overwrite,
                 echo=click.echo)
    except (ValueError, FileNotFoundError, RuntimeError) as e:
        raise click.ClickException(str(e))
    return 0



# --- predict / weights (DeepGaze IIE) --------------------------------------------------------------


def _model_errors():
    """Errors of the DeepGaze IIE stages that become a clean message and exit code 1."""
    from asdgaze.data.images import ImageError
    from asdgaze.models.deepgaze.weights import WeightsError

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
              help="Centre bias: mit1003 (published template, cached), uniform, or a .npy log-density file.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda.")
@click.option("--batch-size", type=click.IntRange(min=1), default=8, show_default=True,
              help="Images per batch (equal sizes).")
@click.option("--precision", type=click.Choice(["fp32", "tf32", "fp16", "bf16", "fast"]), default="fp32",
              show_default=True, help="fp32 is exact (TF32 off); fast (= fp16 autocast on the backbones), "
              "tf32, fp16, bf16 are faster on GPU and not exact (README, Precision).")
@click.option("--outputs", default="npy,png,overlay", show_default=True,
              help="Comma-separated: npy (log density), png (density image), overlay (jpg), hdf5 (one file).")
@click.option("--npy-dtype", type=click.Choice(["float32", "float16"]), default="float32", show_default=True,
              help="float16 halves the .npy size (log density rounded to 11 significant bits).")
@click.option("--png-level", type=click.IntRange(0, 9), default=1, show_default=True,
              help="PNG zlib level (same pixels at every level; 1 is fast).")
@click.option("--shard", help="K/N: only the K-th of N disjoint parts of the images (for job arrays).")
@click.option("--overwrite", is_flag=True, help="Recompute every output, even if made with other settings.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def predict(images_dir, dataset, out_dir, weights, centerbias, device, batch_size, precision, outputs, npy_dtype,
            png_level, shard, overwrite, no_progress) -> int:
    """DeepGaze IIE log-density maps (.npy), density PNGs and overlays for every image."""
    from asdgaze.errors import AsdgazeError
    from asdgaze.predict import PredictInterrupted, run_predict

    if (images_dir is None) == (dataset is None):
        raise click.UsageError("give exactly one of --images DIR and --dataset PATH")
    try:
        result = run_predict(out_dir, images=images_dir, dataset=dataset, weights=weights, centerbias=centerbias,
                             device=device, batch_size=batch_size, precision=precision, overwrite=overwrite,
                             progress=not no_progress, outputs=outputs, npy_dtype=npy_dtype, png_level=png_level,
                             shard=shard)
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
def weights_download(force) -> int:
    """Download deepgaze2e.pth and centerbias_mit1003.npy (release v1.0.0) into the cache."""
    from asdgaze.models.deepgaze import weights as w

    try:
        infos = w.download(force=force)
    except _model_errors() as e:
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

    try:
        info = w.import_file(path)
    except _model_errors() as e:
        raise click.ClickException(str(e))
    click.echo(f"imported {path} -> {w.default_path(info['file'])} (sha256 {info['sha256']})")
    return 0


@weights.command("status")
def weights_status() -> int:
    """Show where the weights are expected and whether they are present."""
    from asdgaze.models.deepgaze import weights as w

    click.echo(f"cache: {w.cache_dir()}")
    missing = False
    for s in w.status():
        state = f"present, sha256 {s['sha256'] or 'not recorded'}" if s["present"] else "MISSING"
        missing |= not s["present"]
        click.echo(f"  {s['file']}: {state} ({s['path']})")
    if missing:
        click.echo("fetch with `asdgaze weights download`, or `asdgaze weights import FILE`")
    return 0



def main(argv: list[str] | None = None) -> int:
    try:
        rc = cli.main(args=argv, prog_name="asdgaze", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.ClickException as e:
        e.show()
        return e.exit_code
    except SystemExit as e:  # --help, --version
        return int(e.code or 0)
    return rc if isinstance(rc, int) else 0


if __name__ == "__main__":
    sys.exit(main())

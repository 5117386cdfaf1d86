"""``asdgaze predict`` and ``asdgaze weights``: DeepGaze IIE's maps and its files."""

from __future__ import annotations

import click

from asdgaze.cli.common import cli, user_errors, warnings_once

# DeepGaze IIE's --precision (predict and run; the names asdgaze.predict.pipeline.PRECISION_CHOICES checks)
PRECISIONS = ["fp32", "tf32", "fp16", "bf16", "fast"]
PRECISION_HELP = ("fp32 is exact (TF32 off); fast (= fp16 autocast on the backbones), tf32, fp16, bf16 are faster "
                  "on GPU and not exact (README, Precision).")

NOT_STARTED = "interrupted before this run predicted any image; run the same command again to go on"


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
    from asdgaze import interrupts
    from asdgaze.errors import AsdgazeError
    from asdgaze.models.deepgaze.weights import require_torch

    if (images_dir is None) == (dataset is None):
        raise click.UsageError("give exactly one of --images DIR and --dataset PATH")
    try:
        require_torch("asdgaze predict (DeepGaze IIE)")
        from asdgaze.predict import PredictInterrupted, run_predict
    except AsdgazeError as e:
        raise click.ClickException(str(e))
    except KeyboardInterrupt:  # while torch was imported
        click.echo(f"\n{NOT_STARTED}", err=True)
        return 130
    try:
        with warnings_once():  # e.g. an image reader's note: one plain line each
            result = run_predict(out_dir, images=images_dir, dataset=dataset, weights=weights, centerbias=centerbias,
                                 device=device, batch_size=batch_size, precision=precision, overwrite=overwrite,
                                 progress=not no_progress, outputs=outputs, npy_dtype=npy_dtype,
                                 png_level=png_level, shard=shard, processes=workers)
        try:
            interrupts.check()  # swallowed as the run's thread pools were freed: every image is finished
        except KeyboardInterrupt:
            raise PredictInterrupted(result) from None
    except PredictInterrupted as e:
        r = e.result
        click.echo(f"\ninterrupted: {len(r.written) + len(r.skipped)} of {r.total} images finished "
                   f"({len(r.written)} in this run); run the same command again to resume", err=True)
        return 130
    except KeyboardInterrupt:  # while the inputs were checked, before the images were counted
        click.echo(f"\n{NOT_STARTED}", err=True)
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

    with warnings_once():
        try:
            infos = w.download(names=tuple(files) or (w.WEIGHTS_FILE, w.CENTERBIAS_FILE), force=force)
        except user_errors() as e:
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

    with warnings_once():
        try:
            info = w.import_file(path)
        except user_errors() as e:
            raise click.ClickException(str(e))
    from asdgaze.models.deepgaze.cache import provenance

    click.echo(f"imported {path} -> {w.default_path(info['file'])} (sha256 {info['sha256']})")
    click.echo(f"  this is {provenance(info['file'], info['sha256'])}")
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

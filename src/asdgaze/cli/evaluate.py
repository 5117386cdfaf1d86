"""``asdgaze evaluate`` and ``asdgaze baselines``."""

from __future__ import annotations

import warnings

import click

from asdgaze.cli.common import check_shard, cli, load_dataset_for, print_failures
from asdgaze.cli.options import dataset_options, evaluate_options, regions_option, shared_options


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


def print_result(result, title: str) -> None:
    from asdgaze.report.tables import summary_table

    click.echo(f"\n{title}")
    click.echo(summary_table(result.summary))
    click.echo("")
    for name, path in result.files.items():
        click.echo(f"  {name:<14} {path}")


@cli.command()
@dataset_options
@regions_option
@click.option("--maps", "maps", multiple=True,
              help="Folder of maps named by image stem (<stem>.npy or 8/16-bit <stem>.png), or an HDF5 file of "
                   "log-densities (one dataset per image, named by its file name: predict --outputs hdf5, "
                   "pysaliency), scored as model 'maps'; or NAME=DIR|FILE, repeatable, one model each.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output folder.")
@evaluate_options()
@shared_options("workers", "overwrite", "shard", "no_progress")
def evaluate(dataset, table, coords, regions, maps, out_dir, convention, metrics, baselines, workers, overwrite,
             shard, no_progress, **settings) -> int:
    """Score saliency maps and baselines against each group's fixations (MIT and pysaliency conventions).

    Finished images are saved as they complete: after Ctrl-C or a crash, the same command resumes.
    """
    from asdgaze.errors import AsdgazeError
    from asdgaze.evaluate import EvaluateInterrupted, EvaluateOptions
    from asdgaze.evaluate import evaluate as run_evaluate
    from asdgaze.models.maps import parse_model_specs

    check_shard(shard)
    try:
        sources = parse_model_specs(list(maps)) if maps else None
    except AsdgazeError as e:
        raise click.BadParameter(str(e), param_hint="--maps")
    groups = settings.get("groups")
    ds, source = load_dataset_for(dataset, table, coords, [g.strip() for g in groups.split(",") if g.strip()]
                                  if groups else None, regions)
    try:
        options = EvaluateOptions.from_cli(settings, convention=convention, metrics=metrics, baselines=baselines,
                                           dataset_groups=ds.groups)
    except AsdgazeError as e:
        raise click.UsageError(str(e))
    if not sources and not options.baselines:
        raise click.UsageError("nothing to score: give --maps and/or --baselines")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                result = run_evaluate(ds, sources or None, out_dir, options, workers=workers,
                                      progress=not no_progress, source=source, overwrite=overwrite, shard=shard)
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
        return print_failures(result)
    print_result(result, _evaluate_header(ds.name, result))
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
    caveat = ds.format.caveat(result.mit1003)
    if caveat:
        click.echo(f"\nNote: {caveat}")
    from asdgaze.report.adaptation import adaptation_lines

    for line in adaptation_lines(result.out_dir):  # with --adapt: what of the groups' gap generic factors explain
        click.echo(f"\n{line}")
    return print_failures(result)


@cli.command()
@dataset_options
@click.option("--groups", help="Comma-separated groups (default: all).")
@click.option("--baselines", "baselines", default="default", show_default=True,
              help="Comma-separated baselines (as evaluate's --baselines); 'default'.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--overwrite", is_flag=True, help="Replace maps written earlier.")
def baselines(dataset, table, coords, groups, baselines, out_dir, overwrite) -> int:
    """Write baseline log-density maps (<out>/<baseline>/<group>/<stem>.npy) for other tools.

    The gold standard's map holds all viewers of the group (scoring a viewer against it would use
    that viewer's own fixations; evaluate scores it leave-one-viewer-out).
    """
    from asdgaze.errors import AsdgazeError
    from asdgaze.evaluate.baselines import write_baselines
    from asdgaze.models import registry

    chosen = [g.strip() for g in (groups or "").split(",") if g.strip()] or None
    ds, _ = load_dataset_for(dataset, table, coords, chosen)
    try:
        names = registry.check_names(baselines, list(chosen or ds.groups))
    except AsdgazeError as e:
        raise click.BadParameter(str(e), param_hint="--baselines")
    try:
        written = write_baselines(ds, names, out_dir, groups=tuple(chosen) if chosen else None, overwrite=overwrite)
    except AsdgazeError as e:
        raise click.ClickException(str(e))
    for name, folder in written.items():
        click.echo(f"  {name:<20} {folder}")
    return 0

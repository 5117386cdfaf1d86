"""``asdgaze run`` and ``asdgaze demo``: predict -> evaluate -> compare -> report in one folder."""

from __future__ import annotations

import click

from asdgaze.cli.common import check_shard, cli, compare_options_from, user_errors, warnings_once
from asdgaze.cli.options import compare_options, dataset_options, evaluate_options, regions_option, shared_options
from asdgaze.cli.predict import PRECISION_HELP, PRECISIONS


def print_run(result) -> int:
    """The closing lines of `run` and `demo`: a summary table per model, failures, the report path."""
    from asdgaze.report.tables import summary_table

    if result.shard is not None:  # no tables yet: the shard's line (echoed by run) and its failures
        for f in result.failures:
            click.echo(f"not scored: {f}", err=True)
        return 0 if result.ok else 1
    if result.summary is not None:  # one block per model and convention
        click.echo("\n" + summary_table(result.summary))
    from asdgaze.report.adaptation import adaptation_lines

    for line in adaptation_lines(result.results_dir):  # the converted and group-adapted models (issue 18)
        click.echo(line)
    for note in result.notes:
        click.echo(f"note: {note}")
    for f in result.failures:
        click.echo(f"not scored: {f}", err=True)
    click.echo(f"\nreport: {result.report_html}")
    if result.headline:  # the answer last, where the eye lands when the run ends
        click.echo("\nthe answer (also first in the report and in results/summary.json):")
        for line in result.headline:
            click.echo(f"  {line}")
    return 0 if result.ok else 1


def print_interrupted(e: KeyboardInterrupt) -> int:
    """Ctrl-C during `run` or `demo`: which stage, how far it got (RunInterrupted says it), exit status 130."""
    from asdgaze.run import RunInterrupted

    if not isinstance(e, RunInterrupted):  # e.g. while the dataset was read, or the demo's weights downloaded
        e = "interrupted outside the stages (those finished are kept); run the same command again to go on"
    click.echo(f"\n{e}", err=True)
    return 130


@cli.command()
@click.option("--out", "out_dir", default="demo-output", show_default=True, type=click.Path(file_okay=False),
              help="Output folder.")
@click.option("--weights", type=click.Path(dir_okay=False),
              help="DeepGaze IIE checkpoint (default: the cached one, downloaded if missing and possible).")
@click.option("--centerbias", default=None,
              help="DeepGaze IIE centre bias: uniform, gaussian, mit1003 (default), or a .npy log-density file.")
@click.option("--no-download", is_flag=True, help="Do not try to download missing DeepGaze IIE weights.")
@shared_options("workers", "overwrite", "no_progress")
def demo(out_dir, weights, centerbias, no_download, workers, overwrite, no_progress) -> int:
    """`asdgaze run` on the bundled demo data (8 OSIE images, real fixations, arbitrary groups)."""
    from asdgaze.demo_run import run_demo

    with warnings_once():
        try:
            result = run_demo(out_dir, workers=workers, weights=weights, centerbias=centerbias, overwrite=overwrite,
                              download=not no_download, progress=not no_progress, echo=click.echo)
        except user_errors() as e:
            raise click.ClickException(str(e))
        except KeyboardInterrupt as e:
            return print_interrupted(e)
    return print_run(result)


@cli.command("run")
@dataset_options
@regions_option
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Run folder.")
@click.option("--models", default="deepgaze2e", show_default=True,
              help="Comma-separated: deepgaze2e and/or NAME=DIR (a folder of maps, or an .hdf5 file of "
                   "log-densities); '' for baselines only.")
@click.option("--weights", type=click.Path(dir_okay=False),
              help="DeepGaze IIE checkpoint (default: deepgaze2e.pth in the cache; see `asdgaze weights`).")
@click.option("--centerbias", default="mit1003", show_default=True,
              help="DeepGaze IIE centre bias: mit1003, uniform, gaussian, or a .npy log-density file.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda.")
@click.option("--precision", type=click.Choice(PRECISIONS), default="fp32", show_default=True, help=PRECISION_HELP)
@evaluate_options(for_run=True)
@shared_options("workers", "overwrite", "shard", "no_progress")
@compare_options
def run_command(dataset, table, coords, out_dir, models, weights, centerbias, device, precision, convention, metrics,
                baselines, workers, overwrite, shard, no_progress, groups, n_resamples, n_permutations, seed,
                regions, **settings) -> int:
    """predict (DeepGaze IIE) -> evaluate -> compare -> report, resumable: rerun the same command to finish."""
    from asdgaze.errors import AsdgazeError
    from asdgaze.evaluate import EvaluateOptions
    from asdgaze.run import run

    if table and not coords:
        raise click.UsageError("--table needs --coords 0-based|1-based")
    check_shard(shard)
    try:
        options = EvaluateOptions.from_cli({**settings, "seed": seed}, convention=convention, metrics=metrics,
                                           baselines=None)
    except AsdgazeError as e:
        raise click.UsageError(str(e))
    with warnings_once():
        try:
            result = run(dataset, out_dir, models=models, baselines=baselines, table=table,
                         coords=coords, regions=regions, evaluate_options=options,
                         compare_options=compare_options_from(groups, n_resamples, n_permutations, seed),
                         weights=weights, centerbias=centerbias, device=device, precision=precision,
                         workers=workers, overwrite=overwrite, progress=not no_progress, echo=click.echo,
                         shard=shard)
        except user_errors() as e:
            raise click.ClickException(str(e))
        except KeyboardInterrupt as e:
            return print_interrupted(e)
    return print_run(result)

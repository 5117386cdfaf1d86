"""``asdgaze run`` and ``asdgaze demo``: predict -> evaluate -> compare -> report in one folder."""

from __future__ import annotations

import click

from asdgaze.cli.common import check_shard, cli, compare_options_from, user_errors, warnings_once
from asdgaze.cli.options import compare_options, dataset_options, evaluate_options, shared_options
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
    return 0 if result.ok else 1


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
    return print_run(result)


@cli.command("run")
@dataset_options
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
                **settings) -> int:
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
                         coords=coords, evaluate_options=options,
                         compare_options=compare_options_from(groups, n_resamples, n_permutations, seed),
                         weights=weights, centerbias=centerbias, device=device, precision=precision,
                         workers=workers, overwrite=overwrite, progress=not no_progress, echo=click.echo,
                         shard=shard)
        except user_errors() as e:
            raise click.ClickException(str(e))
    return print_run(result)

"""``asdgaze compare`` and ``asdgaze report``: the group comparison of a results folder, and its report."""

from __future__ import annotations

import click

from asdgaze.cli.common import cli, compare_options_from
from asdgaze.cli.options import compare_options

RESULTS_HELP = "Results folder of `asdgaze evaluate` (per_image.csv), or a folder with one per model."


def _results_option(fn):
    return click.option("--results", "results_dir", required=True, type=click.Path(exists=True, file_okay=False),
                        help=RESULTS_HELP)(fn)


def _call(work, results_dir, out_dir, groups, n_resamples, n_permutations, seed):
    """(the comparison's options, ``work(results, out, options)``), a user's error as one line."""
    from asdgaze.errors import AsdgazeError

    options = compare_options_from(groups, n_resamples, n_permutations, seed)
    try:
        return options, work(results_dir, out_dir, options)
    except AsdgazeError as e:
        raise click.ClickException(str(e))


@cli.command()
@_results_option
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output folder.")
@compare_options
def compare(results_dir, out_dir, groups, n_resamples, n_permutations, seed) -> int:
    """Compare two groups per image: bootstrap CI, Wilcoxon (Holm), effect sizes, permutation test."""
    from asdgaze.analysis.compare import compare as run_compare

    options, result = _call(run_compare, results_dir, out_dir, groups, n_resamples, n_permutations, seed)
    cols = ["model", "convention", "metric", "n", "mean_diff", "ci_low", "ci_high", "p_wilcoxon", "p_holm"]
    click.echo(f"{options.group_a} - {options.group_b}, per image:")
    click.echo(result.group_stats[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    for note in result.notes:
        click.echo(f"note: {note}")
    for name, path in result.files.items():
        click.echo(f"  {name:<20} {path}")
    return 0


@cli.command()
@_results_option
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="Report folder (default: RESULTS/report).")
@compare_options
def report(results_dir, out_dir, groups, n_resamples, n_permutations, seed) -> int:
    """Write a self-contained HTML report (statistics, figures, caveats) with every table as CSV."""
    from asdgaze.report.html import build_report

    _, result = _call(build_report, results_dir, out_dir, groups, n_resamples, n_permutations, seed)
    for note in result.notes:
        click.echo(f"warning: {note}", err=True)
    click.echo(f"report: {result.html}")
    return 0
